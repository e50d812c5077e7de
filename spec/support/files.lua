-- spec/support/files.lua -- files and temporary directories.
--
-- A part of the specs' helper table H: spec/helpers.lua calls this
-- module's function with H, which adds its functions to H (they call
-- each other, and those of the other parts, as H.name). Plain Lua for
-- Lua 5.1-5.4 and LuaJIT, with no dependency on busted.
local floor = math.floor
local byte, char, sub, format = string.byte, string.char, string.sub, string.format

return function(H)
  function H.read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
  end

  function H.write_file(path, data)
    local f = assert(io.open(path, "wb"))
    assert(f:write(data))
    assert(f:close())
  end

  function H.exists(path)
    return H.run("test -e " .. H.q(path) .. " || test -L " .. H.q(path))
  end

  function H.is_dir(path)
    return H.run("test -d " .. H.q(path))
  end

  function H.is_symlink(path)
    return H.run("test -L " .. H.q(path))
  end

  -- Names in a directory (not "." and ".."), sorted; NUL-separated by find so
  -- that any byte but NUL and "/" survives.
  function H.listdir(dir)
    local out = H.sh("LC_ALL=C find " .. H.q(dir) ..
                     " -mindepth 1 -maxdepth 1 -printf '%f\\0' 2>/dev/null")
    local names = {}
    for name in out:gmatch("([^%z]*)%z") do names[#names + 1] = name end
    table.sort(names)
    return names
  end

  -- Names of okofdb temporary files in a directory.
  function H.tmpfiles(dir)
    local t = {}
    for _, n in ipairs(H.listdir(dir)) do
      if sub(n, 1, 10) == ".okof-tmp-" then t[#t + 1] = n end
    end
    return t
  end

  -- Permission bits of a path as an octal string ("644").
  function H.mode(path)
    return (H.sh("stat -c %a " .. H.q(path)):gsub("%s+$", ""))
  end

  -- The current umask as a number (0..511).
  function H.umask()
    local s = H.sh("umask"):gsub("%s+", "")
    return tonumber(s, 8)
  end

  -- a & ~b for permission bits, as an octal string like stat prints it.
  function H.perm_string(base, umask)
    local r, mul = 0, 1
    for _ = 1, 3 do
      local bd, ud = base % 8, umask % 8
      local d = 0
      for bit = 0, 2 do
        local p = 2 ^ bit
        if floor(bd / p) % 2 == 1 and floor(ud / p) % 2 == 0 then d = d + p end
      end
      r = r + d * mul
      base, umask, mul = floor(base / 8), floor(umask / 8), mul * 8
    end
    return format("%o", r)
  end

  local tmpdirs = {}

  -- A fresh empty directory (mktemp -d), removed by H.cleanup().
  function H.tmpdir()
    local d = H.sh("mktemp -d 2>/dev/null || mktemp -d -t okofspec.XXXXXX"):match("^[^\n]*")
    assert(d ~= "" and H.is_dir(d), "mktemp -d failed")
    tmpdirs[#tmpdirs + 1] = d
    return d
  end

  function H.cleanup()
    for i = #tmpdirs, 1, -1 do
      H.run("chmod -R u+rwx " .. H.q(tmpdirs[i]) .. " 2>/dev/null; rm -rf " .. H.q(tmpdirs[i]))
      tmpdirs[i] = nil
    end
  end

  -- Set a file's modification time with touch -d ("2 hours ago").
  function H.touch_ago(path, when)
    assert(H.run("touch -h -d " .. H.q(when) .. " " .. H.q(path)), "touch failed")
  end

  -- Open a store in a fresh temp dir: db, dir.
  function H.open_tmp(opts)
    local okofdb = require("okofdb")
    local dir = H.tmpdir() .. "/store"
    local db, msg = okofdb.open(dir, opts)
    assert(db, msg)
    return db, dir
  end

  -- Values used by the crash and concurrency specs: complete values below and
end
