-- spec/errors_spec.lua -- README "Errors": programming errors raise with a
-- message naming the function and the argument; operational errors return
-- nil, msg, code with the key or directory and the OS's text; a failed put
-- leaves the old value and no temporary file.
local H = require("helpers")
local okofdb = require("okofdb")

local LINUX = H.sh("uname -s"):match("^Linux") ~= nil

-- The message of a call that must raise; fails the test if it returns.
local function raised(f, ...)
  local err = H.error_of(f, ...)
  assert.is_not_nil(err, "expected an error to be raised")
  return err
end

local function assert_mentions(msg, ...)
  for _, s in ipairs({ ... }) do
    assert.is_true(H.contains(msg, s), "message lacks '" .. s .. "': " .. tostring(msg))
  end
end

-- An operational message names the key or the directory.
local function assert_names(msg, key, dir)
  assert.is_true(H.contains(msg, key) or H.contains(msg, dir),
    "message names neither '" .. key .. "' nor the directory: " .. tostring(msg))
end

describe("programming errors raise", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  it("open with a dir that is not a string", function()
    for _, bad in ipairs({ {}, true, false }) do
      assert_mentions(raised(okofdb.open, bad), "open")
    end
    assert_mentions(raised(okofdb.open), "open")
    assert_mentions(raised(okofdb.open, nil, {}), "open")
  end)

  it("open with options that are not a table", function()
    for _, bad in ipairs({ "create", true, 5 }) do
      assert_mentions(raised(okofdb.open, dir, bad), "open")
    end
  end)

  it("open with an unknown option, naming it", function()
    for _, name in ipairs({ "creat", "Sync", "compress", "compressmin", "mode", "Legacy", "legacy_mode" }) do
      assert_mentions(raised(okofdb.open, dir, { [name] = true }), "open", name)
    end
  end)

  it("open with a bad option value, naming the option", function()
    local bad = {
      { "create", "yes" }, { "create", 1 }, { "create", {} },
      { "sync", "partial" }, { "sync", "FULL" }, { "sync", 1 }, { "sync", true },
      { "compress_min", -1 }, { "compress_min", 1.5 }, { "compress_min", true },
      { "compress_min", {} }, { "compress_min", "lots" },
      { "legacy", 1 }, { "legacy", "yes" }, { "legacy", "true" }, { "legacy", {} },
    }
    for _, c in ipairs(bad) do
      local msg = raised(okofdb.open, dir, { [c[1]] = c[2] })
      assert_mentions(msg, "open", c[1])
    end
  end)

  it("put with a key or value of the wrong type, naming the argument", function()
    for _, bad in ipairs({ true, false, {}, print }) do
      assert_mentions(raised(db.put, db, bad, "v"), "put", "#1")
      assert_mentions(raised(db.put, db, "k", bad), "put", "#2")
    end
    assert_mentions(raised(db.put, db, nil, "v"), "put", "#1")
    assert_mentions(raised(db.put, db, "k", nil), "put", "#2")
    assert_mentions(raised(db.put, db, "k"), "put", "#2")
    assert_mentions(raised(function() return db:put() end), "put", "#1")
    assert.are.same({}, H.listdir(dir))
  end)

  it("get and del with a key of the wrong type", function()
    for _, name in ipairs({ "get", "del" }) do
      for _, bad in ipairs({ true, {}, print }) do
        assert_mentions(raised(db[name], db, bad), name, "#1")
      end
      assert_mentions(raised(db[name], db, nil), name, "#1")
      assert_mentions(raised(db[name], db), name, "#1")
    end
  end)

  it("put, get and del with the empty key", function()
    for _, name in ipairs({ "put", "get", "del" }) do
      assert_mentions(raised(db[name], db, "", "v"), name, "#1")
    end
    assert.are.same({}, H.listdir(dir))
  end)

  it("each and keys with a prefix of the wrong type", function()
    for _, name in ipairs({ "each", "keys" }) do
      for _, bad in ipairs({ true, {}, print }) do
        assert_mentions(raised(db[name], db, bad), name)
      end
    end
  end)

  it("sweep with a max_age of the wrong type", function()
    for _, bad in ipairs({ "old", true, {} }) do
      assert_mentions(raised(db.sweep, db, bad), "sweep")
    end
  end)

  it("a method called on something that is not a handle", function()
    for _, name in ipairs({ "put", "get", "del", "each", "keys", "sweep", "close" }) do
      raised(db[name], nil, "k", "v")
      raised(db[name], {}, "k", "v")
      raised(db[name], "okofdb", "k", "v")
    end
  end)

  it("any method but close on a closed handle, naming the method", function()
    assert.is_true(db:put("k", "v"))
    db:close()
    assert_mentions(raised(db.put, db, "k", "v"), "put")
    assert_mentions(raised(db.get, db, "k"), "get")
    assert_mentions(raised(db.del, db, "k"), "del")
    assert_mentions(raised(db.each, db), "each")
    assert_mentions(raised(db.keys, db), "keys")
    assert_mentions(raised(db.sweep, db), "sweep")
    assert_mentions(raised(db.sweep, db, 0), "sweep")
    assert.are.equal(true, db:close())
    assert.are.equal("okofdb: closed", tostring(db))
    -- the store itself is untouched
    local db2 = assert(okofdb.open(dir))
    assert.are.equal("v", db2:get("k"))
    db2:close()
  end)

  it("an iterator used after its handle is closed does not crash", function()
    for i = 1, 3 do assert.is_true(db:put("k" .. i, "v")) end
    local it_each, s_each, c_each = db:each()
    local it_keys, s_keys, c_keys = db:keys()
    db:close()
    local ok, k = pcall(it_keys, s_keys, c_keys)
    assert.is_true((ok and (k == nil or type(k) == "string")) or (not ok and type(k) == "string"))
    local ok2, k2, v2 = pcall(it_each, s_each, c_each)
    assert.is_true((ok2 and (k2 == nil or type(k2) == "string") and (v2 == nil or v2 == "v"))
      or (not ok2 and type(k2) == "string"))
  end)
end)

