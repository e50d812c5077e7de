-- spec/faults/faults_spec.lua -- fault injection: every call okofdb makes
-- to the C library, made to fail one at a time.
--
-- Runs only with the shim spec/faults/shim.c preloaded:
--   LD_PRELOAD=build/faults/shim.so lua5.4 busted spec/faults/faults_spec.lua
-- Without it the spec fails (it does not skip).
--
-- For each operation (scenario below) a dry run counts the calls of each
-- kind okofdb makes (open, read, write, fsync, close, rename, unlink, stat,
-- mkdir, opendir, readdir, closedir). Then, for every position N of every
-- kind, the Nth call is made to fail once:
--   - with ENOSPC, EIO and EACCES: the operation must report exactly that
--     (nil, msg, code with the key or directory and the OS's text in msg;
--     a Lua error naming the directory for the directory walk of each and
--     keys), leave the previous value intact, leave no temporary file and
--     no descriptor behind -- with the exceptions each scenario states;
--   - with EINTR (okofdb retries every interrupted call): the operation
--     must succeed with the right result, as if nothing had happened;
--   - with a short transfer (read and write only): likewise.
-- Calls are counted only when they come from okofdb's module (the shim
-- checks the caller), and the garbage collector is stopped while armed.
-- Every attempt runs in a fresh directory.
--
-- The positions whose failure need not (or cannot) be reported:
--   - close of a read-only value file (get, each), after the whole file was
--     read: okofdb may report it or return the value, which must then be
--     right;
--   - closedir (each, keys, sweep): the walk's close returns nothing, so
--     the operation must succeed with the right result;
--   - sweep's reading of key files (to find expired values: open, read,
--     close): a file it cannot read is not one it removes, and the sweep
--     goes on and succeeds; the close of del's read of a value file's
--     header (del reads it to tell an expired value) is not reported;
--   - the final directory fsync of put, del and sweep is reported, but the
--     change is already made (the README: the new value is in place); when it
--     fails with EINVAL (a file system that cannot fsync a directory) the
--     operation must succeed.
-- fdopendir is not given EINTR: it makes no call a signal can interrupt.

local H = require("helpers")
local okofdb = require("okofdb")

local format, concat = string.format, table.concat

---------------------------------------------------------------------------
-- The shim
---------------------------------------------------------------------------

local FC = require("faults.common")
local F = FC.shim("fault injection", describe, it)
if not F then return end

local ERRNOS = { "ENOSPC", "EIO", "EACCES" }

-- fdopendir makes no call that a signal can interrupt; an EINTR from it
-- would be a fiction, so it is not injected there.
local NO_EINTR = { opendir = true }
local SHORT_KINDS = { read = true, write = true }

local OSTEXT = {}
for _, e in ipairs({ "ENOSPC", "EIO", "EACCES", "EINTR", "EINVAL" }) do
  OSTEXT[e] = F.strerror(e)
end

---------------------------------------------------------------------------
-- Data
---------------------------------------------------------------------------

local KEY = "user:42" -- not a plain name: its file is user%3a42
local OLD = "the old value"
local SMALL = "a new small value"
local LARGE = H.text_bytes(5000, 11) -- above compress_min: compressed
-- More than 32 chunks of 64 KiB: okofdb hands them to writev in two batches.
local HUGE = string.rep(H.random_bytes(65536, 5), 33) .. "tail"
local BIG_READ = H.random_bytes(200000, 7) -- larger than the read buffer

-- The store each, keys and sweep walk.
local FIXTURE = {
  alpha = "first",
  bravo = "second value",
  charlie = H.text_bytes(5000, 3),
  ["delta:d"] = BIG_READ,
}
local FOREIGN = "UPPER.txt" -- a name okofdb never writes: ignored
local LEFTOVER = ".okof-tmp-dead-1" -- a crashed writer's file

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local BASE -- a temp dir holding one fresh directory per attempt
local serial = 0

