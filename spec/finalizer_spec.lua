-- spec/finalizer_spec.lua -- README "Errors": a handle or a walk closed by
-- a finalizer while one of its methods runs gives that method its normal
-- result or the error of a closed handle, never a crash or a read of freed
-- memory. A finalizer is arbitrary Lua code that the collector may run at
-- any allocation: converting a number key to a string, formatting an
-- error message, pushing a key or a value. Each spec runs a call once for
-- each of its allocations, with a finalizer that closes the handle (or
-- the walk) at that allocation.
--
-- Regression (CI, LuaJIT): get converted its key and pushed its decoder
-- after checking that the handle was open, and then read through the
-- handle; a finalizer that closed it in between made the read go through a
-- NULL store (SIGSEGV in okof_get_buf, c/lua_values.c). Under ASan the
-- same specs found reads of freed memory in del, tostring, keys and each
-- (a directory name or a walk's key freed while it was being pushed).
local H = require("helpers")
local okofdb = require("okofdb")

local unpack = table.unpack or unpack
local CLOSED = "closed okofdb handle"
local PLAIN = { sync = "none" }
local CODEC = { sync = "none", codec = okofdb.codec.lua }

-- Sweep a finalizer that closes the handle over the allocations of
-- call(db); each call gives what expect(db, ...) accepts, or the error of
-- a closed handle once the finalizer ran. fill(db) readies the store.
local function survives(opts, fill, call, expect)
  local base = H.tmpdir()
  local db
  local points = H.finalizer_sweep({
    setup = function()
      if db then db:close() end
      db = assert(okofdb.open(base .. "/s", opts))
      fill(db)
    end,
    call = function() return call(db) end,
    final = function() db:close() end,
    check = function(r, ran)
      if r[1] then
        expect(db, unpack(r, 2, r.n))
      else
        assert.is_true(ran, "raised with the handle open: " .. tostring(r[2]))
        assert.is_true(H.contains(r[2], CLOSED), tostring(r[2]))
      end
    end,
  })
  db:close()
  H.assert_swept(points)
end

local function numbers(db)
  for i = 1, 3 do assert(db:put(1000 + i, "value " .. i)) end
end

local function nothing() end

describe("a finalizer closing the handle during a call #gcstress", function()
  it("get of a number key: the value or a closed handle", function()
    survives(PLAIN, numbers, function(db) return db:get(1003) end,
      function(_, ...)
        assert.are.equal(1, select("#", ...))
        assert.are.equal("value 3", (...))
      end)
  end)

  it("get of a number key without a value: nil or a closed handle", function()
    survives(PLAIN, nothing, function(db) return db:get(5001) end,
      function(_, ...)
        assert.are.equal(1, select("#", ...))
        assert.is_nil((...))
      end)
  end)

  -- A directory at key's file name: get and put of key fail with
  -- nil, msg, code, msg naming the key.
  local function dir_at(key)
    return function(db)
      local path = tostring(db):match("^okofdb: (.*)$") .. "/" .. H.key_to_name(key)
      if not H.is_dir(path) then assert(os.execute("mkdir " .. H.q(path))) end
    end
  end
  local function fails_naming(key)
    return function(_, v, msg, code)
      assert.is_nil(v)
      assert.is_true(H.contains(msg, key), tostring(msg))
      assert.are.equal("string", type(code))
    end
  end

  it("get that fails (a directory at the key's name): nil, msg, code or a closed handle", function()
    survives(PLAIN, dir_at("2001"), function(db) return db:get(2001) end, fails_naming("2001"))
  end)

  it("get through a codec: the table or a closed handle", function()
    local function tables(db) assert(db:put(1001, { 1, "v", { n = 1 } })) end
    survives(CODEC, tables, function(db) return db:get(1001) end,
      function(_, v) assert.are.same({ 1, "v", { n = 1 } }, v) end)
  end)

  it("put of a number key through a codec: true or a closed handle", function()
    survives(CODEC, nothing, function(db) return db:put(3001, { 1, "p" }) end,
      function(_, ok) assert.is_true(ok) end)
  end)

  it("add of a number key through a codec: a boolean or a closed handle", function()
    survives(CODEC, nothing, function(db) return db:add(4001, { "a" }) end,
      function(_, ok) assert.are.equal("boolean", type(ok)) end)
  end)

  it("put that fails (a directory at the key's name): nil, msg, code or a closed handle", function()
    survives(PLAIN, dir_at("2002"), function(db) return db:put(2002, "v") end, fails_naming("2002"))
  end)

  it("del of a number key: a boolean or a closed handle", function()
    survives(PLAIN, numbers, function(db) return db:del(1002) end,
      function(_, r) assert.is_true(r) end)
  end)

  it("put_many of number keys: true or a closed handle", function()
    survives(CODEC, nothing, function(db)
      return db:put_many({ [6001] = { 1 }, [7001] = "s" })
    end, function(_, r) assert.is_true(r) end)
  end)

  it("sweep: a count or a closed handle", function()
    survives(PLAIN, nothing, function(db) return db:sweep(0) end,
      function(_, n) assert.are.equal(0, n) end)
  end)

  it("tostring: the directory, or 'closed' when closed before the call", function()
    local db
    local base = H.tmpdir()
    local points = H.finalizer_sweep({
      setup = function()
        if db then db:close() end
        db = assert(okofdb.open(base .. "/s", PLAIN))
      end,
      call = function() return tostring(db) end,
      final = function() db:close() end,
      check = function(r)
        assert.is_true(r[1], tostring(r[2]))
        assert.is_truthy(r[2] == "okofdb: closed" or r[2]:match("^okofdb: .*/s$"), r[2])
      end,
    })
    db:close()
    H.assert_swept(points)
  end)

  -- (Two keys: a sweep costs the square of a call's allocations.)
  local function two(db) assert(db:put(1001, "value 1")); assert(db:put(1002, "value 2")) end

  -- The walks collect what they see; it is checked after the call.
  local function seen_by(db, name)
    local seen = {}
    for k, v in db[name](db, "100") do seen[#seen + 1] = { k, v } end
    return seen
  end

  local function all_of_two(name)
    return function(_, seen)
      table.sort(seen, function(a, b) return a[1] < b[1] end)
      assert.are.same(name == "each" and { { "1001", "value 1" }, { "1002", "value 2" } }
                      or { { "1001" }, { "1002" } }, seen)
    end
  end

  it("each: every key and value or a closed handle", function()
    survives(PLAIN, two, function(db) return seen_by(db, "each") end, all_of_two("each"))
  end)

  it("keys: every key or a closed handle", function()
    survives(PLAIN, two, function(db) return seen_by(db, "keys") end, all_of_two("keys"))
  end)
end)

describe("a finalizer closing a walk while it runs #gcstress", function()
  -- The walk's own closer (its __close, also its __gc), as a <close>
  -- variable or a finished for loop calls it.
  local function close_walk(w) getmetatable(w).__gc(w) end

  local function walk(name)
    local db = assert(okofdb.open(H.tmpdir() .. "/s", PLAIN))
    numbers(db)
    local f, w
    local short = 0
    local points = H.finalizer_sweep({
      setup = function() f, w = db[name](db) end,
      call = function()
        local seen = {}
        for k, v in f, w do seen[#seen + 1] = { k, v } end
        return seen
      end,
      final = function() close_walk(w) end,
      check = function(r, ran)
        assert.is_true(r[1], tostring(r[2]))
        local keys = {}
        for _, kv in ipairs(r[2]) do
          local i = tonumber(kv[1]) - 1000
          assert.is_true(i >= 1 and i <= 3, "key " .. tostring(kv[1]))
          assert.is_nil(keys[i], "key twice: " .. kv[1])
          if name == "each" then assert.are.equal("value " .. i, kv[2]) end
          keys[i] = true
        end
        if not ran then assert.are.equal(3, #r[2]) end
        if #r[2] < 3 then short = short + 1 end
      end,
    })
    db:close()
    H.assert_swept(points)
    if points > 0 then assert.is_true(short > 0, "no walk was cut short") end
  end

  it("keys stops early with the keys it gave intact", function()
    walk("keys")
  end)

  it("each stops early with the keys and values it gave intact", function()
    walk("each")
  end)
end)
