-- spec/powercut/workloads.lua -- the workloads of the power-cut explorer.
--
-- A workload is a list of steps run on one store, each an API call:
--   { "open", dir [, sync = "full"|"none"] }  (re)open the store at dir,
--                          relative to the recording's root ("." = it);
--                          a sync here holds for the steps that follow
--   { "put", key, value }   { "add", key, value }   { "del", key }
--   { "put_many", { key = value, ... } }
--   { "sweep" }            sweep with its default max_age
--   { "sleep", seconds }   wait (no call of okofdb)
-- put, add and put_many take a field ttl = seconds (none: no expiry). The
-- checker takes a value whose ttl is at least LONG as live at check time,
-- and one whose ttl the sleeps after its step add up to as expired (the
-- ttl counts from the call's start); any other may be either.
-- A workload uses one store directory. Values are written as V.small(tag), V.big(tag, bytes) (pseudo-random,
-- so snappy leaves it as stored chunks) or V.text(tag, bytes) (repetitive,
-- so its chunks are compressed). Every workload runs once per sync
-- setting (those of MIXED once: their opens say which); the store is
-- opened before the first step at "." unless the first step is an "open".
-- Plain Lua 5.1-5.4.
local V = {}

local cache = {}

-- A short value naming its tag.
function V.small(tag)
  return "value " .. tag
end

-- n pseudo-random bytes (a fixed LCG seeded by the tag): incompressible.
function V.big(tag, n)
  local id = "big:" .. tag .. ":" .. n
  if cache[id] then return cache[id] end
  local x = 7
  for i = 1, #tag do x = (x * 31 + tag:byte(i)) % 2147483647 end
  local parts, buf = {}, {}
  for i = 1, n do
    x = (x * 48271) % 2147483647
    buf[#buf + 1] = string.char(math.floor(x / 256) % 256)
    if #buf == 4096 or i == n then
      parts[#parts + 1] = table.concat(buf)
      buf = {}
    end
  end
  cache[id] = table.concat(parts)
  return cache[id]
end

-- n bytes of text that snappy compresses well, different for each tag.
function V.text(tag, n)
  local line = "the value " .. tag .. " of a key, said again and again; "
  local s = string.rep(line, math.floor(n / #line) + 1)
  return s:sub(1, n)
end

local KB = 1024

local W = {}

-- Put new keys, put over them (same size and other sizes), delete one.
W["put-small"] = {
  { "put", "a", V.small("a1") },
  { "put", "b", V.small("b1") },
  { "put", "a", V.small("a2") },
  { "del", "b" },
  { "put", "c", V.small("c1") },
}

-- Values of several 64 KiB chunks, stored and compressed, new and over.
W["put-big"] = {
  { "put", "big", V.big("big1", 150 * KB) },
  { "put", "txt", V.text("txt1", 140 * KB) },
  { "put", "big", V.text("big2", 70 * KB) },
  { "put", "txt", V.big("txt2", 66 * KB) },
}

-- add: a new key, a taken one (false), then again after a del.
W["add"] = {
  { "add", "a", V.small("a1") },
  { "add", "a", V.small("a2") },
  { "del", "a" },
  { "add", "a", V.text("a3", 3 * KB) },
  { "put", "a", V.small("a4") },
}

-- put_many of new keys, then over some of them with a new one.
W["put_many"] = {
  { "put_many", { a = V.small("a1"), b = V.small("b1"), c = V.text("c1", 5 * KB) } },
  { "put_many", { a = V.small("a2"), d = V.small("d1") } },
  { "del", "c" },
}

-- open that creates its directory and two missing parents.
W["open-nested"] = {
  { "open", "x/y/z" },
  { "put", "a", V.small("a1") },
  { "put", "a", V.small("a2") },
  { "del", "a" },
  { "put", "b", V.small("b1") },
}

-- A longer run, explored by sampling: 24 writes over 6 keys.
do
  local steps = {}
  local sizes = { 10, 3000, 70 * KB }
  for i = 1, 24 do
    local key = "k" .. (i % 6)
    local op = i % 7 == 0 and "del" or (i % 5 == 0 and "add" or "put")
    local size = sizes[i % 3 + 1]
    local value = size < 100 and V.small(key .. "." .. i)
      or (i % 2 == 0 and V.text(key .. "." .. i, size) or V.big(key .. "." .. i, size))
    steps[#steps + 1] = op == "del" and { "del", key } or { op, key, value }
  end
  W["long"] = steps
end

-- Durable values, then writes with sync = "none" over them, then a
-- durable write again: what the last durable write made must stay.
W["mixed"] = {
  { "open", ".", sync = "full" },
  { "put", "a", V.small("a1") },
  { "put", "b", V.text("b1", 3 * KB) },
  { "open", ".", sync = "none" },
  { "put", "a", V.small("a2") },
  { "del", "b" },
  { "put", "c", V.small("c1") },
  { "open", ".", sync = "full" },
  { "put", "c", V.small("c2") },
  { "add", "b", V.small("b3") },
}

-- Values that expire: ttls that never run out during the run, new and
-- over values without one and back, with put, add and put_many.
local LONG, SHORT = 86400, 0.05
W["ttl-long"] = {
  { "put", "a", V.small("a1"), ttl = LONG },
  { "put", "b", V.small("b1") },
  { "put", "b", V.text("b2", 3 * KB), ttl = LONG },
  { "put", "a", V.small("a2") },
  { "put_many", { c = V.small("c1"), d = V.small("d1") }, ttl = LONG },
  { "add", "e", V.small("e1"), ttl = LONG },
  { "del", "b" },
}

-- Values that expire during the run: then add over an expired value (the
-- removal under the lock: .okof-lock made, the name renamed aside,
-- unlinked, the add's expiry written anew and its file linked), del of an
-- expired value (false), sweep removing expired values, and an add and a
-- put where sweep removed one.
W["ttl-expired"] = {
  { "put", "a", V.small("a1"), ttl = SHORT },
  { "put_many", { b = V.small("b1"), c = V.small("c1") }, ttl = SHORT },
  { "put", "d", V.small("d1"), ttl = SHORT },
  { "sleep", 2 * SHORT },
  { "add", "a", V.small("a2"), ttl = LONG },
  { "del", "b" },
  { "sweep" },
  { "add", "c", V.small("c2") },
  { "put", "d", V.small("d2"), ttl = LONG },
}

-- The order the explorer runs them in.
local ORDER = { "put-small", "put-big", "add", "put_many", "open-nested", "mixed", "long",
  "ttl-long", "ttl-expired" }

-- Workloads whose opens set sync: run once, as sync "mixed".
local MIXED = { mixed = true }

return { V = V, W = W, ORDER = ORDER, MIXED = MIXED, LONG = LONG }
