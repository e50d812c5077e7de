-- spec/reliability/reentry_spec.lua -- the README "Any method but close on a
-- closed handle raises an error", when the handle is closed from inside the
-- operation: a codec (the open option `codec`) whose encode or decode calls
-- db:close(). The operation must raise (or, for a read, give its value),
-- never write through the closed handle -- least of all into another store
-- that reused the freed handle's memory and descriptor -- and never crash.
-- Each case runs in a child process (reliability/reentry_child.lua), so that
-- a crash or a sanitizer report is a failure of the case, not of the run.
-- Pending when the module has no codec option (the option is newer than
-- the README).
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local function counted(fn) return RL.counted("reentry", fn) end

local CHILD = H.SPEC_DIR .. "/reliability/reentry_child.lua"

local function has_codec()
  local dir = H.tmpdir() .. "/probe"
  local ok, db = pcall(okofdb.open, dir, { codec = { encode = tostring, decode = tostring } })
  if ok and db then db:close() end
  return ok
end

local function run(scenario)
  local base = H.tmpdir()
  local pre = os.getenv("LD_PRELOAD")
  local out = H.sh(((pre and pre ~= "") and ("LD_PRELOAD=" .. H.q(pre) .. " ") or "") ..
    "timeout 20 " .. H.q(H.LUA) .. " " .. H.q(CHILD) .. " " .. H.q(base) .. " " .. scenario ..
    " 2>&1; echo \"status=$?\"")
  return out, tonumber(out:match("status=(%d+)%s*$"))
end

local HAS_CODEC = has_codec()
H.cleanup()

describe("a handle closed by its own codec during an operation", function()
  after_each(H.cleanup)

  if not HAS_CODEC then
    pending("the module has no codec option")
    return
  end

  for _, fn in ipairs({ "put", "add", "put_many" }) do
    it(fn .. ": raises naming '" .. fn .. "', writes nothing anywhere, does not crash", counted(function()
      local out, status = run(fn)
      assert.are.equal(0, status, "the child crashed or failed:\n" .. out)
      local msg = out:match("raise ([^\n]*)")
      assert.is_not_nil(msg, fn .. " on a handle closed by the codec did not raise:\n" .. out)
      assert.is_true(H.contains(msg, fn) and H.contains(msg, "closed"), msg)
      assert.are.equal("0", out:match("other (%d+)"), "written into another store:\n" .. out)
      assert.are.equal("1", out:match("mine (%d+)"), "written into the closed store:\n" .. out)
    end))
  end

  for _, fn in ipairs({ "get", "each" }) do
    it(fn .. ": gives the value or raises naming '" .. fn .. "', does not crash", counted(function()
      local out, status = run(fn)
      assert.are.equal(0, status, "the child crashed or failed:\n" .. out)
      local msg = out:match("raise ([^\n]*)")
      if msg then
        assert.is_true(H.contains(msg, fn) and H.contains(msg, "closed"), msg)
      else
        assert.is_not_nil(out:match(fn == "get" and "result seed value" or "result 1"), out)
      end
      assert.are.equal("1", out:match("mine (%d+)"), out)
    end))
  end
end)
