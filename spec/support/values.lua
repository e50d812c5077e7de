-- spec/support/values.lua -- deterministic test data.
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
end
