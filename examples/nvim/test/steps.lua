-- steps.lua -- the Neovim side of examples/nvim/test.sh.
--
-- Loaded with --cmd (before the plugin, so that vim.notify is captured from
-- the start); test.sh then runs `-c 'lua OkofTest.run()'`. The step is
-- chosen by $OKOF_STEP; each check appends "ok NAME" or "not ok NAME: why"
-- to $OKOF_RESULTS, and a step that ran to its end appends "done STEP".

local step = assert(os.getenv("OKOF_STEP"), "OKOF_STEP not set")
local results_path = assert(os.getenv("OKOF_RESULTS"), "OKOF_RESULTS not set")
local label = step .. (os.getenv("OKOF_WORKER") and ("." .. os.getenv("OKOF_WORKER")) or "")

local T = {}
_G.OkofTest = T

local uv = vim.uv or vim.loop

local notes = {} -- what the plugin reported through vim.notify
vim.notify = function(msg, level)
  notes[#notes + 1] = { msg = tostring(msg), level = level }
end

local failed = 0

local function record(line)
  local f = assert(io.open(results_path, "a"))
  f:write(line, "\n")
  f:close()
end

local function check(name, cond, why)
  if cond then
    record("ok " .. label .. ": " .. name)
  else
    failed = failed + 1
    record("not ok " .. label .. ": " .. name .. ": " .. tostring(why))
  end
end

local function eq(name, got, want)
  check(name, got == want,
    string.format("got %s, want %s", vim.inspect(got), vim.inspect(want)))
end

-- The notes matching pattern since index from.
local function notes_matching(pattern, from)
  local found = {}
  for i = from or 1, #notes do
    if notes[i].msg:find(pattern) then
      found[#found + 1] = notes[i].msg
    end
  end
  return found
end

-- Output of an Ex command.
local function ex(cmd)
  return vim.api.nvim_exec(cmd, true)
end

local BIG = string.rep("okofstate keeps its state in okofdb. ", 300) -- compressed

-- ---- first run -------------------------------------------------------------

function T.first()
  local st = require("okofstate")
  local db = st.store()
  check("store opened", db ~= nil, notes[1] and notes[1].msg)
  eq("no errors at startup", #notes, 0)
  eq("run counted", db:get("runs"), "1")
  eq("no previous run", st.previous_run, nil)
  local t = tonumber(db:get("last_run"))
  check("time of the run stored", t ~= nil and math.abs(t - os.time()) < 60, t)

  ex("OkofSet color dark blue")
  ex("OkofSet greeting   hello,  world ")
  ex("OkofSet Ünïcode/Name:1 é")
  eq(":OkofSet stores the rest of the line", st.get("color"), "dark blue")
  eq(":OkofSet keeps inner spaces", st.get("greeting"), "hello,  world ")
  eq("any bytes in a name", st.get("Ünïcode/Name:1"), "é")
  eq(":OkofGet shows the value", ex("OkofGet color"), "color = dark blue")
  eq(":OkofGet of an unset name", ex("OkofGet nothing"), "nothing is not set")
  check("big value stored", st.set("big", BIG) == true, "set failed")
  eq("counter 1", st.incr("counter"), 1)
  eq("counter 2", st.incr("counter"), 2)
  eq("names listed", table.concat(st.names(), ","), "big,color,counter,greeting,Ünïcode/Name:1")
  eq("names by prefix", table.concat(st.names("co"), ","), "color,counter")
  local completion = vim.fn.getcompletion("OkofGet gr", "cmdline")
  eq("completion of names", table.concat(completion, ","), "greeting")

  -- Operational error: a directory stands at a key's file name.
  local before = #notes
  assert(uv.fs_mkdir(st.dir() .. "/user.blocked", 448))
  local ok, msg, code = st.set("blocked", "x")
  eq("put over a directory fails", ok, nil)
  eq("error code returned", code, "EISDIR")
  check("error message names the key", type(msg) == "string" and msg:find("user.blocked", 1, true), msg)
  eq("error reported with vim.notify", #notes_matching("%[EISDIR%]", before + 1), 1)
  ex("OkofSet blocked y") -- the command reports it too, and does not raise
  eq(":OkofSet reports the error", #notes_matching("%[EISDIR%]", before + 1), 2)
  assert(uv.fs_rmdir(st.dir() .. "/user.blocked"))

  -- Programming error (a name too long for a file name) raises in the API
  -- and is reported, not raised, by the command.
  before = #notes
  local long = string.rep("n", 300)
  check("too long a name raises", not pcall(st.set, long, "v"), "no error")
  local cmd_ok, cmd_err = pcall(ex, "OkofSet " .. long .. " v")
  check(":OkofSet does not raise", cmd_ok, cmd_err)
  eq(":OkofSet reports the raised error", #notes_matching("too long", before + 1), 1)
  ex("OkofSet lonely")
  eq(":OkofSet without a value shows usage", #notes_matching("usage", before + 1), 1)
end

-- ---- second run: the first run's state is there ----------------------------

function T.second()
  local st = require("okofstate")
  local db = st.store()
  check("store opened", db ~= nil, notes[1] and notes[1].msg)
  eq("no errors at startup", #notes, 0)
  eq("second run counted", db:get("runs"), "2")
  check("previous run's time read", type(st.previous_run) == "number"
    and st.previous_run <= os.time() and os.time() - st.previous_run < 60, st.previous_run)
  eq("color persisted", st.get("color"), "dark blue")
  eq("greeting persisted", st.get("greeting"), "hello,  world ")
  eq("unicode name persisted", st.get("Ünïcode/Name:1"), "é")
  eq("big value persisted", st.get("big"), BIG)
  eq("counter persisted", st.get("counter"), "2")
  eq("counter goes on", st.incr("counter"), 3)
  eq("no leftovers of failed writes", st.get("blocked"), nil)
  eq("names listed", table.concat(st.names(), ","), "big,color,counter,greeting,Ünïcode/Name:1")
  eq(":OkofInfo", ex("OkofInfo"):match("^okofstate: 2 runs, previous run %d+%-%d+%-%d+ [%d:]+, 5 names, store (.*)$"), st.dir())
  ex("OkofDel color")
  eq(":OkofDel removes", st.get("color"), nil)
  eq(":OkofDel of an unset name", ex("OkofDel color"), "color was not set")

  -- VimLeavePre closes the store; a later use opens it again.
  vim.api.nvim_exec_autocmds("VimLeavePre", { group = "okofstate" })
  eq("closed on VimLeavePre", tostring(db), "okofdb: closed")
  eq("reopened on use", st.get("greeting"), "hello,  world ")
  check("a new handle", st.store() ~= db, "same handle")
  eq("no errors", #notes, 0)
end

-- ---- without okofdb: errors are reported, nothing raises ---------------------

function T.nomodule()
  local st = require("okofstate")
  eq("the load error reported at startup", #notes_matching("cannot load okofdb"), 1)
  local ok, msg, code = st.get("color")
  eq("get fails", ok, nil)
  eq("with a code", code, "ENOMODULE")
  check("and a message", type(msg) == "string" and msg:find("okofdb_cpath", 1, true), msg)
  eq("and reports it", #notes_matching("cannot load okofdb"), 2)
  local cmd_ok, err = pcall(ex, "OkofGet color")
  check(":OkofGet does not raise", cmd_ok, err)
  eq(":OkofGet reports the error", #notes_matching("cannot load okofdb"), 3)
  cmd_ok, err = pcall(ex, "OkofInfo")
  check(":OkofInfo does not raise", cmd_ok, err)
  eq(":OkofInfo reports the error", #notes_matching("cannot load okofdb"), 4)
  -- Once the module can be found, the plugin works.
  vim.g.okofdb_cpath = os.getenv("OKOF_LATE_CPATH")
  eq("works once okofdb is found", st.set("late", "yes"), true)
  eq("and reads back", st.get("late"), "yes")
end

-- ---- two processes at once -------------------------------------------------

-- A value that says who wrote it: short or long, compressible or not.
local function make_value(id, i)
  local head = string.format("writer=%s i=%d\n", id, i)
  local body
  if i % 3 == 0 then
    body = "" -- short
  elseif i % 3 == 1 then
    body = string.rep(id .. i .. " ", 1000) -- long, compressible
  else
    local parts, x = {}, i * 7919 + id:byte()
    for n = 1, 3000 do -- long, not compressible
      x = (x * 1103515245 + 12345) % 2147483648
      parts[n] = string.char(x % 256)
    end
    body = table.concat(parts)
  end
  return head .. body .. string.format("\nend %s %d", id, i)
end

-- The value is exactly one written by some worker.
local function well_formed(v)
  if type(v) ~= "string" then
    return false
  end
  local id, i = v:match("^writer=(%u) i=(%d+)\n")
  return id ~= nil and v == make_value(id, tonumber(i))
end

function T.worker()
  local st = require("okofstate")
  local id = assert(os.getenv("OKOF_WORKER"))
  local n = tonumber(os.getenv("OKOF_N") or "200")
  local sync = assert(os.getenv("OKOF_SYNCDIR"))
  check("store opened", st.store() ~= nil, notes[1] and notes[1].msg)

  -- Start together: say we are ready, wait for test.sh's go.
  io.open(sync .. "/ready." .. id, "w"):close()
  local waited = 0
  while not uv.fs_stat(sync .. "/go") and waited < 20000 do
    uv.sleep(5)
    waited = waited + 5
  end
  check("started together", uv.fs_stat(sync .. "/go") ~= nil, "no go after 20 s")

  local bad_count, bad_put, bad_read, seen_other = 0, 0, 0, 0
  for i = 1, n do
    local v = make_value(id, i)
    if st.incr("count." .. id) ~= i then
      bad_count = bad_count + 1
    end
    if st.set("shared", v) ~= true then
      bad_put = bad_put + 1
    end
    if st.set("last." .. id, v) ~= true then
      bad_put = bad_put + 1
    end
    local s = st.get("shared")
    if not well_formed(s) then
      bad_read = bad_read + 1
    elseif not s:find("^writer=" .. id) then
      seen_other = seen_other + 1
    end
  end
  eq("own counter counted every increment", bad_count, 0)
  eq("every put succeeded", bad_put, 0)
  eq("every read of the shared key is one whole value", bad_read, 0)
  eq("no errors reported", #notes, 0)
  record("# worker " .. id .. " saw the other's value " .. seen_other .. " times")
end

function T.verify()
  local st = require("okofstate")
  local n = tonumber(os.getenv("OKOF_N") or "200")
  for _, id in ipairs({ "A", "B" }) do
    eq("count." .. id .. " holds its final value", st.get("count." .. id), tostring(n))
    eq("last." .. id .. " holds its final value", st.get("last." .. id), make_value(id, n))
  end
  local shared = st.get("shared")
  check("shared holds the last value of one writer",
    shared == make_value("A", n) or shared == make_value("B", n),
    well_formed(shared) and shared:match("^[^\n]*") or "not a whole value")
  local tmp = 0
  local handle = uv.fs_scandir(st.dir())
  while handle do
    local name = uv.fs_scandir_next(handle)
    if name == nil then
      break
    end
    if name:find("^%.okof%-tmp%-") then
      tmp = tmp + 1
    end
  end
  eq("no temporary files left", tmp, 0)
  eq("no errors", #notes, 0)
end

-- ---- driver ------------------------------------------------------------------

if step == "nomodule" then
  -- Hide every okofdb the default paths might find.
  package.path = ""
  package.cpath = ""
  vim.g.okofdb_cpath = nil
  vim.g.okofdb_path = nil
end

function T.run()
  local ok, err = xpcall(T[step], debug.traceback)
  check("step ran without raising", ok, err)
  for _, note in ipairs(notes) do
    record("# notify: " .. note.msg)
  end
  record("done " .. step)
  if failed > 0 then
    vim.cmd("cquit " .. failed)
  end
end
