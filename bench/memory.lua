-- memory.lua -- okofdb's memory use and how its costs scale with the store.
--
--   lua5.4 bench/memory.lua [-q] [-p PARTS] [-f FS] [-t TEXTFILE] DIR
--
-- Prints METRIC and RESULT lines (floor format) for bench/report.lua:
--   1. peak RSS of one get of a big value (64 MiB; 16 MiB with -q), each
--      in a fresh process: VmHWM read from /proc/self/status just before
--      and just after the get; peak - baseline next to the bound
--      2N + compressed size + 64 KiB, for a compressible value (the text
--      repeated) and an incompressible one (/dev/urandom). For context, the
--      same for pure Lua's io.open(f, "rb"):read("*a") of the raw value.
--   2. VmRSS after 100k, 500k and 1,000,000 mixed operations (put, get, del,
--      keys, each over 1000 keys; -q: 20k, 50k, 100k), in a fresh process:
--      it should stay flat.
--   3. okofdb.open on a directory of 10 keys and one of 200,000 keys
--      (-q: 20,000): median of many single opens.
--   4. get and put (sync "none", 100 B) of random keys at 1,000 keys and at
--      200,000 keys, next to floor's get_min done from Lua on the same keys
--      (the file system's own growth).
-- PARTS, comma-separated, picks some of them: peak (1), mixed (2), scale
-- (3 and 4); all by default.
-- DIR should be on tmpfs (run.sh passes the first of BENCH_DIRS).
-- The subcommands `getpeak` and `mixed` are the fresh processes.

local clock = require("clock")
local okofdb = require("okofdb")
local now = clock.now

local IS_JIT = type(jit) == "table"
local INTERP = IS_JIT and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local LABEL = "okofdb-" .. INTERP

local function die(fmt, ...)
  io.stderr:write("memory.lua: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

local function status_kb(field)
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("*a")
  f:close()
  local v = s:match(field .. ":%s*(%d+) kB")
  return tonumber(v)
end

local function check(ok, msg, ...)
  if not ok then die("%s", tostring(msg)) end
  return ok, msg, ...
end

-- ---- subcommands run in fresh processes -------------------------------------

-- getpeak DIR KEY MODE: MODE "okofdb" gets KEY through okofdb, "raw" reads
-- the file DIR/KEY with io.open + read("*a").
local function getpeak(dir, key, mode)
  local db = check(okofdb.open(dir, { create = false }))
  collectgarbage()
  collectgarbage()
  local base = status_kb("VmHWM")
  local rss0 = status_kb("VmRSS")
  local v
  local t = now()
  if mode == "okofdb" then
    v = check(db:get(key))
  else
    local f = check(io.open(dir .. "/" .. key, "rb"))
    v = f:read("*a")
    f:close()
  end
  local el = now() - t
  local peak = status_kb("VmHWM")
  print(string.format("%d %d %d %d %.6f", base, peak, rss0, #v, el))
end

-- mixed DIR CHECKPOINTS: put/get/del/keys/each over 1000 keys; prints
-- "ops rss_kb lua_kb" at 0 and at each checkpoint.
local function mixed(dir, checkpoints, text)
  local db = check(okofdb.open(dir, { sync = "none" }))
  local small = text:sub(1, 100)
  local big = text:rep(math.ceil(65536 / #text)):sub(1, 65536)
  local keys = {}
  for i = 1, 1000 do keys[i] = string.format("k%07d", i - 1) end
  for i = 1, 1000 do check(db:put(keys[i], small)) end
  local marks = {}
  for c in checkpoints:gmatch("%d+") do marks[#marks + 1] = tonumber(c) end
  local function show(ops)
    print(string.format("%d %d %.0f", ops, status_kb("VmRSS"), collectgarbage("count")))
    io.stdout:flush()
  end
  show(0)
  local x, m = 12345, 1
  local last = marks[#marks]
  local t = now()
  for op = 1, last do
    x = (x * 1103515245 + 12345) % 2147483648
    local k = keys[x % 1000 + 1]
    local r = op % 20
    if r < 8 then
      check(db:put(k, op % 50 == 0 and big or small))
    elseif r < 16 then
      local v, msg = db:get(k)
      if v == nil and msg then die("get: %s", msg) end
    elseif r < 19 then
      local ok, msg = db:del(k)
      if ok == nil then die("del: %s", msg) end
    else
      -- a walk broken off at once: the iterator must be released
      for _ in db:keys() do break end
    end
    if op % 10000 == 0 then
      local c = 0
      for _ in db:keys() do c = c + 1 end
      for _, v in db:each() do if v then c = c + 1 end end
    end
    if op == marks[m] then
      show(op)
      m = m + 1
    end
  end
  io.stderr:write(string.format("memory.lua: %d mixed ops in %.1f s\n", last, now() - t))
  db:close()
end

-- ---- the driver -------------------------------------------------------------

local function main(args)
  local opt = { f = "unknown" }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-q" then
      opt.q = true
      i = i + 1
    elseif a == "-p" then
      opt.p = {}
      for part in (args[i + 1] or ""):gmatch("[^,]+") do opt.p[part] = true end
      i = i + 2
    elseif a == "-f" or a == "-t" then
      opt[a:sub(2)] = args[i + 1]
      i = i + 2
    else
      opt.dir = a
      i = i + 1
    end
  end
  if not opt.dir then die("usage: memory.lua [-q] [-p PARTS] [-f FS] [-t TEXTFILE] DIR") end
  local function want(part) return opt.p == nil or opt.p[part] end

  local text = "the quick brown fox jumps over the lazy dog\n"
  if opt.t then
    local f = check(io.open(opt.t, "rb"))
    text = f:read("*a")
    f:close()
  end

  -- the command that starts a fresh process of this script
  local self_cmd = string.format("%s %s", arg[-1], arg[0])
  local function sh(cmd)
    local p = check(io.popen(cmd, "r"))
    local out = p:read("*a")
    local ok = p:close()
    if not ok then die("failed: %s", cmd) end
    return out
  end
  local function rmrf(d) os.execute("rm -rf '" .. d .. "'") end
  local pid = clock.getpid()

  local function metric(fields)
    local parts = { "METRIC impl=" .. LABEL, "fs=" .. opt.f }
    for _, kv in ipairs(fields) do parts[#parts + 1] = kv[1] .. "=" .. tostring(kv[2]) end
    print(table.concat(parts, " "))
    io.stdout:flush()
  end
  local function result(op, size, n, secs)
    print(string.format(
      "RESULT impl=%s mode=scale fs=%s size=%d op=%s n=%d total_s=%.6f us_op=%.3f ops_s=%.0f",
      LABEL, opt.f, size, op, n, secs, secs * 1e6 / n, n / secs))
    io.stdout:flush()
  end

  -- 1. peak RSS of a get of a big value
  if want("peak") then
    local N = opt.q and 16 * 1048576 or 64 * 1048576
    local d = string.format("%s/mem.%d.peak", opt.dir, pid)
    local db = check(okofdb.open(d, { sync = "none" }))
    local comp = text:rep(math.ceil(N / #text)):sub(1, N)
    local f = check(io.open("/dev/urandom", "rb"))
    local rand = f:read(N)
    f:close()
    if #rand ~= N then die("short read of /dev/urandom") end
    check(db:put("text", comp))
    check(db:put("random", rand))
    for _, kv in ipairs({ { "textraw", comp }, { "randomraw", rand } }) do
      f = check(io.open(d .. "/" .. kv[1], "wb"))
      f:write(kv[2])
      f:close()
    end
    db:close()
    comp, rand = nil, nil
    collectgarbage()
    for _, case in ipairs({ { "text", "okofdb", "compressible" }, { "random", "okofdb", "incompressible" },
                            { "textraw", "raw", "compressible" }, { "randomraw", "raw", "incompressible" } }) do
      local key, mode, kind = case[1], case[2], case[3]
      local fh = check(io.open(d .. "/" .. key, "rb"))
      local fsize = fh:seek("end")
      fh:close()
      local out = sh(string.format("%s getpeak '%s' %s %s", self_cmd, d, key, mode))
      local base, peak, rss0, len, el = out:match("(%d+) (%d+) (%d+) (%d+) ([%d.]+)")
      if not base then die("getpeak printed %q", out) end
      base, peak, len = tonumber(base), tonumber(peak), tonumber(len)
      if len ~= N then die("getpeak %s returned %d bytes", key, len) end
      local bound_kb = (mode == "okofdb") and math.floor((2 * N + fsize + 65536) / 1024) or math.floor(N / 1024)
      metric({ { "kind", "getpeak" }, { "reader", mode == "okofdb" and "okofdb" or "io.read" },
               { "value", kind }, { "size", N }, { "file", fsize },
               { "base_kb", base }, { "peak_kb", peak }, { "extra_kb", peak - base },
               { "bound_kb", bound_kb }, { "get_s", el } })
    end
    rmrf(d)
  end

  -- 2. RSS over many mixed operations
  if want("mixed") then
    local marks = opt.q and "10000,20000,50000,100000" or "10000,100000,500000,1000000"
    local d = string.format("%s/mem.%d.mixed", opt.dir, pid)
    local out = sh(string.format("%s mixed '%s' %s '%s'", self_cmd, d, marks, opt.t or ""))
    for ops, rss, luakb in out:gmatch("(%d+) (%d+) (%d+)") do
      metric({ { "kind", "mixed" }, { "ops", ops }, { "rss_kb", rss }, { "lua_kb", luakb } })
    end
    rmrf(d)
  end

  -- 3 and 4. open time and get/put at a small and a big store
  if want("scale") then
    local BIG = opt.q and 20000 or 200000
    local val = text:sub(1, 100)
    local function fill(d, n)
      local db = check(okofdb.open(d, { sync = "none" }))
      for k = 0, n - 1 do check(db:put(string.format("k%07d", k), val)) end
      db:close()
    end
    local function median(t)
      table.sort(t)
      local n = #t
      return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
    end
    local function bench_open(d, nkeys)
      local times = {}
      for r = 1, 2001 do
        local t = now()
        local db = okofdb.open(d)
        local el = now() - t
        db:close()
        times[r] = el
      end
      local med = median(times)
      -- as RESULT: n = opens, total_s = n * median, so us_op is the median
      result("open_" .. nkeys .. "keys", 0, #times, med * #times)
    end
    -- get and put of random keys of a store of nkeys, and floor's get_min
    -- from Lua (clock.readat: the file system's own cost of the same
    -- gets), in interleaved rounds after a warm-up round; medians.
    local function bench_getput(d, nkeys)
      local db = check(okofdb.open(d, { sync = "none" }))
      local dfd = check(clock.opendir(d))
      local readat = clock.readat
      local M = opt.q and 5000 or 20000
      local ROUNDS = opt.q and 3 or 7
      local ks = {}
      local x = 987654
      for r = 1, M do
        x = (x * 1103515245 + 12345) % 2147483648
        ks[r] = string.format("k%07d", x % nkeys)
      end
      local loops = {
        get = function()
          for r = 1, M do if not db:get(ks[r]) then die("get %s", ks[r]) end end
        end,
        rawget = function()
          for r = 1, M do if not readat(dfd, ks[r]) then die("readat %s", ks[r]) end end
        end,
        put = function()
          for r = 1, M do check(db:put(ks[r], val)) end
        end,
      }
      local order = { "get", "rawget", "put" }
      local times = { get = {}, rawget = {}, put = {} }
      for round = 0, ROUNDS do
        for _, op in ipairs(order) do
          collectgarbage() -- the fill's and the last loop's garbage is not this loop's
          local t = now()
          loops[op]()
          local el = now() - t
          if round > 0 then table.insert(times[op], el) end
        end
      end
      for _, op in ipairs(order) do result(op .. "_" .. nkeys .. "keys", 100, M, median(times[op])) end
      clock.closefd(dfd)
      db:close()
    end
    for _, n in ipairs({ 10, 1000, BIG }) do
      local d = string.format("%s/mem.%d.scale%d", opt.dir, pid, n)
      local t = now()
      fill(d, n)
      io.stderr:write(string.format("memory.lua: filled %d keys in %.1f s\n", n, now() - t))
      if n ~= 1000 then bench_open(d, n) end
      if n ~= 10 then bench_getput(d, n) end
      rmrf(d)
    end
  end
end

local cmd = arg[1]
if cmd == "getpeak" then
  getpeak(arg[2], arg[3], arg[4])
elseif cmd == "mixed" then
  local text = "the quick brown fox jumps over the lazy dog\n"
  if arg[4] and arg[4] ~= "" then
    local f = check(io.open(arg[4], "rb"))
    text = f:read("*a")
    f:close()
  end
  mixed(arg[2], arg[3], text)
else
  main(arg)
end
