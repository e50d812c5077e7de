-- spec/etcd/race_spec.lua -- processes racing on one etcd store: of any
-- number of processes adding one key, exactly one wins (docs/etcd.md:
-- add is one transaction on the key's create revision).
local H = require("helpers")
local EC = require("support.etcd_cluster")
local RL = require("reliability.rlog")

if not EC.available() then
  describe("okofdb on etcd: races #etcd", function() pending(EC.why_not()) end)
  return
end

local okofdb = require("okofdb")

-- every test counted in the reliability log (etcd.tests, etcd.passed)
local busted_it = it
local function it(name, fn) return busted_it(name, RL.counted("etcd", fn)) end

local PROCS = 8

describe("okofdb on etcd: races #etcd", function()
  local cluster, dir

  local start_cluster, stop_cluster = EC.hooks(function(c, d) cluster, dir = c, d end)
  lazy_setup(start_cluster)
  lazy_teardown(stop_cluster)

  -- Start PROCS children adding the keys (each child's list from
  -- order(child, keys)) all at once; return per child its output lines.
  local round = 0
  local function race(path, keys, order)
    round = round + 1
    local fifo = dir .. "/go." .. round
    assert(H.run("mkfifo " .. H.q(fifo)))
    local url = cluster:url(path)
    local pids, outs = {}, {}
    finally(function()
      for _, pid in ipairs(pids) do EC.kill_child(pid) end
    end)
    for c = 1, PROCS do
      local args = { url, "race", fifo, tostring(c) }
      for _, k in ipairs(order(c, keys)) do args[#args + 1] = H.hex(k) end
      outs[c] = dir .. "/race." .. round .. "." .. c
      pids[c] = EC.spawn_child(args, outs[c])
    end
    for c = 1, PROCS do
      EC.wait_for(outs[c], function(l) return l[1] == "ready" end, 60, pids[c])
    end
    -- every child has printed "ready" and is about to block opening the
    -- fifo; opening it for writing lets them all go
    H.sleep(0.2)
    local go = assert(io.open(fifo, "wb"))
    local results = {}
    for c = 1, PROCS do
      results[c] = EC.wait_for(outs[c], function(l) return l[#l] == "end" end, 120, pids[c])
    end
    go:close()
    return results
  end

  -- Per key: the children that won it; fails on any error line.
  local function winners(results, keys)
    local won = {}
    for _, k in ipairs(keys) do won[H.hex(k)] = {} end
    for c, lines in ipairs(results) do
      for _, l in ipairs(lines) do
        local what, khex = l:match("^(%a+) (%x+)")
        if what == "err" then error("child " .. c .. ": " .. l) end
        if what == "won" then table.insert(won[khex], c) end
      end
    end
    return won
  end

  local function same(_, keys) return keys end
  local function rotated(c, keys)
    local t = {}
    for i = 1, #keys do t[i] = keys[(i + c - 2) % #keys + 1] end
    return t
  end

  it("8 processes add the same keys in the same order: one wins each", function()
    local keys = {}
    for i = 1, 10 do keys[i] = "same" .. i end
    local results = race("race/same", keys, same)
    local won = winners(results, keys)
    local db = assert(okofdb.open(cluster:url("race/same")))
    for _, k in ipairs(keys) do
      local w = won[H.hex(k)]
      assert.are.equal(1, #w, "winners of " .. k)
      assert.are.equal("child " .. w[1], db:get(k))
    end
    -- every child saw every key: a result line per key
    for c = 1, PROCS do assert.are.equal(#keys + 2, #results[c]) end
    db:close()
    RL.add("etcd.race.keys", #keys)
    RL.set("etcd.race.procs", PROCS)
    local distinct = {}
    for _, w in pairs(won) do distinct[w[1]] = true end
    RL.set("etcd.race.distinct_winners", H.count(distinct))
  end)

  it("8 processes add the same keys in different orders: one wins each", function()
    local keys = {}
    for i = 1, 12 do keys[i] = "rot" .. i end
    local won = winners(race("race/rotated", keys, rotated), keys)
    local db = assert(okofdb.open(cluster:url("race/rotated")))
    for _, k in ipairs(keys) do
      local w = won[H.hex(k)]
      assert.are.equal(1, #w, "winners of " .. k)
      assert.are.equal("child " .. w[1], db:get(k))
    end
    db:close()
    RL.add("etcd.race.keys", #keys)
  end)

  it("8 processes add keys that exist: none wins, the values stay", function()
    local keys = { "there1", "there2", "there3" }
    local db = assert(okofdb.open(cluster:url("race/there")))
    for _, k in ipairs(keys) do assert.is_true(db:put(k, "first " .. k)) end
    local won = winners(race("race/there", keys, same), keys)
    for _, k in ipairs(keys) do
      assert.are.equal(0, #won[H.hex(k)])
      assert.are.equal("first " .. k, db:get(k))
    end
    db:close()
  end)

  it("a key deleted between two races is won once in each", function()
    local keys = { "again" }
    local won1 = winners(race("race/again1", keys, same), keys)
    assert.are.equal(1, #won1[H.hex("again")])
    local db = assert(okofdb.open(cluster:url("race/again1")))
    assert.is_true(db:del("again"))
    db:close()
    -- the same store path again, through a fresh fifo
    local results = race("race/again1", keys, same)
    local won2 = winners(results, keys)
    assert.are.equal(1, #won2[H.hex("again")])
  end)
end)
