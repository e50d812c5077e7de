-- spec/support/gc.lua -- finalizers that run arbitrary Lua code at any allocation.
--
-- A part of the specs' helper table H: spec/helpers.lua calls this
-- module's function with H, which adds its functions to H (they call
-- each other, and those of the other parts, as H.name). Plain Lua for
-- Lua 5.1-5.4 and LuaJIT, with no dependency on busted.
local unpack = table.unpack or unpack

return function(H)
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
end
