if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'subject', ARGV[1], 'purpose', ARGV[2], 'expires_at', ARGV[3])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'data', ARGV[6])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
