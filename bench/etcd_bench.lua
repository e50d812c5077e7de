-- etcd_bench.lua -- okofdb on an etcd cluster beside bench/etcd_floor.c,
-- the same requests with the least work around them.
--
--   lua5.4 bench/etcd_bench.lua run -F FLOOR [-t TEXTFILE] [-s SIZE:N[,...]]
--       [-r REPS] [-a LABEL=COMMAND]...
--       starts a 3-member cluster (spec/support/etcd_cluster.lua; its data
--       under /dev/shm when there is one, else $TMPDIR), writes for each
--       SIZE the value file okofdb stores for its value, then REPS times:
--       FLOOR (bench/etcd_floor.c), and each COMMAND (an interpreter with
--       its environment, e.g. "env LUA_CPATH=... lua5.4") running this
--       script as a client; compacts the cluster between runs, stops it at
--       the end. Prints "BENCH rep=R fs=etcd" before each repetition and
--       every RESULT line of the runs.
--   LUA bench/etcd_bench.lua client -u URL [-t TEXTFILE] [-s SIZE:N[,...]]
--       [-l LABEL]
--       okofdb's put, get, keys (per entry), del and add on the store at
--       URL, in the order and with the keys of etcd_floor.c; then put_ttl
--       (a put with a ttl of an hour, which has no floor).
--
-- The value of SIZE bytes is the first SIZE bytes of TEXTFILE, repeated if
-- shorter (as in bench/okofdb_bench.lua). Keys are k%07d, i = 0 .. N-1.
-- Output lines: RESULT impl=LABEL mode=etcd fs=etcd size=S op=OP n=N
-- total_s=... us_op=... ops_s=... (bench/report.lua's etcd section).
-- Needs okofdb, and for the client the module `clock` (bench/clock.c).

local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../spec/?.lua;" .. here .. "/../lua/?.lua;" .. package.path

local IS_JIT = type(jit) == "table"
local INTERP = IS_JIT and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function die(fmt, ...)
  io.stderr:write("etcd_bench: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

-- ---- command line ---------------------------------------------------------

local mode = arg[1]
local opt = { s = "100:2000,65536:300", r = "1", a = {} }
do
  local i = 2
  while i <= #arg do
    local flag = arg[i]:match("^%-(%a)$")
    if not flag or arg[i + 1] == nil then die("bad argument %s", arg[i]) end
    if flag == "a" then
      local label, cmd = arg[i + 1]:match("^([^=]+)=(.+)$")
      if not label then die("-a wants LABEL=COMMAND") end
      opt.a[#opt.a + 1] = { label = label, cmd = cmd }
    else
      opt[flag] = arg[i + 1]
    end
    i = i + 2
  end
end

local function load_text(file)
  if not file then return ("the quick brown fox jumps over the lazy dog\n"):rep(64) end
  local f, err = io.open(file, "rb")
  if not f then die("%s", err) end
  local t = f:read("*a")
  f:close()
  if #t == 0 then die("empty text file %s", file) end
  return t
end

local TEXT = load_text(opt.t)

local function make_value(size)
  return (TEXT:rep(math.ceil(size / #TEXT))):sub(1, size)
end

local function items()
  local t = {}
  for item in opt.s:gmatch("[^,]+") do
    local size, n = item:match("^(%d+):(%d+)$")
    size, n = tonumber(size), tonumber(n)
    if not size or not n or n <= 0 then die("bad spec item '%s'", item) end
    t[#t + 1] = { size = size, n = n }
  end
  return t
end

-- ---- client ---------------------------------------------------------------

local function client()
  local okofdb = require("okofdb")
  local now = require("clock").now
  local label = opt.l or ("okofdb-" .. INTERP)
  if not opt.u then die("client needs -u URL") end
  local db, msg, code = okofdb.open(opt.u)
  if not db then die("open %s: %s (%s)", opt.u, tostring(msg), tostring(code)) end

  local function report(size, op, n, secs)
    io.stdout:write(string.format(
      "RESULT impl=%s mode=etcd fs=etcd size=%d op=%s n=%d total_s=%.6f us_op=%.3f ops_s=%.0f\n",
      label, size, op, n, secs, secs * 1e6 / n, n / secs))
    io.stdout:flush()
  end

  for _, it in ipairs(items()) do
    local size, n = it.size, it.n
    local val = make_value(size)
    local keys = {}
    for i = 1, n do keys[i] = string.format("k%07d", i - 1) end
    collectgarbage()

    local t = now()
    for i = 1, n do
      local ok, m = db:put(keys[i], val)
      if not ok then die("put %s: %s", keys[i], tostring(m)) end
    end
    report(size, "put", n, now() - t)

    t = now()
    for i = 1, n do
      local v, m = db:get(keys[i])
      if not v or #v ~= size then die("get %s: %s", keys[i], tostring(v and #v or m)) end
    end
    report(size, "get", n, now() - t)

    local entries, el = 0, 0
    t = now()
    repeat
      local c = 0
      for _ in db:keys() do c = c + 1 end
      if c ~= n then die("keys saw %d of %d", c, n) end
      entries = entries + c
      el = now() - t
    until not ((entries < 2000 or el < 0.2) and el < 1.0)
    report(size, "keys", entries, el)

    t = now()
    for i = 1, n do
      local ok, m = db:del(keys[i])
      if ok ~= true then die("del %s: %s", keys[i], tostring(m)) end
    end
    report(size, "del", n, now() - t)

    t = now()
    for i = 1, n do
      local ok, m = db:add(keys[i], val)
      if ok ~= true then die("add %s: %s", keys[i], tostring(m)) end
    end
    report(size, "add", n, now() - t)

    -- a put with a ttl over each (its lease is shared: okofdb has no
    -- floor for it, report.lua sets it against okofdb's own put)
    t = now()
    for i = 1, n do
      local ok, m = db:put(keys[i], val, 3600)
      if not ok then die("put_ttl %s: %s", keys[i], tostring(m)) end
    end
    report(size, "put_ttl", n, now() - t)

    for i = 1, n do db:del(keys[i]) end
  end
  db:close()
end

-- ---- driver -----------------------------------------------------------------

local function run()
  local H = require("helpers")
  local EC = require("support.etcd_cluster")
  local okofdb = require("okofdb")
  if not opt.F then die("run needs -F FLOOR") end
  local why = EC.why_not()
  if why then die("%s", why) end
  local base = H.is_dir("/dev/shm") and "/dev/shm" or nil
  local cluster = EC.start({ tmp = base, quota = 4 * 1024 * 1024 * 1024 })
  local ok, err = pcall(function()
    -- the value files: what okofdb writes in a directory for each value
    local vdir = cluster.dir .. "/values"
    local vdb = assert(okofdb.open(vdir))
    local floor_items = {}
    for _, it in ipairs(items()) do
      local name = "v" .. it.size
      assert(vdb:put(name, make_value(it.size)))
      floor_items[#floor_items + 1] = it.size .. ":" .. it.n .. ":" .. vdir .. "/" .. name
    end
    vdb:close()
    -- the cluster holds exactly those bytes for the same value (create =
    -- false: an okofdb without etcd would make a directory "etcd:")
    local opened, check, why = pcall(okofdb.open, cluster:url("bench/check"), { create = false })
    if not opened then check, why = nil, check end
    if check and check:put("v", make_value(items()[1].size)) then
      local raw = cluster:get_raw("/bench/check/v")
      local file = H.read_file(vdir .. "/v" .. items()[1].size)
      if raw ~= file then error("the etcd value differs from the value file", 0) end
      check:del("v")
    else
      io.stdout:write("NOTE etcd: okofdb cannot open etcd:// URLs here (",
        (tostring(why):match("^[^\n]*")), "); only the floor runs\n")
      opt.a = {}
    end
    if check then check:close() end

    local function pass(cmd)
      local p = assert(io.popen(cmd .. "; echo \"status=$?\"", "r"))
      local status
      for line in p:lines() do
        local s = line:match("^status=(%d+)$")
        if s then status = s else io.stdout:write(line, "\n") end
      end
      io.stdout:flush()
      p:close()
      if status ~= "0" then error(string.format("failed (%s): %s", tostring(status), cmd), 0) end
      cluster:compact()
    end

    local reps = tonumber(opt.r) or 1
    for rep = 1, reps do
      io.stdout:write("BENCH rep=", rep, " fs=etcd\n")
      pass(H.q(opt.F) .. " -e " .. cluster:endpoint(1) .. " -p /bench/r" .. rep .. "/floor -s " ..
           H.q(table.concat(floor_items, ",")))
      for _, a in ipairs(opt.a) do
        local words = {}
        for w in a.cmd:gmatch("%S+") do words[#words + 1] = H.q(w) end
        pass(table.concat(words, " ") .. " " .. H.q(arg[0]) .. " client -u " ..
             H.q(cluster:url("bench/r" .. rep .. "/" .. a.label)) .. " -s " .. H.q(opt.s) ..
             (opt.t and (" -t " .. H.q(opt.t)) or "") .. " -l " .. H.q(a.label))
      end
    end
  end)
  cluster:stop()
  if not ok then die("%s", tostring(err)) end
end

if mode == "client" then
  client()
elseif mode == "run" then
  run()
else
  die("usage: etcd_bench.lua run|client ...")
end
