-- spec/support/format.lua -- a reference of the value file format and of the key codec:
-- 32-bit operations, CRC-32C, the snappy framing format, a snappy
-- decompressor, a reference reader of value files, the key codec.
--
-- A part of the specs' helper table H: spec/helpers.lua calls this
-- module's function with H, which adds its functions to H (they call
-- each other, and those of the other parts, as H.name). Plain Lua for
-- Lua 5.1-5.4 and LuaJIT, with no dependency on busted.
local floor = math.floor
local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local concat = table.concat
local unpack = table.unpack or unpack

return function(H)
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

  -- Reference reader of value files, following docs/format.md "Value files".
  -- Returns the value, or nil, reason when the file must be "CORRUPT".
  -- A raw 0x00 file is a value only for a reader with legacy set, and
  -- never when it is made only of zero bytes.
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
  -- The key codec (docs/format.md "Keys and file names"), as a reference
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
end
