-- spec/faults/write_faults_spec.lua -- failures of the write path that a
-- real disk or file system produces rarely, made on purpose with the shim
-- (spec/faults/shim.c):
--   - put_many with sync = "full": the fsync of any of its temporary files
--     fails with EIO (a write-back error): put_many reports it, with the
--     list of keys already in place (none), no temporary file left and
--     every old value intact; the final directory fsync failing reports
--     the error with every key in place;
--   - add over NFS: link(2) made the link but answers EEXIST (the reply to
--     the first transmission was lost, the retransmitted request found the
--     name taken): add must see that the name is its own file and return
--     true.
--
-- Runs only with the shim preloaded (make faults):
--   LD_PRELOAD=build/faults/shim.so lua5.4 busted spec/faults/write_faults_spec.lua
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local format, concat = string.format, table.concat

local FC = require("faults.common")
local F = FC.shim("write path faults", describe, it)
if not F then return end

local function counted(fn) return RL.counted("writefaults", fn) end

local function tmp_names(dir) return FC.tmp_names(F, dir) end

-- The n keys of a batch, and its values.
local function batch(n, tag)
  local t, keys = {}, {}
  for i = 1, n do
    local k = format("key:%03d", i)
    keys[i] = k
    t[k] = format("%s value %d", tag, i)
  end
  return t, keys
end

