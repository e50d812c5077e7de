-- config.lua -- the configuration script run by examples/embed/main.c.
--
-- The host calls this chunk with two arguments: the store's directory and
-- a table of changes from its command line (name -> value; an empty value
-- resets the setting to its default). The script reads every setting from
-- the store, falling back to its default; writes back the changes that
-- differ from what is in effect; counts the run; lists the settings and
-- what the store holds; and returns the settings to the host as a table.

local dir, changes = ...
local okofdb = require("okofdb") -- linked into the host: no .so is loaded

local DEFAULTS = {
  theme = "light",
  font_size = "12",
  editor = "vi",
}
local PREFIX = "setting." -- the store's key of setting NAME is setting.NAME

-- okofdb's operational errors come back as nil, msg, code; raise them, and
-- the host prints the message and exits non-zero.
local function check(value, msg, code)
  if value == nil and msg ~= nil then
    error(string.format("%s [%s]", msg, code), 0)
  end
  return value
end

local names = {}
for name in pairs(DEFAULTS) do
  names[#names + 1] = name
end
table.sort(names)

for name in pairs(changes) do
  if DEFAULTS[name] == nil then
    error(string.format("unknown setting %q (known: %s)", name, table.concat(names, ", ")), 0)
  end
end

local db <close> = check(okofdb.open(dir))

local runs = tonumber(check(db:get("runs")) or "0") + 1
check(db:put("runs", string.format("%d", runs)))
print(string.format("run %d, store %s", runs, dir))

local settings, origin = {}, {}
for _, name in ipairs(names) do
  local key = PREFIX .. name
  local stored = check(db:get(key))
  local value = stored or DEFAULTS[name]
  local new = changes[name]
  if new == "" and stored ~= nil then
    check(db:del(key))
    print(string.format("reset %s: %s -> %s", name, value, DEFAULTS[name]))
    stored, value = nil, DEFAULTS[name]
  elseif new ~= nil and new ~= "" and new ~= value then
    check(db:put(key, new))
    print(string.format("changed %s: %s -> %s", name, value, new))
    stored, value = new, new
  end
  settings[name] = value
  origin[name] = stored ~= nil and "stored" or "default"
end

for _, name in ipairs(names) do
  print(string.format("  %-9s = %-6s (%s)", name, settings[name], origin[name]))
end

-- What the store holds, as a walk over its setting keys sees it.
local held = {}
for key, value, msg in db:each(PREFIX) do
  if value == nil then
    error(msg, 0) -- a file that cannot be read or verified
  end
  held[#held + 1] = key .. "=" .. value
end
table.sort(held)
print("stored: " .. (#held > 0 and table.concat(held, " ") or "(nothing)"))

return settings
