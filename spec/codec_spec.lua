-- spec/codec_spec.lua -- the codec option of okofdb.open and the built-in
-- codec okofdb.codec.lua: any Lua value but nil goes through put and comes
-- back equal from get and each; values it cannot encode raise; bytes it
-- cannot decode are nil, msg, "EDECODE", never a crash or a wrong value;
-- a table with encode and decode functions is a codec too; without a codec
-- values are strings and files are what they always were.
--
-- Runs on Lua 5.1-5.4 and LuaJIT: integers and floats are told apart only
-- where math.type exists.
local H = require("helpers")
local okofdb = require("okofdb")

local LUA = okofdb.codec.lua
local mtype = math.type -- nil before 5.3
local floor, char, byte, concat = math.floor, string.char, string.byte, table.concat
local unpack = table.unpack or unpack

local ZERO = 0
local NAN = ZERO / ZERO
local INF = 1 / ZERO
local NEG_ZERO = -1 / INF

---------------------------------------------------------------------------
-- Deep equality: NaN equals NaN, -0.0 differs from 0.0, math.type must
-- agree (5.3+); tables match pair by pair, table keys by deep equality.
---------------------------------------------------------------------------

local same

local function same_number(a, b)
  if a ~= a then return b ~= b end
  if mtype and mtype(a) ~= mtype(b) then return false end
  if a ~= b then return false end
  if a == 0 then return 1 / a == 1 / b end -- the sign of zero
  return true
end

local count = H.count

