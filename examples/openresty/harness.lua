-- harness.lua -- the plan and the checker of examples/openresty/test.sh.
--
--   luajit harness.lua plan  WORK PORT CLIENTS REQUESTS
--   luajit harness.lua check WORK STORE CLIENTS REQUESTS PIDFILE
--
-- `plan` writes, under WORK, the value files and one curl config per client:
--   setup.curl      client 0, run alone before the load: the store is empty
--   client-N.curl   clients 1..CLIENTS, run at the same time, REQUESTS each
--   final.curl      client CLIENTS+1, run alone after the load
-- curl writes each answer's body to WORK/r/<client>-<i> and one line
-- "<status> <X-Worker-Pid> <bytes>" per request to WORK/<name>.out.
--
-- `check` rebuilds the same plan (it is deterministic) and checks every
-- answer, then the store on disk (nginx stopped) with the okofdb module,
-- and that the answers came from at least two of the worker pids listed in
-- PIDFILE. It prints every failure and "openresty: N passed, M failed".
--
-- Values are self-describing: a header line
--   key=<key>;writer=<client>;seq=<n>;len=<bytes>;
-- then 32-byte lines "<client>.<seq>@<offset>" padded with dots, cut at
-- <bytes>. A value that is cut, spliced or from another key or put does not
-- compare equal to the value its header names.


local SHARED = { "alpha", "beta", "gamma", "gamma.two", "Mixed Case/key", "k-\226\156\147" }
-- Value sizes around compress_min (2048) and the 65536-byte chunk size.
local SIZES = { 100, 300, 1000, 2000, 2047, 2048, 2049, 4096, 10000, 65535, 65536, 65537,
                70000, 140000 }
