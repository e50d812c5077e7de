-- spec/api_spec.lua -- the Lua API (lua/okofdb.lua): open and its options, put,
-- get, del, each, keys, close, tostring, and the resources they hold.
local H = require("helpers")
local okofdb = require("okofdb")

describe("okofdb module", function()
  it("has _VERSION 'okofdb 0.1.0' (semver)", function()
    assert.are.equal("okofdb 0.1.0", okofdb._VERSION)
    assert.truthy(okofdb._VERSION:match("^okofdb %d+%.%d+%.%d+$"))
  end)

  it("sets no global variable when required", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    package.loaded["okofdb"] = nil
    package.loaded["okofdb.core"] = nil
    local m = require("okofdb")
    assert.are.equal("table", type(m))
    assert.are.equal("function", type(m.open))
    for k in pairs(_G) do
      assert.is_true(before[k] ~= nil, "new global: " .. tostring(k))
    end
  end)
end)

describe("okofdb.open", function()
  after_each(H.cleanup)

  it("creates the directory and its missing parents, mode 0777 less the umask", function()
    local base = H.tmpdir()
    local dir = base .. "/a/b/c"
    local db, msg, code = okofdb.open(dir)
    assert.is_not_nil(db, msg)
    assert.is_nil(code)
    assert.is_true(H.is_dir(dir))
    local want = H.perm_string(511, H.umask())
    assert.are.equal(want, H.mode(base .. "/a"))
    assert.are.equal(want, H.mode(base .. "/a/b"))
    assert.are.equal(want, H.mode(dir))
    assert.are.same({}, H.listdir(dir))
    db:close()
  end)

  it("opens an existing directory and creates nothing in it", function()
    local dir = H.tmpdir()
    H.write_file(dir .. "/foo", H.rust_file(H.raw_chunk("bar")))
    local db = assert(okofdb.open(dir))
    assert.are.same({ "foo" }, H.listdir(dir))
    assert.are.equal("bar", db:get("foo"))
    db:close()
    assert.are.same({ "foo" }, H.listdir(dir))
  end)

  it("with create = true creates, like the default", function()
    local dir = H.tmpdir() .. "/x/y"
    local db = assert(okofdb.open(dir, { create = true }))
    assert.is_true(H.is_dir(dir))
    db:close()
  end)

  it("with create = false refuses a missing directory: nil, msg, 'ENOENT'", function()
    local dir = H.tmpdir() .. "/missing"
    local r = H.pack(okofdb.open(dir, { create = false }))
    assert.are.equal(3, r.n)
    assert.is_nil(r[1])
    assert.are.equal("string", type(r[2]))
    assert.are.equal("ENOENT", r[3])
    assert.is_true(H.contains(r[2], dir), r[2])
    assert.is_false(H.exists(dir))
  end)

  it("with create = false opens an existing directory", function()
    local dir = H.tmpdir()
    local db = assert(okofdb.open(dir, { create = false }))
    assert.is_true(db:put("k", "v"))
    assert.are.equal("v", db:get("k"))
    db:close()
  end)

  it("refuses a regular file as directory: nil, msg, 'ENOTDIR'", function()
    local path = H.tmpdir() .. "/file"
    H.write_file(path, "not a directory")
    for _, opts in ipairs({ {}, { create = false }, { create = true } }) do
      local db, msg, code = okofdb.open(path, opts)
      assert.is_nil(db)
      assert.are.equal("ENOTDIR", code)
      assert.is_true(H.contains(msg, path), msg)
    end
    assert.are.equal("not a directory", H.read_file(path))
  end)

  it("refuses a path below a regular file: nil, msg, 'ENOTDIR'", function()
    local path = H.tmpdir() .. "/file"
    H.write_file(path, "x")
    local db, msg, code = okofdb.open(path .. "/sub")
    assert.is_nil(db)
    assert.are.equal("string", type(msg))
    assert.are.equal("ENOTDIR", code)
  end)

  it("accepts every documented option value", function()
    local dir = H.tmpdir()
    local all = {
      {}, { sync = "full" }, { sync = "none" }, { compress_min = 0 },
      { compress_min = 2048 }, { compress_min = 1000000 }, { compress_min = false },
      { create = true, sync = "none", compress_min = false },
    }
    for i, opts in ipairs(all) do
      local db, msg = okofdb.open(dir, opts)
      assert.is_not_nil(db, msg)
      assert.is_true(db:put("k" .. i, "v" .. i))
      assert.are.equal("v" .. i, db:get("k" .. i))
      db:close()
    end
  end)

  it("opens a directory full of foreign files, corrupt files and subdirectories", function()
    local dir = H.tmpdir()
    H.write_file(dir .. "/.DS_Store", "junk")
    H.write_file(dir .. "/Foo", "junk")
    H.write_file(dir .. "/%zz", "junk")
    H.write_file(dir .. "/corrupt", "\1garbage")
    H.write_file(dir .. "/.okof-tmp-1-1", "partial")
    assert(H.run("mkdir " .. H.q(dir .. "/subdir") .. " " .. H.q(dir .. "/.git")))
    local before = H.listdir(dir)
    local db = assert(okofdb.open(dir))
    assert.are.same(before, H.listdir(dir))
    assert.is_true(db:put("fresh", "value"))
    assert.are.equal("value", db:get("fresh"))
    db:close()
  end)
end)

