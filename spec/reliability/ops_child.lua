-- spec/reliability/ops_child.lua -- a child process running okofdb calls
-- for the strace and hostile specs. Self-contained (needs only okofdb on
-- LUA_PATH / LUA_CPATH), so that it can run from a copy as another user.
--
--   ops_child.lua DIR OP ARGS... [OP ARGS...]...
--
-- Opens DIR (options from the environment: OKOF_CHILD_SYNC = "full" |
-- "none", OKOF_CHILD_CREATE = "true" | "false"), then runs each OP in turn:
--   put KEYHEX VALHEX | get KEYHEX | del KEYHEX | each | keys | sweep AGE
-- printing one line per result on stdout:
--   "true", "false", "nil", "value <hex>", "count <n>",
--   "err <code> <msg>" (nil, msg, code), "raise <msg>" (a Lua error),
--   for each: "each <keyhex> value <hex>" or "each <keyhex> err <code> <msg>",
--   for keys: "key <keyhex>"; then "end" after the walk.
-- With OKOF_MARKS=1 every step is framed on stderr by unbuffered lines
-- "OKOF-MARK <op>-begin" and "OKOF-MARK <op>-end" (visible to strace as
-- write(2, ...)). A failed open prints "err ..." and exits with status 3.
local okofdb = require("okofdb")

local format = string.format
local MARKS = os.getenv("OKOF_MARKS") == "1"

local function hex(s)
  return (s:gsub(".", function(c) return format("%02x", c:byte()) end))
end

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function mark(what)
  if MARKS then
    io.stderr:write("OKOF-MARK " .. what .. "\n")
    io.stderr:flush()
  end
end

local function line(s)
  io.stdout:write(s, "\n")
  io.stdout:flush()
end

local function result(ok, a, b, c)
  if not ok then return line("raise " .. tostring(a):gsub("\n", " ")) end
  if a == true then line("true")
  elseif a == false then line("false")
  elseif type(a) == "string" then line("value " .. hex(a))
  elseif type(a) == "number" then line("count " .. format("%d", a))
  elseif a == nil and b == nil then line("nil")
  else line("err " .. tostring(c) .. " " .. tostring(b)) end
end

local opts = { sync = os.getenv("OKOF_CHILD_SYNC") or "full" }
if os.getenv("OKOF_CHILD_CREATE") == "false" then opts.create = false end

local dir = arg[1]
mark("open-begin")
local db, msg, code = okofdb.open(dir, opts)
mark("open-end")
if not db then
  line("err " .. tostring(code) .. " " .. tostring(msg))
  os.exit(3)
end

local i = 2
while arg[i] do
  local op = arg[i]
  mark(op .. "-begin")
  if op == "put" then
    result(pcall(db.put, db, unhex(arg[i + 1]), unhex(arg[i + 2])))
    i = i + 3
  elseif op == "get" then
    result(pcall(db.get, db, unhex(arg[i + 1])))
    i = i + 2
  elseif op == "del" then
    result(pcall(db.del, db, unhex(arg[i + 1])))
    i = i + 2
  elseif op == "sweep" then
    result(pcall(db.sweep, db, tonumber(arg[i + 1])))
    i = i + 2
  elseif op == "each" or op == "keys" then
    local ok, err = pcall(function()
      if op == "each" then
        for k, v, m, c in db:each() do
          if v ~= nil then line("each " .. hex(k) .. " value " .. hex(v))
          else line("each " .. hex(k) .. " err " .. tostring(c) .. " " .. tostring(m)) end
        end
      else
        for k in db:keys() do line("key " .. hex(k)) end
      end
    end)
    if not ok then line("raise " .. tostring(err):gsub("\n", " ")) end
    line("end")
    i = i + 1
  else
    io.stderr:write("ops_child.lua: unknown op " .. tostring(op) .. "\n")
    os.exit(2)
  end
  mark(op .. "-end")
end
db:close()
os.exit(0)