-- One put per client well above client_body_buffer_size (1 MiB; nginx keeps
-- up to 1.25 times that in memory): nginx spools it to a file, which the
-- handler reads back through ngx.req.get_body_file.
local BIG = 1400000

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function make_value(key, writer, seq, len)
  local head = string.format("key=%s;writer=%d;seq=%d;len=%d;\n", key, writer, seq, len)
  assert(#head <= len, "value size below its header")
  local parts, n, off = { head }, 1, #head
  while off < len do
    local line = string.format("%d.%d@%d", writer, seq, off)
    line = line .. string.rep(".", 31 - #line) .. "\n"
    if off + 32 > len then
      line = line:sub(1, len - off)
    end
    n = n + 1
    parts[n] = line
    off = off + #line
  end
  return table.concat(parts)
end

-- A small deterministic generator (so plan and check agree).
local function rng(seed)
  local x = seed * 7919 + 17
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return math.floor(x / 65536) % n + 1
  end
end

--[[ The plan: a list of clients, each a name and a list of requests
  { method, path, key, body = {writer, seq, len} | "", expect = ... }.
  expect is one of
    "put"          204
    "get-any"      200 with a value of key put by someone, or 404 while
                   this client has not seen the key exist
    "get-exact"    200 with exactly the body this client just put
    "get-last"     200 with a value that is some writer's last put of key
    "get-empty"    200 with an empty body
    "absent"       404 (GET or DELETE)
    "deleted"      204 (DELETE of a present key)
    "bad"          400
    "keys"         200, the decoded lines are exactly req.keys
]]
local function build_plan(clients, requests)
  local plan = { puts = {}, lastput = {} }  -- puts[w][s] = {key=, len=}

  local function put_req(list, writer, seq, key, len)
    plan.puts[writer] = plan.puts[writer] or {}
    plan.puts[writer][seq] = { key = key, len = len }
    plan.lastput[key] = plan.lastput[key] or {}
    plan.lastput[key][writer] = seq
    list[#list + 1] = { method = seq % 2 == 0 and "PUT" or "POST", key = key,
                        body = { writer, seq, len }, expect = "put" }
  end
  local function req(list, method, key, expect)
    list[#list + 1] = { method = method, key = key, expect = expect }
  end

  -- Client 0: the empty store, edge cases, an empty value.
  local setup = {}
  setup[#setup + 1] = { method = "GET", path = "/keys", expect = "keys", keys = {} }
  for _, k in ipairs(SHARED) do
    req(setup, "GET", k, "absent")
  end
  req(setup, "DELETE", SHARED[1], "absent")
  setup[#setup + 1] = { method = "PUT", key = "empty", body = "", expect = "put" }
  req(setup, "GET", "empty", "get-empty")
  req(setup, "DELETE", "empty", "deleted")
  req(setup, "GET", "empty", "absent")
  req(setup, "DELETE", "empty", "absent")
  req(setup, "GET", "", "bad")                       -- empty key
  req(setup, "PUT", string.rep("x", 300), "bad")     -- name longer than 255
  plan[1] = { name = "setup", id = 0, reqs = setup }

  -- Clients 1..clients: puts and gets of the shared keys, and now and then
  -- a put/get/del/get/del round on a key of their own.
  for w = 1, clients do
    local r, list, seq, big_done = rng(w), {}, 0, false
    local own = "own-" .. w
    while #list < requests do
      local roll = r(100)
      if roll <= 8 and #list + 5 <= requests then
        seq = seq + 1
        put_req(list, w, seq, own, SIZES[r(#SIZES)])
        list[#list].own = true
        req(list, "GET", own, "get-exact")
        list[#list].want = { w, seq }
        req(list, "DELETE", own, "deleted")
        req(list, "GET", own, "absent")
        req(list, "DELETE", own, "absent")
      elseif roll <= 45 then
        seq = seq + 1
        local len = SIZES[r(#SIZES)]
        if not big_done and #list >= requests / 2 then
          len, big_done = BIG, true
        end
        put_req(list, w, seq, SHARED[r(#SHARED)], len)
      else
        req(list, "GET", SHARED[r(#SHARED)], "get-any")
      end
    end
    plan[#plan + 1] = { name = "client-" .. w, id = w, reqs = list, load = true }
  end

  -- The last client: the listing, and the final value of every key.
  local final, written = {}, {}
  for _, k in ipairs(SHARED) do
    if plan.lastput[k] then
      written[#written + 1] = k
    end
  end
  final[#final + 1] = { method = "GET", path = "/keys", expect = "keys", keys = written }
  local g = {}
  for _, k in ipairs(written) do
    if k:sub(1, 1) == "g" then g[#g + 1] = k end
  end
  final[#final + 1] = { method = "GET", path = "/keys?prefix=g", expect = "keys", keys = g }
  for _, k in ipairs(SHARED) do
    req(final, "GET", k, plan.lastput[k] and "get-last" or "absent")
  end
  for w = 1, clients do
    req(final, "GET", "own-" .. w, "absent")
  end
  plan[#plan + 1] = { name = "final", id = clients + 1, reqs = final }
  plan.written = written
  return plan
end

local function value_file(work, w, s)
  return string.format("%s/v/%d-%d", work, w, s)
end

local function resp_file(work, c, i)
  return string.format("%s/r/%d-%d", work, c.id, i)
end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function writefile(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

local function cmd_plan(work, port, clients, requests)
  local plan = build_plan(clients, requests)
  for w, seqs in pairs(plan.puts) do
    for s, p in pairs(seqs) do
      writefile(value_file(work, w, s), make_value(p.key, w, s, p.len))
    end
  end
  writefile(work .. "/empty", "")
  local base = "http://127.0.0.1:" .. port
  for _, c in ipairs(plan) do
    local out = {}
    for i, q in ipairs(c.reqs) do
      local path = q.path or ("/kv/" .. escape(q.key))
      out[#out + 1] = string.format('url = "%s%s"', base, path)
      out[#out + 1] = string.format('request = "%s"', q.method)
      if q.body == "" then
        out[#out + 1] = string.format('data-binary = "@%s/empty"', work)
      elseif q.body then
        out[#out + 1] = string.format('data-binary = "@%s"', value_file(work, q.body[1], q.body[2]))
      end
      if q.body then
        out[#out + 1] = 'header = "Content-Type: application/octet-stream"'
      end
      out[#out + 1] = string.format('output = "%s"', resp_file(work, c, i))
      out[#out + 1] = 'write-out = "%{http_code} %header{x-worker-pid} %{size_download}\\n"'
      out[#out + 1] = "max-time = 30"
      if i < #c.reqs then
        out[#out + 1] = "next"
      end
    end
    writefile(string.format("%s/%s.curl", work, c.name), table.concat(out, "\n") .. "\n")
  end
  io.write(#plan - 2, " clients, ", (#plan - 2) * requests, " load requests\n")
end

local function cmd_check(work, store, clients, requests, pidfile)
  local plan = build_plan(clients, requests)
  local passed, failed = 0, 0
  local function fail(where, msg)
    failed = failed + 1
    if failed <= 30 then
      io.write("FAIL ", where, ": ", msg, "\n")
    elseif failed == 31 then
      io.write("(more failures not shown)\n")
    end
  end
  local function check(ok, where, msg)
    if ok then passed = passed + 1 else fail(where, msg) end
    return ok
  end

  local workers = {}
  for pid in (readfile(pidfile) or ""):gmatch("%d+") do
    workers[pid] = 0
  end

  -- Parse a value; give writer, seq, or nil and why not.
  local function parse(key, body)
    local k, w, s, len = body:match("^key=(.-);writer=(%d+);seq=(%d+);len=(%d+);\n")
    if not k then
      return nil, string.format("not a value of ours (%d bytes: %q)", #body, body:sub(1, 60))
    end
    w, s, len = tonumber(w), tonumber(s), tonumber(len)
    if k ~= key then
      return nil, string.format("value of key %q, not of %q", k, key)
    end
    local p = plan.puts[w] and plan.puts[w][s]
    if not p or p.key ~= key or p.len ~= len then
      return nil, string.format("writer %d seq %d never put this value", w, s)
    end
    if #body ~= len then
      return nil, string.format("incomplete value: %d of %d bytes (writer %d seq %d)", #body, len, w, s)
    end
    if body ~= make_value(key, w, s, len) then
      return nil, string.format("damaged value (writer %d seq %d, %d bytes)", w, s, len)
    end
    return w, s
  end

  local final_seen = {}
  for _, c in ipairs(plan) do
    local lines = {}
    for line in (readfile(string.format("%s/%s.out", work, c.name)) or ""):gmatch("[^\n]+") do
      lines[#lines + 1] = line
    end
    check(#lines == #c.reqs, c.name,
      string.format("curl reported %d answers for %d requests", #lines, #c.reqs))
    local exists, maxseen = {}, {}   -- what this client has seen so far
    for i, q in ipairs(c.reqs) do
      local where = string.format("%s request %d (%s %s)", c.name, i, q.method,
        q.path or ("/kv/" .. escape(q.key)))
      local status, pid, size = (lines[i] or ""):match("^(%d+) (%S*) ?(%d*)$")
      local body = readfile(resp_file(work, c, i)) or ""
      status = tonumber(status)
      if not status or status == 0 then
        fail(where, "no answer (curl: " .. tostring(lines[i]) .. ")")
      else
        if check(workers[pid] ~= nil, where, "X-Worker-Pid " .. tostring(pid) .. " is not a worker") then
          workers[pid] = workers[pid] + 1
        end
        local function want_status(st)
          return check(status == st, where, string.format("status %d, expected %d (body %q)",
            status, st, body:sub(1, 200)))
        end
        local e = q.expect
        if e == "put" then
          if want_status(204) and q.key then
            exists[q.key] = true
            if q.body ~= "" then
              maxseen[q.key] = maxseen[q.key] or {}
              maxseen[q.key][q.body[1]] = q.body[2]
            end
          end
        elseif e == "absent" then
          want_status(404)
        elseif e == "deleted" then
          want_status(204)
        elseif e == "bad" then
          want_status(400)
        elseif e == "get-empty" then
          if want_status(200) then check(body == "", where, "expected an empty value, got " .. #body .. " bytes") end
        elseif e == "keys" then
          if want_status(200) then
            local got, want = {}, {}
            for line in body:gmatch("[^\n]+") do got[#got + 1] = unescape(line) end
            for _, k in ipairs(q.keys) do want[#want + 1] = k end
            table.sort(got)
            table.sort(want)
            check(table.concat(got, "\0") == table.concat(want, "\0"), where,
              string.format("keys {%s}, expected {%s}", table.concat(got, ", "), table.concat(want, ", ")))
          end
        elseif status == 404 and e == "get-any" then
          check(not exists[q.key], where, "404 for a key this client has already seen")
        elseif want_status(200) then
          local w, s = parse(q.key, body)
          if check(w ~= nil, where, s) then
            exists[q.key] = true
            maxseen[q.key] = maxseen[q.key] or {}
            local seen = maxseen[q.key][w] or 0
            check(s >= seen, where, string.format(
              "stale read: writer %d seq %d after this client saw its seq %d", w, s, seen))
            maxseen[q.key][w] = math.max(seen, s)
            if e == "get-exact" then
              check(w == q.want[1] and s == q.want[2], where, string.format(
                "got writer %d seq %d, expected the value just put (writer %d seq %d)",
                w, s, q.want[1], q.want[2]))
            elseif e == "get-last" then
              check(plan.lastput[q.key][w] == s, where, string.format(
                "final value is writer %d seq %d, not that writer's last put (seq %s)",
                w, s, tostring(plan.lastput[q.key][w])))
              final_seen[q.key] = { w, s }
            end
          end
        end
      end
    end
  end

  -- Both workers served requests.
  local served, total = 0, 0
  for _, n in pairs(workers) do
    total = total + 1
    if n > 0 then served = served + 1 end
  end
  check(served >= 2, "workers", string.format("%d of %d worker processes answered", served, total))

  -- The store on disk, nginx stopped: the module reads what the final GETs
  -- answered, every file decodes, no temporary file is left.
  local okofdb = require("okofdb")
  local db, msg = okofdb.open(store, { create = false })
  if not check(db ~= nil, "store", "open: " .. tostring(msg)) then
    io.write(string.format("openresty: %d passed, %d failed\n", passed, failed))
    return failed == 0
  end
  for _, k in ipairs(SHARED) do
    local where = string.format("store key %q", k)
    local v, err, code = db:get(k)
    if final_seen[k] then
      local w, s = final_seen[k][1], final_seen[k][2]
      local len = plan.puts[w][s].len
      check(v == make_value(k, w, s, len), where, string.format(
        "differs from the last value served (writer %d seq %d): %s", w, s,
        v and (#v .. " bytes") or tostring(err) .. " " .. tostring(code)))
      -- Plain names are the key itself: look at the file's format.
      if k:match("^[a-z0-9_.-]+$") then
        local raw = readfile(store .. "/" .. k) or ""
        check(raw:byte(1) == 1, where, "file does not start with byte 0x01")
        if len >= 2048 then
          check(#raw < len, where, string.format("%d-byte value stored in %d bytes: not compressed", len, #raw))
        else
          check(#raw == 37 + len, where, string.format("%d-byte value stored in %d bytes, expected %d", len, #raw, 37 + len))
        end
      end
    else
      check(v == nil and err == nil, where, "expected no value")
    end
  end
  for w = 1, clients do
    check(db:get("own-" .. w) == nil, "store key own-" .. w, "deleted key has a value")
  end
  local n = 0
  for key, value, err in db:each() do
    n = n + 1
    check(value ~= nil, string.format("store key %q", key), "does not decode: " .. tostring(err))
  end
  check(n == #plan.written, "store", string.format("%d keys in the store, expected %d", n, #plan.written))
  check(db:sweep(0) == 0, "store", "temporary files left behind")
  db:close()

  io.write(string.format("openresty: %d passed, %d failed\n", passed, failed))
  return failed == 0
end

local cmd = arg[1]
if cmd == "plan" and #arg == 5 then
  cmd_plan(arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5]))
elseif cmd == "check" and #arg == 6 then
  os.exit(cmd_check(arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5]), arg[6]) and 0 or 1)
else
  io.stderr:write("usage: harness.lua plan WORK PORT CLIENTS REQUESTS\n",
                  "       harness.lua check WORK STORE CLIENTS REQUESTS PIDFILE\n")
  os.exit(2)
end
