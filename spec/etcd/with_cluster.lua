-- spec/etcd/with_cluster.lua -- run a command with a 3-member etcd cluster
-- up: OKOF_ETCD_URL names a store on it, OKOF_ETCD_MEMBERS lists the
-- members' HOST:PORT and OKOF_ETCD_PIDS their process ids (space
-- separated, in the same order); the cluster is stopped whatever the
-- command does, and the command's status is the script's.
--   lua5.4 spec/etcd/with_cluster.lua valgrind build/okof_etcd_test
package.path = "spec/?.lua;" .. package.path
local H = require("helpers")
local EC = require("support.etcd_cluster")

local cluster = EC.start()
local words = {}
for i = 1, #arg do words[i] = H.q(arg[i]) end
local members, pids = {}, {}
for i, m in ipairs(cluster.members) do
  members[i], pids[i] = cluster:endpoint(i), tostring(m.pid)
end
local ok = H.run("OKOF_ETCD_URL=" .. H.q(cluster:url("ctest")) ..
  " OKOF_ETCD_MEMBERS=" .. H.q(table.concat(members, " ")) ..
  " OKOF_ETCD_PIDS=" .. H.q(table.concat(pids, " ")) .. " " .. table.concat(words, " "))
cluster:stop()
os.exit(ok and 0 or 1)