local function fresh_dir()
  serial = serial + 1
  return BASE .. "/" .. serial
end

local function tmp_names(dir) return FC.tmp_names(F, dir) end

local function short(s)
  if type(s) ~= "string" then return tostring(s) end
  if #s > 60 then return format("%q", s:sub(1, 40)) .. format("...(%d bytes)", #s) end
  return format("%q", s)
end

-- Differences between two fds() tables, as text; nil when equal.
local function fd_diff(before, after)
  local out = {}
  for fd, target in pairs(after) do
    if before[fd] == nil then
      out[#out + 1] = format("leaked fd %d -> %s", fd, target)
    elseif before[fd] ~= target then
      out[#out + 1] = format("fd %d now -> %s (was %s)", fd, target, before[fd])
    end
  end
  for fd, target in pairs(before) do
    if after[fd] == nil then
      out[#out + 1] = format("closed fd %d -> %s it did not own", fd, target)
    end
  end
  if #out == 0 then return nil end
  table.sort(out)
  return concat(out, "; ")
end

-- Read a key back through a fresh handle, with the shim disarmed.
local function read_back(dir, key)
  local db = assert(okofdb.open(dir, { create = false }))
  local v, msg, code = db:get(key)
  db:close()
  if msg then return nil, msg .. " (" .. tostring(code) .. ")" end
  return v
end

-- Put the fixture's keys (and extra files) in dir without the shim armed.
local function fill(dir, keys)
  local db = assert(okofdb.open(dir, { sync = "none" }))
  for k, v in pairs(keys) do assert(db:put(k, v)) end
  db:close()
end

local function write_raw(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

-- Does msg contain every one of the strings?
local function lacks(msg, ...)
  if type(msg) ~= "string" then return "no message (" .. tostring(msg) .. ")" end
  for _, s in ipairs({ ... }) do
    if not H.contains(msg, s) then return format("message %q lacks %q", msg, s) end
  end
  return nil
end

---------------------------------------------------------------------------
-- One attempt: set up, arm, run, disarm, check
---------------------------------------------------------------------------

-- Run scenario sc once with the given fault (kind, n, err; n = 0 for a dry
-- run). Returns the counts, the trace, and a list of problems.
-- dry: the counts of the dry run, for checks that depend on a position.
local function attempt(sc, kind, n, err, dry)
  local dir = fresh_dir()
  local db = assert(okofdb.open(dir, sc.opts))
  local ctx = { dir = dir, db = db, kind = kind, n = n, err = err, dry = dry or {} }
  if sc.setup then sc.setup(ctx) end

  collectgarbage()
  collectgarbage("stop")
  local before = F.fds()
  F.arm(kind, n, err)
  local ok, res = pcall(sc.run, ctx)
  local fired = F.disarm()
  local counts, trace = F.counts(), F.trace()
  if sc.release then sc.release(ctx, res) end
  local after = F.fds()
  collectgarbage("restart")

  local problems = {}
  local function problem(s) problems[#problems + 1] = s end
  if not ok then
    problem("the operation raised: " .. tostring(res))
  else
    ctx.res = res
    ctx.fired = fired
    ctx.trace = trace
    if n > 0 and not fired then
      problem("the fault was never injected (the calls differ from the dry run)")
    end
    local diff = fd_diff(before, after)
    if diff then problem(diff) end
    for _, p in ipairs(sc.check(ctx) or {}) do problem(p) end
    local tmps = concat(tmp_names(dir), " ")
    local want_tmps = concat(ctx.tmps or {}, " ")
    if tmps ~= want_tmps then
      problem(format("temporary files %q left, expected %q", tmps, want_tmps))
    end
  end
  db:close()
  if #problems > 0 then problems[#problems + 1] = "calls: " .. concat(trace, " ") end
  return counts, trace, problems
end

-- Expectations of a result: nil, msg, code for the injected errno.
local function check_failure(ctx, res, ...)
  local p = {}
  if res.n ~= 3 or res[1] ~= nil then
    p[#p + 1] = format("expected nil, msg, %s; got %s", ctx.err, short(res[1]))
    return p
  end
  if res[3] ~= ctx.err then
    p[#p + 1] = format("code %s, expected %s (msg %q)", tostring(res[3]), ctx.err, tostring(res[2]))
  end
  local why = lacks(res[2], OSTEXT[ctx.err], ...)
  if why then p[#p + 1] = why end
  return p
end

local function is_fault(ctx)
  return ctx.n > 0 and ctx.err ~= "EINTR" and ctx.err ~= "SHORT" and ctx.err ~= "EINVAL"
end

---------------------------------------------------------------------------
-- Scenarios
---------------------------------------------------------------------------

local QKEY = '"' .. KEY .. '"'

local function last_dir_fsync(ctx, sync)
  return sync == "full" and ctx.kind == "fsync" and ctx.n == ctx.dry.fsync
end

-- put: every fault fails the put with the injected code, leaves the old
-- value (or none) and no temporary file -- except a fault of the final
-- directory fsync, after which the new value is in place (the README).
local function put_scenario(size, value, existing, sync)
  return {
    name = format("put %s %s sync=%s", existing and "over an existing key" or "new key", size, sync),
    opts = { sync = sync },
    setup = function(ctx) if existing then fill(ctx.dir, { [KEY] = OLD }) end end,
    run = function(ctx) return H.pack(ctx.db:put(KEY, value)) end,
    check = function(ctx)
      local p, res = {}, ctx.res
      local dir_fsync = last_dir_fsync(ctx, sync)
      local want = existing and OLD or nil
      if is_fault(ctx) then
        p = check_failure(ctx, res, QKEY, ctx.dir)
        if dir_fsync then want = value end
      else
        if not (res.n == 1 and res[1] == true) then
          p[#p + 1] = format("expected true, got %s, %s, %s", short(res[1]), tostring(res[2]), tostring(res[3]))
        end
        want = value
      end
      local got, why = read_back(ctx.dir, KEY)
      if got ~= want then
        p[#p + 1] = format("value afterwards %s, expected %s%s", short(got), short(want),
          why and (" (" .. why .. ")") or "")
      end
      return p
    end,
    dir_fsync = sync == "full",
  }
end

-- get: every fault but one of close fails the get with the injected code.
-- The close of the read-only value file comes after the whole file was
-- read; okofdb may report its failure or return the value, which must then
-- be right. The stored value is untouched either way.
local function get_scenario(size, value)
  return {
    name = "get " .. size,
    setup = function(ctx) if value then fill(ctx.dir, { [KEY] = value }) end end,
    run = function(ctx) return H.pack(ctx.db:get(KEY)) end,
    check = function(ctx)
      local p, res = {}, ctx.res
      local may_succeed = ctx.kind == "close"
      local succeeded = res.n == 1 and res[1] == value
      if is_fault(ctx) and not (may_succeed and succeeded) then
        p = check_failure(ctx, res, QKEY, ctx.dir)
      elseif not succeeded then
        p[#p + 1] = format("expected %s, got %s, %s, %s", short(value), short(res[1]),
          tostring(res[2]), tostring(res[3]))
      end
      local got = read_back(ctx.dir, KEY)
      if got ~= value then p[#p + 1] = "stored value changed: " .. short(got) end
      return p
    end,
  }
end

-- del: a fault of unlink (or of reading the header before it) leaves the
-- value; a fault of the directory fsync that follows it reports the error
-- with the value already gone.
local function del_scenario(existing, sync)
  return {
    name = format("del %s sync=%s", existing and "existing key" or "missing key", sync),
    opts = { sync = sync },
    setup = function(ctx) if existing then fill(ctx.dir, { [KEY] = OLD }) end end,
    run = function(ctx) return H.pack(ctx.db:del(KEY)) end,
    check = function(ctx)
      local p, res = {}, ctx.res
      local want = nil
      -- del reads the header first (an expired value is removed as none):
      -- a failed open or read of it leaves the value, its close is not
      -- reported
      local header_close = existing and ctx.kind == "close" and ctx.n == 1
      if is_fault(ctx) and not header_close then
        p = check_failure(ctx, res, QKEY, ctx.dir)
        local kept = { unlink = true, open = true, read = true }
        if kept[ctx.kind] and existing then want = OLD end
      elseif not (res.n == 1 and res[1] == existing) then
        p[#p + 1] = format("expected %s, got %s, %s, %s", tostring(existing), short(res[1]),
          tostring(res[2]), tostring(res[3]))
      end
      local got = read_back(ctx.dir, KEY)
      if got ~= want then p[#p + 1] = format("value afterwards %s, expected %s", short(got), short(want)) end
      return p
    end,
    dir_fsync = sync == "full" and existing,
  }
end

local function fixture_setup(ctx)
  fill(ctx.dir, FIXTURE)
  write_raw(ctx.dir .. "/" .. FOREIGN, "not okofdb's")
  write_raw(ctx.dir .. "/" .. LEFTOVER, "a crashed writer's")
  ctx.tmps = { LEFTOVER }
end

-- Is the failure of a kind at the directory level (the walk itself)?
local WALK_KINDS = { opendir = true, readdir = true }
local function walk_fault(ctx)
  return ctx.kind ~= nil and (WALK_KINDS[ctx.kind] or (ctx.kind == "open" and ctx.n == 1))
end

-- Problems with the walk's result: raised, or the keys (and values).
local function check_walk(ctx, with_values)
  local p, res = {}, ctx.res
  if is_fault(ctx) and walk_fault(ctx) then
    if res.ok then
      p[#p + 1] = "expected a Lua error for the failed directory walk; the loop ended normally"
    else
      local why = lacks(res.err, OSTEXT[ctx.err], ctx.dir)
      if why then p[#p + 1] = why end
    end
    return p
  end
  if not res.ok then
    p[#p + 1] = "raised: " .. tostring(res.err)
    return p
  end
  local seen, bad = {}, {}
  for _, e in ipairs(res.got) do
    if seen[e.k] then p[#p + 1] = "yielded twice: " .. e.k end
    seen[e.k] = true
    if with_values and e.v ~= FIXTURE[e.k] then bad[#bad + 1] = e end
  end
  for k in pairs(FIXTURE) do
    if not seen[k] then p[#p + 1] = "key not yielded: " .. k end
  end
  for k in pairs(seen) do
    if FIXTURE[k] == nil then p[#p + 1] = "unexpected key yielded: " .. short(k) end
  end
  -- A fault reading one value file: that key, and only it, comes with
  -- nil, msg, code; the close of a read-only file may also go unreported.
  local one_bad = with_values and is_fault(ctx) and not walk_fault(ctx) and ctx.kind ~= "closedir"
  local none_ok = not one_bad or ctx.kind == "close"
  if #bad == 0 and not none_ok then
    p[#p + 1] = "no key reported the failure"
  elseif #bad > 1 or (#bad == 1 and not one_bad) then
    for _, e in ipairs(bad) do
      p[#p + 1] = format("key %s: value %s, error %s %s", e.k, short(e.v), tostring(e.msg), tostring(e.code))
    end
  elseif #bad == 1 then
    local e = bad[1]
    if e.v ~= nil or e.code ~= ctx.err then
      p[#p + 1] = format("key %s: expected nil, msg, %s; got %s, %s, %s", e.k, ctx.err,
        short(e.v), tostring(e.msg), tostring(e.code))
    end
    local why = lacks(e.msg, '"' .. e.k .. '"', OSTEXT[ctx.err])
    if why then p[#p + 1] = why end
  end
  return p
end

local function check_fixture_intact(ctx, p)
  for k, v in pairs(FIXTURE) do
    local got = read_back(ctx.dir, k)
    if got ~= v then p[#p + 1] = format("value of %s afterwards: %s", k, short(got)) end
  end
  if not H.contains(concat(assert(F.ls(ctx.dir)), "\0"), FOREIGN) then
    p[#p + 1] = "the foreign file is gone"
  end
  return p
end

-- each and keys, in a for loop (on Lua 5.4 its to-be-closed value closes
-- the walk when the loop raises), or driven by hand: the iterator called
-- until it returns nil, its closer dropped and the collector stopped, so
-- that only the binding's own release keeps a failed walk from holding its
-- descriptor (what Lua 5.1-5.3 and LuaJIT rely on).
local function walk_scenario(method, by_hand)
  local with_values = method == "each"
  local function add(got, k, v, msg, code)
    got[#got + 1] = { k = k, v = v, msg = msg, code = code }
  end
  return {
    name = method .. (by_hand and " (driven by hand, no to-be-closed value)" or " (a full for loop)"),
    setup = fixture_setup,
    run = function(ctx)
      local got = {}
      local ok, err = pcall(function()
        if by_hand then
          local f, s, c = ctx.db[method](ctx.db)
          while true do
            local k, v, msg, code = f(s, c)
            if k == nil then break end
            add(got, k, v, msg, code)
            c = k
          end
        else
          for k, v, msg, code in ctx.db[method](ctx.db) do add(got, k, v, msg, code) end
        end
      end)
      return { ok = ok, err = err, got = got }
    end,
    check = function(ctx) return check_fixture_intact(ctx, check_walk(ctx, with_values)) end,
  }
end

-- sweep: two old temporary files, a fresh one, keys and a foreign file.
-- A fault fails the sweep with the injected code (some old files may be
-- gone by then); closedir's cannot be reported (okof_iter_close and the
-- walk's close are void) and the sweep succeeds; a fault of the final
-- directory fsync is reported with both old files already removed.
local OLD_TMPS = { ".okof-tmp-dead-2", ".okof-tmp-dead-3" }
local FRESH_TMP = ".okof-tmp-live-4"

local function sweep_scenario(sync)
  return {
    name = "sweep sync=" .. sync,
    opts = { sync = sync },
    setup = function(ctx)
      fill(ctx.dir, FIXTURE)
      write_raw(ctx.dir .. "/" .. FOREIGN, "not okofdb's")
      local paths = {}
      for i, name in ipairs(OLD_TMPS) do
        write_raw(ctx.dir .. "/" .. name, "old " .. i)
        paths[i] = H.q(ctx.dir .. "/" .. name)
      end
      write_raw(ctx.dir .. "/" .. FRESH_TMP, "fresh")
      assert(H.run("touch -d '2 hours ago' " .. concat(paths, " ")))
    end,
    run = function(ctx) return H.pack(ctx.db:sweep()) end,
    check = function(ctx)
      local p, res = {}, ctx.res
      local removed_all = true
      -- the faulted call: a key file's open, read or close is skipped
      local faulted = ""
      for _, c in ipairs(ctx.trace or {}) do
        if c:match("<%- fault") then faulted = c end
      end
      local key_read = ctx.kind == "read" or ctx.kind == "close" or
        (ctx.kind == "open" and faulted:match("^openat%(") and
         not faulted:match("^openat%(%.%)") and not faulted:match("^openat%(%.okof%-lock%)"))
      if is_fault(ctx) and ctx.kind ~= "closedir" and not key_read then
        p = check_failure(ctx, res, ctx.dir)
        removed_all = ctx.kind == "fsync"
      elseif not (res.n == 1 and res[1] == 2) then
        p[#p + 1] = format("expected 2, got %s, %s, %s", short(res[1]), tostring(res[2]), tostring(res[3]))
      end
      -- What is left is checked here, not by the generic temp file check.
      local left = tmp_names(ctx.dir)
      local want = removed_all and { FRESH_TMP } or nil
      local has_fresh = false
      for _, n in ipairs(left) do has_fresh = has_fresh or n == FRESH_TMP end
      if not has_fresh then p[#p + 1] = "the fresh temporary file was removed" end
      if want and concat(left, " ") ~= concat(want, " ") then
        p[#p + 1] = "temporary files left: " .. concat(left, " ")
      end
      ctx.tmps = left
      return check_fixture_intact(ctx, p)
    end,
    dir_fsync = sync == "full",
  }
end

-- open: of an existing directory, and creating a missing one (and its
-- missing parent).
local function open_scenario(create)
  return {
    name = create and "open creating a/b/store" or "open an existing directory",
    setup = function(ctx)
      ctx.path = create and (ctx.dir .. "/a/b/store") or ctx.dir
    end,
    run = function(ctx) return H.pack(okofdb.open(ctx.path)) end,
    release = function(_, res)
      if type(res) == "table" and type(res[1]) == "userdata" then res[1]:close() end
    end,
    check = function(ctx)
      local p, res = {}, ctx.res
      if is_fault(ctx) then
        p = check_failure(ctx, res, ctx.path)
      elseif not (res.n == 1 and type(res[1]) == "userdata") then
        p[#p + 1] = format("expected a handle, got %s, %s, %s", tostring(res[1]), tostring(res[2]), tostring(res[3]))
      elseif not H.is_dir(ctx.path) then
        p[#p + 1] = "the directory was not created"
      end
      return p
    end,
  }
end

-- add: of a new key (link makes the name) and of a key that has a value
-- (link answers EEXIST; the names are compared). A fault fails the add with
-- the injected code and leaves the stored value -- except once the link is
-- made: a fault of the unlink of the temporary file (which then stays, and
-- is the one file left) or of the final directory fsync is reported with
-- the new value in place.
local function add_scenario(existing, sync)
  return {
    name = format("add %s sync=%s", existing and "over an existing key" or "new key", sync),
    opts = { sync = sync },
    setup = function(ctx) if existing then fill(ctx.dir, { [KEY] = OLD }) end end,
    run = function(ctx) return H.pack(ctx.db:add(KEY, SMALL)) end,
    check = function(ctx)
      local p, res = {}, ctx.res
      local want = existing and OLD or nil
      -- every close after the first (the new value's file) is of a file
      -- add only read or locked: its failure may go unreported
      local quiet_close = ctx.kind == "close" and ctx.n >= 2
      if is_fault(ctx) and not quiet_close then
        p = check_failure(ctx, res, QKEY, ctx.dir)
        if not existing and (ctx.kind == "unlink" or last_dir_fsync(ctx, sync)) then want = SMALL end
        if ctx.kind == "unlink" then ctx.tmps = tmp_names(ctx.dir) end
      elseif not (res.n == 1 and res[1] == not existing) then
        p[#p + 1] = format("expected %s, got %s, %s, %s", tostring(not existing), short(res[1]),
          tostring(res[2]), tostring(res[3]))
      elseif not existing then
        want = SMALL
      end
      if ctx.kind == "unlink" and is_fault(ctx) and #ctx.tmps ~= 1 then
        p[#p + 1] = "expected the one temporary file the failed unlink left, found " .. #ctx.tmps
      end
      local got, why = read_back(ctx.dir, KEY)
      if got ~= want then
        p[#p + 1] = format("value afterwards %s, expected %s%s", short(got), short(want),
          why and (" (" .. why .. ")") or "")
      end
      return p
    end,
    dir_fsync = sync == "full" and not existing,
  }
end

-- put_many of three keys (one with an old value, one large value): a fault
-- fails the batch with the injected code and the list of keys written;
-- those hold their new values, every other key its old one (or none).
local BATCH = { [KEY] = SMALL, ["big:1"] = LARGE, fresh = "fresh value" }

local function put_many_scenario(sync)
  return {
    name = "put_many of 3 keys sync=" .. sync,
    opts = { sync = sync },
    setup = function(ctx) fill(ctx.dir, { [KEY] = OLD }) end,
    run = function(ctx) return H.pack(ctx.db:put_many(BATCH)) end,
    check = function(ctx)
      local p, res = {}, ctx.res
      local written = {}
      if is_fault(ctx) then
        if res.n ~= 4 or res[1] ~= nil or type(res[4]) ~= "table" then
          p[#p + 1] = format("expected nil, msg, %s, written; got %s (%d results)", ctx.err, short(res[1]), res.n)
          return p
        end
        if res[3] ~= ctx.err then
          p[#p + 1] = format("code %s, expected %s (msg %q)", tostring(res[3]), ctx.err, tostring(res[2]))
        end
        local why = lacks(res[2], OSTEXT[ctx.err])
        if why then p[#p + 1] = why end
        for _, k in ipairs(res[4]) do written[k] = true end
        if last_dir_fsync(ctx, sync) then
          for k in pairs(BATCH) do
            if not written[k] then p[#p + 1] = "the directory fsync failed but not listed as written: " .. k end
          end
        end
      elseif not (res.n == 1 and res[1] == true) then
        p[#p + 1] = format("expected true, got %s, %s, %s", short(res[1]), tostring(res[2]), tostring(res[3]))
      else
        for k in pairs(BATCH) do written[k] = true end
      end
      for k, v in pairs(BATCH) do
        local want = written[k] and v or (k == KEY and OLD or nil)
        local got, why = read_back(ctx.dir, k)
        if got ~= want then
          p[#p + 1] = format("value of %s afterwards %s, expected %s%s", k, short(got), short(want),
            why and (" (" .. why .. ")") or "")
        end
      end
      return p
    end,
    dir_fsync = sync == "full",
  }
end

local SCENARIOS = {}
for _, sz in ipairs({ { "small", SMALL }, { "large (compressed)", LARGE } }) do
  for _, existing in ipairs({ false, true }) do
    for _, sync in ipairs({ "full", "none" }) do
      SCENARIOS[#SCENARIOS + 1] = put_scenario(sz[1], sz[2], existing, sync)
    end
  end
end
SCENARIOS[#SCENARIOS + 1] = put_scenario("huge (2 MiB, two writev batches)", HUGE, true, "full")
SCENARIOS[#SCENARIOS + 1] = put_scenario("huge (2 MiB, two writev batches)", HUGE, false, "none")
for _, existing in ipairs({ false, true }) do
  for _, sync in ipairs({ "full", "none" }) do SCENARIOS[#SCENARIOS + 1] = add_scenario(existing, sync) end
end
SCENARIOS[#SCENARIOS + 1] = put_many_scenario("full")
SCENARIOS[#SCENARIOS + 1] = put_many_scenario("none")
SCENARIOS[#SCENARIOS + 1] = get_scenario("small", SMALL)
SCENARIOS[#SCENARIOS + 1] = get_scenario("large (compressed)", LARGE)
SCENARIOS[#SCENARIOS + 1] = get_scenario("200 KB (beyond the read buffer)", BIG_READ)
SCENARIOS[#SCENARIOS + 1] = get_scenario("missing key", nil)
SCENARIOS[#SCENARIOS + 1] = del_scenario(true, "full")
SCENARIOS[#SCENARIOS + 1] = del_scenario(true, "none")
SCENARIOS[#SCENARIOS + 1] = del_scenario(false, "full")
SCENARIOS[#SCENARIOS + 1] = walk_scenario("each", false)
SCENARIOS[#SCENARIOS + 1] = walk_scenario("each", true)
SCENARIOS[#SCENARIOS + 1] = walk_scenario("keys", false)
SCENARIOS[#SCENARIOS + 1] = walk_scenario("keys", true)
SCENARIOS[#SCENARIOS + 1] = sweep_scenario("full")
SCENARIOS[#SCENARIOS + 1] = sweep_scenario("none")
SCENARIOS[#SCENARIOS + 1] = open_scenario(false)
SCENARIOS[#SCENARIOS + 1] = open_scenario(true)

---------------------------------------------------------------------------
-- The runs
---------------------------------------------------------------------------

local KIND_ORDER = F.kinds()

local function counts_text(counts)
  local t = {}
  for _, k in ipairs(KIND_ORDER) do
    if counts[k] then t[#t + 1] = format("%s %d", k, counts[k]) end
  end
  return concat(t, ", ")
end

local SUMMARY = {}
local TOTALS = { points = 0, runs = 0 }

-- Every fault of scenario sc; returns the problems, one line each.
local function exercise(sc)
  local all = {}
  local function report(label, problems)
    if #problems == 0 then return end
    all[#all + 1] = format("%s: %s:\n    %s", sc.name, label, concat(problems, "\n    "))
  end

  -- Dry runs: with the caller filter, and without it (every caller in the
  -- process): the same counts prove that nothing but okofdb made a call.
  local dry, trace, problems = attempt(sc, nil, 0)
  report("dry run", problems)
  local prev = F.filter("")
  local unfiltered = attempt(sc, nil, 0)
  F.filter(prev)
  if counts_text(unfiltered) ~= counts_text(dry) then
    report("dry run", { format("calls from outside okofdb while armed: %s vs %s",
      counts_text(unfiltered), counts_text(dry)) })
  end

  local points, runs = 0, 2
  local function one(kind, n, err)
    local _, _, p = attempt(sc, kind, n, err, dry)
    runs = runs + 1
    report(format("%s call #%d fails with %s", kind, n, err), p)
  end
  for _, kind in ipairs(KIND_ORDER) do
    for n = 1, dry[kind] or 0 do
      points = points + 1
      for _, err in ipairs(ERRNOS) do one(kind, n, err) end
      if not NO_EINTR[kind] then one(kind, n, "EINTR") end
      if SHORT_KINDS[kind] then one(kind, n, "SHORT") end
    end
  end
  -- A file system that cannot fsync a directory answers EINVAL: success.
  if sc.dir_fsync and (dry.fsync or 0) > 0 then one("fsync", dry.fsync, "EINVAL") end

  SUMMARY[#SUMMARY + 1] = format("%-52s %3d fault points, %4d runs  [%s]\n%52s calls: %s",
    sc.name, points, runs, counts_text(dry), "", concat(trace, " "))
  TOTALS.points = TOTALS.points + points
  TOTALS.runs = TOTALS.runs + runs
  return all
end

describe("fault injection (LD_PRELOAD shim)", function()
  setup(function()
    BASE = H.tmpdir()
  end)

  teardown(function()
    H.cleanup()
    io.write("\n\nFault injection: ", TOTALS.points, " fault points, ", TOTALS.runs,
      " runs (ENOSPC, EIO, EACCES, EINTR at each point; SHORT at each read and write)\n")
    for _, line in ipairs(SUMMARY) do io.write(line, "\n") end
    io.write("\n")
  end)

  it("has the shim preloaded and counting okofdb's calls only", function()
    assert.is_true((F.preloaded()))
    assert.are.equal("okofdb/core.so", F.filter())
  end)

  for _, sc in ipairs(SCENARIOS) do
    it(sc.name, function()
      local problems = exercise(sc)
      local shown
      if #problems > 0 then
        shown = {}
        for i = 1, math.min(#problems, 25) do shown[i] = problems[i] end
        if #problems > 25 then shown[#shown + 1] = format("... and %d more", #problems - 25) end
      end
      assert.is_true(#problems == 0, format("%d failing fault runs:\n%s", #problems, concat(shown or {}, "\n")))
    end)
  end
end)
