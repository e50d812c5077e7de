-- spec/etcd/ttl_spec.lua -- values that expire on an etcd store (docs/ttl.md,
-- docs/etcd.md): the same API as a directory's; the
-- value in etcd holds its expiry in the value header, and the key is
-- attached to an etcd lease so that the cluster removes it. Leases are
-- shared by values of the same expiry bucket. An expired value is no value
-- for get, ttl, each, add and del, before and after the cluster removes
-- it; add over an expired value lets exactly one of many writers win.
-- Most expired values are written by hand with an expiry in the past, so
-- little waits; waits only outlast a ttl and assert no speed.
local H = require("helpers")
local EC = require("support.etcd_cluster")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

if not EC.available() then
  describe("okofdb on etcd: ttl #etcd", function() pending(EC.why_not()) end)
  return
end

-- every test counted in the reliability log (etcd.tests, etcd.passed)
local busted_it = it
local function it(name, fn) return busted_it(name, RL.counted("etcd", fn)) end

local PROCS = 8
local cluster, stores = nil, 0

-- A store of its own for each test: etcd://members/xN
local function fresh()
  stores = stores + 1
  local path = "x" .. stores
  return assert(okofdb.open(cluster:url(path))), "/" .. path .. "/"
end

local function wall_ms()
  return tonumber((H.sh("date +%s%3N"):match("%d+")))
end

