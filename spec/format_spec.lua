-- spec/format_spec.lua -- docs/format.md "Value files": the bytes okofdb writes,
-- checked against an independent pure-Lua reader (spec/helpers.lua), and
-- hand-built files in every legal shape read back by okofdb.
local H = require("helpers")
local okofdb = require("okofdb")

local byte = string.byte

-- Check a file okofdb wrote for `value` against docs/format.md and return the
-- list of its data chunk types and the file.
local function inspect(path, value)
  local file = assert(H.read_file(path), "no file " .. path)
  assert.are.equal(1, byte(file, 1))
  local chunks = assert(H.parse_chunks(file))
  assert.is_true(#chunks >= 2)
  assert.are.equal(0xff, chunks[1].type)
  assert.are.equal("sNaPpY", chunks[1].payload)
  assert.are.equal(0x80, chunks[2].type)
  assert.are.equal("okof\1\0" .. H.le(#value, 8), chunks[2].payload)
  local types = {}
  for i = 3, #chunks do
    local c = chunks[i]
    assert.is_true(c.type == 0x00 or c.type == 0x01, "unexpected chunk type " .. c.type)
    local data = c.payload:sub(5)
    if c.type == 0x00 then data = assert(H.snappy_decompress(data)) end
    assert.is_true(#data <= 65536, "chunk of " .. #data .. " bytes")
    assert.are.equal(H.masked_crc32c(data), H.read_le(c.payload, 1, 4))
    types[#types + 1] = c.type
  end
  local decoded = H.decode(file)
  assert.is_true(decoded == value, "reference reader disagrees")
  return types, file
end

local function count(list, x)
  local n = 0
  for _, v in ipairs(list) do if v == x then n = n + 1 end end
  return n
end

describe("value files okofdb writes", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  it("are 29 bytes for the empty value: 0x01, stream identifier, value header", function()
    assert.is_true(db:put("e", ""))
    local file = H.read_file(dir .. "/e")
    assert.are.equal(29, #file)
    assert.are.equal(H.hex(H.EMPTY_FILE), H.hex(file))
    assert.are.same({}, (inspect(dir .. "/e", "")))
  end)

  it("start with byte 0x01, the stream identifier and the value header", function()
    local v = string.rep("x", 30)
    assert.is_true(db:put("k", v))
    local file = H.read_file(dir .. "/k")
    assert.are.equal("01", H.hex(file:sub(1, 1)))
    assert.are.equal("ff060000734e61507059", H.hex(file:sub(2, 11)))
    -- chunk type 0x80, length 14, "okof", version 1, flags 0, u64 LE 30
    assert.are.equal("800e00006f6b6f6601001e00000000000000", H.hex(file:sub(12, 29)))
  end)

  it("are read by a plain framing-format decoder that skips the value header", function()
    -- what the Rust crate and python-snappy do: skip 0x80-0xfe, decode 0x00/0x01
    local function plain_decode(file)
      assert.are.equal(1, byte(file, 1))
      local out = {}
      for _, c in ipairs(assert(H.parse_chunks(file))) do
        if c.type == 0x00 then
          out[#out + 1] = assert(H.snappy_decompress(c.payload:sub(5)))
        elseif c.type == 0x01 then
          out[#out + 1] = c.payload:sub(5)
        else
          assert.is_true(c.type >= 0x80, "unskippable chunk " .. c.type)
        end
      end
      return table.concat(out)
    end
    for _, v in ipairs({ "", "x", H.text_bytes(100000, 1), H.random_bytes(70000, 2) }) do
      assert.is_true(db:put("k", v))
      assert.is_true(plain_decode(H.read_file(dir .. "/k")) == v)
    end
  end)

  it("hold a small value in one checksummed uncompressed chunk", function()
    local v = "hello, value\0with a NUL"
    assert.is_true(db:put("k", v))
    local file = H.read_file(dir .. "/k")
    assert.are.equal(H.hex(H.okof_file(#v, H.raw_chunk(v))), H.hex(file))
    assert.are.same({ 0x01 }, (inspect(dir .. "/k", v)))
  end)

  it("record lengths above 2^16 and 2^24 in the value header", function()
    local v = string.rep("q", 2 ^ 24 + 3)
    assert.is_true(db:put("k", v))
    local file = H.read_file(dir .. "/k")
    assert.are.equal("okof\1\0" .. H.le(#v, 8), file:sub(16, 29))
    assert.is_true(db:get("k") == v)
  end)

  it("compress a compressible value of at least 2048 bytes", function()
    for _, n in ipairs({ 2048, 2049, 4096, 65536, 200000 }) do
      local v = H.text_bytes(n, n)
      assert.is_true(db:put("t", v))
      local types, file = inspect(dir .. "/t", v)
      assert.is_true(count(types, 0x00) >= 1, "no compressed chunk at " .. n)
      assert.is_true(#file < #v, "file not smaller at " .. n)
      assert.is_true(db:get("t") == v)
    end
  end)

  it("do not compress a value just below 2048 bytes", function()
    for _, v in ipairs({ H.text_bytes(2047, 1), string.rep("a", 2047), string.rep("a", 100) }) do
      assert.is_true(db:put("t", v))
      local types, file = inspect(dir .. "/t", v)
      assert.are.same({ 0x01 }, types)
      assert.are.equal(#v + 29 + 8, #file)
    end
  end)

  it("store incompressible values in uncompressed chunks", function()
    for _, n in ipairs({ 2047, 2048, 2049, 65536, 65537, 200000 }) do
      local v = H.random_bytes(n, n)
      assert.is_true(db:put("r", v))
      local types = inspect(dir .. "/r", v)
      assert.are.equal(0, count(types, 0x00), "compressed chunk at " .. n)
      assert.is_true(#types >= math.ceil(n / 65536))
      assert.is_true(db:get("r") == v)
    end
  end)

  it("split a 200000-byte value into several chunks of at most 65536 bytes", function()
    for _, v in ipairs({ H.text_bytes(200000, 3), H.random_bytes(200000, 3) }) do
      assert.is_true(db:put("big", v))
      local types = inspect(dir .. "/big", v)
      assert.is_true(#types >= 4, #types .. " chunks")
    end
  end)

  it("decide per chunk: random data stays uncompressed next to compressed text", function()
    local v = H.random_bytes(65536, 1) .. H.text_bytes(65536, 2) .. H.random_bytes(65536, 3)
    assert.is_true(db:put("mixed", v))
    local types = inspect(dir .. "/mixed", v)
    assert.is_true(count(types, 0x00) >= 1)
    assert.is_true(count(types, 0x01) >= 2)
    assert.is_true(db:get("mixed") == v)
  end)

  it("never compress with compress_min = false", function()
    local db2 = assert(okofdb.open(dir, { compress_min = false }))
    for _, v in ipairs({ H.text_bytes(200000, 4), string.rep("a", 70000), H.text_bytes(2048, 5) }) do
      assert.is_true(db2:put("f", v))
      local types = inspect(dir .. "/f", v)
      assert.are.equal(0, count(types, 0x00))
      assert.is_true(#types >= math.ceil(#v / 65536))
      assert.is_true(db2:get("f") == v)
    end
    db2:close()
  end)

  it("compress from compress_min bytes on, where snappy makes it smaller", function()
    local db0 = assert(okofdb.open(dir, { compress_min = 0 }))
    assert.is_true(db0:put("a", string.rep("a", 100)))
    assert.is_true(count((inspect(dir .. "/a", string.rep("a", 100))), 0x00) == 1)
    assert.is_true(db0:put("one", "a"))
    assert.are.same({ 0x01 }, (inspect(dir .. "/one", "a")))
    assert.is_true(db0:put("r", H.random_bytes(5000, 1)))
    assert.are.equal(0, count((inspect(dir .. "/r", H.random_bytes(5000, 1))), 0x00))
    db0:close()

    local db100 = assert(okofdb.open(dir, { compress_min = 100 }))
    assert.is_true(db100:put("b", string.rep("b", 99)))
    assert.are.same({ 0x01 }, (inspect(dir .. "/b", string.rep("b", 99))))
    assert.is_true(db100:put("c", string.rep("c", 100)))
    assert.are.same({ 0x00 }, (inspect(dir .. "/c", string.rep("c", 100))))
    db100:close()

    local dbbig = assert(okofdb.open(dir, { compress_min = 10000 }))
    local v = H.text_bytes(9999, 1)
    assert.is_true(dbbig:put("d", v))
    assert.are.equal(0, count((inspect(dir .. "/d", v)), 0x00))
    dbbig:close()
  end)
end)

describe("value files okofdb reads", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  -- Write file as the value of key "k" and read it back through okofdb.
  local function read_back(file, key)
    key = key or "k"
    H.write_file(dir .. "/" .. H.key_to_name(key), file)
    return H.pack(db:get(key))
  end

  local function expect_value(file, value)
    assert.are.equal(value, H.decode(file), "the spec's own reader disagrees")
    local r = read_back(file)
    assert.are.equal(1, r.n, tostring(r[2]) .. " " .. tostring(r[3]))
    assert.are.equal("string", type(r[1]))
    assert.are.equal(#value, #r[1])
    assert.is_true(r[1] == value)
  end

  it("read a legacy file, byte 0x00 then the raw value, with legacy = true", function()
    local ldb = assert(okofdb.open(dir, { legacy = true }))
    local function expect_legacy(file, value)
      assert.are.equal(value, H.decode(file, true), "the spec's own reader disagrees")
      H.write_file(dir .. "/k", file)
      local r = H.pack(ldb:get("k"))
      assert.are.equal(1, r.n, tostring(r[2]) .. " " .. tostring(r[3]))
      assert.is_true(r[1] == value)
    end
    expect_legacy("\0hello", "hello")
    expect_legacy("\0" .. H.random_bytes(5000, 7), H.random_bytes(5000, 7))
    expect_legacy("\0\1\255\6\0\0sNaPpY", "\1\255\6\0\0sNaPpY")
    expect_legacy("\0" .. string.rep("\0", 100) .. "\1", string.rep("\0", 100) .. "\1")
    ldb:close()
  end)

  it("refuse a legacy file without legacy = true, naming the option", function()
    for _, file in ipairs({ "\0hello", "\0" .. H.random_bytes(5000, 7), "\0\0\0x" }) do
      assert.is_nil(H.decode(file))
      local r = read_back(file)
      assert.are.equal(3, r.n)
      assert.is_nil(r[1])
      assert.are.equal("CORRUPT", r[3])
      assert.is_truthy(r[2]:find("(a raw 0x00 file: open with legacy = true to read values of okofdb 0.1.x)", 1, true), r[2])
    end
  end)

  it("refuse a file made only of zero bytes, with legacy = true or not", function()
    local ldb = assert(okofdb.open(dir, { legacy = true }))
    for _, n in ipairs({ 1, 2, 14, 29, 101, 4096, 65537, 70000 }) do
      local file = string.rep("\0", n)
      assert.is_nil(H.decode(file, true))
      H.write_file(dir .. "/k", file)
      for _, h in ipairs({ db, ldb }) do
        local v, msg, code = h:get("k")
        assert.is_nil(v, n .. " zeros read as a value")
        assert.are.equal("CORRUPT", code)
        assert.is_truthy(msg:find("only of zero bytes", 1, true), msg)
      end
    end
    ldb:close()
  end)

  it("read a Rust-crate stream with one uncompressed chunk", function()
    expect_value(H.rust_file(H.raw_chunk("hello world")), "hello world")
    expect_value(H.rust_file(H.raw_chunk("")), "")
    local big = H.random_bytes(65536, 1)
    expect_value(H.rust_file(H.raw_chunk(big)), big)
  end)

  it("read a Rust-crate stream with a compressed chunk of literals and copies", function()
    -- "abcd" + copy1 len 8 offset 4 + copy2 len 10 offset 12 + literal "XY"
    local block = H.block(24, H.literal("abcd"), H.copy1(8, 4), H.copy2(10, 12), H.literal("XY"))
    local data = "abcdabcdabcdabcdabcdabXY"
    expect_value(H.rust_file(H.snappy_chunk(block, data)), data)
    -- an overlapping copy: offset 1 repeats one byte
    block = H.block(12, H.literal("ab"), H.copy1(10, 1))
    data = "ab" .. string.rep("b", 10)
    expect_value(H.rust_file(H.snappy_chunk(block, data)), data)
    -- a long offset (copy2 beyond 2048) and a 4-byte-offset copy
    local lit = H.random_bytes(3000, 5)
    block = H.block(3000 + 64 + 5, H.literal(lit), H.copy2(64, 3000), H.copy4(5, 2500))
    data = lit .. lit:sub(1, 64) .. (lit .. lit:sub(1, 64)):sub(3064 - 2500 + 1, 3064 - 2500 + 5)
    expect_value(H.rust_file(H.snappy_chunk(block, data)), data)
  end)

  it("read literals of every length encoding", function()
    for _, n in ipairs({ 1, 60, 61, 256, 257, 65536 }) do
      local lit = H.random_bytes(n, n)
      expect_value(H.rust_file(H.snappy_chunk(H.block(n, H.literal(lit)), lit)), lit)
    end
  end)

  it("read several chunks, compressed and uncompressed mixed", function()
    local a, b, c = H.random_bytes(65536, 1), string.rep("z", 1000), "tail"
    local zblock = H.block(1000, H.literal("z"), string.rep(H.copy2(64, 1), 15), H.copy2(39, 1))
    assert.are.equal(b, H.snappy_decompress(zblock))
    local file = H.rust_file(H.raw_chunk(a), H.snappy_chunk(zblock, b), H.raw_chunk(c))
    expect_value(file, a .. b .. c)
    expect_value(H.okof_file(#a + #b + #c, H.raw_chunk(a), H.snappy_chunk(zblock, b), H.raw_chunk(c)),
      a .. b .. c)
  end)

  it("skip padding (0xfe) and skippable chunks (0x81-0xfd)", function()
    local v = "padded value"
    expect_value(H.rust_file(H.padding(0), H.raw_chunk("padded "), H.padding(100),
      H.chunk(0x81, "skip me"), H.raw_chunk("value"), H.chunk(0xfd, ""),
      H.chunk(0xc0, string.rep("\255", 300)), H.padding(3)), v)
    expect_value(H.okof_file(#v, H.padding(5), H.raw_chunk("padded "), H.chunk(0x9a, "x"),
      H.raw_chunk("value"), H.padding(0)), v)
    expect_value(H.okof_file(0, H.chunk(0x81, "after the header")), "")
  end)

  it("accept a second stream identifier in the middle of the stream", function()
    expect_value(H.rust_file(H.raw_chunk("one "), H.STREAM_ID, H.raw_chunk("two")), "one two")
    expect_value(H.okof_file(7, H.raw_chunk("one "), H.STREAM_ID, H.raw_chunk("two")), "one two")
  end)

  it("read okofdb files made of several full chunks", function()
    local v = H.text_bytes(200000, 8)
    local parts = {}
    for i = 1, #v, 65536 do parts[#parts + 1] = H.raw_chunk(v:sub(i, i + 65535)) end
    expect_value(H.okof_file(#v, (table.unpack or unpack)(parts)), v)
  end)

  it("read a chunk of exactly 65536 bytes, compressed too", function()
    local v = string.rep("r", 65536)
    local block = H.block(65536, H.literal("r"), string.rep(H.copy2(64, 1), 1023), H.copy2(63, 1))
    expect_value(H.okof_file(65536, H.snappy_chunk(block, v)), v)
  end)

  it("yield hand-built files through each", function()
    H.write_file(dir .. "/legacy", "\0old")
    H.write_file(dir .. "/zeros", string.rep("\0", 101))
    H.write_file(dir .. "/rust", H.rust_file(H.raw_chunk("crate")))
    assert.is_true(db:put("new", "okof"))
    local ldb = assert(okofdb.open(dir, { legacy = true }))
    for _, h in ipairs({ db, ldb }) do
      local got, n = H.collect_each(h)
      assert.are.equal(4, n)
      assert.are.equal("crate", got.rust.value)
      assert.are.equal("okof", got.new.value)
      assert.is_nil(got.zeros.value)
      assert.is_truthy(got.zeros.err:find("only of zero bytes", 1, true), got.zeros.err)
      if h == ldb then
        assert.are.equal("old", got.legacy.value)
      else
        assert.is_nil(got.legacy.value)
        assert.is_truthy(got.legacy.err:find("legacy = true", 1, true), got.legacy.err)
      end
    end
    ldb:close()
  end)
end)
