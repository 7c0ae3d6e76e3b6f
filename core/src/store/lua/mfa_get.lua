local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then
  return {{}, 0}
end
local n = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  if v == '-' then
    n = n + 1
  end
end
return {h, n}
