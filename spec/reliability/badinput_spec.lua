-- spec/reliability/badinput_spec.lua -- README "Errors" and docs/format.md
-- "Keys and file names", table-driven: every argument of every function
-- given every kind
-- of bad input, every option every kind of bad value, hostile keys, and
-- methods called on a wrong self or a closed handle.
--
-- Each case either works as the README says (numbers are converted as Lua
-- does: db:put(1, 2) stores "2" under "1") or raises an error whose message
-- names the function and the argument ("key", "value", "opts", "dir",
-- "prefix", "max_age" or "#1"); a few cases the README leaves open may do
-- either, but never crash, never hang, and never do harm. Afterwards the
-- handle still works, the store holds what it should, and no descriptor
-- leaked.
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local function counted(fn) return RL.counted("badinput", fn) end

local NAN = 0 / 0
local HUGE = string.rep("x", 1024 * 1024)
local CO = coroutine.create(function() end)

-- The kinds of argument every argument gets.
local KINDS = {
  { "nil", nil },
  { "boolean", true },
  { "false", false },
  { "function", print },
  { "userdata", io.stdout },
  { "coroutine", CO },
  { "table", {} },
  { "empty string", "" },
  { "huge string", HUGE },
  { "NaN", NAN },
  { "integer", 42 },
  { "float", 1.5 },
}

local cases, failures = 0, {}

local function pack(...)
  return { n = select("#", ...), ... }
end

local unpack = table.unpack or unpack

local function unpack_results(r)
  return unpack(r, 2, r.n)
end

