-- The factor of the shared rate now (1: the ceiling), as a string: a Lua
-- number would reach the caller truncated to an integer.
-- Runs after state.lua (factor); KEYS[2] and ARGV[6..10] as there.
return string.format('%.17g', (factor()))
