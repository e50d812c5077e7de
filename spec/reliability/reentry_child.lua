-- spec/reliability/reentry_child.lua -- a child of reentry_spec: a codec
-- that closes the handle in the middle of an operation.
--
--   reentry_child.lua BASEDIR SCENARIO
--
-- SCENARIO: put | add | put_many (the codec's encode closes the handle and
-- opens another store, which may reuse the freed memory and descriptor),
-- get | each (the codec's decode closes the handle).
-- Prints "raise <msg>" or "result <values...>", then "other <n>": how many
-- keys the other store holds, and "mine <n>" for the handle's own store.
local okofdb = require("okofdb")

local base, scenario = arg[1], arg[2]
local db, other
local armed = false
local codec = {
  encode = function(v)
    if armed then
      armed = false
      db:close()
      other = assert(okofdb.open(base .. "/other"))
    end
    return v
  end,
  decode = function(s)
    if armed then
      armed = false
      db:close()
    end
    return s
  end,
}
db = assert(okofdb.open(base .. "/mine", { codec = codec }))
assert(db:put("seed", "seed value") == true)
armed = true

local function pack(...) return { n = select("#", ...), ... } end
local r
if scenario == "put" then r = pack(pcall(db.put, db, "k", "the value"))
elseif scenario == "add" then r = pack(pcall(db.add, db, "k", "the value"))
elseif scenario == "put_many" then r = pack(pcall(db.put_many, db, { k = "the value" }))
elseif scenario == "get" then r = pack(pcall(db.get, db, "seed"))
elseif scenario == "each" then
  r = pack(pcall(function()
    local n = 0
    for _ in db:each() do n = n + 1 end
    return n
  end))
else
  error("unknown scenario " .. tostring(scenario))
end
if not r[1] then
  print("raise " .. tostring(r[2]):gsub("\n", " "))
else
  local t = {}
  for i = 2, r.n do t[#t + 1] = tostring(r[i]) end
  print("result " .. table.concat(t, " "))
end
local function count(dir)
  local d = okofdb.open(dir, { create = false })
  if not d then return 0 end
  local n = 0
  for _ in d:keys() do n = n + 1 end
  d:close()
  return n
end
print("other " .. count(base .. "/other"))
print("mine " .. count(base .. "/mine"))
-- Closing the state runs the finalizers of what a scenario leaves open (the
-- other store, a walk cut short): LeakSanitizer cannot see LuaJIT's heap,
-- so a handle only that heap refers to counts as leaked at exit.
os.exit(0, true)
