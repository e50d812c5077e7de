-- spec/support/memchild.lua -- read one key of a store in a process of its
-- own and report what it cost in memory (spec/corruption_spec.lua).
--
--   memchild.lua DIR get KEY      db:get(KEY)
--   memchild.lua DIR each         db:each(), every key
--   memchild.lua DIR cli ARGS...  bin/okofdb ARGS... in this process
--   memchild.lua DIR noop         open and close only (the baseline)
--
-- Prints one line per result, "result <code or value length>", then
-- "hwm <kB>": the peak resident set (VmHWM of /proc/self/status; "hwm -"
-- where there is none). The cli op reports the tool's exit status as
-- "result status=<n>".
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
local dir, op = arg[1], arg[2]

local function hwm()
  local f = io.open("/proc/self/status", "r")
  local s = f and f:read("*a") or ""
  if f then f:close() end
  return s:match("VmHWM:%s*(%d+)") or "-"
end

local function result(v, _, code)
  if type(v) == "string" then
    print("result value " .. #v)
  else
    print("result " .. tostring(code))
  end
end

if op == "cli" then
  local exit = os.exit
  os.exit = function(status) -- luacheck: ignore (the tool ends with it)
    io.stdout:flush()
    io.stderr:write("result status=" .. tostring(status) .. "\nhwm " .. hwm() .. "\n")
    exit(0)
  end
  local argv = { dir }
  for i = 3, #arg do argv[#argv + 1] = arg[i] end
  local tool = assert(loadfile(here .. "/../../bin/okofdb"))
  tool((unpack or table.unpack)(argv))
  return
end

local okofdb = require("okofdb")
local db = assert(okofdb.open(dir, { create = false }))
if op == "get" then
  result(db:get(arg[3]))
elseif op == "each" then
  for _, v, msg, code in db:each() do result(v, msg, code or "CORRUPT") end
elseif op ~= "noop" then
  io.stderr:write("memchild.lua: unknown op " .. tostring(op) .. "\n")
  os.exit(2)
end
db:close()
print("hwm " .. hwm())
