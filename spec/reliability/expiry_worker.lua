-- spec/reliability/expiry_worker.lua -- a process of expiry_spec.lua.
--
--   expiry_worker.lua ROLE ID DIR STOPFILE OUTFILE NKEYS [ARG]
--
-- Keys are "k1" .. "kNKEYS". Every role runs until STOPFILE exists (or
-- OKOF_EXPIRY_LIMIT seconds, in case the parent died), then writes one
-- line to OUTFILE: "done name=count ...", or "fail <what>" at the first
-- failure (exit status 1).
--
-- putter (key kID): again and again, renames a copy of the value file ARG
--   (made by the parent: value "dead:...", expiry long past) over its key, then puts
--   "live:ID:N" (every other time with a ttl of 1000 s) and reads it back.
--   Nobody else writes a live value to that key, so the read must give
--   that value. A single nil is the window docs/ttl.md names (a removal
--   of the dead value moved the new one aside for a moment): counted,
--   then an add of another key takes the store's lock, which closes any
--   window, and the read must give the value.
-- adder: adds "add:ID:N" to every key in turn, ttl ARG seconds (50 ms if
--   not given); counts the wins.
-- sweeper: sweeps again and again; counts the files removed.
-- reader: gets every key and walks each(); a "dead:" value is a failure.
-- racer: adds "lock" = "ID:N" with a ttl of ARG seconds again and again;
--   counts wins, and on a win reads the file back: while it is still its
--   own, writes its expiry (ms since the epoch) to OUTFILE.expiries.
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../?.lua;" .. package.path
local H = require("helpers")
local okofdb = require("okofdb")

local role, id, dir, stopfile, outfile, nkeys, extra =
  arg[1], tonumber(arg[2]), arg[3], arg[4], arg[5], tonumber(arg[6]), arg[7]
local limit = os.time() + (tonumber(os.getenv("OKOF_EXPIRY_LIMIT") or "") or 300)

local finish, stopped = H.worker_end(outfile, stopfile, limit)
local pack = H.pack

local db, msg, code = okofdb.open(dir, { sync = "none" })
if not db then finish("fail open: " .. tostring(msg) .. " " .. tostring(code), 1) end

local keys = {}
for i = 1, nkeys do keys[i] = "k" .. i end

if role == "putter" then
  local key = "k" .. id
  local seed = dir .. "/.okof-tmp-seed-" .. id
  local tf = assert(io.open(extra, "rb")) -- the dead value file, made by the parent
  local dead = tf:read("*a")
  tf:close()
  local n, windows = 0, 0
  while not stopped() do
    n = n + 1
    local f = assert(io.open(seed, "wb"))
    f:write(dead)
    f:close()
    assert(os.rename(seed, dir .. "/" .. key))
    local want = "live:" .. id .. ":" .. n
    local r = pack(db:put(key, want, n % 2 == 0 and 1000 or nil))
    if r[1] ~= true then finish("fail put " .. want .. ": " .. tostring(r[2]), 1) end
    r = pack(db:get(key))
    if r.n == 1 and r[1] == nil then
      windows = windows + 1
      db:add("barrier", "x") -- waits for the store's lock: no window is open after it
      r = pack(db:get(key))
    end
    if r[1] ~= want then
      finish(string.format("fail lost put %s: read %s %s %s", want, tostring(r[1]),
        tostring(r[2]), tostring(r[3])), 1)
    end
  end
  finish(string.format("done puts=%d windows=%d", n, windows), 0)
elseif role == "adder" then
  local ttl = tonumber(extra) or 0.05
  local n, wins = 0, 0
  while not stopped() do
    for _, k in ipairs(keys) do
      n = n + 1
      local r = pack(db:add(k, "add:" .. id .. ":" .. n, ttl))
      if r[1] == nil then finish("fail add: " .. tostring(r[2]), 1) end
      if r[1] then wins = wins + 1 end
    end
  end
  finish(string.format("done adds=%d wins=%d", n, wins), 0)
elseif role == "sweeper" then
  local n, removed = 0, 0
  while not stopped() do
    n = n + 1
    local c, m = db:sweep()
    if not c then finish("fail sweep: " .. tostring(m), 1) end
    removed = removed + c
  end
  finish(string.format("done sweeps=%d removed=%d", n, removed), 0)
elseif role == "reader" then
  local reads, walks = 0, 0
  local function check(k, v, m)
    if v == nil and m then finish("fail read " .. k .. ": " .. tostring(m), 1) end
    if type(v) == "string" and v:sub(1, 5) == "dead:" then
      finish("fail read an expired value of " .. k .. ": " .. v, 1)
    end
    reads = reads + 1
  end
  while not stopped() do
    for _, k in ipairs(keys) do
      local v, m = db:get(k)
      check(k, v, m)
    end
    walks = walks + 1
    for k, v, m in db:each() do check(k, v, m) end
  end
  finish(string.format("done reads=%d walks=%d", reads, walks), 0)
elseif role == "racer" then
  local ttl = tonumber(extra) or 0.08
  local n, wins, own = 0, 0, 0
  local log = assert(io.open(outfile .. ".expiries", "wb"))
  while not stopped() do
    n = n + 1
    local mine = id .. ":" .. n
    local r = pack(db:add("lock", mine, ttl))
    if r[1] == nil then finish("fail add: " .. tostring(r[2]), 1) end
    if r[1] then
      wins = wins + 1
      -- the expiry of our value, while the file is still ours
      local f = io.open(dir .. "/lock", "rb")
      local bytes = f and f:read("*a") or ""
      if f then f:close() end
      if bytes:sub(-#mine) == mine and #bytes >= 37 then
        own = own + 1
        local e, p = 0, 1
        for i = 30, 37 do
          e = e + bytes:byte(i) * p
          p = p * 256
        end
        log:write(string.format("%.0f\n", e))
      end
    end
  end
  log:close()
  finish(string.format("done adds=%d wins=%d own=%d", n, wins, own), 0)
elseif role == "contender" then
  -- the lock test: add until this process or another holds the lock
  local tries = 0
  while not stopped() do
    tries = tries + 1
    local r = pack(db:add("lock", "contender:" .. id, 60))
    if r[1] == nil then finish("fail add: " .. tostring(r[2]), 1) end
    if r[1] then finish(string.format("done won tries=%d at=%d", tries, os.time()), 0) end
    local v = db:get("lock")
    if v and v:sub(1, 10) == "contender:" then
      finish(string.format("done lost to=%s tries=%d", v, tries), 0)
    end
  end
  finish("fail stopped before the lock was taken", 1)
else
  finish("fail unknown role " .. tostring(role), 1)
end
