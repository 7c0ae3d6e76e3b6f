local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return n
