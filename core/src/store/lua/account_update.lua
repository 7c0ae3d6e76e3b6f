if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
if ARGV[2] == 'del' then
  redis.call('HDEL', KEYS[1], ARGV[1])
elseif ARGV[2] == 'set' or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[4])
return redis.call('HGETALL', KEYS[1])
