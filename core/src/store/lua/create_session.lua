if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'id', ARGV[4], 'subject', ARGV[5], 'audience', ARGV[6],
  'claims', ARGV[7], 'meta', ARGV[8], 'created_at', ARGV[9], 'last_used_at', ARGV[10],
  'expires_at', ARGV[11], 'idle_ttl', ARGV[12], 'generation', ARGV[13], 'issuer', ARGV[15])
if ARGV[14] ~= '' then
  redis.call('HSET', KEYS[1], 'revoked_at', ARGV[14])
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[2], 'sid', ARGV[4], 'gen', ARGV[13])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
if redis.call('TTL', KEYS[3]) < ttl then
  redis.call('EXPIRE', KEYS[3], ttl)
end
return 1
