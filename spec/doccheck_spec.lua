-- spec/doccheck_spec.lua -- tools/doccheck.lua (part of make docs): every
-- function of the Lua binding and of c/okof.h has its documentation, and
-- the check fails when one has none.
local H = require("helpers")

local ROOT = H.SPEC_DIR .. "/.."

-- Run the check; returns its exit status (0 or 1) and its output.
local function doccheck(args)
  local out = H.sh("cd " .. H.q(ROOT) .. " && " .. H.q(H.LUA) .. " tools/doccheck.lua " ..
                   (args or "") .. " 2>&1; echo status=$?")
  return tonumber(out:match("status=(%d+)%s*$")), out
end

-- A copy of a repository file with one change (plain text, first match).
local function changed_copy(path, from, to)
  local text = assert(H.read_file(ROOT .. "/" .. path))
  local i, j = text:find(from, 1, true)
  assert(i, "not in " .. path .. ": " .. from)
  local copy = H.tmpdir() .. "/" .. path:match("[^/]+$")
  H.write_file(copy, text:sub(1, i - 1) .. to .. text:sub(j + 1))
  return copy
end

describe("tools/doccheck.lua", function()
  after_each(H.cleanup)

  it("passes on the repository", function()
    local status, out = doccheck()
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("all documented"), out)
  end)

  it("fails for a method whose LDoc entry is missing", function()
    local ldoc = changed_copy("lua/okofdb.lua", "-- @function db:del", "-- (removed)")
    local status, out = doccheck("--module lua/okofdb.lua --ldoc " .. H.q(ldoc))
    assert.are.equal(1, status, out)
    assert.is_truthy(out:find("db:del", 1, true), out)
  end)

  it("fails for a new method of the binding without documentation", function()
    local binding = changed_copy("c/lua_okofdb.c", '{"put", okof__l_put},',
                                 '{"put", okof__l_put}, {"frobnicate", okof__l_put},')
    local status, out = doccheck("--binding " .. H.q(binding) .. " --binding c/lua_codec.c")
    assert.are.equal(1, status, out)
    assert.is_truthy(out:find("db:frobnicate", 1, true), out)
  end)

  it("fails for a function of okofdb.core without documentation", function()
    local binding = changed_copy("c/lua_okofdb.c", '{"open", l_open},',
                                 '{"open", l_open}, {"peek", l_open},')
    local status, out = doccheck("--binding " .. H.q(binding) .. " --binding c/lua_codec.c")
    assert.are.equal(1, status, out)
    assert.is_truthy(out:find("core.peek", 1, true), out)
  end)

  it("fails for a C function of okof.h without a comment naming it", function()
    local header = changed_copy("c/okof.h", "const char *okof_errname(int rc);",
                                "const char *okof_errname(int rc);\nint okof_undocumented(void);")
    local status, out = doccheck("--header " .. H.q(header))
    assert.are.equal(1, status, out)
    assert.is_truthy(out:find("okof_undocumented", 1, true), out)
    assert.is_falsy(out:find("okof_errname", 1, true), out)
  end)
end)
