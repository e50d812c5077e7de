-- spec/reliability/strace_spec.lua -- the options of open (lua/okofdb.lua) (sync) and
-- "Atomicity, durability": the order of the real system calls, seen by
-- strace around a child process (reliability/ops_child.lua) that opens a
-- store and does one put and one del.
--
-- sync = "full", put: the temporary file is created in the store's
-- directory (openat on the directory's descriptor, O_CREAT|O_EXCL, a
-- .okof-tmp- name), the value is written to it (exactly the bytes of the
-- value file), it is fsynced, closed, renamed over the key's name, and then
-- the directory's descriptor -- the one opened with O_DIRECTORY by open --
-- is fsynced. del: the key's name is unlinked, then the directory is fsynced.
-- sync = "none": the same without any fsync or fdatasync.
--
-- Needs strace (Debian package strace) and ptrace; without them the spec fails.
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local function counted(fn) return RL.counted("strace", fn) end

local CHILD = H.SPEC_DIR .. "/reliability/ops_child.lua"
local TRACED = "openat,open,creat,write,writev,pwrite64,pwritev,fsync,fdatasync," ..
  "rename,renameat,renameat2,unlink,unlinkat,close,mkdir,mkdirat"

---------------------------------------------------------------------------
-- strace output
---------------------------------------------------------------------------

local ESC = { n = "\n", t = "\t", r = "\r", v = "\v", f = "\f", ['"'] = '"', ["\\"] = "\\" }

