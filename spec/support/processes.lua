-- spec/support/processes.lua -- shell commands, child processes, descriptors of this process.
--
-- A part of the specs' helper table H: spec/helpers.lua calls this
-- module's function with H, which adds its functions to H (they call
-- each other, and those of the other parts, as H.name). Plain Lua for
-- Lua 5.1-5.4 and LuaJIT, with no dependency on busted.
local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local concat = table.concat

return function(H)
  -- Quote a string for sh.
  function H.q(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
  end

  -- Under a sanitizer run the ASan runtime is preloaded into this process
  -- (LD_PRELOAD); the system utilities the specs run must not get it (their
  -- leaks would change their exit status), the Lua children must.
  local PRELOAD = os.getenv("LD_PRELOAD")
  local SHELL_PREFIX = PRELOAD and "unset LD_PRELOAD; " or ""

  -- Run a shell command, return its whole stdout.
  function H.sh(cmd)
    local p = assert(io.popen(SHELL_PREFIX .. cmd, "r"))
    local out = p:read("*a")
    p:close()
    return out
  end

  -- Run a shell command, return true when it exited with status 0.
  function H.run(cmd)
    local a, _, c = os.execute(SHELL_PREFIX .. cmd)
    if type(a) == "number" then return a == 0 end -- Lua 5.1
    return a == true and c == 0
  end

  function H.is_root()
    return H.sh("id -u"):match("^0%s") ~= nil
  end

  -- This process's pid (the interpreter's; /proc/self resolves to the opener).
  function H.pid()
    local f = io.open("/proc/self/stat", "r")
    if f then
      local s = f:read("*l")
      f:close()
      local pid = s and s:match("^(%d+)")
      if pid then return pid end
    end
    return nil
  end

  -- Number of this process's open descriptors of files and directories (a
  -- path in /proc/<pid>/fd), or nil if unknown. Pipes are left out: the popen
  -- used to count opens one, and whether its other end is still open here
  -- while the listing is made is a race.
  function H.fd_count()
    local pid = H.pid()
    if not pid or not H.is_dir("/proc/" .. pid .. "/fd") then return nil end
    local out = H.sh("find /proc/" .. pid .. "/fd -mindepth 1 -maxdepth 1 -lname '/*' -printf 'x\\n' 2>/dev/null")
    local n = 0
    for _ in out:gmatch("x\n") do n = n + 1 end
    return n
  end

  -- fd_count after a full garbage collection, so that descriptors of handles
  -- and walks left to the collector by earlier specs do not close during a
  -- measurement.
  function H.fd_baseline()
    collectgarbage("collect")
    collectgarbage("collect")
    return H.fd_count()
  end


  function H.sleep(seconds)
    H.run("sleep " .. format("%.3f", seconds))
  end

  -- Command line prefix that runs the Lua file path with the interpreter
  -- under test (environment, LUA_PATH and LUA_CPATH inherited).
  -- extra_preload: a shared object to preload into the child as well.
  function H.lua_cmd(path, extra_preload)
    local pre = PRELOAD ~= "" and PRELOAD or nil
    if extra_preload then pre = pre and (pre .. " " .. extra_preload) or extra_preload end
    local env = pre and ("LD_PRELOAD=" .. H.q(pre) .. " ") or ""
    return env .. H.q(H.LUA) .. " " .. H.q(path)
  end

  -- The same for spec/support/<name>.lua.
  function H.script(name, extra_preload)
    return H.lua_cmd(H.SUPPORT_DIR .. "/" .. name .. ".lua", extra_preload)
  end

  -- Seconds since the epoch, with a fraction where date(1) gives one.
  function H.now()
    return tonumber(H.sh("date +%s.%N")) or os.time()
  end

  -- Start the shell commands cmds (each ending in "&") at once in the
  -- background; donefile is created once all of them have ended. Returns
  -- true when the shell started.
  function H.start_all(cmds, donefile)
    return H.run("( " .. concat(cmds, " ") .. " wait; touch " .. H.q(donefile) ..
      " ) >/dev/null 2>&1 &")
  end

  -- Create stopfile, then wait for the donefile of H.start_all (raises
  -- after 120 s). Returns the time (H.now) the stop was asked at.
  function H.stop_all(stopfile, donefile)
    H.write_file(stopfile, "stop\n")
    local t1 = H.now()
    while not H.exists(donefile) do
      assert(H.now() - t1 < 120, "the workers did not stop")
      H.sleep(0.05)
    end
    return t1
  end

  -- All the values of a call, and their number as n.
  function H.pack(...)
    return { n = select("#", ...), ... }
  end

  -- For a worker process that writes one line to outfile at its end:
  -- finish(line, status) writes it and exits with status; stopped() is true
  -- once stopfile exists or the time limit (seconds since the epoch) passed.
  function H.worker_end(outfile, stopfile, limit)
    local function finish(line, status)
      local f = assert(io.open(outfile, "wb"))
      f:write(line, "\n")
      f:close()
      os.exit(status)
    end
    local function stopped()
      local f = io.open(stopfile, "rb")
      if f then
        f:close()
        return true
      end
      return os.time() > limit
    end
    return finish, stopped
  end

  function H.hex(s)
    return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
  end

  function H.unhex(h)
    return (h:gsub("%x%x", function(x) return char(tonumber(x, 16)) end))
  end

  -- Run spec/support/child.lua with the given arguments (already strings);
  -- return its stdout split into lines and whether it exited with 0.
  -- prefix: shell text put before the command (e.g. "umask 077; " or
  -- environment assignments); extra_preload: see H.script.
  function H.child(args, prefix, extra_preload)
    local parts = {}
    for i, a in ipairs(args) do parts[i] = H.q(a) end
    local cmd = (prefix or "") .. H.script("child", extra_preload) .. " " .. concat(parts, " ")
    local p = assert(io.popen(SHELL_PREFIX .. cmd .. " 2>&1; echo \"status=$?\"", "r"))
    local out = p:read("*a")
    p:close()
    local lines = {}
    for l in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    local status = table.remove(lines)
    return lines, status == "status=0", out
  end



  -- Start the shell command cmd in the background, wait up to `tries` times
  -- 5 ms for it to create the file `ready`, let it run `delay` seconds more,
  -- kill it with SIGKILL and reap it; its stderr goes to errfile. Returns
  -- "killed", or "dead" when it had ended by itself.
  function H.run_and_kill(cmd, ready, errfile, delay, tries)
    local sh = table.concat({
      "rm -f " .. H.q(ready) .. ";",
      cmd,
      ">/dev/null 2>" .. H.q(errfile) .. " & pid=$!;",
      "n=0; while [ ! -e " .. H.q(ready) .. " ] && [ $n -lt " .. tries .. " ]; do",
      "kill -0 $pid 2>/dev/null || break; sleep 0.005; n=$((n+1)); done;",
      "sleep " .. string.format("%.3f", delay) .. ";",
      "if kill -9 $pid 2>/dev/null; then echo killed; else echo dead; fi;",
      "wait $pid 2>/dev/null; true",
    }, " ")
    return (H.sh(sh):match("%a+"))
  end
end
