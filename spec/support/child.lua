-- spec/support/child.lua -- a second process for the okofdb specs.
--
--   child.lua DIR OP ARGS...
--
-- Keys and values travel in hex. Prints one line per result:
--   "true", "false", "nil", "value <hex>", "err <code> <msg>", "key <hex>".
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../?.lua;" .. package.path
local H = require("helpers")
local okofdb = require("okofdb")

-- Options from the environment: OKOF_CHILD_SYNC ("full" | "none"),
-- OKOF_CHILD_LEGACY ("1": legacy = true).
local dir, op = arg[1], arg[2]
local db, msg, code = okofdb.open(dir, { sync = os.getenv("OKOF_CHILD_SYNC"),
                                         legacy = os.getenv("OKOF_CHILD_LEGACY") == "1" })
if not db then
  print("err " .. tostring(code) .. " " .. tostring(msg))
  os.exit(3)
end

local function report(a, b, c)
  if a == true then print("true")
  elseif a == false then print("false")
  elseif type(a) == "string" then print("value " .. H.hex(a))
  elseif a == nil and b == nil then print("nil")
  else print("err " .. tostring(c) .. " " .. tostring(b)) end
end

if op == "noop" then -- open and close only
  print("true")
elseif op == "put" then
  report(db:put(H.unhex(arg[3]), H.unhex(arg[4])))
elseif op == "putrandom" then -- KEYHEX N SEED
  report(db:put(H.unhex(arg[3]), H.random_bytes(tonumber(arg[4]), tonumber(arg[5]))))
elseif op == "puttext" then -- KEYHEX N SEED
  report(db:put(H.unhex(arg[3]), H.text_bytes(tonumber(arg[4]), tonumber(arg[5]))))
elseif op == "getcheck" then -- KEYHEX KIND N SEED: compare with H.<KIND>_bytes
  local want = H[arg[4] .. "_bytes"](tonumber(arg[5]), tonumber(arg[6]))
  local v, m, c = db:get(H.unhex(arg[3]))
  if v == want then print("match")
  elseif v ~= nil then print("mismatch " .. #v)
  else report(v, m, c) end
elseif op == "get" then
  report(db:get(H.unhex(arg[3])))
elseif op == "del" then
  report(db:del(H.unhex(arg[3])))
elseif op == "keys" then
  for k in db:keys() do print("key " .. H.hex(k)) end
elseif op == "hammer" then -- KEYHEX COUNT SEED: put crash_values in turn
  local key, count, seed = H.unhex(arg[3]), tonumber(arg[4]), tonumber(arg[5])
  local vals = H.crash_values()
  for i = 1, count do
    local ok, m, c = db:put(key, vals[(i + seed) % #vals + 1])
    if not ok then
      print("err " .. tostring(c) .. " " .. tostring(m))
      os.exit(1)
    end
  end
  print("true")
else
  io.stderr:write("child.lua: unknown op " .. tostring(op) .. "\n")
  os.exit(2)
end
db:close()
os.exit(0)
