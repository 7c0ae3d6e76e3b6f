if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'exists'
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'collision'
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'subject', ARGV[1], 'login', ARGV[2], 'claims', ARGV[7],
  'created_at', ARGV[8], 'updated_at', ARGV[9])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'password_hash', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'verified_at', ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'disabled_at', ARGV[6])
end
return 'ok'