describe("operational errors return nil, msg, code", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  it("open of a missing directory without create: the directory and the OS's text", function()
    local missing = dir .. "/no/such/dir"
    local r = H.pack(okofdb.open(missing, { create = false }))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("ENOENT", r[3])
    assert_mentions(r[2], missing)
    if LINUX then assert_mentions(r[2], "No such file or directory") end
  end)

  it("open of a regular file: ENOTDIR with the OS's text", function()
    H.write_file(dir .. "/f", "x")
    local d, msg, code = okofdb.open(dir .. "/f")
    assert.is_nil(d)
    assert.are.equal("ENOTDIR", code)
    assert_mentions(msg, dir .. "/f")
    if LINUX then assert_mentions(msg, "Not a directory") end
  end)

  it("get where a directory stands at the key's name", function()
    assert(H.run("mkdir " .. H.q(dir .. "/subdir")))
    local r = H.pack(db:get("subdir"))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("EISDIR", r[3])
    assert_names(r[2], "subdir", dir)
    if LINUX then assert_mentions(r[2], "Is a directory") end
  end)

  it("del where a directory stands at the key's name, leaving it", function()
    assert(H.run("mkdir " .. H.q(dir .. "/subdir")))
    H.write_file(dir .. "/subdir/inner", "keep")
    local r = H.pack(db:del("subdir"))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("string", type(r[3]))
    assert.truthy(r[3]:match("^E[A-Z]+$"), r[3])
    assert_names(r[2], "subdir", dir)
    assert.are.equal("keep", H.read_file(dir .. "/subdir/inner"))
  end)

  it("get where a symbolic link stands at the key's name: ELOOP, the link is not followed", function()
    local outside = dir:match("^(.*)/[^/]*$") .. "/outside"
    H.write_file(outside, "\0secret outside the store")
    assert(H.run("ln -s " .. H.q(outside) .. " " .. H.q(dir .. "/link")))
    assert(H.run("ln -s nowhere " .. H.q(dir .. "/dangling")))
    for _, k in ipairs({ "link", "dangling" }) do
      local r = H.pack(db:get(k))
      assert.are.equal(3, r.n, k)
      assert.is_nil(r[1])
      assert.are.equal("ELOOP", r[3])
      assert_names(r[2], k, dir)
    end
    local got = H.collect_each(db)
    if got.link then
      assert.is_nil(got.link.value)
      assert.are.equal("string", type(got.link.err))
    end
  end)

  it("put over a symbolic link replaces the link, not its target", function()
    local outside = dir:match("^(.*)/[^/]*$") .. "/target"
    H.write_file(outside, "\0target")
    assert(H.run("ln -s " .. H.q(outside) .. " " .. H.q(dir .. "/link")))
    assert.is_true(db:put("link", "new"))
    assert.are.equal("\0target", H.read_file(outside))
    assert.is_false(H.is_symlink(dir .. "/link"))
    assert.are.equal("new", db:get("link"))
    assert(H.run("rm " .. H.q(dir .. "/link") .. " && ln -s " .. H.q(outside) .. " " .. H.q(dir .. "/link")))
    assert.is_true(db:del("link"))
    assert.is_false(H.exists(dir .. "/link"))
    assert.are.equal("\0target", H.read_file(outside))
  end)

  it("reading a file the process may not read: EACCES", function()
    if H.is_root() then return pending("root reads every file") end
    assert.is_true(db:put("locked", "v"))
    assert(H.run("chmod 000 " .. H.q(dir .. "/locked")))
    local r = H.pack(db:get("locked"))
    assert.are.equal(3, r.n)
    assert.are.equal("EACCES", r[3])
    assert_names(r[2], "locked", dir)
    if LINUX then assert_mentions(r[2], "Permission denied") end
  end)
end)

