-- demo.lua -- okofdb as a program's settings store.
--
--   lua5.4 examples/demo.lua [DIRECTORY]
--
-- Keeps a few settings in $XDG_CONFIG_HOME/okofdb-demo (or
-- ~/.config/okofdb-demo, or DIRECTORY): a theme and a font size that are
-- written once, a counter of runs and the time of the last run that change
-- every run, and a short history of runs. Run it twice to see the counter
-- move; look at the directory with `ls` to see one file per key.

local okofdb = require("okofdb")

local PROGRAM = "demo"
local HISTORY_KEEP = 5

-- Operational errors come back as nil, msg, code: report and stop.
local function fail(msg, code)
  io.stderr:write(PROGRAM, ": ", msg, code and (" [" .. code .. "]") or "", "\n")
  os.exit(1, true)
end

-- Pass a result through, failing on nil, msg, code. A lone nil (get of a
-- key without a value) is not an error.
local function check(value, msg, code)
  if value == nil and msg ~= nil then
    fail(msg, code)
  end
  return value
end

local function default_dir()
  local base = os.getenv("XDG_CONFIG_HOME")
  if base == nil or base == "" then
    local home = os.getenv("HOME")
    if home == nil or home == "" then
      fail("no config directory: set XDG_CONFIG_HOME or HOME, or give a directory")
    end
    base = home .. "/.config"
  end
  return base .. "/okofdb-demo"
end

local function sorted(t)
  table.sort(t)
  return t
end

-- Settings a user may have changed are written only when missing.
local function put_default(db, key, value)
  if check(db:get(key)) == nil then
    check(db:put(key, value))
  end
end

-- Keep the last HISTORY_KEEP "history.NNNNNN" keys; keys() reads no values.
local function trim_history(db)
  local keys = {}
  for key in db:keys("history.") do
    keys[#keys + 1] = key
  end
  sorted(keys) -- zero-padded numbers sort in run order
  local removed = 0
  for i = 1, #keys - HISTORY_KEEP do
    if check(db:del(keys[i])) then -- true: removed; false: already gone
      removed = removed + 1
    end
  end
  return removed
end

local function show(db)
  local rows, width, bad = {}, 0, 0
  for key, value, msg, code in db:each() do
    if value == nil then -- a file that cannot be read or verified
      io.stderr:write(PROGRAM, ": skipping ", key, ": ", msg, " [", code, "]\n")
      bad = bad + 1
    else
      rows[#rows + 1] = { key = key, value = value }
      width = math.max(width, #key)
    end
  end
  table.sort(rows, function(a, b) return a.key < b.key end)
  print(("%d keys:"):format(#rows))
  for _, row in ipairs(rows) do
    print(("  %-" .. width .. "s  %s"):format(row.key, row.value))
  end
  return bad
end

local function main(dir)
  print(okofdb._VERSION)

  -- The directory (and ~/.config) is created when missing; every write is
  -- durable before put returns (sync = "full" is the default).
  local db <close>, msg, code = okofdb.open(dir, { create = true, sync = "full" })
  check(db, msg, code)
  print(tostring(db))

  put_default(db, "theme", "dark")
  put_default(db, "font.size", "14")

  local previous = check(db:get("last-run"))
  local runs = math.tointeger(tonumber(check(db:get("runs")) or "0")) or 0
  runs = runs + 1
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")

  check(db:put("runs", tostring(runs)))
  check(db:put("last-run", now))
  check(db:put(("history.%06d"):format(runs), now))
  local trimmed = trim_history(db)

  print(("run #%d at %s%s"):format(runs, now,
    previous and (", previous run at " .. previous) or ", the first one"))

  -- Read back what this run wrote: the values come from the files.
  assert(check(db:get("runs")) == tostring(runs))
  assert(check(db:get("last-run")) == now)
  local size = tonumber(check(db:get("font.size")))
  print(("theme %s, font size %s"):format(check(db:get("theme")), size))

  -- Keys are any bytes; file names stay safe ("Window Title" is stored
  -- as %57indow%20%54itle) and keys come back exactly as given.
  check(db:put("Window Title", "okofdb demo"))

  -- del says whether there was a value.
  check(db:put("scratch", "temporary"))
  local removed = check(db:del("scratch"))
  local again = check(db:del("scratch"))
  print(("del scratch: %s, then %s"):format(removed, again))

  -- Temporary files of writers that crashed, older than an hour.
  local swept = check(db:sweep())
  if swept > 0 or trimmed > 0 then
    print(("cleaned up %d old history keys, %d temporary files"):format(trimmed, swept))
  end

  local bad = show(db)
  db:close() -- also done by <close> at the end of the scope
  print(tostring(db))
  return bad == 0
end

local dir = arg and arg[1] or default_dir()
if not main(dir) then
  fail("some keys could not be read")
end