-- Decode one quoted C string of strace starting at s[i] == '"'. Returns the
-- bytes and the index after the closing quote (and after a "..." mark).
local function unquote(s, i)
  local out, j = {}, i + 1
  while j <= #s do
    local c = s:sub(j, j)
    if c == '"' then
      j = j + 1
      if s:sub(j, j + 2) == "..." then j = j + 3 end
      return table.concat(out), j
    elseif c == "\\" then
      local d = s:sub(j + 1, j + 1)
      if d == "x" then
        out[#out + 1] = string.char(tonumber(s:sub(j + 2, j + 3), 16))
        j = j + 4
      elseif d:match("%d") then
        local oct = s:match("^[0-7][0-7]?[0-7]?", j + 1)
        out[#out + 1] = string.char(tonumber(oct, 8))
        j = j + 1 + #oct
      else
        out[#out + 1] = ESC[d] or d
        j = j + 2
      end
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
  error("unterminated string in strace output: " .. s)
end

-- Split strace's argument text into top-level arguments; quoted strings
-- are decoded (arg.str), everything else kept as text (arg.text).
local function split_args(s)
  local args, depth, i, cur, str = {}, 0, 1, {}, nil
  local function push()
    local text = table.concat(cur):gsub("^%s+", ""):gsub("%s+$", "")
    if text ~= "" or str then args[#args + 1] = { text = text, str = str } end
    cur, str = {}, nil
  end
  while i <= #s do
    local c = s:sub(i, i)
    if c == '"' then
      local v
      v, i = unquote(s, i)
      if depth == 0 and not str then str = v end
      cur[#cur + 1] = '"'
    else
      if c == "(" or c == "[" or c == "{" then depth = depth + 1
      elseif c == ")" or c == "]" or c == "}" then depth = depth - 1 end
      if c == "," and depth == 0 then push() else cur[#cur + 1] = c end
      i = i + 1
    end
  end
  push()
  return args
end

-- Parse a strace -f -o FILE log into a list of { pid, name, args, ret,
-- line }, joining "<unfinished ...>" and "<... resumed>" halves.
local function parse(text)
  local events, pending = {}, {}
  for raw in text:gmatch("[^\n]+") do
    local pid, rest = raw:match("^(%d+)%s+(.*)$")
    if not pid then pid, rest = "0", raw end
    local name, before = rest:match("^([%w_]+)%((.*) <unfinished %.%.%.>$")
    if name then
      pending[pid] = { name = name, text = before }
    else
      local rname, after = rest:match("^<%.%.%. ([%w_]+) resumed>(.*)$")
      if rname and pending[pid] then
        rest = rname .. "(" .. pending[pid].text .. after
        pending[pid] = nil
      end
      local nm, argtext, ret = rest:match("^([%w_]+)%((.*)%)%s+=%s+(%-?%d+)")
      if nm then
        events[#events + 1] = { pid = pid, name = nm, args = split_args(argtext),
          ret = tonumber(ret), line = raw }
      end
    end
  end
  return events
end

-- The fd an argument names ("3", "AT_FDCWD", "3</path>" with -y).
local function fd_of(a)
  if not a then return nil end
  if a.text == "AT_FDCWD" then return "AT_FDCWD" end
  return tonumber(a.text:match("^(%-?%d+)"))
end

local function is_write(e)
  return e.name == "write" or e.name == "writev" or e.name == "pwrite64" or e.name == "pwritev"
end

local function is_sync(e)
  return e.name == "fsync" or e.name == "fdatasync"
end

-- The events of the child between its marks "<op>-begin" and "<op>-end".
local function window(events, op)
  local from, to
  for i, e in ipairs(events) do
    if e.name == "write" and fd_of(e.args[1]) == 2 and e.args[2] and e.args[2].str then
      local m = e.args[2].str:match("^OKOF%-MARK (%S+)")
      if m == op .. "-begin" then from = i
      elseif m == op .. "-end" and from then to = i break end
    end
  end
  assert(from and to, "the trace has no marks for " .. op)
  -- the child's own output (stdout, stderr) is not okofdb's
  local w = {}
  for i = from + 1, to - 1 do
    local e = events[i]
    if not (is_write(e) and (fd_of(e.args[1]) == 1 or fd_of(e.args[1]) == 2)) then w[#w + 1] = e end
  end
  return w, from, to
end

-- Index in w of the first event matching pred at or after index start.
local function find(w, start, pred)
  for i = start or 1, #w do
    if pred(w[i]) then return i, w[i] end
  end
  return nil
end

local function dump(w)
  local t = {}
  for i, e in ipairs(w) do t[i] = "  " .. e.line end
  return table.concat(t, "\n")
end

---------------------------------------------------------------------------
-- Running the child under strace
---------------------------------------------------------------------------

local STRACE_OK = H.run("command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true >/dev/null 2>&1")

local function traced(dir, sync, ops)
  local base = H.tmpdir() .. "/trace" -- beside, not in, dir: dir may not exist yet
  local log, out, err = base .. ".log", base .. ".out", base .. ".err"
  local pre = os.getenv("LD_PRELOAD")
  local parts = {}
  for i, a in ipairs(ops) do parts[i] = H.q(a) end
  -- LeakSanitizer cannot run under ptrace: off in the traced child of an ASan run
  local cmd = "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" " ..
    "OKOF_MARKS=1 OKOF_CHILD_SYNC=" .. sync .. " strace -f -qq -s 300 -e trace=" .. TRACED ..
    " -o " .. H.q(log) .. " -- env " ..
    ((pre and pre ~= "") and ("LD_PRELOAD=" .. H.q(pre) .. " ") or "") ..
    H.q(H.LUA) .. " " .. H.q(CHILD) .. " " .. H.q(dir) .. " " .. table.concat(parts, " ") ..
    " >" .. H.q(out) .. " 2>" .. H.q(err)
  local ok = H.run(cmd)
  assert(ok, "strace or the child failed: " .. tostring(H.read_file(err)) .. tostring(H.read_file(out)))
  return parse(assert(H.read_file(log))), H.read_file(out)
end

-- The path of each descriptor opened with openat(AT_FDCWD, path) in w, as
-- it stood at each event: fds[i][fd].
local function paths_of_fds(w)
  local cur, at = {}, {}
  for i, e in ipairs(w) do
    if e.name == "openat" and fd_of(e.args[1]) == "AT_FDCWD" and e.args[2] and e.args[2].str and e.ret >= 0 then
      cur[e.ret] = e.args[2].str
    elseif e.name == "close" then
      at[i] = cur[fd_of(e.args[1])]
      cur[fd_of(e.args[1])] = nil
    end
    if at[i] == nil and e.args[1] then at[i] = cur[fd_of(e.args[1])] end
  end
  return at
end

-- The parent of a path as okofdb names it: "/" for "/x", "." for "x".
local function parent_of(p)
  local par = p:match("^(.*[^/])/+[^/]+/*$")
  if par then return par end
  return p:match("^/") and "/" or "."
end

-- The directories the open window made (mkdir that returned 0), in order,
-- and the checks of the README (the create option): with sync = "full"
-- each mkdir is followed, before the next one, by an fsync of its parent,
-- and the last new directory is fsynced itself; with "none", no fsync.
local function check_open_dirs(w, full)
  local at, made, last = paths_of_fds(w), {}, nil
  for i, e in ipairs(w) do
    if (e.name == "mkdir" or e.name == "mkdirat") and e.ret == 0 then
      local p = e.name == "mkdir" and e.args[1].str or e.args[2].str
      made[#made + 1] = { path = p, at = i }
    end
  end
  for k, m in ipairs(made) do
    local stop = made[k + 1] and made[k + 1].at or #w + 1
    local synced = false
    for i = m.at + 1, stop - 1 do
      if is_sync(w[i]) and w[i].ret == 0 and at[i] == parent_of(m.path) then synced = true end
    end
    if full then
      assert(synced, "no fsync of " .. parent_of(m.path) .. " after mkdir " .. m.path .. ":\n" .. dump(w))
    end
    last = m.path
  end
  if full and last then
    local self_synced = false
    for i = made[#made].at + 1, #w do
      if is_sync(w[i]) and at[i] == last then self_synced = true end
    end
    assert(self_synced, "the new directory " .. last .. " was not fsynced:\n" .. dump(w))
  end
  if not full then
    for _, e in ipairs(w) do assert.is_false(is_sync(e), "sync = 'none' but open synced: " .. e.line) end
  end
  return made
end

-- The directory descriptor the child's open made: openat(AT_FDCWD, dir,
-- ...O_DIRECTORY...) = D that succeeded, in the open window. Open syncs
-- nothing but the directories it makes (check_open_dirs).
local function dir_fd(events, dir, full)
  local w = window(events, "open")
  local d
  for _, e in ipairs(w) do
    if (e.name == "openat" and fd_of(e.args[1]) == "AT_FDCWD" and e.args[2] and e.args[2].str == dir
        and e.args[3] and e.args[3].text:find("O_DIRECTORY", 1, true) and e.ret >= 0) then
      d = e.ret
    end
  end
  assert(d, "open did not openat the directory with O_DIRECTORY:\n" .. dump(w))
  local made = check_open_dirs(w, full)
  if #made == 0 then
    for _, e in ipairs(w) do assert.is_false(is_sync(e), "open synced: " .. e.line) end
  end
  return d
end

-- Check the put window; returns the number of syscalls checked.
local function check_put(events, D, keyname, filesize, full)
  local w = window(events, "put")
  local ctx = "\n" .. dump(w)
  local ci, create = find(w, 1, function(e)
    return (e.name == "openat" and fd_of(e.args[1]) == D and e.args[2] and e.args[2].str
      and e.args[2].str:find("^%.okof%-tmp%-"))
  end)
  assert(ci, "no temporary file created on the directory's descriptor" .. ctx)
  local flags = create.args[3].text
  assert(flags:find("O_CREAT", 1, true) and flags:find("O_EXCL", 1, true), "created without O_CREAT|O_EXCL: " .. create.line)
  assert(create.ret >= 0, create.line)
  local T, tmpname = create.ret, create.args[2].str
  -- docs/format.md: .okof-tmp- and at least 64 random bits (hex)
  local hex = tmpname:match("^%.okof%-tmp%-(%x+)$")
  assert(hex and #hex >= 16, "temporary name without 64 bits of hex: " .. create.line)
  -- nothing else is opened for writing or created
  for i, e in ipairs(w) do
    if i ~= ci and (e.name == "openat" or e.name == "open" or e.name == "creat") then
      assert(not (e.args[3] and e.args[3].text:find("O_CREAT", 1, true)), "another file created: " .. e.line)
    end
  end
  -- the data: writes on T, adding up to the whole value file
  local written, last_write = 0, nil
  for i, e in ipairs(w) do
    if is_write(e) and fd_of(e.args[1]) == T then
      assert(i > ci, "a write before the create" .. ctx)
      assert(e.ret >= 0, e.line)
      written = written + e.ret
      last_write = i
    end
  end
  assert(last_write, "nothing written to the temporary file" .. ctx)
  assert.are.equal(filesize, written, "bytes written to the temporary file" .. ctx)
  local si = find(w, ci + 1, function(e) return is_sync(e) and fd_of(e.args[1]) == T end)
  local cl = find(w, ci + 1, function(e) return e.name == "close" and fd_of(e.args[1]) == T end)
  local ri, ren = find(w, 1, function(e)
    return e.name == "rename" or e.name == "renameat" or e.name == "renameat2"
  end)
  assert(cl, "the temporary file was not closed" .. ctx)
  assert(ri, "no rename" .. ctx)
  if ren.name == "rename" then
    assert.are.equal(".okof-tmp-", ren.args[1].str:match("/(%.okof%-tmp%-)[^/]*$"), ren.line)
    assert.are.equal(keyname, ren.args[2].str:match("([^/]*)$"), ren.line)
  else
    assert.are.equal(D, fd_of(ren.args[1]), "rename from another directory: " .. ren.line)
    assert.are.equal(tmpname, ren.args[2].str, ren.line)
    assert.are.equal(D, fd_of(ren.args[3]), "rename into another directory: " .. ren.line)
    assert.are.equal(keyname, ren.args[4].str, ren.line)
  end
  assert.are.equal(0, ren.ret, ren.line)
  assert.is_true(last_write < cl, "a write after the close" .. ctx)
  assert.is_true(cl < ri, "renamed before the temporary file was closed" .. ctx)
  -- the directory descriptor stays open throughout
  assert.is_nil(find(w, 1, function(e) return e.name == "close" and fd_of(e.args[1]) == D end),
    "the directory's descriptor was closed in put" .. ctx)
  if full then
    assert(si, "the temporary file was not fsynced" .. ctx)
    assert.is_true(last_write < si and si < cl, "fsync of the file not between the writes and the close" .. ctx)
    local di = find(w, ri + 1, function(e) return is_sync(e) and fd_of(e.args[1]) == D end)
    assert(di, "no fsync of the directory after the rename" .. ctx)
    assert.are.equal(0, w[di].ret, w[di].line)
    assert.is_nil(find(w, di + 1, function(e) return e.name ~= "close" or fd_of(e.args[1]) == D end),
      "more calls after the directory's fsync" .. ctx)
  else
    assert.is_nil(find(w, 1, is_sync), "sync = 'none' but put synced" .. ctx)
  end
  return #w
end

local function check_del(events, D, keyname, full)
  local w = window(events, "del")
  local ctx = "\n" .. dump(w)
  local ui, un = find(w, 1, function(e) return e.name == "unlinkat" or e.name == "unlink" end)
  assert(ui, "no unlink" .. ctx)
  if un.name == "unlinkat" then
    assert.are.equal(D, fd_of(un.args[1]), un.line)
    assert.are.equal(keyname, un.args[2].str, un.line)
    assert.are.equal("0", un.args[3].text, un.line)
  else
    assert.are.equal(keyname, un.args[1].str:match("([^/]*)$"), un.line)
  end
  assert.are.equal(0, un.ret, un.line)
  assert.is_nil(find(w, ui + 1, function(e) return e.name == "unlinkat" or e.name == "unlink" end),
    "more than one unlink" .. ctx)
  if full then
    local di = find(w, ui + 1, function(e) return is_sync(e) and fd_of(e.args[1]) == D end)
    assert(di, "no fsync of the directory after the unlink" .. ctx)
    assert.are.equal(0, w[di].ret, w[di].line)
    assert.is_nil(find(w, 1, function(e) return is_sync(e) and fd_of(e.args[1]) ~= D end),
      "del synced another descriptor" .. ctx)
  else
    assert.is_nil(find(w, 1, is_sync), "sync = 'none' but del synced" .. ctx)
  end
  return #w
end

---------------------------------------------------------------------------

describe("the system calls of put and del, seen by strace", function()
  after_each(H.cleanup)

  local KEY = "user:42"                 -- its file: user%3a42
  local VALUE = H.text_bytes(5000, 17)  -- above compress_min: compressed

  -- The size of the file okofdb writes for VALUE (the encoding is fixed).
  local function file_size()
    local db, dir = H.open_tmp()
    assert.is_true(db:put(KEY, VALUE))
    db:close()
    local f = assert(H.read_file(dir .. "/" .. H.key_to_name(KEY)))
    return #f
  end

  local function run(sync)
    assert(STRACE_OK, "strace is needed and must be able to trace a child (Debian: apt-get install strace)")
    local dir = H.tmpdir() .. "/store"
    local events, out = traced(dir, sync, { "put", H.hex(KEY), H.hex(VALUE), "del", H.hex(KEY) })
    assert.are.equal("true\ntrue\n", out)
    local D = dir_fd(events, dir, sync == "full")
    local n = check_put(events, D, H.key_to_name(KEY), file_size(), sync == "full")
    n = n + check_del(events, D, H.key_to_name(KEY), sync == "full")
    assert.are.same({}, H.listdir(dir))
    -- the whole run from open on: sync = "none" never syncs anything
    if sync == "none" then
      local _, from = window(events, "open")
      for i = from, #events do assert.is_false(is_sync(events[i]), events[i].line) end
    end
    RL.add("strace.runs", 1)
    RL.add("strace.syscalls_checked", n)
    return n
  end

  it("sync = 'full': create the temporary file, write, fsync, close, rename, fsync the directory; unlink, fsync the directory", counted(function()
    assert.is_true(run("full") > 6)
  end))

  it("sync = 'none': the same order, and no fsync or fdatasync at all", counted(function()
    assert.is_true(run("none") > 3)
  end))

  for _, sync in ipairs({ "full", "none" }) do
    it("open creating a/b/store, sync = '" .. sync .. "': " ..
      (sync == "full" and "each mkdir, then an fsync of its parent; the new store fsynced"
                      or "the mkdirs, and no fsync"), counted(function()
      assert(STRACE_OK, "strace is needed and must be able to trace a child (Debian: apt-get install strace)")
      local base = H.tmpdir()
      local dir = base .. "/a/b/store"
      local events, out = traced(dir, sync, { "put", H.hex(KEY), H.hex("v") })
      assert.are.equal("true\n", out)
      local D = dir_fd(events, dir, sync == "full")
      assert.truthy(D)
      local made = check_open_dirs(window(events, "open"), sync == "full")
      local paths = {}
      for i, m in ipairs(made) do paths[i] = m.path end
      assert.are.same({ base .. "/a", base .. "/a/b", dir }, paths)
      RL.add("strace.runs", 1)
      RL.add("strace.created_dirs_checked", #made)
    end))
  end

  it("the checks refuse an open that makes a directory and does not fsync its parent (made-up traces)", counted(function()
    local function win(lines)
      local t = {}
      for i, l in ipairs(lines) do t[i] = "1 " .. l end
      return parse(table.concat(t, "\n"))
    end
    local M1, M2 = 'mkdir("/t/a", 0777) = 0', 'mkdir("/t/a/s", 0777) = 0'
    local O1, S1, C1 = 'openat(AT_FDCWD, "/t", O_RDONLY|O_DIRECTORY) = 4', "fsync(4) = 0", "close(4) = 0"
    local O2, S2, C2 = 'openat(AT_FDCWD, "/t/a", O_RDONLY|O_DIRECTORY) = 4', "fsync(4) = 0", "close(4) = 0"
    local O3, S3 = 'openat(AT_FDCWD, "/t/a/s", O_RDONLY|O_DIRECTORY) = 3', "fsync(3) = 0"
    assert.are.equal(2, #check_open_dirs(win({ M1, O1, S1, C1, M2, O2, S2, C2, O3, S3 }), true))
    local bad = {
      { M1, M2, O1, S1, C1, O2, S2, C2, O3, S3 },  -- parent fsynced after the next mkdir
      { M1, O1, S1, C1, M2, O3, S3 },              -- /t/a never fsynced
      { M1, O1, S1, C1, M2, O2, S2, C2, O3 },      -- the store itself never fsynced
      { M1, O2, S2, C2, M2, O2, S2, C2, O3, S3 },  -- the wrong parent
    }
    for i, lines in ipairs(bad) do
      assert.is_false(pcall(check_open_dirs, win(lines), true), "bad trace " .. i .. " passed")
    end
    assert.are.equal(2, #check_open_dirs(win({ M1, M2, O3 }), false))
    assert.is_false(pcall(check_open_dirs, win({ M1, O1, S1, C1, M2, O3 }), false))
  end))

  it("the checks refuse a put or del in the wrong order (checked on made-up traces)", counted(function()
    local function trace(lines)
      local t = { '1 openat(AT_FDCWD, "/s", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 3',
                  '1 write(2, "OKOF-MARK open-end\\n", 19) = 19' }
      table.insert(t, 1, '1 write(2, "OKOF-MARK open-begin\\n", 21) = 21')
      for _, l in ipairs(lines) do t[#t + 1] = "1 " .. l end
      return parse(table.concat(t, "\n"))
    end
    local B, E = 'write(2, "OKOF-MARK put-begin\\n", 20) = 20', 'write(2, "OKOF-MARK put-end\\n", 18) = 18'
    local C = 'openat(3, ".okof-tmp-00112233445566778899aabbccddeeff", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 4'
    local W = 'writev(4, [{iov_base="x", iov_len=10}], 1) = 10'
    local S, X = "fsync(4) = 0", "close(4) = 0"
    local R = 'renameat(3, ".okof-tmp-00112233445566778899aabbccddeeff", 3, "k") = 0'
    local SD = "fsync(3) = 0"
    local good = { B, C, W, S, X, R, SD, E }
    local ev = trace(good)
    assert.are.equal(3, dir_fd(ev, "/s"))
    assert.is_true(check_put(ev, 3, "k", 10, true) > 0)
    local bad = {
      { B, C, W, S, X, SD, R, E },           -- directory synced before the rename
      { B, C, W, X, R, SD, E },              -- file never synced
      { B, C, W, S, R, X, SD, E },           -- renamed before the close
      { B, C, S, W, X, R, SD, E },           -- written after the fsync
      { B, C, W, S, X, R, E },               -- directory never synced
      { B, C, W, W, S, X, R, SD, E },        -- 20 bytes, not 10
      { B, C:gsub("O_EXCL|", ""), W, S, X, R, SD, E }, -- without O_EXCL
      { B, C, W, S, X, R:gsub('"k"', '"j"'), SD, E },  -- renamed to another name
      { B, C, W, S, X, R, "fsync(5) = 0", E },         -- another descriptor synced
    }
    for i, lines in ipairs(bad) do
      local ok = pcall(check_put, trace(lines), 3, "k", 10, true)
      assert.is_false(ok, "bad trace " .. i .. " passed")
    end
    -- sync = "none" refuses any fsync
    assert.is_true(check_put(trace({ B, C, W, X, R, E }), 3, "k", 10, false) > 0)
    assert.is_false(pcall(check_put, ev, 3, "k", 10, false))
    local DB, DE = 'write(2, "OKOF-MARK del-begin\\n", 20) = 20', 'write(2, "OKOF-MARK del-end\\n", 18) = 18'
    assert.is_true(check_del(trace({ DB, 'unlinkat(3, "k", 0) = 0', SD, DE }), 3, "k", true) > 0)
    assert.is_false(pcall(check_del, trace({ DB, SD, 'unlinkat(3, "k", 0) = 0', DE }), 3, "k", true))
    assert.is_false(pcall(check_del, trace({ DB, 'unlinkat(3, "k", 0) = 0', DE }), 3, "k", true))
    assert.is_false(pcall(check_del, trace({ DB, 'unlinkat(3, "k", 0) = 0', SD, DE }), 3, "k", false))
  end))

  it("the parser reads strace's quoting, descriptors and split lines", counted(function()
    local ev = parse(table.concat({
      '12 openat(3, ".okof-tmp-a\\\\b\\\"c\\n\\x7f\\303", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 4',
      '12 renameat(3</tmp/x>, "a,b", 3</tmp/x>, "k%3a42") = 0',
      '13 fsync(5 <unfinished ...>',
      '12 writev(4, [{iov_base="x) = 9", iov_len=6}], 1) = 6',
      '13 <... fsync resumed>)              = 0',
      '12 unlinkat(3, "k", 0)                  = -1 ENOENT (No such file or directory)',
      '12 +++ exited with 0 +++',
    }, "\n"))
    assert.are.equal(5, #ev)
    assert.are.equal(".okof-tmp-a\\b\"c\n\127\195", ev[1].args[2].str)
    assert.are.equal(3, fd_of(ev[1].args[1]))
    assert.are.equal(4, ev[1].ret)
    assert.are.equal("a,b", ev[2].args[2].str)
    assert.are.equal(3, fd_of(ev[2].args[3]))
    assert.are.equal("writev", ev[3].name)
    assert.are.equal(6, ev[3].ret)
    assert.are.equal("fsync", ev[4].name)
    assert.are.equal(5, fd_of(ev[4].args[1]))
    assert.are.equal(0, ev[4].ret)
    assert.are.equal(-1, ev[5].ret)
    assert.are.equal("0", ev[5].args[3].text)
  end))
end)
