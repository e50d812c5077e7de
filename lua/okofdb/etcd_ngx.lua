-- okofdb.etcd_ngx -- stores on etcd inside nginx (ngx_http_lua_module,
-- OpenResty). okofdb.etcd loads it when it finds the global `ngx` and
-- gives it its module table. It wraps the handle's methods: where nginx
-- has cosockets (rewrite, access, content, timers, ...) a call's requests
-- travel over ngx.socket.tcp and the worker goes on serving other
-- requests meanwhile; elsewhere (init_by_lua*, init_worker_by_lua*,
-- set_by_lua*, filters, log, balancer) the methods block with libcurl,
-- within their timeout.
--
-- The operations are okofdb.etcd's own (okof_etcd_op.c): they say which
-- member to try, with which request, for how long, and what the answers
-- mean; this file only makes the attempts: one HTTP/1.1 POST each, kept
-- alive in nginx's connection pool.
local ngx = ngx

local concat, floor, tonumber = table.concat, math.floor, tonumber

local COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
  preread = true,
}

local function cosockets()
  return COSOCKET_PHASES[ngx.get_phase()] == true
end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- A failed socket call's outcome.
local function failed(err)
  return err == "timeout" and "timeout" or "lost"
end

-- The body of a reply whose header lines are in headers (lowercased).
local function read_body(sock, headers)
  local len = headers["content-length"]
  if len then
    return sock:receive(tonumber(len))
  end
  if not (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
    return sock:receive("*a")
  end
  local parts = {}
  while true do
    local line, err = sock:receive("*l")
    if not line then return nil, err end
    local size = tonumber(line:match("^%x+") or "", 16)
    if not size then return nil, "bad chunk size" end
    if size == 0 then
      repeat
        line, err = sock:receive("*l")
        if not line then return nil, err end
      until line == ""
      return concat(parts)
    end
    local data, derr = sock:receive(size)
    if not data then return nil, derr end
    parts[#parts + 1] = data
    local crlf, cerr = sock:receive(2)
    if not crlf then return nil, cerr end
  end
end

-- The status line and header lines of a reply.
local function read_head(sock)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  local status = tonumber(line:match("^HTTP/%d%.%d (%d%d%d)") or "")
  if not status then return nil, "not an HTTP reply: " .. line:sub(1, 40) end
  local headers = {}
  while true do
    line, err = sock:receive("*l")
    if not line then return nil, err end
    if line == "" then return status, headers end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then headers[name:lower()] = value end
  end
end

-- One POST of body to member's path within ms milliseconds:
-- outcome, status, body, what went wrong, whether the connection was reused.
local function attempt(member, path, body, ms)
  local deadline = now() + ms / 1000
  local function left()
    local l = floor((deadline - now()) * 1000)
    return l > 0 and l or 1
  end
  local host, port = member:match("^(.+):(%d+)$")
  local sock = ngx.socket.tcp()
  sock:settimeout(ms)
  local ok, err = sock:connect(host, tonumber(port))
  if not ok then
    return err == "timeout" and "timeout" or "refused", nil, nil, err, false
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  sock:settimeout(left())
  ok, err = sock:send({ "POST ", path, " HTTP/1.1\r\nHost: ", member,
    "\r\nContent-Type: application/json\r\nContent-Length: ", #body, "\r\n\r\n", body })
  local status, headers, reply
  if ok then
    sock:settimeout(left())
    status, headers = read_head(sock)
    err = headers
  end
  if status then
    sock:settimeout(left())
    reply, err = read_body(sock, headers)
  end
  if not reply then
    sock:close()
    return failed(err), nil, nil, err, reused
  end
  if (headers["connection"] or ""):lower() == "close" then
    sock:close()
  else
    sock:setkeepalive(60000, 32)
  end
  return "answered", status, reply, nil, reused
end

-- Run an operation of okofdb.etcd to its end over cosockets.
local function drive(op)
  while true do
    local member, path, body, ms = op:next(now())
    if not member then return end
    local outcome, status, reply, err, reused = attempt(member, path, body, ms)
    if outcome == "lost" and reused then
      -- a kept-alive connection the member had closed: once more, afresh
      outcome, status, reply, err = attempt(member, path, body, ms)
    end
    op:done(outcome, status, reply, err)
  end
end

-- Errors of a method keep the words of its C function, without a
-- position in this file.
local function reraise(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

local function run(op)
  drive(op)
  return op:finish()
end

return function(etcd)
  local methods, begins, defer = etcd._methods, etcd._begin, etcd._defer
  for name, begin in pairs(begins) do
    local blocking = methods[name]
    methods[name] = function(db, ...)
      if not cosockets() then return blocking(db, ...) end
      return run(reraise(pcall(begin, db, ...)))
    end
  end
  for _, name in ipairs({ "each", "keys" }) do
    local blocking = methods[name]
    methods[name] = function(db, ...)
      local f, walk, init, closer = reraise(pcall(blocking, db, ...))
      if not cosockets() then return f, walk, init, closer end
      defer(walk)
      -- the C iterator answers false and an operation when it needs a page
      return function(w, ctl)
        while true do
          local a, b, c, d = f(w, ctl)
          if a ~= false then return a, b, c, d end
          drive(b)
          b:finish()
        end
      end, walk, init, closer
    end
  end
end
