-- spec/support/etcd_cluster.lua -- a throwaway etcd cluster for the specs
-- and the bench.
--
-- Starts etcd members (3 by default) on free loopback ports with their data
-- in a temporary directory, waits until the cluster answers, and lets a
-- spec kill (SIGKILL), pause (SIGSTOP), resume (SIGCONT) and restart
-- members. Plain Lua (io.popen, os.execute) for Lua 5.1-5.4 and LuaJIT.
--
-- One cluster per spec file, stopped in teardown whatever happens (lazy_:
-- only when a test of the block runs, so that a run that leaves out the
-- tag etcd starts no cluster):
--
--   local EC = require("support.etcd_cluster")
--   if not EC.available() then
--     describe("etcd", function() pending(EC.why_not()) end)
--     return
--   end
--   describe("on etcd #etcd", function()
--     local cluster
--     lazy_setup(function() cluster = EC.start() end)
--     lazy_teardown(function() if cluster then cluster:stop() end end)
--     -- or, with a scratch directory too (EC.hooks):
--     -- local start, stop = EC.hooks(function(c, d) cluster, dir = c, d end)
--     -- lazy_setup(start); lazy_teardown(stop)
--     before_each(function() cluster:heal() end) -- every member up again
--     it("...", function()
--       cluster:pause(2)
--       finally(function() cluster:resume(2) end)  -- undo it even on failure
--       local db = assert(okofdb.open(cluster:url("app/conf"), { timeout = 1 }))
--       ...
--     end)
--   end)
--
-- stop() is idempotent. EC.start() cleans up after itself when it fails.
-- Two safety nets keep etcd processes from outliving the run: a watchdog
-- shell per cluster kills the members once the Lua process that started
-- them is gone, and EC.start() first removes clusters whose owner died
-- (their member pids are in DIR/pids, the owner's pid in DIR/owner).
--
-- Raw access for specs: cluster:get_raw(key) (the etcd value's bytes or
-- nil), cluster:put_raw(key, bytes), cluster:del_raw(key),
-- cluster:keys_raw(prefix), all through etcdctl (ETCDCTL_API=3).

local H = require("helpers")

local EC = {}

local format, byte, char, sub = string.format, string.byte, string.char, string.sub
local concat = table.concat
local floor = math.floor

EC.ETCD = os.getenv("OKOF_ETCD") or "etcd"
EC.ETCDCTL = os.getenv("OKOF_ETCDCTL") or "etcdctl"
EC.HOST = "127.0.0.1"

-- How long (seconds) a cluster or a restarted member may take to answer.
EC.START_TIMEOUT = tonumber(os.getenv("OKOF_ETCD_START_TIMEOUT") or "") or 60

local TMP = os.getenv("TMPDIR")
if not TMP or TMP == "" then TMP = "/tmp" end
local PREFIX = "okofdb-etcd."

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Wall seconds with fractions (os.time() has whole seconds only; a
-- bounded wait, not a measure of speed).
local function now()
  local s = H.sh("date +%s.%N")
  return tonumber(s:match("[%d%.]+")) or os.time()
end
EC.now = now

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_INDEX = {}
for i = 1, 64 do B64_INDEX[byte(B64, i)] = i - 1 end

-- Decode base64 (no line breaks); raises on a foreign character.
function EC.base64_decode(s)
  s = s:gsub("=+$", "")
  local out, n = {}, 0
  local acc, bits = 0, 0
  for i = 1, #s do
    local v = B64_INDEX[byte(s, i)]
    assert(v, "base64_decode: bad character")
    acc = acc * 64 + v
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local p = 2 ^ bits
      local b = floor(acc / p)
      acc = acc - b * p
      n = n + 1
      out[n] = char(b)
    end
  end
  return concat(out)
end

function EC.base64_encode(s)
  local out, n = {}, 0
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local d1 = floor(v / 262144)
    local d2 = floor(v / 4096) % 64
    local d3 = floor(v / 64) % 64
    local d4 = v % 64
    n = n + 1
    out[n] = sub(B64, d1 + 1, d1 + 1) .. sub(B64, d2 + 1, d2 + 1) ..
             (b and sub(B64, d3 + 1, d3 + 1) or "=") .. (c and sub(B64, d4 + 1, d4 + 1) or "=")
  end
  return concat(out)
end

-- Whether pid is a process that has not exited (a zombie has: processes
-- started in the background are reparented, and may wait to be reaped).
local function alive(pid)
  if pid == nil then return false end
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("*l") or ""
  f:close()
  return not stat:match("^%d+ %b() Z")
end

-- Whether pid is a live (not zombie) process whose command line names dir.
local function is_member_of(pid, dir)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("*l") or ""
  f:close()
  if stat:match("^%d+ %b() Z") then return false end
  local c = io.open("/proc/" .. pid .. "/cmdline", "rb")
  if not c then return false end
  local cmd = c:read("*a") or ""
  c:close()
  return cmd:find(dir, 1, true) ~= nil
end

-- Local TCP ports in LISTEN state (0A), from /proc/net/tcp{,6}.
local function listening()
  local t = {}
  for _, f in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local s = H.read_file(f) or ""
    for port, state in s:gmatch("\n%s*%d+: %x+:(%x+) %x+:%x+ (%x%x)") do
      if state == "0A" then t[tonumber(port, 16)] = true end
    end
  end
  return t
end

-- Wait (bounded) until pid is gone or a zombie and nothing listens on the
-- ports any more: the leader thread of a killed process may be a zombie
-- while its other threads still hold its sockets (a connection to the
-- port is then accepted by the kernel and reset).
local function wait_gone(pid, dir, ports)
  for _ = 1, 400 do
    if not is_member_of(pid, dir) then
      local l = listening()
      local any = false
      for _, p in ipairs(ports or {}) do
        if l[p] then any = true end
      end
      if not any then return true end
    end
    H.sleep(0.05)
  end
  return false
end

-- Local TCP ports in use (any state), from /proc/net/tcp{,6}.
local function ports_in_use()
  local used = {}
  for _, f in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local s = H.read_file(f) or ""
    for port in s:gmatch("\n%s*%d+: %x+:(%x+) ") do
      used[tonumber(port, 16)] = true
    end
  end
  return used
end

local seeded = false
local function seed()
  if seeded then return end
  seeded = true
  local pid = tonumber(H.pid() or "0") or 0
  local ns = tonumber((H.sh("date +%N"):match("%d+"))) or 0
  math.randomseed((os.time() * 1000 + pid * 7919 + ns) % 2147483647)
end

-- n distinct ports from 20000..59999 that nothing uses now.
function EC.free_ports(n)
  seed()
  local used, got, t = ports_in_use(), {}, {}
  local tries = 0
  while #t < n do
    tries = tries + 1
    assert(tries < 10000, "etcd_cluster: no free ports")
    local p = math.random(20000, 59999)
    if not used[p] and not got[p] then
      got[p] = true
      t[#t + 1] = p
    end
  end
  return t
end

---------------------------------------------------------------------------
-- Availability and leftovers
---------------------------------------------------------------------------

function EC.why_not()
  if not H.run("command -v " .. H.q(EC.ETCD) .. " >/dev/null 2>&1") then
    return "etcd is not installed (Debian: etcd-server)"
  end
  if not H.run("command -v " .. H.q(EC.ETCDCTL) .. " >/dev/null 2>&1") then
    return "etcdctl is not installed (Debian: etcd-client)"
  end
  return nil
end

function EC.available()
  return EC.why_not() == nil
end

-- Kill the members of clusters whose owner process is gone, remove their
-- data. Clusters of live owners (other runs) are left alone.
function EC.reap_leftovers(tmp)
  local dirs = H.sh("ls -d " .. H.q(tmp or TMP) .. "/" .. PREFIX .. "* 2>/dev/null")
  for dir in dirs:gmatch("[^\n]+") do
    local owner = trim(H.read_file(dir .. "/owner") or "")
    if owner:match("^%d+$") and not alive(owner) then
      for pid in (H.read_file(dir .. "/pids") or ""):gmatch("%d+") do
        if is_member_of(pid, dir) then H.run("kill -9 " .. pid .. " 2>/dev/null") end
      end
      H.run("rm -rf " .. H.q(dir))
    end
  end
end

---------------------------------------------------------------------------
-- A cluster
---------------------------------------------------------------------------

local Cluster = {}
Cluster.__index = Cluster

local function member_cmd(c, i)
  local m = c.members[i]
  local peers = {}
  for j, o in ipairs(c.members) do
    peers[j] = o.name .. "=http://" .. EC.HOST .. ":" .. o.peer_port
  end
  local client = "http://" .. EC.HOST .. ":" .. m.client_port
  local peer = "http://" .. EC.HOST .. ":" .. m.peer_port
  local args = {
    H.q(EC.ETCD),
    "--name", m.name,
    "--data-dir", H.q(m.data_dir),
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", concat(peers, ","),
    "--initial-cluster-state", "new",
    "--initial-cluster-token", H.q(c.token),
    "--heartbeat-interval", "50",
    "--election-timeout", "500",
    "--quota-backend-bytes", tostring(c.quota),
    "--log-level", "warn",
  }
  for _, f in ipairs(c.flags) do args[#args + 1] = H.q(f) end
  return concat(args, " ")
end

local function write_pids(c)
  local t = {}
  for _, m in ipairs(c.members) do
    if m.pid then t[#t + 1] = m.pid end
  end
  H.write_file(c.dir .. "/pids", concat(t, "\n") .. "\n")
end

-- Start member i's process (its data dir is kept across restarts).
local function spawn(c, i)
  local m = c.members[i]
  local out = H.sh(member_cmd(c, i) .. " </dev/null >>" .. H.q(m.log) .. " 2>&1 & echo $!")
  m.pid = out:match("%d+")
  assert(m.pid, "etcd_cluster: could not start " .. m.name)
  m.paused = false
  write_pids(c)
end

-- Shell watchdog: once the owner process is gone and the cluster's
-- directory is still there, kill the members and remove it.
local function start_watchdog(c, owner)
  local d = H.q(c.dir)
  local script = table.concat({
    "while kill -0 " .. owner .. " 2>/dev/null && [ -d " .. d .. " ]; do sleep 1; done;",
    "if [ -d " .. d .. " ]; then",
    "for p in $(cat " .. d .. "/pids 2>/dev/null); do",
    "grep -qaF " .. d .. " /proc/$p/cmdline 2>/dev/null && kill -9 $p 2>/dev/null;",
    "done; sleep 0.5; rm -rf " .. d .. "; fi",
  }, " ")
  H.run("nohup sh -c " .. H.q(script) .. " </dev/null >/dev/null 2>&1 &")
end

local function etcdctl_cmd(endpoints, args, timeout)
  return "ETCDCTL_API=3 " .. H.q(EC.ETCDCTL) ..
         " --endpoints=" .. concat(endpoints, ",") ..
         " --dial-timeout=" .. format("%dms", floor((timeout or 5) * 1000)) ..
         " --command-timeout=" .. format("%dms", floor((timeout or 5) * 1000)) ..
         " " .. args
end

-- Client address ("127.0.0.1:PORT") of member i.
function Cluster:endpoint(i)
  return EC.HOST .. ":" .. self.members[i].client_port
end

-- Client addresses of the members, in the order given (default 1..n).
function Cluster:endpoints(order)
  local t = {}
  if not order then
    order = {}
    for i = 1, #self.members do order[i] = i end
  end
  for j, i in ipairs(order) do t[j] = self:endpoint(i) end
  return t
end

-- The etcd:// URL of the store at path ("app/conf" or "/app/conf"), with
-- the members in the order given (a list of member numbers, default all).
function Cluster:url(path, order)
  path = (path or "okofdb"):gsub("^/+", "")
  return "etcd://" .. concat(self:endpoints(order), ",") .. "/" .. path
end

-- Run etcdctl against the members given (default: every running one).
-- Returns stdout+stderr and whether it exited with 0.
function Cluster:etcdctl(args, opts)
  opts = opts or {}
  local eps = opts.endpoints
  if not eps then
    eps = {}
    for i, m in ipairs(self.members) do
      if m.pid and not m.paused then eps[#eps + 1] = self:endpoint(i) end
    end
    if #eps == 0 then eps = self:endpoints() end
  end
  local cmd = etcdctl_cmd(eps, args, opts.timeout)
  local out = H.sh(cmd .. " 2>&1; echo \"status=$?\"")
  local body, status = out:match("^(.-)status=(%d+)%s*$")
  return body or out, status == "0"
end

-- Whether member i answers a linearizable read (so: is up, with quorum).
function Cluster:healthy(i, timeout)
  local _, ok = self:etcdctl("endpoint health", { endpoints = { self:endpoint(i) },
                                                  timeout = timeout or 2 })
  return ok
end

local function dead_member(c)
  for _, m in ipairs(c.members) do
    if m.pid and not m.paused and not is_member_of(m.pid, c.dir) then return m end
  end
  return nil
end

-- Wait until the members given (default: every running, unpaused one)
-- answer health checks; raises after timeout seconds, or at once when a
-- member process has died.
function Cluster:wait_healthy(which, timeout)
  timeout = timeout or EC.START_TIMEOUT
  if not which then
    which = {}
    for i, m in ipairs(self.members) do
      if m.pid and not m.paused then which[#which + 1] = i end
    end
  end
  local deadline = now() + timeout
  while true do
    local all = true
    for _, i in ipairs(which) do
      if not self:healthy(i, 2) then all = false break end
    end
    if all then return true end
    local dead = dead_member(self)
    if dead then
      error("etcd_cluster: " .. dead.name .. " exited; its log:\n" ..
            (H.read_file(dead.log) or ""):sub(-2000), 2)
    end
    if now() > deadline then
      error(format("etcd_cluster: not healthy after %ds", timeout), 2)
    end
    H.sleep(0.1)
  end
end

local function signal(c, i, sig)
  local m = c.members[i]
  assert(m, "etcd_cluster: no member " .. tostring(i))
  if m.pid and is_member_of(m.pid, c.dir) then
    H.run("kill -" .. sig .. " " .. m.pid .. " 2>/dev/null")
    return true
  end
  return false
end

-- SIGKILL member i (its data stays for restart()).
function Cluster:kill(i)
  local m = self.members[i]
  if signal(self, i, "KILL") then wait_gone(m.pid, self.dir, { m.client_port, m.peer_port }) end
  m.pid, m.paused = nil, false
  write_pids(self)
end

-- SIGSTOP member i: its sockets stay open and nothing answers.
function Cluster:pause(i)
  if signal(self, i, "STOP") then self.members[i].paused = true end
end

-- SIGCONT member i.
function Cluster:resume(i)
  if signal(self, i, "CONT") then self.members[i].paused = false end
end

-- Whether member i's process runs (paused or not).
function Cluster:running(i)
  local m = self.members[i]
  return m.pid ~= nil and is_member_of(m.pid, self.dir)
end

-- Start member i again (killing it first if it runs) on its data and
-- ports. wait: "member" (default) waits until it answers, false does not.
function Cluster:restart(i, wait)
  if self:running(i) then self:kill(i) end
  local ok, err
  for _ = 1, 50 do -- its ports may take a moment to be free after a kill
    spawn(self, i)
    if wait == false then return end
    ok, err = pcall(self.wait_healthy, self, { i })
    if ok then return end
    if self:running(i) then break end
    H.sleep(0.2)
  end
  error(err, 2)
end

-- etcdctl args, again up to 5 times while it fails (a request made during
-- an election may fail although the cluster has quorum).
local function retried(c, args)
  local out, ok
  for _ = 1, 5 do
    out, ok = c:etcdctl(args)
    if ok then break end
    H.sleep(0.2)
  end
  return out, ok
end

-- Every member up again: paused ones resumed, dead ones restarted; then
-- wait until all answer.
function Cluster:heal()
  for i, m in ipairs(self.members) do
    if m.paused then self:resume(i) end
    if not self:running(i) then
      self:kill(i)
      spawn(self, i)
    end
  end
  self:wait_healthy()
end

-- Drop the cluster's history (compact to the newest revision) and give
-- the space back (defragment every member): for long runs like the bench.
function Cluster:compact()
  local out, ok = retried(self, "get -w json --limit 1 -- /")
  local rev = ok and out:match('"revision":(%d+)')
  if not rev then return false end
  local _, c_ok = self:etcdctl("compact --physical " .. rev, { timeout = 30 })
  local _, d_ok = self:etcdctl("defrag --cluster", { timeout = 60 })
  return c_ok and d_ok
end

-- The number of the member that is the leader now, or nil.
function Cluster:leader()
  local out, ok = self:etcdctl("endpoint status -w json", { timeout = 2 })
  if not ok then return nil end
  for i = 1, #self.members do
    local port = self.members[i].client_port
    local entry = out:match('"Endpoint":"[^"]*:' .. port .. '"(.-)"raftAppliedIndex"')
    if entry then
      local id, leader = entry:match('"member_id":(%d+).-"leader":(%d+)')
      if id and id == leader then return i end
    end
  end
  return nil
end

-- Stop every member (SIGKILL) and remove the data; safe to call again.
function Cluster:stop()
  if self.stopped then return end
  self.stopped = true
  for i in ipairs(self.members) do
    pcall(self.kill, self, i)
  end
  H.run("rm -rf " .. H.q(self.dir))
end

-- The etcd value at key (any bytes), or nil when there is none.
function Cluster:get_raw(key)
  local out, ok = retried(self, "get -w json -- " .. H.q(key))
  assert(ok, "etcd_cluster: etcdctl get failed: " .. out)
  local v = out:match('"value":"([^"]*)"')
  if not v then return nil end
  return EC.base64_decode(v)
end

-- Put value (any bytes) at key.
function Cluster:put_raw(key, value)
  local f = self.dir .. "/put_raw.tmp"
  H.write_file(f, value)
  local out, ok = retried(self, "put -- " .. H.q(key) .. " < " .. H.q(f))
  os.remove(f)
  assert(ok, "etcd_cluster: etcdctl put failed: " .. out)
end

-- Delete key; returns how many keys went.
function Cluster:del_raw(key)
  local out, ok = retried(self, "del -- " .. H.q(key))
  assert(ok, "etcd_cluster: etcdctl del failed: " .. out)
  return tonumber(out:match("(%d+)")) or 0
end

-- Sorted list of the etcd keys that start with prefix.
function Cluster:keys_raw(prefix)
  local out, ok = retried(self, "get -w json --prefix --keys-only -- " .. H.q(prefix))
  assert(ok, "etcd_cluster: etcdctl get failed: " .. out)
  local t = {}
  for k in out:gmatch('"key":"([^"]*)"') do t[#t + 1] = EC.base64_decode(k) end
  table.sort(t)
  return t
end

-- Start a cluster. opts: size (default 3), flags (extra etcd arguments,
-- e.g. { "--max-txn-ops", "16" }), quota (backend bytes, default 128 MiB),
-- tmp (the directory to put the cluster's under, default $TMPDIR or /tmp).
function EC.start(opts)
  opts = opts or {}
  local why = EC.why_not()
  if why then error("etcd_cluster: " .. why, 2) end
  EC.reap_leftovers(TMP)
  if opts.tmp then EC.reap_leftovers(opts.tmp) end
  local size = opts.size or 3
  local last
  for _ = 1, 3 do -- a port taken between the choice and the bind: again
    local dir = trim(H.sh("mktemp -d " .. H.q((opts.tmp or TMP) .. "/" .. PREFIX .. "XXXXXX")))
    assert(dir ~= "" and H.is_dir(dir), "etcd_cluster: mktemp -d failed")
    local owner = H.pid() or "1"
    H.write_file(dir .. "/owner", owner .. "\n")
    local c = setmetatable({
      dir = dir, members = {}, flags = opts.flags or {},
      quota = opts.quota or 134217728,
      token = "okofdb-" .. dir:match("[^/]*$"),
    }, Cluster)
    local ports = EC.free_ports(2 * size)
    for i = 1, size do
      c.members[i] = {
        name = "m" .. i, client_port = ports[2 * i - 1], peer_port = ports[2 * i],
        data_dir = dir .. "/m" .. i, log = dir .. "/m" .. i .. ".log",
      }
    end
    start_watchdog(c, owner)
    local ok, err = pcall(function()
      for i = 1, size do spawn(c, i) end
      c:wait_healthy()
    end)
    if ok then return c end
    last = err
    c:stop()
  end
  error(last, 2)
end

---------------------------------------------------------------------------
-- Client processes (spec/support/etcd_child.lua)
---------------------------------------------------------------------------

-- The value the writer child puts at PREFIX..i: small ones, and every 7th
-- one above compress_min.
function EC.writer_value(prefix, i)
  local size = (i % 7 == 0) and 6000 or 40
  return prefix .. i .. " " .. H.text_bytes(size, i)
end

-- Start spec/support/etcd_child.lua with args (strings) in the background,
-- its stdout and stderr to outfile; env: shell assignments put before it.
-- Returns its pid.
function EC.spawn_child(args, outfile, env)
  local parts = {}
  for i, a in ipairs(args) do parts[i] = H.q(a) end
  local cmd = (env or "") .. H.script("etcd_child") .. " " .. concat(parts, " ") ..
              " </dev/null >" .. H.q(outfile) .. " 2>&1 & echo $!"
  local pid = H.sh(cmd):match("%d+")
  assert(pid, "etcd_cluster: could not start a child")
  return pid
end

-- The lines of a file (a child's output so far; only whole lines).
function EC.lines(path)
  local t = {}
  for l in (H.read_file(path) or ""):gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

-- Wait until pred(lines of path) is true, at most timeout seconds (default
-- 60); raises with the file's end when the time is up, or when pid is given
-- and has exited before pred held.
function EC.wait_for(path, pred, timeout, pid)
  local deadline = now() + (timeout or 60)
  while true do
    local lines = EC.lines(path)
    if pred(lines) then return lines end
    if pid and not alive(pid) then
      lines = EC.lines(path)
      if pred(lines) then return lines end
      error("etcd_cluster: child " .. pid .. " exited; its output ends:\n" ..
            (H.read_file(path) or ""):sub(-1500), 2)
    end
    if now() > deadline then
      error("etcd_cluster: gave up waiting; output ends:\n" ..
            (H.read_file(path) or ""):sub(-1500), 2)
    end
    H.sleep(0.05)
  end
end

-- Kill a child process (SIGKILL) if it still runs.
function EC.kill_child(pid)
  if pid then H.run("kill -9 " .. pid .. " 2>/dev/null") end
end

-- An etcd:// URL on a loopback port nothing listens on.
function EC.dead_url(path)
  return "etcd://" .. EC.HOST .. ":" .. EC.free_ports(1)[1] .. "/" .. ((path or "okofdb"):gsub("^/+", ""))
end

-- The setup and teardown of a describe block of busted for one cluster and
-- one scratch directory (for lazy_setup and lazy_teardown): setup starts
-- the cluster, makes the directory and hands both to set(cluster, dir);
-- teardown stops the cluster and removes the directory (H.cleanup).
function EC.hooks(set)
  local cluster
  local function setup()
    cluster = EC.start()
    set(cluster, H.tmpdir())
  end
  local function teardown()
    if cluster then cluster:stop() end
    H.cleanup()
  end
  return setup, teardown
end

return EC
