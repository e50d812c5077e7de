-- spec/add_spec.lua -- db:add(key, value): store a value only where the key
-- has none. true when it stored the value, false when the key already had
-- one (nothing changes), nil, msg, code on an operational error; errors
-- raise as put's do. Atomic through link(2): of processes adding one key at
-- once, exactly one gets true and its value is the one stored.
local H = require("helpers")
local okofdb = require("okofdb")

local ROUNDS = tonumber(os.getenv("OKOF_ADD_ROUNDS") or "") or 60
local RACERS = 5

local function lua_cmd(path, args)
  local parts = {}
  for i, a in ipairs(args or {}) do parts[i] = H.q(a) end
  local pre = os.getenv("LD_PRELOAD")
  local env = (pre and pre ~= "") and ("LD_PRELOAD=" .. H.q(pre) .. " ") or ""
  return env .. H.q(H.LUA) .. " " .. H.q(path) .. " " .. table.concat(parts, " ")
end

describe("db:add", function()
  after_each(H.cleanup)

  it("on an absent key returns exactly true and stores the value", function()
    local db, dir = H.open_tmp()
    local r = H.pack(db:add("k", "first"))
    assert.are.equal(1, r.n)
    assert.are.equal(true, r[1])
    assert.are.equal("first", db:get("k"))
    -- the same file a put writes
    assert.are.equal(H.okof_file(5, H.raw_chunk("first")), H.read_file(dir .. "/k"))
    -- and the store's lock file, which every add takes (see spec/ttl_spec.lua)
    assert.are.same({ ".okof-lock", "k" }, H.listdir(dir))
    db:close()
  end)

  it("on a present key returns exactly false and leaves the value as it was", function()
    local db, dir = H.open_tmp()
    assert.is_true(db:put("k", "old"))
    local before = H.read_file(dir .. "/k")
    local ino = H.sh("stat -c %i " .. H.q(dir .. "/k"))
    local r = H.pack(db:add("k", "new"))
    assert.are.equal(1, r.n)
    assert.are.equal(false, r[1])
    assert.are.equal("old", db:get("k"))
    assert.are.equal(before, H.read_file(dir .. "/k"))
    assert.are.equal(ino, H.sh("stat -c %i " .. H.q(dir .. "/k")))
    assert.are.equal(false, db:add("k", "old")) -- even with an equal value
    assert.are.same({ ".okof-lock", "k" }, H.listdir(dir)) -- no temporary file left
    db:close()
  end)

  it("stores again once the key was deleted; an empty value counts as a value", function()
    local db = H.open_tmp()
    assert.is_true(db:add("k", ""))
    assert.are.equal("", db:get("k"))
    assert.are.equal(false, db:add("k", "x"))
    assert.is_true(db:del("k"))
    assert.is_true(db:add("k", "again"))
    assert.are.equal("again", db:get("k"))
    db:close()
  end)

  it("handles values above compress_min, keys of any bytes, numbers, and sync = \"none\"", function()
    local db = H.open_tmp({ sync = "none" })
    local big = H.text_bytes(100000, 9)
    assert.is_true(db:add("Big/Key\0", big))
    assert.is_true(db:get("Big/Key\0") == big)
    assert.are.equal(false, db:add("Big/Key\0", "small"))
    assert.is_true(db:get("Big/Key\0") == big)
    assert.is_true(db:add(7, 8))
    assert.are.equal("8", db:get("7"))
    assert.are.equal(false, db:add("7", "x"))
    assert.are.same({ "7", "Big/Key\0" }, H.sorted(H.collect_keys(db)))
    db:close()
  end)

  it("goes through the handle's codec", function()
    local db, dir = H.open_tmp({ codec = okofdb.codec.lua })
    assert.is_true(db:add("cfg", { theme = "dark", size = 12 }))
    assert.are.same({ theme = "dark", size = 12 }, db:get("cfg"))
    assert.are.equal(false, db:add("cfg", { theme = "light" }))
    assert.are.same({ theme = "dark", size = 12 }, db:get("cfg"))
    assert.is_true(db:add("flag", false))
    assert.are.equal(false, db:get("flag"))
    local raw = assert(okofdb.open(dir))
    assert.are.equal(okofdb.codec.lua.encode(false), raw:get("flag"))
    assert.are.equal("bad argument #2 to 'add' (value: must not be nil)", H.error_of(db.add, db, "n", nil))
    assert.are.equal("bad argument #2 to 'add' (value: cannot encode a function)",
                     H.error_of(db.add, db, "f", print))
    assert.is_nil(db:get("f"))
    assert.are.same({ ".okof-lock", "cfg", "flag" }, H.listdir(dir))
    raw:close(); db:close()
  end)

  it("raises for programming errors exactly as put does, naming 'add'", function()
    local db = H.open_tmp()
    local long = string.rep("A", 100)
    local cases = {
      { {}, "v" }, { "", "v" }, { long, "v" }, { "k", {} }, { "k", true }, { "k", nil },
      { nil, "v" }, { print, "v" },
    }
    for i, c in ipairs(cases) do
      local pm = H.error_of(db.put, db, c[1], c[2])
      local am = H.error_of(db.add, db, c[1], c[2])
      assert.is_not_nil(pm, "case " .. i .. ": put did not raise")
      assert.is_not_nil(am, "case " .. i .. ": add did not raise")
      assert.are.equal((pm:gsub("'put'", "'add'")), am, "case " .. i)
      assert.is_true(H.contains(am, "'add'"), am)
    end
    assert.are.same({}, H.sorted(H.collect_keys(db)))
    db:close()
    assert.are.equal("calling 'add' on a closed okofdb handle", H.error_of(db.add, db, "k", "v"))
    assert.is_not_nil(H.error_of(db.add, "not a handle", "k", "v"))
  end)

  it("returns nil, msg, code for operational errors as put does", function()
    local db, dir = H.open_tmp()
    assert(H.run("rm -rf " .. H.q(dir)))
    local p = H.pack(db:put("k", "v"))
    local a = H.pack(db:add("k", "v"))
    assert.are.equal(3, a.n)
    assert.is_nil(a[1])
    assert.are.equal("ENOENT", a[3])
    assert.are.equal(p[3], a[3])
    assert.is_true(H.contains(a[2], 'add "k" in ' .. dir), a[2])
    db:close()
  end)
end)