-- The value bytes of data expiring at expiry (ms since the epoch).
local function expiring(data, expiry)
  local payload = "okof\1\1" .. H.le(#data, 8) .. H.le(expiry, 8)
  return "\1" .. H.STREAM_ID .. H.chunk(0x80, payload) .. H.raw_chunk(data)
end

-- The lease (decimal id) etcd holds the key with; nil for none.
local function lease_of(key)
  local out, ok = cluster:etcdctl("get -w json -- " .. H.q(key))
  assert(ok, out)
  local id = out:match('"lease":(%d+)')
  return id ~= nil and id ~= "0" and id or nil
end

-- A lease's decimal id in hex, as etcdctl lease takes it (exact: LuaJIT's
-- numbers cannot hold every int64).
local function hex_id(dec)
  local digits, out = {}, {}
  for d in dec:gmatch("%d") do digits[#digits + 1] = tonumber(d) end
  while #digits > 0 do
    local rem, q = 0, {}
    for _, d in ipairs(digits) do
      local cur = rem * 10 + d
      local qd = math.floor(cur / 16)
      rem = cur % 16
      if #q > 0 or qd > 0 then q[#q + 1] = qd end
    end
    table.insert(out, 1, string.format("%x", rem))
    digits = q
  end
  return table.concat(out)
end

local function lease_count()
  local out, ok = cluster:etcdctl("lease list")
  assert(ok, out)
  return tonumber(out:match("found (%d+) leases")) or 0
end

-- Wait (at most limit seconds) until pred() holds.
local function wait_until(pred, limit, what)
  for _ = 1, limit * 5 do
    if pred() then return end
    H.sleep(0.2)
  end
  error("gave up waiting: " .. what)
end

describe("okofdb on etcd: ttl #etcd", function()
  local start_cluster, stop_cluster = EC.hooks(function(c) cluster = c end)
  lazy_setup(start_cluster)
  lazy_teardown(stop_cluster)

  describe("put, add, put_many with a ttl", function()
    it("store the value file with the expiry in its header, under a lease", function()
      local db, prefix = fresh()
      local before = wall_ms()
      assert.is_true(db:put("k", "a value", 60))
      local after = wall_ms()
      local raw = cluster:get_raw(prefix .. "k")
      assert.are.equal("\1" .. H.STREAM_ID .. "\128\22\0\0okof\1\1" .. H.le(7, 8), raw:sub(1, 29))
      local expiry = H.read_le(raw, 30, 8)
      assert.is_true(expiry >= before + 60000 and expiry <= after + 60000)
      assert.are.equal(H.raw_chunk("a value"), raw:sub(38))
      assert.truthy(lease_of(prefix .. "k"))
      assert.are.equal("a value", db:get("k"))
      local left = db:ttl("k")
      assert.is_true(left > 0 and left <= 60)
      db:close()
    end)

    it("add and put_many take a ttl too", function()
      local db, prefix = fresh()
      assert.is_true(db:add("a", "v", 30))
      assert.is_false(db:add("a", "w", 30))
      assert.is_true(db:put_many({ m1 = "x", m2 = "y" }, 30))
      for _, k in ipairs({ "a", "m1", "m2" }) do
        local left = db:ttl(k)
        assert.is_true(left > 0 and left <= 30, k)
        assert.are.equal("\128\22\0\0okof\1\1", cluster:get_raw(prefix .. k):sub(12, 21), k)
        assert.truthy(lease_of(prefix .. k), k)
      end
      assert.are.equal("x", db:get("m1"))
      db:close()
    end)

    it("without a ttl: no lease, never expires; a put without one makes a value permanent", function()
      local db, prefix = fresh()
      assert.is_true(db:put("k", "v"))
      assert.is_nil(lease_of(prefix .. "k"))
      assert.are.equal(false, db:ttl("k"))
      assert.is_true(db:put("t", "v", 60))
      assert.truthy(lease_of(prefix .. "t"))
      assert.is_true(db:put("t", "w"))
      assert.is_nil(lease_of(prefix .. "t"))
      assert.are.equal(false, db:ttl("t"))
      assert.are.equal(H.okof_file(1, H.raw_chunk("w")), cluster:get_raw(prefix .. "t"))
      assert.is_nil(db:ttl("missing"))
      assert.are.equal(1, H.pack(db:ttl("missing")).n)
      db:close()
    end)

    it("values with the same ttl share a few leases", function()
      local db = fresh()
      local before = lease_count()
      for i = 1, 30 do assert.is_true(db:put("k" .. i, "v", 120)) end
      for i = 1, 3 do assert.is_true(db:put_many({ ["m" .. i] = "v" }, 120)) end
      local granted = lease_count() - before
      assert.is_true(granted >= 1 and granted <= 3, "leases granted: " .. granted)
      db:close()
    end)

    it("a lease the cluster lost is replaced once, and the put succeeds", function()
      local db, prefix = fresh()
      assert.is_true(db:put("a", "v", 300))
      local id = assert(lease_of(prefix .. "a"))
      local out, ok = cluster:etcdctl("lease revoke " .. hex_id(id))
      assert(ok, out)
      assert.is_nil(cluster:get_raw(prefix .. "a")) -- revoking removed its keys
      assert.is_true(db:put("b", "v", 300))
      assert.is_true(db:add("c", "v", 300))
      assert.is_true(db:put_many({ d = "v" }, 300))
      for _, k in ipairs({ "b", "c", "d" }) do
        local l = lease_of(prefix .. k)
        assert.truthy(l, k)
        assert.are_not.equal(id, l, k)
      end
      db:close()
    end)
  end)

  describe("an expired value", function()
    it("is no value for get, ttl, each, add and del before the cluster removes it", function()
      local db, prefix = fresh()
      cluster:put_raw(prefix .. "old", expiring("stale", 1000))
      cluster:put_raw(prefix .. "live", expiring("fresh", 2 ^ 50))
      assert.is_nil(db:get("old"))
      assert.are.equal(1, H.pack(db:get("old")).n)
      assert.is_nil(db:ttl("old"))
      assert.are.equal(1, H.pack(db:ttl("old")).n)
      assert.are.equal("fresh", db:get("live"))
      assert.is_true(db:ttl("live") > 1e9)
      local seen = {}
      for k, v in db:each() do seen[k] = v end
      assert.are.same({ live = "fresh" }, seen)
      local keys = {}
      for k in db:keys() do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({ "live", "old" }, keys) -- keys may list it
      assert.is_false(db:del("old"))
      assert.is_nil(cluster:get_raw(prefix .. "old")) -- del removed it
      cluster:put_raw(prefix .. "old", expiring("stale", 1000))
      assert.is_true(db:add("old", "new"))
      assert.are.equal("new", db:get("old"))
      cluster:put_raw(prefix .. "old", expiring("stale", 1000))
      assert.is_true(db:add("old", "newer", 60))
      assert.are.equal("newer", db:get("old"))
      assert.are.equal(0, db:sweep())
      db:close()
    end)

    it("is absent once expired and after the cluster removed it", function()
      local db, prefix = fresh()
      assert.is_true(db:put("k", "short", 1))
      local raw = cluster:get_raw(prefix .. "k")
      local expiry = H.read_le(raw, 30, 8)
      wait_until(function() return wall_ms() >= expiry end, 10, "the expiry")
      assert.is_nil(db:get("k"))
      assert.is_nil(db:ttl("k"))
      for k in db:each() do error("each yielded " .. k) end
      wait_until(function() return cluster:get_raw(prefix .. "k") == nil end, 60, "the lease")
      assert.is_nil(db:get("k"))
      assert.is_nil(db:ttl("k"))
      assert.is_false(db:del("k"))
      db:close()
    end)
  end)

  describe("bad ttls raise as for directories", function()
    local bad = {
      { 0, "must be a positive number" },
      { -1, "must be a positive number" },
      { 0 / 0, "must be a positive number" },
      { math.huge, "too large to store" },
      { 2 ^ 62, "too large to store" },
      { "5", "number expected, got string" },
      { {}, "number expected, got table" },
    }
    it("and send nothing", function()
      local db, prefix = fresh()
      for _, case in ipairs(bad) do
        local msg = H.error_of(db.put, db, "k", "v", case[1])
        assert.truthy(H.contains(msg, "bad argument #3 to 'put' (ttl: " .. case[2] .. ")"), msg)
        msg = H.error_of(db.add, db, "k", "v", case[1])
        assert.truthy(H.contains(msg, "bad argument #3 to 'add' (ttl: " .. case[2] .. ")"), msg)
        msg = H.error_of(db.put_many, db, { k = "v" }, case[1])
        assert.truthy(H.contains(msg, "bad argument #2 to 'put_many' (ttl: " .. case[2] .. ")"), msg)
      end
      assert.are.same({}, cluster:keys_raw(prefix))
      assert.truthy(H.contains(H.error_of(db.ttl, db, ""), "bad argument #1 to 'ttl' (key: must not be empty)"))
      db:close()
    end)
  end)

  describe("processes", function()
    local dir
    lazy_setup(function() dir = H.tmpdir() end)

    -- PROCS children add key (ttl from OKOF_CHILD_TTL) all at once; their
    -- output lines, per child.
    local round = 0
    local function race(path, key, ttl)
      round = round + 1
      local fifo = dir .. "/go." .. round
      assert(H.run("mkfifo " .. H.q(fifo)))
      local pids, outs, results = {}, {}, {}
      finally(function()
        for _, pid in ipairs(pids) do EC.kill_child(pid) end
      end)
      for c = 1, PROCS do
        outs[c] = dir .. "/race." .. round .. "." .. c
        pids[c] = EC.spawn_child({ cluster:url(path), "race", fifo, tostring(c), H.hex(key) },
                                 outs[c], ttl and ("OKOF_CHILD_TTL=" .. ttl .. " ") or nil)
      end
      for c = 1, PROCS do
        EC.wait_for(outs[c], function(l) return l[1] == "ready" end, 60, pids[c])
      end
      H.sleep(0.2)
      local go = assert(io.open(fifo, "wb"))
      for c = 1, PROCS do
        results[c] = EC.wait_for(outs[c], function(l) return l[#l] == "end" end, 120, pids[c])
      end
      go:close()
      local won = {}
      for c, lines in ipairs(results) do
        for _, l in ipairs(lines) do
          if l:match("^err") then error("child " .. c .. ": " .. l) end
          if l:match("^won") then won[#won + 1] = c end
        end
      end
      RL.add("etcd.race.keys", 1)
      return won
    end

    it("8 processes add over an expired value: exactly one wins", function()
      for i = 1, 3 do
        local db, prefix = fresh()
        cluster:put_raw(prefix .. "k", expiring("stale", 1000))
        local path = prefix:sub(2, -2)
        local won = race(path, "k", i == 1 and nil or 60)
        assert.are.equal(1, #won, "round " .. i)
        assert.are.equal("child " .. won[1], db:get("k"))
        if i > 1 then assert.truthy(lease_of(prefix .. "k")) end
        db:close()
      end
    end)

    it("a lock: its holder dies, others fail until its ttl passes, then one wins", function()
      local db, prefix = fresh()
      local path = prefix:sub(2, -2)
      local out = dir .. "/holder"
      local pid = EC.spawn_child({ cluster:url(path), "hold", "lock", "holder", "1" }, out)
      finally(function() EC.kill_child(pid) end)
      EC.wait_for(out, function(l) return l[1] == "won" end, 60, pid)
      EC.kill_child(pid)
      local expiry = H.read_le(cluster:get_raw(prefix .. "lock"), 30, 8)
      local ok = db:add("lock", "early", 1)
      local t = wall_ms()
      -- an add that ended before the expiry cannot have won; one that won
      -- ran after it
      if t < expiry then assert.is_false(ok) end
      if ok then
        assert.is_true(t >= expiry)
        assert.is_true(db:del("lock"))
      end
      wait_until(function() return db:ttl("lock") == nil end, 30, "the lock's expiry")
      local won = race(path, "lock", 30)
      assert.are.equal(1, #won)
      assert.are.equal("child " .. won[1], db:get("lock"))
      db:close()
    end)
  end)
end)
