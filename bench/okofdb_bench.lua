-- okofdb_bench.lua -- okofdb and its peers, driven from Lua, performing the
-- same sequences as bench/floor.c with the same keys and values,
-- and printing floor-format RESULT lines.
--
--   lua5.4|luajit bench/okofdb_bench.lua -i IMPL [-t TEXTFILE]
--       [-s SIZE:N:ND[,SIZE:N:ND...]] [-f FS] [-l LABEL] [-c COMPRESS_MIN] DIR
--
-- IMPL is one of
--   okofdb          okofdb.open(dir, {sync = "none"}) for the fast sequence,
--                   {sync = "full"} for the durable one
--   luaatomic       pure Lua: io.open(tmp, "wb") write close, os.rename over
--                   the key; get = io.open "rb" + read "*a"; del = os.remove;
--                   keys and each through lfs.dir when lfs is installed
--   luanaive        pure Lua: io.open(key, "wb") write close (floor's trunc_*)
--   sqlite-fast     SQLite through LuaDBI, WAL, synchronous=OFF
--   sqlite-durable  SQLite through LuaDBI, WAL, synchronous=FULL
-- COMPRESS_MIN is okofdb's compress_min option: a number, or "off" (false);
-- the default is okofdb's own. LABEL (the impl= of the output) defaults to
-- okofdb-lua5.4 / okofdb-luajit for okofdb (okofdb-nocomp-... with -c off), to the IMPL name under Lua 5.4 and IMPL-luajit under LuaJIT for
-- the others. FS is copied to fs= (run.sh passes floor's name for DIR's file
-- system). The value of SIZE bytes is the first SIZE bytes of TEXTFILE,
-- repeated if shorter. Keys are string.format("k%07d", i), i = 0 .. N-1,
-- built before the timed loops (as floor's snprintf is, nearly, free).
--
-- Sequences, each in a fresh subdirectory of DIR (as floor's):
--   fast     put_fast_new put_fast_over get keys each del_fast    (N keys)
--   trunc    trunc_new trunc_over                                   (N keys)
--   durable  put_durable_new put_durable_over del_durable          (ND keys)
-- keys and each are per entry: the whole store is walked again and again
-- until >= 200000 entries and >= 0.05 s, or >= 0.5 s (floor's readdir rule).
-- Each sequence starts with syncfs(DIR), as floor's do.
--
-- Needs the helper module `clock` (bench/clock.c) on LUA_CPATH, okofdb on
-- LUA_PATH/LUA_CPATH for IMPL okofdb, lfs for luaatomic's keys/each and
-- LuaDBI (`require "DBI"`, lua-dbi-sqlite3) for the sqlite impls.

local clock = require("clock")
local now = clock.now

local IS_JIT = type(jit) == "table"
local INTERP = IS_JIT and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function die(fmt, ...)
  io.stderr:write("okofdb_bench: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

-- ---- command line ---------------------------------------------------------

local opt = { s = "100:10000:1000,65536:2000:300", f = "unknown" }
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    local flag = a:match("^%-(%a)$")
    if flag and ("itsflc"):find(flag, 1, true) then
      if arg[i + 1] == nil then die("option -%s needs a value", flag) end
      opt[flag] = arg[i + 1]
      i = i + 2
    elseif a:sub(1, 1) == "-" then
      die("unknown option %s", a)
    else
      if opt.dir then die("more than one DIR") end
      opt.dir = a
      i = i + 1
    end
  end
end
if not opt.i or not opt.dir then
  die("usage: okofdb_bench.lua -i IMPL [-t TEXTFILE] [-s SIZE:N:ND,...] [-f FS] [-l LABEL] DIR")
end

local IMPL = opt.i
local LABEL = opt.l
if not LABEL then
  if IMPL == "okofdb" then
    LABEL = (opt.c == "off" and "okofdb-nocomp-" or "okofdb-") .. INTERP
  elseif IS_JIT then
    LABEL = IMPL .. "-luajit"
  else
    LABEL = IMPL
  end
end

-- ---- values, keys, output -------------------------------------------------

local function load_text(file)
  if not file then
    -- floor's fallback is its own pseudo-text; any fixed text will do here,
    -- but comparisons need -t with the same file for every tool.
    return ("the quick brown fox jumps over the lazy dog\n"):rep(64)
  end
  local f, err = io.open(file, "rb")
  if not f then die("%s", err) end
  local t = f:read("*a")
  f:close()
  if #t == 0 then die("empty text file %s", file) end
  return t
end

local TEXT = load_text(opt.t)

local function make_value(size)
  local reps = math.ceil(size / #TEXT)
  return (TEXT:rep(reps)):sub(1, size)
end

local function make_keys(n)
  local t = {}
  for i = 1, n do t[i] = string.format("k%07d", i - 1) end
  return t
end

local function report(mode, size, op, n, secs)
  if n <= 0 then return end
  io.stdout:write(string.format(
    "RESULT impl=%s mode=%s fs=%s size=%d op=%s n=%d total_s=%.6f us_op=%.3f ops_s=%.0f\n",
    LABEL, mode, opt.f, size, op, n, secs, secs * 1e6 / n, n / secs))
  io.stdout:flush()
end

local seq_no = 0
local function fresh_dir(size, tag)
  seq_no = seq_no + 1
  local sub = string.format("%s/%s.%d.%d.%s.%d", opt.dir, LABEL, clock.getpid(), size, tag, seq_no)
  local ok, err = clock.mkdir(sub)
  if not ok then die("mkdir %s", err) end
  return sub
end

local function remove_dir(sub, files)
  for _, f in ipairs(files or {}) do os.remove(sub .. "/" .. f) end
  local ok, err = os.remove(sub)
  if not ok then die("rmdir %s: %s", sub, tostring(err)) end
end

local function syncfs()
  local ok, err = clock.syncfs(opt.dir)
  if not ok then die("syncfs %s", err) end
end

-- Walk the whole store with `walk` (returns entries seen) until floor's
-- readdir rule says stop; report per entry.
local function per_entry(mode, size, op, n, walk)
  local entries, el = 0, 0
  local t = now()
  repeat
    local c = walk()
    if c ~= n then die("%s %s saw %d of %d entries", LABEL, op, c, n) end
    entries = entries + c
    el = now() - t
  until not ((entries < 200000 or el < 0.05) and el < 0.5)
  report(mode, size, op, entries, el)
end

-- ---- the implementations --------------------------------------------------
-- Each writes its own tight loops, so that no adapter call is timed.

local impls = {}

impls.okofdb = function()
  local okofdb = require("okofdb")
  local function open(dir, sync)
    local o = { sync = sync }
    if opt.c == "off" then
      o.compress_min = false
    elseif opt.c then
      o.compress_min = tonumber(opt.c) or die("bad -c %s", opt.c)
    end
    local db, msg = okofdb.open(dir, o)
    if not db then die("open: %s", msg) end
    return db
  end
  local function put(db, keys, val, ttl)
    for i = 1, #keys do
      local ok, msg = db:put(keys[i], val, ttl)
      if not ok then die("put: %s", msg) end
    end
  end
  local function del(db, keys)
    for i = 1, #keys do
      local ok, msg = db:del(keys[i])
      if not ok then die("del %s: %s", keys[i], tostring(msg)) end
    end
  end
  return {
    fast = function(size, n, val, keys)
      local sub = fresh_dir(size, "fast")
      local db = open(sub, "none")
      local mode = "sync-none"
      syncfs()
      local t = now()
      put(db, keys, val)
      report(mode, size, "put_fast_new", n, now() - t)

      t = now()
      put(db, keys, val)
      report(mode, size, "put_fast_over", n, now() - t)

      local total = 0
      t = now()
      for i = 1, n do
        local v, msg = db:get(keys[i])
        if not v then die("get %s: %s", keys[i], tostring(msg)) end
        total = total + #v
      end
      report(mode, size, "get", n, now() - t)
      if total ~= n * size then die("get size mismatch") end

      per_entry(mode, size, "keys", n, function()
        local c = 0
        for _ in db:keys() do c = c + 1 end
        return c
      end)
      per_entry(mode, size, "each", n, function()
        local c = 0
        for k, v, err in db:each() do
          if not v then die("each %s: %s", k, tostring(err)) end
          c = c + 1
        end
        return c
      end)

      -- the same values with a ttl (an hour): written over, then read
      t = now()
      put(db, keys, val, 3600)
      report(mode, size, "put_ttl_over", n, now() - t)
      total = 0
      t = now()
      for i = 1, n do
        local v, msg = db:get(keys[i])
        if not v then die("get %s: %s", keys[i], tostring(msg)) end
        total = total + #v
      end
      report(mode, size, "get_ttl", n, now() - t)
      if total ~= n * size then die("get_ttl size mismatch") end

      t = now()
      del(db, keys)
      report(mode, size, "del_fast", n, now() - t)
      db:close()
      remove_dir(sub)
    end,

    durable = function(size, nd, val, keys)
      local sub = fresh_dir(size, "durable")
      local db = open(sub, "full")
      local mode = "sync-full"
      syncfs()
      local t = now()
      put(db, keys, val)
      report(mode, size, "put_durable_new", nd, now() - t)
      t = now()
      put(db, keys, val)
      report(mode, size, "put_durable_over", nd, now() - t)
      t = now()
      del(db, keys)
      report(mode, size, "del_durable", nd, now() - t)
      db:close()
      remove_dir(sub)
    end,
  }
end

-- The atomic store a careful pure-Lua programmer would write.
impls.luaatomic = function()
  local have_lfs, lfs = pcall(require, "lfs")
  local open, rename, remove = io.open, os.rename, os.remove
  return {
    fast = function(size, n, val, keys)
      local sub = fresh_dir(size, "fast")
      local mode = "lua"
      local paths, tmps = {}, {}
      for i = 1, n do
        paths[i] = sub .. "/" .. keys[i]
        tmps[i] = sub .. "/.tmp." .. keys[i]
      end
      local function put()
        for i = 1, n do
          local f, err = open(tmps[i], "wb")
          if not f then die("%s", err) end
          f:write(val)
          local ok
          ok, err = f:close()
          if not ok then die("close: %s", err) end
          ok, err = rename(tmps[i], paths[i])
          if not ok then die("rename: %s", err) end
        end
      end
      syncfs()
      local t = now()
      put()
      report(mode, size, "put_fast_new", n, now() - t)
      t = now()
      put()
      report(mode, size, "put_fast_over", n, now() - t)

      local total = 0
      t = now()
      for i = 1, n do
        local f, err = open(paths[i], "rb")
        if not f then die("%s", err) end
        local v = f:read("*a")
        f:close()
        total = total + #v
      end
      report(mode, size, "get", n, now() - t)
      if total ~= n * size then die("get size mismatch") end

      if have_lfs then
        local dir = lfs.dir
        per_entry(mode, size, "keys", n, function()
          local c = 0
          for name in dir(sub) do
            if name:byte(1) ~= 46 then c = c + 1 end -- skip ".", "..", temp files
          end
          return c
        end)
        per_entry(mode, size, "each", n, function()
          local c = 0
          for name in dir(sub) do
            if name:byte(1) ~= 46 then
              local f = open(sub .. "/" .. name, "rb")
              if f then
                local v = f:read("*a")
                f:close()
                if v then c = c + 1 end
              end
            end
          end
          return c
        end)
      end

      t = now()
      for i = 1, n do
        local ok, err = remove(paths[i])
        if not ok then die("remove: %s", err) end
      end
      report(mode, size, "del_fast", n, now() - t)
      remove_dir(sub)
    end,
  }
end

-- The naive store: overwrite the key's file in place (not atomic).
impls.luanaive = function()
  local open = io.open
  return {
    trunc = function(size, n, val, keys)
      local sub = fresh_dir(size, "trunc")
      local mode = "lua"
      local paths = {}
      for i = 1, n do paths[i] = sub .. "/" .. keys[i] end
      local function put()
        for i = 1, n do
          local f, err = open(paths[i], "wb")
          if not f then die("%s", err) end
          f:write(val)
          local ok
          ok, err = f:close()
          if not ok then die("close: %s", err) end
        end
      end
      syncfs()
      local t = now()
      put()
      report(mode, size, "trunc_new", n, now() - t)
      t = now()
      put()
      report(mode, size, "trunc_over", n, now() - t)
      remove_dir(sub, keys)
    end,
  }
end

-- SQLite through LuaDBI: one table, prepared statements, autocommit (one
-- transaction per operation, as each okofdb call is its own unit).
local function sqlite_impl(synchronous, tag)
  local DBI = require("DBI")
  local DB_FILES = { "kv.db", "kv.db-wal", "kv.db-shm" }

  local function exec(conn, sql)
    local st, err = conn:prepare(sql)
    if not st then die("prepare %s: %s", sql, tostring(err)) end
    local ok
    ok, err = st:execute()
    if not ok then die("%s: %s", sql, tostring(err)) end
    local row = st:fetch(false)
    st:close()
    return row and row[1]
  end

  local function connect(sub)
    local conn, err = DBI.Connect("SQLite3", sub .. "/kv.db")
    if not conn then die("sqlite open: %s", tostring(err)) end
    conn:autocommit(true)
    local jm = exec(conn, "PRAGMA journal_mode=WAL")
    if tostring(jm):lower() ~= "wal" then die("journal_mode is %s", tostring(jm)) end
    exec(conn, "PRAGMA synchronous=" .. synchronous)
    exec(conn, "CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB)")
    local function prep(sql)
      local st, e = conn:prepare(sql)
      if not st then die("prepare %s: %s", sql, tostring(e)) end
      return st
    end
    return conn, {
      put = prep("INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)"),
      get = prep("SELECT v FROM kv WHERE k = ?"),
      del = prep("DELETE FROM kv WHERE k = ?"),
      keys = prep("SELECT k FROM kv"),
      each = prep("SELECT k, v FROM kv"),
    }
  end

  local function close(conn, st)
    for _, s in pairs(st) do s:close() end
    conn:close()
  end

  local function put(st, keys, val)
    local s = st.put
    for i = 1, #keys do
      local ok, err = s:execute(keys[i], val)
      if not ok then die("insert: %s", tostring(err)) end
    end
  end

  local function del(st, keys)
    local s = st.del
    for i = 1, #keys do
      local ok, err = s:execute(keys[i])
      if not ok then die("delete: %s", tostring(err)) end
    end
  end

  local mode = "sqlite-" .. synchronous:lower()
  local r = {}
  if tag == "fast" then
    r.fast = function(size, n, val, keys)
      local sub = fresh_dir(size, "fast")
      local conn, st = connect(sub)
      syncfs()
      local t = now()
      put(st, keys, val)
      report(mode, size, "put_fast_new", n, now() - t)
      t = now()
      put(st, keys, val)
      report(mode, size, "put_fast_over", n, now() - t)

      local total, s = 0, st.get
      t = now()
      for i = 1, n do
        local ok, err = s:execute(keys[i])
        if not ok then die("select: %s", tostring(err)) end
        local row = s:fetch(false)
        total = total + #row[1]
      end
      report(mode, size, "get", n, now() - t)
      if total ~= n * size then die("get size mismatch") end

      per_entry(mode, size, "keys", n, function()
        local c, q = 0, st.keys
        q:execute()
        while q:fetch(false) do c = c + 1 end
        return c
      end)
      per_entry(mode, size, "each", n, function()
        local c, q = 0, st.each
        q:execute()
        while true do
          local row = q:fetch(false)
          if not row then break end
          if row[2] then c = c + 1 end
        end
        return c
      end)

      t = now()
      del(st, keys)
      report(mode, size, "del_fast", n, now() - t)
      close(conn, st)
      remove_dir(sub, DB_FILES)
    end
  else
    r.durable = function(size, nd, val, keys)
      local sub = fresh_dir(size, "durable")
      local conn, st = connect(sub)
      syncfs()
      local t = now()
      put(st, keys, val)
      report(mode, size, "put_durable_new", nd, now() - t)
      t = now()
      put(st, keys, val)
      report(mode, size, "put_durable_over", nd, now() - t)
      t = now()
      del(st, keys)
      report(mode, size, "del_durable", nd, now() - t)
      close(conn, st)
      remove_dir(sub, DB_FILES)
    end
  end
  return r
end

impls["sqlite-fast"] = function() return sqlite_impl("OFF", "fast") end
impls["sqlite-durable"] = function() return sqlite_impl("FULL", "durable") end

-- ---- main -------------------------------------------------------------------

local make = impls[IMPL]
if not make then die("unknown impl %s", IMPL) end
local impl = make()

for item in opt.s:gmatch("[^,]+") do
  local size, n, nd = item:match("^(%d+):(%d+):?(%d*)$")
  size, n, nd = tonumber(size), tonumber(n), tonumber(nd) or 0
  if not size or size == 0 or not n or n <= 0 then die("bad spec item '%s'", item) end
  local val = make_value(size)
  if impl.fast then impl.fast(size, n, val, make_keys(n)) end
  if impl.trunc then impl.trunc(size, n, val, make_keys(n)) end
  if impl.durable and nd > 0 then impl.durable(size, nd, val, make_keys(nd)) end
  collectgarbage()
end