describe("db:add from racing processes", function()
  after_each(H.cleanup)

  -- A racer: opens the store, says it is ready, spins until the barrier
  -- file appears, then adds the key once and prints "<id> <result> <code>".
  local RACER = [[
local okofdb = require("okofdb")
local dir, base, id, key, round, codec = arg[1], arg[2], arg[3], arg[4], tonumber(arg[5]), arg[6]
local db = assert(okofdb.open(dir, { codec = codec == "lua" and okofdb.codec.lua or nil }))
local value = string.format("racer %s round %d|", id, round)
if round % 2 == 0 then value = value .. string.rep("body of round " .. round .. ", ", 250) end
if codec == "lua" then value = { racer = tonumber(id), round = round, body = value } end
local f = assert(io.open(base .. "/ready." .. id, "w")); f:close()
local go, stop = base .. "/go", os.time() + 30
while true do
  local g = io.open(go, "r")
  if g then g:close(); break end
  if os.time() > stop then print(id .. " timeout"); os.exit(3) end
end
local ok, msg, code = db:add(key, value)
print(id .. " " .. tostring(ok) .. " " .. tostring(code) .. " " .. tostring(msg))
db:close()
]]

  -- One round: RACERS processes add `key` at once; returns { [id] = "true" | "false" | ... }.
  local function race(script, dir, base, key, round, codec)
    local starts = {}
    for id = 1, RACERS do
      starts[#starts + 1] = lua_cmd(script, { dir, base, tostring(id), key, tostring(round), codec or "none" }) ..
                            " >" .. H.q(base .. "/out." .. id) .. " 2>&1 &"
    end
    local cmd = table.concat({
      "rm -f " .. H.q(base .. "/go") .. " " .. H.q(base) .. "/ready.* " .. H.q(base) .. "/out.*;",
      table.concat(starts, " "),
      "n=0; while [ $(ls " .. H.q(base) .. " | grep -c '^ready') -lt " .. RACERS .. " ] && [ $n -lt 5000 ]; do",
      "sleep 0.002; n=$((n+1)); done;",
      "touch " .. H.q(base .. "/go") .. "; wait",
    }, " ")
    H.sh(cmd)
    local results = {}
    for id = 1, RACERS do
      local out = H.read_file(base .. "/out." .. id) or ""
      local got = out:match("^" .. id .. " (%S+)")
      assert.is_not_nil(got, "round " .. round .. ", racer " .. id .. ": " .. out)
      results[id] = got
    end
    return results
  end

  it("exactly one of " .. RACERS .. " gets true in each of " .. ROUNDS .. " rounds, and its value is stored", function()
    local base = H.tmpdir()
    local dir, script = base .. "/store", base .. "/racer.lua"
    H.write_file(script, RACER)
    local db = assert(okofdb.open(dir))
    local dbc = assert(okofdb.open(dir, { codec = okofdb.codec.lua }))
    local wins = {}
    for round = 1, ROUNDS do
      -- fresh keys, one key deleted and raced for again, and the codec
      local key, codec = "race" .. round, nil
      if round % 3 == 0 then
        key = "again"
        db:del(key)
      end
      if round % 5 == 0 then codec = "lua" end
      local results = race(script, dir, base, key, round, codec)
      local winners = {}
      for id, r in ipairs(results) do
        assert.is_true(r == "true" or r == "false",
          "round " .. round .. ", racer " .. id .. ": " .. tostring(r) ..
          " " .. tostring(H.read_file(base .. "/out." .. id)))
        if r == "true" then winners[#winners + 1] = id end
      end
      assert.are.equal(1, #winners, "round " .. round .. ": winners " .. table.concat(winners, ","))
      local w = winners[1]
      wins[w] = (wins[w] or 0) + 1
      if codec == "lua" then
        local v = dbc:get(key)
        assert.are.equal("table", type(v), "round " .. round)
        assert.are.equal(w, v.racer, "round " .. round)
        assert.are.equal(round, v.round)
      else
        local v = db:get(key)
        local head = string.format("racer %d round %d|", w, round)
        assert.are.equal(head, v:sub(1, #head), "round " .. round .. ": not the winner's value")
        if round % 2 == 0 then
          assert.is_true(v == head .. string.rep("body of round " .. round .. ", ", 250), "round " .. round)
        else
          assert.are.equal(head, v)
        end
      end
      -- a later add of the key loses too
      assert.are.equal(false, db:add(key, "late"))
    end
    assert.are.same({}, H.tmpfiles(dir))
    local keys = H.collect_keys(db)
    for k in pairs(keys) do assert.truthy(k == "again" or k:match("^race%d+$"), k) end
    db:close(); dbc:close()
  end)
end)
