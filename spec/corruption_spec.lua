-- spec/corruption_spec.lua -- docs/format.md "Value files", reading side: every
-- checksum and length is verified, and a file that fails is "CORRUPT",
-- never a wrong value. Every single-byte change and every truncation of
-- real value files, and a catalogue of hand-built invalid files.
local H = require("helpers")
local okofdb = require("okofdb")
local RL = require("reliability.rlog")

local byte, char, sub = string.byte, string.char, string.sub

-- Describe a result of get for failure messages.
local function show(r)
  if r[1] ~= nil then return "value of " .. #r[1] .. " bytes" end
  return "nil, " .. tostring(r[2]) .. ", " .. tostring(r[3]) .. " (" .. r.n .. " results)"
end

describe("a damaged value file", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  local function read_back(file)
    H.write_file(dir .. "/k", file)
    return H.pack(db:get("k"))
  end

  -- One kind of damage leaves a file that the letter of the format still
  -- reads: the value header's type turned into a skippable chunk or
  -- padding (a Rust-crate file holding the original value). okofdb may read
  -- it so, or recognise the damage and refuse it as "CORRUPT". (Byte 0
  -- turned into 0x00 makes a raw legacy file, which a handle without
  -- legacy = true refuses.)
  local function refusable(file)
    local b12 = byte(file, 12)
    return b12 ~= nil and b12 >= 0x81 and b12 <= 0xfe and sub(file, 16, 19) == "okof"
  end

  -- Check one damaged file: the result must be what the reference reader
  -- says -- "CORRUPT", or a value. A value is only acceptable when it is the
  -- original one.
  local function check(file, original, what, failures)
    RL.add("corruption.mutations")
    local want = H.decode(file)
    if want ~= nil and want ~= original then
      failures[#failures + 1] = what .. ": the spec's reference reader accepts it (" .. #want .. " bytes)"
      return
    end
    local r = read_back(file)
    if want ~= nil and refusable(file) and r.n == 3 and r[1] == nil and r[3] == "CORRUPT" then
      want = nil
    end
    if want == nil then
      if not (r.n == 3 and r[1] == nil and type(r[2]) == "string" and r[3] == "CORRUPT") then
        failures[#failures + 1] = what .. ": expected nil, msg, 'CORRUPT', got " .. show(r)
      end
    elseif r.n ~= 1 or r[1] ~= want then
      failures[#failures + 1] = what .. ": expected the value of " .. #want .. " bytes, got " .. show(r)
    end
  end

  local function report(failures)
    local shown = {}
    for i = 1, math.min(#failures, 25) do shown[i] = failures[i] end
    if #failures > 25 then shown[#shown + 1] = "... and " .. (#failures - 25) .. " more" end
    assert.are.equal(0, #failures, "\n" .. table.concat(shown, "\n"))
  end

  local function flip_all(file, original, masks)
    local failures = {}
    for pos = 1, #file do
      local b = byte(file, pos)
      for _, m in ipairs(masks) do
        local damaged = sub(file, 1, pos - 1) .. char(H.bxor(b, m)) .. sub(file, pos + 1)
        check(damaged, original, string.format("byte %d xor 0x%02x", pos - 1, m), failures)
      end
    end
    return failures
  end

  local function truncate_all(file, original)
    local failures = {}
    for len = 0, #file - 1 do
      local cut = sub(file, 1, len)
      if H.decode(cut) ~= nil then
        failures[#failures + 1] = "cut to " .. len .. ": the reference reader accepts it"
      end
      check(cut, original, "cut to " .. len .. " bytes", failures)
    end
    return failures
  end

  local small = "thirty bytes of a small value!"

  it("of an uncompressed 30-byte value is CORRUPT after any change of any byte", function()
    assert.are.equal(30, #small)
    assert.is_true(db:put("k", small))
    local file = H.read_file(dir .. "/k")
    assert.are.equal(67, #file)
    report(flip_all(file, small, { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff, 0x7e }))
  end)

  it("of an uncompressed 30-byte value is CORRUPT when cut anywhere", function()
    assert.is_true(db:put("k", small))
    report(truncate_all(H.read_file(dir .. "/k"), small))
  end)

  it("damaged into another valid shape gives the exact legal value or CORRUPT, nothing else", function()
    assert.is_true(db:put("k", small))
    local file = H.read_file(dir .. "/k")
    local function legal_or_corrupt(damaged, legal)
      local r = read_back(damaged)
      if r[1] == nil then
        assert.are.equal(3, r.n)
        assert.are.equal("CORRUPT", r[3])
      else
        assert.are.equal(1, r.n)
        assert.are.equal(legal, r[1])
      end
    end
    -- byte 0 turned to 0x00: a raw file, refused without legacy = true;
    -- with it, refused too (it starts like a stream okofdb wrote) or read
    -- as the rest of the bytes
    assert.are.equal("CORRUPT", read_back("\0" .. sub(file, 2))[3])
    local ldb = assert(okofdb.open(dir, { legacy = true }))
    H.write_file(dir .. "/k", "\0" .. sub(file, 2))
    local r = H.pack(ldb:get("k"))
    assert.is_true(r[3] == "CORRUPT" or r[1] == sub(file, 2), show(r))
    -- value header turned into a skippable chunk or padding: a Rust-crate
    -- file with the original value
    for _, t in ipairs({ 0x81, 0xfe, 0xfd }) do
      legal_or_corrupt(sub(file, 1, 11) .. char(t) .. sub(file, 13), small)
    end
    -- the same shapes built on purpose, with other contents, are read (the
    -- raw one with legacy = true)
    H.write_file(dir .. "/k", "\0" .. sub(file, 2, 11) .. "not a value header")
    assert.are.equal(sub(file, 2, 11) .. "not a value header", ldb:get("k"))
    ldb:close()
    r = read_back(H.rust_file(H.chunk(0x81, "okoh" .. string.rep("\0", 10)), H.raw_chunk(small)))
    assert.are.equal(small, r[1])
  end)

  it("of a compressed 3000-byte value is CORRUPT after any change of any byte", function()
    local v = H.text_bytes(3000, 42)
    assert.is_true(db:put("k", v))
    local file = H.read_file(dir .. "/k")
    assert.are.equal(0x00, byte(file, 30), "expected a compressed chunk")
    assert.is_true(#file < #v)
    report(flip_all(file, v, { 0x01, 0x80, 0xff }))
  end)

  it("of a compressed 3000-byte value is CORRUPT when cut anywhere", function()
    local v = H.text_bytes(3000, 42)
    assert.is_true(db:put("k", v))
    local file = H.read_file(dir .. "/k")
    report(truncate_all(file, v))
  end)

  it("of a two-chunk value is CORRUPT when cut at the chunk boundary", function()
    local v = H.random_bytes(70000, 1)
    assert.is_true(db:put("k", v))
    local file = H.read_file(dir .. "/k")
    local chunks = assert(H.parse_chunks(file))
    assert.is_true(#chunks >= 4)
    for i = 3, #chunks do
      local r = read_back(sub(file, 1, chunks[i].offset - 1))
      assert.are.equal(3, r.n, "cut before chunk " .. i .. ": " .. show(r))
      assert.are.equal("CORRUPT", r[3])
    end
    -- and with one whole data chunk removed from the middle
    local r = read_back(sub(file, 1, chunks[3].offset - 1) .. sub(file, chunks[4].offset))
    assert.are.equal("CORRUPT", r[3])
  end)

  it("gives a message that names the key", function()
    assert.is_true(db:put("victim-key", small))
    local file = H.read_file(dir .. "/victim-key")
    H.write_file(dir .. "/victim-key", sub(file, 1, #file - 1) .. "?")
    local v, msg, code = db:get("victim-key")
    assert.is_nil(v)
    assert.are.equal("CORRUPT", code)
    assert.is_true(H.contains(msg, "victim-key"), msg)
  end)

  it("is yielded by each as key, nil, msg, and the loop goes on", function()
    for i = 1, 10 do assert.is_true(db:put("key" .. i, "value" .. i)) end
    for _, i in ipairs({ 2, 5, 9 }) do
      local path = dir .. "/key" .. i
      local file = H.read_file(path)
      H.write_file(path, sub(file, 1, 40) .. char(H.bxor(byte(file, 41), 1)) .. sub(file, 42))
    end
    local seen, bad = 0, 0
    for k, v, err, code in db:each() do
      seen = seen + 1
      local i = tonumber(k:match("^key(%d+)$"))
      assert.is_not_nil(i, k)
      if i == 2 or i == 5 or i == 9 then
        bad = bad + 1
        assert.is_nil(v)
        assert.are.equal("string", type(err))
        assert.is_true(H.contains(err, k), err)
        assert.is_true(code == nil or code == "CORRUPT", tostring(code))
      else
        assert.are.equal("value" .. i, v)
        assert.is_nil(err)
      end
    end
    assert.are.equal(10, seen)
    assert.are.equal(3, bad)
  end)
end)

describe("hand-built invalid value files", function()
  local db, dir
  before_each(function() db, dir = H.open_tmp() end)
  after_each(function() db:close(); H.cleanup() end)

  local function expect_corrupt(cases)
    local failures = {}
    for _, c in ipairs(cases) do
      RL.add("corruption.mutations")
      local name, file = c[1], c[2]
      if H.decode(file) ~= nil then
        failures[#failures + 1] = name .. ": the spec's reference reader accepts it"
      end
      H.write_file(dir .. "/bad-file", file)
      local r = H.pack(db:get("bad-file"))
      if not (r.n == 3 and r[1] == nil and r[3] == "CORRUPT" and H.contains(r[2], "bad-file")) then
        failures[#failures + 1] = name .. ": expected nil, msg naming the key, 'CORRUPT'; got " .. show(r)
      end
    end
    assert.are.equal(0, #failures, "\n" .. table.concat(failures, "\n"))
  end

  local ok = H.raw_chunk("data")

  it("with an unknown byte 0 are CORRUPT", function()
    expect_corrupt({
      { "empty file", "" },
      { "byte 0 = 0x02", "\2" .. H.STREAM_ID .. ok },
      { "byte 0 = 0x02 alone", "\2" },
      { "byte 0 = 0x80", "\128hello" },
      { "byte 0 = 0xff", "\255" .. H.STREAM_ID .. H.value_header(4) .. ok },
      { "a bare stream, no byte 0", H.STREAM_ID .. H.value_header(4) .. ok },
    })
  end)

  it("without a proper stream identifier are CORRUPT", function()
    expect_corrupt({
      { "0x01 alone", "\1" },
      { "no stream identifier", "\1" .. ok },
      { "header without identifier", "\1" .. H.value_header(4) .. ok },
      { "padding before the identifier", "\1" .. H.padding(0) .. H.STREAM_ID .. ok },
      { "wrong identifier text", "\1\255\6\0\0sNaPpZ" .. ok },
      { "identifier of 7 bytes", "\1" .. H.chunk(0xff, "sNaPpY!") .. ok },
      { "identifier of 5 bytes", "\1" .. H.chunk(0xff, "sNaPp") .. ok },
      { "bad second identifier", H.rust_file(ok, H.chunk(0xff, "snappy"), ok) },
    })
  end)

  it("of the Rust crate's shape without a data chunk are CORRUPT", function()
    expect_corrupt({
      { "identifier only", H.rust_file() },
      { "identifier and padding", H.rust_file(H.padding(4)) },
      { "identifier and a skippable chunk", H.rust_file(H.chunk(0x81, "x")) },
      { "two identifiers", H.rust_file(H.STREAM_ID) },
    })
  end)

  it("with an unskippable reserved chunk type (0x02-0x7f) are CORRUPT", function()
    local cases = {}
    for _, t in ipairs({ 0x02, 0x03, 0x10, 0x40, 0x7e, 0x7f }) do
      cases[#cases + 1] = { string.format("type 0x%02x after the data", t), H.rust_file(ok, H.chunk(t, "")) }
      cases[#cases + 1] = { string.format("type 0x%02x in an okofdb file", t),
        H.okof_file(4, H.chunk(t, "abcd"), ok) }
    end
    expect_corrupt(cases)
  end)

  it("with a bad value header are CORRUPT", function()
    expect_corrupt({
      { "version 0", "\1" .. H.STREAM_ID .. H.value_header(4, 0) .. ok },
      { "version 2", "\1" .. H.STREAM_ID .. H.value_header(4, 2) .. ok },
      { "version 255", "\1" .. H.STREAM_ID .. H.value_header(4, 255) .. ok },
      { "flag bit 0", "\1" .. H.STREAM_ID .. H.value_header(4, 1, 1) .. ok },
      { "flag bit 1", "\1" .. H.STREAM_ID .. H.value_header(4, 1, 2) .. ok },
      { "flag bit 7", "\1" .. H.STREAM_ID .. H.value_header(4, 1, 0x80) .. ok },
      { "magic OKOF", "\1" .. H.STREAM_ID .. H.value_header(4, 1, 0, "OKOF") .. ok },
      { "magic okoX", "\1" .. H.STREAM_ID .. H.value_header(4, 1, 0, "okoX") .. ok },
      { "payload of 13 bytes", H.rust_file(H.chunk(0x80, "okof\1\0" .. H.le(4, 7)), ok) },
      { "payload of 15 bytes", H.rust_file(H.chunk(0x80, "okof\1\0" .. H.le(4, 8) .. "\0"), ok) },
      { "empty payload", H.rust_file(H.chunk(0x80, ""), ok) },
    })
  end)

  it("with a 0x80 chunk anywhere but first after the identifier are CORRUPT", function()
    expect_corrupt({
      { "header after a data chunk", H.rust_file(ok, H.value_header(4)) },
      { "header after padding", H.rust_file(H.padding(0), H.value_header(4), ok) },
      { "header after a skippable chunk", H.rust_file(H.chunk(0x81, "x"), H.value_header(4), ok) },
      { "header twice", H.okof_file(4, H.value_header(4), ok) },
      { "header after a second identifier", H.rust_file(ok, H.STREAM_ID, H.value_header(4), ok) },
      { "header between data chunks", H.okof_file(8, ok, H.value_header(8), ok) },
    })
  end)

  it("whose data do not add up to the length in the value header are CORRUPT", function()
    expect_corrupt({
      { "5 recorded, 4 present", H.okof_file(5, ok) },
      { "3 recorded, 4 present", H.okof_file(3, ok) },
      { "5 recorded, none present", H.okof_file(5) },
      { "0 recorded, 1 present", H.okof_file(0, H.raw_chunk("x")) },
      { "4 + 2^32 recorded", H.okof_file(4 + 2 ^ 32, ok) },
      { "4 + 2^63 recorded", "\1" .. H.STREAM_ID .. H.chunk(0x80, "okof\1\0" .. H.le(4, 7) .. "\128") .. ok },
      { "2^64 - 1 recorded", "\1" .. H.STREAM_ID .. H.chunk(0x80, "okof\1\0" .. string.rep("\255", 8)) .. ok },
      { "8 recorded, second chunk missing", H.okof_file(8, ok) },
    })
  end)

  it("with a bad checksum are CORRUPT", function()
    local crc = H.masked_crc32c("data")
    local block = H.block(8, H.literal("data"), H.copy1(4, 4))
    expect_corrupt({
      { "checksum + 1", H.rust_file(H.raw_chunk("data", (crc + 1) % 2 ^ 32)) },
      { "unmasked checksum", H.rust_file(H.raw_chunk("data", H.crc32c("data"))) },
      { "zero checksum", H.okof_file(4, H.raw_chunk("data", 0)) },
      { "checksum of other data", H.okof_file(4, H.raw_chunk("data", H.masked_crc32c("date"))) },
      { "compressed, checksum of the block", H.rust_file(H.snappy_chunk(block, block)) },
      { "compressed, checksum of other data", H.okof_file(8, H.snappy_chunk(block, "datadat!")) },
      { "second chunk bad", H.okof_file(8, ok, H.raw_chunk("data", crc + 1)) },
    })
  end)

  it("with a chunk of more than 65536 uncompressed bytes are CORRUPT", function()
    local big = string.rep("b", 65537)
    local block = H.block(65537, H.literal("b"), string.rep(H.copy2(64, 1), 1024))
    assert.are.equal(big, H.snappy_decompress(block))
    expect_corrupt({
      { "uncompressed 65537", H.rust_file(H.raw_chunk(big)) },
      { "uncompressed 65537 with header", H.okof_file(65537, H.raw_chunk(big)) },
      { "compressed 65537", H.okof_file(65537, H.snappy_chunk(block, big)) },
      { "compressed 65537, Rust shape", H.rust_file(H.snappy_chunk(block, big)) },
    })
  end)

  it("with a broken chunk structure are CORRUPT", function()
    expect_corrupt({
      { "data chunk of 3 bytes", H.rust_file(H.chunk(0x01, "abc")) },
      { "data chunk of 0 bytes", H.okof_file(0, H.chunk(0x01, "")) },
      { "compressed chunk of 0 bytes", H.okof_file(0, H.chunk(0x00, "")) },
      { "compressed chunk of only a checksum", H.okof_file(0, H.chunk(0x00, H.le(H.masked_crc32c(""), 4))) },
      { "truncated chunk header", H.rust_file(ok) .. "\1\5" },
      { "chunk longer than the file", H.rust_file(ok) .. "\254\100\0\0abc" },
      { "chunk length 2^24 - 1", H.rust_file(ok) .. "\129\255\255\255" },
    })
  end)

  it("with an invalid snappy block are CORRUPT", function()
    local function c(block, data) return H.rust_file(H.snappy_chunk(block, data)) end
    expect_corrupt({
      { "varint longer than the output", c(H.block(10, H.literal("abcd"), H.copy1(4, 4)), "abcdabcd") },
      { "varint shorter than the output", c(H.block(6, H.literal("abcd"), H.copy1(4, 4)), "abcdabcd") },
      { "copy with offset 0", c(H.block(8, H.literal("abcd"), H.copy1(4, 0)), "abcdabcd") },
      { "copy before the start", c(H.block(8, H.literal("abcd"), H.copy1(4, 5)), "abcdabcd") },
      { "copy2 before the start", c(H.block(8, H.literal("abcd"), H.copy2(4, 300)), "abcdabcd") },
      { "copy4 before the start", c(H.block(8, H.literal("abcd"), H.copy4(4, 70000)), "abcdabcd") },
      { "literal past the end", c(H.varint(8) .. "\28" .. "abc", "abcdabcd") },
      { "literal length byte missing", c(H.varint(100) .. char(60 * 4), string.rep("x", 100)) },
      { "copy offset byte missing", c(H.block(8, H.literal("abcd")) .. "\1", "abcdabcd") },
      { "varint of 6 bytes", c("\128\128\128\128\128\0" .. H.literal("a"), "a") },
      { "varint cut", c("\128", "") },
      { "empty block", c("", "") },
      { "varint of 2^32 - 1", c("\255\255\255\255\15" .. H.literal("a"), "a") },
      { "output past the varint", c(H.block(4, H.literal("abcd"), H.literal("e")), "abcd") },
    })
  end)
end)

-- docs/format.md "Value files": a 0x00 file is read only by a handle opened with
-- legacy = true, and a file made only of zero bytes (what a crash can leave
-- behind on XFS or ext4) is "CORRUPT" with it or without it.
describe("a file made only of zero bytes", function()
  local db, ldb, dir
  before_each(function()
    db, dir = H.open_tmp()
    ldb = assert(okofdb.open(dir, { legacy = true }))
  end)
  after_each(function() db:close(); ldb:close(); H.cleanup() end)

  local LENGTHS = { 1, 2, 14, 28, 29, 30, 101, 2048, 4096, 65536, 65537, 70000, 1048576 }

  it("is CORRUPT for get and each, with legacy = true or not", RL.counted("zerofill", function()
    assert.is_true(db:put("k", "a value"))
    assert.is_true(db:put("other", "kept"))
    local failures = {}
    for _, n in ipairs(LENGTHS) do
      H.write_file(dir .. "/k", string.rep("\0", n))
      for _, h in ipairs({ db, ldb }) do
        local what = n .. " zeros, legacy = " .. tostring(h == ldb)
        RL.add("zerofill.cases")
        local r = H.pack(h:get("k"))
        if not (r.n == 3 and r[1] == nil and r[3] == "CORRUPT" and H.contains(r[2], "zero bytes")) then
          failures[#failures + 1] = what .. ": get gave " .. show(r)
        end
        local got = H.collect_each(h)
        if got.k.value ~= nil or not H.contains(got.k.err or "", "zero bytes") or got.other.value ~= "kept" then
          failures[#failures + 1] = what .. ": each gave " .. tostring(got.k.value and #got.k.value)
        end
      end
    end
    assert.are.equal(0, #failures, "\n" .. table.concat(failures, "\n"))
  end))

  it("but one other byte is a raw value only with legacy = true", RL.counted("zerofill", function()
    for _, n in ipairs({ 2, 101, 4096, 70000 }) do
      local file = string.rep("\0", n - 1) .. "\1"
      H.write_file(dir .. "/k", file)
      RL.add("zerofill.cases", 2)
      local v, msg, code = db:get("k")
      assert.is_nil(v)
      assert.are.equal("CORRUPT", code)
      assert.is_true(H.contains(msg, "(a raw 0x00 file: open with legacy = true to read values of okofdb 0.1.x)"), msg)
      assert.are.equal(sub(file, 2), ldb:get("k"))
    end
  end))
end)

-- docs/format.md "Value files": whatever a file claims, reading it allocates no
-- more than its bytes can decode to. Each file here claims far more: the
-- read is "CORRUPT", in a process whose peak resident set stays within a
-- few times the file's size (and, outside sanitizer runs, whose address
-- space is capped at ten times the file's size plus 512 MiB, so that even
-- an allocation never touched would fail as ENOMEM).
describe("a file that claims more than its bytes can hold", function()
  local dir
  before_each(function()
    local db
    db, dir = H.open_tmp()
    db:close()
  end)
  after_each(function() H.cleanup() end)

  local LINUX = io.open("/proc/self/status", "r") ~= nil
  local SANITIZED = os.getenv("LD_PRELOAD") ~= nil

  -- 11 bytes that claim 65536: a compressed chunk holding only the snappy
  -- length varint.
  local CLAIM = H.chunk(0x00, H.le(0, 4) .. H.varint(65536))
  assert(#CLAIM == 11)
  -- A snappy block of 3 bytes per 64 claimed (copies of 64 bytes at offset
  -- 1 after a 1-byte literal), the densest the format allows: within the
  -- bound, so it must be decoded and its checksum found wrong.
  local DENSE = H.chunk(0x00, H.le(0, 4) .. H.block(65536, H.literal("d"),
    string.rep(H.copy2(64, 1), 1023), H.copy2(63, 1)))

  local function hostile(size, shape)
    local n = math.floor((size - 29) / #CLAIM)
    if shape == "header" then return H.okof_file(n * 65536, string.rep(CLAIM, n)) end
    if shape == "rust" then return H.rust_file(string.rep(CLAIM, n)) end
    if shape == "dense" then
      n = math.floor((size - 29) / #DENSE)
      return H.okof_file(n * 65536, string.rep(DENSE, n))
    end
    -- a true value header and data, then a header length that lies
    return "\1" .. H.STREAM_ID .. H.value_header(2 ^ 62) .. H.raw_chunk(string.rep("x", math.min(size, 65536)))
  end

  -- Run memchild.lua: its results and its peak resident set in kB.
  local function measure(size, ...)
    local cap = ""
    if LINUX and not SANITIZED then
      cap = "ulimit -v " .. math.floor((10 * size + 512 * 2 ^ 20) / 1024) .. "; "
    end
    local args = {}
    for i, a in ipairs({ dir, ... }) do args[i] = H.q(a) end
    local out = H.sh("(" .. cap .. H.script("memchild") .. " " .. table.concat(args, " ") .. ") 2>&1")
    local results = {}
    for r in out:gmatch("result ([^\n]*)") do results[#results + 1] = r end
    return results, tonumber(out:match("hwm (%d+)")), out
  end

  local function check(size, shape)
    local file = hostile(size, shape)
    H.write_file(dir .. "/k", file)
    size = #file
    file = nil -- luacheck: ignore
    collectgarbage()
    local _, base = measure(size, "noop")
    for _, run in ipairs({ { "get", "k" }, { "each" }, { "cli", "get", "k" }, { "cli", "check" } }) do
      RL.add("memory.cases")
      local results, hwm, out = measure(size, (table.unpack or unpack)(run))
      local what = size .. "-byte file (" .. shape .. "), " .. table.concat(run, " ")
      if run[1] == "cli" then
        assert.is_true(H.contains(out, "result status=1"), what .. ": " .. out)
        assert.is_true(H.contains(out, "CORRUPT") or H.contains(out, "corrupt"), what .. ": " .. out)
        assert.is_false(H.contains(out, "ENOMEM"), what .. ": " .. out)
      else
        assert.are.same({ "CORRUPT" }, results, what .. ": " .. out)
      end
      if LINUX and base and hwm then
        local grew = (hwm - base) * 1024
        assert.is_true(grew < 4 * size + 16 * 2 ^ 20,
          what .. ": peak resident set grew by " .. grew .. " bytes")
      end
    end
  end

  for _, shape in ipairs({ "header", "rust", "dense", "lying header" }) do
    it("is CORRUPT in bounded memory: 1 MB, " .. shape, RL.counted("memory", function()
      check(2 ^ 20, shape)
    end))
  end

  it("is CORRUPT in bounded memory: 100 MB, 11-byte chunks that claim 64 KiB each", RL.counted("memory", function()
    check(100 * 2 ^ 20, "header")
  end))
end)
