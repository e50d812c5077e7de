-- spec/reliability/conc_worker.lua -- a writer or a reader of concurrency_load_spec.
--
--   conc_worker.lua ROLE ID DIR POOLFILE STOPFILE OUTFILE LOGFILE KEYHEX...
--
-- ROLE "writer": puts self-describing values (reliability/values.lua,
--   writer ID, sequence 1, 2, ...) to the KEYs in turn, cycling through
--   every size class, until STOPFILE exists; after each put that returned
--   true it appends "KEYHEX SEQ" to LOGFILE. OKOF_CONC_SYNC sets the sync
--   option ("full" or "none").
-- ROLE "reader": gets the KEYs in turn and checks each value against its
--   header; every 16 rounds also walks each() and keys(). Until STOPFILE
--   exists.
-- Both write to OUTFILE at the end one line: "done <counts>", or "fail
-- <what>" at the first failure (and exit with status 1). Both also stop
-- by themselves after OKOF_CONC_LIMIT seconds, in case the parent died.
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../?.lua;" .. package.path
local H = require("helpers")
local V = require("reliability.values")
local okofdb = require("okofdb")

local role, id, dir, poolfile, stopfile, outfile, logfile =
  arg[1], tonumber(arg[2]), arg[3], arg[4], arg[5], arg[6], arg[7]
local keys = {}
for i = 8, #arg do keys[#keys + 1] = V.unhex(arg[i]) end
local limit = os.time() + (tonumber(os.getenv("OKOF_CONC_LIMIT") or "") or 120)
local pool = V.pool(poolfile)

local finish, stopped = H.worker_end(outfile, stopfile, limit)
local pack = H.pack

local db, msg, code = okofdb.open(dir, { sync = os.getenv("OKOF_CONC_SYNC") or "full" })
if not db then finish("fail open: " .. tostring(msg) .. " " .. tostring(code), 1) end

local nclass, nkeys = #V.CLASSES, #keys
local hexkeys = {}
for i, k in ipairs(keys) do hexkeys[i] = V.hex(k) end

if role == "writer" then
  local log = assert(io.open(logfile, "wb"))
  local seq = 0
  while not stopped() do
    for _ = 1, 8 do
      seq = seq + 1
      local ki = (seq + id) % nkeys + 1
      local k = keys[ki]
      local r = pack(db:put(k, V.make(pool, k, id, seq, (seq * 3 + id) % nclass + 1)))
      if r.n ~= 1 or r[1] ~= true then
        log:close()
        finish("fail put " .. k .. " seq " .. seq .. ": " .. tostring(r[2]) .. " " .. tostring(r[3]), 1)
      end
      log:write(hexkeys[ki], " ", seq, "\n")
    end
  end
  log:close()
  finish("done writes=" .. seq, 0)
elseif role == "reader" then
  local gets, walks, walked, rounds = 0, 0, 0, 0
  local set = {}
  for _, k in ipairs(keys) do set[k] = true end
  while not stopped() do
    rounds = rounds + 1
    for i = 1, nkeys do
      local k = keys[(i + id) % nkeys + 1]
      local r = pack(db:get(k))
      gets = gets + 1
      if r.n ~= 1 or type(r[1]) ~= "string" then
        finish("fail get " .. k .. ": " .. V.show(r), 1)
      end
      local info, why = V.check(pool, r[1])
      if not info then finish("fail get " .. k .. ": " .. why, 1) end
      if info.key ~= k then finish("fail get " .. k .. ": a value of key " .. info.key, 1) end
    end
    if rounds % 16 == 0 then
      walks = walks + 1
      for k, v, err in db:each() do
        walked = walked + 1
        if not set[k] then finish("fail each yielded an unknown key " .. string.format("%q", k), 1) end
        if err ~= nil then finish("fail each " .. k .. ": " .. tostring(err), 1) end
        local info, why = V.check(pool, v)
        if not info then finish("fail each " .. k .. ": " .. why, 1) end
        if info.key ~= k then finish("fail each " .. k .. ": a value of key " .. info.key, 1) end
      end
      for k in db:keys() do
        if not set[k] then finish("fail keys yielded an unknown key " .. string.format("%q", k), 1) end
      end
    end
  end
  finish(string.format("done gets=%d walks=%d walked=%d", gets, walks, walked), 0)
else
  finish("fail unknown role " .. tostring(role), 2)
end
