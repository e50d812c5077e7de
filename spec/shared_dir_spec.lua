-- spec/shared_dir_spec.lua -- README "What okofdb guarantees":
-- handles and processes sharing one directory see each other's writes at
-- once (no caching), readers never see a partial value, concurrent writers
-- of one key corrupt nothing.
local H = require("helpers")
local okofdb = require("okofdb")

describe("handles on one directory", function()
  after_each(H.cleanup)

  it("see each other's writes immediately", function()
    local a, dir = H.open_tmp()
    local b = assert(okofdb.open(dir))
    assert.is_true(a:put("k", "from a"))
    assert.are.equal("from a", b:get("k"))
    assert.is_true(b:put("k", "from b"))
    assert.are.equal("from b", a:get("k"))
    assert.is_true(b:put("only-b", "x"))
    assert.is_true(H.collect_keys(a)["only-b"])
    assert.is_true(a:del("k"))
    assert.is_nil(b:get("k"))
    assert.are.equal(false, b:del("k"))
    a:close()
    assert.are.equal("x", b:get("only-b"))
    b:close()
  end)

  it("fifty handles each write a key and all see all", function()
    local first, dir = H.open_tmp()
    local dbs = { first }
    for i = 2, 50 do dbs[i] = assert(okofdb.open(dir)) end
    for i, db in ipairs(dbs) do assert.is_true(db:put("h" .. i, "v" .. i)) end
    for _, db in ipairs(dbs) do
      local _, n = H.collect_keys(db)
      assert.are.equal(50, n)
      for i = 1, 50 do assert.are.equal("v" .. i, db:get("h" .. i)) end
    end
    for _, db in ipairs(dbs) do db:close() end
  end)

  it("cache nothing: changes made behind the handle's back are seen at once", function()
    local db, dir = H.open_tmp()
    assert.is_true(db:put("k", "v1"))
    assert.are.equal("v1", db:get("k"))
    H.write_file(dir .. "/k", H.rust_file(H.raw_chunk("v2 written by hand")))
    assert.are.equal("v2 written by hand", db:get("k"))
    assert(H.run("rm " .. H.q(dir .. "/k")))
    assert.is_nil(db:get("k"))
    H.write_file(dir .. "/other", H.rust_file(H.raw_chunk("new")))
    assert.is_true(H.collect_keys(db).other)
    db:close()
  end)
end)

