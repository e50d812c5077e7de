-- gen_corpus.lua -- write the seed corpora of the fuzz targets.
--
--   make                      (from the repository top)
--   LUA_PATH='lua/?.lua;;' LUA_CPATH='build/?.so;;' lua5.4 fuzz/gen_corpus.lua
--
-- fuzz/corpus/decode/: value files written by okofdb itself (through the
-- Lua module), plus a legacy 0x00 file and Rust-style 0x01 streams (no
-- value header) derived from them. fuzz/corpus/key/: keys, and a few file
-- names (fuzz_key also reads its input as a name).

local okofdb = require("okofdb")

local root = arg[1] or "fuzz/corpus"

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  assert(f:write(bytes))
  assert(f:close())
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Deterministic bytes that snappy cannot compress (xorshift32).
local function noise(n, seed)
  local x, t = seed, {}
  for i = 1, n do
    x = x ~ ((x << 13) & 0xffffffff)
    x = x ~ (x >> 17)
    x = x ~ ((x << 5) & 0xffffffff)
    t[i] = string.char(x & 0xff)
  end
  return table.concat(t)
end

local function text(n)
  local s = ("the quick brown fox jumps over the lazy dog %d. "):rep(1)
  local t, len, i = {}, 0, 0
  while len < n do
    i = i + 1
    local piece = s:format(i % 7)
    t[#t + 1] = piece
    len = len + #piece
  end
  return table.concat(t):sub(1, n)
end

-- Values written by okofdb: name -> value (the key is the name).
local values = {
  {"empty", ""},
  {"small", "hello, okofdb"},
  {"compressible-3000", text(3000)},
  -- Two chunks: a compressed 65536-byte one, an uncompressed 4464-byte one.
  {"multi-mixed-70000", text(65536) .. noise(70000 - 65536, 7)},
  -- Two uncompressed chunks (the one seed of about 70 KB).
  {"multi-raw-70000", noise(70000, 12345)},
}

local dir = os.tmpname()
os.remove(dir)
local db = assert(okofdb.open(dir, {sync = "none"}))

os.execute("mkdir -p " .. root .. "/decode " .. root .. "/key")
local files = {}
for _, kv in ipairs(values) do
  assert(db:put(kv[1], kv[2]))
  local file = read(dir .. "/" .. kv[1])
  assert(db:get(kv[1]) == kv[2])
  files[kv[1]] = file
  write(root .. "/decode/" .. kv[1], file)
end

-- Header byte (1) and stream identifier (10) are bytes 1..11; the value
-- header chunk is bytes 12..29. Without it, the stream is what the Rust
-- crate writes.
local function rustify(file)
  assert(file:sub(12, 15) == "\x80\x0e\0\0" and file:sub(16, 19) == "okof")
  return file:sub(1, 11) .. file:sub(30)
end
write(root .. "/decode/rust-small", rustify(files["small"]))
write(root .. "/decode/rust-compressible-3000",
      rustify(files["compressible-3000"]))
write(root .. "/decode/legacy", "\0" .. "a value the Rust crate wrote")
-- What a crash can leave (read by no handle), and 11-byte compressed
-- chunks that claim 64 KiB each (a file that asks for more memory than its
-- bytes can decode to).
write(root .. "/decode/zeros", ("\0"):rep(101))
local claim = "\0\7\0\0" .. "\0\0\0\0" .. "\128\128\4"
write(root .. "/decode/claims", files["empty"]:sub(1, 21) .. "\0\0\4\0\0\0\0\0" .. claim:rep(4))

for _, kv in ipairs(values) do assert(db:del(kv[1])) end
assert(db:close())
os.remove(dir)

local keys = {
  foo = "foo",
  Foo = "Foo",
  dotdot = "../x",
  nul = "\0",
  ff80 = ("\xff"):rep(80),
  ["long-plain"] = ("abcdefghijklmnopqrstuvwxyz0123456789-_."):rep(6):sub(1, 230),
  -- Read as names by the name half of fuzz_key:
  ["name-escaped"] = "%2e%2e%2fx%00",
  ["name-tmp"] = ".okof-tmp-0123456789abcdef0123456789abcdef",
  -- Windows device names and a trailing '.', as keys and as names
  device = "com1.tar.gz",
  ["dot-end"] = "x..",
  ["name-device"] = "%63on.txt",
}
for name, key in pairs(keys) do write(root .. "/key/" .. name, key) end
