local row = redis.call('HMGET', KEYS[1], 'sid', 'gen', 'used_at')
if not row[1] then
  return {'unknown', {}}
end
local skey = ARGV[1] .. 'session:' .. row[1]
if redis.call('EXISTS', skey) == 0 then
  return {'unknown', {}}
end
local s = redis.call('HMGET', skey, 'revoked_at', 'expires_at', 'last_used_at', 'idle_ttl',
  'generation', 'issuer', 'audience')
if (s[6] or '') ~= ARGV[4] then
  return {'wrong_issuer', {}}
end
if s[7] ~= ARGV[5] then
  return {'wrong_audience', {}}
end
local now = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
if s[1] then
  return {'revoked', {}}
end
if now >= tonumber(s[2]) or now - tonumber(s[3]) > tonumber(s[4]) then
  return {'expired', {}}
end
local sgen = tonumber(s[5])
local tgen = tonumber(row[2])
local pttl = redis.call('PTTL', skey)
local function store_token(gen)
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'sid', row[1], 'gen', gen)
  if pttl > 0 then
    redis.call('PEXPIRE', KEYS[2], pttl)
  end
end
if not row[3] and tgen == sgen then
  local ng = string.format('%d', sgen + 1)
  redis.call('HSET', KEYS[1], 'used_at', ARGV[2])
  store_token(ng)
  redis.call('HSET', skey, 'generation', ng, 'last_used_at', ARGV[2])
  return {'rotated', redis.call('HGETALL', skey)}
end
if row[3] and grace > 0 and now - tonumber(row[3]) <= grace and tgen == sgen - 1 then
  store_token(s[5])
  redis.call('HSET', skey, 'last_used_at', ARGV[2])
  return {'graced', redis.call('HGETALL', skey)}
end
redis.call('HSET', skey, 'revoked_at', ARGV[2])
return {'reused', {}}
