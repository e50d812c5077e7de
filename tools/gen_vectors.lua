-- tools/gen_vectors.lua -- writes the test vectors of docs/format.md:
-- docs/vectors/values/*.vec (value files) and docs/vectors/keys.txt (keys
-- and their file names).
--
--   LUA_PATH='lua/?.lua;spec/?.lua;;' LUA_CPATH='build/?.so;;' \
--     lua5.4 tools/gen_vectors.lua docs/vectors
--
-- The files okofdb writes (expect: value, reencode: yes) are made by
-- okofdb itself (put, then the file's bytes); the others are built byte
-- by byte with the reference writer of the specs (spec/support/format.lua).
-- spec/format_vectors_spec.lua checks every vector against okofdb.
local H = require("helpers")
local okofdb = require("okofdb")

local out = assert(arg[1], "usage: gen_vectors.lua DIR")

local function hexlines(s)
  local t = {}
  for i = 1, #s, 16 do
    t[#t + 1] = (H.hex(s:sub(i, i + 15)):gsub("(%x%x)", "%1 "):gsub(" $", ""))
  end
  return table.concat(t, "\n")
end

-- The file okofdb writes for value (default options).
local function written(value)
  local db, dir = H.open_tmp()
  assert(db:put("v", value))
  db:close()
  return assert(H.read_file(dir .. "/v"))
end

local function rep_to(pattern, len)
  return (pattern:rep(math.ceil(len / #pattern))):sub(1, len)
end

local vectors = {}
local function vector(t) vectors[#vectors + 1] = t end

-- ---- files okofdb writes ----------------------------------------------------
vector { name = "empty", about = "the empty value: header byte, stream identifier, value header (29 bytes)",
  expect = "value", value = "", reencode = true }
vector { name = "hi", about = "the value \"hi\": one uncompressed data chunk (type 0x01)",
  expect = "value", value = "hi", reencode = true }
local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
vector { name = "bytes-0-255", about = "every byte value once, 256 bytes: below compress_min, uncompressed",
  expect = "value", value = table.concat(all), reencode = true }
local pat_c = "one key is one file; "
vector { name = "compressed", about = "3000 bytes of repeated text (>= compress_min 2048): one compressed data chunk (type 0x00)",
  expect = "value", repeat_pattern = pat_c, repeat_len = 3000, reencode = true }
local pat_m = "0123456789abcdefghijklmnopqrstuvwxyz"
vector { name = "multi-chunk", about = "70000 bytes: two compressed data chunks, of 65536 and 4464 uncompressed bytes",
  expect = "value", repeat_pattern = pat_m, repeat_len = 70000, reencode = true }

-- ---- files of other writers that okofdb reads ---------------------------------
vector { name = "rust-stream", about = "a 0x01 stream without the value header, as the Rust crate writes it",
  expect = "value", value = "hi", file = H.rust_file(H.raw_chunk("hi")) }
vector { name = "skippable", about = "a skippable chunk (0x90) and padding (0xfe) after the value header are skipped",
  expect = "value", value = "hi",
  file = H.okof_file(2, H.chunk(0x90, "any"), H.padding(3), H.raw_chunk("hi")) }
vector { name = "legacy-raw", about = "a raw 0x00 file (the Rust crate's small values): CORRUPT, the value with legacy = true",
  expect = "legacy", value = "hello", file = "\0hello", requires = "legacy" }
vector { name = "ttl", about = "flags bit 0: a 22-byte value header with an expiry (2100-01-01T00:00:00Z, 4102444800000 ms)",
  expect = "value", value = "hi", expires_ms = 4102444800000, requires = "ttl",
  file = "\1" .. H.STREAM_ID .. H.chunk(0x80, "okof\1\1" .. H.le(2, 8) .. H.le(4102444800000, 8)) .. H.raw_chunk("hi") }
vector { name = "ttl-expired", about = "an expiry in the past (1970-01-01T00:00:01Z): no value",
  expect = "none", requires = "ttl",
  file = "\1" .. H.STREAM_ID .. H.chunk(0x80, "okof\1\1" .. H.le(2, 8) .. H.le(1000, 8)) .. H.raw_chunk("hi") }

-- ---- files a reader must refuse -----------------------------------------------
local hi = written("hi")
vector { name = "bad-checksum", about = "\"hi\" with the last byte of its checksum changed", expect = "CORRUPT",
  file = hi:sub(1, 32) .. string.char((hi:byte(33) + 1) % 256) .. hi:sub(34) }
vector { name = "bad-data", about = "\"hi\" with a byte of the data changed (the checksum no longer matches)",
  expect = "CORRUPT", file = hi:sub(1, -2) .. "j" }
vector { name = "length-mismatch", about = "the value header says 5 bytes, the chunks hold 2 (a file cut at a chunk boundary)",
  expect = "CORRUPT", file = H.okof_file(5, H.raw_chunk("hi")) }
vector { name = "truncated", about = "\"hi\" cut inside its data chunk", expect = "CORRUPT", file = hi:sub(1, -2) }
vector { name = "unknown-flags", about = "value header flags 0x02 (an unknown feature)", expect = "CORRUPT",
  file = "\1" .. H.STREAM_ID .. H.value_header(2, 1, 2) .. H.raw_chunk("hi") }
vector { name = "unknown-version", about = "value header version 2", expect = "CORRUPT",
  file = "\1" .. H.STREAM_ID .. H.value_header(2, 2, 0) .. H.raw_chunk("hi") }
vector { name = "header-out-of-place", about = "a value header after a data chunk", expect = "CORRUPT",
  file = H.rust_file(H.raw_chunk("hi"), H.value_header(2)) }
vector { name = "reserved-chunk", about = "an unskippable reserved chunk type (0x02)", expect = "CORRUPT",
  file = H.okof_file(2, H.chunk(0x02, "xx"), H.raw_chunk("hi")) }
vector { name = "unknown-first-byte", about = "byte 0 is 0x02", expect = "CORRUPT", file = "\2" .. hi:sub(2) }
vector { name = "no-data-chunk", about = "a stream without value header and without data chunk", expect = "CORRUPT",
  file = "\1" .. H.STREAM_ID }
vector { name = "zeros", about = "16 zero bytes (a file a crash left unwritten): CORRUPT, also with legacy = true",
  expect = "CORRUPT", file = ("\0"):rep(16), requires = "legacy" }

-- ---- write them ---------------------------------------------------------------
local function value_of(v)
  if v.repeat_pattern then return rep_to(v.repeat_pattern, v.repeat_len) end
  return v.value
end

for _, v in ipairs(vectors) do
  local file = v.file or written(value_of(v))
  local t = { "# okofdb value file test vector (docs/format.md, \"Test vectors\")",
              "name: " .. v.name, "about: " .. v.about, "expect: " .. v.expect }
  if v.repeat_pattern then
    t[#t + 1] = "value-repeat: " .. H.hex(v.repeat_pattern) .. " " .. v.repeat_len
  elseif v.value then
    t[#t + 1] = "value: " .. H.hex(v.value)
  end
  if v.expires_ms then t[#t + 1] = "expires-ms: " .. string.format("%.0f", v.expires_ms) end
  if v.requires then t[#t + 1] = "requires: " .. v.requires end
  t[#t + 1] = "reencode: " .. (v.reencode and "yes" or "no")
  t[#t + 1] = "length: " .. #file
  t[#t + 1] = "file:"
  t[#t + 1] = hexlines(file)
  H.write_file(out .. "/values/" .. v.name .. ".vec", table.concat(t, "\n") .. "\n")
end

-- ---- keys ---------------------------------------------------------------------
local keys = {
  { "theme" }, { "user.42" }, { "a-b_c.d" }, { "Foo" }, { ".profile" }, { "a/b" }, { "50%" },
  { "Window Title" }, { "\195\169t\195\169" }, { "\0" }, { "\255" }, { ".." }, { "%41" },
  { "con", "portable" }, { "con.txt", "portable" }, { "lpt9", "portable" }, { "com0" },
  { "console" }, { "a.", "portable" }, { "a.b." , "portable" },
}
local expected_name = {
  con = "%63on", ["con.txt"] = "%63on.txt", lpt9 = "%6cpt9", ["a."] = "a%2e", ["a.b."] = "a.b%2e",
}
local t = { "# okofdb key -> file name test vectors (docs/format.md, \"Keys and file names\")",
            "# KEY-HEX NAME [requires]  (requires portable: the Windows-name rule)" }
for _, k in ipairs(keys) do
  local name = expected_name[k[1]] or H.key_to_name(k[1])
  t[#t + 1] = H.hex(k[1]) .. " " .. name .. (k[2] and (" " .. k[2]) or "")
end
H.write_file(out .. "/keys.txt", table.concat(t, "\n") .. "\n")
print(#vectors .. " value vectors, " .. #keys .. " keys written to " .. out)
