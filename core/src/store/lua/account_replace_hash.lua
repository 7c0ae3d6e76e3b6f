local current = redis.call('HGET', KEYS[1], 'password_hash')
if not current or current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[2], 'updated_at', ARGV[3])
return 1
