-- spec/durability_spec.lua -- README "Errors" and "What okofdb guarantees":
-- system calls made to fail by an LD_PRELOAD shim (spec/support/syscall_shim.lua)
-- in a child process. A failed put leaves the previous value and no
-- temporary file, except when only the final directory fsync fails; EINVAL
-- from a directory fsync counts as success; sync = "full" fsyncs the file,
-- renames, fsyncs the directory; sync = "none" never fsyncs; EINTR and short
-- reads and writes are retried.
local H = require("helpers")
local shimlib = require("support.syscall_shim")

local LINUX = H.sh("uname -s"):match("^Linux") ~= nil

describe("under injected system call failures", function()
  local shim, why, shimdir

  setup(function()
    if not LINUX then
      why = "the fault shim needs Linux"
      return
    end
    shimdir = H.sh("mktemp -d"):match("^[^\n]*")
    shim, why = shimlib.build(H, shimdir)
  end)

  teardown(function()
    if shimdir and shimdir ~= "" then H.run("rm -rf " .. H.q(shimdir)) end
  end)

  after_each(H.cleanup)

  -- Run child.lua under the shim; returns its first output line.
  local function child(dir, spec, args, env)
    local prefix = "OKOF_FAULTS=" .. H.q(spec) .. " "
    for k, v in pairs(env or {}) do prefix = prefix .. k .. "=" .. H.q(v) .. " " end
    local all = { dir }
    for _, a in ipairs(args) do all[#all + 1] = a end
    local lines, ok, out = H.child(all, prefix, shim)
    assert.is_true(ok, out)
    assert.are.equal(1, #lines, out)
    return lines[1]
  end

  local function store()
    local okofdb = require("okofdb")
    local dir = H.tmpdir() .. "/store"
    local db = assert(okofdb.open(dir))
    return db, dir
  end

  local function expect_err(line, code, key, dir)
    assert.are.equal(code, line:match("^err (%S+)"), line)
    assert.is_true(H.contains(line, key) or H.contains(line, dir), line)
  end

  local K = H.hex("k")

  it("sync = 'full': put fsyncs the value file, renames it, then fsyncs the directory", function()
    if not shim then return pending(why) end
    local db, dir = store()
    local log = dir .. "/../calls.log"
    assert.are.equal("true", child(dir, "", { "put", K, H.hex("v") }, { OKOF_FAULT_LOG = log }))
    assert.are.equal("fsync-file\nrename\nfsync-dir\n", H.read_file(log))
    assert.are.equal("v", db:get("k"))
    H.write_file(log, "")
    assert.are.equal("true", child(dir, "", { "del", K }, { OKOF_FAULT_LOG = log }))
    assert.are.equal("fsync-dir\n", H.read_file(log))
    db:close()
  end)

  it("sync = 'none': put and del never fsync, put still renames", function()
    if not shim then return pending(why) end
    local db, dir = store()
    local log = dir .. "/../calls.log"
    local env = { OKOF_FAULT_LOG = log, OKOF_CHILD_SYNC = "none" }
    assert.are.equal("true", child(dir, "", { "puttext", K, "200000", "1" }, env))
    assert.are.equal("true", child(dir, "", { "del", K }, env))
    assert.are.equal("rename\n", H.read_file(log) or "")
    assert.is_nil(db:get("k"))
    db:close()
  end)

  it("open, put, get and del do not read the directory; keys and sweep do", function()
    if not shim then return pending(why) end
    local db, dir = store()
    for i = 1, 200 do assert.is_true(db:put("key" .. i, "v")) end
    H.write_file(dir .. "/Foreign", "x")
    local log = dir .. "/../calls.log"
    local env = { OKOF_FAULT_LOG = log, OKOF_CHILD_SYNC = "none" }
    assert.are.equal("true", child(dir, "", { "noop" }, env))
    assert.are.equal("true", child(dir, "", { "put", H.hex("key7"), H.hex("w") }, env))
    assert.are.equal("value " .. H.hex("w"), child(dir, "", { "get", H.hex("key7") }, env))
    assert.are.equal("nil", child(dir, "", { "get", H.hex("absent") }, env))
    assert.are.equal("true", child(dir, "", { "del", H.hex("key7") }, env))
    assert.is_nil((H.read_file(log) or ""):find("readdir"), "the directory was read")
    -- the log does see a walk, so the check above means something
    local lines, ok, out = H.child({ dir, "keys" }, "OKOF_FAULT_LOG=" .. H.q(log) .. " ", shim)
    assert.is_true(ok, out)
    assert.are.equal(199, #lines)
    assert.truthy((H.read_file(log) or ""):find("readdir"))
    db:close()
  end)

  it("a directory fsync answering EINVAL counts as done", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.are.equal("true", child(dir, "dirfsync=EINVAL", { "put", K, H.hex("new") }))
    assert.are.equal("new", db:get("k"))
    assert.are.equal("true", child(dir, "dirfsync=EINVAL", { "del", K }))
    assert.is_nil(db:get("k"))
    db:close()
  end)

  it("a failing directory fsync is reported, with the new value already in place", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "old"))
    expect_err(child(dir, "dirfsync=EIO", { "put", K, H.hex("new") }), "EIO", "k", dir)
    assert.are.equal("new", db:get("k"))
    assert.are.same({}, H.tmpfiles(dir))
    expect_err(child(dir, "dirfsync=EIO", { "del", K }), "EIO", "k", dir)
    assert.is_nil(db:get("k"))
    db:close()
  end)

  it("a failing fsync of the value file keeps the old value and leaves no temporary file", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "old"))
    expect_err(child(dir, "fsync=EIO", { "put", K, H.hex("new") }), "EIO", "k", dir)
    assert.are.equal("old", db:get("k"))
    assert.are.same({}, H.tmpfiles(dir))
    assert.are.same({ "k" }, H.listdir(dir))
    db:close()
  end)

  it("sync = 'none' is not hurt by failing fsyncs, since it makes none", function()
    if not shim then return pending(why) end
    local db, dir = store()
    local env = { OKOF_CHILD_SYNC = "none" }
    assert.are.equal("true", child(dir, "fsync=EIO,dirfsync=EIO", { "put", K, H.hex("new") }, env))
    assert.are.equal("new", db:get("k"))
    assert.are.equal("true", child(dir, "fsync=EIO,dirfsync=EIO", { "del", K }, env))
    db:close()
  end)

  it("a full disk (ENOSPC) keeps the old value and leaves no temporary file", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "old"))
    for _, args in ipairs({ { "put", K, H.hex("small") }, { "putrandom", K, "500000", "2" },
                            { "puttext", K, "500000", "3" } }) do
      local line = child(dir, "write=ENOSPC", args)
      expect_err(line, "ENOSPC", "k", dir)
      assert.is_true(H.contains(line, "No space left on device"), line)
      assert.are.equal("old", db:get("k"))
      assert.are.same({}, H.tmpfiles(dir))
    end
    db:close()
  end)

  it("a disk that fills up in the middle of a value keeps the old value and leaves no temporary file", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "old"))
    expect_err(child(dir, "limit=100000", { "putrandom", K, "1000000", "4" }), "ENOSPC", "k", dir)
    assert.are.equal("old", db:get("k"))
    assert.are.same({}, H.tmpfiles(dir))
    expect_err(child(dir, "limit=100000,short=4096", { "putrandom", K, "1000000", "4" }), "ENOSPC", "k", dir)
    assert.are.equal("old", db:get("k"))
    assert.are.same({}, H.tmpfiles(dir))
    assert.are.equal("true", child(dir, "limit=100000", { "put", K, H.hex("fits") }))
    assert.are.equal("fits", db:get("k"))
    db:close()
  end)

  it("a failing rename keeps the old value and leaves no temporary file", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "old"))
    expect_err(child(dir, "rename=EIO", { "put", K, H.hex("new") }), "EIO", "k", dir)
    assert.are.equal("old", db:get("k"))
    assert.are.same({}, H.tmpfiles(dir))
    db:close()
  end)

  it("a temporary file that cannot be created keeps the old value", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "old"))
    for _, code in ipairs({ "EACCES", "EMFILE", "EROFS" }) do
      expect_err(child(dir, "create=" .. code, { "put", K, H.hex("new") }), code, "k", dir)
      assert.are.equal("old", db:get("k"))
      assert.are.same({ "k" }, H.listdir(dir))
    end
    db:close()
  end)

  it("writes interrupted by EINTR and cut short are resumed", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.are.equal("true", child(dir, "write=EINTR,short=777", { "putrandom", K, "300000", "5" }))
    assert.is_true(db:get("k") == H.random_bytes(300000, 5))
    assert.are.equal("true", child(dir, "write=EINTR,short=777", { "puttext", K, "300000", "6" }))
    assert.is_true(db:get("k") == H.text_bytes(300000, 6))
    assert.are.equal("true", child(dir, "write=EINTR,short=1", { "put", K, H.hex("tiny value") }))
    assert.are.equal("tiny value", db:get("k"))
    assert.are.same({ "k" }, H.listdir(dir))
    db:close()
  end)

  it("reads interrupted by EINTR and cut short are resumed", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", H.random_bytes(300000, 7)))
    assert.are.equal("match", child(dir, "read=EINTR,shortread=100", { "getcheck", K, "random", "300000", "7" }))
    assert.is_true(db:put("k", H.text_bytes(300000, 8)))
    assert.are.equal("match", child(dir, "read=EINTR,shortread=3", { "getcheck", K, "text", "300000", "8" }))
    assert.is_true(db:put("k", "short"))
    assert.are.equal("value " .. H.hex("short"), child(dir, "read=EINTR,shortread=1", { "get", K }))
    H.write_file(dir .. "/k", "\0legacy value")
    assert.are.equal("value " .. H.hex("legacy value"),
      child(dir, "read=EINTR,shortread=2", { "get", K }, { OKOF_CHILD_LEGACY = "1" }))
    db:close()
  end)

  it("a failing read is an error, never a value", function()
    if not shim then return pending(why) end
    local db, dir = store()
    assert.is_true(db:put("k", "value"))
    local line = child(dir, "read=EIO", { "get", K })
    expect_err(line, "EIO", "k", dir)
    assert.is_true(H.contains(line, "Input/output error"), line)
    db:close()
  end)
end)
