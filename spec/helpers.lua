-- spec/helpers.lua -- the helper table H of the okofdb specs:
-- `local H = require("helpers")`.
--
-- The functions live in topic modules under spec/support/: processes
-- (shell, child processes, descriptors), files (temporary directories,
-- listings, modes), values (deterministic data), format (the reference
-- reader and builders of value files, CRC-32C, the key codec), results
-- (collecting and comparing results) and gc (finalizers at any
-- allocation). This file puts them together in one table.
--
-- Plain Lua with no dependency on busted, so that the child processes the
-- specs spawn (spec/support/*.lua) can use it too. Runs on Lua 5.1, 5.2,
-- 5.3, 5.4 and LuaJIT: no integer division or bitwise operators appear in
-- its own code; the native operators of 5.3+ are only reached through a
-- chunk compiled with load() on those versions.

local H = {}

H.LUA = os.getenv("OKOF_LUA") or "lua5.4"
H.IS_54 = _VERSION == "Lua 5.4"

-- Directory holding this file (spec/), and spec/support/.
H.SPEC_DIR = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "spec"
H.SUPPORT_DIR = H.SPEC_DIR .. "/support"

-- The parts, by topic; each adds its functions to H.
for _, part in ipairs({ "processes", "files", "values", "format", "results", "gc" }) do
  require("support." .. part)(H)
end

return H
