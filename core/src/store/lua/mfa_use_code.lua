local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  return {'unknown', 0}
end
if v ~= '-' then
  return {'used', 0}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local n = 0
for _, x in ipairs(redis.call('HVALS', KEYS[1])) do
  if x == '-' then
    n = n + 1
  end
end
return {'consumed', n}
