if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return 1
