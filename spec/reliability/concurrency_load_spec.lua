-- spec/reliability/concurrency_load_spec.lua -- README "What okofdb
-- guarantees", under load: "A reader -- in any process -- sees the old
-- value or the new one, never a mix, never a partial file", "Concurrent
-- writers of one key: the last rename wins; nothing is corrupted."
--
-- OKOF_CONC_WRITERS (default 4) writer processes and OKOF_CONC_READERS
-- (default 4) reader processes (reliability/conc_worker.lua) share a few
-- keys for OKOF_CONC_SECONDS (default 10) seconds. Writers put
-- self-describing values of every size class (below and above
-- compress_min; half the writers with sync = "full", half with "none") and
-- log each put that returned; readers check every value they get, and walk
-- each and keys. The parent writes every key before they start, so a
-- missing value is a failure too. At the end the final value of each key
-- must be the last value its writer logged for that key (the last rename
-- wins), and no temporary file is left.
-- Tagged #slow: `make reliability` runs it; the per-Lua spec runs exclude it.
local H = require("helpers")
local V = require("reliability.values")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local function counted(fn) return RL.counted("concurrency", fn) end

local SECONDS = tonumber(os.getenv("OKOF_CONC_SECONDS") or "") or 10
local WRITERS = tonumber(os.getenv("OKOF_CONC_WRITERS") or "") or 4
local READERS = tonumber(os.getenv("OKOF_CONC_READERS") or "") or 4
local WORKER = H.SPEC_DIR .. "/reliability/conc_worker.lua"

local lua_cmd, now = H.lua_cmd, H.now

describe("#slow writer and reader processes on the same keys", function()
  after_each(H.cleanup)

  it("never show a torn, corrupt or missing value, never fail, and the last rename wins", counted(function()
    assert.is_true(WRITERS >= 1 and READERS >= 1)
    local base = H.tmpdir()
    local dir, poolfile, stopfile, donefile =
      base .. "/store", base .. "/pool", base .. "/stop", base .. "/done"
    local pool = V.pool()
    H.write_file(poolfile, pool)

    local keys = { "k0", "k1", "k2", "Mixed:Key/1", "k4", "k5" }
    local db = assert(okofdb.open(dir))
    for i, k in ipairs(keys) do
      assert.is_true(db:put(k, V.make(pool, k, 0, i, i % #V.CLASSES + 1)))
    end
    local hexkeys = {}
    for i, k in ipairs(keys) do hexkeys[i] = H.q(V.hex(k)) end
    local keyargs = table.concat(hexkeys, " ")

    local procs, cmds = {}, {}
    local function spawn(role, id, env)
      local p = { role = role, id = id, out = base .. "/" .. role .. id .. ".out",
                  log = base .. "/" .. role .. id .. ".log" }
      procs[#procs + 1] = p
      cmds[#cmds + 1] = env .. lua_cmd(WORKER) .. " " .. table.concat({ role, tostring(id),
        H.q(dir), H.q(poolfile), H.q(stopfile), H.q(p.out), H.q(p.log) }, " ") ..
        " " .. keyargs .. " 2>>" .. H.q(base .. "/stderr") .. " &"
    end
    for i = 1, WRITERS do
      spawn("writer", i, "OKOF_CONC_SYNC=" .. (i % 2 == 1 and "full" or "none") .. " ")
    end
    for i = 1, READERS do spawn("reader", i, "") end

    local t0 = now()
    assert.is_true(H.start_all(cmds, donefile))
    -- run for SECONDS, stopping early when a process has already failed
    local early
    while now() - t0 < SECONDS and not early do
      H.sleep(0.25)
      for _, p in ipairs(procs) do
        local o = H.read_file(p.out)
        if o and o:match("^fail") then early = p.role .. p.id .. ": " .. o end
      end
    end
    local t1 = H.stop_all(stopfile, donefile)
    local seconds = t1 - t0

    -- the workers' reports
    local failures, writes, gets, walks, walked = {}, 0, 0, 0, 0
    for _, p in ipairs(procs) do
      local o = H.read_file(p.out) or "(no report)\n"
      if not o:match("^done") then
        failures[#failures + 1] = p.role .. " " .. p.id .. ": " .. o
      elseif p.role == "writer" then
        writes = writes + tonumber(o:match("writes=(%d+)"))
      else
        gets = gets + tonumber(o:match("gets=(%d+)"))
        walks = walks + tonumber(o:match("walks=(%d+)"))
        walked = walked + tonumber(o:match("walked=(%d+)"))
      end
    end

    -- the writers' logs: what each wrote, in order
    local last, logged = {}, 0
    for _, p in ipairs(procs) do
      if p.role == "writer" then
        last[p.id] = {}
        for hk, seq in (H.read_file(p.log) or ""):gmatch("(%x+) (%d+)\n") do
          last[p.id][V.unhex(hk)] = tonumber(seq)
          logged = logged + 1
        end
      end
    end

    -- final values: complete, and the last value some writer wrote to the key
    local final_ok = 0
    for _, k in ipairs(keys) do
      local r = H.pack(db:get(k))
      local info, why = V.check(pool, r[1])
      if r.n ~= 1 or not info then
        failures[#failures + 1] = "final value of " .. k .. ": " .. (why or V.show(r))
      elseif info.key ~= k then
        failures[#failures + 1] = "final value of " .. k .. " is a value of " .. info.key
      elseif info.writer == 0 then
        failures[#failures + 1] = "final value of " .. k .. " is the parent's: no put by a writer landed"
      elseif not last[info.writer] or last[info.writer][k] ~= info.seq then
        failures[#failures + 1] = string.format("final value of %s is put %d of writer %d, whose last put to it was %s",
          k, info.seq, info.writer, tostring(last[info.writer] and last[info.writer][k]))
      else
        final_ok = final_ok + 1
      end
    end
    local leftovers = H.tmpfiles(dir)
    db:close()

    local nprocs = WRITERS + READERS
    RL.set("concurrency.writers", WRITERS)
    RL.set("concurrency.readers", READERS)
    RL.set("concurrency.seconds", string.format("%.1f", seconds))
    RL.set("concurrency.process_seconds", string.format("%.0f", nprocs * seconds))
    RL.set("concurrency.writes", writes)
    RL.set("concurrency.reads_checked", gets + walked)
    RL.set("concurrency.walks", walks)
    RL.set("concurrency.final_values_checked", final_ok)
    RL.set("concurrency.lost", #failures + #leftovers)

    assert.is_nil(early, early)
    assert.are.equal(0, #failures, "\n" .. table.concat(failures, "\n"))
    assert.are.same({}, leftovers)
    assert.are.equal(writes, logged, "the writers' logs and their counts differ")
    assert.are.equal(#keys, final_ok)
    -- the run did real work in every process
    assert.is_true(writes >= WRITERS and gets >= READERS * #keys, writes .. " writes, " .. gets .. " gets")
    assert.is_true(walks > 0, "no reader walked the store")
    assert.is_true(seconds >= SECONDS)
    assert.are.same(H.sorted((function()
      local t = {}
      for _, k in ipairs(keys) do t[H.key_to_name(k)] = true end
      return t
    end)()), H.listdir(dir))
  end))
end)
