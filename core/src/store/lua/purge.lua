local cutoff = tonumber(ARGV[4])
local r = redis.call('SCAN', ARGV[2], 'MATCH', ARGV[1] .. '*', 'COUNT', tonumber(ARGV[3]))
local removed = 0
local ns = string.len(ARGV[1])
for _, key in ipairs(r[2]) do
  local rest = string.sub(key, ns + 1)
  if string.sub(rest, 1, 8) == 'session:' then
    local s = redis.call('HMGET', key, 'subject', 'revoked_at', 'expires_at', 'last_used_at',
      'idle_ttl', 'id')
    if s[6] and ((s[2] and tonumber(s[2]) <= cutoff) or tonumber(s[3]) <= cutoff
        or tonumber(s[4]) + tonumber(s[5]) < cutoff) then
      redis.call('DEL', key)
      redis.call('ZREM', ARGV[1] .. 'subject:' .. s[1], s[6])
      removed = removed + 1
    end
  elseif string.sub(rest, 1, 8) == 'onetime:' then
    local o = redis.call('HMGET', key, 'used_at', 'expires_at')
    if (o[1] and tonumber(o[1]) <= cutoff) or (o[2] and tonumber(o[2]) <= cutoff) then
      redis.call('DEL', key)
      removed = removed + 1
    end
  end
end
return {r[1], removed}
