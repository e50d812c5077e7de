-- spec/etcd/layout_spec.lua -- what an etcd store leaves in etcd, as
-- docs/etcd.md describes it: the key /PATH/KEY, the value file's bytes.
local H = require("helpers")
local EC = require("support.etcd_cluster")
local RL = require("reliability.rlog")

if not EC.available() then
  describe("okofdb on etcd: layout #etcd", function() pending(EC.why_not()) end)
  return
end

local okofdb = require("okofdb")

-- every test counted in the reliability log (etcd.tests, etcd.passed)
local busted_it = it
local function it(name, fn) return busted_it(name, RL.counted("etcd", fn)) end

describe("okofdb on etcd: layout #etcd", function()
  local cluster

  local start_cluster, stop_cluster = EC.hooks(function(c) cluster = c end)
  lazy_setup(start_cluster)
  lazy_teardown(stop_cluster)

  local VALUES = {
    empty = "",
    small = "dark",
    text = H.text_bytes(6000, 5),      -- compressed
    random = H.random_bytes(70000, 6), -- two chunks, stored raw
  }

  it("stores each key at /PATH/KEY with the bytes of the value file", function()
    local db = assert(okofdb.open(cluster:url("lay/out")))
    local dir = H.open_tmp()
    for k, v in pairs(VALUES) do
      assert.is_true(db:put(k, v))
      assert.is_true(dir:put(k, v))
    end
    for k in pairs(VALUES) do
      local raw = cluster:get_raw("/lay/out/" .. k)
      assert.are.equal(dir:get(k), H.decode(raw))
      assert.are.equal(1, raw:byte(1))
    end
    assert.are.same({ "/lay/out/empty", "/lay/out/random", "/lay/out/small", "/lay/out/text" },
                    cluster:keys_raw("/lay/out/"))
    assert.are.equal(H.EMPTY_FILE, cluster:get_raw("/lay/out/empty"))
    db:close()
    dir:close()
  end)

  it("the etcd value is the value file a directory store writes", function()
    local db = assert(okofdb.open(cluster:url("lay/same")))
    local dir, path = H.open_tmp()
    for k, v in pairs(VALUES) do
      assert.is_true(db:put(k, v))
      assert.is_true(dir:put(k, v))
      assert.are.equal(H.read_file(path .. "/" .. k), cluster:get_raw("/lay/same/" .. k), k)
    end
    db:close()
    dir:close()
  end)

  it("reads a value file put with etcdctl, and a key of any bytes", function()
    local db = assert(okofdb.open(cluster:url("lay/byhand")))
    local key = "a key/with \1 bytes \255"
    cluster:put_raw("/lay/byhand/" .. key, H.okof_file(5, H.raw_chunk("hello")))
    assert.are.equal("hello", db:get(key))
    local keys = H.collect_keys(db)
    assert.is_true(keys[key])
    db:close()
  end)

  it("a value that is not a value file is CORRUPT", function()
    local db = assert(okofdb.open(cluster:url("lay/bad"), { legacy = true }))
    local bad = {
      text = "hello",
      raw00 = "\0hello",              -- a directory's legacy raw value
      zeros = string.rep("\0", 64),
      badcrc = H.okof_file(5, H.raw_chunk("hello", 12345)),
      truncated = H.okof_file(5, H.raw_chunk("hello")):sub(1, -2),
    }
    for k, bytes in pairs(bad) do
      cluster:put_raw("/lay/bad/" .. k, bytes)
      local v, msg, code = db:get(k)
      assert.is_nil(v, k)
      assert.are.equal("CORRUPT", code, k .. ": " .. tostring(msg))
    end
    db:close()
  end)

  -- A reply's buffer filled to exactly its size: every power of two from
  -- 256 bytes on is a size a reader's growing buffer passes through.
  it("reads values whose stored bytes are a power of two long", function()
    local db = assert(okofdb.open(cluster:url("lay/pow2"), { compress_min = false }))
    local overhead = #H.okof_file(0, H.raw_chunk(""))
    local size = 256
    while size <= 65536 do
      for d = -2, 2 do
        local v = H.random_bytes(size + d - overhead, size + d)
        local k = "v" .. (size + d)
        assert.is_true(db:put(k, v))
        assert.are.equal(size + d, #cluster:get_raw("/lay/pow2/" .. k))
        assert.are.equal(v, db:get(k), k)
      end
      size = size * 2
    end
    local _, n = H.collect_each(db)
    assert.are.equal(45, n)
    db:close()
  end)

  it("del removes the etcd key; sweep finds nothing to do", function()
    local db = assert(okofdb.open(cluster:url("lay/del")))
    assert.is_true(db:put("k", "v"))
    assert.is_true(db:del("k"))
    assert.is_nil(cluster:get_raw("/lay/del/k"))
    assert.are.equal(0, db:sweep())
    db:close()
  end)
end)
