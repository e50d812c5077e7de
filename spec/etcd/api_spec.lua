-- spec/etcd/api_spec.lua -- the Lua API (docs/lua.md) on an etcd cluster
-- ("Stores on etcd"): the same methods and results as a directory, the
-- bytes etcd holds, prefixes, pages and transactions, the cluster's limits,
-- corrupt values, codecs. A real 3-member cluster runs for this file.
local H = require("helpers")
local EC = require("support.etcd_cluster")
local okofdb = require("okofdb")

if not EC.available() then
  describe("okofdb on etcd #etcd", function() pending(EC.why_not()) end)
  return
end

local cluster, stores = nil, 0

-- A store of its own for each test: etcd://members/tN
local function fresh(opts)
  stores = stores + 1
  local path = "t" .. stores
  local db = assert(okofdb.open(cluster:url(path), opts))
  return db, "/" .. path .. "/"
end

-- The value file a directory store writes for this value.
local function file_bytes(value, opts)
  local dir = H.tmpdir()
  local db = assert(okofdb.open(dir, opts))
  assert(db:put("k", value))
  db:close()
  return H.read_file(dir .. "/k")
end

local function sorted_keys(db, prefix)
  local t = {}
  for k in db:keys(prefix) do t[#t + 1] = k end
  return t
end

describe("okofdb on etcd #etcd", function()
  local start_cluster, stop_cluster = EC.hooks(function(c) cluster = c end)
  lazy_setup(start_cluster)
  lazy_teardown(stop_cluster)

  describe("open", function()
    it("gives a handle whose tostring is the URL as given", function()
      local url = cluster:url("app/conf")
      local db = assert(okofdb.open(url))
      assert.are.equal("okofdb: " .. url, tostring(db))
      assert.is_true(db:close())
      assert.are.equal("okofdb: closed", tostring(db))
      assert.is_true(db:close())
    end)

    it("names the okofdb-etcd rock when the plug-in is missing", function()
      local saved = { package.loaded["okofdb.etcd"], package.path, package.cpath }
      package.loaded["okofdb.etcd"], package.path, package.cpath = nil, "", ""
      local ok, err = pcall(okofdb.open, cluster:url("x"))
      package.loaded["okofdb.etcd"], package.path, package.cpath = saved[1], saved[2], saved[3]
      assert.is_false(ok)
      assert.is_true(H.contains(err, "needs the okofdb-etcd rock"), err)
      assert.is_true(H.contains(err, "okofdb.etcd"), err)
    end)

    it("contacts no member: a URL of members that are down opens", function()
      local db = assert(okofdb.open("etcd://127.0.0.1:1/x"))
      db:close()
    end)

    it("raises for a malformed URL", function()
      for _, url in ipairs({ "etcd://", "etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/",
        "etcd://127.0.0.1:2379/a/", "etcd:///a", "etcd://host/a", "etcd://h:1,,h:2/a" }) do
        local ok, err = pcall(okofdb.open, url)
        assert.is_false(ok, url)
        assert.is_true(H.contains(err, "bad argument #1 to 'open' (url"), err)
      end
    end)

    it("takes the options of a directory and its own; unknown ones raise", function()
      local url = cluster:url("opts")
      local db = assert(okofdb.open(url, { create = false, sync = "none", legacy = true,
        compress_min = false, codec = okofdb.codec.lua, timeout = 2.5, txn_ops = 10,
        request_bytes = 100000 }))
      db:close()
      local bad = {
        { compres_min = 1 }, { timeout = 0 }, { timeout = -1 }, { timeout = "5" },
        { txn_ops = 0 }, { txn_ops = 1.5 }, { request_bytes = 10 }, { create = "yes" },
        { sync = "some" }, { legacy = 1 }, { codec = {} }, { compress_min = -1 },
      }
      for _, o in ipairs(bad) do
        local ok, err = pcall(okofdb.open, url, o)
        assert.is_false(ok)
        assert.is_true(H.contains(err, "bad argument #2 to 'open' (opts: "), err)
      end
    end)
  end)

  describe("put, get, del, add", function()
    it("store, read and remove values as a directory does", function()
      local db = fresh()
      assert.is_true(db:put("theme", "dark"))
      assert.are.equal("dark", db:get("theme"))
      assert.is_true(db:put("theme", "light"))
      assert.are.equal("light", db:get("theme"))
      assert.is_true(db:put("empty", ""))
      assert.are.equal("", db:get("empty"))
      assert.is_true(db:put(42, 7))
      assert.are.equal("7", db:get("42"))
      local r = H.pack(db:get("missing"))
      assert.are.equal(1, r.n)
      assert.is_nil(r[1])
      assert.is_true(db:del("theme"))
      assert.is_false(db:del("theme"))
      assert.is_nil(db:get("theme"))
      db:close()
    end)

    it("add stores only when the key has no value", function()
      local db = fresh()
      assert.is_true(db:add("lock", "me"))
      assert.is_false(db:add("lock", "you"))
      assert.are.equal("me", db:get("lock"))
      assert.is_true(db:del("lock"))
      assert.is_true(db:add("lock", "you"))
      assert.are.equal("you", db:get("lock"))
      db:close()
    end)

    it("keeps the etcd key /PATH/KEY with exactly the bytes of the value file", function()
      local db, prefix = fresh()
      local values = { "", "dark", H.text_bytes(10000, 1), H.random_bytes(70000, 2) }
      for i, v in ipairs(values) do
        assert.is_true(db:put("k" .. i, v))
        assert.are.equal(file_bytes(v), cluster:get_raw(prefix .. "k" .. i), "value " .. i)
      end
      db:close()
      local db2, prefix2 = fresh({ compress_min = false })
      assert.is_true(db2:put("k", values[3]))
      assert.are.equal(file_bytes(values[3], { compress_min = false }), cluster:get_raw(prefix2 .. "k"))
      db2:close()
    end)

    it("accepts the keys a directory accepts, any bytes, and raises for the others", function()
      local db, prefix = fresh()
      local keys = { "a/b", "\0\1\255", "../x", ".hidden", "CON", string.rep("k", 80), "é" }
      for _, k in ipairs(keys) do
        assert.is_true(db:put(k, "v:" .. k))
        assert.are.equal("v:" .. k, db:get(k))
      end
      assert.are.equal("v:a/b", cluster:get_raw(prefix .. "a/b"):sub(-5))
      for _, fn in ipairs({ "get", "put", "del", "add" }) do
        local ok, err = pcall(db[fn], db, "", "v")
        assert.is_false(ok)
        assert.is_true(H.contains(err, "bad argument #1 to '" .. fn .. "' (key: must not be empty)"), err)
        ok, err = pcall(db[fn], db, string.rep("\255", 200), "v")
        assert.is_false(ok)
        assert.is_true(H.contains(err, "too long"), err)
        ok, err = pcall(db[fn], db, {}, "v")
        assert.is_false(ok)
        assert.is_true(H.contains(err, "string expected, got table"), err)
      end
      local ok, err = pcall(db.put, db, "k", nil)
      assert.is_false(ok)
      assert.is_true(H.contains(err, "bad argument #2 to 'put' (value: string expected, got nil)"), err)
      db:close()
    end)
  end)

  describe("each and keys", function()
    it("walk the keys in byte order, more than one page", function()
      local db = fresh()
      local items, want = {}, {}
      for i = 1, 250 do
        local k = string.format("key%03d", i)
        items[k] = "value " .. i
        want[#want + 1] = k
      end
      assert.is_true(db:put_many(items))
      assert.are.same(want, sorted_keys(db))
      local n = 0
      for k, v in db:each() do
        n = n + 1
        assert.are.equal(want[n], k)
        assert.are.equal(items[k], v)
      end
      assert.are.equal(250, n)
      local sub = sorted_keys(db, "key1")
      assert.are.equal(100, #sub) -- key100 .. key199
      assert.are.same({}, sorted_keys(db, "nokey"))
      db:close()
    end)

    it("walk prefixes ending in 0xff bytes, and nothing of a neighbouring path", function()
      local db, prefix = fresh()
      for _, k in ipairs({ "\255", "\255\255", "\255\255a", "\255\255\255", "a\255", "a\255\255",
        "b", "\254\255" }) do
        assert.is_true(db:put(k, "v"))
      end
      -- etcd keys just past the store's prefix belong to no store
      cluster:put_raw(prefix:sub(1, -2) .. "0/x", "other")
      cluster:put_raw(prefix:sub(1, -2) .. "\255", "other")
      assert.are.same({ "\255\255", "\255\255a", "\255\255\255" }, sorted_keys(db, "\255\255"))
      assert.are.same({ "\255", "\255\255", "\255\255a", "\255\255\255" }, sorted_keys(db, "\255"))
      assert.are.same({ "a\255", "a\255\255" }, sorted_keys(db, "a\255"))
      assert.are.equal(8, #sorted_keys(db))
      db:close()
    end)

    it("read every page at the revision of the first: one snapshot", function()
      local db = fresh()
      local items = {}
      for i = 1, 230 do items[string.format("s%03d", i)] = "old " .. i end
      assert.is_true(db:put_many(items))
      local n, first = 0, true
      for k, v in db:each() do
        if first then
          first = false
          for j = 1, 230 do
            local key = string.format("s%03d", j)
            if j % 2 == 0 then assert.is_true(db:del(key)) else assert.is_true(db:put(key, "new")) end
          end
          assert.is_true(db:put("s999", "added"))
        end
        n = n + 1
        assert.are.equal(items[k], v)
      end
      assert.are.equal(230, n)
      assert.are.equal(116, #sorted_keys(db))
      db:close()
    end)

    it("raise when the walk cannot go on (its revision compacted)", function()
      local db = fresh()
      local items = {}
      for i = 1, 150 do items[string.format("c%03d", i)] = "v" end
      assert.is_true(db:put_many(items))
      local ok, err = pcall(function()
        for k in db:keys() do
          if k == "c001" then
            assert.is_true(db:put("c001", "newer"))
            assert.is_true(cluster:compact())
          end
        end
      end)
      assert.is_false(ok)
      assert.is_true(H.contains(err, "compacted"), err)
      db:close()
    end)

    it("yield a key whose value fails verification as key, nil, msg, CORRUPT", function()
      local db, prefix = fresh()
      assert.is_true(db:put("a", "fine"))
      cluster:put_raw(prefix .. "b", "garbage")
      assert.is_true(db:put("c", "fine too"))
      local got = {}
      for k, v, msg, code in db:each() do got[#got + 1] = { k, v, msg, code } end
      assert.are.equal(3, #got)
      assert.are.same({ "a", "fine" }, { got[1][1], got[1][2] })
      assert.are.equal("b", got[2][1])
      assert.is_nil(got[2][2])
      assert.are.equal("CORRUPT", got[2][4])
      assert.is_true(H.contains(got[2][3], '"b"'), got[2][3])
      assert.are.same({ "c", "fine too" }, { got[3][1], got[3][2] })
      db:close()
    end)
  end)

  describe("put_many", function()
    it("groups items in transactions within txn_ops and request_bytes", function()
      local db = fresh({ txn_ops = 7, request_bytes = 4000 })
      local items = {}
      for i = 1, 60 do items["m" .. i] = string.rep("x", i * 10) end
      assert.is_true(db:put_many(items))
      for k, v in pairs(items) do assert.are.equal(v, db:get(k)) end
      assert.is_true(db:put_many({}))
      db:close()
    end)

    it("fails before writing anything for an item larger than the cluster accepts", function()
      local db, prefix = fresh({ request_bytes = 5000 })
      local ok, msg, code, written = db:put_many({ small = "x", big = H.random_bytes(6000, 3) })
      assert.is_nil(ok)
      assert.are.equal("E2BIG", code)
      assert.are.same({}, written)
      assert.is_true(H.contains(msg, "put_many"), msg)
      assert.is_nil(cluster:get_raw(prefix .. "small"))
      db:close()
    end)

    it("lists in written the keys of the transactions that committed", function()
      -- the client thinks the cluster takes 1000 operations a transaction:
      -- the cluster (--max-txn-ops 128) refuses the transaction
      local db = fresh({ txn_ops = 1000 })
      local items = {}
      for i = 1, 200 do items["w" .. i] = "v" end
      local ok, msg, code, written = db:put_many(items)
      assert.is_nil(ok)
      assert.are.equal("E2BIG", code, msg)
      assert.are.same({}, written)
      db:close()
      local db2 = fresh({ txn_ops = 100 })
      assert.is_true(db2:put_many(items))
      db2:close()
    end)

    it("raises for bad items before anything is written, as a directory does", function()
      local db = fresh()
      local ok, err = pcall(db.put_many, db, { [1] = "a", ["1"] = "b" })
      assert.is_false(ok)
      assert.is_true(H.contains(err, "given twice"), err)
      ok, err = pcall(db.put_many, db, { k = {} })
      assert.is_false(ok)
      assert.is_true(H.contains(err, "bad argument #1 to 'put_many'"), err)
      ok, err = pcall(db.put_many, db, "x")
      assert.is_false(ok)
      assert.is_true(H.contains(err, "table expected"), err)
      db:close()
    end)
  end)

  describe("the cluster's limits", function()
    it("a value over request_bytes is E2BIG and nothing is sent", function()
      local db, prefix = fresh({ request_bytes = 20000 })
      local ok, msg, code = db:put("big", H.random_bytes(30000, 4))
      assert.is_nil(ok)
      assert.are.equal("E2BIG", code)
      assert.is_true(H.contains(msg, 'put "big"'), msg)
      assert.is_nil(cluster:get_raw(prefix .. "big"))
      assert.is_true(db:put("big", H.random_bytes(10000, 4)))
      db:close()
    end)

    it("a value over the cluster's --max-request-bytes is E2BIG from the cluster", function()
      local db = fresh({ request_bytes = 8 * 1024 * 1024 })
      local ok, msg, code = db:put("huge", H.random_bytes(2 * 1024 * 1024, 5))
      assert.is_nil(ok)
      assert.are.equal("E2BIG", code)
      assert.is_true(H.contains(msg, 'put "huge"'), msg)
      assert.is_nil(db:get("huge"))
      db:close()
    end)

    it("a value of 1 MiB fits with the defaults", function()
      local db = fresh()
      local v = H.random_bytes(1024 * 1024, 6)
      assert.is_true(db:put("mib", v))
      assert.are.equal(v, db:get("mib"))
      db:close()
    end)
  end)

  describe("verification", function()
    it("a value that is not a value file is CORRUPT", function()
      local db, prefix = fresh({ legacy = true })
      local good = file_bytes("hello")
      local tampered = good:sub(1, -2) .. string.char((good:byte(-1) + 1) % 256)
      for name, bytes in pairs({ garbage = "garbage", raw = "\0hello", zeros = string.rep("\0", 40),
        tampered = tampered, cut = good:sub(1, 20) }) do
        cluster:put_raw(prefix .. name, bytes)
        local v, msg, code = db:get(name)
        assert.is_nil(v, name)
        assert.are.equal("CORRUPT", code, name)
        assert.is_true(H.contains(msg, 'get "' .. name .. '" in etcd://'), msg)
      end
      cluster:put_raw(prefix .. "good", good)
      assert.are.equal("hello", db:get("good"))
      db:close()
    end)
  end)

  describe("codecs", function()
    it("store Lua values with okofdb.codec.lua", function()
      local db = fresh({ codec = okofdb.codec.lua })
      local v = { 1, 2, x = { y = true }, s = "str" }
      assert.is_true(db:put("t", v))
      assert.are.same(v, db:get("t"))
      assert.is_true(db:put("f", false))
      assert.is_false(db:get("f"))
      assert.is_true(db:add("n", 3.5))
      assert.are.equal(3.5, db:get("n"))
      assert.is_true(db:put_many({ a = { 1 }, b = "two" }))
      local seen = {}
      for k, val in db:each() do seen[k] = val end
      assert.are.same({ t = v, f = false, n = 3.5, a = { 1 }, b = "two" }, seen)
      db:close()
    end)

    it("use a custom codec; a decode failure is EDECODE", function()
      local codec = {
        encode = function(x) return "<" .. tostring(x) .. ">" end,
        decode = function(s)
          if s:sub(1, 1) ~= "<" then error("not mine") end
          return s:sub(2, -2)
        end,
      }
      local url = cluster:url("codec")
      local db = assert(okofdb.open(url, { codec = codec }))
      local plain = assert(okofdb.open(url))
      assert.is_true(db:put("k", "v"))
      assert.are.equal("<v>", plain:get("k"))
      assert.are.equal("v", db:get("k"))
      assert.is_true(plain:put("bad", "oops"))
      local v, msg, code = db:get("bad")
      assert.is_nil(v)
      assert.are.equal("EDECODE", code)
      assert.is_true(H.contains(msg, "not mine"), msg)
      db:close()
      plain:close()
    end)
  end)

  describe("sweep and close", function()
    it("sweep returns 0 and checks its argument", function()
      local db = fresh()
      assert.are.equal(0, db:sweep())
      assert.are.equal(0, db:sweep(0))
      assert.is_false(pcall(db.sweep, db, -1))
      assert.is_false(pcall(db.sweep, db, "x"))
      db:close()
    end)

    it("closes a handle in a <close> variable and a walk left by break (Lua 5.4)", function()
      if _VERSION ~= "Lua 5.4" then return pending("Lua 5.4 only") end
      local url = cluster:url("close54")
      local chunk = assert(load([[
        local okofdb, url = ...
        local kept
        do
          local db <close> = assert(okofdb.open(url))
          assert(db:put_many({ a = "1", b = "2", c = "3" }))
          for k in db:keys() do break end
          kept = db
        end
        return kept
      ]]))
      local db = chunk(okofdb, url)
      assert.are.equal("okofdb: closed", tostring(db))
      assert.is_false(pcall(db.get, db, "a"))
    end)

    it("every method but close raises on a closed handle", function()
      local db = fresh()
      db:close()
      for _, fn in ipairs({ "get", "put", "del", "add", "put_many", "each", "keys", "sweep" }) do
        local ok, err = pcall(db[fn], db, "k", "v")
        assert.is_false(ok, fn)
        assert.is_true(H.contains(err, "closed okofdb handle"), err)
      end
      assert.is_true(db:close())
    end)

    it("a walk whose handle was closed raises", function()
      local db = fresh()
      assert.is_true(db:put_many({ a = "1", b = "2" }))
      local ok, err = pcall(function()
        for _ in db:keys() do db:close() end
      end)
      assert.is_false(ok)
      assert.is_true(H.contains(err, "closed okofdb handle"), err)
    end)

    it("another process sees the writes at once (no cache)", function()
      local db = fresh()
      assert.is_true(db:put("before", "1"))
      local url = tostring(db):sub(9)
      local pre = os.getenv("LD_PRELOAD")
      local out = H.sh((pre and ("LD_PRELOAD=" .. H.q(pre) .. " ") or "") ..
        H.q(os.getenv("OKOF_LUA") or "lua5.4") .. " -e " .. H.q(
        "local o = require('okofdb'); local d = assert(o.open(" .. string.format("%q", url) ..
        ")); io.write(d:get('before'), assert(d:put('child', '2')) and 'ok' or 'no')"))
      assert.are.equal("1ok", out)
      assert.are.equal("2", db:get("child"))
      db:close()
    end)
  end)

  describe("failures", function()
    it("no member reachable is ECONNREFUSED, for reads, writes and walks", function()
      local url = EC.dead_url("x")
      local dead = url:match("^etcd://([^/]+)")
      local db = assert(okofdb.open(url, { timeout = 2 }))
      local v, msg, code = db:get("k")
      assert.is_nil(v)
      assert.are.equal("ECONNREFUSED", code)
      assert.is_true(H.contains(msg, dead), msg)
      local ok, _, code2 = db:put("k", "v")
      assert.is_nil(ok)
      assert.are.equal("ECONNREFUSED", code2)
      local okw, err = pcall(function() for _ in db:keys() do end end)
      assert.is_false(okw)
      assert.is_true(H.contains(err, "keys etcd://"), err)
      db:close()
    end)

    it("a member that refuses is skipped for the next", function()
      local dead = EC.dead_url("x"):match("^etcd://([^/]+)")
      local url = cluster:url("fo"):gsub("^etcd://", "etcd://" .. dead .. ",")
      local db = assert(okofdb.open(url))
      assert.is_true(db:put("k", "v"))
      assert.are.equal("v", db:get("k"))
      db:close()
      -- a walk that failed over yields a bad value as key, nil, msg, code
      cluster:put_raw("/fo/bad", "garbage")
      db = assert(okofdb.open(url))
      local got = {}
      for k, v, msg, code in db:each() do got[#got + 1] = { k, v, msg, code } end
      db:close()
      assert.are.equal(2, #got)
      assert.are.equal("bad", got[1][1])
      assert.is_nil(got[1][2])
      assert.are.equal("CORRUPT", got[1][4])
      assert.is_true(H.contains(got[1][3], 'get "bad" in etcd://'), got[1][3])
      assert.is_false(H.contains(got[1][3], "refused"), got[1][3])
      assert.are.same({ "k", "v" }, { got[2][1], got[2][2] })
    end)

    it("a member that does not answer is ETIMEDOUT within the timeout; a write's outcome is unknown", function()
      cluster:pause(3)
      finally(function() cluster:resume(3) end)
      local db = assert(okofdb.open("etcd://" .. cluster:endpoint(3) .. "/to", { timeout = 0.5 }))
      local r = { H.pack(db:get("k")), H.pack(db:put("k", "v")), H.pack(db:add("k2", "v")) }
      db:close()
      assert.are.equal("ETIMEDOUT", r[1][3])
      assert.are.equal("ETIMEDOUT", r[2][3])
      assert.is_true(H.contains(r[2][2], "outcome is unknown"), r[2][2])
      assert.are.equal("ETIMEDOUT", r[3][3])
    end)
  end)
end)