describe("processes on one directory", function()
  after_each(H.cleanup)

  local function child(dir, ...)
    local lines, ok, out = H.child({ dir, ... })
    assert.is_true(ok, out)
    return lines
  end

  it("see each other's writes: child writes, parent reads with a handle opened before", function()
    local db, dir = H.open_tmp()
    assert.is_nil(db:get("k"))
    assert.are.same({ "true" }, child(dir, "put", H.hex("k"), H.hex("v1 from child")))
    assert.are.equal("v1 from child", db:get("k"))
    local big = H.random_bytes(100000, 1)
    assert.are.same({ "true" }, child(dir, "putrandom", H.hex("k"), "100000", "1"))
    assert.is_true(db:get("k") == big)
    assert.are.same({ "true" }, child(dir, "del", H.hex("k")))
    assert.is_nil(db:get("k"))
    assert.are.same({ "true" }, child(dir, "put", H.hex("New/Key"), H.hex("")))
    assert.is_true(H.collect_keys(db)["New/Key"])
    assert.are.equal("", db:get("New/Key"))
    db:close()
  end)

  it("see each other's writes: parent writes, child reads", function()
    local db, dir = H.open_tmp()
    local v = "binary\0value\255 from the parent"
    assert.is_true(db:put("k", v))
    assert.are.same({ "value " .. H.hex(v) }, child(dir, "get", H.hex("k")))
    assert.is_true(db:put("k", ""))
    assert.are.same({ "value " }, child(dir, "get", H.hex("k")))
    assert.is_true(db:del("k"))
    assert.are.same({ "nil" }, child(dir, "get", H.hex("k")))
    assert.are.same({ "false" }, child(dir, "del", H.hex("k")))
    assert.is_true(db:put("A", "1"))
    assert.is_true(db:put("b", "2"))
    local keys = child(dir, "keys")
    table.sort(keys)
    assert.are.same({ "key " .. H.hex("A"), "key " .. H.hex("b") }, keys)
    db:close()
  end)

  it("a reader sees the old value or the new one, never a mix, while another process writes", function()
    local base = H.tmpdir()
    local dir, ready = base .. "/store", base .. "/ready"
    local vals = H.crash_values()
    local valid = {}
    for _, v in ipairs(vals) do valid[v] = true end
    local keys = { "r1", "r2" }
    local db = assert(okofdb.open(dir))
    for i, k in ipairs(keys) do assert.is_true(db:put(k, vals[i])) end
    local pid = H.sh(H.script("writer") .. " " .. H.q(dir) .. " " .. H.q(ready) ..
      " r1 r2 >/dev/null 2>&1 & echo $!"):match("%d+")
    assert.is_not_nil(pid)
    local ok, err = pcall(function()
      local t0 = os.time()
      while not H.exists(ready) do
        assert(os.time() - t0 < 30, "the writer did not start")
        H.sleep(0.01)
      end
      local reads, clock0 = 0, os.clock()
      while os.clock() - clock0 < 1.0 do
        for _, k in ipairs(keys) do
          local r = H.pack(db:get(k))
          reads = reads + 1
          assert(r.n == 1 and valid[r[1]] == true, "get " .. k .. ": " ..
            tostring(r[1] and #r[1]) .. " " .. tostring(r[2]) .. " " .. tostring(r[3]))
        end
        for k, v, e in db:each() do
          assert(keys[1] == k or keys[2] == k, "each yielded " .. H.hex(k))
          assert(e == nil and valid[v] == true, "each " .. k .. ": " .. tostring(e))
        end
      end
      assert(reads > 10)
    end)
    H.run("kill -9 " .. pid .. " 2>/dev/null")
    assert(ok, err)
    db:close()
  end)

  it("concurrent writers of one key: the last rename wins, nothing is corrupted", function()
    local base = H.tmpdir()
    local dir, done = base .. "/store", base .. "/done"
    local db = assert(okofdb.open(dir))
    local vals = H.crash_values()
    local valid = {}
    for _, v in ipairs(vals) do valid[v] = true end
    assert.is_true(db:put("shared", vals[1]))
    local parts = {}
    for i = 1, 4 do
      -- two writers with sync = "none", two with the default "full"
      local env = i <= 2 and "OKOF_CHILD_SYNC=none " or ""
      local count = i <= 2 and " 150 " or " 40 "
      parts[#parts + 1] = env .. H.script("child") .. " " .. H.q(dir) .. " hammer " .. H.hex("shared") ..
        count .. i .. " >" .. H.q(base .. "/out" .. i) .. " 2>&1 &"
    end
    assert(H.run("( " .. table.concat(parts, " ") .. " wait; touch " .. H.q(done) ..
      " ) >/dev/null 2>&1 &"))
    local t0 = os.time()
    local reads = 0
    while not H.exists(done) do
      assert(os.time() - t0 < 60, "the writers did not finish")
      local r = H.pack(db:get("shared"))
      reads = reads + 1
      assert(r.n == 1 and valid[r[1]] == true, "get: " .. tostring(r[1] and #r[1]) .. " " ..
        tostring(r[2]) .. " " .. tostring(r[3]))
    end
    for i = 1, 4 do
      assert.are.equal("true\n", H.read_file(base .. "/out" .. i))
    end
    assert.is_true(valid[db:get("shared")] == true)
    assert.are.same({ "shared" }, H.listdir(dir))
    assert.is_true(reads > 0)
    db:close()
  end)
end)
