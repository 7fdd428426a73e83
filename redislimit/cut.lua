-- A refusal: lower the shared rate, atomically on the server's clock.
-- Runs after state.lua (now, factor, stateTTL); KEYS[2] and ARGV[6..10]
-- as there.
-- Within the cooldown of the last cut (by any process) nothing changes:
-- the refusals of requests already on their way count once. Otherwise the
-- factor now (the creep included) is cut to ARGV[6] of itself, never below
-- the floor, and the creep starts again from there.
-- Returns {1, 0} for a cut made now, {0, µs since the last cut} within
-- its cooldown.
local f, at = factor()
if at and now - at < tonumber(ARGV[7]) then
	return {0, now - at}
end
local cut = math.max(f * tonumber(ARGV[6]), floor)
redis.call('HSET', KEYS[2], 'f', string.format('%.17g', cut), 't', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[2], stateTTL(cut))
return {1, 0}
