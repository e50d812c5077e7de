-- spec/reliability/rlog.lua -- the reliability log: "RELIABILITY name=value"
-- lines appended to the file named by OKOF_RELIABILITY_LOG (nothing happens
-- when it is unset). tools/reliability_report.lua turns the log into
-- RELIABILITY.md.
--
--   local RL = require("reliability.rlog")
--   RL.set("crash.kills", 500)      --> RELIABILITY crash.kills=500  (last one wins)
--   RL.add("corruption.mutations", 1) --> RELIABILITY corruption.mutations+=1 (summed)
--
-- Names are dotted words ("<test>.<measure>"); values are numbers or short
-- strings without a newline. Plain Lua, any version from 5.1 on.
local RL = {}

local function path()
  local p = os.getenv("OKOF_RELIABILITY_LOG")
  if p == nil or p == "" then return nil end
  return p
end

local function clean(v)
  return (tostring(v):gsub("[\r\n]", " "))
end

local wrote_version = false

local function append(line)
  local p = path()
  if not p then return false end
  local f = io.open(p, "ab")
  if not f then return false end
  if not wrote_version then
    -- the interpreter of the run, once per process
    wrote_version = true
    local v = _VERSION
    if type(jit) == "table" and jit.version then v = jit.version end
    f:write("RELIABILITY run.lua=", v, "\n")
  end
  f:write(line, "\n")
  f:close()
  return true
end

-- Record name=value; the report keeps the last value of a name.
function RL.set(name, value)
  return append("RELIABILITY " .. name .. "=" .. clean(value))
end

-- Add n (default 1) to a counter; the report sums every line of a name.
function RL.add(name, n)
  return append("RELIABILITY " .. name .. "+=" .. clean(n or 1))
end

-- A test body that counts the tests begun (<prefix>.tests) and passed
-- (<prefix>.passed):
--   it("does something", RL.counted("crash", function() ... end))
function RL.counted(prefix, fn)
  return function(...)
    RL.add(prefix .. ".tests", 1)
    fn(...)
    RL.add(prefix .. ".passed", 1)
  end
end

-- Whether a log is being written.
function RL.enabled()
  return path() ~= nil
end

return RL
