local r = redis.call('HMGET', KEYS[1], 'secret', 'last_step')
if not r[1] or r[1] ~= ARGV[1] or tonumber(r[2] or '-1') >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'secret', ARGV[2], 'last_step', ARGV[3], 'last_used_at', ARGV[4])
return 1
