-- spec/powercut/powercut_spec.lua -- every state a power cut may leave,
-- under two file system models, read back as the contract says
-- (make powercut; tagged slow, so `make spec` leaves it out).
--
-- Environment: OKOF_PC_RECORDER (the recorder shim, default
-- build/powercut/recorder.so), OKOF_LUA (the interpreter of the
-- workloads), OKOF_PC_SEED (the sampling seed, default 1).
local E = require("powercut.explore")
local WL = require("powercut.workloads")
local K = require("powercut.known")
local RL = require("reliability.rlog")

local LUA = os.getenv("OKOF_LUA") or "lua5.4"
local RECORDER = os.getenv("OKOF_PC_RECORDER") or "build/powercut/recorder.so"
local SEED = tonumber(os.getenv("OKOF_PC_SEED") or "1")
local RUNNER = "spec/powercut/run_workload.lua"
local SYNCS = { "full", "none" }
local MODELS = { "posix", "ext4" }

-- How many name choices and data choices a crash point may have before
-- they are sampled instead of enumerated.
-- (by workload, or by "workload/sync"). The ttl workloads with
-- sync = "none" have hundreds of thousands of states under the POSIX
-- model (no flush ever bounds the free names).
local CAPS = { default = { meta = 256, data = 32 }, long = { meta = 48, data = 8 },
  ["ttl-long/none"] = { meta = 64, data = 16 }, ["ttl-expired/none"] = { meta = 64, data = 16 } }

local function scratch()
  local h = io.open("/dev/shm/.okofdb-powercut-probe", "wb")
  local base = "build/scratch"
  if h then
    h:close()
    os.remove("/dev/shm/.okofdb-powercut-probe")
    base = "/dev/shm"
  end
  local name = os.tmpname()
  os.remove(name)
  local dir = base .. "/okofdb-powercut-" .. name:match("([^/]+)$")
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  -- the recorder names paths as the kernel resolves them: no symbolic link
  local p = assert(io.popen("cd '" .. dir .. "' && pwd -P"))
  local real = p:read("*l")
  p:close()
  return assert(real)
end

local WORK

local recordings = {}
local function recording(workload, sync)
  local id = workload .. "/" .. sync
  if not recordings[id] then
    recordings[id] = E.record({ work = WORK, recorder = RECORDER, lua = LUA, runner = RUNNER,
      workload = workload, sync = sync })
  end
  return recordings[id]
end

-- The known violations (known.lua) still present in the code.
local function tolerated()
  local t = {}
  if K.raw00.present() then t.raw00, t.zeros = true, true end
  if K.open_dirs.present(recording("open-nested", "full")) then t.open_dirs = true end
  return t
end

local function explore(o)
  local caps = CAPS[o.workload .. "/" .. o.sync] or CAPS[o.workload] or CAPS.default
  o.text = recording(o.workload, o.sync)
  o.work, o.seed = WORK, SEED
  o.meta_cap, o.data_cap = o.meta_cap or caps.meta, o.data_cap or caps.data
  o.reader = o.reader or E.reader(false)
  return E.explore(o)
end

