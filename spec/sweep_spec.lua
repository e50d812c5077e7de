-- spec/sweep_spec.lua -- the README: sweep removes okofdb's temporary files
-- (".okof-tmp-...") older than max_age seconds (default 3600), returns how
-- many, and never touches a key's file or any other file.
local H = require("helpers")
local okofdb = require("okofdb")

describe("sweep", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  local function tmp(name, age)
    H.write_file(dir .. "/" .. name, "leftover of a crashed writer")
    if age then H.touch_ago(dir .. "/" .. name, age) end
  end

  it("returns 0 for a store without temporary files", function()
    local r = H.pack(db:sweep())
    assert.are.equal(1, r.n)
    assert.are.equal(0, r[1])
    assert.is_true(db:put("k", "v"))
    assert.are.equal(0, db:sweep(0))
    assert.are.equal("v", db:get("k"))
  end)

  it("removes only temporary files older than an hour by default, and counts them", function()
    tmp(".okof-tmp-111-1", "2 hours ago")
    tmp(".okof-tmp-111-2", "3 days ago")
    tmp(".okof-tmp-222-7", "61 minutes ago")
    tmp(".okof-tmp-333-1", "30 minutes ago")
    tmp(".okof-tmp-444-1")
    local r = H.pack(db:sweep())
    assert.are.equal(1, r.n)
    assert.are.equal(3, r[1])
    assert.are.same({ ".okof-tmp-333-1", ".okof-tmp-444-1" }, H.listdir(dir))
    assert.are.equal(0, db:sweep())
  end)

  it("uses max_age in seconds", function()
    tmp(".okof-tmp-1-1", "30 minutes ago")
    tmp(".okof-tmp-1-2", "30 seconds ago")
    tmp(".okof-tmp-1-3")
    assert.are.equal(0, db:sweep(3600))
    assert.are.equal(1, db:sweep(600))
    assert.are.same({ ".okof-tmp-1-2", ".okof-tmp-1-3" }, H.listdir(dir))
    assert.are.equal(1, db:sweep(12.5))
    assert.are.same({ ".okof-tmp-1-3" }, H.listdir(dir))
    assert.are.equal(0, db:sweep(600))
  end)

  it("never touches a key's file or any other file, however old", function()
    assert.is_true(db:put("key", "value"))
    assert.is_true(db:put(".okof-tmp-1-1", "a key that looks like a temporary file"))
    assert.is_true(db:put("okof-tmp-1-1", "a plain key"))
    local others = { ".okof-tmp", ".okof-tmpx", ".okof-tmp_1", ".hidden", ".DS_Store", "Foo",
                     "%zz", "x.okof-tmp-1", "..okof-tmp-1" }
    for _, n in ipairs(others) do tmp(n) end
    for _, n in ipairs(H.listdir(dir)) do H.touch_ago(dir .. "/" .. n, "3 days ago") end
    tmp(".okof-tmp-9-9", "3 days ago")
    local before = H.listdir(dir)
    assert.are.equal(1, db:sweep(0))
    local after = H.listdir(dir)
    local want = {}
    for _, n in ipairs(before) do if n ~= ".okof-tmp-9-9" then want[#want + 1] = n end end
    assert.are.same(want, after)
    assert.are.equal("value", db:get("key"))
    assert.are.equal("a key that looks like a temporary file", db:get(".okof-tmp-1-1"))
    assert.are.equal("a plain key", db:get("okof-tmp-1-1"))
    assert.are.equal("leftover of a crashed writer", H.read_file(dir .. "/.hidden"))
  end)

  it("leaves directories and other handles' data alone", function()
    assert(H.run("mkdir " .. H.q(dir .. "/sub")))
    H.write_file(dir .. "/sub/.okof-tmp-1-1", "not in the store directory")
    H.touch_ago(dir .. "/sub/.okof-tmp-1-1", "3 days ago")
    tmp(".okof-tmp-5-5", "3 days ago")
    local other = assert(okofdb.open(dir))
    assert.are.equal(1, other:sweep())
    other:close()
    assert.is_true(H.exists(dir .. "/sub/.okof-tmp-1-1"))
    assert.are.same({ "sub" }, H.listdir(dir))
  end)

  it("does not make temporary files visible before or after", function()
    tmp(".okof-tmp-1-1", "2 hours ago")
    tmp(".okof-tmp-1-2")
    assert.is_true(db:put("k", "v"))
    local _, n = H.collect_keys(db)
    assert.are.equal(1, n)
    assert.are.equal(1, db:sweep())
    local _, m = H.collect_each(db)
    assert.are.equal(1, m)
  end)
end)
