local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HGETALL', ARGV[1] .. 'session:' .. id)
  if #h == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = h
  end
end
return out
