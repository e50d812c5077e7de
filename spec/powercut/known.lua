-- spec/powercut/known.lua -- violations the power-cut checker finds in
-- okofdb as it is, each with why, and how the spec knows it was fixed
-- (then any violation of that class fails the spec).
--
-- A class listed here is tolerated only while `present()` says the fix
-- is not in the code; to stop tolerating a class, delete its entry.
local E = require("powercut.explore")

local K = {}

-- A raw 0x00 file (as a power cut leaves a file whose size persisted
-- before its data: all zeros, class "zeros", or a first block of zeros,
-- class "raw00") is read as a value. docs/format.md: such a file is
-- "CORRUPT" unless the handle was opened with legacy = true, and an
-- all-zero file is "CORRUPT" always. Fixed when open knows `legacy`.
K.raw00 = {
  reason = "a crash-zeroed file starting with 0x00 is read as a value (the reader " ..
    "without the legacy option reads every 0x00 file raw)",
  present = function() return not E.has_legacy() end,
}

-- open with create and sync = "full" makes directories without fsyncing
-- their parents, so a power cut can take the new directory away, with
-- every value put in it. Fixed when the recording of an open that makes
-- directories shows each new directory's parent fsynced after its mkdir.
K.open_dirs = {
  reason = "open with create and sync = \"full\" does not fsync the parents of the " ..
    "directories it makes",
  present = function(text)
    local ops, marks = E.parse(text)
    local m = marks[1]
    local pending = {}
    for i = m.b + 1, m.e do
      local o = ops[i]
      if o.op == "D" then
        pending[o.a:match("^(.*)/[^/]+$") or "."] = true
      elseif o.op == "F" and o.dir then
        pending[o.a] = nil
      end
    end
    return next(pending) ~= nil
  end,
}

return K
