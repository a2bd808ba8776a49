package circuitredis

import "github.com/redis/go-redis/v9"

// The Lua scripts. Every key a script touches is passed in KEYS (and all
// of one breaker's keys share a hash tag), and every value in ARGV: no
// name or value is ever spliced into a script's source. Each script runs
// atomically on the server.

// openScript announces an open: it stores the announcement in the state
// key for as long as the open period has left, unless the key already
// holds a longer one, publishes it, and releases the probe lease if the
// caller holds it.
//
//	KEYS: state, lease
//	ARGV: payload, remaining ms, channel, lease token or ""
var openScript = redis.NewScript(`
local ttl = tonumber(ARGV[2])
if ttl > 0 and redis.call('PTTL', KEYS[1]) < ttl then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
end
redis.call('PUBLISH', ARGV[3], ARGV[1])
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then
	redis.call('DEL', KEYS[2])
end
return 1
`)

// closeScript announces that the fleet's probes succeeded: it deletes the
// open announcement and the shared window (a closed breaker starts with
// an empty window), publishes the close, and releases the probe lease if
// the caller holds it.
//
//	KEYS: state, lease, window, reps, freps, sreps
//	ARGV: payload, channel, lease token
var closeScript = redis.NewScript(`
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('PUBLISH', ARGV[2], ARGV[1])
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
	redis.call('DEL', KEYS[2])
end
return 1
`)

// acquireScript takes the probe lease for ARGV[2] ms if it is free, as
// SET NX PX would, or extends it if the caller already holds it. It
// returns {1, 0} when the caller holds the lease, else {0, the holder's
// remaining ms}.
//
//	KEYS: lease
//	ARGV: token, ms
var acquireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return {1, 0}
end
if v == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return {1, 0}
end
return {0, redis.call('PTTL', KEYS[1])}
`)

// releaseScript deletes the probe lease if the caller holds it, and then
// publishes the release, so that a replica waiting for the lease asks
// again at once rather than when it would have expired.
//
//	KEYS: lease
//	ARGV: token, payload, channel
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('DEL', KEYS[1])
	redis.call('PUBLISH', ARGV[3], ARGV[2])
	return 1
end
return 0
`)

// readScript returns the open announcement and its remaining ms, or nil.
//
//	KEYS: state
var readScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	return false
end
return {v, redis.call('PTTL', KEYS[1])}
`)

// flushScript adds a replica's counts to the shared window and returns
// the fleet's totals over it. Buckets are numbered by the server's own
// clock (TIME), so replicas need not agree on the time; a bucket is a
// hash field, deleted once it leaves the window, and every key expires
// when no replica has reported for a window. Zero counts add nothing: the
// call then only reads the totals (and prunes what has expired).
//
//	KEYS: window, reps, freps, sreps
//	ARGV: replica, successes, failures, slow calls, window ms, buckets
//	returns: {successes, failures, slow, replicas, failing replicas, slow replicas}
var flushScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[5])
local nb = tonumber(ARGV[6])
local width = math.max(1, math.floor(window / nb))
local cur = math.floor(now / width)
local s, f, l = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if s > 0 then redis.call('HINCRBY', KEYS[1], cur .. ':s', s) end
if f > 0 then redis.call('HINCRBY', KEYS[1], cur .. ':f', f) end
if l > 0 then redis.call('HINCRBY', KEYS[1], cur .. ':l', l) end
if s + f > 0 then redis.call('ZADD', KEYS[2], now, ARGV[1]) end
if f > 0 then redis.call('ZADD', KEYS[3], now, ARGV[1]) end
if l > 0 then redis.call('ZADD', KEYS[4], now, ARGV[1]) end
local first = cur - nb
local S, F, L = 0, 0, 0
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
	local b, kind = string.match(flat[i], '^(%-?%d+):(%a)$')
	b = tonumber(b)
	if b == nil or b < first then
		redis.call('HDEL', KEYS[1], flat[i])
	else
		local n = tonumber(flat[i + 1])
		if kind == 's' then S = S + n elseif kind == 'f' then F = F + n elseif kind == 'l' then L = L + n end
	end
end
local ttl = window + 2 * width
redis.call('PEXPIRE', KEYS[1], ttl)
for k = 2, 4 do
	redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. (first * width))
	redis.call('PEXPIRE', KEYS[k], ttl)
end
return {S, F, L, redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4])}
`)
