-- spec/etcd/cluster.lua -- a real 3-member etcd cluster for the specs of
-- spec/etcd: etcd on free loopback ports, data in a temporary directory.
--
--   local C = require("etcd.cluster")
--   local cluster = C.start()            -- waits until it is healthy
--   cluster.url "app"                    --> "etcd://127.0.0.1:P1,...,P3/app"
--   cluster:ctl("get --print-value-only /app/k")
--   cluster:stop()                       -- kills the members, removes the data
local H = require("helpers")

local C = {}
local Cluster = {}
Cluster.__index = Cluster

-- The TCP ports something listens on (from /proc/net/tcp, IPv4 and IPv6).
local function ports_in_use()
  local used = {}
  for _, f in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local s = H.read_file(f) or ""
    for port in s:gmatch("\n%s*%d+: [%x]+:(%x%x%x%x) ") do
      used[tonumber(port, 16)] = true
    end
  end
  return used
end

-- n ports that nothing listens on, from a random start.
local function free_ports(n)
  local used = ports_in_use()
  local rng = H.rng(os.time() + H.pid())
  for _ = 1, 100 do
    local base = 20000 + rng() % 20000
    local ok = true
    for p = base, base + n - 1 do
      if used[p] then ok = false end
    end
    if ok then
      local t = {}
      for p = base, base + n - 1 do t[#t + 1] = p end
      return t
    end
  end
  error("no free ports")
end

local function start_member(c, i)
  local m = c.members[i]
  local cmd = table.concat({
    "etcd --name", m.name, "--data-dir", H.q(c.dir .. "/" .. m.name),
    "--listen-client-urls", m.client, "--advertise-client-urls", m.client,
    "--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
    "--initial-cluster", c.initial, "--initial-cluster-state new",
    "--initial-cluster-token", "okofspec-" .. c.ports[1],
    "--heartbeat-interval 50 --election-timeout 500",
    ">", H.q(c.dir .. "/" .. m.name .. ".log"), "2>&1 & echo $!",
  }, " ")
  m.pid = tonumber(H.sh(cmd):match("%d+"))
  assert(m.pid, "etcd did not start")
end

-- The endpoints of every member, for etcdctl.
function Cluster:endpoints()
  local t = {}
  for _, m in ipairs(self.members) do t[#t + 1] = m.client end
  return table.concat(t, ",")
end

-- "etcd://HOST:PORT,.../path"
function Cluster:url(path)
  local t = {}
  for _, m in ipairs(self.members) do t[#t + 1] = m.hostport end
  return "etcd://" .. table.concat(t, ",") .. "/" .. path
end

-- Run etcdctl with these arguments (a string for the shell); its stdout.
function Cluster:ctl(args)
  return H.sh("ETCDCTL_API=3 etcdctl --endpoints=" .. self:endpoints() .. " " .. args .. " 2>/dev/null")
end

-- The value of an etcd key exactly as stored (nil when there is none).
function Cluster:raw(key)
  local f = self.dir .. "/raw"
  H.run("ETCDCTL_API=3 etcdctl --endpoints=" .. self:endpoints() ..
    " get --print-value-only " .. H.q(key) .. " >" .. H.q(f) .. " 2>/dev/null")
  local s = H.read_file(f)
  if s == nil or s == "" then return nil end
  return (s:gsub("\n$", "")) -- etcdctl ends the value with a newline
end

-- Store these exact bytes at an etcd key, bypassing okofdb.
function Cluster:raw_put(key, bytes)
  local f = self.dir .. "/in"
  H.write_file(f, bytes)
  assert(H.run("ETCDCTL_API=3 etcdctl --endpoints=" .. self:endpoints() ..
    " put " .. H.q(key) .. " <" .. H.q(f) .. " >/dev/null"), "etcdctl put failed")
end

function Cluster:healthy()
  return H.run("ETCDCTL_API=3 etcdctl --endpoints=" .. self:endpoints() ..
    " --command-timeout=1s endpoint health >/dev/null 2>&1")
end

function Cluster:stop()
  for _, m in ipairs(self.members) do
    if m.pid then
      H.run("kill -CONT " .. m.pid .. " 2>/dev/null; kill -KILL " .. m.pid .. " 2>/dev/null")
      m.pid = nil
    end
  end
  H.run("sleep 0.2; rm -rf " .. H.q(self.dir))
end

-- Start a 3-member cluster and wait (up to 60 s) until it is healthy.
function C.start()
  local dir = H.sh("mktemp -d"):match("^[^\n]*")
  local ports = free_ports(6)
  local c = setmetatable({ dir = dir, ports = ports, members = {} }, Cluster)
  local initial = {}
  for i = 1, 3 do
    local hp = "127.0.0.1:" .. ports[i]
    c.members[i] = {
      name = "m" .. i, hostport = hp, client = "http://" .. hp,
      peer = "http://127.0.0.1:" .. ports[i + 3],
    }
    initial[i] = c.members[i].name .. "=" .. c.members[i].peer
  end
  c.initial = table.concat(initial, ",")
  for i = 1, 3 do start_member(c, i) end
  for _ = 1, 120 do
    if c:healthy() then return c end
    H.sleep(0.5)
  end
  c:stop()
  error("the etcd cluster did not become healthy")
end

return C
