-- refund.lua: give back what a cancelled reservation spent, as far as it is safe.
-- The maths is governor.engine.refund, step for step.
--
-- KEYS[1]     the account's state, one hash (fields as in acquire.lua)
-- ARGV[1]     now (µs epoch), a test-only override; "" = the server's TIME
-- ARGV[2]     cost (tokens) the reservation spent
-- ARGV[3]     the quota day the reservation was charged to; -1 = none
-- ARGV[4]     quota day length (µs); 0 = the route spends no quota
-- ARGV[2+3i]  bucket i (i = 1..n): name
-- ARGV[3+3i]  bucket i: the mark (its tat after the call, µs epoch) the reservation left
-- ARGV[4+3i]  bucket i: the prior (its tat before the call, µs epoch)
--
-- Reply: the number of buckets that took their tokens back.
--
-- Side effects: a bucket whose tat still equals its mark (no later call queued behind the
-- reservation) gets its prior tat back. The quota, rolled forward to today (days start at
-- quota.shift), gives cost back to the charged day if that day is still counted (never below
-- 0); its grant sequence (quota.seq) is never given back. Nothing is written for an
-- absent key. The TTL is only ever extended (when the quota rolls to a new day).

local MARGIN_US = 5000000
local SLACK_US = 60000000

local function floordiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

local function int(x)
  return string.format('%d', x)
end

local key = KEYS[1]
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local cost = tonumber(ARGV[2])
local quota_day = tonumber(ARGV[3])
local day_us = tonumber(ARGV[4])
local n = (#ARGV - 4) / 3

local fields = {'quota.day', 'quota.used', 'quota.next_used', 'expires', 'quota.shift'}
for i = 1, n do
  fields[5 + i] = ARGV[2 + 3 * i] .. '.tat'
end
local state = redis.call('HMGET', key, unpack(fields))

local writes, refunded, dead_at = {}, 0, 0
for i = 1, n do
  if tonumber(state[5 + i] or 0) == tonumber(ARGV[3 + 3 * i]) then
    writes[#writes + 1] = fields[5 + i]
    writes[#writes + 1] = ARGV[4 + 3 * i]
    refunded = refunded + 1
  end
end

-- An absent quota (an expired key) is a fresh one: nothing to give back.
if day_us > 0 and quota_day >= 0 and state[1] then
  local shift = tonumber(state[5] or 0)
  local today = floordiv(now - shift, day_us)
  local day, used, used_next =
    tonumber(state[1] or 0), tonumber(state[2] or 0), tonumber(state[3] or 0)
  if day < today then
    if day + 1 == today then
      used, used_next = used_next, 0
    else
      used, used_next = 0, 0
    end
    day = today
  end
  if quota_day == day then
    used = math.max(used - cost, 0)
  elseif quota_day == day + 1 then
    used_next = math.max(used_next - cost, 0)
  end
  writes[#writes + 1] = 'quota.day'
  writes[#writes + 1] = int(day)
  writes[#writes + 1] = 'quota.used'
  writes[#writes + 1] = int(used)
  writes[#writes + 1] = 'quota.next_used'
  writes[#writes + 1] = int(used_next)
  dead_at = (day + 2) * day_us + shift
end
if #writes > 0 then -- the key exists: an absent key matches no mark and has no quota
  dead_at = math.max(dead_at, now)
  local expires = tonumber(state[4] or 0)
  if dead_at + MARGIN_US > expires then
    expires = dead_at + MARGIN_US + SLACK_US
    writes[#writes + 1] = 'expires'
    writes[#writes + 1] = int(expires)
    redis.call('HSET', key, unpack(writes))
    redis.call('PEXPIRE', key, int(math.ceil((expires - now) / 1000)))
  else
    redis.call('HSET', key, unpack(writes))
  end
end
return refunded
