-- spec/reliability/crash_rounds_spec.lua -- README "What okofdb
-- guarantees", at length: "A crash (kill -9, power loss) at any moment
-- leaves every key with its old or its new value. Leftover temporary files
-- are never visible through get, each or keys, and sweep reclaims them."
--
-- OKOF_CRASH_KILLS (default 500) times, a writer (reliability/crash_writer.lua,
-- sync = "none") is started on one store and killed with SIGKILL 1-30 ms
-- after it is ready, while it writes self-describing values of every size
-- class (below and above compress_min) to a handful of keys and deletes and
-- puts one more. After each kill, every key holds exactly the value it held
-- before the round or one the killed writer wrote in this round (rebuilt from
-- its header and compared whole), get never fails, keys and each show no
-- temporary file, and at most one temporary file was left per kill. At the
-- end sweep(0) removes every leftover.
--
-- OKOF_CRASH_SEED fixes the random delays (printed when the spec fails).
-- Tagged #slow: `make reliability` runs it; the per-Lua spec runs exclude it.
local H = require("helpers")
local V = require("reliability.values")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local function counted(fn) return RL.counted("crash", fn) end

local KILLS = tonumber(os.getenv("OKOF_CRASH_KILLS") or "") or 500
local SEED = tonumber(os.getenv("OKOF_CRASH_SEED") or "") or os.time()
local MAX_REPORTED = 20

local WRITER = H.SPEC_DIR .. "/reliability/crash_writer.lua"

