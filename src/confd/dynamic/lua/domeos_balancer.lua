-- domeos_balancer: nginx upstream members that change without a reload
-- (the ingress-nginx way, small). domeos-confd pushes each dynamic
-- upstream's full member list to a loopback-only endpoint (serve()); the
-- list lives in a lua_shared_dict, so every worker, old and new, sees it and
-- it survives reloads; balance() picks a member round robin in
-- balancer_by_lua. docs/nginx-dynamic.md has the nginx.conf lines.
--
-- Shared dict keys (one dict, default "domeos_members"):
--   boot             random id made when nginx starts (kept across reloads:
--                    a new one means the dict was emptied, so confd re-pushes)
--   names            the upstream names pushed so far, "\n"-separated
--   g:<upstream>     generation: incremented by each accepted push
--   m:<upstream>     "<generation>\n<seq>\n<pusher>\n<revision>\n<pushed at>\n" .. members, one per line
--   d:<upstream>:<member>  set for fail_timeout seconds after a failed connect (passive marking)
--   lock:<upstream>  held for the few dict writes of one push (pushes can arrive in several workers)

local M = {}

local DICT = "domeos_members"
local MAX_BODY = 1024 * 1024 -- also client_max_body_size in the endpoint's server block
local MAX_MEMBERS = 65536
local MAX_TRIES = 3 -- a request tries at most this many members
local FAIL_TIMEOUT = 5 -- seconds a member that failed a connect is skipped

local secret -- read by init() from the secret file

local function dict()
  return ngx.shared[DICT]
end

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  if not f then
    return string.format("%x", math.floor(ngx.now() * 1000))
  end
  local bytes = f:read(n)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- init_by_lua: read the push secret; mark this nginx instance (a restart
-- empties the dict and gets a new boot id; a reload keeps both).
function M.init(opts)
  opts = opts or {}
  if opts.dict then DICT = opts.dict end
  if not ngx.shared[DICT] then
    error("domeos_balancer: lua_shared_dict " .. DICT .. " is not declared")
  end
  local f, err = io.open(opts.secret_file or "", "r")
  if not f then
    error("domeos_balancer: cannot read secret_file: " .. tostring(err))
  end
  secret = (f:read("*a") or ""):gsub("%s+$", "")
  f:close()
  if #secret < 16 then
    error("domeos_balancer: the secret in " .. opts.secret_file .. " must be at least 16 characters")
  end
  dict():add("boot", random_hex(8))
end

-- "IP:port" -> host, port (IPv4 dotted quad or [IPv6]); nil and a reason otherwise.
local function parse_member_uncached(s)
  local host, port
  local a, b, c, d, p = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+):(%d+)$")
  if a then
    for _, o in ipairs({ a, b, c, d }) do
      if #o > 3 or tonumber(o) > 255 or (#o > 1 and o:sub(1, 1) == "0") then
        return nil, "not an IPv4 address"
      end
    end
    host, port = a .. "." .. b .. "." .. c .. "." .. d, p
  else
    local v6
    v6, p = s:match("^%[([%x:%.]+)%]:(%d+)$")
    if not v6 or not v6:find(":") then
      return nil, "not IP:port"
    end
    host, port = v6, p
  end
  local n = tonumber(port)
  if #port > 5 or n < 1 or n > 65535 then
    return nil, "port out of range"
  end
  return host, n
end

-- Per-worker cache of the parsed list, refreshed when the generation moves.
local cache = {}

-- Per worker: member text -> { host, port } or { nil, why }. A push repeats
-- almost every member of the previous one, and every worker parses the list
-- again when it changes: Lua patterns are not compiled, a table lookup is
-- cheap. Emptied when it grows past 200,000 entries.
local parsed, parsed_count = {}, 0

local function parse_member(s)
  local hit = parsed[s]
  if not hit then
    if parsed_count > 200000 then
      parsed, parsed_count = {}, 0
    end
    local host, port = parse_member_uncached(s)
    hit = { host, port }
    parsed[s] = hit
    parsed_count = parsed_count + 1
  end
  return hit[1], hit[2]
end

-- A stored list: its header fields and the members' text.
local function split_value(raw)
  local gen, seq, pusher, revision, at, rest =
    raw:match("^([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n?(.*)$")
  return { gen = gen, seq = seq, pusher = pusher, revision = revision, at = at }, rest or ""
end

