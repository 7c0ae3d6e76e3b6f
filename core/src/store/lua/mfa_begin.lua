if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'last_step', '-1')
end
redis.call('HSET', KEYS[1], 'pending_secret', ARGV[1], 'pending_expires_at', ARGV[2])
return 1