-- Run fn with fault (kind, nth, err) armed and the collector stopped;
-- returns fn's packed results, whether the fault fired, and the descriptors
-- that were opened and not closed.
local function armed(kind, nth, err, fn)
  collectgarbage()
  collectgarbage("stop")
  local before = F.fds()
  F.arm(kind, nth, err)
  local ok, res = pcall(fn)
  local fired = F.disarm()
  local after = F.fds()
  collectgarbage("restart")
  assert(ok, res)
  local leaked = {}
  for fd, target in pairs(after) do
    if before[fd] ~= target then leaked[#leaked + 1] = fd .. " -> " .. target end
  end
  return res, fired, leaked
end

describe("write path faults (LD_PRELOAD shim)", function()
  local dir
  before_each(function() dir = H.tmpdir() .. "/store" end)
  after_each(H.cleanup)

  -- A store holding the old values of the batch's keys.
  local function old_store(n)
    local old = batch(n, "old")
    local db = assert(okofdb.open(dir))
    assert(db:put_many(old))
    return db, old
  end

  local function check_failed_batch(res, keys, want_written)
    assert.are.equal(4, res.n)
    assert.is_nil(res[1])
    assert.are.equal("EIO", res[3])
    assert.truthy(H.contains(res[2], F.strerror("EIO")), res[2])
    assert.are.equal("table", type(res[4]))
    table.sort(res[4])
    local want = {}
    for i = 1, want_written do want[i] = keys[i] end
    assert.are.same(want, res[4])
  end

  for _, n in ipairs({ 1, 3, 150 }) do
    it(format("put_many of %d keys, sync = 'full': the fsync of its last temporary file fails with EIO", n),
      counted(function()
        local db, old = old_store(n)
        local new, keys = batch(n, "new")
        -- the batch's fsyncs: one per temporary file, then the directory's
        local res, fired, leaked = armed("fsync", n, "EIO", function() return H.pack(db:put_many(new)) end)
        assert.is_true(fired, "no fsync #" .. n .. ": " .. concat(F.trace(), " "))
        check_failed_batch(res, keys, 0)
        assert.are.same({}, leaked)
        assert.are.same({}, tmp_names(dir))
        for _, k in ipairs(keys) do assert.are.equal(old[k], db:get(k), k) end
        db:close()
        RL.add("writefaults.batch_fsync_failures", 1)
      end))
  end

  it("put_many, sync = 'full': whichever fsync of a temporary file fails, it is reported and nothing is left",
    counted(function()
      local n = 5
      local db, old = old_store(n)
      for pos = 1, n do
        local new, keys = batch(n, "new " .. pos)
        local res, fired, leaked = armed("fsync", pos, "EIO", function() return H.pack(db:put_many(new)) end)
        assert.is_true(fired)
        check_failed_batch(res, keys, 0)
        assert.are.same({}, leaked)
        assert.are.same({}, tmp_names(dir))
        for _, k in ipairs(keys) do assert.are.equal(old[k], db:get(k), k) end
        RL.add("writefaults.batch_fsync_failures", 1)
      end
      db:close()
    end))

  it("put_many, sync = 'full': the directory's fsync fails with EIO: reported, every key in place", counted(function()
    local n = 4
    local db = old_store(n)
    local new, keys = batch(n, "new")
    local res, fired = armed("fsync", n + 1, "EIO", function() return H.pack(db:put_many(new)) end)
    assert.is_true(fired)
    check_failed_batch(res, keys, n)
    assert.are.same({}, tmp_names(dir))
    for _, k in ipairs(keys) do assert.are.equal(new[k], db:get(k), k) end
    db:close()
  end))

  it("put_many, sync = 'full': starting the write-back fails with EIO: reported, nothing left; EINVAL: a hint refused, the batch succeeds",
    counted(function()
      local n = 3
      local db, old = old_store(n)
      local new, keys = batch(n, "new")
      local res, fired, leaked = armed("syncrange", 2, "EIO", function() return H.pack(db:put_many(new)) end)
      assert.is_true(fired, concat(F.trace(), " "))
      check_failed_batch(res, keys, 0)
      assert.are.same({}, leaked)
      assert.are.same({}, tmp_names(dir))
      for _, k in ipairs(keys) do assert.are.equal(old[k], db:get(k), k) end
      res, fired = armed("syncrange", 2, "EINVAL", function() return H.pack(db:put_many(new)) end)
      assert.is_true(fired)
      assert.are.same({ n = 1, true }, res)
      for _, k in ipairs(keys) do assert.are.equal(new[k], db:get(k), k) end
      assert.are.same({}, tmp_names(dir))
      db:close()
    end))

  it("put_many, sync = 'none': no fsync, no write-back started", counted(function()
    local db = assert(okofdb.open(dir, { sync = "none" }))
    local new = batch(3, "new")
    local res = armed("fsync", 0, nil, function() return H.pack(db:put_many(new)) end)
    assert.are.same({ n = 1, true }, res)
    assert.are.equal(0, F.count("fsync"))
    assert.are.equal(0, F.count("syncrange"))
    db:close()
  end))

  for _, sync in ipairs({ "full", "none" }) do
    it("add, sync = '" .. sync .. "': link(2) makes the link but answers EEXIST (NFS): add returns true", counted(function()
      local db = assert(okofdb.open(dir, { sync = sync }))
      local res, fired, leaked = armed("link", 1, "EEXIST_DONE", function()
        return H.pack(db:add("user:1", "the value"))
      end)
      assert.is_true(fired, concat(F.trace(), " "))
      assert.are.same({ n = 1, true }, res)
      assert.are.same({}, leaked)
      assert.are.equal("the value", db:get("user:1"))
      assert.are.same({}, tmp_names(dir))
      -- and a real EEXIST is still "already there"
      res = armed("link", 0, nil, function() return H.pack(db:add("user:1", "another")) end)
      assert.are.same({ n = 1, false }, res)
      assert.are.equal("the value", db:get("user:1"))
      assert.are.same({}, tmp_names(dir))
      db:close()
      RL.add("writefaults.nfs_link_eexist", 1)
    end))
  end

  it("add: when telling its own link from another file fails, the error is reported and nothing is left",
    counted(function()
      local db = assert(okofdb.open(dir))
      assert.is_true(db:add("k", "first"))
      -- the link answers EEXIST (the key has a value); the stat that
      -- follows fails
      local res, fired = armed("stat", 1, "EIO", function() return H.pack(db:add("k", "second")) end)
      assert.is_true(fired, concat(F.trace(), " "))
      assert.are.equal(3, res.n)
      assert.is_nil(res[1])
      assert.are.equal("EIO", res[3])
      assert.are.equal("first", db:get("k"))
      assert.are.same({}, tmp_names(dir))
      db:close()
    end))
end)
