-- spec/close54_spec.lua -- the README: `local db <close> = okofdb.open(dir)`
-- works on Lua 5.4, and the iterators' closers release the directory at
-- once. The <close> syntax is only compiled (with load) on Lua 5.4, so this
-- file loads on every version.
local H = require("helpers")

if not H.IS_54 then
  describe("to-be-closed variables", function()
    it("need Lua 5.4", function() pending("not Lua 5.4: " .. _VERSION) end)
  end)
  return
end

local okofdb = require("okofdb")

local function chunk(src)
  return assert(load(src, "=close54", "t"))
end

describe("to-be-closed variables (Lua 5.4)", function()
  after_each(H.cleanup)

  it("local db <close> closes the handle at the end of the scope", function()
    local dir = H.tmpdir() .. "/s"
    local f = chunk([[
      local okofdb, dir = ...
      local inner
      do
        local db <close> = assert(okofdb.open(dir))
        assert(db:put("k", "v"))
        inner = db
        assert(tostring(db) == "okofdb: " .. dir)
      end
      return inner
    ]])
    local db = f(okofdb, dir)
    assert.are.equal("okofdb: closed", tostring(db))
    assert.has_error(function() db:get("k") end)
    assert.are.equal(true, db:close())
    local again = assert(okofdb.open(dir))
    assert.are.equal("v", again:get("k"))
    again:close()
  end)

  it("local db <close> closes the handle when an error leaves the scope", function()
    local dir = H.tmpdir()
    local f = chunk([[
      local okofdb, dir, box = ...
      local db <close> = assert(okofdb.open(dir))
      box.db = db
      error("boom")
    ]])
    local box = {}
    local ok, err = pcall(f, okofdb, dir, box)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom"))
    assert.are.equal("okofdb: closed", tostring(box.db))
  end)

  it("a handle closed explicitly inside the scope is closed again without error", function()
    local dir = H.tmpdir()
    local f = chunk([[
      local okofdb, dir = ...
      do
        local db <close> = assert(okofdb.open(dir))
        db:close()
      end
      return true
    ]])
    assert.is_true(f(okofdb, dir))
  end)

  it("the closer returned by each and keys releases the directory", function()
    local db, _ = H.open_tmp()
    for i = 1, 3 do assert.is_true(db:put("k" .. i, "v")) end
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    local f = chunk([[
      local db, count = ...
      local during, inside
      do
        local _, _, _, c1 = db:keys()
        local closer1 <close> = c1
        local _, _, _, c2 = db:each()
        local closer2 <close> = c2
        during = count()
      end
      return during
    ]])
    collectgarbage("stop")
    local during = f(db, H.fd_count)
    local after = H.fd_count()
    collectgarbage("restart")
    assert.is_true(during > before, "the walks hold no descriptor?")
    assert.are.equal(before, after)
    db:close()
  end)

  it("leaving a loop by return, break or error releases the directory at once", function()
    local db = H.open_tmp()
    for i = 1, 3 do assert.is_true(db:put("k" .. i, "v")) end
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    collectgarbage("stop")
    local function first() for k in db:keys() do return k end end
    local function first_each() for k, v in db:each() do return k, v end end
    for _ = 1, 100 do
      assert.is_not_nil(first())
      assert.is_not_nil(first_each())
      for _ in db:keys() do break end
      assert.is_false(pcall(function() for _ in db:each() do error("stop") end end))
    end
    local after = H.fd_count()
    collectgarbage("restart")
    assert.are.equal(before, after)
    db:close()
  end)

  it("2000 early breaks with the collector stopped leak no descriptor", function()
    local db = H.open_tmp()
    assert.is_true(db:put("k", "v"))
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    collectgarbage("stop")
    for i = 1, 2000 do
      if i % 2 == 0 then
        for _ in db:each() do break end
      else
        for _ in db:keys() do break end
      end
    end
    local after = H.fd_count()
    collectgarbage("restart")
    assert.are.equal(before, after)
    db:close()
  end)
end)