local function load(name, gen)
  local raw = dict():get("m:" .. name)
  local peers = {}
  if raw then
    local _, rest = split_value(raw)
    for line in rest:gmatch("[^\n]+") do
      local host, port = parse_member(line)
      if host then
        peers[#peers + 1] = { key = line, host = host, port = port }
      end
    end
  end
  return { gen = gen, peers = peers, rr = 0 }
end

local function pick(name, c, tried)
  local d = dict()
  local n = #c.peers
  local fallback
  for _ = 1, n do
    c.rr = c.rr % n + 1
    local p = c.peers[c.rr]
    if not tried[p.key] then
      if not d:get("d:" .. name .. ":" .. p.key) then
        return p
      end
      fallback = fallback or p
    end
  end
  -- every untried member is marked down: try one anyway (as nginx does)
  return fallback or c.peers[c.rr % n + 1]
end

-- balancer_by_lua_block { require("domeos_balancer").balance("<upstream>") }
function M.balance(name)
  local balancer = require("ngx.balancer")
  local gen = dict():get("g:" .. name)
  local c = cache[name]
  if not c or c.gen ~= gen then
    c = load(name, gen)
    cache[name] = c
  end
  local n = #c.peers
  if n == 0 then
    -- nginx then connects to the placeholder server 0.0.0.1, which fails at once: 502
    ngx.log(ngx.ERR, "domeos_balancer: upstream ", name, " has no members (none pushed, or none ready)")
    return
  end
  local ctx = ngx.ctx
  local state = balancer.get_last_failure()
  if state == nil then
    ctx.domeos_tried = {}
    -- the upstream block has one placeholder server: allow retries on the others
    local ok, err = balancer.set_more_tries(math.min(n, MAX_TRIES) - 1)
    if not ok then
      ngx.log(ngx.ERR, "domeos_balancer: set_more_tries: ", err)
    end
  elseif state == "failed" and ctx.domeos_peer then
    -- connect error or timeout: skip that member for a while, in every worker
    dict():set("d:" .. name .. ":" .. ctx.domeos_peer, true, FAIL_TIMEOUT)
  end
  local p = pick(name, c, ctx.domeos_tried)
  ctx.domeos_tried[p.key] = true
  ctx.domeos_peer = p.key
  local ok, err = balancer.set_current_peer(p.host, p.port)
  if not ok then
    ngx.log(ngx.ERR, "domeos_balancer: set_current_peer ", p.key, ": ", err)
    return ngx.exit(502)
  end
end

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(ch)
    return string.format("\\u%04x", ch:byte())
  end) .. '"'
end

local function reply(status, fields)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(fields)
  return ngx.exit(ngx.HTTP_OK)
end

local function state_json(name)
  local raw = dict():get("m:" .. name)
  if not raw then
    return "{" .. '"upstream":' .. json_string(name) .. ',"generation":0,"members":0}'
  end
  local h, rest = split_value(raw)
  local count = 0
  for _ in rest:gmatch("[^\n]+") do
    count = count + 1
  end
  return "{" .. '"upstream":' .. json_string(name)
    .. ',"generation":' .. h.gen
    .. ',"seq":' .. h.seq
    .. ',"pusher":' .. json_string(h.pusher)
    .. ',"revision":' .. json_string(h.revision)
    .. ',"pushedAt":' .. h.at
    .. ',"members":' .. count .. "}"
end

