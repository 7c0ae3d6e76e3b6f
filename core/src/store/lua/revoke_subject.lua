local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local skey = ARGV[1] .. 'session:' .. id
  if redis.call('EXISTS', skey) == 0 then
    redis.call('ZREM', KEYS[1], id)
  elseif redis.call('HEXISTS', skey, 'revoked_at') == 0 then
    redis.call('HSET', skey, 'revoked_at', ARGV[2])
    n = n + 1
  end
end
return n
