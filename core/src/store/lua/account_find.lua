local subject = redis.call('GET', KEYS[1])
if not subject then
  return {}
end
return redis.call('HGETALL', ARGV[1] .. 'account:' .. subject)
