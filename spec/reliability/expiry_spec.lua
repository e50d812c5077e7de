-- spec/reliability/expiry_spec.lua -- docs/ttl.md under load:
-- "Of processes adding one absent or expired key, exactly one succeeds; no
-- put that returned is lost to a sweep or an add; a sweep never removes a
-- live value", and a reader never reads an expired value.
--
-- Processes (reliability/expiry_worker.lua) share a store:
--   - putters, adders, sweepers and readers on the same keys: each putter
--     makes its key expired again and again (a hand-made value file whose
--     expiry is long past) and puts a live value over it while adders
--     replace expired values and sweepers remove them; every put must read
--     back (after the brief window docs/ttl.md names, which is counted),
--     and no reader may see an expired value;
--   - rounds of contenders: the parent makes the key "lock" expired, then
--     starts N processes that all add it: exactly one must win each round,
--     and the others must find its value;
--   - racers adding "lock" with an 80 ms ttl again and again: the winners'
--     expiries must be at least 80 ms apart (one winner per period);
--   - a lock holder killed with SIGKILL: nobody takes its lock before its
--     ttl passes, then exactly one contender does.
-- The long runs are tagged #slow (`make reliability`); short ones run with
-- every spec. Counts go to the reliability log (RELIABILITY.md).
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local function counted(fn) return RL.counted("expiry", fn) end

local WORKER = H.SPEC_DIR .. "/reliability/expiry_worker.lua"
local SLOW_SECONDS = tonumber(os.getenv("OKOF_EXPIRY_SECONDS") or "") or 10
local FAR_PAST = 1000 -- ms since the epoch

local lua_cmd, now = H.lua_cmd, H.now

