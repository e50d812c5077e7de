-- spec/core_spec.lua -- what okofdb.core gives besides open: the constants
-- of c/okof.h that the Lua module and the command-line tool use instead of
-- repeating them, and isatty (the tool asks it instead of starting a shell).
local H = require("helpers")
local core = require("okofdb.core")

-- The interpreter under test, for a child; under a sanitizer run the
-- child needs the runtime preloaded as this process has it.
local PRELOAD = os.getenv("LD_PRELOAD")
local LUA = (PRELOAD and ("LD_PRELOAD=" .. H.q(PRELOAD) .. " ") or "") .. H.q(H.LUA)

describe("okofdb.core", function()
  after_each(H.cleanup)

  it("exports the limits and defaults of c/okof.h", function()
    assert.are.equal(65536, core.CHUNK_MAX)
    assert.are.equal(3600, core.SWEEP_MAX_AGE_DEFAULT)
    assert.are.equal(2048, core.COMPRESS_MIN_DEFAULT)
  end)

  it("sweep without max_age uses SWEEP_MAX_AGE_DEFAULT", function()
    local db, dir = H.open_tmp()
    local old, young = dir .. "/.okof-tmp-old", dir .. "/.okof-tmp-young"
    H.write_file(old, "x")
    H.write_file(young, "x")
    H.touch_ago(old, (core.SWEEP_MAX_AGE_DEFAULT + 60) .. " seconds ago")
    H.touch_ago(young, (core.SWEEP_MAX_AGE_DEFAULT - 60) .. " seconds ago")
    assert.are.equal(1, db:sweep())
    assert.is_false(H.exists(old))
    assert.is_true(H.exists(young))
  end)

  it("isatty tells a terminal from a file or a pipe", function()
    -- the specs run with stdin, stdout and stderr wherever busted has
    -- them; a child with all three redirected is never on a terminal
    local out = H.sh(LUA .. " -e 'local c = require(\"okofdb.core\");" ..
      " io.write(tostring(c.isatty(0)), tostring(c.isatty(1)), tostring(c.isatty(2)))'" ..
      " </dev/null 2>/dev/null | cat")
    assert.are.equal("falsefalsefalse", out)
    assert.is_false(core.isatty(1000))
  end)

  it("isatty is true on a terminal (a pty from script(1), when installed)", function()
    if not H.run("command -v script >/dev/null 2>&1") then
      return pending("no script(1) to make a terminal")
    end
    local lua = LUA .. " -e 'io.write(tostring(require(\"okofdb.core\").isatty(1)))'"
    local out = H.sh("script -qec " .. H.q(lua) .. " /dev/null </dev/null")
    assert.are.equal("true", (out:gsub("%s+$", "")))
  end)

  it("isatty raises for a bad descriptor argument", function()
    assert.is_truthy(H.contains(H.error_of(core.isatty, "x"), "isatty"))
    assert.is_truthy(H.contains(H.error_of(core.isatty, -1), "isatty"))
  end)
end)