-- The bash script of one round: start the writer as a coprocess, wait for
-- its "ready", let it write for delay_ms, kill it with SIGKILL, reap it.
-- It prints "ready" when the writer got ready, "status=<n>" (137: killed by
-- SIGKILL) and "tmp <name>" for each temporary file then in dir. One bash
-- and one Lua process per round, nothing else (the waits are bash's read -t).
local function round_script(dir, args, delay_ms, errfile)
  local qargs = {}
  for i, a in ipairs(args) do qargs[i] = H.q(a) end
  local pre = os.getenv("LD_PRELOAD")
  local lua_cmd = "env " .. ((pre and pre ~= "") and ("LD_PRELOAD=" .. H.q(pre) .. " ") or "") ..
    H.q(H.LUA) .. " " .. H.q(WRITER)
  return table.concat({
    "shopt -s nullglob dotglob",
    "coproc " .. lua_cmd .. " " .. table.concat(qargs, " ") .. " 2>" .. H.q(errfile),
    "pid=$COPROC_PID; fd=${COPROC[0]}",
    "if read -t 30 -u $fd line && [ \"$line\" = ready ]; then",
    -- waits delay_ms for output the writer never gives: a sleep that
    -- ends at once if the writer dies
    "  read -t " .. string.format("%.3f", delay_ms / 1000) .. " -u $fd line",
    "  echo ready",
    "fi",
    "kill -9 $pid 2>/dev/null",
    "wait $pid; echo \"status=$?\"",
    "for f in " .. H.q(dir) .. "/.okof-tmp-*; do printf 'tmp %s\\n' \"${f##*/}\"; done",
  }, "\n")
end

describe("#slow a writer killed with SIGKILL at random moments", function()
  after_each(H.cleanup)

  it("leaves every key with its old or a new complete value, hides its temporary files, and sweep reclaims them", counted(function()
    assert.is_true(H.run("command -v bash >/dev/null"), "bash is needed")
    local base = H.tmpdir()
    local dir, errfile, poolfile = base .. "/store", base .. "/writer.err", base .. "/pool"
    local pool = V.pool()
    H.write_file(poolfile, pool)
    assert.are.equal(V.POOL_SIZE, #H.read_file(poolfile))

    local keys = { "alpha", "bravo", "Charlie:3", "delta", "e" }
    local flip = "flip/key"
    local db = assert(okofdb.open(dir))
    local current = {}
    for i, k in ipairs(keys) do
      current[k] = V.make(pool, k, 0, i, i % #V.CLASSES + 1)
      assert.is_true(db:put(k, current[k]))
    end
    current[flip] = nil
    local args = { dir, "ROUND", poolfile, V.hex(flip) }
    for _, k in ipairs(keys) do args[#args + 1] = V.hex(k) end
    local all_keys = { flip }
    for _, k in ipairs(keys) do all_keys[#all_keys + 1] = k end

    math.randomseed(SEED)
    local kills, rounds, checked, changed, with_tmp, max_new_tmp = 0, 0, 0, 0, 0, 0
    local problems = {}
    local function problem(s)
      problems[#problems + 1] = "seed " .. SEED .. ", round " .. rounds .. ": " .. s
    end
    local tmp_seen = {}
    local ntmp = 0
    local t0 = tonumber(H.sh("date +%s.%N")) or os.time()

    while kills < KILLS and #problems < MAX_REPORTED do
      rounds = rounds + 1
      args[2] = tostring(rounds)
      local delay = math.random(1, 30)
      local out = H.sh("bash -c " .. H.q(round_script(dir, args, delay, errfile)) .. " 2>/dev/null")
      local status = tonumber(out:match("status=(%d+)"))
      if not out:match("^ready\n") or status ~= 137 then
        problem("the writer was not killed while writing (status " .. tostring(status) .. "): " ..
          tostring(H.read_file(errfile)) .. out)
        break
      end
      kills = kills + 1

      -- at most one new temporary file per kill: the writer has one put at a time
      local new_tmp = 0
      for name in out:gmatch("tmp ([^\n]+)") do
        if not tmp_seen[name] then
          tmp_seen[name] = true
          ntmp = ntmp + 1
          new_tmp = new_tmp + 1
        end
      end
      if new_tmp > 0 then with_tmp = with_tmp + 1 end
      if new_tmp > max_new_tmp then max_new_tmp = new_tmp end
      if new_tmp > 1 then problem(new_tmp .. " temporary files left by one kill") end

      -- every key: the value before the round, or a complete value of this round
      for _, k in ipairs(all_keys) do
        local r = H.pack(db:get(k))
        checked = checked + 1
        if r.n ~= 1 or (r[1] == nil and k ~= flip) then
          problem("get " .. k .. ": " .. V.show(r))
        elseif r[1] ~= current[k] then
          if r[1] == nil then
            current[k] = nil -- the flip key, deleted in this round
            changed = changed + 1
          else
            local info, why = V.check(pool, r[1])
            if not info then
              problem("get " .. k .. ": " .. why)
            elseif info.key ~= k or info.writer ~= rounds then
              problem("get " .. k .. ": a value for key " .. info.key .. " of round " .. info.writer)
            else
              current[k] = r[1]
              changed = changed + 1
            end
          end
        end
      end

      -- keys and each: exactly the keys that have a value, no temporary file
      local want = {}
      for _, k in ipairs(all_keys) do want[k] = current[k] ~= nil end
      for k in db:keys() do
        if not want[k] then problem("keys yielded " .. string.format("%q", k)) end
        want[k] = nil
      end
      for k, v in pairs(want) do
        if v then problem("keys did not yield " .. k) end
      end
      local n_each = 0
      for k, v, err in db:each() do
        n_each = n_each + 1
        if err ~= nil or v ~= current[k] then
          problem("each " .. string.format("%q", k) .. ": " .. tostring(err or (v and #v)))
        end
      end
      local n_want = 0
      for _, k in ipairs(all_keys) do if current[k] ~= nil then n_want = n_want + 1 end end
      if n_each ~= n_want then problem("each yielded " .. n_each .. " keys, not " .. n_want) end
    end
    local seconds = (tonumber(H.sh("date +%s.%N")) or os.time()) - t0

    -- the leftovers: only in the directory listing; sweep(0) removes them
    -- all once they are older than now, and nothing else
    local leftovers = H.tmpfiles(dir)
    local swept
    if #problems == 0 then
      assert.are.equal(ntmp, #leftovers, "temporary files seen after the kills")
      assert.is_true(#leftovers <= kills)
      assert.are.equal(0, db:sweep(), "the default max_age keeps fresh leftovers")
      H.sleep(1.1)
      swept = db:sweep(0)
      assert.are.equal(#leftovers, swept)
      assert.are.same({}, H.tmpfiles(dir))
      local names = {}
      for _, name in ipairs(H.listdir(dir)) do
        assert.is_nil(name:find("^%.okof%-tmp%-"), name)
        names[#names + 1] = name
      end
      local n_keys = 0
      for _, k in ipairs(all_keys) do
        if current[k] ~= nil then
          n_keys = n_keys + 1
          assert.is_true(db:get(k) == current[k], "after sweep: " .. k)
        end
      end
      assert.are.equal(n_keys, #names, table.concat(names, " "))
    end
    db:close()

    RL.set("crash.kills", kills)
    RL.set("crash.rounds", rounds)
    RL.set("crash.seconds", string.format("%.1f", seconds))
    RL.set("crash.keys", #all_keys)
    RL.set("crash.size_classes", #V.CLASSES)
    RL.set("crash.reads_checked", checked)
    RL.set("crash.values_changed", changed)
    RL.set("crash.kills_leaving_tmp", with_tmp)
    RL.set("crash.tmp_swept", swept or -1)
    RL.set("crash.lost", #problems)
    RL.set("crash.seed", SEED)

    assert.are.equal(0, #problems, "\n" .. table.concat(problems, "\n"))
    assert.is_true(kills >= KILLS)
    assert.is_true(changed > 0, "the writers never changed a value")
    -- with hundreds of kills, some must land inside a put
    if kills >= 100 then
      assert.is_true(with_tmp > 0, "no kill left a temporary file: the kills missed the writes")
    end
  end))
end)
