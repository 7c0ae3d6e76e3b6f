local r = redis.call('HMGET', KEYS[1], 'failures', 'last_failure_at', 'locked_until')
local failures = tonumber(r[1] or '0') or 0
local last = tonumber(r[2] or '0') or 0
local locked = tonumber(r[3] or '0') or 0
local now = tonumber(ARGV[1])
local reset_after = tonumber(ARGV[2])
local max_failures = tonumber(ARGV[3])
if ARGV[4] == '1' and locked > now then
  return {0, failures, last, locked}
end
if failures > 0 and (now - last < reset_after or failures >= max_failures) then
  failures = failures + 1
else
  failures = 1
end
local lock = tonumber(ARGV[8 + math.min(failures, #ARGV - 8)])
if lock > 0 then
  locked = math.max(locked, math.min(now + lock, tonumber(ARGV[5])))
end
redis.call('HSET', KEYS[1], 'failures', string.format('%d', failures), 'last_failure_at', ARGV[1],
  'locked_until', string.format('%d', locked))
local max_ttl = tonumber(ARGV[7])
local keep = math.min(math.max(locked - now, reset_after), max_ttl) + tonumber(ARGV[6])
if failures >= max_failures then
  keep = math.min(math.max(locked - now, 0) + tonumber(ARGV[8]), max_ttl + tonumber(ARGV[6]))
end
if redis.call('TTL', KEYS[1]) < keep then
  redis.call('EXPIRE', KEYS[1], keep)
end
return {1, failures, now, locked}