-- A value file holding data that expired long ago.
local function dead_file(data, expiry)
  return "\1" .. H.STREAM_ID ..
    H.chunk(0x80, "okof\1\1" .. H.le(#data, 8) .. H.le(expiry or FAR_PAST, 8)) .. H.raw_chunk(data)
end

-- Run the given workers ({role, id, arg}) until `seconds` pass (or one
-- fails); returns their reports (role, id, line) and the seconds run.
local function run_workers(base, dir, nkeys, workers, seconds)
  local stopfile, donefile = base .. "/stop", base .. "/done"
  local cmds, procs = {}, {}
  for i, w in ipairs(workers) do
    local p = { role = w[1], id = w[2], out = base .. "/" .. w[1] .. i .. ".out" }
    procs[#procs + 1] = p
    cmds[#cmds + 1] = lua_cmd(WORKER) .. " " .. table.concat({ w[1], tostring(w[2]), H.q(dir),
      H.q(stopfile), H.q(p.out), tostring(nkeys), w[3] and H.q(w[3]) or "" }, " ") ..
      " 2>>" .. H.q(base .. "/stderr") .. " &"
  end
  local t0 = now()
  assert.is_true(H.start_all(cmds, donefile))
  local early
  while now() - t0 < seconds and not early do
    H.sleep(0.1)
    local ended = 0
    for _, p in ipairs(procs) do
      local o = H.read_file(p.out)
      if o and o:match("^fail") then early = true end
      if o then ended = ended + 1 end
    end
    early = early or ended == #procs
  end
  H.stop_all(stopfile, donefile)
  for _, p in ipairs(procs) do p.line = H.read_file(p.out) or "(no report)\n" end
  return procs, now() - t0
end

local function sum(procs, role, name)
  local n = 0
  for _, p in ipairs(procs) do
    if p.role == role then n = n + (tonumber(p.line:match(name .. "=(%d+)")) or 0) end
  end
  return n
end

local function failures(procs)
  local t = {}
  for _, p in ipairs(procs) do
    if not p.line:match("^done") then t[#t + 1] = p.role .. " " .. p.id .. ": " .. p.line end
  end
  return t
end

-- Putters, adders, sweepers and readers on the same keys for `seconds`.
local function mixed(seconds, putters)
  local base = H.tmpdir()
  local dir = base .. "/store"
  local template = base .. "/dead"
  assert(okofdb.open(dir)):close()
  H.write_file(template, dead_file("dead:value"))
  local workers = {}
  for i = 1, putters do workers[#workers + 1] = { "putter", i, template } end
  for i = 1, 2 do workers[#workers + 1] = { "adder", i, "0.05" } end
  for i = 1, 2 do workers[#workers + 1] = { "sweeper", i } end
  workers[#workers + 1] = { "reader", 1 }
  local procs, secs = run_workers(base, dir, putters, workers, seconds)
  local fails = failures(procs)
  RL.set("expiry.mixed_processes", #workers)
  RL.add("expiry.mixed_seconds", string.format("%.1f", secs))
  RL.add("expiry.puts_checked", sum(procs, "putter", "puts"))
  RL.add("expiry.windows", sum(procs, "putter", "windows"))
  RL.add("expiry.adds", sum(procs, "adder", "adds"))
  RL.add("expiry.add_wins", sum(procs, "adder", "wins"))
  RL.add("expiry.sweeps", sum(procs, "sweeper", "sweeps"))
  RL.add("expiry.swept", sum(procs, "sweeper", "removed"))
  RL.add("expiry.reads_checked", sum(procs, "reader", "reads"))
  RL.add("expiry.lost", #fails)
  assert.are.same({}, fails)
  assert.is_true(sum(procs, "putter", "puts") > 0)
  -- a temporary file left would be a put moved aside and never put back
  local left = {}
  for _, name in ipairs(H.tmpfiles(dir)) do
    if not name:match("^%.okof%-tmp%-seed%-") then left[#left + 1] = name end
  end
  assert.are.same({}, left)
end

-- One round: "lock" holds an expired value; n contenders add it at once.
local function round(base, dir, r, n)
  H.write_file(dir .. "/.okof-tmp-round", dead_file("dead:" .. r))
  assert(os.rename(dir .. "/.okof-tmp-round", dir .. "/lock"))
  local workers = {}
  for i = 1, n do workers[i] = { "contender", r * 100 + i } end
  local rbase = base .. "/r" .. r
  assert(H.run("mkdir " .. H.q(rbase)))
  local procs = run_workers(rbase, dir, 1, workers, 60)
  local won, lost_to, fails = {}, {}, failures(procs)
  for _, p in ipairs(procs) do
    if p.line:match("^done won") then won[#won + 1] = "contender:" .. p.id end
    local to = p.line:match("lost to=(%S+)")
    if to then lost_to[#lost_to + 1] = to end
  end
  return won, lost_to, fails
end

describe("expiry under load", function()
  after_each(H.cleanup)

  it("putters, adders, sweepers and readers: no put lost, nothing expired read", counted(function()
    mixed(1.5, 2)
  end))

  it("#slow putters, adders, sweepers and readers for longer", counted(function()
    mixed(SLOW_SECONDS, 3)
  end))

  local function rounds(count, n)
    local base = H.tmpdir()
    local dir = base .. "/store"
    local db = assert(okofdb.open(dir))
    local winners = 0
    for r = 1, count do
      local won, lost_to, fails = round(base, dir, r, n)
      assert.are.same({}, fails)
      assert.are.equal(1, #won, "round " .. r .. ": winners " .. table.concat(won, " "))
      winners = winners + #won
      assert.are.equal(won[1], db:get("lock"))
      for _, to in ipairs(lost_to) do assert.are.equal(won[1], to) end
    end
    db:close()
    RL.add("expiry.rounds", count)
    RL.add("expiry.round_contenders", count * n)
    RL.add("expiry.round_winners", winners)
  end

  it("contenders adding an expired key: exactly one wins each round", counted(function()
    rounds(5, 4)
  end))

  it("#slow contenders adding an expired key: exactly one wins each of many rounds", counted(function()
    rounds(60, 5)
  end))

  -- Racers adding "lock" with an 80 ms ttl. An add's ttl counts from the
  -- moment it holds the store's lock, and it may take the key only once
  -- the value there has expired: so the expiries of the winners' values,
  -- in order, are at least 80 ms apart. Each racer logs the expiry of its
  -- value when it wins (while the file is still its own).
  local function racers(seconds, n)
    local base = H.tmpdir()
    local dir = base .. "/store"
    assert(okofdb.open(dir)):close()
    local workers = {}
    for i = 1, n do workers[i] = { "racer", i, "0.08" } end
    local procs, secs = run_workers(base, dir, 1, workers, seconds)
    assert.are.same({}, failures(procs))
    local expiries = {}
    for _, p in ipairs(procs) do
      for e in (H.read_file(p.out .. ".expiries") or ""):gmatch("(%d+)\n") do
        expiries[#expiries + 1] = tonumber(e)
      end
    end
    table.sort(expiries)
    local close = 0
    for i = 2, #expiries do
      if expiries[i] - expiries[i - 1] < 80 then close = close + 1 end
    end
    RL.add("expiry.racer_adds", sum(procs, "racer", "adds"))
    RL.add("expiry.racer_wins", sum(procs, "racer", "wins"))
    RL.add("expiry.racer_periods_checked", #expiries)
    RL.add("expiry.racer_seconds", string.format("%.1f", secs))
    RL.add("expiry.lost", close)
    assert.is_true(#expiries >= 1)
    assert.are.equal(0, close, "winners less than a ttl apart")
  end

  it("racers with an 80 ms ttl win one at a time", counted(function()
    racers(1, 4)
  end))

  it("#slow racers with an 80 ms ttl win one at a time, for longer", counted(function()
    racers(SLOW_SECONDS, 6)
  end))

  it("a lock whose holder was killed with SIGKILL is free once its ttl passes, to exactly one",
    counted(function()
      local base = H.tmpdir()
      local dir = base .. "/store"
      local ready = base .. "/ready"
      H.write_file(base .. "/holder.lua", table.concat({
        "local db = assert(require('okofdb').open(" .. string.format("%q", dir) .. "))",
        "assert(db:add('lock', 'holder', 2) == true)",
        "io.open(" .. string.format("%q", ready) .. ", 'w'):close()",
        "while true do end",
      }, "\n"))
      local got = H.run_and_kill(lua_cmd(base .. "/holder.lua"), ready, base .. "/holder.err", 0, 2000)
      assert.are.equal("killed", got)
      local db = assert(okofdb.open(dir))
      assert.are.equal("holder", db:get("lock"))
      local expiry = H.read_le(H.read_file(dir .. "/lock"), 30, 8)
      -- others fail while it lives: an add that succeeds must come after it
      local r = db:add("lock", "parent", 60)
      if r then assert.is_true(now() * 1000 >= expiry) else assert.are.equal("holder", db:get("lock")) end
      if not r then
        local won, lost_to, fails = {}, {}, nil
        local workers = {}
        for i = 1, 4 do workers[i] = { "contender", i } end
        local procs = run_workers(base, dir, 1, workers, 60)
        fails = failures(procs)
        assert.are.same({}, fails)
        for _, p in ipairs(procs) do
          if p.line:match("^done won") then
            won[#won + 1] = "contender:" .. p.id
            local at = tonumber(p.line:match("at=(%d+)"))
            assert.is_true(at >= math.floor(expiry / 1000), "won before the ttl passed")
          end
          local to = p.line:match("lost to=(%S+)")
          if to then lost_to[#lost_to + 1] = to end
        end
        assert.are.equal(1, #won)
        for _, to in ipairs(lost_to) do assert.are.equal(won[1], to) end
        assert.are.equal(won[1], db:get("lock"))
      end
      db:close()
      RL.add("expiry.killed_holders", 1)
    end))
end)
