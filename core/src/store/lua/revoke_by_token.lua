local sid = redis.call('HGET', KEYS[1], 'sid')
if not sid then
  return 0
end
local skey = ARGV[1] .. 'session:' .. sid
local s = redis.call('HMGET', skey, 'id', 'revoked_at', 'issuer', 'audience')
if not s[1] or s[2] or (s[3] or '') ~= ARGV[3] or s[4] ~= ARGV[4] then
  return 0
end
redis.call('HSET', skey, 'revoked_at', ARGV[2])
return 1
