-- spec/powercut/run_workload.lua -- run one workload under the recorder.
--
--   OKOF_PC_ROOT=ROOT OKOF_PC_LOG=LOG LD_PRELOAD=.../recorder.so \
--     lua run_workload.lua NAME SYNC ROOT LOG
--
-- Runs the steps of workloads.lua's NAME on a store under ROOT, opened
-- with sync = SYNC (or as an "open" step says; SYNC "mixed" is "full"
-- until then), and appends to LOG, around step j, the lines
--   M B j           before the call
--   M E j result    after it returned (result: true, false, a number or nil)
-- between the recorder's lines, so the explorer knows which calls had
-- returned at each point of the recording. Any error is fatal (exit 1).
local name, sync, root, logpath = arg[1], arg[2], arg[3], arg[4]
assert(name and sync and root and logpath, "usage: run_workload.lua NAME SYNC ROOT LOG")

if sync == "mixed" then sync = "full" end
local okofdb = require("okofdb")
local WL = require("powercut.workloads")
local steps = assert(WL.W[name], "no workload " .. name)

local log = assert(io.open(logpath, "ab"))
log:setvbuf("no")

local function mark(s)
  assert(log:write("M ", s, "\n"))
end

local db
local function open(dir, s)
  if db then db:close() end
  sync = s or sync
  local path = dir == "." and root or root .. "/" .. dir
  db = assert(okofdb.open(path, { sync = sync, create = true }))
  return true
end

-- Wait s seconds (a child process: plain Lua has no sleep).
local function sleep(s)
  local r = os.execute(string.format("sleep %.3f", s))
  assert(r == true or r == 0, "run_workload: sleep failed")
  return true
end

if steps[1][1] ~= "open" then open(".") end

for j, step in ipairs(steps) do
  local op = step[1]
  mark("B " .. j)
  local ok, msg
  if op == "open" then
    ok = open(step[2], step.sync)
  elseif op == "put_many" then
    ok, msg = db:put_many(step[2], step.ttl)
  elseif op == "del" then
    ok, msg = db:del(step[2])
  elseif op == "sweep" then
    ok, msg = db:sweep()
  elseif op == "sleep" then
    ok = sleep(step[2])
  else
    ok, msg = db[op](db, step[2], step[3], step.ttl)
  end
  if ok == nil then
    io.stderr:write("run_workload: step ", j, " (", op, ") failed: ", tostring(msg), "\n")
    os.exit(1)
  end
  mark("E " .. j .. " " .. tostring(ok))
end
db:close()
log:close()
os.exit(0)