describe("a failed put", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  it("over a directory standing at the key's name returns EISDIR and leaves no temporary file", function()
    assert(H.run("mkdir " .. H.q(dir .. "/empty") .. " " .. H.q(dir .. "/full")))
    H.write_file(dir .. "/full/inner", "keep me")
    for _, k in ipairs({ "empty", "full" }) do
      for _, v in ipairs({ "small", H.text_bytes(10000, 1) }) do
        local r = H.pack(db:put(k, v))
        assert.are.equal(3, r.n, k)
        assert.is_nil(r[1])
        assert.are.equal("EISDIR", r[3])
        assert_names(r[2], k, dir)
        assert.are.same({}, H.tmpfiles(dir))
      end
    end
    assert.is_true(H.is_dir(dir .. "/empty"))
    assert.are.equal("keep me", H.read_file(dir .. "/full/inner"))
    assert.are.same({ "empty", "full" }, H.listdir(dir))
  end)

  it("that cannot write the whole file keeps the old value and leaves no temporary file", function()
    -- A child whose file size limit is 512 bytes, with SIGXFSZ ignored, so
    -- that write(2) fails with EFBIG in the middle of the value.
    local old = "the old value"
    assert.is_true(db:put("efbig-key", old))
    local lines, ok, out = H.child({ dir, "putrandom", H.hex("efbig-key"), "100000", "7" },
      "trap '' XFSZ; ulimit -f 1; ")
    assert.is_true(ok, out)
    assert.are.equal(1, #lines, out)
    local code = lines[1]:match("^err (%S+)")
    assert.is_not_nil(code, "the put did not fail: " .. out)
    assert.are.equal("EFBIG", code)
    assert_names(lines[1], "efbig-key", dir)
    assert.are.equal(old, db:get("efbig-key"))
    assert.are.same({}, H.tmpfiles(dir))
    assert.are.same({ "efbig-key" }, H.listdir(dir))
  end)

  it("in a directory the process may not write keeps the old value (EACCES)", function()
    if H.is_root() then return pending("root writes in read-only directories") end
    assert.is_true(db:put("k", "old"))
    assert(H.run("chmod 0555 " .. H.q(dir)))
    local r = H.pack(db:put("k", "new"))
    assert(H.run("chmod 0755 " .. H.q(dir)))
    assert.are.equal(3, r.n)
    assert.are.equal("EACCES", r[3])
    assert_names(r[2], "k", dir)
    assert.are.equal("old", db:get("k"))
    assert.are.same({}, H.tmpfiles(dir))
  end)
end)

describe("a key in a message", function()
  after_each(H.cleanup)

  it("is quoted as the command-line tool writes keys: \\xHH, \\\" and \\\\", function()
    local db, dir = H.open_tmp()
    local key = "a\255\"\\\nz"
    assert.is_true(db:put(key, "value"))
    H.write_file(dir .. "/" .. H.key_to_name(key), "\1not a value file")
    local v, msg, code = db:get(key)
    assert.is_nil(v)
    assert.are.equal("CORRUPT", code)
    assert.is_truthy(H.contains(msg, '"a\\xff\\"\\\\\\x0az"'), msg)
  end)
end)
