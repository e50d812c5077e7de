-- concurrency.lua -- throughput of 1, 2 and 4 writer processes putting
-- 100-byte values, to keys of their own and to keys all of them share, with
-- sync "none" and "full", next to SQLite (WAL, busy_timeout, synchronous OFF
-- and FULL) driven by the same processes in the same run.
--
--   lua5.4 bench/concurrency.lua [-d SECONDS] [-p "1 2 4"] [-f FS] [-t TEXT] DIR
--
-- Every writer opens its store, waits for a common start time (the
-- monotonic clock is the same for every process), then puts until the end
-- time and prints how many puts succeeded. One RESULT line per case:
--   RESULT impl=okofdb-lua5.4|sqlite mode=conc-none|conc-full fs=FS size=100
--          op=put_own_pN|put_shared_pN n=<total puts> total_s=<SECONDS>
--          us_op=<wall time per put, all writers together> ops_s=<total/s>
-- Own keys: writer w writes "w<w>-k%05d" over 1000 keys; shared keys: all
-- write "k%07d" over the same 1000 keys. The subcommand `worker` is one writer.

local clock = require("clock")
local now = clock.now

local function die(fmt, ...)
  io.stderr:write("concurrency.lua: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

local NKEYS = 1000

local function make_keys(keyset, w)
  local keys = {}
  for i = 1, NKEYS do
    keys[i] = keyset == "own" and string.format("w%d-k%05d", w, i - 1) or string.format("k%07d", i - 1)
  end
  return keys
end

local function sqlite_connect(dir, sync)
  local DBI = require("DBI")
  local conn, err = DBI.Connect("SQLite3", dir .. "/kv.db")
  if not conn then die("sqlite open: %s", tostring(err)) end
  conn:autocommit(true)
  local function exec(sql)
    local st, e = conn:prepare(sql)
    if not st then die("prepare %s: %s", sql, tostring(e)) end
    local ok
    ok, e = st:execute()
    if not ok then die("%s: %s", sql, tostring(e)) end
    st:close()
  end
  exec("PRAGMA busy_timeout=10000")
  exec("PRAGMA journal_mode=WAL")
  exec("PRAGMA synchronous=" .. (sync == "full" and "FULL" or "OFF"))
  return conn, exec
end

-- worker IMPL SYNC KEYSET W START DURATION DIR VALUEFILE
local function worker(impl, sync, keyset, w, start, duration, dir, text)
  local val = text:rep(math.ceil(100 / #text)):sub(1, 100)
  local keys = make_keys(keyset, w)
  local put
  if impl == "okofdb" then
    local okofdb = require("okofdb")
    local db, msg = okofdb.open(dir, { sync = sync })
    if not db then die("open: %s", msg) end
    put = function(k) return db:put(k, val) end
  else
    local conn = sqlite_connect(dir, sync)
    local st, e = conn:prepare("INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)")
    if not st then die("prepare: %s", tostring(e)) end
    put = function(k) return st:execute(k, val) end
  end
  local stop = start + duration
  clock.sleep_until(start)
  local n, errs, i = 0, 0, 0
  local lasterr
  while now() < stop do
    i = i % NKEYS + 1
    local ok, msg = put(keys[i])
    if ok then n = n + 1 else errs = errs + 1; lasterr = msg end
  end
  print(string.format("%d %d", n, errs))
  if lasterr then io.stderr:write("concurrency.lua: worker ", w, ": ", tostring(lasterr), "\n") end
end

local function main(args)
  local opt = { d = "2", p = "1 2 4", f = "unknown" }
  local i = 1
  while i <= #args do
    local a = args[i]
    local flag = a:match("^%-(%a)$")
    if flag then
      opt[flag] = args[i + 1]
      i = i + 2
    else
      opt.dir = a
      i = i + 1
    end
  end
  if not opt.dir then die("usage: concurrency.lua [-d SECONDS] [-p \"1 2 4\"] [-f FS] [-t TEXT] DIR") end
  local duration = tonumber(opt.d)
  local self_cmd = string.format("%s %s", arg[-1], arg[0])
  local interp = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
  local pid = clock.getpid()
  local case = 0

  for _, impl in ipairs({ "okofdb", "sqlite" }) do
    for _, sync in ipairs({ "none", "full" }) do
      for _, keyset in ipairs({ "own", "shared" }) do
        for np in opt.p:gmatch("%d+") do
          np = tonumber(np)
          case = case + 1
          local d = string.format("%s/conc.%d.%d", opt.dir, pid, case)
          local ok, err = clock.mkdir(d)
          if not ok then die("mkdir %s", err) end
          if impl == "sqlite" then
            local conn, exec = sqlite_connect(d, sync)
            exec("CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB)")
            conn:close()
          end
          clock.syncfs(d)
          -- start every writer, then give them all the same start time
          local start = now() + 0.3 + 0.05 * np
          local procs = {}
          for w = 1, np do
            procs[w] = assert(io.popen(string.format("%s worker %s %s %s %d %.6f %s '%s' '%s'",
              self_cmd, impl, sync, keyset, w, start, duration, d, opt.t or ""), "r"))
          end
          local total, errs = 0, 0
          for w = 1, np do
            local out = procs[w]:read("*a")
            procs[w]:close()
            local n, e = out:match("(%d+) (%d+)")
            if not n then die("worker printed %q", out) end
            total, errs = total + tonumber(n), errs + tonumber(e)
          end
          if errs > 0 then io.stderr:write(string.format("concurrency.lua: %s %s %s p%d: %d failed puts\n",
            impl, sync, keyset, np, errs)) end
          os.execute("rm -rf '" .. d .. "'")
          local label = impl == "okofdb" and ("okofdb-" .. interp) or "sqlite"
          print(string.format(
            "RESULT impl=%s mode=conc-%s fs=%s size=100 op=put_%s_p%d n=%d total_s=%.6f us_op=%.3f ops_s=%.0f",
            label, sync, opt.f, keyset, np, total, duration,
            total > 0 and duration * 1e6 / total or 0, total / duration))
          io.stdout:flush()
        end
      end
    end
  end
end

if arg[1] == "worker" then
  local text = "the quick brown fox jumps over the lazy dog\n"
  if arg[9] and arg[9] ~= "" then
    local f = assert(io.open(arg[9], "rb"))
    text = f:read("*a")
    f:close()
  end
  worker(arg[2], arg[3], arg[4], tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7]), arg[8], text)
else
  main(arg)
end
