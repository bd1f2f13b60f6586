-- acquire.lua: decide one call over every scope it spends from, and spend only if allowed.
-- The maths is governor.engine.decide and governor.engine.apply, step for step; the
-- conformance suite and a property test hold them equal.
--
-- Whose clock: every instant stored here is on this server's TIME (ARGV[1] replaces it in
-- tests only). An adjustment's instants come planned on a worker's clock, stamped with that
-- clock's reading; they are moved by (now - stamp) before anything is compared or stored.
--
-- KEYS[1]     the account's state, one hash (layout in governor/keys.py):
--               pause                           account pause-until (µs epoch)
--               quota.day, quota.used,          the quota day counted, calls spent that day,
--               quota.next_used                 calls already booked on the next day
--               quota.shift                     where quota days start (µs past an epoch day;
--                                               absent: 00:00 UTC, no provider stated a reset)
--               quota.seq                       every quota call ever granted
--               quota.pace                      the pace line's arrival time (µs epoch)
--               <bucket>.tat, <bucket>.pause,   per bucket: theoretical arrival time and
--               <bucket>.interval               pause-until (µs epoch), learned interval (µs)
--               expires                         when the key's TTL runs out (µs epoch)
-- ARGV[1]     now (µs epoch), a test-only override; "" = the server's TIME
-- ARGV[2]     cost (tokens, >= 1); 0 = apply the adjustment only and decide nothing
-- ARGV[3]     1 = high priority (may spend the quota's reserve), 0 = normal
-- ARGV[4]     max wait (µs): deny when the grant is further from now than this
-- ARGV[5]     a reconcile adjustment to apply first (governor.engine.apply), or "": seventeen
--             integers separated by spaces: stamp (µs, the planning clock's now; 0 = the
--             instants are on this clock), sent_at (µs epoch), bucket (its index i, or 0),
--             min_tat (µs epoch), interval (µs), relax (1/0), bucket_pause (µs epoch),
--             account_pause (µs epoch), quota_used_floor (calls), quota_base known (1/0),
--             quota_base (calls), quota_reset (µs epoch), relax_after, quota_debit (calls),
--             spent (tokens of every bucket granted on their own), spent_from (µs epoch),
--             spent_on_top (1/0); an instant of 0 means "none"
-- ARGV[6]     quota day length (µs); 0 = the call spends no quota (ARGV[7..10] ignored)
-- ARGV[7]     quota limit (calls per day)
-- ARGV[8]     quota reserve (calls held back for high priority)
-- ARGV[9]     pacing: µs after the quota day's start at which the pace line reaches
--             limit - reserve; 0 = no pacing (governor.engine, "Pacing")
-- ARGV[10]    pacing: the burst allowance (calls)
-- ARGV[11]    the lane's horizon: how far ahead a normal call may book, in thousandths of
--             the call's widest emission interval; 0 = without bound (governor.engine, "Lanes")
-- ARGV[12..19] the names of the fields pause, quota.day, quota.used, quota.next_used,
--             expires, quota.shift, quota.seq, quota.pace
-- ARGV[17+3i], ARGV[18+3i], ARGV[19+3i]
--             bucket i (i = 1..n): the names of its fields <name>.tat, .pause, .interval
--             (ARGV[12..19+3n] go to one HMGET as they are; they never change)
-- ARGV[17+3n+3i]  bucket i: configured emission interval (µs per token)
-- ARGV[18+3n+3i]  bucket i: burst (tokens)
-- ARGV[19+3n+3i]  bucket i: limit (tokens per period; only sizes the TTL)
--
-- Reply: one string of integers separated by spaces (cheaper to read than an array):
--   allowed (1 = allowed, 0 = denied, 2 = denied: the lane or the pace may not book this far
--   ahead, decide again after wait_us), now_us, wait_us, scope, remaining, reset_us, quota_day, quota_used,
--   quota_seq, quota_reset, mark_1..mark_n, prior_1..prior_n
--   scope: i >= 1 = bucket i, -1 = the account pause, -2 = the quota, -3 = the pace line,
--   0 = none (no scopes).
--   mark_i / prior_i: bucket i's tat after / before the call (for a refund). A denial has
--   quota_day -1 and no marks or priors; so does the quota_day of a call that spends no quota.
--   quota_used, quota_seq, quota_reset: the quota's count for today (the day of now), its
--   grant sequence, and when today ends, after the call, allowed or not; -1 when the call
--   spends no quota.
--   With cost 0 (apply only) the reply is "".
--
-- Side effects: an adjustment is applied (and written) first, whatever the decision; a pause it
-- raises is published on the channel KEYS[1] .. ':pauses' as "<µs from now> <bucket>" (no
-- bucket: the account), best effort (an ACL without PUBLISH only loses the notice); it only
-- ever tightens, except that a learned interval relaxes after `relax_after` responses showed
-- the configured limit again (the fields <bucket>.learned_at and .relax count them), and that
-- a provider's stated quota day replaces the account's (governor.engine._apply_quota). Then the
-- decision spends only when allowed (a denial writes nothing more); tokens `spent` on their own
-- move every bucket's tat to max(tat, spent_from) + spent * interval (on top), else to at least
-- spent_from + spent * interval. Each bucket's tat moves to
-- max(tat, grant) + cost * interval; the quota adds cost to the day of the grant and to seq,
-- and a paced call moves quota.pace along the line.
-- The key's TTL is extended, never shortened, to when every part of the state is dead: a bucket
-- once a call of up to `limit` tokens could go at once and its pause is over, the quota past
-- the end of the following day. It is extended with some slack, so most calls skip the PEXPIRE.
-- Numbers are Lua doubles: every value stays an integer below 2^53, and is formatted with
-- %d (a C long: 64 bits wherever Redis runs), never left to Lua's 14-digit default.

local MARGIN_US = 5000000 -- the key outlives its state by 5 s at least ...
local SLACK_US = 60000000 -- ... and by up to 65 s, so that the TTL is rarely rewritten
local NO_LIMIT = 1125899906842624 -- 2^50, governor.engine.NO_LIMIT_US
local TOLERANCE_US = 2000000 -- governor.engine.RESET_TOLERANCE_US
local tonumber, floor, fmt = tonumber, math.floor, string.format

-- Python's a // b for integers, exact: the float quotient is corrected by one either way.
local function floordiv(a, b)
  local q = floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- ceil(k * span / left), exact for the sizes at hand (governor.engine._mul_ceil).
local function mul_ceil(k, span, left)
  local whole = floordiv(span, left)
  return k * whole - floordiv(-(k * (span - whole * left)), left)
end

-- The quota counts for (today, tomorrow) of a state counting `day` (governor.engine).
local function counts(day, used, used_next, today)
  if day >= today then
    return used, used_next
  elseif day + 1 == today then
    return used_next, 0
  end
  return 0, 0
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
local max_wait = tonumber(ARGV[4])
local day_us = tonumber(ARGV[6])
local n = (#ARGV - 19) / 6
local state = redis.call('HMGET', key, unpack(ARGV, 12, 19 + 3 * n))

if ARGV[5] ~= '' then -- a reconcile adjustment rides along: governor.engine.apply
  local a = {}
  for x in string.gmatch(ARGV[5], '%S+') do
    a[#a + 1] = tonumber(x)
  end
  local stamp, sent_at, i, min_tat, interval, relax, bucket_pause, account_pause, used_floor,
    base_known, base, q_reset, relax_after, debit, spent, spent_from, on_top = unpack(a)
  local moved = 0
  if stamp ~= 0 then
    moved = now - stamp
  end
  if sent_at ~= 0 then
    sent_at = sent_at + moved
  end
  local writes, dead_at, news = {}, now, {}
  if i > 0 then
    local j = 3 * i
    local name = string.sub(ARGV[17 + j], 1, -5) -- '<name>.tat' without '.tat'
    local more = redis.call('HMGET', key, name .. '.learned_at', name .. '.relax')
    local learned, learned_at, relaxed =
      tonumber(state[j + 8] or 0), tonumber(more[1] or 0), tonumber(more[2] or 0)
    local configured = tonumber(ARGV[17 + 3 * n + j])
    if interval > configured and interval > learned then
      learned, learned_at, relaxed = interval, sent_at, 0
    elseif relax == 1 and learned ~= 0 and relax_after ~= 0 and sent_at > learned_at then
      relaxed = relaxed + 1
      if relaxed >= relax_after then
        learned, learned_at, relaxed = 0, 0, 0
      end
    end
    local tat = tonumber(state[j + 6] or 0)
    if min_tat ~= 0 then
      tat = math.max(tat, min_tat + moved)
    end
    local was_paused = tonumber(state[j + 7] or 0)
    local paused = was_paused
    if bucket_pause ~= 0 then
      paused = math.max(paused, bucket_pause + moved)
    end
    if paused > was_paused then
      news[#news + 1] = fmt('%d ', paused - now) .. name
    end
    state[j + 6], state[j + 7], state[j + 8] = tat, paused, learned
    writes = {ARGV[17 + j], fmt('%d', tat), ARGV[18 + j], fmt('%d', paused), ARGV[19 + j],
      fmt('%d', learned), name .. '.learned_at', fmt('%d', learned_at), name .. '.relax',
      fmt('%d', relaxed)}
    local limit, burst = tonumber(ARGV[19 + 3 * n + j]), tonumber(ARGV[18 + 3 * n + j])
    dead_at = math.max(dead_at, paused,
      tat + math.max(limit - burst, 0) * math.max(learned, configured))
  end
  if spent > 0 then -- calls a process granted on its own: counted from their first one
    local since = now
    if spent_from ~= 0 then
      since = spent_from + moved
    end
    for k = 1, n do
      local jk = 3 * k
      local interval_k = math.max(tonumber(ARGV[17 + 3 * n + jk]), tonumber(state[jk + 8] or 0))
      local tat = tonumber(state[jk + 6] or 0)
      if on_top == 1 then -- they came in addition to the shared grants
        tat = math.max(tat, since) + spent * interval_k
      else -- they took the place of shared grants: time the bucket had free
        tat = math.max(tat, since + spent * interval_k)
      end
      state[jk + 6] = tat
      writes[#writes + 1], writes[#writes + 2] = ARGV[17 + jk], fmt('%d', tat)
      local limit, burst = tonumber(ARGV[19 + 3 * n + jk]), tonumber(ARGV[18 + 3 * n + jk])
      dead_at = math.max(dead_at, tat + math.max(limit - burst, 0) * interval_k)
    end
  end
  local has_quota = used_floor > 0 or base_known == 1 or q_reset ~= 0 or debit > 0
  if day_us > 0 and has_quota then -- governor.engine._apply_quota
    local day, used, used_next, shift, seq = tonumber(state[2] or 0), tonumber(state[3] or 0),
      tonumber(state[4] or 0), tonumber(state[6] or 0), tonumber(state[7] or 0)
    local stated = state[6] ~= false and state[6] ~= nil -- absent: the calendar's midnight
    local today = floordiv(now - shift, day_us)
    if day < today then
      used, used_next = counts(day, used, used_next, today)
      day = today
    end
    local current = true
    if q_reset ~= 0 then
      local ends = q_reset + moved
      if not (now < ends and ends <= now + day_us + TOLERANCE_US) then
        current = false -- a day already over (a stale response), or no day at all
      else
        local ours = (today + 1) * day_us + shift
        local adopt = true
        if math.abs(ends - ours) > TOLERANCE_US then -- another day than ours
          if ends > ours then
            used, used_next = used + used_next, 0
          end
          if used_floor > 0 or base_known == 1 then
            used = 0
          end
        elseif stated and ends >= ours then
          adopt = false -- the same day, stated no earlier than before: the boundary stays
        end
        if adopt then
          shift = ends - floordiv(ends, day_us) * day_us
          day = floordiv(now - shift, day_us)
          stated = true
          writes[#writes + 1], writes[#writes + 2] = 'quota.shift', fmt('%d', shift)
        end
      end
    elseif floordiv((sent_at ~= 0 and sent_at or now) - shift, day_us) ~= today then
      current = false
    end
    if current then
      local seen = used_floor
      if base_known == 1 and seq + base > seen then
        seen = seq + base
      end
      used = math.max(used, seen) + math.max(debit, 0)
      state[2], state[3], state[4] = day, used, used_next
      if stated then
        state[6] = shift
      end
      writes[#writes + 1], writes[#writes + 2] = 'quota.day', fmt('%d', day)
      writes[#writes + 1], writes[#writes + 2] = 'quota.used', fmt('%d', used)
      writes[#writes + 1], writes[#writes + 2] = 'quota.next_used', fmt('%d', used_next)
      dead_at = math.max(dead_at, (day + 2) * day_us + shift)
    end
  end
  if account_pause ~= 0 and account_pause + moved > tonumber(state[1] or 0) then
    account_pause = account_pause + moved
    news[#news + 1] = fmt('%d ', account_pause - now)
    state[1] = account_pause
    writes[#writes + 1], writes[#writes + 2] = 'pause', fmt('%d', account_pause)
    dead_at = math.max(dead_at, account_pause)
  end
  if #writes > 0 then
    local expires = tonumber(state[5] or 0)
    if dead_at + MARGIN_US > expires then
      expires = dead_at + MARGIN_US + SLACK_US
      state[5] = expires
      writes[#writes + 1], writes[#writes + 2] = 'expires', fmt('%d', expires)
      redis.call('HSET', key, unpack(writes))
      redis.call('PEXPIRE', key, fmt('%d', math.ceil((expires - now) / 1000)))
    else
      redis.call('HSET', key, unpack(writes))
    end
  end
  for _, message in ipairs(news) do -- workers asleep on earlier slots hear of new pauses
    redis.pcall('PUBLISH', key .. ':pauses', message) -- pcall: an ACL without it still decides
  end
  if cost == 0 then
    return ''
  end
end

local grant, scope, bound = now, 0, 0
local account_pause = tonumber(state[1] or 0)
if account_pause > grant then
  grant, scope = account_pause, -1
end

local tats, pauses, intervals = {}, {}, {}
local widest = 0 -- the call's widest emission interval (what a lane's horizon is counted in)
for i = 1, n do
  local j = 3 * i
  local tat, paused = tonumber(state[j + 6] or 0), tonumber(state[j + 7] or 0)
  local interval = tonumber(ARGV[17 + 3 * n + j])
  local learned = tonumber(state[j + 8] or 0)
  if learned > interval then
    interval = learned
  end
  if interval > widest then
    widest = interval
  end
  tats[i], pauses[i], intervals[i] = tat, paused, interval
  local ready = tat + (cost - tonumber(ARGV[18 + 3 * n + j])) * interval
  if paused > ready then
    ready = paused
  end
  if ready > grant then
    grant, bound = ready, i
  end
end
if bound > 0 then
  scope = bound
end

local q_day, q_left, q_used, q_seq, q_reset, q_end = -1, NO_LIMIT, -1, -1, -1, -1
local day, used_day, used_next_day, shift
local pace = -1 -- the pace line's arrival time after the call (-1: not paced)
local reach = NO_LIMIT -- how far ahead of now the call may be booked (governor.engine, "Lanes")
local near = 0 -- how near its slot a call denied as booked too far ahead comes back
if day_us > 0 then
  day, used_day, used_next_day = tonumber(state[2] or 0), tonumber(state[3] or 0),
    tonumber(state[4] or 0)
  shift, q_seq = tonumber(state[6] or 0), tonumber(state[7] or 0)
  local today = floordiv(now - shift, day_us)
  q_day = floordiv(grant - shift, day_us)
  q_reset = (today + 1) * day_us + shift
  local used_next
  q_used, used_next = counts(day, used_day, used_next_day, today)
  if q_day > today + 1 then -- granted more than a day ahead: refuse rather than count it nowhere
    if scope == 0 then
      scope = -2
    end
    return fmt('0 %d %d %d 0 %d -1 %d %d %d', now, grant - now, scope, grant, q_used, q_seq,
      q_reset)
  end
  local used = used_next
  if q_day == today then
    used = q_used
  end
  local limit = tonumber(ARGV[7])
  local cap = limit
  if ARGV[3] ~= '1' then
    cap = limit - tonumber(ARGV[8])
  end
  q_end = (q_day + 1) * day_us + shift
  if used + cost > cap then
    return fmt('0 %d %d -2 %d %d -1 %d %d %d', now, q_end - now, cap - used, q_end, q_used,
      q_seq, q_reset)
  end
  q_left = cap - used - cost
  local pace_end = tonumber(ARGV[9])
  if pace_end > 0 and ARGV[3] ~= '1' then -- governor.engine._pace
    local t0 = q_end - day_us
    local ends = t0 + pace_end
    local a = tonumber(state[8] or 0)
    if a >= t0 + day_us then -- a later day's: this day's own straight line for `used`
      a = t0 + mul_ceil(used, pace_end, cap)
    end
    if grant > a then
      a = grant
    end
    pace = a
    if a < ends then -- the line is flat at the cap from its end on
      local span, left, burst = ends - a, cap - used, tonumber(ARGV[10])
      local ready
      if cost >= burst then
        ready = a + mul_ceil(cost - burst, span, left)
      else -- the look-back: at most `burst - cost` intervals of the whole day's line
        local back = -mul_ceil(cost - burst, span, left)
        local whole = -mul_ceil(cost - burst, pace_end, cap)
        if whole < back then
          back = whole
        end
        ready = a - back
      end
      pace = a + mul_ceil(cost, span, left)
      if ready > grant then
        if widest > 0 then -- booked further on, it would hold the buckets for high calls
          reach, near = grant - now + widest, widest
        end
        grant, scope, bound = ready, -3, 0
      end
    end
  end
  if day < today then
    day, used_day, used_next_day = today, q_used, used_next
  end
  if q_day == day then
    used_day = math.max(used_day + cost, 0)
  elseif q_day == day + 1 then
    used_next_day = math.max(used_next_day + cost, 0)
  end
end
local wait = grant - now
if wait > max_wait then
  return fmt('0 %d %d %d 0 %d -1 %d %d %d', now, wait, scope, grant, q_used, q_seq, q_reset)
end
local horizon = tonumber(ARGV[11])
if horizon > 0 and widest > 0 and ARGV[3] ~= '1' then
  horizon = floordiv(widest * horizon, 1000)
  if horizon < reach then
    reach, near = horizon, horizon
  end
end
if wait > reach then -- the call may not book this far ahead: decide again nearer its slot
  local later = wait - near
  if later < widest then
    later = widest
  end
  return fmt('2 %d %d %d 0 %d -1 %d %d %d', now, later, scope, grant, q_used, q_seq, q_reset)
end

-- Allowed: spend, and keep the key alive as long as any of its state matters.
local writes, w = {}, 0
local dead_at = now
if day_us > 0 then
  q_used, q_seq = used_day, q_seq + cost -- the state counts today now (its day is today or later)
  writes = {'quota.day', fmt('%d', day), 'quota.used', fmt('%d', used_day), 'quota.next_used',
    fmt('%d', used_next_day), 'quota.seq', fmt('%d', q_seq)}
  w = 8
  if pace >= 0 then
    writes[9], writes[10] = ARGV[19], fmt('%d', pace)
    w = 10
  end
  dead_at = (day + 2) * day_us + shift
end
local reply = {1, now, wait, 0, 0, 0, q_day, q_used, q_seq, q_reset}
local remaining, reset_us, tightest = NO_LIMIT, grant, 0
for i = 1, n do
  local j = 3 * i
  local interval = intervals[i]
  local burst, limit = tonumber(ARGV[18 + 3 * n + j]), tonumber(ARGV[19 + 3 * n + j])
  local tat = tats[i]
  if tat < grant then
    tat = grant
  end
  tat = tat + cost * interval
  reply[10 + i], reply[10 + n + i] = tat, tats[i]
  writes[w + 1], writes[w + 2] = ARGV[17 + j], fmt('%d', tat)
  w = w + 2
  local full_at = tat
  if limit > burst then -- a call of up to `limit` tokens still waits on this state
    full_at = tat + (limit - burst) * interval
  end
  if full_at > dead_at then
    dead_at = full_at
  end
  if pauses[i] > dead_at then
    dead_at = pauses[i]
  end
  if bound == 0 or i == bound then
    local left = floordiv(now - tat, interval) + burst
    if left < remaining or i == bound then
      remaining, reset_us, tightest = left, tat, i
    end
  end
end
if day_us > 0 and bound == 0 and q_left < remaining then
  remaining, reset_us, tightest = q_left, q_end, -2
end
if scope == -1 then
  reset_us = grant
elseif scope == -3 then -- what the line holds back is the quota: say what is left of it
  remaining, reset_us = q_left, grant
end
if scope == 0 then
  scope = tightest
end
reply[4], reply[5], reply[6] = scope, remaining, reset_us

if w > 0 then
  local expires = tonumber(state[5] or 0)
  if dead_at + MARGIN_US > expires then
    expires = dead_at + MARGIN_US + SLACK_US
    writes[w + 1], writes[w + 2] = 'expires', fmt('%d', expires)
    redis.call('HSET', key, unpack(writes))
    redis.call('PEXPIRE', key, fmt('%d', math.ceil((expires - now) / 1000)))
  else
    redis.call('HSET', key, unpack(writes))
  end
end
return fmt(string.rep('%d ', 10 + 2 * n), unpack(reply))
