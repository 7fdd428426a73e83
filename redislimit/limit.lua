-- One grant of a shared rate limit, decided atomically on the server's clock.
-- Runs after state.lua (now, factor).
-- KEYS[1]: a list of the last grant times, newest first, in microseconds of
--          the server's TIME (never a caller's clock).
-- KEYS[2]: the slow-down (state.lua): every window below is stretched by
--          1/f, f the factor of the rate now; f is 1 without a cut.
-- ARGV[1]: burst: at most that many grants in any window of ARGV[2] µs;
-- ARGV[3]: n: at most that many grants in any window of ARGV[4] µs (one
--          second and the margin); 0: no such rule;
-- ARGV[5]: the key's time to live, in ms, at the full rate.
-- Returns 0 when the grant was given (and recorded at now), else the µs to
-- wait before asking again (at least 1). Nothing is recorded for a caller
-- told to wait: a grant is only given, and counted, at the moment it is
-- allowed.
local f = factor()
local burst = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) / f
local n = tonumber(ARGV[3])
local second = tonumber(ARGV[4]) / f
local keep = math.max(burst, n)
local ttl = tonumber(ARGV[5])
if f < 1 then
	-- Slowed down: the grants are kept as long as the longest window at
	-- the floor, whatever cut comes before the next grant.
	ttl = math.ceil(math.max(tonumber(ARGV[2]), tonumber(ARGV[4])) / floor / 1000) + 1000
end

local newest = redis.call('LINDEX', KEYS[1], 0)
if newest and tonumber(newest) > now then
	-- The server's clock went back: count the last grants as given now, so
	-- that nothing starts before a whole window has passed.
	redis.call('DEL', KEYS[1])
	for i = 1, keep do
		redis.call('RPUSH', KEYS[1], string.format('%.0f', now))
	end
	redis.call('PEXPIRE', KEYS[1], ttl)
end

local at = 0
local b = redis.call('LINDEX', KEYS[1], burst - 1)
if b then
	at = tonumber(b) + window
end
if n > 0 then
	local s = redis.call('LINDEX', KEYS[1], n - 1)
	if s and tonumber(s) + second > at then
		at = tonumber(s) + second
	end
end
if at > now then
	-- Rounded up: a stretched window is fractional, and 0 means granted.
	return math.ceil(at - now)
end
redis.call('LPUSH', KEYS[1], string.format('%.0f', now))
redis.call('LTRIM', KEYS[1], 0, keep - 1)
redis.call('PEXPIRE', KEYS[1], ttl)
return 0
