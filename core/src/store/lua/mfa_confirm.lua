local p = redis.call('HMGET', KEYS[1], 'pending_secret', 'pending_expires_at')
if not p[1] or p[1] ~= ARGV[1] or not p[2] or tonumber(p[2]) <= tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[1], 'secret', ARGV[2], 'last_step', ARGV[3], 'confirmed_at', ARGV[4],
  'last_used_at', ARGV[4])
redis.call('HDEL', KEYS[1], 'pending_secret', 'pending_expires_at')
redis.call('DEL', KEYS[2])
for i = 5, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], '-')
end
return 1
