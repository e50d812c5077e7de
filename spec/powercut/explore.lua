-- spec/powercut/explore.lua -- what a power cut may leave on disk, and
-- whether okofdb reads every such state as the contract says.
--
-- 1. record: a workload (workloads.lua) runs under the LD_PRELOAD recorder
--    (recorder.c), which logs every call that changes the file system,
--    with the data written; the workload logs when each API call began
--    and returned.
-- 2. crash states: for every prefix of the recording (a crash point),
--    every state a power cut may leave under a file system model
--    (M.models: "posix" and "ext4", described in docs/durability.md),
--    exhaustively while a crash point has at most `cap` of them, else a
--    seeded random sample of `cap`.
-- 3. check: each distinct state is written as a real directory tree and
--    opened with okofdb as after a reboot; every key must read as a value
--    the contract allows at that crash point (see expect), keys and each
--    must agree with get, and sweep must leave no temporary file.
--
-- Plain Lua 5.4 (the explorer's sampling is its own LCG, so a seed means
-- the same states everywhere).
local okofdb = require("okofdb")

local M = {}

local BLOCK = 4096
local TMP_PREFIX = ".okof-tmp-"
local LOCK = ".okof-lock"

---------------------------------------------------------------------------
-- The log
---------------------------------------------------------------------------

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- ops: the recorded calls in order; marks[j] = { b = ops before call j
-- began, e = ops before it returned, result = "true"|"false"|... }.
function M.parse(text)
  local ops, marks, p = {}, {}, 1
  while p <= #text do
    local e = text:find("\n", p, true)
    if not e then error("powercut: log ends inside a line") end
    local line = text:sub(p, e - 1)
    p = e + 1
    local w = {}
    for f in line:gmatch("%S+") do w[#w + 1] = f end
    local op = w[1]
    if op == "M" then
      local j = tonumber(w[3])
      marks[j] = marks[j] or {}
      if w[2] == "B" then marks[j].b = #ops else marks[j].e, marks[j].result = #ops, w[4] end
    elseif op == "W" then
      local len = tonumber(w[4])
      ops[#ops + 1] = { op = "W", a = unescape(w[2]), off = tonumber(w[3]), data = text:sub(p, p + len - 1) }
      p = p + len
    elseif op == "T" then
      ops[#ops + 1] = { op = "T", a = unescape(w[2]), len = tonumber(w[3]) }
    elseif op == "F" then
      ops[#ops + 1] = { op = "F", a = unescape(w[2]), dir = w[3] == "d" }
    elseif op and op:match("^[CYRLUDX]$") then
      ops[#ops + 1] = { op = op, a = w[2] and unescape(w[2]), b = w[3] and unescape(w[3]) }
    else
      error("powercut: bad log line " .. line:sub(1, 60))
    end
  end
  return ops, marks
end

-- The recording without the calls a broken okofdb would not make:
-- variant "no-file-fsync" (and no syncfs) or "no-dir-fsync".
function M.without(ops, variant)
  local out = {}
  for _, o in ipairs(ops) do
    local drop = (variant == "no-file-fsync" and (o.op == "Y" or (o.op == "F" and not o.dir)))
      or (variant == "no-dir-fsync" and o.op == "F" and o.dir)
    if not drop then out[#out + 1] = o end
  end
  return out
end

---------------------------------------------------------------------------
-- What the calls did: inodes, directory entries, data, flushes
---------------------------------------------------------------------------

local function split(path)
  local dir, name = path:match("^(.*)/([^/]+)$")
  if not dir then return ".", path end
  return dir, name
end

-- Replay the recording on a model of the file system as the process saw
-- it, giving each file and directory an inode number (the root is 1):
--   rec.meta[n]  = { i = op index, eff = { {dir, name, ino|false}, ... },
--                    flush = ino of a file renamed over another one }
--   rec.data[ino] = { { i, off, data } | { i, trunc }, ... }
--   rec.syncs     = { { i, ino, dir = bool } | { i, all = true }, ... }
--   rec.kind[ino] = "d" | "f";  rec.n = number of ops
function M.annotate(ops)
  local kind, entries, nino = { [1] = "d" }, { [1] = {} }, 1
  local rec = { meta = {}, data = {}, syncs = {}, kind = kind, n = #ops, ops = ops }
  local function resolve(path)
    if path == "." then return 1 end
    local ino = 1
    for c in path:gmatch("[^/]+") do
      ino = entries[ino] and entries[ino][c]
      if not ino then error("powercut: no " .. path .. " in the recording's tree") end
    end
    return ino
  end
  local function parent(path)
    local d, name = split(path)
    return resolve(d), name
  end
  local function new(k)
    nino = nino + 1
    kind[nino] = k
    if k == "d" then entries[nino] = {} else rec.data[nino] = {} end
    return nino
  end
  for i, o in ipairs(ops) do
    if o.op == "C" then
      local d, name = parent(o.a)
      if not entries[d][name] then
        local ino = new("f")
        entries[d][name] = ino
        rec.meta[#rec.meta + 1] = { i = i, eff = { { d, name, ino } } }
      end
    elseif o.op == "D" then
      local d, name = parent(o.a)
      local ino = new("d")
      entries[d][name] = ino
      rec.meta[#rec.meta + 1] = { i = i, eff = { { d, name, ino } } }
    elseif o.op == "W" then
      local t = rec.data[resolve(o.a)]
      t[#t + 1] = { i = i, off = o.off, data = o.data }
    elseif o.op == "T" then
      local t = rec.data[resolve(o.a)]
      t[#t + 1] = { i = i, trunc = o.len }
    elseif o.op == "F" then
      local ino = resolve(o.a)
      rec.syncs[#rec.syncs + 1] = { i = i, ino = ino, dir = kind[ino] == "d" }
    elseif o.op == "Y" then
      rec.syncs[#rec.syncs + 1] = { i = i, all = true }
    elseif o.op == "R" or o.op == "L" then
      local d1, n1 = parent(o.a)
      local d2, n2 = parent(o.b)
      local ino, old = entries[d1][n1], entries[d2][n2]
      local m = { i = i, eff = {} }
      if o.op == "R" then
        entries[d1][n1] = nil
        m.eff[1] = { d1, n1, false }
        if old and kind[old] == "f" and kind[ino] == "f" then m.flush = ino end
      end
      entries[d2][n2] = ino
      m.eff[#m.eff + 1] = { d2, n2, ino }
      rec.meta[#rec.meta + 1] = m
    elseif o.op == "U" then
      local d, name = parent(o.a)
      entries[d][name] = nil
      rec.meta[#rec.meta + 1] = { i = i, eff = { { d, name, false } } }
    end
  end
  return rec
end

---------------------------------------------------------------------------
-- File contents a power cut may leave
---------------------------------------------------------------------------

local function apply(content, d)
  if d.trunc then
    if d.trunc <= #content then return content:sub(1, d.trunc) end
    return content .. string.rep("\0", d.trunc - #content)
  end
  if d.off > #content then content = content .. string.rep("\0", d.off - #content) end
  return content:sub(1, d.off) .. d.data .. content:sub(d.off + #d.data + 1)
end

-- Contents after the data ops of list with index <= upto.
local function replay(list, upto)
  local c = ""
  for _, d in ipairs(list) do
    if d.i > upto then break end
    c = apply(c, d)
  end
  return c
end

-- Every content the file may hold after the crash, given its durable
-- content (what it held at its last flush, op index s) and the writes
-- after it up to op k: the durable content; each prefix of the writes
-- (append granularity); the final content cut at each block boundary
-- past the durable size; each prefix of the writes with the rest of the
-- final size read as zeros (the size persisted before the data: delayed
-- allocation); and the final content with any one block of the new data
-- read as zeros (pages written back out of order). Distinct contents only.
local function outcomes(list, s, k)
  local base = replay(list, s)
  local seen, out = {}, {}
  local function add(c)
    if not seen[c] then seen[c] = true; out[#out + 1] = c end
  end
  local prefixes, c = { base }, base
  for _, d in ipairs(list) do
    if d.i > s and d.i <= k then
      c = apply(c, d)
      prefixes[#prefixes + 1] = c
    end
  end
  local final = c
  for _, p in ipairs(prefixes) do add(p) end
  for b = (math.floor(#base / BLOCK) + 1) * BLOCK, #final - 1, BLOCK do
    add(final:sub(1, b))
  end
  for _, p in ipairs(prefixes) do
    if #p < #final then add(p .. string.rep("\0", #final - #p)) end
  end
  -- pages written back out of order: one block of the new data missing
  for b = math.floor(#base / BLOCK) * BLOCK, #final - 1, BLOCK do
    local e, from = math.min(b + BLOCK, #final), math.max(b, #base)
    add(final:sub(1, from) .. string.rep("\0", e - from) .. final:sub(e + 1))
  end
  return out
end

---------------------------------------------------------------------------
-- The models
---------------------------------------------------------------------------

-- A model, at crash point k, gives the choices about names (M.meta_domains)
-- and, for a choice, the directory entries that persisted and, for each
-- file, the op index from which its data is durable.
M.models = {}

-- Strict POSIX: nothing is durable until flushed. The data of a file is
-- durable up to its last fsync (or syncfs); a name created, renamed,
-- linked or removed in a directory is durable once that directory is
-- fsynced (or syncfs), and before that each such call, independently of
-- the others, may or may not have persisted (a rename as a whole: both
-- its names or neither).
M.models.posix = {
  domains = function(rec, k)
    local dsync, fsync = {}, {}
    for _, s in ipairs(rec.syncs) do
      if s.i <= k then
        if s.all then dsync.all, fsync.all = s.i, s.i
        elseif s.dir then dsync[s.ino] = s.i
        else fsync[s.ino] = s.i end
      end
    end
    local function synced(t, ino) return math.max(t[ino] or 0, t.all or 0) end
    local free = {}
    for n, m in ipairs(rec.meta) do
      if m.i <= k then
        for _, e in ipairs(m.eff) do
          if m.i > synced(dsync, e[1]) then free[#free + 1] = n; break end
        end
      end
    end
    local domains = {}
    for i = 1, #free do domains[i] = 2 end
    return domains, {
      kept = function(choice)
        local on = {}
        for i, n in ipairs(free) do on[n] = choice[i] == 2 end
        return function(n, e)
          local m = rec.meta[n]
          return m.i <= synced(dsync, e[1]) or on[n]
        end
      end,
      data_from = function(_, ino) return synced(fsync, ino) end,
    }
  end,
}

-- ext4 with data=ordered as it behaves: one journal, so the calls that
-- change names persist in order (a prefix of them, at least those before
-- the last fsync or syncfs of anything, which commits the journal); a
-- file's data is durable up to its last fsync or syncfs, or up to a
-- rename of it over an existing file that persisted (auto_da_alloc
-- flushes it with the rename); other data may be missing (zero length, a
-- prefix) or read as zeros (delayed allocation).
M.models.ext4 = {
  domains = function(rec, k)
    local barrier, fsync = 0, {}
    for _, s in ipairs(rec.syncs) do
      if s.i <= k then
        barrier = s.i
        if s.all then fsync.all = s.i elseif not s.dir then fsync[s.ino] = s.i end
      end
    end
    local must, upto = 0, 0
    for n, m in ipairs(rec.meta) do
      if m.i <= k then
        upto = n
        if m.i <= barrier then must = n end
      end
    end
    return { upto - must + 1 }, {
      kept = function(choice)
        local p = must + choice[1] - 1
        return function(n) return n <= p end, p
      end,
      data_from = function(choice, ino)
        local s = math.max(fsync[ino] or 0, fsync.all or 0)
        local p = must + choice[1] - 1
        for n = 1, p do
          local m = rec.meta[n]
          if m.flush == ino and m.i > s then s = m.i end
        end
        return s
      end,
    }
  end,
}

---------------------------------------------------------------------------
-- Enumerating and sampling
---------------------------------------------------------------------------

-- A Park-Miller generator: the same sequence on every Lua.
local function rng(seed)
  local x = seed % 2147483646 + 1
  return function(n)
    x = (x * 48271) % 2147483647
    return x % n + 1
  end
end

local function product(domains, limit)
  local p = 1
  for _, d in ipairs(domains) do
    p = p * d
    if p > limit then return p end
  end
  return p
end

-- Calls fn(choice) for every choice of the domains when there are at most
-- cap, else for cap random ones; returns whether it was exhaustive.
local function each_choice(domains, cap, random, fn)
  if product(domains, cap) <= cap then
    local c = {}
    for i = 1, #domains do c[i] = 1 end
    while true do
      fn(c)
      local i = 1
      while i <= #domains and c[i] == domains[i] do c[i] = 1; i = i + 1 end
      if i > #domains then return true end
      c[i] = c[i] + 1
    end
  end
  for _ = 1, cap do
    local c = {}
    for i = 1, #domains do c[i] = random(domains[i]) end
    fn(c)
  end
  return false
end

-- The tree of one choice of names: { dirs = {path...}, files = {path -> ino} }.
local function tree(rec, k, kept)
  local entries = { [1] = {} }
  for n, m in ipairs(rec.meta) do
    if m.i > k then break end
    for _, e in ipairs(m.eff) do
      if kept(n, e) then
        entries[e[1]] = entries[e[1]] or {}
        entries[e[1]][e[2]] = e[3] or nil
      end
    end
  end
  local dirs, files = {}, {}
  local function walk(ino, path)
    local names = {}
    for name in pairs(entries[ino] or {}) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local child = entries[ino][name]
      local p = path == "" and name or path .. "/" .. name
      if rec.kind[child] == "d" then
        dirs[#dirs + 1] = p
        walk(child, p)
      else
        files[#files + 1] = { path = p, ino = child }
      end
    end
  end
  walk(1, "")
  return { dirs = dirs, files = files }
end

-- Calls fn(state, exhaustive_so_far) for each distinct state at crash
-- point k; a state is { dirs = {...}, files = { {path, content}... } }.
-- Returns the number of distinct states and whether all were enumerated.
function M.states(rec, model, k, opts, fn)
  local random = rng(opts.seed * 7919 + k)
  local domains, how = model.domains(rec, k)
  local seen, count, ids, exhaustive = {}, 0, {}, true
  local outcome_cache = {}
  local function content_id(c)
    local id = ids[c]
    if not id then id = #ids + 1; ids[c] = id; ids[id] = c end
    return id
  end
  local all = each_choice(domains, opts.meta_cap, random, function(choice)
    local kept = how.kept(choice)
    local t = tree(rec, k, kept)
    local ddom, outs = {}, {}
    for f, file in ipairs(t.files) do
      local from = how.data_from(choice, file.ino)
      local key = file.ino .. ":" .. from
      local o = outcome_cache[key]
      if not o then
        o = outcomes(rec.data[file.ino], from, k)
        outcome_cache[key] = o
      end
      outs[f], ddom[f] = o, #o
    end
    local whole = each_choice(ddom, opts.data_cap, random, function(dc)
      local sig = { table.concat(t.dirs, "\0") }
      for f, file in ipairs(t.files) do
        sig[#sig + 1] = file.path .. "\0" .. content_id(outs[f][dc[f]])
      end
      local s = table.concat(sig, "\1")
      if seen[s] then return end
      seen[s] = true
      count = count + 1
      local files = {}
      for f, file in ipairs(t.files) do
        files[f] = { path = file.path, content = outs[f][dc[f]] }
      end
      fn({ dirs = t.dirs, files = files })
    end)
    exhaustive = exhaustive and whole
  end)
  return count, all and exhaustive
end

---------------------------------------------------------------------------
-- What the contract allows at a crash point
---------------------------------------------------------------------------

-- Whether the value written by step j has expired when the states are
-- checked (after the whole recording): "live" (no ttl, or one of at least
-- workloads.LONG), "expired" (the sleeps after step j add up to its ttl;
-- a ttl counts from the start of its call) or "maybe".
function M.expiry(steps, j)
  local ttl = steps[j].ttl
  if not ttl or ttl >= require("powercut.workloads").LONG then return "live" end
  local slept = 0
  for i = j + 1, #steps do
    if steps[i][1] == "sleep" then slept = slept + steps[i][2] end
  end
  return slept >= ttl and "expired" or "maybe"
end

-- The calls of a workload: { op, sync, b, e, result, effects = { key ->
-- value | false }, expiry = "live"|"expired"|"maybe", weak }, false
-- meaning the key has no value. sync is the run's, or that of the last
-- "open" step that set one. A weak call's effect is possible, never
-- required: a del that returned false found no live value and removed
-- an expired one if it found one, which it does not flush.
function M.calls(steps, sync, marks)
  local calls = {}
  if sync == "mixed" then sync = "full" end
  for j, step in ipairs(steps) do
    local m = marks[j] or error("powercut: no marks of step " .. j)
    if step[1] == "open" and step.sync then sync = step.sync end
    local c = { op = step[1], sync = sync, b = m.b, e = m.e, result = m.result, effects = {},
      expiry = M.expiry(steps, j) }
    if c.op == "put" or (c.op == "add" and m.result == "true") then
      c.effects[step[2]] = step[3]
    elseif c.op == "del" then
      c.effects[step[2]] = false
      c.weak = m.result ~= "true"
    elseif c.op == "put_many" then
      for key, v in pairs(step[2]) do c.effects[key] = v end
    elseif c.op == "open" then
      c.dir = step[2]
    end
    calls[#calls + 1] = c
  end
  return calls
end

-- Every key the workload names.
function M.universe(steps)
  local keys, seen = {}, {}
  local function add(k) if not seen[k] then seen[k] = true; keys[#keys + 1] = k end end
  for _, s in ipairs(steps) do
    if s[1] == "put_many" then
      local ks = {}
      for k in pairs(s[2]) do ks[#ks + 1] = k end
      table.sort(ks)
      for _, k in ipairs(ks) do add(k) end
    elseif s[1] ~= "open" and s[1] ~= "sleep" and s[1] ~= "sweep" then
      add(s[2])
    end
  end
  return keys
end

-- At crash point k (the first k ops done): for each key, the values it may
-- hold (false: none), whether it may read "CORRUPT", the values that have
-- expired by check time (expired: their bytes must never be read) and
-- whether a file of the key may hold an expired or expiring value (stale:
-- keys may still yield the key); and whether the store's directory must
-- exist (an open with sync = "full" returned). A call that returned with
-- sync = "full" fixes the key's value; any other call begun before the
-- crash adds its value to those allowed, and with sync = "none" allows
-- "CORRUPT" (a name may persist before its data). A value that expired
-- is allowed as none; one that may have expired, as itself or none.
function M.expect(calls, keys, k)
  local allow = {}
  for _, key in ipairs(keys) do
    allow[key] = { values = { false }, corrupt = false, ever = { false }, expired = {}, stale = false }
  end
  local dir_required = false
  for _, c in ipairs(calls) do
    local done, begun = c.e <= k, c.b < k
    if c.op == "open" and done and c.sync == "full" then dir_required = true end
    if done or begun then
      for key, v in pairs(c.effects) do
        local a = allow[key]
        local vs = { v }
        if v and c.expiry ~= "live" then
          a.stale = true
          if c.expiry == "expired" then
            a.expired[#a.expired + 1] = v
            vs = { false }
          else
            vs[2] = false
          end
        end
        for _, x in ipairs(vs) do a.ever[#a.ever + 1] = x end
        if done and c.sync == "full" and not c.weak then
          a.values, a.corrupt = vs, false
        else
          for _, x in ipairs(vs) do a.values[#a.values + 1] = x end
          if c.sync == "none" then a.corrupt = true end
        end
      end
    end
  end
  return allow, dir_required
end

---------------------------------------------------------------------------
-- Writing a state and checking it
---------------------------------------------------------------------------

local function mkdirs(path)
  local db = assert(okofdb.open(path, { create = true, sync = "none" }))
  db:close()
end

local function materialize(state, dir)
  mkdirs(dir)
  for _, d in ipairs(state.dirs) do mkdirs(dir .. "/" .. d) end
  for _, f in ipairs(state.files) do
    local h = assert(io.open(dir .. "/" .. f.path, "wb"))
    assert(h:write(f.content))
    h:close()
  end
end

local function clear(state, dir)
  for _, f in ipairs(state.files) do os.remove(dir .. "/" .. f.path) end
  for i = #state.dirs, 1, -1 do assert(os.remove(dir .. "/" .. state.dirs[i])) end
end

-- Whether open accepts the option legacy (the reader that refuses raw
-- 0x00 files by default).
function M.has_legacy()
  local ok = pcall(okofdb.open, ".", { create = false, legacy = false })
  return ok
end

-- The reader of a state: the store opened as after a reboot. legacy = true
-- reads raw 0x00 files too (where okofdb has that option; without it every
-- handle reads them). A reader is { open = function(path) -> handle-like
-- | nil, msg, code }.
function M.reader(legacy)
  local opts = { create = false, sync = "none" }
  if M.has_legacy() then opts.legacy = legacy and true or false end
  return {
    name = legacy and "legacy" or "default",
    open = function(path) return okofdb.open(path, opts) end,
  }
end

local function printable(s, n)
  local t = s:sub(1, n):gsub("[^%w%p ]", function(c) return string.format("\\%d", c:byte()) end)
  return t .. (#s > n and "..." or "")
end

local function describe_value(v)
  if v == false or v == nil then return "(none)" end
  return string.format("%d bytes \"%s\"", #v, printable(v, 16))
end

-- The violations of one state: a list of { class, text }. Classes:
-- "wrong" (a value never put for the key), "zeros" (the same, read from a
-- file of zero bytes only), "raw00" (read from another file starting with
-- 0x00), "expired" (the bytes of a value whose ttl ran out), "lost" (an
-- older value or none, where a
-- returned write with sync = "full" must be there), "open_dirs" (the
-- store's directory, made by a returned open with sync = "full", is
-- missing), "corrupt" (CORRUPT where the model does not make it
-- unavoidable), "error" (any other error), "walk" (keys or each disagree
-- with get, before or after sweep), "leftover" (a file other than a
-- key's, a temporary one or the lock file; one that sweep left; the lock
-- file removed by sweep; a key's value changed by sweep).
function M.check(state, dir, storerel, allow, keys, dir_required, reader)
  local out = {}
  local function bad(class, text) out[#out + 1] = { class = class, text = text } end
  local store = storerel == "." and dir or dir .. "/" .. storerel
  local content_of = {}
  for _, f in ipairs(state.files) do content_of[f.path] = f.content end
  local prefix = storerel == "." and "" or storerel .. "/"
  local db, msg, code = reader.open(store)
  if not db then
    if code ~= "ENOENT" then bad("error", "open: " .. tostring(msg)) end
    local missing = dir_required and "open_dirs" or "lost"
    if dir_required then bad(missing, "the store's directory " .. storerel .. " is missing") end
    for _, key in ipairs(keys) do
      local absent_ok = false
      for _, v in ipairs(allow[key].values) do if v == false then absent_ok = true end end
      if not absent_ok then bad(missing, "key " .. key .. ": no value (no directory)") end
    end
    return out
  end
  local got, read = {}, {}
  for _, key in ipairs(keys) do
    local v, m, c = db:get(key)
    local a = allow[key]
    local ok = false
    if v ~= nil or m == nil then
      for _, x in ipairs(a.values) do
        if (x == false and v == nil) or x == v then ok = true end
      end
      if not ok then
        local file = content_of[prefix .. key] or ""
        local class = "wrong"
        for _, x in ipairs(a.ever) do
          if (x == false and v == nil) or x == v then class = "lost" end
        end
        for _, x in ipairs(a.expired or {}) do
          if x == v then class = "expired" end
        end
        if class == "wrong" and file:byte(1) == 0 then
          class = file == string.rep("\0", #file) and "zeros" or "raw00"
        end
        bad(class, "key " .. key .. ": read " .. describe_value(v or false) .. ", allowed: " ..
          table.concat((function()
            local t = {}
            for _, x in ipairs(a.values) do t[#t + 1] = describe_value(x) end
            return t
          end)(), " or ") .. (a.corrupt and " or CORRUPT" or ""))
      end
      got[key], read[key] = v or false, v ~= nil
    elseif c == "CORRUPT" then
      if not a.corrupt then bad("corrupt", "key " .. key .. ": CORRUPT (" .. tostring(m) .. ")") end
      got[key] = "CORRUPT"
    else
      bad("error", "key " .. key .. ": " .. tostring(m) .. " " .. tostring(c))
      got[key] = "ERROR"
    end
  end
  -- ttl agrees with get: nil for no value, false or seconds for a value
  -- (which may have expired between the two calls if it had a short ttl)
  for _, key in ipairs(db.ttl and keys or {}) do
    local t, m = db:ttl(key)
    local g = got[key]
    if g == false and (t ~= nil or m ~= nil) then
      bad("walk", "ttl of " .. key .. " is " .. tostring(t) .. " " .. tostring(m) .. ", get finds no value")
    elseif read[key] and t == nil and (m ~= nil or not allow[key].stale) then
      bad("walk", "ttl of " .. key .. " finds no value (" .. tostring(m) .. "), get read one")
    end
  end
  -- keys and each agree with get
  local seen = {}
  for key in db:keys() do
    seen[key] = true
    if got[key] == nil then bad("walk", "keys yields " .. printable(key, 40) .. ", not a key of the workload")
    elseif got[key] == false and not allow[key].stale then
      bad("walk", "keys yields " .. key .. ", which get finds absent")
    end
  end
  for _, key in ipairs(keys) do
    if got[key] and not seen[key] then bad("walk", "keys misses " .. key) end
  end
  for key, v, m in db:each() do
    if got[key] == nil or got[key] == false then bad("walk", "each yields " .. printable(key, 40))
    elseif v ~= nil and v ~= got[key] then bad("walk", "each and get differ for " .. key)
    elseif v == nil and got[key] ~= "CORRUPT" and got[key] ~= "ERROR" then
      bad("walk", "each fails for " .. key .. ": " .. tostring(m))
    end
  end
  -- leftovers: only temporary files and the lock file; sweep removes the
  -- temporary files and expired values, never the lock file or a value
  local tmps, lock, stale = {}, false, false
  for _, key in ipairs(keys) do stale = stale or allow[key].stale end
  for _, f in ipairs(state.files) do
    local name = f.path:sub(#prefix + 1)
    if f.path:sub(1, #prefix) == prefix and not name:find("/", 1, true) then
      if name:sub(1, #TMP_PREFIX) == TMP_PREFIX then tmps[#tmps + 1] = name
      elseif name == LOCK then lock = true
      elseif got[name] == nil then bad("leftover", "file " .. name .. " is neither a key nor temporary") end
    end
  end
  if #tmps > 0 or lock or stale then
    local n, m = db:sweep(0)
    if n == nil then bad("leftover", "sweep: " .. tostring(m)) end
    for _, name in ipairs(tmps) do
      local h = io.open(store .. "/" .. name, "rb")
      if h then h:close(); bad("leftover", "sweep left " .. name) end
    end
    if lock then
      local h = io.open(store .. "/" .. LOCK, "rb")
      if h then h:close() else bad("leftover", "sweep removed the lock file " .. LOCK) end
    end
    for _, key in ipairs(keys) do
      local v, _, c = db:get(key)
      local now = v or (c == "CORRUPT" and "CORRUPT") or (c and "ERROR") or false
      if now ~= got[key] then bad("leftover", "sweep changed key " .. key) end
    end
    for key in db:keys() do
      if got[key] == false then bad("walk", "keys yields " .. key .. " after sweep, which get finds absent") end
    end
  end
  db:close()
  return out
end

-- One line per file of a state: its path, size and first bytes.
function M.describe_state(state)
  local t = {}
  for _, d in ipairs(state.dirs) do t[#t + 1] = "  " .. d .. "/" end
  for _, f in ipairs(state.files) do
    local hex = f.content:sub(1, 24):gsub(".", function(c) return string.format("%02x", c:byte()) end)
    t[#t + 1] = string.format("  %s  %d bytes  %s%s", f.path, #f.content, hex, #f.content > 24 and "..." or "")
  end
  if #t == 0 then t[1] = "  (empty)" end
  return table.concat(t, "\n")
end

-- The steps of a workload, short.
function M.describe_steps(steps)
  local t = {}
  for j, s in ipairs(steps) do
    local d
    if s[1] == "put_many" then
      local ks = {}
      for k, v in pairs(s[2]) do ks[#ks + 1] = k .. "=" .. #v .. "B" end
      table.sort(ks)
      d = "put_many{" .. table.concat(ks, ",") .. "}"
    elseif s[1] == "open" or s[1] == "del" or s[1] == "sleep" then
      d = s[1] .. " " .. s[2]
    elseif s[1] == "sweep" then
      d = s[1]
    else
      d = s[1] .. " " .. s[2] .. " " .. #s[3] .. "B"
    end
    if s.ttl then d = d .. " ttl " .. s.ttl end
    t[#t + 1] = j .. ":" .. d
  end
  return table.concat(t, "; ")
end

local function describe_op(o)
  if not o then return "(none)" end
  if o.op == "W" then return string.format("W %s at %d, %d bytes", o.a, o.off, #o.data) end
  return table.concat({ o.op, o.a or "", o.b or (o.dir and "(dir)" or "") }, " ")
end

---------------------------------------------------------------------------
-- A whole run
---------------------------------------------------------------------------

-- Record a workload: returns the log's text.
function M.record(o)
  local root, logp = o.work .. "/rec", o.work .. "/rec.log"
  os.execute("rm -rf '" .. root .. "' '" .. logp .. "'")
  mkdirs(root)
  local cmd = string.format("OKOF_PC_ROOT='%s' OKOF_PC_LOG='%s' LD_PRELOAD='%s' %s %s %s %s '%s' '%s'",
    root, logp, o.recorder, o.lua, o.runner, o.workload, o.sync, root, logp)
  local ok = os.execute(cmd)
  if ok ~= true and ok ~= 0 then error("powercut: the workload failed: " .. cmd) end
  local h = assert(io.open(logp, "rb"))
  local text = h:read("*a")
  h:close()
  os.execute("rm -rf '" .. root .. "' '" .. logp .. "'")
  return text
end

-- Explore one recording under one model. o: workload, sync, model (a
-- name), text (the log), variant (nil or a M.without name), reader,
-- work (a scratch directory), meta_cap, data_cap, seed, report (how many
-- violating states to print, default 3), out (a file, default stderr).
-- o.tolerated: { class -> true } of known violations (see known.lua).
-- Returns { points, exhaustive_points (crash points whose every state was
-- explored), states, exhaustive, violations (states with any),
-- unexpected (states with a class not tolerated), classes = {class -> n} }.
function M.explore(o)
  local steps = require("powercut.workloads").W[o.workload]
  local ops, marks = M.parse(o.text)
  if o.variant then
    -- the marks count ops of the whole recording: count the kept ones
    local kept, keep, map, n = M.without(ops, o.variant), {}, { [0] = 0 }, 0
    for _, x in ipairs(kept) do keep[x] = true end
    for i, x in ipairs(ops) do
      if keep[x] then n = n + 1 end
      map[i] = n
    end
    for _, m in pairs(marks) do m.b, m.e = map[m.b], map[m.e] end
    ops = kept
  end
  local rec = M.annotate(ops)
  local calls = M.calls(steps, o.sync, marks)
  local keys = M.universe(steps)
  local storerel = steps[1][1] == "open" and steps[1][2] or "."
  local model = M.models[o.model]
  local sdir = o.work .. "/state"
  local res = { points = 0, exhaustive_points = 0, states = 0, exhaustive = true, violations = 0,
    unexpected = 0, classes = {} }
  local printed, printed_known, out = 0, 0, o.out or io.stderr
  local tolerated = o.tolerated or {}
  for k = 0, rec.n do
    local allow, dir_required = M.expect(calls, keys, k)
    res.points = res.points + 1
    local n, all = M.states(rec, model, k, o, function(state)
      materialize(state, sdir)
      local v = M.check(state, sdir, storerel, allow, keys, dir_required, o.reader)
      clear(state, sdir)
      if #v > 0 then
        res.violations = res.violations + 1
        local classes, unexpected = {}, false
        for _, x in ipairs(v) do
          classes[x.class] = true
          unexpected = unexpected or not tolerated[x.class]
        end
        for c in pairs(classes) do res.classes[c] = (res.classes[c] or 0) + 1 end
        if unexpected then res.unexpected = res.unexpected + 1 end
        local show = (unexpected and printed < (o.report or 3))
          or (not unexpected and printed_known < (o.report_known or 1))
        if show then
          if unexpected then printed = printed + 1 else printed_known = printed_known + 1 end
          local lines = {}
          for _, x in ipairs(v) do lines[#lines + 1] = "  ! [" .. x.class .. "] " .. x.text end
          local returned = {}
          for j, c in ipairs(calls) do
            if c.e <= k then returned[#returned + 1] = j
            elseif c.b < k then returned[#returned + 1] = j .. "(begun)" end
          end
          out:write(string.format(
            "powercut %s: workload %s, sync %s, model %s%s, reader %s\n" ..
            "  steps: %s\n  crash after op %d of %d: %s\n  steps returned: %s\n%s\n  state:\n%s\n",
            unexpected and "violation" or "known violation", o.workload, o.sync, o.model, o.variant and (", variant " .. o.variant) or "",
            o.reader.name, M.describe_steps(steps), k, rec.n, describe_op(ops[k]), table.concat(returned, " "),
            table.concat(lines, "\n"), M.describe_state(state)))
        end
      end
    end)
    res.states = res.states + n
    res.exhaustive = res.exhaustive and all
    if all then res.exhaustive_points = res.exhaustive_points + 1 end
  end
  return res
end

return M
