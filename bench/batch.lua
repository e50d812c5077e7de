-- bench/batch.lua -- durable batch writes: 100 small keys written by one
-- db:put_many against 100 single durable db:put calls, in the same store,
-- interleaved over several rounds. Prints METRIC lines for bench/report.lua:
--   METRIC kind=batch fs=<fs> n=<keys> rounds=<r> single_s=<median s>
--          many_s=<median s> speedup=<single / many>
-- Usage: lua5.4 bench/batch.lua [-q] -f FS DIR
local okofdb = require("okofdb")
local clock = require("clock")

local quick, fs, dir = false, "unknown", nil
local i = 1
while i <= #arg do
  if arg[i] == "-q" then quick = true
  elseif arg[i] == "-f" then i = i + 1; fs = arg[i]
  else dir = arg[i] end
  i = i + 1
end
assert(dir, "usage: batch.lua [-q] -f FS DIR")

local N, ROUNDS = 100, quick and 3 or 7
local value = string.rep("v", 100)
local db = assert(okofdb.open(dir, { sync = "full" }))

local function keys_of(round, kind)
  local t = {}
  for k = 1, N do t[k] = string.format("%s%02d-%07d", kind, round, k) end
  return t
end

local function singles(round)
  local ks = keys_of(round, "s")
  local t0 = clock.now()
  for k = 1, N do assert(db:put(ks[k], value)) end
  return clock.now() - t0
end

local function many(round)
  local batch = {}
  for _, k in ipairs(keys_of(round, "m")) do batch[k] = value end
  local t0 = clock.now()
  assert(db:put_many(batch))
  return clock.now() - t0
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

local s, m = {}, {}
for r = 1, ROUNDS do
  if r % 2 == 1 then s[#s + 1] = singles(r); m[#m + 1] = many(r)
  else m[#m + 1] = many(r); s[#s + 1] = singles(r) end
end
local ms, mm = median(s), median(m)
print(string.format("METRIC kind=batch fs=%s n=%d rounds=%d single_s=%.6f many_s=%.6f speedup=%.2f",
  fs, N, ROUNDS, ms, mm, ms / mm))
db:close()