describe("put, get and del", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  it("put returns exactly true", function()
    local r = H.pack(db:put("k", "v"))
    assert.are.equal(1, r.n)
    assert.are.equal(true, r[1])
  end)

  it("get of a key without a value returns a single nil", function()
    local r = H.pack(db:get("nothing"))
    assert.are.equal(1, r.n)
    assert.is_nil(r[1])
  end)

  it("get returns what put stored, and a later put replaces it", function()
    assert.is_true(db:put("k", "first"))
    assert.are.equal("first", db:get("k"))
    assert.is_true(db:put("k", "second, longer than the first"))
    assert.are.equal("second, longer than the first", db:get("k"))
    assert.is_true(db:put("k", "3"))
    assert.are.equal("3", db:get("k"))
  end)

  it("del returns true when it removed a value, false when there was none", function()
    assert.is_true(db:put("k", "v"))
    local r = H.pack(db:del("k"))
    assert.are.equal(1, r.n)
    assert.are.equal(true, r[1])
    assert.is_nil(db:get("k"))
    assert.are.same({}, H.listdir(dir))
    r = H.pack(db:del("k"))
    assert.are.equal(1, r.n)
    assert.are.equal(false, r[1])
    assert.are.equal(false, db:del("never-there"))
  end)

  it("put of a key writes exactly one file, named by the key codec", function()
    assert.is_true(db:put("plain-key", "v"))
    assert.is_true(db:put("Mixed/Case key", "w"))
    assert.are.same({ "%4dixed%2f%43ase%20key", "plain-key" }, H.listdir(dir))
  end)

  it("converts number keys and values as Lua does", function()
    assert.is_true(db:put(1, "one"))
    assert.are.equal("one", db:get("1"))
    assert.are.equal("one", db:get(1))
    assert.is_true(db:put("n", 42))
    assert.are.equal("42", db:get("n"))
    assert.is_true(db:put(1.5, 2.25))
    assert.are.equal("2.25", db:get("1.5"))
    assert.is_true(db:put(-7, tostring(2.0)))
    assert.are.equal(tostring(2.0), db:get("-7"))
    local f = 2.0
    assert.is_true(db:put(f, f))
    assert.are.equal(tostring(f), db:get(tostring(f)))
    assert.is_true(db:del(1))
    assert.is_nil(db:get("1"))
    local keys = H.collect_keys(db)
    assert.is_nil(keys[1])
    assert.is_true(keys["1.5"])
  end)

  it("stores the empty value", function()
    assert.is_true(db:put("empty", ""))
    local r = H.pack(db:get("empty"))
    assert.are.equal(1, r.n)
    assert.are.equal("", r[1])
  end)

  it("stores binary values with NULs and every byte", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    local v = table.concat(all) .. "\0\0\0" .. table.concat(all):reverse() .. "\0"
    assert.is_true(db:put("bin", v))
    assert.are.equal(v, db:get("bin"))
    assert.is_true(db:put("nul", "\0"))
    assert.are.equal("\0", db:get("nul"))
    assert.is_true(db:put("nuls", string.rep("\0", 5000)))
    assert.are.equal(string.rep("\0", 5000), db:get("nuls"))
  end)

  it("stores large values spanning several chunks, compressible and not", function()
    for _, v in ipairs({
      H.text_bytes(200000, 9),
      H.random_bytes(200000, 9),
      H.text_bytes(65536 * 3, 10),
      H.random_bytes(65536 * 2 + 1, 11),
      H.random_bytes(65536, 12) .. H.text_bytes(65536, 12) .. H.random_bytes(10, 13),
      string.rep("a", 1000000),
    }) do
      assert.is_true(db:put("big", v))
      local got = db:get("big")
      assert.are.equal(#v, #got)
      assert.is_true(got == v)
    end
  end)

  it("stores values just below, at and above compress_min (2048)", function()
    for _, n in ipairs({ 1, 2047, 2048, 2049, 4096 }) do
      for _, v in ipairs({ H.text_bytes(n, n), H.random_bytes(n, n), string.rep("z", n) }) do
        assert.is_true(db:put("v" .. n, v))
        assert.is_true(db:get("v" .. n) == v)
      end
    end
  end)

  it("creates value files with mode 0666 less the umask", function()
    assert.is_true(db:put("k", "v"))
    assert.are.equal(H.perm_string(438, H.umask()), H.mode(dir .. "/k"))
  end)

  it("honours the umask of the writing process", function()
    local lines, ok, out = H.child({ dir, "put", H.hex("masked"), H.hex("secret") }, "umask 077; ")
    assert.is_true(ok, out)
    assert.are.same({ "true" }, lines)
    assert.are.equal("600", H.mode(dir .. "/masked"))
    assert.are.equal("secret", db:get("masked"))
  end)

  it("reads values written with any options through a handle with other options", function()
    local writers = {
      assert(okofdb.open(dir, { compress_min = 0, sync = "none" })),
      assert(okofdb.open(dir, { compress_min = false })),
      assert(okofdb.open(dir, { compress_min = 10 })),
    }
    local v = H.text_bytes(10000, 5)
    for i, w in ipairs(writers) do
      assert.is_true(w:put("w" .. i, v .. i))
    end
    for i, w in ipairs(writers) do
      for j = 1, #writers do
        assert.is_true(w:get("w" .. j) == v .. j)
      end
      assert.is_true(db:get("w" .. i) == v .. i)
      w:close()
    end
  end)
end)

describe("each and keys", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  it("yield nothing for an empty store", function()
    local _, n = H.collect_keys(db)
    assert.are.equal(0, n)
    _, n = H.collect_each(db)
    assert.are.equal(0, n)
  end)

  it("return four values: iterator, state, nil, closer", function()
    for _, name in ipairs({ "each", "keys" }) do
      local r = H.pack(db[name](db))
      assert.are.equal(4, r.n, name)
      assert.are.equal("function", type(r[1]), name)
      assert.is_nil(r[3], name)
      assert.is_not_nil(r[4], name)
      -- finish the walk so it releases its directory
      for _ in r[1], r[2], r[3] do end
    end
  end)

  it("yield every key once, each with its value", function()
    local want = { a = "1", b = "", ["C/d"] = "binary\0value", [".hidden-key"] = "h",
                   big = H.text_bytes(100000, 1) }
    for k, v in pairs(want) do assert.is_true(db:put(k, v)) end
    local got, n = H.collect_each(db)
    assert.are.equal(5, n)
    for k, v in pairs(want) do
      assert.is_not_nil(got[k], k)
      assert.is_true(got[k].value == v, k)
      assert.is_nil(got[k].err)
    end
    local keys, m = H.collect_keys(db)
    assert.are.equal(5, m)
    assert.are.same(H.sorted(want), H.sorted(keys))
  end)

  it("with a prefix yield only the keys that start with it", function()
    for _, k in ipairs({ "user:1", "user:2", "user", "use", "users", "group:1", "User:3" }) do
      assert.is_true(db:put(k, "v-" .. k))
    end
    assert.are.same({ "user:1", "user:2" }, H.sorted((H.collect_keys(db, "user:"))))
    assert.are.same({ "user", "user:1", "user:2", "users" }, H.sorted((H.collect_keys(db, "user"))))
    assert.are.same({ "User:3" }, H.sorted((H.collect_keys(db, "U"))))
    assert.are.same({}, H.sorted((H.collect_keys(db, "nobody"))))
    assert.are.same({ "user:1" }, H.sorted((H.collect_keys(db, "user:1"))))
    local e = H.collect_each(db, "group")
    assert.are.same({ "group:1" }, H.sorted(e))
    assert.are.equal("v-group:1", e["group:1"].value)
    -- the empty prefix is every key
    local _, n = H.collect_keys(db, "")
    assert.are.equal(7, n)
  end)

  it("each skips keys deleted while iterating", function()
    for i = 1, 50 do assert.is_true(db:put("k" .. i, "v" .. i)) end
    local seen = 0
    for k, v in db:each() do
      seen = seen + 1
      assert.are.equal("v" .. k:sub(2), v)
      if seen == 1 then
        for i = 1, 50 do
          if "k" .. i ~= k then assert.is_true(db:del("k" .. i)) end
        end
      end
    end
    assert.are.equal(1, seen)
  end)

  it("keys yields a key whose file fails verification, like any other", function()
    assert.is_true(db:put("good", "v"))
    H.write_file(dir .. "/bad", "\1not a snappy stream")
    local keys, n = H.collect_keys(db)
    assert.are.equal(2, n)
    assert.is_true(keys.good)
    assert.is_true(keys.bad)
  end)

  it("release the directory when the walk ends", function()
    assert.is_true(db:put("a", "1"))
    assert.is_true(db:put("b", "2"))
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    collectgarbage("stop")
    for _ in db:keys() do end
    for _ in db:each() do end
    local after = H.fd_count()
    collectgarbage("restart")
    assert.are.equal(before, after)
  end)

  it("release the directory at once when the loop is left with break (Lua 5.4)", function()
    if not H.IS_54 then return pending("to-be-closed variables need Lua 5.4") end
    assert.is_true(db:put("a", "1"))
    assert.is_true(db:put("b", "2"))
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    collectgarbage("stop")
    for _ in db:keys() do break end
    local mid = H.fd_count()
    for _ in db:each() do break end
    local after = H.fd_count()
    collectgarbage("restart")
    assert.are.equal(before, mid)
    assert.are.equal(before, after)
  end)

  it("release the directory of a loop left with break at garbage collection", function()
    assert.is_true(db:put("a", "1"))
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    for _ in db:keys() do break end
    for _ in db:each() do break end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)

  it("release the directory of a walk abandoned outside a for loop at garbage collection", function()
    assert.is_true(db:put("a", "1"))
    assert.is_true(db:put("b", "2"))
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    for _ = 1, 50 do
      local f, s, c = db:keys()
      assert.are.equal("string", type(f(s, c)))
      local g, t, d = db:each()
      assert.are.equal("string", type(g(t, d)))
    end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)

  it("leak no descriptor over 2000 loops left early", function()
    for i = 1, 5 do assert.is_true(db:put("k" .. i, "v")) end
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    for i = 1, 2000 do
      if i % 2 == 0 then
        for _ in db:keys() do break end
      else
        for k, v in db:each("k") do
          assert.are.equal("v", v)
          break
        end
      end
    end
    if H.IS_54 then
      -- closed by the generic for, not by the collector
      assert.are.equal(before, H.fd_count())
    end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)
end)

describe("close and tostring", function()
  after_each(H.cleanup)

  it("tostring is 'okofdb: ' .. dir as given, then 'okofdb: closed'", function()
    local base = H.tmpdir()
    for _, dir in ipairs({ base .. "/s", base .. "/s/", base .. "//s/./t" }) do
      local db = assert(okofdb.open(dir))
      assert.are.equal("okofdb: " .. dir, tostring(db))
      db:close()
      assert.are.equal("okofdb: closed", tostring(db))
    end
  end)

  it("close returns true and may be called again", function()
    local db = H.open_tmp()
    local r = H.pack(db:close())
    assert.are.equal(1, r.n)
    assert.are.equal(true, r[1])
    assert.are.equal(true, db:close())
    assert.are.equal(true, db:close())
  end)

  it("close releases the handle's descriptor at once", function()
    local dir = H.tmpdir()
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    collectgarbage("stop")
    local dbs = {}
    for i = 1, 20 do dbs[i] = assert(okofdb.open(dir)) end
    for i = 1, 20 do dbs[i]:close() end
    local after = H.fd_count()
    collectgarbage("restart")
    assert.are.equal(before, after)
  end)

  it("a handle that is collected is closed", function()
    local dir = H.tmpdir()
    local before = H.fd_baseline()
    if not before then return pending("no /proc/<pid>/fd") end
    for _ = 1, 300 do
      local db = assert(okofdb.open(dir))
      assert.is_nil(db:get("k"))
    end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)

  it("data written through a handle stays after close", function()
    local db, dir = H.open_tmp()
    assert.is_true(db:put("k", "kept"))
    db:close()
    local db2 = assert(okofdb.open(dir))
    assert.are.equal("kept", db2:get("k"))
    db2:close()
  end)
end)