local function names()
  local out = {}
  for n in (dict():get("names") or ""):gmatch("[^\n]+") do
    out[#out + 1] = n
  end
  return out
end

-- GET /members: boot id and every upstream's generation, seq and member count.
local function get_all()
  local parts = {}
  for _, n in ipairs(names()) do
    parts[#parts + 1] = state_json(n)
  end
  return reply(200, '{"boot":' .. json_string(dict():get("boot") or "")
    .. ',"upstreams":[' .. table.concat(parts, ",") .. "]}")
end

-- GET /members/<upstream>: the members themselves, one per line.
local function get_one(name)
  local raw = dict():get("m:" .. name)
  ngx.header["Content-Type"] = "text/plain"
  ngx.header["X-Domeos-Boot"] = dict():get("boot") or ""
  if not raw then
    return reply(404, '{"error":"no members pushed for upstream ' .. name .. '"}')
  end
  local h, rest = split_value(raw)
  ngx.header["X-Domeos-Generation"] = h.gen
  ngx.print(rest)
  return ngx.exit(ngx.HTTP_OK)
end

local function with_lock(name, fn)
  local d = dict()
  local key = "lock:" .. name
  for _ = 1, 1000 do
    if d:add(key, true, 1) then
      local ok, a, b = pcall(fn)
      d:delete(key)
      if not ok then
        error(a)
      end
      return a, b
    end
    ngx.sleep(0.001)
  end
  return nil, "busy"
end

local function remember_name(name)
  local d = dict()
  for n in (d:get("names") or ""):gmatch("[^\n]+") do
    if n == name then
      return
    end
  end
  d:set("names", (d:get("names") or "") .. name .. "\n")
end

-- POST /members/<upstream>, X-Domeos-Secret, X-Domeos-Pusher + X-Domeos-Seq
-- (a push older than the last one of the same pusher is refused), X-Domeos-Revision
-- (shown back), body: the full member list, one IP:port a line. A member that is
-- not IP:port is refused and named; the others apply.
local function post(name)
  local h = ngx.req.get_headers()
  if not secret or h["x-domeos-secret"] ~= secret then
    return reply(403, '{"error":"missing or wrong X-Domeos-Secret"}')
  end
  local seq = tonumber(h["x-domeos-seq"] or "0")
  local pusher = (h["x-domeos-pusher"] or ""):gsub("[^%w%-_%.:]", "")
  local revision = (h["x-domeos-revision"] or ""):gsub("[^%w%-_%.:]", "")
  if not seq or seq < 0 or seq ~= math.floor(seq) then
    return reply(400, '{"error":"X-Domeos-Seq must be a non-negative integer"}')
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then
    if ngx.req.get_body_file() then
      return reply(413, '{"error":"body over ' .. MAX_BODY .. ' bytes"}')
    end
    body = ""
  end
  if #body > MAX_BODY then
    return reply(413, '{"error":"body over ' .. MAX_BODY .. ' bytes"}')
  end
  local good, refused, seen, lineno = {}, {}, {}, 0
  for line in (body .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    if line:find("%s") then
      line = line:match("^%s*(.-)%s*$")
    end
    if line ~= "" then
      local host, why = parse_member(line)
      if not host then
        refused[#refused + 1] = '{"line":' .. lineno .. ',"member":' .. json_string(line:sub(1, 100))
          .. ',"error":' .. json_string(why) .. "}"
      elseif not seen[line] then
        seen[line] = true
        good[#good + 1] = line
      end
    end
  end
  if #good > MAX_MEMBERS then
    return reply(413, '{"error":"more than ' .. MAX_MEMBERS .. ' members"}')
  end
  local gen, err = with_lock(name, function()
    local d = dict()
    local cur = d:get("m:" .. name)
    if cur then
      local h = split_value(cur)
      if h.pusher == pusher and pusher ~= "" and seq <= tonumber(h.seq) then
        return nil, "stale: seq " .. seq .. " <= " .. h.seq .. " already applied from " .. pusher
      end
    end
    local g = (d:get("g:" .. name) or 0) + 1
    local value = g .. "\n" .. seq .. "\n" .. pusher .. "\n" .. revision .. "\n"
      .. string.format("%.3f", ngx.now()) .. "\n" .. table.concat(good, "\n")
    local ok, serr = d:set("m:" .. name, value)
    if not ok then
      return nil, "shared dict: " .. tostring(serr)
    end
    d:set("g:" .. name, g) -- after the list: a worker that sees g sees its list
    remember_name(name)
    return g
  end)
  if not gen then
    local status = err and err:find("^stale") and 409 or 503
    return reply(status, '{"error":' .. json_string(err) .. "}")
  end
  return reply(200, '{"upstream":' .. json_string(name)
    .. ',"boot":' .. json_string(dict():get("boot") or "")
    .. ',"generation":' .. gen
    .. ',"applied":' .. #good
    .. ',"refused":[' .. table.concat(refused, ",") .. "]}")
end

-- content_by_lua_block { require("domeos_balancer").serve() } in a server
-- block that listens on loopback or a unix socket only.
function M.serve()
  local uri = ngx.var.uri
  local method = ngx.req.get_method()
  if uri == "/members" or uri == "/members/" then
    if method ~= "GET" then
      return reply(405, '{"error":"GET /members, or POST /members/<upstream>"}')
    end
    return get_all()
  end
  local name = uri:match("^/members/([%w_%-%.]+)$")
  if not name or #name > 200 then
    return reply(404, '{"error":"not found: GET /members, GET or POST /members/<upstream>"}')
  end
  if method == "GET" then
    return get_one(name)
  elseif method == "POST" or method == "PUT" then
    return post(name)
  end
  return reply(405, '{"error":"GET or POST"}')
end

return M