local function same_table(a, b)
  if count(a) ~= count(b) then return false end
  local tkeys = {}
  for k, v in pairs(a) do
    if type(k) == "table" then
      tkeys[#tkeys + 1] = k
    else
      local w = rawget(b, k)
      if w == nil or not same(v, w) then return false end
      if type(k) == "number" then
        -- the key itself: type and sign as b holds them
        for bk in pairs(b) do
          if bk == k and not same_number(k, bk) then return false end
        end
      end
    end
  end
  if #tkeys > 0 then
    local used = {}
    for _, ak in ipairs(tkeys) do
      local found = false
      for bk, bv in pairs(b) do
        if type(bk) == "table" and not used[bk] and same(ak, bk) and same(a[ak], bv) then
          used[bk], found = true, true
          break
        end
      end
      if not found then return false end
    end
  end
  return true
end

same = function(a, b)
  local ta = type(a)
  if ta ~= type(b) then return false end
  if ta == "number" then return same_number(a, b) end
  if ta == "table" then return same_table(a, b) end
  return a == b
end

-- A short description of a value for failure messages.
local function show(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" then
    if #v > 40 then return string.format("<string of %d bytes>", #v) end
    return string.format("%q", v)
  elseif t == "number" then
    return string.format("%s(%s)", mtype and mtype(v) or "number",
                         (v == 0 and 1 / v < 0) and "-0.0" or tostring(v))
  elseif t == "table" then
    if depth > 2 then return "{...}" end
    local parts = {}
    for k, x in pairs(v) do
      if #parts >= 8 then parts[#parts + 1] = "..."; break end
      parts[#parts + 1] = "[" .. show(k, depth + 1) .. "]=" .. show(x, depth + 1)
    end
    return "{" .. concat(parts, ", ") .. "}"
  end
  return tostring(v)
end

---------------------------------------------------------------------------
-- A seeded generator of Lua values
---------------------------------------------------------------------------

local function gen(seed)
  local r = H.rng(seed)
  local serial = 0

  local function pick(n) return r() % n + 1 end
  local function unit() return r() / 2147483647 end

  local function bytes(n)
    local t = {}
    for i = 1, n do t[i] = floor(r() / 8) % 256 end
    local parts = {}
    for i = 1, n, 4096 do parts[#parts + 1] = char(unpack(t, i, math.min(i + 4095, n))) end
    return concat(parts)
  end

  local function integer()
    local k = pick(8)
    if mtype then
      if k == 1 then return math.maxinteger end
      if k == 2 then return math.mininteger end
      if k == 3 then -- any 64-bit integer (integer arithmetic wraps)
        return math.tointeger(r()) * 4294967296 * 4 + math.tointeger(r())
      end
      if k == 4 then return -math.tointeger(r()) end
      return math.tointeger(r() % 2001) - 1000
    end
    if k == 1 then return 2 ^ 53 end
    if k == 2 then return -(2 ^ 53) end
    if k == 3 then return r() * 4194304 + r() % 4194304 end
    if k == 4 then return -r() end
    return r() % 2001 - 1000
  end

  local function float()
    local k = pick(14)
    if k == 1 then return NAN end
    if k == 2 then return INF end
    if k == 3 then return -INF end
    if k == 4 then return NEG_ZERO end
    if k == 5 then return 0.0 end
    if k == 6 then return (r() % 1000) + 0.0 end  -- integral, still a float
    if k == 7 then return 2 ^ 63 end
    if k == 8 then return 5e-324 end             -- the smallest denormal
    if k == 9 then return 1.7976931348623157e308 end
    local x = (unit() + unit() / 2147483647) * 10 ^ (r() % 600 - 300)
    if r() % 2 == 0 then x = -x end
    return x
  end

  local function str()
    local k = pick(8)
    if k == 1 then return "" end
    if k == 2 then return "\0" end
    if k == 3 then return bytes(pick(40)) end          -- binary
    if k == 4 then return bytes(pick(3000)) end        -- binary, longer
    if k == 5 then return "\161\6\1" .. bytes(pick(8)) end -- looks like an encoding
    if k == 6 then return "h\195\169llo w\195\182rld" end   -- UTF-8
    return H.text_bytes(pick(100), r())
  end

  local value

  local function key(depth)
    local k = pick(10)
    if k <= 3 then return str() end
    if k <= 5 then return integer() end
    if k == 6 then
      local f = float()
      if f ~= f then f = 0.5 end -- NaN cannot be a key
      return f
    end
    if k == 7 then return r() % 2 == 0 end
    if k == 8 and depth < 5 then -- a table as a key, unique by its id
      serial = serial + 1
      local t = value(depth + 1, 3)
      if type(t) ~= "table" then t = { t } end
      t.id = serial
      return t
    end
    return str()
  end

  value = function(depth, width)
    local k = pick(12)
    if depth >= 6 or k <= 6 then -- a scalar
      if k == 1 or k == 7 then return r() % 2 == 0 end
      if k == 2 or k == 8 then return integer() end
      if k == 3 or k == 9 or k == 10 then return float() end
      return str()
    end
    local t = {}
    local n = pick(width or 6)
    if r() % 3 == 0 then -- an array part
      for i = 1, n do t[i] = value(depth + 1, width) end
    end
    for _ = 1, pick(width or 6) do
      t[key(depth)] = value(depth + 1, width)
    end
    return t
  end

  -- A table nested exactly `depth` levels deep, mixed keys at each level.
  local function spine(depth)
    local leaf = value(6)
    for d = depth, 1, -1 do
      local t = { leaf, [key(6)] = value(6) }
      t[str() .. "/" .. d] = leaf
      leaf = t
    end
    return leaf
  end

  return { value = function() return value(0) end, spine = spine, bytes = bytes,
           float = float, integer = integer, str = str, r = r }
end

-- The values of the round trips: specials first, then generated ones.
local function special_values()
  local v = {
    true, false, "", "\0", "plain string", NAN, INF, -INF, NEG_ZERO, 0.0,
    0.1, -2.5, 5e-324, 1.7976931348623157e308, 2 ^ 53, -(2 ^ 53), 2 ^ 63,
    {}, { {} }, { [""] = "" }, { "a", "b", "c" }, { [1] = 1, [3] = 3 },
    { [true] = false, [false] = true },
    { [INF] = -INF, [-INF] = INF, [0.5] = NAN, [NEG_ZERO + 1] = NEG_ZERO },
    { ["\0\1\2\255"] = "\255\254", [{ 1, 2 }] = { 3, 4 }, [{}] = "empty table key" },
    { nested = { deeper = { deepest = { "x", { y = { z = true } } } } } },
  }
  if mtype then
    local more = { 0, 1, -1, math.maxinteger, math.mininteger, 3, 3.0,
      math.maxinteger + 0.0, { [1] = "int key", [1.5] = "float key" },
      { math.maxinteger, math.mininteger, 0, -0.0, 1.0 } }
    for _, x in ipairs(more) do v[#v + 1] = x end
  else
    local more = { 0, 1, -1, 3, 2 ^ 52 + 0.5 }
    for _, x in ipairs(more) do v[#v + 1] = x end
  end
  return v
end

local N_RANDOM = 400

local function all_values()
  local g = gen(20240601)
  local values = special_values()
  for i = 1, N_RANDOM do
    if i % 10 == 0 then
      values[#values + 1] = g.spine(6)
    else
      values[#values + 1] = g.value()
    end
  end
  -- huge strings: alone, as a value deep inside, as a key
  values[#values + 1] = g.bytes(1048576 + 17)
  values[#values + 1] = { a = { b = { c = g.bytes(300000) } }, [g.bytes(100000)] = "huge key" }
  -- shared subtables (a DAG, not a cycle)
  local shared = { "shared", { x = 1 } }
  values[#values + 1] = { shared, shared, [shared] = shared, again = { shared } }
  return values
end

local function depth_of(v)
  if type(v) ~= "table" then return 0 end
  local d = 0
  for k, x in pairs(v) do
    d = math.max(d, depth_of(k), depth_of(x))
  end
  return d + 1
end

---------------------------------------------------------------------------
-- Round trips
---------------------------------------------------------------------------

describe("the built-in codec (okofdb.codec.lua)", function()
  after_each(H.cleanup)

  -- Made when the first test of this block runs, dropped after its last:
  -- a heap of tens of megabytes would slow every garbage collection after.
  local values
  lazy_setup(function() values = all_values() end)
  lazy_teardown(function()
    values = nil
    collectgarbage()
  end)

  it("(the spec's own deep equality tells apart what it must)", function()
    assert.is_true(same(NAN, NAN))
    assert.is_false(same(0.0, NEG_ZERO))
    assert.is_false(same({ NEG_ZERO }, { 0.0 }))
    assert.is_false(same("1", 1))
    assert.is_false(same({ 1, 2 }, { 1, 2, 3 }))
    assert.is_false(same({ a = { b = 1 } }, { a = { b = 2 } }))
    assert.is_false(same({ [{ 1 }] = 2 }, { [{ 1 }] = 3 }))
    assert.is_false(same({ [{ 1 }] = 2 }, { [{ 2 }] = 2 }))
    assert.is_true(same({ [{ 1 }] = 2, [{ 1 }] = 3 }, { [{ 1 }] = 3, [{ 1 }] = 2 }))
    if mtype then
      assert.is_false(same(1, 1.0))
      assert.is_false(same({ x = 1 }, { x = 1.0 }))
    end
  end)

  it("is a table with encode and decode functions, named 'lua'", function()
    assert.are.equal("table", type(okofdb.codec))
    assert.are.equal("table", type(LUA))
    assert.are.equal("function", type(LUA.encode))
    assert.are.equal("function", type(LUA.decode))
    assert.are.equal("lua", LUA.name)
  end)

  it("the generated values are many, nested, and deep enough to mean something", function()
    assert.is_true(#values >= 400)
    local tables, deep6 = 0, 0
    for _, v in ipairs(values) do
      if type(v) == "table" then tables = tables + 1 end
      if depth_of(v) >= 6 then deep6 = deep6 + 1 end
    end
    assert.is_true(tables >= 100, "tables: " .. tables)
    assert.is_true(deep6 >= 30, "values nested 6 deep: " .. deep6)
  end)

  it("decode(encode(v)) is v for every value, directly", function()
    for i, v in ipairs(values) do
      local s = LUA.encode(v)
      assert.are.equal("string", type(s))
      assert.are.equal(0xA1, byte(s, 1), "version byte of value " .. i)
      local back = LUA.decode(s)
      assert.is_true(same(v, back), "value " .. i .. ": " .. show(v) .. " came back as " .. show(back))
    end
  end)

  it("put then get returns an equal value, and each yields it", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua, sync = "none" })
    local want = {}
    for i, v in ipairs(values) do
      local key = "v" .. i
      want[key] = v
      assert.is_true(db:put(key, v))
    end
    for key, v in pairs(want) do
      local r = H.pack(db:get(key))
      assert.are.equal(1, r.n, key .. ": " .. tostring(r[2]))
      assert.is_true(same(v, r[1]), key .. ": " .. show(v) .. " came back as " .. show(r[1]))
    end
    local n = 0
    for key, v, msg, code in db:each() do
      n = n + 1
      assert.is_nil(msg, key)
      assert.is_nil(code, key)
      assert.is_true(want[key] ~= nil, "unexpected key " .. key)
      assert.is_true(same(want[key], v), key .. ": each gave " .. show(v))
    end
    assert.are.equal(#values, n)
    db:close()
  end)

  it("a second handle with the codec, opened later, reads the same values", function()
    local db, dir = H.open_tmp({ codec = okofdb.codec.lua, sync = "none" })
    for i = 1, 60 do assert.is_true(db:put("k" .. i, values[i])) end
    db:close()
    local again = assert(okofdb.open(dir, { codec = okofdb.codec.lua }))
    for i = 1, 60 do
      assert.is_true(same(values[i], again:get("k" .. i)), "k" .. i)
    end
    again:close()
  end)

  it("stores top-level scalars: booleans, numbers, strings", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    local scalars = { true, false, 0, -1, 1.5, NEG_ZERO, INF, -INF, NAN, "", "s", "\0\255" }
    for i, v in ipairs(scalars) do
      assert.is_true(db:put("s" .. i, v))
      local r = H.pack(db:get("s" .. i))
      assert.are.equal(1, r.n)
      assert.is_true(same(v, r[1]), "scalar " .. i .. ": " .. show(v) .. " came back as " .. show(r[1]))
    end
    -- false comes back as false, told apart from "no value" (nil)
    assert.are.equal(false, db:get("s2"))
    assert.is_nil(db:get("absent"))
    local seen = {}
    for k, v in db:each() do seen[k] = { v } end
    assert.are.equal(false, seen.s2[1])
    assert.are.equal(true, seen.s1[1])
    db:close()
  end)

  it("keeps -0.0 negative, NaN a NaN and the infinities", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    assert.is_true(db:put("nz", NEG_ZERO))
    assert.is_true(db:put("pz", 0.0))
    assert.is_true(db:put("nan", NAN))
    assert.is_true(db:put("t", { NEG_ZERO, NAN, INF, -INF }))
    assert.are.equal(-INF, 1 / db:get("nz"))
    assert.are.equal(INF, 1 / db:get("pz"))
    local n = db:get("nan")
    assert.is_true(n ~= n)
    local t = db:get("t")
    assert.are.equal(-INF, 1 / t[1])
    assert.is_true(t[2] ~= t[2])
    assert.are.equal(INF, t[3])
    assert.are.equal(-INF, t[4])
    db:close()
  end)

  if mtype then
    it("keeps integers and floats apart (5.3+)", function()
      local db = H.open_tmp({ codec = okofdb.codec.lua })
      local cases = { 1, 1.0, 0, 0.0, math.maxinteger, math.mininteger,
                      math.maxinteger + 0.0, -(2 ^ 63), 2 ^ 53, math.tointeger(2 ^ 53) }
      for i, v in ipairs(cases) do
        assert.is_true(db:put("n" .. i, v))
        local got = db:get("n" .. i)
        assert.are.equal(mtype(v), mtype(got), "case " .. i)
        assert.are.equal(v, got, "case " .. i)
      end
      assert.are.equal(math.maxinteger, db:get("n5"))
      assert.are.equal(math.mininteger, db:get("n6"))
      local t = db:get("n1")
      assert.are.equal("integer", mtype(t))
      assert.are.equal("float", mtype(db:get("n2")))
      assert.is_true(db:put("mix", { 1, 2.0, [3] = 3, [4.5] = 4.0 }))
      local m = db:get("mix")
      assert.are.equal("integer", mtype(m[1]))
      assert.are.equal("float", mtype(m[2]))
      assert.are.equal("integer", mtype(m[3]))
      assert.are.equal("float", mtype(m[4.5]))
      db:close()
    end)
  end

  it("shared subtables (a DAG) are not cycles: each occurrence comes back as a copy", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    local s = { "shared", n = 1 }
    local v = { a = s, b = s, list = { s, s }, [s] = s }
    assert.is_true(db:put("dag", v))
    local got = db:get("dag")
    assert.is_true(same(v, got))
    assert.are.same({ "shared", n = 1 }, got.a)
    assert.are.same(got.a, got.b)
    db:close()
  end)

  it("encodes in its documented format (stored bytes stay readable across versions)", function()
    assert.are.equal("\161\1", LUA.encode(false))
    assert.are.equal("\161\2", LUA.encode(true))
    assert.are.equal("\161\5\2ab", LUA.encode("ab"))
    assert.are.equal("\161\6\0", LUA.encode({}))
    assert.are.equal("\161\4\0\0\0\0\0\0\224\63", LUA.encode(0.5))
    assert.are.equal("\161\6\1\5\1k\2", LUA.encode({ k = true }))
    if mtype then
      assert.are.equal("\161\3\2", LUA.encode(1))
      assert.are.equal("\161\3\1", LUA.encode(-1))
      assert.are.equal("\161\3\0", LUA.encode(0))
      assert.are.equal("\161\4\0\0\0\0\0\0\240\63", LUA.encode(1.0))
    else
      assert.are.equal("\161\4\0\0\0\0\0\0\240\63", LUA.encode(1))
    end
    -- what Lua 5.3+ writes for integers reads as numbers everywhere
    assert.are.equal(1, LUA.decode("\161\3\2"))
    assert.are.equal(-1, LUA.decode("\161\3\1"))
    assert.are.equal(-300, LUA.decode("\161\3\215\4"))
    assert.are.equal(2 ^ 53, LUA.decode("\161\3" .. H.varint(2 ^ 54)))
    assert.are.same({ k = true }, LUA.decode("\161\6\1\5\1k\2"))
  end)
end)

---------------------------------------------------------------------------
-- What cannot be encoded
---------------------------------------------------------------------------

describe("values the built-in codec cannot encode", function()
  after_each(H.cleanup)

  local function raises(db, value, pattern)
    local msg = H.error_of(db.put, db, "k", value)
    assert.is_not_nil(msg, "no error for " .. show(value))
    assert.is_true(H.contains(msg, "bad argument #2 to 'put'"), msg)
    if pattern then assert.is_true(H.contains(msg, pattern), msg) end
    return msg
  end

  it("raise for nil, functions, userdata and threads, naming 'put' and the argument", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    assert.are.equal("bad argument #2 to 'put' (value: cannot encode a function)",
                     raises(db, print))
    assert.are.equal("bad argument #2 to 'put' (value: cannot encode a function)",
                     raises(db, function() end))
    assert.are.equal("bad argument #2 to 'put' (value: cannot encode a thread)",
                     raises(db, coroutine.create(function() end)))
    assert.are.equal("bad argument #2 to 'put' (value: cannot encode a userdata)",
                     raises(db, io.stdout))
    raises(db, db, "cannot encode a userdata")
    raises(db, nil, "nil")
    assert.is_not_nil(H.error_of(db.put, db, "k")) -- no value at all
    if newproxy then raises(db, newproxy(), "userdata") end
    if jit and pcall(require, "ffi") then
      raises(db, require("ffi").new("int", 1), "cannot encode a cdata")
    end
    db:close()
  end)

  it("raise when the value hides inside a table, as a value or as a key", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    raises(db, { 1, 2, { f = print } }, "cannot encode a function")
    raises(db, { [print] = 1 }, "cannot encode a function")
    raises(db, { a = { b = { c = { coroutine.create(function() end) } } } }, "cannot encode a thread")
    raises(db, { [{ io.stderr }] = true }, "cannot encode a userdata")
    db:close()
  end)

  it("raise for cycles, direct and indirect, through values and keys", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    local direct = {}
    direct.self = direct
    raises(db, direct, "cycle")
    local a, b, c = {}, {}, {}
    a.b, b.c, c.a = b, c, a
    raises(db, a, "cycle")
    raises(db, { x = { y = a } }, "cycle")
    local k = {}
    k[k] = true
    raises(db, k, "cycle")
    local outer, inner = {}, {}
    inner[outer] = 1
    outer.list = { inner }
    raises(db, outer, "cycle")
    -- the handle is still fine afterwards
    assert.is_true(db:put("k", { ok = true }))
    assert.are.same({ ok = true }, db:get("k"))
    db:close()
  end)

  it("leave the previous value and no temporary file behind", function()
    local db, dir = H.open_tmp({ codec = okofdb.codec.lua })
    assert.is_true(db:put("k", "old"))
    local before = H.read_file(dir .. "/k")
    local cyc = {}
    cyc[1] = cyc
    for _, bad in ipairs({ print, cyc, { 1, { 2, { io.stdout } } } }) do
      assert.is_not_nil(H.error_of(db.put, db, "k", bad))
      assert.is_not_nil(H.error_of(db.add, db, "new", bad))
    end
    assert.are.equal("old", db:get("k"))
    assert.is_nil(db:get("new"))
    assert.are.equal(before, H.read_file(dir .. "/k"))
    assert.are.same({ "k" }, H.listdir(dir))
    db:close()
  end)

  it("raise from okofdb.codec.lua.encode too, naming the codec", function()
    assert.are.equal("okofdb.codec.lua: cannot encode a function", H.error_of(LUA.encode, print))
    assert.are.equal("okofdb.codec.lua: cannot encode nil", H.error_of(LUA.encode, nil))
    assert.is_not_nil(H.error_of(LUA.encode))
    local t = {}
    t[1] = { t }
    assert.is_true(H.contains(H.error_of(LUA.encode, t), "cycle"))
  end)

  it("raise (never crash) for tables nested deeper than the codec's limit; any depth it encodes, it decodes", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua })
    local deepest = 0
    for depth = 1, 130 do
      local t = {}
      local top = t
      for _ = 2, depth do
        local u = {}
        t[1] = u
        t = u
      end
      local ok, s = pcall(LUA.encode, top)
      if ok then
        deepest = depth
        local ok2, back = pcall(LUA.decode, s)
        assert.is_true(ok2, "depth " .. depth .. " encodes but does not decode: " .. tostring(back))
        assert.is_true(same(top, back))
      else
        assert.is_true(H.contains(s, "deep"), s)
      end
    end
    assert.is_true(deepest >= 64, "deepest: " .. deepest)
    -- 10000 levels through put: an error, not a C stack overflow
    local t = {}
    local top = t
    for _ = 2, 10000 do
      local u = {}
      t[1] = u
      t = u
    end
    local msg = H.error_of(db.put, db, "deep", top)
    assert.is_true(H.contains(msg, "bad argument #2 to 'put'"), tostring(msg))
    assert.is_nil(db:get("deep"))
    db:close()
  end)
end)

---------------------------------------------------------------------------
-- Bytes that cannot be decoded
---------------------------------------------------------------------------

-- Crafted inputs the decoder must refuse.
local function nasty_inputs()
  local nan_bits = "\0\0\0\0\0\0\248\127"
  return {
    ["empty"] = "",
    ["only the version byte"] = "\161",
    ["wrong version byte"] = "\160\2",
    ["a raw string"] = "plain text written without the codec",
    ["unknown type tag 0"] = "\161\0",
    ["unknown type tag 7"] = "\161\7",
    ["unknown type tag 255"] = "\161\255",
    ["bytes after the value"] = "\161\2\2",
    ["truncated float"] = "\161\4\0\0\0",
    ["truncated varint (integer)"] = "\161\3\128",
    ["truncated varint (string length)"] = "\161\5\255\255",
    ["missing varint"] = "\161\3",
    ["varint of 11 bytes"] = "\161\3" .. string.rep("\255", 10) .. "\1",
    ["varint overflowing 64 bits"] = "\161\3" .. string.rep("\255", 9) .. "\2",
    ["huge declared string length"] = "\161\5" .. H.varint(2 ^ 62) .. "abc",
    ["string length 2^64-1"] = "\161\5" .. string.rep("\255", 9) .. "\1" .. "abc",
    ["string one byte short"] = "\161\5\5abcd",
    ["huge declared table size"] = "\161\6" .. H.varint(2 ^ 60) .. "\2\2",
    ["table size 2^64-1"] = "\161\6" .. string.rep("\255", 9) .. "\1",
    ["table of a million pairs, two bytes"] = "\161\6" .. H.varint(1000000) .. "\2\2",
    ["table missing its last value"] = "\161\6\2\2\2\1",
    ["NaN table key"] = "\161\6\1\4" .. nan_bits .. "\2",
    ["NaN key deep inside"] = "\161\6\1\5\1a\6\1\4" .. nan_bits .. "\2",
    ["tables nested 10000 deep as values"] = "\161" .. string.rep("\6\1\2", 10000) .. "\2",
    ["tables nested 10000 deep as keys"] = "\161" .. string.rep("\6\1", 10000) .. "\2" .. string.rep("\2", 10000),
    ["tables nested 10000 deep, truncated"] = "\161" .. string.rep("\6\1\5\0", 10000),
  }
end

describe("bytes the built-in codec cannot decode", function()
  after_each(H.cleanup)

  -- A handle without a codec and one with it, on one directory.
  local function pair()
    local raw, dir = H.open_tmp({ sync = "none" })
    local db = assert(okofdb.open(dir, { codec = okofdb.codec.lua }))
    return raw, db, dir
  end

  local function is_edecode(r)
    return r.n == 3 and r[1] == nil and type(r[2]) == "string" and r[3] == "EDECODE"
  end

  it("a value written without the codec: get gives nil, msg, \"EDECODE\"", function()
    local raw, db, dir = pair()
    assert.is_true(raw:put("k", "hello"))
    local r = H.pack(db:get("k"))
    assert.is_true(is_edecode(r), tostring(r[2]) .. " " .. tostring(r[3]))
    assert.is_true(H.contains(r[2], '"k"'), r[2])
    assert.is_true(H.contains(r[2], dir), r[2])
    assert.is_true(H.contains(r[2], "decode"), r[2])
    -- the file is untouched and still readable without the codec
    assert.are.equal("hello", raw:get("k"))
    raw:close(); db:close()
  end)

  it("each yields key, nil, msg, \"EDECODE\" for it and goes on", function()
    local raw, db = pair()
    assert.is_true(raw:put("bad1", "not encoded"))
    assert.is_true(raw:put("bad2", ""))
    assert.is_true(db:put("good1", { 1, 2 }))
    assert.is_true(db:put("good2", "two"))
    local got, n = {}, 0
    for k, v, msg, code in db:each() do
      n = n + 1
      got[k] = { v = v, msg = msg, code = code }
    end
    assert.are.equal(4, n)
    for _, k in ipairs({ "bad1", "bad2" }) do
      assert.is_nil(got[k].v)
      assert.are.equal("EDECODE", got[k].code)
      assert.is_true(H.contains(got[k].msg, '"' .. k .. '"'), got[k].msg)
    end
    assert.are.same({ 1, 2 }, got.good1.v)
    assert.are.equal("two", got.good2.v)
    assert.is_nil(got.good1.code)
    raw:close(); db:close()
  end)

  it("a file that fails verification is still \"CORRUPT\", not \"EDECODE\"", function()
    local raw, db, dir = pair()
    assert.is_true(db:put("k", { x = 1 }))
    local f = H.read_file(dir .. "/k")
    H.write_file(dir .. "/k", f:sub(1, -2) .. char((byte(f, -1) + 1) % 256))
    local r = H.pack(db:get("k"))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("CORRUPT", r[3])
    raw:close(); db:close()
  end)

  it("crafted hostile inputs: decode raises, get and each give EDECODE", function()
    local raw, db = pair()
    local inputs = nasty_inputs()
    local names = H.sorted(inputs)
    for i, name in ipairs(names) do
      local s = inputs[name]
      local ok, err = pcall(LUA.decode, s)
      assert.is_false(ok, name .. ": decoded to " .. show(err))
      assert.are.equal("string", type(err), name)
      assert.is_true(H.contains(err, "okofdb.codec.lua: cannot decode"), name .. ": " .. err)
      assert.is_true(raw:put("n" .. i, s))
      local r = H.pack(db:get("n" .. i))
      assert.is_true(is_edecode(r), name .. ": " .. show(r[1]) .. " " .. tostring(r[2]) .. " " .. tostring(r[3]))
    end
    local n = 0
    for k, v, msg, code in db:each() do
      n = n + 1
      assert.is_nil(v, k)
      assert.are.equal("EDECODE", code, k)
      assert.are.equal("string", type(msg), k)
    end
    assert.are.equal(#names, n)
    raw:close(); db:close()
  end)

  it("every proper prefix of an encoding, and the encoding plus a byte, fail to decode", function()
    local g = gen(99)
    for i = 1, 40 do
      local v = g.value()
      if type(v) ~= "table" then v = { v, g.value() } end
      local s = LUA.encode(v)
      for cut = 0, #s - 1, math.max(1, floor(#s / 200)) do
        assert.is_false((pcall(LUA.decode, s:sub(1, cut))), "value " .. i .. " cut at " .. cut)
      end
      assert.is_false((pcall(LUA.decode, s .. "\2")), "value " .. i .. " plus a byte")
    end
    -- and through get, for one value
    local raw, db = pair()
    local s = LUA.encode({ a = { 1, 2, "three" }, [4.5] = true, [{ "k" }] = "v" })
    for cut = 1, #s - 1 do assert.is_true(raw:put("c" .. cut, s:sub(1, cut))) end
    for cut = 1, #s - 1 do
      assert.is_true(is_edecode(H.pack(db:get("c" .. cut))), "cut at " .. cut)
    end
    raw:close(); db:close()
  end)

  it("random and mutated bytes never crash: a value equal to decode's, or nil, msg, \"EDECODE\"", function()
    local raw, db = pair()
    local g = gen(4242)
    local r = g.r
    local inputs = {}
    for i = 1, 600 do
      local k = i % 4
      local s
      if k == 0 then
        s = g.bytes(r() % 64)                       -- anything
      elseif k == 1 then
        s = "\161" .. g.bytes(r() % 64)             -- the right version byte
      else                                          -- a valid encoding, damaged
        s = LUA.encode(g.value())
        local pos = r() % #s + 1
        if k == 2 then
          s = s:sub(1, pos - 1) .. char(r() % 256) .. s:sub(pos + 1)
        else
          s = s:sub(1, pos - 1) .. g.bytes(r() % 4) .. s:sub(pos + 1 + r() % 3)
        end
      end
      inputs[i] = s
      assert.is_true(raw:put("r" .. i, s))
    end
    local decoded, refused = 0, 0
    for i, s in ipairs(inputs) do
      local ok, want = pcall(LUA.decode, s)
      local res = H.pack(db:get("r" .. i))
      if ok then
        decoded = decoded + 1
        assert.are.equal(1, res.n, "input " .. i .. ": " .. tostring(res[2]))
        assert.is_true(same(want, res[1]), "input " .. i)
      else
        refused = refused + 1
        assert.is_true(is_edecode(res), "input " .. i .. " (" .. H.hex(s) .. "): " .. show(res[1]))
      end
    end
    assert.is_true(refused > 300, "refused: " .. refused)
    assert.is_true(decoded > 10, "decoded: " .. decoded)
    local n = 0
    for k, v, msg, code in db:each() do
      n = n + 1
      assert.is_true((v ~= nil and msg == nil) or (v == nil and code == "EDECODE"), k)
    end
    assert.are.equal(#inputs, n)
    raw:close(); db:close()
  end)

  it("okofdb.codec.lua.decode raises for a non-string argument", function()
    assert.is_not_nil(H.error_of(LUA.decode))
    assert.is_not_nil(H.error_of(LUA.decode, {}))
    assert.is_not_nil(H.error_of(LUA.decode, nil))
    assert.is_not_nil(H.error_of(LUA.decode, 12)) -- "12" is no encoding
  end)
end)

---------------------------------------------------------------------------
-- Custom codecs
---------------------------------------------------------------------------

-- A tiny codec of the spec's own: strings, numbers and booleans behind a
-- one-letter tag. It records its calls.
local function tagged_codec()
  local calls = {}
  local c = { calls = calls }
  function c.encode(v)
    calls[#calls + 1] = { "encode", v }
    local t = type(v)
    if t == "string" then return "s:" .. v end
    if t == "number" then return "n:" .. string.format("%.17g", v) end
    if t == "boolean" then return "b:" .. tostring(v) end
    error("tagged: cannot encode a " .. t)
  end
  function c.decode(s)
    calls[#calls + 1] = { "decode", s }
    local tag, rest = s:match("^(%a):(.*)$")
    if tag == "s" then return rest end
    if tag == "n" and tonumber(rest) then return tonumber(rest) end
    if tag == "b" and (rest == "true" or rest == "false") then return rest == "true" end
    error("tagged: bad input " .. string.format("%q", s:sub(1, 12)))
  end
  return c
end

describe("a custom codec (any table with encode and decode functions)", function()
  after_each(H.cleanup)

  it("encodes on put and decodes on get and each; the file holds encode's bytes", function()
    local c = tagged_codec()
    local db, dir = H.open_tmp({ codec = c })
    local raw = assert(okofdb.open(dir))
    assert.is_true(db:put("str", "hello"))
    assert.are.same({ { "encode", "hello" } }, c.calls)
    assert.are.equal("s:hello", raw:get("str"))
    assert.are.equal("hello", db:get("str"))
    assert.are.same({ "decode", "s:hello" }, c.calls[2])
    assert.is_true(db:put("num", 42))
    assert.is_true(db:put("yes", true))
    assert.are.equal("n:42", raw:get("num"))
    assert.are.equal(42, db:get("num"))
    assert.are.equal(true, db:get("yes"))
    local seen = {}
    for k, v in db:each() do seen[k] = v end
    assert.are.same({ str = "hello", num = 42, yes = true }, seen)
    -- add and put_many go through it too
    assert.is_true(db:add("added", "x"))
    assert.are.equal("s:x", raw:get("added"))
    assert.is_true(db:put_many({ m1 = "one", m2 = 2 }))
    assert.are.equal("s:one", raw:get("m1"))
    assert.are.equal("n:2", raw:get("m2"))
    assert.are.equal(2, db:get("m2"))
    raw:close(); db:close()
  end)

  it("its encode errors propagate as they are, and nothing is written", function()
    local c = tagged_codec()
    local db, dir = H.open_tmp({ codec = c })
    assert.is_true(db:put("k", "old"))
    local msg = H.error_of(db.put, db, "k", { "a table" })
    assert.is_true(H.contains(msg, "tagged: cannot encode a table"), msg)
    local obj = { reason = "an error object" }
    local db2 = assert(okofdb.open(dir, { codec = { encode = function() error(obj) end,
                                                    decode = c.decode } }))
    local ok, err = pcall(db2.put, db2, "k", "v")
    assert.is_false(ok)
    assert.are.equal(obj, err) -- the very object
    ok, err = pcall(db2.add, db2, "new", "v")
    assert.are.equal(obj, err)
    ok, err = pcall(db2.put_many, db2, { a = "v", b = "w" })
    assert.are.equal(obj, err)
    assert.are.equal("old", db:get("k"))
    assert.is_nil(db:get("new"))
    assert.are.same({ "k" }, H.listdir(dir))
    db:close(); db2:close()
  end)

  it("an encode that returns no string raises, naming the function", function()
    local db, dir = H.open_tmp({ codec = { encode = function() return nil end,
                                           decode = function(s) return s end } })
    local msg = H.error_of(db.put, db, "k", "v")
    assert.is_true(H.contains(msg, "put"), msg)
    assert.is_true(H.contains(msg, "encode"), msg)
    msg = H.error_of(db.add, db, "k", "v")
    assert.is_true(H.contains(msg, "add"), msg)
    assert.are.same({}, H.listdir(dir))
    db:close()
  end)

  it("nil is refused before the codec sees it", function()
    local c = tagged_codec()
    local db = H.open_tmp({ codec = c })
    assert.are.equal("bad argument #2 to 'put' (value: must not be nil)", H.error_of(db.put, db, "k", nil))
    assert.are.same({}, c.calls)
    db:close()
  end)

  it("its decode errors give nil, msg, \"EDECODE\" from get and key, nil, msg, \"EDECODE\" from each", function()
    local c = tagged_codec()
    local db, dir = H.open_tmp({ codec = c })
    local raw = assert(okofdb.open(dir))
    assert.is_true(raw:put("bad", "no tag here"))
    assert.is_true(db:put("good", "fine"))
    local r = H.pack(db:get("bad"))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("EDECODE", r[3])
    assert.is_true(H.contains(r[2], "tagged: bad input"), r[2])
    assert.is_true(H.contains(r[2], '"bad"'), r[2])
    local got = {}
    for k, v, msg, code in db:each() do got[k] = { v, msg, code } end
    assert.are.equal("fine", got.good[1])
    assert.is_nil(got.bad[1])
    assert.are.equal("EDECODE", got.bad[3])
    assert.is_true(H.contains(got.bad[2], "tagged: bad input"), got.bad[2])
    raw:close(); db:close()
  end)

  -- Regression (c/lua_values.c, push_read): the error object of a failed
  -- decode is turned into the message with lua_tostring, which gives NULL
  -- for a table or nil; okof__l_fail then takes the "not a decoding
  -- failure" path and returns nil, "...: Success", "OK".
  it("a decode that raises a non-string error still gives EDECODE", function()
    local db, dir = H.open_tmp({ codec = { encode = function(v) return v end,
                                           decode = function() error({ "not a string" }) end } })
    assert.is_true(db:put("k", "v"))
    local r = H.pack(db:get("k"))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("string", type(r[2]))
    assert.are.equal("EDECODE", r[3])
    local db2 = assert(okofdb.open(dir, { codec = { encode = function(v) return v end,
                                                    decode = function() error() end } }))
    r = H.pack(db2:get("k"))
    assert.are.equal("EDECODE", r[3])
    for _, v, _, code in db2:each() do
      assert.is_nil(v)
      assert.are.equal("EDECODE", code)
    end
    db:close(); db2:close()
  end)

  -- Regression (c/lua_values.c, push_value): a decode that reports failure
  -- the Lua way, returning nil, msg (as dkjson.decode does), makes get
  -- return a single nil -- "no value" -- and each yield key, nil with no
  -- message: a stored but unreadable value looks absent.
  it("a decode that returns nil, msg gives nil, msg, \"EDECODE\", not \"no value\"", function()
    local db, dir = H.open_tmp({ codec = { encode = function(v) return v end,
                                           decode = function() return nil, "malformed input" end } })
    assert.is_true(db:put("k", "v"))
    local r = H.pack(db:get("k"))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.is_true(H.contains(r[2], "malformed input"), tostring(r[2]))
    assert.are.equal("EDECODE", r[3])
    for _, v, msg, code in db:each() do
      assert.is_nil(v)
      assert.are.equal("EDECODE", code)
      assert.is_true(H.contains(msg, "malformed input"), tostring(msg))
    end
    db:close()
  end)

  -- A finalizer (arbitrary Lua code) may run at any allocation, and the
  -- built-in codec allocates while it decodes. Rounds of the finalizer
  -- specs: Lua 5.1 (two minutes for all) and 5.2-5.3 (10 s) take longer
  -- over them than 5.4 and LuaJIT. Each still catches a decode from a
  -- buffer the handle can change (checked against the code before the fix).
  local ROUNDS = H.GC_ROUNDS
  local with_finalizer = H.with_finalizer

  -- Two values of one shape and size, whose strings differ.
  local function twins()
    local a, b = {}, {}
    for i = 1, 1500 do -- under 64 KiB encoded, even with floats as keys
      a[i] = { string.format("a%09d", i) }
      b[i] = { string.format("b%09d", i) }
    end
    return a, b
  end

  -- Regression (c/lua_values.c, okof__l_read/push_read): a value of up to
  -- 64 KiB is read into the handle's read buffer and okofdb.codec.lua
  -- decodes it there; a finalizer that runs during the decode and reads
  -- another key through the same handle overwrites that buffer, and get
  -- returns a value that was never stored (every Lua version).
  it("a finalizer reading through the same handle during a decode does not change the value returned #gcstress", function()
    local db = H.open_tmp({ codec = okofdb.codec.lua, sync = "none" })
    local a, b = twins()
    assert.is_true(db:put("a", a))
    assert.is_true(db:put("b", b))
    local wrong
    with_finalizer(function() db:get("b") end, function(during)
      for round = 1, math.ceil(200 * ROUNDS) do
        local v = during(function() return db:get("a") end)
        for i = 1, 1500 do
          if type(v) ~= "table" or type(v[i]) ~= "table" or v[i][1] ~= a[i][1] then
            wrong = wrong or ("round " .. round .. ", item " .. i .. ": " .. show(type(v) == "table" and v[i] or v))
          end
        end
      end
    end)
    assert.is_nil(wrong)
    db:close()
  end)

  -- Regression (same place): a finalizer that closes the handle during such
  -- a decode frees the read buffer under the decoder: heap-use-after-free
  -- (ASan: READ in get_byte, c/lua_codec.c; freed by l_close).
  it("a finalizer closing the handle during a decode frees nothing the decoder still reads #gcstress", function()
    local base = H.tmpdir()
    local a = twins()
    local db
    with_finalizer(function() db:close() end, function(during)
      for round = 1, math.ceil(100 * ROUNDS) do
        db = assert(okofdb.open(base .. "/s", { codec = okofdb.codec.lua, sync = "none" }))
        assert.is_true(db:put("k", a))
        local ok, v = during(function() return pcall(db.get, db, "k") end)
        if ok then assert.is_true(same(a, v), "round " .. round) end
        db:close()
      end
    end)
  end)

  local has_dkjson, dkjson = pcall(require, "dkjson")
  if has_dkjson then
    it("dkjson works as a codec: JSON round trips, its encode errors propagate", function()
      local db, dir = H.open_tmp({ codec = dkjson })
      local raw = assert(okofdb.open(dir))
      local v = { name = "okofdb", tags = { "kv", "files" }, n = 3, nested = { ok = true, pi = 3.25 } }
      assert.is_true(db:put("doc", v))
      assert.are.same(v, dkjson.decode(raw:get("doc")))
      assert.are.same(v, db:get("doc"))
      for k, got in db:each() do
        assert.are.equal("doc", k)
        assert.are.same(v, got)
      end
      local msg = H.error_of(db.put, db, "f", { f = print })
      assert.is_not_nil(msg)
      assert.is_true(H.contains(msg, "function"), msg)
      assert.is_nil(db:get("f"))
      raw:close(); db:close()
    end)
  end
end)

---------------------------------------------------------------------------
-- The codec option
---------------------------------------------------------------------------

describe("the codec option of open", function()
  after_each(H.cleanup)

  local function open_error(codec)
    local dir = H.tmpdir() .. "/s"
    return H.error_of(okofdb.open, dir, { codec = codec })
  end

  it("raises, naming 'open' and 'codec', for anything but false or a table with encode and decode functions", function()
    local f = function() end
    local bad = {
      { encode = f },                       -- no decode
      { decode = f },                       -- no encode
      { encode = "x", decode = f },
      { encode = f, decode = 42 },
      {},
      true, "lua", 42, f,
    }
    for i, codec in ipairs(bad) do
      local msg = open_error(codec)
      assert.is_not_nil(msg, "codec " .. i .. " accepted")
      assert.is_true(H.contains(msg, "'open'"), msg)
      assert.is_true(H.contains(msg, "codec"), msg)
    end
    assert.are.equal(
      "bad argument #2 to 'open' (opts: option 'codec' must be a table with encode and decode functions)",
      open_error({ encode = f }))
  end)

  it("creates no directory when it raises", function()
    local dir = H.tmpdir() .. "/never"
    assert.is_not_nil(H.error_of(okofdb.open, dir, { codec = { encode = print } }))
    assert.is_false(H.exists(dir))
  end)

  it("false means no codec: values are strings, tables raise", function()
    local db = H.open_tmp({ codec = false })
    assert.are.equal("bad argument #2 to 'put' (value: string expected, got table)",
                     H.error_of(db.put, db, "k", {}))
    assert.is_not_nil(H.error_of(db.put, db, "k", true))
    assert.is_true(db:put("n", 12))
    assert.are.equal("12", db:get("n"))
    db:close()
  end)

  it("without a codec, files are byte for byte what a put of the string always wrote", function()
    local base = H.tmpdir()
    local plain = assert(okofdb.open(base .. "/plain"))
    local nocodec = assert(okofdb.open(base .. "/false", { codec = false }))
    local withc = assert(okofdb.open(base .. "/lua", { codec = okofdb.codec.lua }))
    local vals = { "", "hi", H.text_bytes(5000, 3), H.random_bytes(70000, 5) }
    for i, v in ipairs(vals) do
      assert.is_true(plain:put("k" .. i, v))
      assert.is_true(nocodec:put("k" .. i, v))
      assert.is_true(withc:put("k" .. i, v))
      local a = H.read_file(base .. "/plain/k" .. i)
      local b = H.read_file(base .. "/false/k" .. i)
      assert.is_true(a == b, "value " .. i)
      assert.are.equal(v, H.decode(a))
      assert.are.equal(v, nocodec:get("k" .. i))
      -- with the codec the stored bytes are the encoding, not the string
      assert.are.equal(LUA.encode(v), H.decode(H.read_file(base .. "/lua/k" .. i)))
    end
    assert.are.equal(H.okof_file(2, H.raw_chunk("hi")), H.read_file(base .. "/plain/k2"))
    assert.are.equal(H.EMPTY_FILE, H.read_file(base .. "/false/k1"))
    -- a codec-less handle reads a codec's file as the encoded bytes
    local enc = plain:get("k2")
    assert.are.equal("hi", enc)
    local raw_lua = assert(okofdb.open(base .. "/lua"))
    assert.are.equal(LUA.encode("hi"), raw_lua:get("k2"))
    plain:close(); nocodec:close(); withc:close(); raw_lua:close()
  end)

  it("a table holding the built-in functions is the built-in codec", function()
    local db, dir = H.open_tmp({ codec = { encode = LUA.encode, decode = LUA.decode } })
    assert.is_true(db:put("k", { 1, { a = true } }))
    assert.are.same({ 1, { a = true } }, db:get("k"))
    local raw = assert(okofdb.open(dir))
    assert.are.equal(LUA.encode({ 1, { a = true } }), raw:get("k"))
    raw:close(); db:close()
  end)
end)