local function log_result(prefix, r)
  RL.set(prefix .. ".points", r.points)
  RL.set(prefix .. ".states", r.states)
  RL.set(prefix .. ".mode", r.exhaustive and "exhaustive"
    or string.format("sampled (%d of %d crash points exhaustive)", r.exhaustive_points, r.points))
  RL.set(prefix .. ".violations", r.violations)
  RL.set(prefix .. ".unexpected", r.unexpected)
  local known = {}
  for class, n in pairs(r.classes) do known[#known + 1] = class .. ":" .. n end
  table.sort(known)
  RL.set(prefix .. ".classes", table.concat(known, ","))
end

local function count(r, ...)
  local n = 0
  for _, class in ipairs({ ... }) do n = n + (r.classes[class] or 0) end
  return n
end

-- The whole content of file, or "" where it cannot be read.
local function slurp(file)
  local h = io.open(file, "rb")
  if not h then return "" end
  local s = h:read("*a")
  h:close()
  return s
end

-- A reader named name made of today's: a handle of it passes keys, each,
-- sweep and close to the real handle db, and takes the methods of the table
-- methods(db, path, real) (get, each) in their place.
local function proxy_reader(name, methods)
  local real = E.reader(false)
  return {
    name = name,
    open = function(path)
      local db, msg, code = real.open(path)
      if not db then return db, msg, code end
      local proxy = {}
      for _, m in ipairs({ "keys", "each", "sweep" }) do
        proxy[m] = function(_, ...) return db[m](db, ...) end
      end
      function proxy.close() return db:close() end
      for m, f in pairs(methods(db, path, real)) do proxy[m] = f end
      return proxy
    end,
  }
end

-- A reader that takes any file starting with 0x00 as a raw value, as a
-- broken okofdb would: the checker must catch it.
local function raw_reader()
  return proxy_reader("accepts-0x00", function(db, path)
    return {
      get = function(_, key)
        local v, m, c = db:get(key)
        if c == "CORRUPT" then
          local s = slurp(path .. "/" .. key)
          if s:byte(1) == 0 then return s:sub(2) end
        end
        return v, m, c
      end,
    }
  end)
end

-- A reader that ignores expiry, as a broken okofdb would: where get finds
-- no value but the key's file carries an expiry, it reads the file with
-- the expiry moved to the far future. The checker must catch it.
local function expiry_blind_reader()
  return proxy_reader("ignores-expiry", function(db, path, real)
    return {
      get = function(_, key)
        local v, m, c = db:get(key)
        if v ~= nil or m ~= nil then return v, m, c end
        local s = slurp(path .. "/" .. key)
        if #s < 37 or s:sub(16, 19) ~= "okof" or s:byte(21) ~= 1 then return v, m, c end
        local dir = WORK .. "/blind"
        assert(os.execute("mkdir -p '" .. dir .. "'"))
        local w = assert(io.open(dir .. "/" .. key, "wb"))
        -- expiry (bytes 29-36, little-endian ms) 2^50: in 35,000 years
        w:write(s:sub(1, 29), "\0\0\0\0\0\0\4\0", s:sub(38))
        w:close()
        local other = assert(real.open(dir))
        local v2 = other:get(key)
        other:close()
        os.remove(dir .. "/" .. key)
        return v2
      end,
    }
  end)
end

-- A reader as docs/format.md says (a file starting with 0x00 is CORRUPT
-- without legacy), made of today's: the checker must find nothing wrong
-- with it, so that nothing stays tolerated once the reader is fixed.
local function spec_reader()
  return proxy_reader("0x00-is-corrupt", function(db, path)
    local function raw(key)
      return slurp(path .. "/" .. key):byte(1) == 0
    end
    return {
      get = function(_, key)
        if raw(key) then return nil, "corrupt", "CORRUPT" end
        return db:get(key)
      end,
      each = function(_, ...)
        local f, st, c = db:each(...)
        return function(...)
          local k, v, m, cd = f(...)
          if k ~= nil and v ~= nil and raw(k) then return k, nil, "corrupt", "CORRUPT" end
          return k, v, m, cd
        end, st, c
      end,
    }
  end)
end

-- Whether the handle of reader reads a file of zero bytes as a value.
local function accepts_all_zero(reader)
  local dir = WORK .. "/probe"
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  local h = assert(io.open(dir .. "/z", "wb"))
  h:write(string.rep("\0", 64))
  h:close()
  local db = assert(reader.open(dir))
  local v = db:get("z")
  db:close()
  os.remove(dir .. "/z")
  os.remove(dir)
  return v ~= nil
end

describe("power cut #slow #powercut", function()
  setup(function()
    WORK = scratch()
  end)

  teardown(function()
    if WORK then os.execute("rm -rf '" .. WORK .. "'") end
  end)

  describe("the recorder", function()
    -- The op kinds of step j of a recording, as one string ("CWFXRF").
    local function kinds(text, j)
      local ops, marks = E.parse(text)
      local t = {}
      for i = marks[j].b + 1, marks[j].e do
        local o = ops[i]
        t[#t + 1] = o.op .. (o.op == "F" and (o.dir and "d" or "f") or "")
      end
      return table.concat(t), ops, marks
    end

    it("logs a durable put, del and add in order, with the data written", RL.counted("powercut", function()
      local text = recording("put-small", "full")
      local k, ops, marks = kinds(text, 1)
      assert.are.equal("CWFfXRFd", k)
      local w = ops[marks[1].b + 2]
      assert.are.equal(1, w.data:byte(1)) -- a value file: 0x01, then the framing
      assert.are.equal(29 + 8 + 8, #w.data) -- 29 bytes, a chunk header and CRC, "value a1"
      assert.is_truthy(w.data:find("value a1", 1, true))
      assert.are.equal("a", ops[marks[1].b + 5].b)
      assert.are.equal(".", ops[marks[1].b + 6].a)
      assert.are.equal("XUFd", (kinds(text, 4))) -- del reads the header first
      assert.are.equal("true", marks[4].result)
      local add = recording("add", "full")
      assert.are.equal("CWFfXCLXUFd", (kinds(add, 1))) -- add holds .okof-lock
      assert.are.equal("false", select(3, kinds(add, 2))[2].result)
    end))

    it("logs the removal of an expired value and the re-stamp of add", RL.counted("powercut", function()
      local text = recording("ttl-expired", "full")
      -- add over an expired value: its file, the lock file, the re-stamp,
      -- the expired value renamed aside and unlinked, the re-stamp again,
      -- the link, the unlink of its temporary name, the directory flushed
      local k, ops, marks = kinds(text, 5)
      assert.are.equal("CWFfXCWXCXRUXWXLXUFd", k)
      assert.are.equal(".okof-lock", ops[marks[5].b + 5].a)
      local restamp = ops[marks[5].b + 6]
      assert.are.equal(29, restamp.off) -- the expiry, in the value header
      assert.are.equal(8, #restamp.data)
      assert.are.equal(restamp.a, ops[marks[5].b + 1].a)
      local aside = ops[marks[5].b + 10]
      assert.are.equal("a", aside.a)
      assert.are.equal(".okof-tmp-", aside.b:sub(1, 10))
      assert.are.equal(aside.b, ops[marks[5].b + 11].a)
      assert.are.equal("a", ops[marks[5].b + 15].b)
      assert.are.equal("true", marks[5].result)
      -- del of an expired value, and sweep: renamed aside and unlinked
      assert.are.equal("false", marks[6].result)
      assert.is_truthy((kinds(text, 6)):find("CXRUX", 1, true))
      assert.are.equal("2", marks[7].result)
      assert.is_truthy((kinds(text, 7)):find("CXRUX.*CXRUX.*Fd$"))
    end))

    it("logs a write at its offset, replayed there", RL.counted("powercut", function()
      -- a file written, then 2 bytes at offset 1, then syncfs
      local ops = E.parse("C f\nW f 0 4\nabcdW f 1 2\nXYY\n")
      assert.are.equal(1, ops[3].off)
      local rec = E.annotate(ops)
      local got = {}
      for _, model in ipairs(MODELS) do
        E.states(rec, E.models[model], #ops, { seed = 1, meta_cap = 8, data_cap = 8 }, function(st)
          got[#got + 1] = st.files[1].path .. "=" .. st.files[1].content
        end)
      end
      assert.are.same({ "f=aXYd", "f=aXYd" }, got)
    end))

    it("logs pwrite64 and pwritev at their offsets", RL.counted("powercut", function()
      local dir, logp = WORK .. "/pw", WORK .. "/pw.log"
      assert(os.execute("mkdir -p '" .. dir .. "'"))
      local src = assert(io.open(WORK .. "/pw.c", "wb"))
      src:write([[
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct iovec v[2] = {{"bc", 2}, {"de", 2}};
    int fd = open(argv[argc - 1], O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || write(fd, "0123456789", 10) != 10 || pwrite64(fd, "a", 1, 7) != 1 ||
        pwritev(fd, v, 2, 2) != 4)
        return 1;
    return close(fd);
}
]])
      src:close()
      -- the program goes next to the recorder: the scratch directory may be noexec
      local exe = RECORDER:gsub("[^/]*$", "") .. "pwrite-probe"
      assert.is_truthy(os.execute("cc -o '" .. exe .. "' '" .. WORK .. "/pw.c'"))
      assert.is_truthy(os.execute(string.format("OKOF_PC_ROOT='%s' OKOF_PC_LOG='%s' LD_PRELOAD='%s' '%s' '%s/f'",
        dir, logp, RECORDER, exe, dir)))
      os.remove(exe)
      local h = assert(io.open(logp, "rb"))
      local ops = E.parse(h:read("*a"))
      h:close()
      local t = {}
      for _, o in ipairs(ops) do
        t[#t + 1] = o.op .. (o.op == "W" and (o.off .. "=" .. o.data) or "")
      end
      assert.are.same({ "C", "W0=0123456789", "W7=a", "W2=bcde", "X" }, t)
      local got
      E.states(E.annotate(ops), E.models.ext4, #ops, { seed = 1, meta_cap = 8, data_cap = 64 }, function(st)
        local f = st.files[1]
        if f and f.content:find("bcde") then got = f.content end
      end)
      assert.are.equal("01bcde6a89", got)
    end))

    it("logs no flush with sync = \"none\"", RL.counted("powercut", function()
      assert.are.equal("CWXR", (kinds(recording("put-small", "none"), 1)))
      assert.are.equal("XU", (kinds(recording("put-small", "none"), 4)))
    end))

    it("logs the directories open makes", RL.counted("powercut", function()
      local ops, marks = E.parse(recording("open-nested", "full"))
      local made = {}
      for i = marks[1].b + 1, marks[1].e do
        if ops[i].op == "D" then made[#made + 1] = ops[i].a end
      end
      assert.are.same({ "x", "x/y", "x/y/z" }, made)
    end))
  end)

  describe("every crash state reads as the contract says", function()
    for _, workload in ipairs(WL.ORDER) do
      for _, sync in ipairs(WL.MIXED[workload] and { "mixed" } or SYNCS) do
        for _, model in ipairs(MODELS) do
          it(workload .. ", sync = " .. sync .. ", " .. model,
            RL.counted("powercut", function()
              local tol = tolerated()
              local r = explore({ workload = workload, sync = sync, model = model, tolerated = tol,
                report_known = 0 })
              log_result(table.concat({ "powercut", workload, sync, model }, "."), r)
              assert.is_true(r.states > 0)
              assert.are.equal(0, r.unexpected)
            end))
        end
      end
    end
  end)

  -- The known violations are all there is: the code as docs/format.md says
  -- passes with nothing tolerated.
  describe("finds nothing wrong once the known faults are fixed", function()
    it("a reader that refuses 0x00 files, sync = \"none\"", RL.counted("powercut", function()
      for _, w in ipairs(WL.ORDER) do
        for _, model in ipairs(MODELS) do
          local r = explore({ workload = w, sync = WL.MIXED[w] and "mixed" or "none", model = model,
            reader = spec_reader(), meta_cap = 64, data_cap = 8 })
          assert.are.equal(0, r.violations)
        end
      end
    end))

    it("an open that fsyncs the parents of its new directories", RL.counted("powercut", function()
      local text = recording("open-nested", "full")
      local fixed = text
      if K.open_dirs.present(text) then
        -- as the fix does: after the mkdirs, each new directory's parent fsynced
        local n
        fixed, n = text:gsub("(D x/y/z\n)", "%1F x/y d\nF x d\nF . d\n", 1)
        assert.are.equal(1, n)
      end
      assert.is_false(K.open_dirs.present(fixed))
      for _, model in ipairs(MODELS) do
        local o = { workload = "open-nested", sync = "full", model = model }
        o.text, o.work, o.seed, o.meta_cap, o.data_cap = fixed, WORK, SEED, 256, 32
        o.reader = E.reader(false)
        local r = E.explore(o)
        assert.is_true(r.states > 0)
        assert.are.equal(0, r.violations)
      end
    end))
  end)

  -- The checker catches a broken okofdb: each broken variant must be
  -- flagged in some state of some workload.
  describe("catches a broken okofdb", function()
    local function caught(name, runs, classes)
      local total, states = 0, 0
      for _, o in ipairs(runs) do
        o.report = o.report or 1
        local r = explore(o)
        states = states + r.states
        total = total + count(r, (table.unpack or unpack)(classes))
      end
      RL.set("powercut.variant." .. name .. ".states", states)
      RL.set("powercut.variant." .. name .. ".caught", total)
      return total
    end

    it("no fsync of the file before the rename", RL.counted("powercut", function()
      local runs = {}
      for _, w in ipairs({ "put-small", "put-big", "add", "put_many" }) do
        for _, model in ipairs(MODELS) do
          runs[#runs + 1] = { workload = w, sync = "full", model = model, variant = "no-file-fsync" }
        end
      end
      assert.is_true(caught("no-file-fsync", runs, { "corrupt", "wrong", "raw00", "zeros" }) > 0)
    end))

    it("no fsync of the directory after the rename", RL.counted("powercut", function()
      local runs = {}
      for _, w in ipairs({ "put-small", "add", "put_many", "ttl-expired" }) do
        for _, model in ipairs(MODELS) do
          runs[#runs + 1] = { workload = w, sync = "full", model = model, variant = "no-dir-fsync" }
        end
      end
      assert.is_true(caught("no-dir-fsync", runs, { "lost" }) > 0)
    end))

    it("a reader that returns expired values", RL.counted("powercut", function()
      local runs = {}
      for _, model in ipairs(MODELS) do
        runs[#runs + 1] = { workload = "ttl-expired", sync = "full", model = model,
          reader = expiry_blind_reader() }
      end
      assert.is_true(caught("ignores-expiry", runs, { "expired" }) > 0)
    end))

    it("a reader that takes 0x00 files as raw values", RL.counted("powercut", function()
      local runs = {}
      for _, w in ipairs({ "put-small", "put-big" }) do
        for _, model in ipairs(MODELS) do
          runs[#runs + 1] = { workload = w, sync = "none", model = model, reader = raw_reader() }
        end
      end
      assert.is_true(caught("accepts-0x00", runs, { "raw00", "zeros" }) > 0)
    end))

    -- legacy = true reads raw 0x00 files, but never an all-zero one: the
    -- checker flags the crash-zeroed files exactly when the code reads them.
    -- (A file whose first block only was zeroed is a raw file to such a
    -- handle: legacy files carry no checksum; docs/durability.md says so.)
    it("legacy = true flags crash-zeroed files only if they are read", RL.counted("powercut", function()
      local reader = E.reader(true)
      local accepts = accepts_all_zero(reader)
      local runs = {}
      for _, w in ipairs({ "put-small", "put-big", "put_many" }) do
        for _, model in ipairs(MODELS) do
          runs[#runs + 1] = { workload = w, sync = "none", model = model, reader = reader }
        end
      end
      local n = caught("legacy", runs, { "zeros" })
      RL.set("powercut.legacy.accepts_all_zero", accepts and 1 or 0)
      if accepts then
        assert.is_true(n > 0)
      else
        assert.are.equal(0, n)
      end
    end))
  end)
end)
