-- spec/powercut/explore_spec.lua -- the power-cut explorer's models and
-- checker on hand-written recordings (quick; part of `make spec`).
local E = require("powercut.explore")

-- A recording: lines, each W line followed by its data.
local function log(lines)
  local t = {}
  for _, l in ipairs(lines) do
    if type(l) == "table" then
      t[#t + 1] = string.format("W %s %d %d\n%s", l[1], l[2], #l[3], l[3])
    else
      t[#t + 1] = l .. "\n"
    end
  end
  return table.concat(t)
end

-- Every distinct state at crash point k, as "path=content" strings.
local function states(text, model, k)
  local rec = E.annotate((E.parse(text)))
  local out = {}
  local n, exhaustive = E.states(rec, E.models[model], k,
    { meta_cap = 1000, data_cap = 1000, seed = 1 }, function(st)
      local t = {}
      for _, d in ipairs(st.dirs) do t[#t + 1] = d .. "/" end
      for _, f in ipairs(st.files) do t[#t + 1] = f.path .. "=" .. f.content end
      out[#out + 1] = table.concat(t, " ")
    end)
  assert.are.equal(n, #out)
  assert.is_true(exhaustive)
  table.sort(out)
  return out
end

local function has(list, s)
  for _, x in ipairs(list) do if x == s then return true end end
  return false
end

-- put with sync = "full": file fsync, rename, directory fsync.
local DURABLE = log({ "C t", { "t", 0, "abc" }, "F t f", "X t", "R t a", "F . d" })

describe("power-cut explorer", function()
  it("reads the recorder's log", function()
    local ops = E.parse(DURABLE .. "M B 1\n")
    assert.are.equal(6, #ops)
    assert.are.equal("abc", ops[2].data)
    assert.are.equal(0, ops[2].off)
    assert.is_true(ops[6].dir)
    assert.are.equal("a", ops[5].b)
    local _, marks = E.parse("M B 1\nC %2Ex\nM E 1 true\n")
    assert.are.same({ b = 0, e = 1, result = "true" }, marks[1])
    assert.are.equal(".x", E.parse("C %2Ex\n")[1].a)
  end)

  it("posix: after the directory fsync only the new value is left", function()
    assert.are.same({ "a=abc" }, states(DURABLE, "posix", 6))
  end)

  it("posix: before it, each name change may or may not have persisted", function()
    assert.are.same({ "", "a=abc", "t=abc" }, states(DURABLE, "posix", 5))
  end)

  it("ext4: name changes persist in order, at least up to the last fsync", function()
    assert.are.same({ "a=abc", "t=abc" }, states(DURABLE, "ext4", 5))
  end)

  it("posix: data not fsynced may be missing, cut or zeros under a durable name", function()
    local text = log({ "C t", { "t", 0, "abc" }, { "t", 3, "def" }, "X t", "R t a", "F . d" })
    local s = states(text, "posix", 6)
    for _, want in ipairs({ "a=", "a=abc", "a=abcdef", "a=\0\0\0\0\0\0", "a=abc\0\0\0" }) do
      assert.is_true(has(s, want), want)
    end
  end)

  it("posix: a block of the data may be missing in the middle", function()
    local data = string.rep("x", 3 * 4096)
    local text = log({ "C t", { "t", 0, data }, "X t", "R t a", "F . d" })
    local hole = string.rep("x", 4096) .. string.rep("\0", 4096) .. string.rep("x", 4096)
    assert.is_true(has(states(text, "posix", 5), "a=" .. hole))
  end)

  it("ext4: a rename over a file flushes its data (auto_da_alloc)", function()
    local text = log({ "C a", { "a", 0, "old" }, "F a f", "F . d",
      "C t", { "t", 0, "new" }, "X t", "R t a" })
    assert.are.same({ "a=new", "a=old", "a=old t=", "a=old t=\0\0\0", "a=old t=new" },
      states(text, "ext4", 8))
  end)

  it("ext4: a rename to a new name does not (an empty file may be left)", function()
    local text = log({ "C t", { "t", 0, "new" }, "X t", "R t a" })
    local s = states(text, "ext4", 4)
    assert.is_true(has(s, "a="))
    assert.is_true(has(s, "a=\0\0\0"))
    assert.is_true(has(s, "a=new"))
  end)

  it("syncfs makes every file and name durable", function()
    local text = log({ "C t", { "t", 0, "abc" }, "R t a", "Y" })
    assert.are.same({ "a=abc" }, states(text, "posix", 4))
    assert.are.same({ "a=abc" }, states(text, "ext4", 4))
  end)

  it("mkdir: a new directory's entry is durable with its parent's fsync", function()
    local text = log({ "D x", "D x/y", "F . d" })
    -- x/y's entry is in x, which was not fsynced
    assert.are.same({ "x/", "x/ x/y/" }, states(text, "posix", 3))
    assert.are.same({ "", "x/", "x/ x/y/" }, states(text, "posix", 2))
    -- one journal: the fsync of anything commits both
    assert.are.same({ "x/ x/y/" }, states(text, "ext4", 3))
  end)

  it("a broken variant drops the fsyncs from the recording", function()
    local ops = E.without(E.parse(DURABLE), "no-file-fsync")
    assert.are.equal(5, #ops)
    ops = E.without(E.parse(DURABLE), "no-dir-fsync")
    assert.are.equal(5, #ops)
    assert.are.equal("R", ops[5].op)
  end)

  describe("expect", function()
    local steps = { { "put", "a", "v1" }, { "put", "a", "v2" }, { "del", "a" } }
    local marks = { { b = 0, e = 5, result = "true" }, { b = 5, e = 10, result = "true" },
      { b = 10, e = 12, result = "true" } }

    it("with sync = \"full\", a returned write fixes the value", function()
      local calls = E.calls(steps, "full", marks)
      local a = E.expect(calls, { "a" }, 10).a
      assert.are.same({ "v2" }, a.values)
      assert.is_false(a.corrupt)
      a = E.expect(calls, { "a" }, 11).a -- del begun
      assert.are.same({ "v2", false }, a.values)
      a = E.expect(calls, { "a" }, 0).a
      assert.are.same({ false }, a.values)
    end)

    it("with sync = \"none\", any value since the last durable one, or CORRUPT", function()
      local calls = E.calls(steps, "none", marks)
      local a = E.expect(calls, { "a" }, 12).a
      assert.are.same({ false, "v1", "v2", false }, a.values)
      assert.is_true(a.corrupt)
    end)

    it("an add that returned false changes nothing", function()
      local calls = E.calls({ { "add", "a", "x" } }, "full", { { b = 0, e = 0, result = "false" } })
      assert.are.same({ false }, E.expect(calls, { "a" }, 0).a.values)
    end)

    it("a value whose ttl the later sleeps cover is none, its bytes expired", function()
      local WL = require("powercut.workloads")
      local s = { { "put", "a", "v1", ttl = 0.05 }, { "sleep", 0.1 }, { "put", "a", "v2", ttl = WL.LONG } }
      local m = { { b = 0, e = 5, result = "true" }, { b = 5, e = 5, result = "true" },
        { b = 5, e = 10, result = "true" } }
      assert.are.equal("expired", E.expiry(s, 1))
      assert.are.equal("live", E.expiry(s, 3))
      local calls = E.calls(s, "full", m)
      local a = E.expect(calls, { "a" }, 5).a
      assert.are.same({ false }, a.values)
      assert.are.same({ "v1" }, a.expired)
      assert.is_true(a.stale)
      a = E.expect(calls, { "a" }, 10).a -- a durable put with a long ttl must be there
      assert.are.same({ "v2" }, a.values)
      -- without the sleep, v1 may or may not have expired when checked
      s[2] = { "sleep", 0.01 }
      assert.are.equal("maybe", E.expiry(s, 1))
      a = E.expect(E.calls(s, "full", m), { "a" }, 5).a
      assert.are.same({ "v1", false }, a.values)
      assert.are.same({}, a.expired)
    end)

    it("a del that returned false fixes nothing", function()
      local s = { { "put", "a", "v1" }, { "del", "a" } }
      local m = { { b = 0, e = 5, result = "true" }, { b = 5, e = 7, result = "false" } }
      assert.are.same({ "v1", false }, E.expect(E.calls(s, "full", m), { "a" }, 7).a.values)
      m[2].result = "true"
      assert.are.same({ false }, E.expect(E.calls(s, "full", m), { "a" }, 7).a.values)
    end)
  end)

  describe("check", function()
    local dir
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(require("okofdb").open(dir)):close()
    end)
    after_each(function()
      os.remove(dir .. "/a")
      os.remove(dir .. "/.okof-lock")
      os.remove(dir)
    end)

    local function check(content, allow)
      local h = assert(io.open(dir .. "/a", "wb"))
      h:write(content)
      h:close()
      local state = { dirs = {}, files = { { path = "a", content = content } } }
      return E.check(state, dir, ".", { a = allow }, { "a" }, false, E.reader(false))
    end

    local function value_file(v)
      local db = assert(require("okofdb").open(dir))
      assert(db:put("a", v))
      db:close()
      local h = assert(io.open(dir .. "/a", "rb"))
      local s = h:read("*a")
      h:close()
      return s
    end

    it("passes an allowed value", function()
      local file = value_file("v1")
      assert.are.same({}, check(file, { values = { "v1" }, corrupt = false, ever = { "v1" } }))
    end)

    it("flags an older value where a durable write must be", function()
      local file = value_file("v1")
      local v = check(file, { values = { "v2" }, corrupt = false, ever = { "v1", "v2" } })
      assert.are.equal("lost", v[1].class)
    end)

    it("flags a value never put", function()
      local file = value_file("zz")
      local v = check(file, { values = { "v2" }, corrupt = true, ever = { "v2" } })
      assert.are.equal("wrong", v[1].class)
    end)

    it("flags the bytes of an expired value", function()
      local file = value_file("v1")
      local v = check(file, { values = { false }, corrupt = false, ever = { false }, expired = { "v1" } })
      assert.are.equal("expired", v[1].class)
    end)

    it("allows the lock file, and sweep keeps it", function()
      local file = value_file("v1")
      local h = assert(io.open(dir .. "/.okof-lock", "wb"))
      h:close()
      local state = { dirs = {}, files = { { path = "a", content = file }, { path = ".okof-lock", content = "" } } }
      local allow = { a = { values = { "v1" }, corrupt = false, ever = { "v1" } } }
      assert.are.same({}, E.check(state, dir, ".", allow, { "a" }, false, E.reader(false)))
      assert(io.open(dir .. "/.okof-lock", "rb")):close() -- still there after sweep
      -- a file of another name (never a key) is a leftover
      state.files[2].path = ".okof-locks"
      h = assert(io.open(dir .. "/.okof-locks", "wb"))
      h:close()
      local v = E.check(state, dir, ".", allow, { "a" }, false, E.reader(false))
      os.remove(dir .. "/.okof-locks")
      assert.are.equal("leftover", v[1].class)
    end)

    it("flags CORRUPT unless the model makes it unavoidable", function()
      local v = check("", { values = { false }, corrupt = false, ever = { false } })
      assert.are.equal("corrupt", v[1].class)
      assert.are.same({}, check("", { values = { false }, corrupt = true, ever = { false } }))
    end)
  end)
end)
