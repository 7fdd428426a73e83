-- The prelude of every script of this package: limit.lua, cut.lua and
-- rate.lua each run after it, as one script. It reads the server's clock
-- and the shared slow-down.
-- KEYS[1]: the grants (limit.lua);
-- KEYS[2]: the slow-down's state, a hash: f, the factor of the rate the
--          last cut set (1: the ceiling); t, that cut's time in µs of the
--          server's TIME. No key: no cut remembered, the factor is 1.
-- ARGV[6]: the cut factor; ARGV[7]: the cooldown between cuts, µs;
-- ARGV[8]: the creep, in factor a second; ARGV[9]: the floor factor;
-- ARGV[10]: the slack of the state's time to live, ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local creep = tonumber(ARGV[8])
local floor = tonumber(ARGV[9])

-- stateTTL is the state's time to live once a cut set factor f: until the
-- creep has brought the rate back to the ceiling, and the slack.
local function stateTTL(f)
	return math.ceil((1 - f) / creep * 1000) + tonumber(ARGV[10])
end

-- factor returns the factor of the rate now, the last cut's factor with
-- the creep since, at most 1, and the time of the last cut (nil: none).
local function factor()
	local s = redis.call('HMGET', KEYS[2], 'f', 't')
	local f, at = tonumber(s[1]), tonumber(s[2])
	if not f or not at then
		return 1, nil
	end
	f = math.max(math.min(f, 1), floor)
	if at > now then
		-- The server's clock went back: count the cut as made now, so that
		-- the rate creeps back from now, not in one jump when the clock
		-- catches up.
		at = now
		redis.call('HSET', KEYS[2], 't', string.format('%.0f', now))
		redis.call('PEXPIRE', KEYS[2], stateTTL(f))
	end
	return math.min(1, f + creep * (now - at) / 1000000), at
end
