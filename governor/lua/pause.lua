-- pause.lua: hold every call of an account, or of one of its buckets, until a given instant.
-- Like governor.backends.memory.MemoryBackend.pause: a pause only ever grows, never shortens.
--
-- KEYS[1]     the account's state, one hash (fields as in acquire.lua)
-- ARGV[1]     pause-until (µs epoch)
-- ARGV[2]     now (µs epoch), a test-only override; "" = the server's TIME
-- ARGV[3]     the bucket to pause; "" = the whole account
--
-- Reply: the pause-until now in force (µs epoch), as a string.
--
-- Side effects: the field `pause` (or `<bucket>.pause`) becomes max(itself, ARGV[1]); the TTL
-- is extended, never shortened, to outlive the pause.

local MARGIN_US = 5000000
local SLACK_US = 60000000

local key = KEYS[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local field = 'pause'
if ARGV[3] ~= '' then
  field = ARGV[3] .. '.pause'
end

local state = redis.call('HMGET', key, field, 'expires')
local until_us = tonumber(ARGV[1])
local current = tonumber(state[1] or 0)
if current > until_us then
  until_us = current
end
local text = string.format('%d', until_us)
local dead_at = math.max(until_us, now)
local expires = tonumber(state[2] or 0)
if dead_at + MARGIN_US > expires then
  expires = dead_at + MARGIN_US + SLACK_US
  redis.call('HSET', key, field, text, 'expires', string.format('%d', expires))
  redis.call('PEXPIRE', key, string.format('%d', math.ceil((expires - now) / 1000)))
else
  redis.call('HSET', key, field, text)
end
return text
