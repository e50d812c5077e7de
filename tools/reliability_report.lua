#!/usr/bin/env lua
-- tools/reliability_report.lua -- turn the reliability log into RELIABILITY.md.
--
--   lua tools/reliability_report.lua [options]
--     --log FILE        the log (default build/reliability.log): lines
--                       "RELIABILITY name=value" (the last one of a name
--                       counts) and "RELIABILITY name+=n" (summed), written
--                       by spec/reliability/rlog.lua and by `make reliability`
--                       ("RELIABILITY run.<step>=<exit status>")
--     --step NAME=FILE  the output of a step of the run (busted's summary
--                       line "N successes / N failures / N errors / N pending",
--                       and the fault injection spec's total line); repeatable
--     --fuzz-dir DIR    where libFuzzer logs (*.log) are (default build/fuzz);
--                       "stat::number_of_executed_units: N" lines are summed
--     --out FILE        the report (default RELIABILITY.md; "-" for stdout)
--     --command TEXT    the command that made the log (default "make reliability")
--     --date TEXT       the date shown (default: now, UTC)
--
-- Exits with status 1 when something was lost or failed, 0 otherwise (the
-- report is written either way). Plain Lua 5.1-5.4 / LuaJIT.

local format, concat = string.format, table.concat

local opts = {
  log = "build/reliability.log",
  fuzz = "build/fuzz",
  out = "RELIABILITY.md",
  command = "make reliability",
  steps = {},
}

local function usage(msg)
  io.stderr:write("reliability_report.lua: ", msg, "\n")
  os.exit(2)
end

do
  local i = 1
  while arg[i] do
    local a, v = arg[i], arg[i + 1]
    if a == "--log" then opts.log = v
    elseif a == "--fuzz-dir" then opts.fuzz = v
    elseif a == "--out" then opts.out = v
    elseif a == "--command" then opts.command = v
    elseif a == "--date" then opts.date = v
    elseif a == "--step" then
      local name, file = (v or ""):match("^([%w_%-]+)=(.+)$")
      if not name then usage("--step wants NAME=FILE") end
      opts.steps[#opts.steps + 1] = { name = name, file = file }
    else
      usage("unknown argument " .. tostring(a))
    end
    if v == nil then usage(a .. " wants a value") end
    i = i + 2
  end
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return "" end
  local s = p:read("*a") or ""
  p:close()
  return (s:gsub("%s+$", ""))
end

---------------------------------------------------------------------------
-- Inputs
---------------------------------------------------------------------------

-- The log: name -> value (string), sums as numbers.
local V = {}
local log_text = read(opts.log)
if log_text then
  for line in log_text:gmatch("[^\n]+") do
    local name, op, value = line:match("^RELIABILITY ([%w_%.%-]+)(%+?=)(.*)$")
    if name then
      if op == "+=" then
        V[name] = (tonumber(V[name]) or 0) + (tonumber(value) or 0)
      else
        V[name] = value
      end
    end
  end
end

local function num(name)
  return tonumber(V[name])
end

-- Step outputs: busted summaries and the fault injection totals.
local steps = {}
for _, s in ipairs(opts.steps) do
  local text = read(s.file)
  local st = { name = s.name, file = s.file, found = text ~= nil }
  if text then
    text = text:gsub("\27%[[%d;]*m", "") -- colours, if any
    for ok, fail, err, pend in text:gmatch("(%d+) successe?s? / (%d+) failures? / (%d+) errors? / (%d+) pending") do
      st.successes = (st.successes or 0) + tonumber(ok)
      st.failures = (st.failures or 0) + tonumber(fail)
      st.errors = (st.errors or 0) + tonumber(err)
      st.pending = (st.pending or 0) + tonumber(pend)
    end
    local points, runs = text:match("Fault injection: (%d+) fault points, (%d+) runs")
    if points then
      V["faults.points"] = V["faults.points"] or points
      V["faults.runs"] = V["faults.runs"] or runs
    end
  end
  steps[s.name] = st
  steps[#steps + 1] = st
end

-- libFuzzer logs.
local fuzz = {}
if opts.fuzz and opts.fuzz ~= "" then
  local list = sh("ls -1 " .. "'" .. opts.fuzz:gsub("'", "'\\''") .. "'" .. " 2>/dev/null")
  for name in list:gmatch("[^\n]+") do
    if name:match("%.log$") then
      local text = read(opts.fuzz .. "/" .. name) or ""
      local units, crashes = 0, 0
      local found = false
      for n in text:gmatch("stat::number_of_executed_units:%s*(%d+)") do
        units = units + tonumber(n)
        found = true
      end
      for _ in text:gmatch("==%d+==%s*ERROR") do crashes = crashes + 1 end
      for _ in text:gmatch("Test unit written to") do crashes = crashes + 1 end
      if found then
        fuzz[#fuzz + 1] = { target = name:gsub("%.log$", ""), units = units, crashes = crashes,
          seconds = tonumber(text:match("Done %d+ runs in (%d+) second")) }
      end
    end
  end
  table.sort(fuzz, function(a, b) return a.target < b.target end)
end

---------------------------------------------------------------------------
-- Rows
---------------------------------------------------------------------------

local function n(x)
  if x == nil then return "?" end
  local s = format("%d", math.floor(tonumber(x) or 0))
  -- thousands separators for readability
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end

-- Failed tests of a spec that counts its tests (RL.test): nil when it
-- did not run at all.
local function failed_tests(prefix)
  local t = num(prefix .. ".tests")
  if not t then return nil end
  return t - (num(prefix .. ".passed") or 0), t
end

local rows = {}
local bad = false

-- A row: name, what was tried, what was lost/failed (a number, or nil
-- when the test did not run), notes.
local function row(name, where, tried, lost, note)
  if lost == nil then tried = "-" end
  local result
  if lost == nil then
    result = "not run"
    bad = true
  elseif lost == 0 then
    result = "0"
  else
    result = "**" .. tostring(lost) .. "**"
    bad = true
  end
  rows[#rows + 1] = { name = name, where = where, tried = tried, result = result, note = note or "" }
end

local function run_status(step)
  local s = V["run." .. step]
  return s and tonumber(s)
end

-- crash
do
  local failed = failed_tests("crash")
  local lost
  if failed then lost = (num("crash.lost") or 0) + failed end
  if num("crash.kills") then
    row("Crash (kill -9)", "spec/reliability/crash_rounds_spec.lua",
      format("%s SIGKILLs of a writer (sync = \"none\") 1-30 ms into its run, %s keys, values of %d size classes " ..
        "below and above compress_min; %s reads checked after the kills, %s new values seen; %s kills left a " ..
        "temporary file, %s swept; %s s",
        n(V["crash.kills"]), n(V["crash.keys"]), num("crash.size_classes") or 0, n(V["crash.reads_checked"]), n(V["crash.values_changed"]),
        n(V["crash.kills_leaving_tmp"]), n(V["crash.tmp_swept"]), V["crash.seconds"] or "?"),
      lost, "keys with a torn, missing or foreign value, visible temporary files, or failed tests")
  else
    row("Crash (kill -9)", "spec/reliability/crash_rounds_spec.lua", "-", failed and (failed > 0 and failed or nil))
  end
end

-- concurrency
do
  local failed = failed_tests("concurrency")
  local lost
  if failed then lost = (num("concurrency.lost") or 0) + failed end
  if num("concurrency.writes") then
    row("Concurrency", "spec/reliability/concurrency_load_spec.lua",
      format("%s writer + %s reader processes on 6 keys for %s s (%s process-seconds): %s puts, %s values read and " ..
        "checked, %s walks; final values checked against the writers' logs: %s",
        n(V["concurrency.writers"]), n(V["concurrency.readers"]), V["concurrency.seconds"] or "?",
        n(V["concurrency.process_seconds"]), n(V["concurrency.writes"]), n(V["concurrency.reads_checked"]),
        n(V["concurrency.walks"]), n(V["concurrency.final_values_checked"])),
      lost, "torn, corrupt or missing values seen, failed writes, wrong final values, leftovers")
  else
    row("Concurrency", "spec/reliability/concurrency_load_spec.lua", "-", failed and (failed > 0 and failed or nil))
  end
end

-- strace
do
  local failed, tests = failed_tests("strace")
  row("Durability order (strace)", "spec/reliability/strace_spec.lua",
    format("%s traced runs (sync = \"full\" and \"none\"), %s system calls of put and del checked in order, " ..
      "%s directories made by open checked for the fsync of their parent; %s tests",
      n(V["strace.runs"]), n(V["strace.syscalls_checked"]), n(V["strace.created_dirs_checked"] or 0), n(tests)),
    failed, "tests failed")
end

-- hostile
do
  local failed, tests = failed_tests("hostile")
  row("Hostile directory", "spec/reliability/hostile_spec.lua",
    format("%s cases: symlinks, directories and FIFOs at a key's name, permission denied as an unprivileged user; %s tests",
      n(V["hostile.cases"]), n(tests)),
    failed, "tests failed")
end

-- temporary names taken in advance
do
  local failed, tests = failed_tests("tmpnames")
  row("Temporary-name squatting", "spec/reliability/tmpnames_spec.lua",
    format("%s leftover temporary names of this process id (earlier releases' forms) in each store, %s puts, adds " ..
      "and put_many items written past them; %s tests",
      n(V["tmpnames.squatted"]), n(V["tmpnames.writes"]), n(tests)),
    failed, "writes that failed or touched the squatted files, or failed tests")
end

-- bad input
do
  local failed, tests = failed_tests("badinput")
  local lost
  if failed then lost = failed + (num("badinput.failures") or 0) end
  row("Bad input", "spec/reliability/badinput_spec.lua",
    format("%s calls with wrong types, nil, empty, 1 MiB and NaN arguments to every function (add and put_many " ..
      "included), bad option values, wrong self, closed handles, hostile keys; %s tests",
      n(V["badinput.cases"]), n(tests)),
    lost, "calls that crashed, worked against the README or raised without naming the function and argument")
end

-- zero-filled value files (spec/corruption_spec.lua)
do
  local failed, tests = failed_tests("zerofill")
  row("Zero-filled files", "spec/corruption_spec.lua",
    format("%s reads (get and each, legacy = true and not) of key files overwritten with 1 B to 1 MiB of zero " ..
      "bytes, and of raw 0x00 files; %s tests", n(V["zerofill.cases"]), n(tests)),
    failed, "zero-filled files read as a value, or raw files read without legacy = true")
end

-- files whose lengths claim more than they hold (spec/corruption_spec.lua)
do
  local failed, tests = failed_tests("memory")
  row("Memory bound (hostile lengths)", "spec/corruption_spec.lua",
    format("%s reads (get, each, the CLI's get and check) of 1 MB and 100 MB files whose chunks claim up to 5958 " ..
      "times their size, in a child process with a capped address space and its peak RSS measured; %s tests",
      n(V["memory.cases"]), n(tests)),
    failed, "reads that answered ENOMEM or grew the resident set beyond 4 times the file")
end

-- expiry (TTL)
do
  local failed = failed_tests("expiry")
  local lost
  if failed then lost = (num("expiry.lost") or 0) + failed end
  if num("expiry.puts_checked") then
    row("Expiry (TTL) races", "spec/reliability/expiry_spec.lua",
      format("%s puts over expired values read back while %s adds (%s won) and %s sweeps (%s files removed) ran; " ..
        "%s brief absences of a raced put (docs/ttl.md), none lost; %s reads with no expired value; " ..
        "%s rounds of %s contenders for an expired key, %s winners; %s racer wins (80 ms ttl) checked a ttl apart; " ..
        "%s SIGKILLed lock holders",
        n(V["expiry.puts_checked"]), n(V["expiry.adds"]), n(V["expiry.add_wins"]), n(V["expiry.sweeps"]),
        n(V["expiry.swept"]), n(V["expiry.windows"]), n(V["expiry.reads_checked"]), n(V["expiry.rounds"]),
        n(V["expiry.round_contenders"]), n(V["expiry.round_winners"]), n(V["expiry.racer_periods_checked"]),
        n(V["expiry.killed_holders"])),
      lost, "returned puts lost, live values removed, expired values read, rounds without exactly one winner, " ..
        "winners less than a ttl apart, failed tests")
  else
    row("Expiry (TTL) races", "spec/reliability/expiry_spec.lua", "-", failed and (failed > 0 and failed or nil))
  end
end

-- any other spec that counts its tests (RL.counted) and has no row above
do
  local known = { crash = true, concurrency = true, strace = true, hostile = true, badinput = true,
                  zerofill = true, memory = true, tmpnames = true, writefaults = true,
                  powercut = true, etcd = true, expiry = true }
  local extra = {}
  for name in pairs(V) do
    local prefix = name:match("^([%w_]+)%.tests$")
    if prefix and not known[prefix] then extra[#extra + 1] = prefix end
  end
  table.sort(extra)
  local TITLES = { reentry = "Re-entrancy (codec closes the handle)" }
  for _, prefix in ipairs(extra) do
    local failed, tests = failed_tests(prefix)
    row(TITLES[prefix] or prefix, "spec/reliability/" .. prefix .. "_spec.lua",
      format("%s tests", n(tests)), failed, "tests failed")
  end
end

-- power cut (spec/powercut): one row here, the table of every workload below
local powercut = {}
do
  local failed, tests = failed_tests("powercut")
  local runs, states, unexpected, known = {}, 0, 0, 0
  for name, value in pairs(V) do
    local w, sync, model = name:match("^powercut%.([%w_%-]+)%.(%a+)%.(%w+)%.states$")
    if w and w ~= "variant" then
      local p = "powercut." .. w .. "." .. sync .. "." .. model
      runs[#runs + 1] = { workload = w, sync = sync, model = model, states = tonumber(value) or 0,
        points = num(p .. ".points"), mode = V[p .. ".mode"] or "?",
        violations = num(p .. ".violations") or 0, unexpected = num(p .. ".unexpected") or 0,
        classes = V[p .. ".classes"] or "" }
    end
  end
  table.sort(runs, function(a, b)
    if a.workload ~= b.workload then return a.workload < b.workload end
    if a.sync ~= b.sync then return a.sync < b.sync end
    return a.model < b.model
  end)
  for _, r in ipairs(runs) do
    states = states + r.states
    unexpected = unexpected + r.unexpected
    known = known + (r.violations - r.unexpected)
  end
  powercut.runs = runs
  local lost
  if failed then lost = failed + unexpected end
  row("Power cut", "spec/powercut (make powercut)",
    format("%s crash states of %s workload runs (sync = \"full\" and \"none\", a strict POSIX and an ext4 model), " ..
      "each written out and read back; broken variants caught: no file fsync %s, no directory fsync %s, " ..
      "a reader of 0x00 files %s, a reader of expired values %s states; %s tests (table below)",
      n(states), n(#runs), n(V["powercut.variant.no-file-fsync.caught"]), n(V["powercut.variant.no-dir-fsync.caught"]),
      n(V["powercut.variant.accepts-0x00.caught"]), n(V["powercut.variant.ignores-expiry.caught"]), n(tests)),
    lost, "crash states read against the contract (wrong value, expired value, lost durable write, unexpected " ..
      "CORRUPT or error, leftovers), other than the known violations listed under the power cut table, or failed tests")
  powercut.known = known
end

-- etcd: spec/etcd on a 3-member cluster (not run where etcd is not installed)
do
  local failed, tests = failed_tests("etcd")
  local where = "spec/etcd/race_spec.lua, failover_spec.lua, layout_spec.lua, ttl_spec.lua"
  if failed == nil then
    rows[#rows + 1] = { name = "etcd cluster", where = where, tried = "-", result = "not run",
      note = "etcd not installed (Debian: etcd-server, etcd-client)" }
  else
    row("etcd cluster", where,
      format("%s tests on a 3-member etcd cluster: %s keys added by %s processes at once (one winner each); " ..
        "%s acknowledged puts of 2 writers read back after the leader was killed and restarted, then stopped and " ..
        "resumed (%s calls failed " ..
        "meanwhile); members stopped and killed below quorum, every member down, a wrong port, the first member " ..
        "of the URL dead, a walk's member killed",
        n(tests), n(V["etcd.race.keys"]), n(V["etcd.race.procs"]), n(V["etcd.failover.acked"]),
        n(V["etcd.failover.failed_calls"])),
      failed + (num("etcd.failover.lost") or 0), "acknowledged writes lost, or failed tests")
  end
end

-- corruption
do
  local st = steps.corruption
  local failed
  if st and st.successes then failed = st.failures + st.errors end
  local tried
  if num("corruption.mutations") then
    tried = format("%s damaged value files read back (every byte flip and truncation of real files, and a catalogue " ..
      "of hand-built invalid files)", n(V["corruption.mutations"]))
  elseif st and st.successes then
    tried = format("%s tests of damaged value files (every byte flip and truncation of real files, hand-built " ..
      "invalid files)", n(st.successes + st.failures + st.errors))
  else
    tried = "-"
  end
  if failed == nil and run_status("corruption") then failed = run_status("corruption") ~= 0 and 1 or 0 end
  row("Corruption", "spec/corruption_spec.lua", tried, failed, "damaged files read as a value instead of CORRUPT")
end

-- faults
do
  local st = steps.faults
  local failed
  if st and st.successes then failed = st.failures + st.errors end
  if failed == nil and run_status("faults") then failed = run_status("faults") ~= 0 and 1 or 0 end
  local tried = "-"
  if V["faults.points"] then
    tried = format("%s fault points, %s runs: every libc call of every operation failed in turn with ENOSPC, EIO, " ..
      "EACCES, EINTR, short transfers", n(V["faults.points"]), n(V["faults.runs"]))
  end
  row("Fault injection", "spec/faults/faults_spec.lua (make faults)", tried, failed,
    "operations that misreported, lost the old value, or left files or descriptors")
end

-- write path faults (run in the faults step)
do
  local failed, tests = failed_tests("writefaults")
  if failed == nil and run_status("faults") and run_status("faults") ~= 0 then failed = 1 end
  row("Write-path faults", "spec/faults/write_faults_spec.lua (make faults)",
    format("%s put_many batches whose fsync of a temporary file failed with EIO, %s adds whose link(2) made the " ..
      "link and answered EEXIST (NFS); %s tests",
      n(V["writefaults.batch_fsync_failures"]), n(V["writefaults.nfs_link_eexist"]), n(tests)),
    failed, "put_many flush failures not reported, old values lost, temporary files or descriptors left; adds misreported")
end

-- fuzz
do
  if #fuzz > 0 then
    local parts, crashes = {}, 0
    for _, f in ipairs(fuzz) do
      parts[#parts + 1] = format("%s: %s executions%s", f.target, n(f.units),
        f.seconds and format(" in %d s", f.seconds) or "")
      crashes = crashes + f.crashes
    end
    row("Fuzzing (libFuzzer)", "fuzz/ (make fuzz)", concat(parts, "; "), crashes, "crashes and sanitizer reports")
  else
    rows[#rows + 1] = { name = "Fuzzing (libFuzzer)", where = "fuzz/ (make fuzz)",
      tried = "no libFuzzer log in " .. tostring(opts.fuzz), result = "not run", note = "" }
  end
end

-- steps that failed as a whole
local step_failures = {}
for name, value in pairs(V) do
  local step = name:match("^run%.(.+)$")
  if step and step ~= "lua" and tonumber(value) and tonumber(value) ~= 0 then
    step_failures[#step_failures + 1] = step .. " (exit status " .. value .. ")"
    bad = true
  end
end
table.sort(step_failures)

---------------------------------------------------------------------------
-- Output
---------------------------------------------------------------------------

local date = opts.date or os.date("!%Y-%m-%d %H:%M UTC")
local commit = sh("git rev-parse --short HEAD")
local dirty = sh("git status --porcelain --untracked-files=no") ~= ""
local osname = sh("uname -srm")

local out = {}
local function w(s) out[#out + 1] = s end

w("# Reliability")
w("")
w("What okofdb's reliability tests tried, and what was lost. Every number")
w("in the last column should be 0. Generated by `tools/reliability_report.lua`")
w("from the log of one run; do not edit by hand, run the command again.")
w("")
w("- Date: " .. date)
w("- Command: `" .. opts.command .. "`")
if commit ~= "" then w("- Commit: " .. commit .. (dirty and " (with uncommitted changes)" or "")) end
if V["run.lua"] then w("- Lua: " .. V["run.lua"]) end
if osname ~= "" then w("- System: " .. osname) end
w("")
w("| Test | What it tried | Lost / failed |")
w("|---|---|---|")
for _, r in ipairs(rows) do
  local tried = r.tried:gsub("|", "\\|")
  w(format("| %s<br>`%s` | %s | %s |", r.name, r.where, tried, r.result))
end
w("")
w("\"Lost / failed\" counts, per row:")
w("")
for _, r in ipairs(rows) do
  if r.note ~= "" then w("- " .. r.name .. ": " .. r.note .. ".") end
end
if #step_failures > 0 then
  w("")
  w("**Steps that failed:** " .. concat(step_failures, ", ") .. ".")
end
if powercut.runs and #powercut.runs > 0 then
  w("")
  w("## Power cut: crash states by workload and model")
  w("")
  w("Every prefix of each workload's recorded file system calls is a crash point;")
  w("each crash state (docs/durability.md defines the models) is written out and")
  w("opened as after a reboot. \"exhaustive\": every state of every crash point;")
  w("\"sampled\": crash points with too many states are sampled (seeded).")
  w("Known violations are faults of the code as it was, tolerated by")
  w("spec/powercut/known.lua until the fix is in.")
  w("")
  w("| Workload | sync | Model | Crash points | Crash states | Explored | Violations | Known violations |")
  w("|---|---|---|---|---|---|---|---|")
  for _, r in ipairs(powercut.runs) do
    local unexpected = r.unexpected == 0 and "0" or ("**" .. n(r.unexpected) .. "**")
    local k = r.violations - r.unexpected
    w(format("| %s | %s | %s | %s | %s | %s | %s | %s |", r.workload, r.sync, r.model, n(r.points),
      n(r.states), r.mode, unexpected, k == 0 and "0" or (n(k) .. " (" .. r.classes .. ")")))
  end
end
w("")
w("## What the tests check")
w("")
w("- **Crash**: a writer process is killed with SIGKILL at a random moment,")
w("  hundreds of times. After each kill every key holds exactly the value it")
w("  held before or a complete value the killed writer wrote (values describe")
w("  themselves and are rebuilt and compared whole), `get` never fails,")
w("  `keys` and `each` show no temporary file, and at the end `sweep(0)`")
w("  removes every leftover.")
w("- **Concurrency**: writer and reader processes share the same keys; readers")
w("  never see a torn, corrupt or missing value, writers never fail, and the")
w("  final value of each key is the last one some writer put to it.")
w("- **Durability order**: strace shows, for `sync = \"full\"`, the temporary")
w("  file created with `O_CREAT|O_EXCL`, written, fsynced, closed and renamed")
w("  over the key's file, then the directory fsynced; for `del`, the unlink")
w("  then the directory fsync; for `open` creating a store, each `mkdir`")
w("  followed by an fsync of its parent and the new store fsynced; for")
w("  `sync = \"none\"`, no fsync at all.")
w("- **Hostile directory**: a symlink at a key's name is never followed (ELOOP;")
w("  put replaces the link, del removes it, the target is untouched); a")
w("  directory gives EISDIR; a FIFO gives an error at once, not a hang;")
w("  permission denied gives EACCES.")
w("- **Bad input**: every argument of every function with every kind of bad")
w("  value either works as the README says or raises an error naming the function")
w("  and the argument.")
w("- **Re-entrancy**: a codec whose encode or decode closes the handle in the")
w("  middle of an operation; the operation must raise, never write through the")
w("  closed handle (into whatever reused its memory and descriptor), never crash.")
w("- **Corruption**: every single-byte change and every truncation of real")
w("  value files, and hand-built invalid files, read as `CORRUPT`, never as a")
w("  wrong value.")
w("- **Fault injection**: an LD_PRELOAD shim fails each C library call of each")
w("  operation in turn; the operation reports the error and keeps the old value.")
w("- **Write-path faults**: the fsync of any temporary file of a durable")
w("  `put_many` fails with EIO: the batch reports it, with no key written, no")
w("  temporary file or descriptor left, every old value intact; a `link(2)`")
w("  that made the link but answered EEXIST (a retransmission over NFS): `add`")
w("  returns `true`.")
w("- **Temporary-name squatting**: the names earlier releases would have used")
w("  for this process id are all taken; every write succeeds regardless.")
w("- **Power cut**: an LD_PRELOAD recorder logs each file system call of a")
w("  workload (put new and over, values of several chunks, add, put_many,")
w("  del, open that creates directories); every state a power cut may leave")
w("  after each prefix, under strict POSIX and under ext4 data=ordered, is")
w("  read back: never a wrong value, with `sync = \"full\"` every returned")
w("  write there, `keys` and `each` agree with `get`, `sweep` removes the")
w("  leftovers. Variants without the file fsync, without the directory fsync")
w("  and with a reader of raw 0x00 files must be caught.")
w("- **Fuzzing**: the libFuzzer targets of fuzz/ (value decoding, key names),")
w("  under ASan and UBSan.")
w("")

local text = concat(out, "\n")
if opts.out == "-" then
  io.write(text)
else
  local f = assert(io.open(opts.out, "wb"))
  f:write(text)
  f:close()
end
os.exit(bad and 1 or 0)
