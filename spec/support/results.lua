-- spec/support/results.lua -- collecting and checking results.
--
-- A part of the specs' helper table H: spec/helpers.lua calls this
-- module's function with H, which adds its functions to H (they call
-- each other, and those of the other parts, as H.name). Plain Lua for
-- Lua 5.1-5.4 and LuaJIT, with no dependency on busted.

return function(H)
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

  -- How many pairs a table holds.
  function H.count(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n
  end
end
