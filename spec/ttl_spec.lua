-- spec/ttl_spec.lua -- values that expire. put, add and put_many take a
-- ttl in seconds; db:ttl(key) tells the seconds left, false for a value
-- that never expires, nil for none. The expiry is in the value header
-- (flag 0x01, 22-byte payload, ms since the Unix epoch); an expired value
-- is no value for get, each, add and del, and sweep removes its file.
-- Most expired values here are written by hand with an expiry in the past,
-- so nothing waits; the few waits only outlast a ttl and assert no speed.
local H = require("helpers")
local okofdb = require("okofdb")

local FAR = 2 ^ 50 -- ms since the epoch: the year 37648

-- A value file as okofdb writes it for data with an expiry.
local function expiring_file(data, expiry, flags, hlen)
  local payload = "okof\1" .. string.char(flags or 1) .. H.le(#data, 8) .. H.le(expiry, 8)
  return "\1" .. H.STREAM_ID .. H.chunk(0x80, payload:sub(1, hlen or 22)) .. H.raw_chunk(data)
end

local function wall_ms()
  return tonumber((H.sh("date +%s%3N"):match("%d+")))
end

describe("ttl", function()
  after_each(H.cleanup)

  describe("on disk", function()
    it("a value with a ttl has the 22-byte header and the same data chunks", function()
      local db, dir = H.open_tmp()
      local before = wall_ms()
      assert.is_true(db:put("k", "a value", 60))
      local after = wall_ms()
      local f = H.read_file(dir .. "/k")
      assert.are.equal(1 + #H.STREAM_ID + 4 + 22 + #H.raw_chunk("a value"), #f)
      assert.are.equal("\1" .. H.STREAM_ID .. "\128\22\0\0okof\1\1" .. H.le(7, 8), f:sub(1, 29))
      local expiry = H.read_le(f, 30, 8)
      assert.is_true(expiry >= before + 60000 and expiry <= after + 60000)
      assert.are.equal(H.raw_chunk("a value"), f:sub(38))
      db:close()
    end)

    it("a value without a ttl is written exactly as before", function()
      local db, dir = H.open_tmp()
      assert.is_true(db:put("k", "v", 5))
      assert.is_true(db:put("k", "v"))
      assert.are.equal(H.okof_file(1, H.raw_chunk("v")), H.read_file(dir .. "/k"))
      assert.is_true(db:add("a", "v", nil))
      assert.are.equal(H.okof_file(1, H.raw_chunk("v")), H.read_file(dir .. "/a"))
      db:close()
    end)

    it("compressed values keep their ttl", function()
      local db = H.open_tmp()
      local big = H.text_bytes(100000, 7)
      assert.is_true(db:put("big", big, 100))
      assert.are.equal(big, db:get("big"))
      local left = db:ttl("big")
      assert.is_true(left > 0 and left <= 100)
      db:close()
    end)

    it("headers okofdb does not write are CORRUPT", function()
      local db, dir = H.open_tmp()
      local cases = {
        flag_without_expiry = expiring_file("v", FAR, 1, 14),
        expiry_without_flag = expiring_file("v", FAR, 0, 22),
        unknown_flag = expiring_file("v", FAR, 3, 22),
        other_flag = expiring_file("v", FAR, 2, 22),
      }
      for name, bytes in pairs(cases) do
        H.write_file(dir .. "/" .. name, bytes)
        local r = H.pack(db:get(name))
        assert.are.equal(3, r.n, name)
        assert.are.equal("CORRUPT", r[3], name)
        r = H.pack(db:ttl(name))
        assert.are.equal("CORRUPT", r[3], name)
      end
      db:close()
    end)
  end)

  describe("db:ttl", function()
    it("tells the seconds left, false for never, a single nil for none", function()
      local db = H.open_tmp()
      assert.is_true(db:put("t", "v", 30.5))
      local left = db:ttl("t")
      assert.are.equal("number", type(left))
      assert.is_true(left > 0 and left <= 30.5)
      assert.is_true(db:put("n", "v"))
      local r = H.pack(db:ttl("n"))
      assert.are.same({ n = 1, false }, r)
      r = H.pack(db:ttl("missing"))
      assert.are.same({ n = 1, nil }, r)
      db:close()
    end)

    it("fractions of a second are kept, to the millisecond", function()
      local db = H.open_tmp()
      assert.is_true(db:put("t", "v", 1000.25))
      local left = db:ttl("t")
      assert.is_true(left > 999 and left <= 1000.25)
      assert.are.equal(left * 1000, math.floor(left * 1000 + 0.5))
      db:close()
    end)

    it("a put without a ttl over a value with one stores one that never expires", function()
      local db = H.open_tmp()
      assert.is_true(db:put("k", "v", 10))
      assert.is_true(db:put("k", "w"))
      assert.are.equal(false, db:ttl("k"))
      assert.is_true(db:put_many({ k = "x" }, 10))
      assert.is_true(db:put_many({ k = "y" }))
      assert.are.equal(false, db:ttl("k"))
      db:close()
    end)

    it("raises for a bad key and on a closed handle", function()
      local db = H.open_tmp()
      assert.truthy(H.contains(H.error_of(db.ttl, db, ""), "bad argument #1 to 'ttl' (key: must not be empty)"))
      assert.truthy(H.contains(H.error_of(db.ttl, db, {}), "bad argument #1 to 'ttl' (key: string expected, got table)"))
      assert.truthy(H.contains(H.error_of(db.ttl, db, ("x"):rep(300)), "bad argument #1 to 'ttl' (key: too long"))
      db:close()
      assert.truthy(H.contains(H.error_of(db.ttl, db, "k"), "calling 'ttl' on a closed okofdb handle"))
    end)
  end)

  describe("bad ttls raise", function()
    local bad = {
      { 0, "must be a positive number" },
      { -1, "must be a positive number" },
      { -0.001, "must be a positive number" },
      { 0 / 0, "must be a positive number" },
      { math.huge, "too large to store" },
      { -math.huge, "must be a positive number" },
      { 2 ^ 62, "too large to store" },
      { "5", "number expected, got string" },
      { true, "number expected, got boolean" },
      { {}, "number expected, got table" },
    }
    for _, case in ipairs(bad) do
      it("such as " .. tostring(case[1]), function()
        local db, dir = H.open_tmp()
        local msg = H.error_of(db.put, db, "k", "v", case[1])
        assert.truthy(H.contains(msg, "bad argument #3 to 'put' (ttl: " .. case[2] .. ")"), msg)
        msg = H.error_of(db.add, db, "k", "v", case[1])
        assert.truthy(H.contains(msg, "bad argument #3 to 'add' (ttl: " .. case[2] .. ")"), msg)
        msg = H.error_of(db.put_many, db, { k = "v" }, case[1])
        assert.truthy(H.contains(msg, "bad argument #2 to 'put_many' (ttl: " .. case[2] .. ")"), msg)
        assert.are.same({}, H.listdir(dir)) -- nothing written
        db:close()
      end)
    end

    it("the largest ttl that can be stored is taken", function()
      local db = H.open_tmp()
      assert.is_true(db:put("k", "v", 2 ^ 62 / 1000))
      assert.is_true(db:ttl("k") > 2 ^ 61 / 1000)
      assert.is_true(db:put("k", "v", 1e-9)) -- rounded up to a millisecond
      db:close()
    end)
  end)

  describe("an expired value is no value", function()
    local function store_with_expired()
      local db, dir = H.open_tmp()
      assert.is_true(db:put("live", "here"))
      H.write_file(dir .. "/old", expiring_file("stale", 1000))
      H.write_file(dir .. "/new", expiring_file("fresh", FAR))
      return db, dir
    end

    it("get returns a single nil, ttl too", function()
      local db = store_with_expired()
      assert.are.same({ n = 1, nil }, H.pack(db:get("old")))
      assert.are.same({ n = 1, nil }, H.pack(db:ttl("old")))
      assert.are.equal("fresh", db:get("new"))
      db:close()
    end)

    it("each skips it; keys may still yield its key", function()
      local db = store_with_expired()
      local seen = H.collect_each(db)
      assert.are.same({ "live", "new" }, H.sorted(seen))
      local keys = H.collect_keys(db)
      assert.is_true(keys.old)
      db:close()
    end)

    it("add takes its place; a live value still wins", function()
      local db, dir = store_with_expired()
      assert.are.equal(true, db:add("old", "mine", 60))
      assert.are.equal("mine", db:get("old"))
      assert.are.equal(false, db:add("old", "yours"))
      assert.are.equal(false, db:add("new", "yours"))
      assert.are.equal(false, db:add("live", "yours"))
      assert.are.same({ ".okof-lock", "live", "new", "old" }, H.listdir(dir))
      db:close()
    end)

    it("del removes its file and returns false", function()
      local db, dir = store_with_expired()
      assert.are.same({ n = 1, false }, H.pack(db:del("old")))
      assert.is_false(H.exists(dir .. "/old"))
      assert.are.same({ n = 1, true }, H.pack(db:del("new")))
      assert.are.same({ n = 1, false }, H.pack(db:del("new")))
      db:close()
    end)

    it("sweep removes and counts it, never a live value or the lock file", function()
      local db, dir = store_with_expired()
      H.write_file(dir .. "/old2", expiring_file("stale", wall_ms() - 1))
      H.write_file(dir .. "/.okof-tmp-left", "x")
      H.touch_ago(dir .. "/.okof-tmp-left", "2 hours ago")
      assert.are.equal(3, db:sweep())
      assert.are.same({ ".okof-lock", "live", "new" }, H.listdir(dir))
      assert.are.equal(0, db:sweep(0))
      assert.are.same({ ".okof-lock", "live", "new" }, H.listdir(dir))
      db:close()
    end)

    it("a value put with a ttl expires once it passes", function()
      local db, dir = H.open_tmp()
      assert.is_true(db:put("k", "v", 0.05))
      assert.is_true(db:put_many({ a = "1", b = "2" }, 0.05))
      assert.is_true(db:add("c", "3", 0.05))
      H.sleep(0.15)
      for _, k in ipairs({ "k", "a", "b", "c" }) do
        assert.are.same({ n = 1, nil }, H.pack(db:get(k)), k)
      end
      assert.are.equal(true, db:add("c", "again"))
      assert.are.equal(false, db:ttl("c"))
      assert.are.equal(3, db:sweep())
      assert.are.same({ ".okof-lock", "c" }, H.listdir(dir))
      db:close()
    end)
  end)

  describe("with a codec", function()
    it("stores any value with a ttl", function()
      local db = H.open_tmp({ codec = okofdb.codec.lua })
      assert.is_true(db:put("t", { 1, 2, x = true }, 100))
      assert.are.same({ 1, 2, x = true }, db:get("t"))
      assert.is_true(db:ttl("t") <= 100)
      assert.is_true(db:add("f", false, 100))
      assert.are.equal(false, db:get("f"))
      db:close()
    end)
  end)

  describe("a lock", function()
    it("add(lock, id, ttl) is taken once until the ttl passes", function()
      local dir = H.tmpdir() .. "/store"
      local a = assert(okofdb.open(dir))
      local b = assert(okofdb.open(dir))
      assert.is_true(a:add("lock", "a", 0.1))
      assert.are.equal(false, b:add("lock", "b", 0.1))
      assert.are.equal(false, a:add("lock", "a", 0.1))
      H.sleep(0.2)
      assert.is_true(b:add("lock", "b", 5))
      assert.are.equal("b", a:get("lock"))
      assert.are.equal(false, a:add("lock", "a", 5))
      a:close()
      b:close()
    end)
  end)
  describe("the command-line tool", function()
    local BIN = H.SPEC_DIR .. "/../bin/okofdb"
    local PRELOAD = os.getenv("LD_PRELOAD")
    local CLI = (PRELOAD and PRELOAD ~= "" and ("LD_PRELOAD=" .. H.q(PRELOAD) .. " ") or "")
                .. H.q(H.LUA) .. " " .. H.q(BIN)

    -- Run the tool: { status =, out =, err = }.
    local function okof(args, input)
      local scratch = H.tmpdir()
      local t = {}
      for i, a in ipairs(args) do t[i] = H.q(a) end
      H.write_file(scratch .. "/in", input or "")
      local res = H.sh(CLI .. " " .. table.concat(t, " ") .. " <" .. H.q(scratch .. "/in") ..
                       " >" .. H.q(scratch .. "/out") .. " 2>" .. H.q(scratch .. "/err") .. "; echo $?")
      return { status = tonumber(res:match("(%d+)%s*$")), out = H.read_file(scratch .. "/out"),
               err = H.read_file(scratch .. "/err") }
    end

    it("put --ttl, add --ttl and ttl", function()
      local dir = H.tmpdir() .. "/s"
      assert.are.equal(0, okof({ dir, "put", "--ttl", "100", "a", "1" }).status)
      assert.are.equal(0, okof({ "--ttl=50.5", dir, "add", "b", "2" }).status)
      local r = okof({ dir, "add", "b", "3" })
      assert.are.equal(3, r.status) -- already has a value
      assert.truthy(H.contains(r.err, 'key "b" in ' .. dir .. ' already has a value'), r.err)
      assert.are.equal(0, okof({ dir, "put", "n", "v" }).status)
      r = okof({ dir, "ttl", "a" })
      assert.are.equal(0, r.status)
      local left = tonumber(r.out:match("^(%d+%.%d%d%d)\n$"))
      assert.is_true(left > 0 and left <= 100, r.out)
      assert.are.same({ 0, "never\n" }, { okof({ dir, "ttl", "n" }).status, okof({ dir, "ttl", "n" }).out })
      r = okof({ dir, "ttl", "none" })
      assert.are.equal(3, r.status) -- no such key
      assert.truthy(H.contains(r.err, 'no value for key "none"'), r.err)
      local db = assert(okofdb.open(dir))
      assert.are.equal("2", db:get("b"))
      assert.is_true(db:ttl("b") <= 50.5)
      db:close()
    end)

    it("refuses a bad --ttl, and --ttl where it does not apply", function()
      local dir = H.tmpdir() .. "/s"
      for _, bad in ipairs({ "0", "-1", "x", "inf", "nan" }) do
        local r = okof({ dir, "put", "--ttl=" .. bad, "k", "v" })
        assert.are.equal(2, r.status, bad)
        assert.truthy(H.contains(r.err, "--ttl must be a positive number"), r.err)
      end
      assert.are.equal(2, okof({ dir, "put", "--ttl", "1e300", "k", "v" }).status)
      local r = okof({ dir, "get", "--ttl", "5", "k" })
      assert.are.equal(2, r.status)
      assert.truthy(H.contains(r.err, "option --ttl does not apply to get"), r.err)
      assert.is_false(H.exists(dir))
    end)

    it("ls, dump and check skip expired values; sweep removes them", function()
      local dir = H.tmpdir() .. "/s"
      local db = assert(okofdb.open(dir))
      assert.is_true(db:put("live", "v"))
      assert.is_true(db:put("later", "w", 1000))
      H.write_file(dir .. "/old", expiring_file("stale", 1000))
      db:close()
      assert.are.equal("later\nlive\n", okof({ dir, "ls" }).out)
      local r = okof({ dir, "dump" })
      assert.are.equal(0, r.status)
      assert.truthy(H.contains(r.out, '{"key":"live","value":"v"}\n'), r.out)
      assert.truthy(r.out:find('{"key":"later","value":"w","ttl":%d+%.%d%d%d}\n'), r.out)
      assert.is_nil(r.out:find("old"))
      assert.are.same({ 0, "" }, { okof({ dir, "check" }).status, okof({ dir, "check" }).out })
      assert.are.equal("1\n", okof({ dir, "sweep" }).out)
      assert.are.same({ ".okof-lock", "later", "live" }, H.listdir(dir))
    end)

    it("load stores a dumped ttl; the later line of a key wins", function()
      local dir = H.tmpdir() .. "/s"
      local input = '{"key":"a","value":"1","ttl":100}\n' ..
                    '{"key":"b","value":"old"}\n' ..
                    '{"key":"b","value":"new","ttl":5.5}\n' ..
                    '{"key":"c","value":"x","ttl":5}\n' ..
                    '{"key":"c","value":"y"}\n'
      local r = okof({ dir, "load" }, input)
      assert.are.same({ 0, "" }, { r.status, r.err })
      local db = assert(okofdb.open(dir))
      assert.is_true(db:ttl("a") <= 100 and db:ttl("a") > 0)
      assert.are.equal("new", db:get("b"))
      assert.is_true(db:ttl("b") <= 5.5)
      assert.are.equal("y", db:get("c"))
      assert.are.equal(false, db:ttl("c"))
      db:close()
      for _, bad in ipairs({ '{"key":"a","value":"1","ttl":0}', '{"key":"a","value":"1","ttl":"5"}',
                             '{"key":"a","value":"1","ttl":-2}' }) do
        r = okof({ dir, "load" }, bad .. "\n")
        assert.are.equal(1, r.status, bad)
        assert.truthy(H.contains(r.err, 'member "ttl" must be a positive number'), r.err)
      end
    end)
  end)
end)
