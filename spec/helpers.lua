-- spec/helpers.lua -- shared helpers of the okofdb specs.
--
-- Plain Lua with no dependency on busted, so that the child processes the
-- specs spawn (spec/support/*.lua) can use it too. Runs on Lua 5.1, 5.2,
-- 5.3, 5.4 and LuaJIT: no integer division or bitwise operators appear in
-- this file's own code; the native operators of 5.3+ are only reached
-- through a chunk compiled with load() on those versions.

local H = {}

local floor = math.floor
local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local concat = table.concat
local unpack = table.unpack or unpack

H.LUA = os.getenv("OKOF_LUA") or "lua5.4"
H.IS_54 = _VERSION == "Lua 5.4"

-- Directory holding this file (spec/), and spec/support/.
H.SPEC_DIR = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "spec"
H.SUPPORT_DIR = H.SPEC_DIR .. "/support"

---------------------------------------------------------------------------
-- Shell and file system
---------------------------------------------------------------------------

-- Quote a string for sh.
function H.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Under a sanitizer run the ASan runtime is preloaded into this process
-- (LD_PRELOAD); the system utilities the specs run must not get it (their
-- leaks would change their exit status), the Lua children must.
local PRELOAD = os.getenv("LD_PRELOAD")
local SHELL_PREFIX = PRELOAD and "unset LD_PRELOAD; " or ""

-- Run a shell command, return its whole stdout.
function H.sh(cmd)
  local p = assert(io.popen(SHELL_PREFIX .. cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

-- Run a shell command, return true when it exited with status 0.
function H.run(cmd)
  local a, _, c = os.execute(SHELL_PREFIX .. cmd)
  if type(a) == "number" then return a == 0 end -- Lua 5.1
  return a == true and c == 0
end

function H.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function H.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

function H.exists(path)
  return H.run("test -e " .. H.q(path) .. " || test -L " .. H.q(path))
end

function H.is_dir(path)
  return H.run("test -d " .. H.q(path))
end

function H.is_symlink(path)
  return H.run("test -L " .. H.q(path))
end

-- Names in a directory (not "." and ".."), sorted; NUL-separated by find so
-- that any byte but NUL and "/" survives.
function H.listdir(dir)
  local out = H.sh("LC_ALL=C find " .. H.q(dir) ..
                   " -mindepth 1 -maxdepth 1 -printf '%f\\0' 2>/dev/null")
  local names = {}
  for name in out:gmatch("([^%z]*)%z") do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- Names of okofdb temporary files in a directory.
function H.tmpfiles(dir)
  local t = {}
  for _, n in ipairs(H.listdir(dir)) do
    if sub(n, 1, 10) == ".okof-tmp-" then t[#t + 1] = n end
  end
  return t
end

-- Permission bits of a path as an octal string ("644").
function H.mode(path)
  return (H.sh("stat -c %a " .. H.q(path)):gsub("%s+$", ""))
end

-- The current umask as a number (0..511).
function H.umask()
  local s = H.sh("umask"):gsub("%s+", "")
  return tonumber(s, 8)
end

-- a & ~b for permission bits, as an octal string like stat prints it.
function H.perm_string(base, umask)
  local r, mul = 0, 1
  for _ = 1, 3 do
    local bd, ud = base % 8, umask % 8
    local d = 0
    for bit = 0, 2 do
      local p = 2 ^ bit
      if floor(bd / p) % 2 == 1 and floor(ud / p) % 2 == 0 then d = d + p end
    end
    r = r + d * mul
    base, umask, mul = floor(base / 8), floor(umask / 8), mul * 8
  end
  return format("%o", r)
end

local tmpdirs = {}

-- A fresh empty directory (mktemp -d), removed by H.cleanup().
function H.tmpdir()
  local d = H.sh("mktemp -d 2>/dev/null || mktemp -d -t okofspec.XXXXXX"):match("^[^\n]*")
  assert(d ~= "" and H.is_dir(d), "mktemp -d failed")
  tmpdirs[#tmpdirs + 1] = d
  return d
end

function H.cleanup()
  for i = #tmpdirs, 1, -1 do
    H.run("chmod -R u+rwx " .. H.q(tmpdirs[i]) .. " 2>/dev/null; rm -rf " .. H.q(tmpdirs[i]))
    tmpdirs[i] = nil
  end
end

function H.is_root()
  return H.sh("id -u"):match("^0%s") ~= nil
end

-- This process's pid (the interpreter's; /proc/self resolves to the opener).
function H.pid()
  local f = io.open("/proc/self/stat", "r")
  if f then
    local s = f:read("*l")
    f:close()
    local pid = s and s:match("^(%d+)")
    if pid then return pid end
  end
  return nil
end

-- Number of this process's open descriptors of files and directories (a
-- path in /proc/<pid>/fd), or nil if unknown. Pipes are left out: the popen
-- used to count opens one, and whether its other end is still open here
-- while the listing is made is a race.
function H.fd_count()
  local pid = H.pid()
  if not pid or not H.is_dir("/proc/" .. pid .. "/fd") then return nil end
  local out = H.sh("find /proc/" .. pid .. "/fd -mindepth 1 -maxdepth 1 -lname '/*' -printf 'x\\n' 2>/dev/null")
  local n = 0
  for _ in out:gmatch("x\n") do n = n + 1 end
  return n
end

-- fd_count after a full garbage collection, so that descriptors of handles
-- and walks left to the collector by earlier specs do not close during a
-- measurement.
function H.fd_baseline()
  collectgarbage("collect")
  collectgarbage("collect")
  return H.fd_count()
end

-- Set a file's modification time with touch -d ("2 hours ago").
function H.touch_ago(path, when)
  assert(H.run("touch -h -d " .. H.q(when) .. " " .. H.q(path)), "touch failed")
end

function H.sleep(seconds)
  H.run("sleep " .. format("%.3f", seconds))
end

---------------------------------------------------------------------------
-- Child processes
---------------------------------------------------------------------------

-- Command line prefix that runs spec/support/<script>.lua with the
-- interpreter under test (environment, LUA_PATH and LUA_CPATH inherited).
-- extra_preload: a shared object to preload into the child as well.
function H.script(name, extra_preload)
  local pre = PRELOAD
  if extra_preload then pre = (pre and pre ~= "") and (pre .. " " .. extra_preload) or extra_preload end
  local env = pre and ("LD_PRELOAD=" .. H.q(pre) .. " ") or ""
  return env .. H.q(H.LUA) .. " " .. H.q(H.SUPPORT_DIR .. "/" .. name .. ".lua")
end

function H.hex(s)
  return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

function H.unhex(h)
  return (h:gsub("%x%x", function(x) return char(tonumber(x, 16)) end))
end

-- Run spec/support/child.lua with the given arguments (already strings);
-- return its stdout split into lines and whether it exited with 0.
-- prefix: shell text put before the command (e.g. "umask 077; " or
-- environment assignments); extra_preload: see H.script.
function H.child(args, prefix, extra_preload)
  local parts = {}
  for i, a in ipairs(args) do parts[i] = H.q(a) end
  local cmd = (prefix or "") .. H.script("child", extra_preload) .. " " .. concat(parts, " ")
  local p = assert(io.popen(SHELL_PREFIX .. cmd .. " 2>&1; echo \"status=$?\"", "r"))
  local out = p:read("*a")
  p:close()
  local lines = {}
  for l in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local status = table.remove(lines)
  return lines, status == "status=0", out
end

---------------------------------------------------------------------------
-- Deterministic data
---------------------------------------------------------------------------

-- Park-Miller generator: products stay below 2^53 on every Lua.
function H.rng(seed)
  local x = (seed or 1) % 2147483646 + 1
  return function()
    x = (x * 16807) % 2147483647
    return x
  end
end

-- n pseudo-random bytes (incompressible).
function H.random_bytes(n, seed)
  local r = H.rng(seed or 12345)
  local parts, buf = {}, {}
  for i = 1, n do
    buf[#buf + 1] = floor(r() / 8) % 256
    if #buf == 4096 or i == n then
      parts[#parts + 1] = char(unpack(buf))
      buf = {}
    end
  end
  return concat(parts)
end

local WORDS = { "alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
  "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "november",
  "oscar", "papa", "quebec", "romeo", "sierra", "tango" }

-- n bytes of text made of a few words in a pseudo-random order: snappy
-- compresses it well, and its copies have no single period.
function H.text_bytes(n, seed)
  local r = H.rng(seed or 777)
  local parts, len = {}, 0
  while len < n do
    local w = WORDS[r() % #WORDS + 1] .. (r() % 7 == 0 and ".\n" or " ")
    parts[#parts + 1] = w
    len = len + #w
  end
  return sub(concat(parts), 1, n)
end

---------------------------------------------------------------------------
-- 32-bit operations on non-negative numbers < 2^32, for every Lua version
---------------------------------------------------------------------------

local TWO32 = 4294967296
local bxor, band, rshift, lshift

if _VERSION == "Lua 5.3" or _VERSION == "Lua 5.4" then
  local ops = assert(load([[
    return
      function(a, b) return a ~ b end,
      function(a, b) return a & b end,
      function(a, n) return a >> n end,
      function(a, n) return (a << n) & 0xffffffff end
  ]]))
  bxor, band, rshift, lshift = ops()
elseif type(bit32) == "table" then -- Lua 5.2
  bxor, band, rshift, lshift = bit32.bxor, bit32.band, bit32.rshift, bit32.lshift
elseif type(jit) == "table" and pcall(require, "bit") then -- LuaJIT: signed results
  local bit = require("bit")
  local function u(x) if x < 0 then x = x + TWO32 end return x end
  bxor = function(a, b) return u(bit.bxor(a, b)) end
  band = function(a, b) return u(bit.band(a, b)) end
  rshift = function(a, n) return u(bit.rshift(a, n)) end
  lshift = function(a, n) return u(bit.lshift(a, n)) end
else -- Lua 5.1: arithmetic with a byte xor table
  local X8 = {}
  for a = 0, 255 do
    local row = {}
    for b = 0, 255 do
      local r, p, x, y = 0, 1, a, b
      for _ = 1, 8 do
        if x % 2 ~= y % 2 then r = r + p end
        x, y, p = floor(x / 2), floor(y / 2), p * 2
      end
      row[b] = r
    end
    X8[a] = row
  end
  bxor = function(a, b)
    local r, p = 0, 1
    for _ = 1, 4 do
      r = r + X8[a % 256][b % 256] * p
      a, b, p = floor(a / 256), floor(b / 256), p * 256
    end
    return r
  end
  band = function(a, b)
    local r, p = 0, 1
    for _ = 1, 32 do
      if a % 2 == 1 and b % 2 == 1 then r = r + p end
      a, b, p = floor(a / 2), floor(b / 2), p * 2
    end
    return r
  end
  rshift = function(a, n) return floor(a / 2 ^ n) end
  lshift = function(a, n) return (a * 2 ^ n) % TWO32 end
end
H.bxor, H.band, H.rshift, H.lshift = bxor, band, rshift, lshift

---------------------------------------------------------------------------
-- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78
---------------------------------------------------------------------------

local CRC_T = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c % 2 == 1 then c = bxor(rshift(c, 1), 0x82F63B78) else c = rshift(c, 1) end
  end
  CRC_T[i] = c
end

local crc32c
if _VERSION == "Lua 5.3" or _VERSION == "Lua 5.4" then
  crc32c = assert(load([[
    local T, byte = ...
    return function(s)
      local c = 0xffffffff
      for i = 1, #s do
        c = T[(c ~ byte(s, i)) & 0xff] ~ (c >> 8)
      end
      return c ~ 0xffffffff
    end
  ]]))(CRC_T, byte)
else
  crc32c = function(s)
    local c = 0xffffffff
    for i = 1, #s do
      c = bxor(CRC_T[bxor(c % 256, byte(s, i))], floor(c / 256))
    end
    return bxor(c, 0xffffffff)
  end
end
H.crc32c = crc32c

-- The framing format's masked CRC: rotate right by 15, add 0xa282ead8.
function H.mask_crc(c)
  local rot = floor(c / 32768) + (c % 32768) * 131072
  return (rot + 0xa282ead8) % TWO32
end

function H.masked_crc32c(s)
  return H.mask_crc(crc32c(s))
end

---------------------------------------------------------------------------
-- Little-endian integers and the snappy framing format
---------------------------------------------------------------------------

function H.le(n, width)
  local t = {}
  for i = 1, width do
    t[i] = char(n % 256)
    n = floor(n / 256)
  end
  return concat(t)
end

function H.read_le(s, pos, width)
  local n, p = 0, 1
  for i = 0, width - 1 do
    n = n + byte(s, pos + i) * p
    p = p * 256
  end
  return n
end

H.STREAM_ID = "\255\6\0\0sNaPpY"

-- A chunk of the given type with the given payload (length from payload).
function H.chunk(ctype, payload)
  return char(ctype) .. H.le(#payload, 3) .. payload
end

-- okofdb's value header chunk.
function H.value_header(len, version, flags, magic)
  return H.chunk(0x80, (magic or "okof") .. char(version or 1) .. char(flags or 0) .. H.le(len, 8))
end

-- An uncompressed data chunk (type 0x01) holding data.
function H.raw_chunk(data, crc)
  return H.chunk(0x01, H.le(crc or H.masked_crc32c(data), 4) .. data)
end

-- A compressed data chunk (type 0x00): block is a snappy raw block whose
-- uncompressed content is data (used for the checksum).
function H.snappy_chunk(block, data, crc)
  return H.chunk(0x00, H.le(crc or H.masked_crc32c(data), 4) .. block)
end

function H.padding(n)
  return H.chunk(0xfe, string.rep("\0", n))
end

-- A whole okofdb value file (what okofdb writes) from a list of chunks.
function H.okof_file(len, ...)
  return "\1" .. H.STREAM_ID .. H.value_header(len) .. concat({ ... })
end

-- A file as the Rust crate writes it: no value header.
function H.rust_file(...)
  return "\1" .. H.STREAM_ID .. concat({ ... })
end

-- The exact file okofdb writes for the empty value.
H.EMPTY_FILE = "\1\255\6\0\0sNaPpY\128\14\0\0okof\1\0\0\0\0\0\0\0\0\0"

-- Snappy raw block pieces.
function H.varint(n)
  local t = {}
  repeat
    local b = n % 128
    n = floor(n / 128)
    if n > 0 then b = b + 128 end
    t[#t + 1] = char(b)
  until n == 0
  return concat(t)
end

function H.literal(s)
  local n = #s - 1
  if n < 60 then return char(n * 4) .. s end
  if n < 256 then return char(60 * 4) .. char(n) .. s end
  if n < 65536 then return char(61 * 4) .. H.le(n, 2) .. s end
  return char(62 * 4) .. H.le(n, 3) .. s
end

-- Copy with a 1-byte offset: len 4..11, offset < 2048.
function H.copy1(len, offset)
  assert(len >= 4 and len <= 11 and offset < 2048)
  return char((len - 4) * 4 + 1 + floor(offset / 256) * 32) .. char(offset % 256)
end

-- Copy with a 2-byte offset: len 1..64.
function H.copy2(len, offset)
  assert(len >= 1 and len <= 64 and offset < 65536)
  return char((len - 1) * 4 + 2) .. H.le(offset, 2)
end

-- Copy with a 4-byte offset: len 1..64.
function H.copy4(len, offset)
  return char((len - 1) * 4 + 3) .. H.le(offset, 4)
end

function H.block(ulen, ...)
  return H.varint(ulen) .. concat({ ... })
end

-- Decompress a snappy raw block; nil, reason on any error.
function H.snappy_decompress(b, max)
  local pos, n, shift = 1, 0, 1
  for i = 1, 5 do
    local c = byte(b, pos)
    if not c then return nil, "truncated varint" end
    pos = pos + 1
    n = n + (c % 128) * shift
    shift = shift * 128
    if c < 128 then break end
    if i == 5 then return nil, "varint too long" end
  end
  if max and n > max then return nil, "block too large" end
  local out, olen = {}, 0
  local blen = #b
  while pos <= blen do
    local tag = byte(b, pos)
    pos = pos + 1
    local kind = tag % 4
    if kind == 0 then
      local l = floor(tag / 4)
      local len
      if l < 60 then
        len = l + 1
      else
        local w = l - 59
        if pos + w - 1 > blen then return nil, "truncated literal length" end
        len = H.read_le(b, pos, w) + 1
        pos = pos + w
      end
      if pos + len - 1 > blen then return nil, "truncated literal" end
      if olen + len > n then return nil, "output overrun" end
      for i = 0, len - 1 do
        out[olen + 1 + i] = byte(b, pos + i)
      end
      olen = olen + len
      pos = pos + len
    else
      local len, off
      if kind == 1 then
        if pos > blen then return nil, "truncated copy" end
        len = floor(tag / 4) % 8 + 4
        off = floor(tag / 32) * 256 + byte(b, pos)
        pos = pos + 1
      elseif kind == 2 then
        if pos + 1 > blen then return nil, "truncated copy" end
        len = floor(tag / 4) + 1
        off = H.read_le(b, pos, 2)
        pos = pos + 2
      else
        if pos + 3 > blen then return nil, "truncated copy" end
        len = floor(tag / 4) + 1
        off = H.read_le(b, pos, 4)
        pos = pos + 4
      end
      if off == 0 or off > olen then return nil, "bad offset" end
      if olen + len > n then return nil, "output overrun" end
      for i = 1, len do
        out[olen + i] = out[olen + i - off]
      end
      olen = olen + len
    end
  end
  if olen ~= n then return nil, "length mismatch" end
  local parts = {}
  for i = 1, olen, 4096 do
    parts[#parts + 1] = char(unpack(out, i, math.min(i + 4095, olen)))
  end
  return concat(parts)
end

-- Split a 0x01 file into chunks: list of { type =, payload = , offset = }
-- (offset: 1-based position of the chunk's type byte). nil, reason when the
-- chunk structure is broken.
function H.parse_chunks(file)
  local chunks, pos = {}, 2
  while pos <= #file do
    if pos + 3 > #file then return nil, "truncated chunk header" end
    local t = byte(file, pos)
    local len = H.read_le(file, pos + 1, 3)
    if pos + 3 + len > #file then return nil, "truncated chunk" end
    chunks[#chunks + 1] = { type = t, payload = sub(file, pos + 4, pos + 3 + len), offset = pos }
    pos = pos + 4 + len
  end
  return chunks
end

-- Reference reader of value files, following SPEC.md "Value files".
-- Returns the value, or nil, reason when the file must be "CORRUPT". A raw
-- 0x00 file is a value only for a reader with legacy set, and never when
-- it is made only of zero bytes.
function H.decode(file, legacy)
  local b0 = byte(file, 1)
  if b0 == 0 then
    if not string.find(file, "[^%z]") then return nil, "only zero bytes" end
    if not legacy then return nil, "a raw 0x00 file, legacy not set" end
    return sub(file, 2)
  end
  if b0 ~= 1 then return nil, "unknown header byte" end
  local chunks, why = H.parse_chunks(file)
  if not chunks then return nil, why end
  local first = chunks[1]
  if not first or first.type ~= 0xff or first.payload ~= "sNaPpY" then
    return nil, "no stream identifier"
  end
  local want, data, ndata = nil, {}, 0
  for i = 2, #chunks do
    local c = chunks[i]
    local t, p = c.type, c.payload
    if t == 0xff then
      if p ~= "sNaPpY" then return nil, "bad stream identifier" end
    elseif t == 0x80 then
      if i ~= 2 then return nil, "value header out of place" end
      if #p ~= 14 or sub(p, 1, 4) ~= "okof" then return nil, "bad value header" end
      if byte(p, 5) ~= 1 then return nil, "unknown version" end
      if byte(p, 6) ~= 0 then return nil, "unknown flags" end
      want = H.read_le(p, 7, 8)
    elseif t == 0x00 or t == 0x01 then
      if #p < 4 then return nil, "short data chunk" end
      local crc = H.read_le(p, 1, 4)
      local d = sub(p, 5)
      if t == 0x00 then
        local err
        d, err = H.snappy_decompress(d, 65536)
        if not d then return nil, err end
      end
      if #d > 65536 then return nil, "chunk too large" end
      if H.masked_crc32c(d) ~= crc then return nil, "bad checksum" end
      data[#data + 1] = d
      ndata = ndata + 1
    elseif t >= 0x02 and t <= 0x7f then
      return nil, "reserved unskippable chunk"
    end
    -- 0x81..0xfe: skipped
  end
  local value = concat(data)
  if want then
    if #value ~= want then return nil, "length mismatch" end
  elseif ndata == 0 then
    return nil, "no data chunk"
  end
  return value
end

---------------------------------------------------------------------------
-- The key codec (SPEC.md "Keys and file names"), as a reference
---------------------------------------------------------------------------

-- Windows' device names, which a plain key may not be (alone or before a '.').
local DEVICES = { con = true, prn = true, aux = true, nul = true }
for d = 1, 9 do DEVICES["com" .. d] = true; DEVICES["lpt" .. d] = true end
H.DEVICES = DEVICES

function H.key_to_name(key)
  local out = {}
  local reserved = DEVICES[key:match("^[^.]*")] or false
  for i = 1, #key do
    local c = sub(key, i, i)
    local plain = c:find("^[a-z0-9_%.%-]$") and not (i == 1 and c == ".")
    if plain and i == 1 and reserved then plain = false end
    if plain and i == #key and c == "." then plain = false end
    if plain then
      out[i] = c
    else
      out[i] = format("%%%02x", byte(c))
    end
  end
  return concat(out)
end

---------------------------------------------------------------------------
-- Small assertion helpers
---------------------------------------------------------------------------

-- Pack results with their count.
function H.pack(...)
  return { n = select("#", ...), ... }
end

-- Set of the keys an iterator factory yields: keys(db) or each(db).
function H.collect_keys(db, prefix)
  local t, n = {}, 0
  for k in db:keys(prefix) do
    assert(t[k] == nil, "key yielded twice: " .. H.hex(k))
    t[k] = true
    n = n + 1
  end
  return t, n
end

function H.collect_each(db, prefix)
  local t, n = {}, 0
  for k, v, err in db:each(prefix) do
    assert(t[k] == nil, "key yielded twice: " .. H.hex(k))
    t[k] = { value = v, err = err }
    n = n + 1
  end
  return t, n
end

-- Sorted list of a set's keys.
function H.sorted(set)
  local t = {}
  for k in pairs(set) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- Error message of a call that must raise (nil if it did not).
function H.error_of(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return nil end
  return tostring(err)
end

function H.contains(haystack, needle)
  return type(haystack) == "string" and haystack:find(needle, 1, true) ~= nil
end

-- Open a store in a fresh temp dir: db, dir.
function H.open_tmp(opts)
  local okofdb = require("okofdb")
  local dir = H.tmpdir() .. "/store"
  local db, msg = okofdb.open(dir, opts)
  assert(db, msg)
  return db, dir
end

-- Values used by the crash and concurrency specs: complete values below and
-- above compress_min, compressible and not, one spanning two chunks.
function H.crash_values()
  return {
    "small value one",
    "small value two, a little longer than the first",
    H.text_bytes(5000, 1),
    H.text_bytes(6000, 2),
    H.random_bytes(3000, 3),
    H.random_bytes(70000, 4),
  }
end


---------------------------------------------------------------------------
-- Finalizers: arbitrary Lua code that the collector runs at any allocation
---------------------------------------------------------------------------

-- Run f at the end of the next garbage collection cycle.
function H.on_next_gc(f)
  if newproxy then -- 5.1, LuaJIT: only userdata have __gc
    local p = newproxy(true)
    getmetatable(p).__gc = f
  else
    setmetatable({}, { __gc = f })
  end
end
local on_next_gc = H.on_next_gc

-- The collector's default settings back.
function H.gc_defaults()
  if _VERSION == "Lua 5.4" then
    collectgarbage("incremental", 200, 100, 13)
  else
    collectgarbage("setpause", 200)
    collectgarbage("setstepmul", 200)
  end
  collectgarbage()
end

-- Settings under which a whole collection cycle, finalizers included, runs
-- at (almost) every allocation: every one on 5.1, 5.3 and 5.4, most on
-- LuaJIT (never inside a trace), some on 5.2 (found by counting).
function H.gc_every_allocation()
  if _VERSION == "Lua 5.4" then
    collectgarbage("incremental", 1, 1000, 40)
  else
    collectgarbage("setpause", 0)
    collectgarbage("setstepmul", _VERSION == "Lua 5.1" and 0 or 1000000)
  end
  collectgarbage() -- the next cycle starts at once
end

-- How many rounds a finalizer spec runs, as a share of the full count: the
-- collector runs almost without pause during them, which Lua 5.1 and
-- 5.2-5.3 take longer over than 5.4 and LuaJIT.
H.GC_ROUNDS = (_VERSION == "Lua 5.4" or jit) and 1
              or _VERSION == "Lua 5.1" and 0.1 or 0.25

-- Run fn(during) with f armed as a finalizer again and again and short
-- garbage collection cycles; f runs at most three times per call of
-- during(g), and only while g runs. during(g) returns what g returns and
-- raises what g raises. Returns how many times f ran in all.
function H.with_finalizer(f, fn)
  local armed, inside, fired, total = true, false, 0, 0
  local function arm()
    on_next_gc(function()
      if not armed then return end
      if inside and fired < 3 then
        fired, total = fired + 1, total + 1
        f()
      end
      arm()
    end)
  end
  local function during(g)
    inside, fired = true, 0
    local r = { pcall(g) }
    inside = false
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2)
  end
  collectgarbage()
  -- (settings found to give many short cycles without stalling: 5.3
  -- never ends a cycle with a pause of 10 and a finalizer that re-arms)
  if _VERSION == "Lua 5.4" then
    collectgarbage("incremental", 50, 400, 10)
  elseif _VERSION == "Lua 5.2" then
    collectgarbage("setpause", 10)
    collectgarbage("setstepmul", 1000)
  else
    collectgarbage("setpause", 50)
    collectgarbage("setstepmul", 400)
  end
  arm()
  local ok, err = pcall(fn, during)
  armed = false
  H.gc_defaults()
  if not ok then error(err, 0) end
  return total
end


-- Sweep a finalizer over every allocation point of a call: call
-- t.setup(), then t.call() with t.final run by the collector at its
-- n-th allocation, and t.check(r, ran) with t.call's results packed in r
-- (r[1] is pcall's status) and whether t.final ran; for n = 1, 2, ...
-- until a call ends before its n-th allocation. Returns how many points
-- t.final ran at.
function H.finalizer_sweep(t)
  local target, count, inside, ran, armed = 0, 0, false, false, true
  local function arm()
    on_next_gc(function()
      if not armed then return end
      if inside then
        count = count + 1
        if count == target then
          ran = true
          t.final()
        end
      end
      arm()
    end)
  end
  local function round()
    target, count, ran = target + 1, 0, false
    t.setup()
    inside = true
    local r = H.pack(pcall(t.call))
    inside = false
    t.check(r, ran)
    return ran
  end
  H.gc_every_allocation()
  arm()
  local ok, err = pcall(function()
    while round() and target < 5000 do end
  end)
  armed = false
  H.gc_defaults()
  if not ok then error(err, 0) end
  return target - 1
end

-- Where the collector runs a whole cycle at every allocation, a sweep
-- that found no allocation point to run its finalizer at swept nothing.
-- (Lua 5.2's collector ran a finalizer at a few allocations in a hundred
-- under every setting tried: there a sweep may find none.)
function H.assert_swept(points)
  if _VERSION ~= "Lua 5.2" then
    assert(points > 0, "the finalizer never ran during a call")
  end
end


-- How many pairs a table holds.
function H.count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- Start the shell command cmd in the background, wait up to `tries` times
-- 5 ms for it to create the file `ready`, let it run `delay` seconds more,
-- kill it with SIGKILL and reap it; its stderr goes to errfile. Returns
-- "killed", or "dead" when it had ended by itself.
function H.run_and_kill(cmd, ready, errfile, delay, tries)
  local sh = table.concat({
    "rm -f " .. H.q(ready) .. ";",
    cmd,
    ">/dev/null 2>" .. H.q(errfile) .. " & pid=$!;",
    "n=0; while [ ! -e " .. H.q(ready) .. " ] && [ $n -lt " .. tries .. " ]; do",
    "kill -0 $pid 2>/dev/null || break; sleep 0.005; n=$((n+1)); done;",
    "sleep " .. string.format("%.3f", delay) .. ";",
    "if kill -9 $pid 2>/dev/null; then echo killed; else echo dead; fi;",
    "wait $pid 2>/dev/null; true",
  }, " ")
  return (H.sh(sh):match("%a+"))
end

return H