local function describe_result(r)
  if not r[1] then return "raised: " .. tostring(r[2]):sub(1, 200) end
  local t = {}
  for i = 2, r.n do
    local v = r[i]
    t[#t + 1] = type(v) == "string" and string.format("%q", v:sub(1, 60)) or tostring(v)
  end
  return "returned " .. (r.n - 1) .. " values: " .. table.concat(t, ", ")
end

-- Check one case. expect: "raise" (an error naming fn and arg), a function
-- (the call works: it gets the results, must return true or false, why),
-- or "either" with a check function (used when it does not raise).
local function check(label, fn, arg, expect, works, call)
  cases = cases + 1
  local r = pack(pcall(call))
  local problem
  if expect == "raise" then
    if r[1] then
      problem = "expected an error, " .. describe_result(r)
    else
      local msg = tostring(r[2])
      if not H.contains(msg, fn) then problem = "the error does not name '" .. fn .. "': " .. msg:sub(1, 200)
      elseif not (H.contains(msg, arg) or H.contains(msg, "#1")) then
        problem = "the error does not name the argument '" .. arg .. "': " .. msg:sub(1, 200)
      end
    end
  else
    if not r[1] then
      local msg = tostring(r[2])
      if expect ~= "either" then
        problem = "expected it to work, " .. describe_result(r)
      elseif not (H.contains(msg, fn) and (H.contains(msg, arg) or H.contains(msg, "#1"))) then
        problem = "the error does not name '" .. fn .. "' and '" .. arg .. "': " .. msg:sub(1, 200)
      end
    else
      local ok, why = works(unpack_results(r))
      if not ok then problem = (why or "wrong result") .. "; " .. describe_result(r) end
    end
  end
  if problem then failures[#failures + 1] = label .. ": " .. problem end
end

local function report()
  RL.add("badinput.cases", cases)
  RL.add("badinput.failures", #failures)
  local shown, n = {}, #failures
  for i = 1, math.min(n, 40) do shown[i] = failures[i] end
  if n > 40 then shown[#shown + 1] = "... and " .. (n - 40) .. " more" end
  cases, failures = 0, {}
  assert.are.equal(0, n, "\n" .. table.concat(shown, "\n"))
end

-- Results that say "it worked" for each function.
local function is_true(a) return a == true, "expected true" end
local function is_count(a, b) return type(a) == "number" and a >= 0 and b == nil, "expected a count" end

describe("bad input", function()
  local db, dir, fds
  before_each(function()
    cases, failures = 0, {}
    fds = H.fd_baseline()
    db, dir = H.open_tmp()
    assert.is_true(db:put("present", "v"))
  end)
  after_each(function()
    -- the handle still works and holds exactly what the cases left
    assert.is_true(db:put("after", "ok"))
    assert.are.equal("ok", db:get("after"))
    assert.is_true(db:del("after"))
    assert.are.equal("v", db:get("present"))
    db:close()
    H.cleanup()
    db = nil
    local now = H.fd_baseline()
    if fds and now then assert.are.equal(fds, now, "descriptors leaked") end
  end)

  it("to okofdb.open's dir raises naming 'open' and 'dir', or is converted as Lua does", counted(function()
    local absent = {}
    for _, n in ipairs(H.listdir(".")) do absent[n] = true end
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "okofdb.open(<" .. name .. ">)"
      if type(v) == "number" then
        -- converted: with create = false, a missing directory named so
        local s = tostring(v)
        assert.is_nil(absent[s], "a directory named " .. s .. " exists here")
        check(label, "open", "dir", "work", function(a, b, c)
          return a == nil and H.contains(b, s) and c == "ENOENT", "expected nil, msg naming " .. s .. ", ENOENT"
        end, function() return okofdb.open(v, { create = false }) end)
      elseif name == "huge string" then
        -- a path too long for the OS: an operational error (or a raise)
        check(label, "open", "dir", "either", function(a, b, c)
          return a == nil and type(b) == "string" and type(c) == "string", "expected nil, msg, code"
        end, function() return okofdb.open(HUGE) end)
      else
        check(label, "open", "dir", "raise", nil, function() return okofdb.open(v) end)
      end
    end
    check("okofdb.open(dir with NUL)", "open", "dir", "raise", nil, function()
      return okofdb.open(dir .. "\0/x")
    end)
    check("okofdb.open() (no argument)", "open", "dir", "raise", nil, function() return okofdb.open() end)
    report()
  end))

  it("to okofdb.open's opts raises naming 'open' and 'opts'", counted(function()
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "okofdb.open(dir, <" .. name .. ">)"
      if name == "nil" then
        check(label, "open", "opts", "work", function(a)
          return tostring(a) == "okofdb: " .. dir, "expected a handle"
        end, function() return okofdb.open(dir, v) end)
      elseif name == "table" then
        check(label, "open", "opts", "work", function(a)
          return tostring(a) == "okofdb: " .. dir, "expected a handle"
        end, function() return okofdb.open(dir, {}) end)
      else
        check(label, "open", "opts", "raise", nil, function() return okofdb.open(dir, v) end)
      end
    end
    report()
  end))

  it("as option values raises naming 'open', 'opts' and the option", counted(function()
    local handle = function(a) return tostring(a) == "okofdb: " .. dir, "expected a handle" end
    local OPTIONS = {
      create = { good = { true, false }, bad = { "yes", "true", 1, 0, NAN, {}, print, io.stdout, CO, "" } },
      sync = { good = { "full", "none" }, bad = { "FULL", "None", "full ", 1, true, false, NAN, {}, "", print, io.stdout, CO, HUGE } },
      legacy = { good = { true, false }, bad = { "yes", "true", 1, 0, NAN, {}, print, io.stdout, CO, "" } },
      compress_min = { good = { 0, 1, 2048, 2 ^ 53, math.huge, false },
        bad = { -1, 1.5, NAN, "10", true, -math.huge, {}, "", print, io.stdout, CO, -0.5 } },
    }
    for opt, vals in pairs(OPTIONS) do
      for _, v in ipairs(vals.good) do
        check("open(dir, {" .. opt .. " = " .. tostring(v) .. "})", "open", "opts", "work", handle,
          function() return okofdb.open(dir, { [opt] = v }) end)
      end
      for _, v in ipairs(vals.bad) do
        local label = "open(dir, {" .. opt .. " = " .. (type(v) == "string" and string.format("%q", v:sub(1, 10)) or tostring(v)) .. "})"
        cases = cases + 1
        local ok, msg = pcall(okofdb.open, dir, { [opt] = v })
        msg = tostring(msg)
        if ok then
          failures[#failures + 1] = label .. ": expected an error, it worked"
        elseif not (H.contains(msg, "open") and H.contains(msg, "opts") and H.contains(msg, opt)) then
          failures[#failures + 1] = label .. ": the error does not name open, opts and " .. opt .. ": " .. msg
        end
      end
    end
    -- the codec option (newer than the first API), when the module has it
    if pcall(okofdb.open, dir, { codec = false }) then
      for _, v in ipairs({ true, 1, "json", {}, { encode = print }, { decode = print }, print, io.stdout,
                           { encode = "x", decode = "y" } }) do
        cases = cases + 1
        local ok, msg = pcall(okofdb.open, dir, { codec = v })
        msg = tostring(msg)
        if ok or not (H.contains(msg, "open") and H.contains(msg, "opts") and H.contains(msg, "codec")) then
          failures[#failures + 1] = "open(dir, {codec = " .. tostring(v) .. "}): " .. (ok and "it worked" or msg)
        end
      end
    end
    -- unknown options and option names that are not strings
    for _, opts in ipairs({ { foo = 1 }, { Sync = "full" }, { [1] = true }, { [true] = 1 }, { sync = "full", extra = false } }) do
      cases = cases + 1
      local ok, msg = pcall(okofdb.open, dir, opts)
      msg = tostring(msg)
      if ok or not (H.contains(msg, "open") and H.contains(msg, "opts")) then
        failures[#failures + 1] = "open with an unknown option: " .. (ok and "it worked" or msg)
      end
    end
    cases = cases + 1
    local _, msg = pcall(okofdb.open, dir, { foo = 1 })
    if not H.contains(tostring(msg), "foo") then
      failures[#failures + 1] = "the error for option foo does not name it: " .. tostring(msg)
    end
    report()
    -- compress_min = false and math.huge store values uncompressed: the
    -- option was taken, not ignored
    for _, v in ipairs({ false, math.huge }) do
      local d2 = assert(okofdb.open(dir, { compress_min = v }))
      local big = H.text_bytes(5000, 1)
      assert.is_true(d2:put("plain", big))
      assert.is_true(#H.read_file(dir .. "/plain") > 5000)
      assert.is_true(d2:del("plain"))
      d2:close()
    end
  end))

  -- The key argument of put, get and del.
  local function key_cases(fn, call)
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "db:" .. fn .. "(<" .. name .. ">)"
      if type(v) == "number" then
        local s = tostring(v)
        check(label, fn, "key", "work", function(...)
          return call.works_number(s, ...)
        end, function() return call.run(v) end)
      elseif name == "huge string" then
        cases = cases + 1
        local ok, msg = pcall(call.run, HUGE)
        if ok or not (H.contains(tostring(msg), fn) and H.contains(tostring(msg), "key") and
            H.contains(tostring(msg), "too long")) then
          failures[#failures + 1] = label .. ": expected a 'too long' error naming " .. fn .. " and key, " ..
            (ok and "it worked" or tostring(msg):sub(1, 200))
        end
      else
        check(label, fn, "key", "raise", nil, function() return call.run(v) end)
      end
    end
  end

  it("as put's key raises naming 'put' and 'key'; numbers are converted", counted(function()
    key_cases("put", {
      run = function(k) return db:put(k, "by number") end,
      works_number = function(s, a)
        return a == true and db:get(s) == "by number" and db:del(s) == true, "expected the value under " .. s
      end,
    })
    check("db:put(1, 2)", "put", "key", "work", function(a)
      return a == true and db:get("1") == "2" and db:get(1) == "2", "expected get('1') == '2'"
    end, function() return db:put(1, 2) end)
    assert.is_true(db:del("1"))
    report()
  end))

  it("as put's value raises naming 'put' and 'value'; numbers are converted, huge and empty values work", counted(function()
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "db:put('k', <" .. name .. ">)"
      if type(v) == "number" or type(v) == "string" then
        local want = type(v) == "number" and tostring(v) or v
        check(label, "put", "value", "work", function(a)
          local got = db:get("k")
          return a == true and got == want, "expected get('k') to give it back"
        end, function() return db:put("k", v) end)
      else
        check(label, "put", "value", "raise", nil, function() return db:put("k", v) end)
      end
    end
    check("db:put('k') (no value)", "put", "value", "raise", nil, function() return db:put("k") end)
    -- a value that failed to be put left the last one in place
    assert.are.equal(tostring(1.5), db:get("k"))
    assert.is_true(db:del("k"))
    report()
  end))

  -- add and put_many are newer than the first API: checked when the module has them
  it("as add's key and value raises naming 'add' and the argument; add never replaces a value", counted(function()
    if not db.add then return end
    key_cases("add", {
      run = function(k) return db:add(k, "by number") end,
      works_number = function(s, a)
        return a == true and db:get(s) == "by number" and db:add(s, "again") == false and db:del(s) == true,
          "expected true, then false, the value under " .. s
      end,
    })
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "db:add('fresh', <" .. name .. ">)"
      if type(v) == "number" or type(v) == "string" then
        local want = type(v) == "number" and tostring(v) or v
        check(label, "add", "value", "work", function(a)
          return a == true and db:get("fresh") == want and db:del("fresh"), "expected get('fresh') to give it back"
        end, function() return db:add("fresh", v) end)
      else
        check(label, "add", "value", "raise", nil, function() return db:add("fresh", v) end)
      end
    end
    check("db:add('present', 'x')", "add", "key", "work", function(a)
      return a == false and db:get("present") == "v", "expected false and the old value"
    end, function() return db:add("present", "x") end)
    report()
  end))

  it("as put_many's items raises naming 'put_many' and 'items' or 'value', and writes nothing then", counted(function()
    if not db.put_many then return end
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "db:put_many(<" .. name .. ">)"
      if name == "table" then
        check(label, "put_many", "items", "work", is_true, function() return db:put_many({}) end)
      else
        check(label, "put_many", "items", "raise", nil, function() return db:put_many(v) end)
      end
    end
    local BAD = {
      { "a boolean key", { a = "1", [true] = "x" }, "items" },
      { "a table key", { a = "1", [{}] = "x" }, "items" },
      { "an empty key", { a = "1", [""] = "x" }, "items" },
      { "a 300-byte key", { a = "1", [string.rep("k", 300)] = "x" }, "items" },
      { "a boolean value", { a = "1", b = true }, "value" },
      { "a table value", { a = "1", b = {} }, "value" },
      { "a function value", { a = "1", b = print }, "value" },
      { "a userdata value", { a = "1", b = io.stdout }, "value" },
    }
    for _, c in ipairs(BAD) do
      check("db:put_many(" .. c[1] .. ")", "put_many", c[3], "raise", nil, function() return db:put_many(c[2]) end)
      cases = cases + 1
      if db:get("a") ~= nil then
        failures[#failures + 1] = "db:put_many(" .. c[1] .. ") raised but wrote key 'a'"
        db:del("a")
      end
    end
    check("db:put_many({[1] = 2, k = <1 MiB>, e = ''})", "put_many", "items", "work", function(a)
      return a == true and db:get("1") == "2" and db:get("k") == HUGE and db:get("e") == "", "expected the three values"
    end, function() return db:put_many({ [1] = 2, k = HUGE, e = "" }) end)
    assert.is_true(db:del("1") and db:del("k") and db:del("e"))
    report()
  end))

  it("as get's key raises naming 'get' and 'key'; numbers are converted", counted(function()
    assert.is_true(db:put(tostring(42), "forty-two"))
    assert.is_true(db:put(tostring(NAN), "not a number"))
    key_cases("get", {
      run = function(k) return db:get(k) end,
      works_number = function(s, ...)
        local r = pack(...)
        local want = ({ [tostring(42)] = "forty-two", [tostring(NAN)] = "not a number" })[s]
        return r.n == 1 and r[1] == want, "expected " .. tostring(want)
      end,
    })
    report()
  end))

  it("as del's key raises naming 'del' and 'key'; numbers are converted", counted(function()
    assert.is_true(db:put(tostring(42), "forty-two"))
    key_cases("del", {
      run = function(k) return db:del(k) end,
      works_number = function(s, a)
        return a == (s == tostring(42)) and db:get(s) == nil, "expected true for 42 and false otherwise"
      end,
    })
    report()
  end))

  for _, fn in ipairs({ "each", "keys" }) do
    it("as " .. fn .. "'s prefix raises naming '" .. fn .. "' and 'prefix'; nil and \"\" mean every key", counted(function()
      assert.is_true(db:put(tostring(NAN) .. "-key", "n"))
      assert.is_true(db:put("42x", "m"))
      local function walk(p)
        local t = {}
        for k in db[fn](db, p) do t[#t + 1] = k end
        table.sort(t)
        return t
      end
      local everything = walk()
      assert.are.equal(3, #everything)
      for _, kind in ipairs(KINDS) do
        local name, v = kind[1], kind[2]
        local label = "db:" .. fn .. "(<" .. name .. ">)"
        local want
        if name == "nil" or name == "empty string" then want = everything
        elseif name == "huge string" or name == "float" then want = {}
        elseif name == "integer" then want = { "42x" }
        elseif name == "NaN" then want = { tostring(NAN) .. "-key" } end
        if want then
          check(label, fn, "prefix", "work", function(got)
            return table.concat(got, "\0") == table.concat(want, "\0"), "expected " .. table.concat(want, ", ")
          end, function() return walk(v) end)
        else
          check(label, fn, "prefix", "raise", nil, function() return db[fn](db, v) end)
        end
      end
      report()
    end))
  end

  it("as sweep's max_age raises naming 'sweep' and 'max_age', and never removes a fresh temporary file", counted(function()
    local fresh = dir .. "/.okof-tmp-fresh-1"
    H.write_file(fresh, "x")
    local function kept(a)
      return is_count(a) and H.exists(fresh), "expected a count and the fresh file kept"
    end
    for _, kind in ipairs(KINDS) do
      local name, v = kind[1], kind[2]
      local label = "db:sweep(<" .. name .. ">)"
      if name == "nil" or name == "integer" or name == "float" then
        check(label, "sweep", "max_age", "work", kept, function() return db:sweep(v) end)
      elseif name == "NaN" then
        check(label, "sweep", "max_age", "either", kept, function() return db:sweep(v) end)
      else
        check(label, "sweep", "max_age", "raise", nil, function() return db:sweep(v) end)
      end
    end
    for _, v in ipairs({ "10", "0" }) do
      check("db:sweep(" .. string.format("%q", v) .. ")", "sweep", "max_age", "either", kept,
        function() return db:sweep(v) end)
    end
    check("db:sweep(math.huge)", "sweep", "max_age", "work", kept, function() return db:sweep(math.huge) end)
    for _, v in ipairs({ -1, -math.huge, -0.001 }) do
      -- a negative age: refused, or taken as 0 -- but the file is seconds old at most
      check("db:sweep(" .. tostring(v) .. ")", "sweep", "max_age", "either", function(a)
        return is_count(a), "expected a count"
      end, function() return db:sweep(v) end)
    end
    report()
    H.touch_ago(fresh, "2 hours ago")
    assert.are.equal(1, db:sweep())
    assert.is_false(H.exists(fresh))
  end))

  it("to close is ignored: close takes no argument and is idempotent", counted(function()
    for _, kind in ipairs(KINDS) do
      local d2 = assert(okofdb.open(dir))
      check("db:close(<" .. kind[1] .. ">)", "close", "#1", "work", function(a)
        return a == true and tostring(d2) == "okofdb: closed" and d2:close() == true, "expected true, closed"
      end, function() return d2:close(kind[2]) end)
    end
    report()
  end))

  it("as self of every method raises naming the method", counted(function()
    local METHODS = { "put", "get", "del", "each", "keys", "sweep", "close" }
    local closed = assert(okofdb.open(dir))
    closed:close()
    local walk = select(2, db:keys())
    local selves = { { "nil", nil }, { "table", {} }, { "userdata", io.stdout }, { "boolean", true },
      { "string", "present" }, { "number", 1 }, { "function", print }, { "coroutine", CO },
      { "a walk", walk } }
    for _, m in ipairs(METHODS) do
      local f = db[m]
      assert.are.equal("function", type(f), m)
      for _, s in ipairs(selves) do
        check("db." .. m .. "(<" .. s[1] .. ">, ...)", m, "self", "raise", nil, function()
          return f(s[2], "present", "v")
        end)
      end
      -- a closed handle: every method but close raises
      if m == "close" then
        check("closed:close()", m, "self", "work", is_true, function() return closed:close() end)
      else
        cases = cases + 1
        local ok, msg = pcall(f, closed, "present", "v")
        if ok or not (H.contains(tostring(msg), m) and H.contains(tostring(msg), "closed")) then
          failures[#failures + 1] = "closed:" .. m .. "(): expected an error naming " .. m .. " and 'closed': " ..
            (ok and "it worked" or tostring(msg))
        end
      end
    end
    assert.are.equal("okofdb: closed", tostring(closed))
    -- the failures above use 'self' only as the argument name; make sure
    -- the message names the function (checked by check) -- and that a
    -- method of one handle works on another
    local other = assert(okofdb.open(dir))
    assert.are.equal("v", db.get(other, "present"))
    other:close()
    report()
  end))

  it("as hostile keys stays inside the directory, or raises naming the function and 'key'", counted(function()
    local KEYS = { "../x", "/", ".", "..", "\0", "a/b", "./.", "../../etc/passwd", ".hidden", ".okof-tmp-1-1",
      "con", "A", "a", "\0\0/..", string.rep("\255", 80), string.rep("/", 80), string.rep(".", 80),
      string.rep("\0", 80), "nl\nkey", " " }
    local outside = H.listdir(dir .. "/..")
    assert.is_true(db:del("present"))
    for _, k in ipairs(KEYS) do
      local label = string.format("key %q", k)
      check(label .. " put", "put", "key", "work", function(a)
        local names = H.listdir(dir)
        if a ~= true then return false, "put failed" end
        if #names ~= 1 then return false, "expected one file, got " .. #names end
        local n = names[1]
        if n:find("/", 1, true) or n:find("\0", 1, true) or n == "." or n == ".." or n:sub(1, 1) == "." then
          return false, "bad file name " .. string.format("%q", n)
        end
        local keys, count = H.collect_keys(db)
        if count ~= 1 or not keys[k] then return false, "keys does not yield exactly the key" end
        return db:get(k) == "value of " .. k, "get does not give the value back"
      end, function() return db:put(k, "value of " .. k) end)
      check(label .. " del", "del", "key", "work", function(a)
        return a == true and #H.listdir(dir) == 0, "expected true and an empty store"
      end, function() return db:del(k) end)
    end
    -- "A" and "a" are different files (a case-insensitive file system)
    assert.is_true(db:put("A", "upper"))
    assert.is_true(db:put("a", "lower"))
    assert.are.equal("upper", db:get("A"))
    assert.are.equal("lower", db:get("a"))
    local names = H.listdir(dir)
    assert.are.equal(2, #names)
    assert.are_not.equal(names[1]:lower(), names[2]:lower())
    assert.is_true(db:del("A") and db:del("a"))
    -- too long: a 300-byte plain key, and 86 bytes that each take 3 in a name
    for _, k in ipairs({ string.rep("k", 300), string.rep("\255", 86), string.rep("k", 256) }) do
      for _, fn in ipairs({ "put", "get", "del" }) do
        cases = cases + 1
        local ok, msg = pcall(db[fn], db, k, "v")
        msg = tostring(msg)
        if ok or not (H.contains(msg, fn) and H.contains(msg, "key") and H.contains(msg, "too long")) then
          failures[#failures + 1] = fn .. " of a " .. #k .. "-byte key: expected 'too long': " ..
            (ok and "it worked" or msg)
        end
      end
    end
    assert.are.same({}, H.listdir(dir))
    assert.are.same(outside, H.listdir(dir .. "/.."))
    assert.is_true(db:put("present", "v"))
    report()
  end))
end)
