-- spec/support/etcd_child.lua -- a client process of the etcd specs.
--
--   etcd_child.lua URL race FIFO ID KEYHEX...
--       open the store, print "ready", open FIFO for reading (which blocks
--       until the spec opens it for writing: every child starts at once),
--       then add each key with the value "child ID" and print per key
--       "won KEYHEX", "lost KEYHEX" or "err KEYHEX CODE MSG"; "end" last.
--       With OKOF_CHILD_TTL (seconds) each add takes that ttl.
--   etcd_child.lua URL hold KEY VALUE TTL
--       add KEY with VALUE and ttl TTL, print "won", "lost" or "err CODE",
--       then sleep until killed (a lock holder that dies).
--   etcd_child.lua URL writer PREFIX STOPFILE
--       put PREFIX..I for I = 1, 2, ... with EC.writer_value(PREFIX, I) until
--       STOPFILE exists; per put "ok I" (it returned true) or
--       "fail I CODE" (stdout is flushed after every line); "done" at the
--       end.
--
-- Options of the open from the environment: OKOF_ETCD_TIMEOUT (seconds).
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../?.lua;" .. package.path
local H = require("helpers")
local EC = require("support.etcd_cluster")
local okofdb = require("okofdb")

local url, op = arg[1], arg[2]
local db, msg, code = okofdb.open(url, { timeout = tonumber(os.getenv("OKOF_ETCD_TIMEOUT") or "") })
if not db then
  print("openerr " .. tostring(code) .. " " .. tostring(msg))
  os.exit(3)
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function out(line)
  io.stdout:write(line, "\n")
  io.stdout:flush()
end

if op == "race" then
  local fifo, id = arg[3], arg[4]
  out("ready")
  local f = assert(io.open(fifo, "rb"))
  f:close()
  for i = 5, #arg do
    local ok, m, c = db:add(H.unhex(arg[i]), "child " .. id, tonumber(os.getenv("OKOF_CHILD_TTL") or ""))
    if ok == true then out("won " .. arg[i])
    elseif ok == false then out("lost " .. arg[i])
    else out("err " .. arg[i] .. " " .. tostring(c) .. " " .. tostring(m)) end
  end
  out("end")
elseif op == "hold" then
  local ok, _, c = db:add(arg[3], arg[4], tonumber(arg[5]))
  out(ok == true and "won" or ok == false and "lost" or ("err " .. tostring(c)))
  while true do H.sleep(1) end
elseif op == "writer" then
  local prefix, stop = arg[3], arg[4]
  local i = 0
  while not exists(stop) do
    i = i + 1
    local ok, _, c = db:put(prefix .. i, EC.writer_value(prefix, i))
    if ok == true then out("ok " .. i) else out("fail " .. i .. " " .. tostring(c)) end
  end
  out("done")
else
  io.stderr:write("etcd_child.lua: unknown op " .. tostring(op) .. "\n")
  os.exit(2)
end
db:close()
os.exit(0)
