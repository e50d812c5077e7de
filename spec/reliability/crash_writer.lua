-- spec/reliability/crash_writer.lua -- the writer crash_rounds_spec kills.
--
--   crash_writer.lua DIR ROUND POOLFILE FLIPHEX KEYHEX...
--
-- Opens DIR with sync = "none", prints "ready" on stdout, then writes
-- forever: each KEY in turn gets the next self-describing value of
-- round ROUND (reliability/values.lua), cycling through every size class;
-- the key FLIPHEX is deleted and put again in turn. Any failure ends the
-- process with status 1 and a message on stderr (the spec then sees a
-- writer that was not killed).
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../?.lua;" .. package.path
local V = require("reliability.values")
local okofdb = require("okofdb")

local dir, round, poolfile, fliphex = arg[1], tonumber(arg[2]), arg[3], arg[4]
local keys = {}
for i = 5, #arg do keys[#keys + 1] = V.unhex(arg[i]) end
local flip = V.unhex(fliphex)
local pool = V.pool(poolfile)

local function fail(what, msg, code)
  io.stderr:write("crash_writer: ", what, " failed: ", tostring(msg), " (", tostring(code), ")\n")
  os.exit(1)
end

local db, msg, code = okofdb.open(dir, { sync = "none" })
if not db then fail("open", msg, code) end
io.stdout:write("ready\n")
io.stdout:flush()

local nclass = #V.CLASSES
local seq = 0
while true do
  for i = 1, #keys do
    seq = seq + 1
    local ok, m, c = db:put(keys[i], V.make(pool, keys[i], round, seq, (seq + i) % nclass + 1))
    if not ok then fail("put", m, c) end
  end
  seq = seq + 1
  if seq % 2 == 0 then
    local ok, m, c = db:put(flip, V.make(pool, flip, round, seq, seq % nclass + 1))
    if not ok then fail("put", m, c) end
  else
    local ok, m, c = db:del(flip)
    if ok == nil then fail("del", m, c) end
  end
end
