if not redis.call('HGET', KEYS[1], 'secret') then
  return 0
end
redis.call('DEL', KEYS[2])
for i = 1, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], '-')
end
return 1
