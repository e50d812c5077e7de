-- spec/kill_writer_spec.lua -- README "What okofdb guarantees": a
-- writer killed with kill -9 at random moments leaves every key with a
-- complete value, its temporary files are never visible, and sweep reclaims
-- them.
local H = require("helpers")
local okofdb = require("okofdb")

local ITERATIONS = tonumber(os.getenv("OKOF_CRASH_ITERATIONS") or "") or 40

-- Start spec/support/writer.lua on dir in the background, let it run for
-- `delay` seconds after it is ready, kill it with SIGKILL and reap it.
-- Returns "killed", or "dead" when the writer had ended by itself.
local function run_and_kill(dir, ready, errfile, keys, delay)
  local qkeys = {}
  for i, k in ipairs(keys) do qkeys[i] = H.q(k) end
  return H.run_and_kill(H.script("writer") .. " " .. H.q(dir) .. " " .. H.q(ready) .. " " ..
                        table.concat(qkeys, " "), ready, errfile, delay, 2000)
end

describe("a writer killed with kill -9", function()
  after_each(H.cleanup)

  it("leaves every key with one of its complete values, hides its temporary files, and sweep reclaims them", function()
    local base = H.tmpdir()
    local dir, ready, errfile = base .. "/store", base .. "/ready", base .. "/writer.err"
    local vals = H.crash_values()
    local valid = {}
    for _, v in ipairs(vals) do valid[v] = true end
    local keys = { "alpha", "beta", "gamma", "Delta/4" }
    local db = assert(okofdb.open(dir))
    for i, k in ipairs(keys) do assert.is_true(db:put(k, vals[i])) end

    math.randomseed(os.time())
    local expected = {}
    for _, k in ipairs(keys) do expected[k] = true end
    for it = 1, ITERATIONS do
      -- a key the writer creates, never written before this round
      local fresh = "fresh" .. it
      local round = { keys[1], keys[2], keys[3], keys[4], fresh }
      local delay = (it % 4 == 0) and math.random() * 0.01 or math.random() * 0.1
      local how = run_and_kill(dir, ready, errfile, round, delay)
      assert.are.equal("killed", how, "the writer ended by itself: " .. tostring(H.read_file(errfile)))

      for _, k in ipairs(keys) do
        local r = H.pack(db:get(k))
        assert.is_true(r.n == 1 and valid[r[1]] == true,
          "round " .. it .. ", key " .. k .. ": not a complete value: " ..
          tostring(r[1] and #r[1]) .. " " .. tostring(r[2]) .. " " .. tostring(r[3]))
      end
      local r = H.pack(db:get(fresh))
      assert.is_true(r.n == 1 and (r[1] == nil or valid[r[1]] == true),
        "round " .. it .. ", new key: " .. tostring(r[2]) .. " " .. tostring(r[3]))
      if r[1] ~= nil then expected[fresh] = true end

      local seen = H.collect_keys(db)
      for k in pairs(seen) do
        assert.is_true(expected[k] == true, "unexpected key " .. H.hex(k))
      end
      for k in pairs(expected) do assert.is_true(seen[k] == true, "missing key " .. k) end
      for k, v, err in db:each() do
        assert.is_nil(err, k)
        assert.is_true(valid[v] == true, "each: not a complete value for " .. k)
      end
    end

    -- Leftover temporary files are only visible in the listing; a sweep
    -- with the default max_age keeps them (they are fresh), sweep(0) once
    -- they are over a second old removes exactly them.
    local leftovers = H.tmpfiles(dir)
    for _, name in ipairs(leftovers) do
      assert.truthy(name:match("^%.okof%-tmp%-"), name)
    end
    local keep = db:sweep()
    assert.are.equal(0, keep)
    assert.are.same(leftovers, H.tmpfiles(dir))
    H.sleep(1.1)
    local removed = db:sweep(0)
    assert.are.equal(#leftovers, removed)
    assert.are.same({}, H.tmpfiles(dir))
    local names = {}
    for k in pairs(expected) do names[#names + 1] = H.key_to_name(k) end
    table.sort(names)
    assert.are.same(names, H.listdir(dir))
    for k in pairs(expected) do assert.is_true(valid[db:get(k)] == true, k) end
    db:close()
  end)
end)
