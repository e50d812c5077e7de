-- spec/reliability/values.lua -- self-describing values for the crash and
-- concurrency specs, and the pool of random bytes they are cut from.
--
-- A value starts with a header that names the key it was written to, the
-- writer (a writer id, or the round of a crash run), a sequence number, a
-- size class and the value's total length; the rest is determined by the
-- header. V.check rebuilds the value from its header and compares the whole
-- string, so a torn, cut, mixed or misplaced value is always detected.
--
-- The size classes lie below and above compress_min (2048): text that
-- snappy compresses well, and random bytes it cannot compress, up to values
-- of several 64 KiB chunks.
--
-- Plain Lua 5.1-5.4 and LuaJIT; no dependency but the pool.
local V = {}

local format, sub, rep, byte, char = string.format, string.sub, string.rep, string.byte, string.char

V.CLASSES = {
  { size = 90, kind = "text" },      -- tiny
  { size = 1500, kind = "text" },
  { size = 2047, kind = "text" },    -- one byte below compress_min
  { size = 2048, kind = "text" },    -- exactly compress_min: compressed
  { size = 2100, kind = "rand" },    -- above, incompressible: stored raw
  { size = 5000, kind = "text" },
  { size = 70000, kind = "rand" },   -- two chunks
  { size = 140000, kind = "text" },  -- three compressed chunks
}

V.POOL_SIZE = 262144

local function hex(s)
  return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

local function unhex(h)
  return (h:gsub("%x%x", function(x) return char(tonumber(x, 16)) end))
end

-- The pool: V.POOL_SIZE pseudo-random bytes. From the file named by path
-- when given and readable (fast for short-lived children), otherwise made
-- with helpers' generator (same bytes every time).
function V.pool(path)
  if path then
    local f = io.open(path, "rb")
    if f then
      local s = f:read("*a")
      f:close()
      if s and #s == V.POOL_SIZE then return s end
    end
  end
  local H = require("helpers")
  return H.random_bytes(V.POOL_SIZE, 4242)
end

-- The value written by `writer` as its `seq`-th write, of size class `class`,
-- to `key`.
function V.make(pool, key, writer, seq, class)
  local c = V.CLASSES[class]
  local head0 = format("<okv k=%s w=%d n=%d c=%d len=", hex(key), writer, seq, class)
  local total = c.size
  local min = #head0 + 9
  if total < min then total = min end
  local header = head0 .. format("%08d>", total)
  local n = total - #header
  local body
  if c.kind == "text" then
    local unit = header .. " is value " .. seq .. " of writer " .. writer .. ".\n"
    body = sub(rep(unit, math.floor(n / #unit) + 1), 1, n)
  else
    local span = #pool - n
    local off = (seq * 7919 + writer * 104729 + class * 31) % span + 1
    body = sub(pool, off, off + n - 1)
  end
  return header .. body
end

-- Check a value: returns { key =, writer =, seq =, class = } when it is
-- exactly a value V.make produces, else nil and the reason.
function V.check(pool, value)
  if type(value) ~= "string" then return nil, "not a string: " .. type(value) end
  local k, w, n, c, len = value:match("^<okv k=(%x*) w=(%d+) n=(%d+) c=(%d+) len=(%d%d%d%d%d%d%d%d)>")
  if not k then
    return nil, format("no header (%d bytes, starts %q)", #value, sub(value, 1, 24))
  end
  len, w, n, c = tonumber(len), tonumber(w), tonumber(n), tonumber(c)
  if #value ~= len then
    return nil, format("length %d, header says %d", #value, len)
  end
  if not V.CLASSES[c] then return nil, "unknown class " .. c end
  local key = unhex(k)
  if V.make(pool, key, w, n, c) ~= value then
    return nil, format("body does not match its header (key %q, writer %d, seq %d, class %d)", key, w, n, c)
  end
  return { key = key, writer = w, seq = n, class = c }
end

-- A short description of a get result for messages.
function V.show(r)
  if r.n == 1 and type(r[1]) == "string" then
    return format("a value of %d bytes starting %q", #r[1], sub(r[1], 1, 40))
  end
  local t = {}
  for i = 1, r.n do t[i] = tostring(r[i]) end
  return r.n .. " results: " .. table.concat(t, ", ")
end

V.hex, V.unhex = hex, unhex

return V
