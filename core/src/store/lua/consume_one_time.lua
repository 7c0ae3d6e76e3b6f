local r = redis.call('HMGET', KEYS[1], 'subject', 'purpose', 'data', 'expires_at', 'used_at')
if not r[1] or not r[2] or not r[4] then
  return {'unknown', {}}
end
if r[2] ~= ARGV[1] then
  return {'wrong_purpose', {}}
end
if r[5] then
  return {'used', {}}
end
if tonumber(ARGV[2]) >= tonumber(r[4]) then
  return {'expired', {}}
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'used_at', ARGV[2])
end
if r[3] then
  return {'consumed', {r[1], '1', r[3]}}
end
return {'consumed', {r[1], '0', ''}}
