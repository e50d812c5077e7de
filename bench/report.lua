-- report.lua -- summarise a benchmark run (bench/run.sh's results.txt).
--
--   lua5.4 bench/report.lua [--out FILE.md] [--update BENCHMARKS.md]
--       [--chart-data FILE] [--chart PNG] RESULTS...
--
-- Reads floor-format RESULT lines (and run.sh's BENCH/NOTE lines, and
-- memory.lua's METRIC lines) and prints, in Markdown:
--   * per file system and value size: op | floor µs | okofdb-lua5.4 µs
--     (×floor) | okofdb-luajit µs (×floor) | peers µs. Times are medians
--     of the repetitions; a ratio is computed per repetition (okofdb rep i /
--     floor rep i) and the median of those is shown;
--   * the performance targets, measured against target, PASS or MISS (they
--     are reported, never asserted);
--   * memory, scale and concurrency tables.
-- --out writes the same Markdown to FILE; --update replaces the part of
-- BENCHMARKS.md between "<!-- bench:begin -->" and "<!-- bench:end -->";
-- --chart-data and --chart write the data and run gnuplot on bench/chart.gp.

local args = { files = {} }
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a:sub(1, 2) == "--" then
      args[a:sub(3)] = arg[i + 1]
      i = i + 2
    else
      args.files[#args.files + 1] = a
      i = i + 1
    end
  end
end
if #args.files == 0 then
  io.stderr:write("usage: report.lua [--out MD] [--update BENCHMARKS.md] [--chart-data DAT] [--chart PNG] RESULTS...\n")
  os.exit(2)
end

-- ---- parse ----------------------------------------------------------------

local R = {}        -- R[fs][size][op][impl][rep] = us per op
local SNAP = {}     -- SNAP[fs][op][rep] = us (libsnappy, 64 KiB)
local FS_ORDER, SIZES_SEEN = {}, {}
local METRICS, SCALE, CONC, NOTES = {}, {}, {}, {}
local INFO = {}
local NS = {}       -- NS[fs][size] = { n = , nd = }
local SPEC_OF = {}  -- SPEC_OF[fs] = "SIZE:N:ND,..."
local ETCD = {}     -- ETCD[size][op][impl][rep] = us (bench/etcd_bench.lua)
local max_rep = 0

local function fields(line)
  local t = {}
  for k, v in line:gmatch("([%w_]+)=(%S+)") do t[k] = v end
  return t
end

local function put(t, ...)
  local keys = { ... }
  for i = 1, #keys - 2 do
    local k = keys[i]
    t[k] = t[k] or {}
    t = t[k]
  end
  t[keys[#keys - 1]] = keys[#keys]
end

local function add_fs(fs)
  for _, f in ipairs(FS_ORDER) do if f == fs then return end end
  FS_ORDER[#FS_ORDER + 1] = fs
end

local rep, seen = 1, {}
for _, file in ipairs(args.files) do
  local fh = assert(io.open(file, "r"))
  for line in fh:lines() do
    local kind = line:match("^(%u+) ")
    if kind == "BENCH" then
      local f = fields(line)
      if f.rep then rep = tonumber(f.rep) end
      if line:match("^BENCH info ") then INFO = f end
      if line:match("^BENCH dir ") and f.fs and f.spec then SPEC_OF[f.fs] = f.spec end
    elseif kind == "NOTE" then
      NOTES[#NOTES + 1] = line:sub(6)
    elseif kind == "METRIC" then
      METRICS[#METRICS + 1] = fields(line)
    elseif kind == "RESULT" then
      local f = fields(line)
      local us, size = tonumber(f.us_op), tonumber(f.size)
      if f.mode == "scale" then
        SCALE[#SCALE + 1] = f
      elseif f.mode == "etcd" then
        put(ETCD, size, f.op, f.impl, rep, us)
        if rep > max_rep then max_rep = rep end
      elseif f.mode and f.mode:match("^conc%-") then
        CONC[#CONC + 1] = f
      elseif f.impl == "libsnappy" then
        add_fs(f.fs)
        local r = rep
        put(SNAP, f.fs, f.op, r, us)
      else
        add_fs(f.fs)
        local impl, op = f.impl, f.op
        if impl:match("^sqlite") then impl = "sqlite" end
        if op == "readdir" then op = "keys" end
        -- without BENCH rep= lines, the k-th occurrence is repetition k
        local r = rep
        if not INFO.reps then
          local id = table.concat({ impl, f.fs, size, op }, "|")
          seen[id] = (seen[id] or 0) + 1
          r = seen[id]
        end
        if r > max_rep then max_rep = r end
        put(R, f.fs, size, op, impl, r, us)
        SIZES_SEEN[size] = true
        put(NS, f.fs, size, "seen", true)
        if op == "put_fast_new" and impl == "floor" then NS[f.fs][size].n = tonumber(f.n) end
        if op == "put_durable_new" and impl == "floor" then NS[f.fs][size].nd = tonumber(f.n) end
      end
    end
  end
  fh:close()
end

-- floor has no `each`: its floor is a readdir plus a get, per entry
for _, fs in ipairs(FS_ORDER) do
  for size, ops in pairs(R[fs] or {}) do
    local k, g = ops.keys and ops.keys.floor, ops.get and ops.get.floor
    if k and g then
      for r, v in pairs(k) do
        if g[r] then put(R, fs, size, "each", "floor", r, v + g[r]) end
      end
    end
  end
end

local SIZES = {}
for s in pairs(SIZES_SEEN) do SIZES[#SIZES + 1] = s end
table.sort(SIZES)

-- ---- numbers ----------------------------------------------------------------

local function median(t)
  if #t == 0 then return nil end
  table.sort(t)
  local n = #t
  if n % 2 == 1 then return t[(n + 1) / 2] end
  return (t[n / 2] + t[n / 2 + 1]) / 2
end

local function reps_of(fs, size, op, impl)
  local t = R[fs] and R[fs][size] and R[fs][size][op] and R[fs][size][op][impl]
  return t or {}
end

local function med(fs, size, op, impl)
  local v = {}
  for _, x in pairs(reps_of(fs, size, op, impl)) do v[#v + 1] = x end
  return median(v)
end

-- median over repetitions of fa(rep) / fb(rep), both defined
local function med_ratio(fa, fb)
  local v = {}
  for r = 1, max_rep do
    local a, b = fa(r), fb(r)
    if a and b and b > 0 then v[#v + 1] = a / b end
  end
  return median(v)
end

local function us(x)
  if not x then return "–" end
  if x < 1 then return string.format("%.3f", x) end
  if x < 10 then return string.format("%.2f", x) end
  if x < 100 then return string.format("%.1f", x) end
  return string.format("%.0f", x)
end

local function ratio(x)
  if not x then return "" end
  return string.format("×%.2f", x)
end

local function size_name(s)
  if s >= 1048576 and s % 1048576 == 0 then return (s // 1048576) .. " MiB" end
  if s >= 1024 and s % 1024 == 0 then return (s // 1024) .. " KiB" end
  return s .. " B"
end

-- ---- output -------------------------------------------------------------------

local out = {}
local function w(fmt, ...)
  out[#out + 1] = select("#", ...) > 0 and string.format(fmt, ...) or fmt
end

local COLS = { "floor", "okofdb-lua5.4", "okofdb-luajit", "okofdb-nocomp-lua5.4", "okofdb-nocomp-luajit",
               "luaatomic", "luaatomic-luajit", "luanaive", "sqlite" }
local OKOF = { ["okofdb-lua5.4"] = true, ["okofdb-luajit"] = true, ["okofdb-nocomp-lua5.4"] = true,
               ["okofdb-nocomp-luajit"] = true }
local OPS = { "put_fast_new", "put_fast_over", "get", "get_min", "keys", "each", "del_fast",
              "put_ttl_over", "get_ttl",
              "trunc_new", "trunc_over", "put_durable_new", "put_durable_over", "del_durable" }
local OP_NOTE = {
  keys = "keys¹", each = "each²", get_min = "get_min³", trunc_new = "trunc_new⁴", trunc_over = "trunc_over⁴",
}

local function present_cols()
  local have = {}
  for _, fs in ipairs(FS_ORDER) do
    for _, size in ipairs(SIZES) do
      for _, op in ipairs(OPS) do
        for _, c in ipairs(COLS) do
          if next(reps_of(fs, size, op, c)) then have[c] = true end
        end
      end
    end
  end
  local cols = {}
  for _, c in ipairs(COLS) do if have[c] then cols[#cols + 1] = c end end
  return cols
end
local cols = present_cols()

w("## Results")
w("")
if INFO.date then
  local specs = {}
  for _, fs in ipairs(FS_ORDER) do
    if SPEC_OF[fs] then specs[#specs + 1] = string.format("`%s` on %s", SPEC_OF[fs], fs) end
  end
  w("Run of %s, okofdb %s commit %s%s; %s repetition(s); SIZE:N:ND %s%s.",
    INFO.date, INFO.module == "rock" and "from the installed rock, checkout at" or "at", INFO.commit or "?",
    (tonumber(INFO.dirty_core_files) or 0) > 0 and (" with " .. INFO.dirty_core_files .. " uncommitted file(s) in c/ or lua/") or "",
    INFO.reps or "?", table.concat(specs, ", "), INFO.quick == "1" and " (**quick run**: small N, not for quoting)" or "")
  w("")
end
for _, n in ipairs(NOTES) do w("- %s", n) end
if #NOTES > 0 then w("") end

w("Times are µs per operation, medians of the repetitions; `×` is okofdb's")
w("time over floor's, computed per repetition, median of those. Peers run under")
w("Lua 5.4 unless named `-luajit`; `sqlite` is synchronous=OFF for the fast ops")
w("and FULL for the durable ones (WAL, one transaction per operation).")
w("")

for _, fs in ipairs(FS_ORDER) do
  for _, size in ipairs(SIZES) do
    local ns = NS[fs] and NS[fs][size] or {}
    w("### %s, %s values (N=%s, ND=%s)", fs, size_name(size), ns.n or "?", ns.nd or "?")
    w("")
    local head, rule = { "op" }, { "---" }
    for _, c in ipairs(cols) do
      head[#head + 1] = c .. " µs"
      rule[#rule + 1] = "---:"
    end
    w("| %s |", table.concat(head, " | "))
    w("|%s|", table.concat(rule, "|"))
    for _, op in ipairs(OPS) do
      local any = false
      for _, c in ipairs(cols) do if next(reps_of(fs, size, op, c)) then any = true end end
      if any then
        local row = { OP_NOTE[op] or op }
        for _, c in ipairs(cols) do
          local m = med(fs, size, op, c)
          local cell = us(m)
          if OKOF[c] and m then
            local rr = med_ratio(function(r) return reps_of(fs, size, op, c)[r] end,
                                 function(r) return reps_of(fs, size, op, "floor")[r] end)
            if rr then cell = cell .. " (" .. ratio(rr) .. ")" end
          end
          row[#row + 1] = cell
        end
        w("| %s |", table.concat(row, " | "))
      end
    end
    w("")
    if SNAP[fs] and size == 65536 then
      local function sm(op)
        local v = {}
        for _, x in pairs(SNAP[fs][op] or {}) do v[#v + 1] = x end
        return median(v)
      end
      w("libsnappy alone on this value: compress %s µs, decompress %s µs.", us(sm("compress")), us(sm("decompress")))
      w("")
    end
  end
end
w("¹ per entry; floor: readdir (getdents64). ² per entry, keys with values; floor: readdir + get.")
w("³ floor only: open read close, no fstat. ⁴ the naive non-atomic overwrite: floor's open(O_TRUNC) write close, and pure Lua's io.open(key, \"wb\").")
w("")

-- ---- targets ---------------------------------------------------------------------

local function snap(fs, op) return function(r) return SNAP[fs] and SNAP[fs][op] and SNAP[fs][op][r] end end
local function at(fs, size, op, impl) return function(r) return reps_of(fs, size, op, impl)[r] end end
local function scaled(f, k) return function(r) local v = f(r); return v and v * k end end
local function plus(f, g, k) return function(r) local a, b = f(r), g(r); return a and b and a + k * b end end

-- Per interpreter: okofdb as configured by default (compression on), okofdb
-- with compress_min = false (the same work as the pure-Lua atomic store,
-- which does not compress), and that store.
local INTERPS = { { "lua5.4", "okofdb-lua5.4", "luaatomic", "okofdb-nocomp-lua5.4" },
                  { "luajit", "okofdb-luajit", "luaatomic-luajit", "okofdb-nocomp-luajit" } }
local summary = {} -- per file system: { pass = n, miss = n }
local function count(fs, ok)
  summary[fs] = summary[fs] or { pass = 0, miss = 0 }
  local k = ok and "pass" or "miss"
  summary[fs][k] = summary[fs][k] + 1
end

local function check_cell(fs, measured, target)
  local mv, tv = {}, {}
  for r = 1, max_rep do
    local m, t = measured(r), target(r)
    if m and t then mv[#mv + 1], tv[#tv + 1] = m, t end
  end
  if #mv == 0 then return "–" end
  local rr = med_ratio(measured, target)
  local ok = rr <= 1
  count(fs, ok)
  return string.format("%s / %s (×%.3f) %s", us(median(mv)), us(median(tv)), rr, ok and "PASS" or "**MISS**")
end

w("### Targets")
w("")
w("Each cell: okofdb µs / target µs (median over repetitions of okofdb rep i ÷ target rep i) PASS or MISS.")
w("The targets are reported, not asserted: the bench never fails on speed. The rules (see \"The targets\"")
w("above): okofdb with its default options against floor, plus 1.10 × libsnappy's own time for the same")
w("64 KiB value where okofdb compresses it (get, and put fast or durable); okofdb with")
w("compress_min = false against the pure-Lua atomic store, every operation and size, same interpreter.")
w("")
w("| target | fs | okofdb-lua5.4 | okofdb-luajit |")
w("|---|---|---:|---:|")

local SMALL, BIG = 100, 65536
local function target_rows(fs)
  local rows = {
    { "get 100 B ≤ 0.95 × floor get", SMALL, "get", function() return scaled(at(fs, SMALL, "get", "floor"), 0.95) end },
    { "put_fast_new 100 B ≤ 1.10 × floor", SMALL, "put_fast_new", function() return scaled(at(fs, SMALL, "put_fast_new", "floor"), 1.10) end },
    { "put_fast_over 100 B ≤ 1.10 × floor", SMALL, "put_fast_over", function() return scaled(at(fs, SMALL, "put_fast_over", "floor"), 1.10) end },
    { "del_fast 100 B ≤ 1.05 × floor", SMALL, "del_fast", function() return scaled(at(fs, SMALL, "del_fast", "floor"), 1.05) end },
    { "keys 100 B ≤ 1.5 × floor readdir, per entry", SMALL, "keys", function() return scaled(at(fs, SMALL, "keys", "floor"), 1.5) end },
    { "get 64 KiB ≤ floor get + 1.10 × snappy decompress", BIG, "get", function() return plus(at(fs, BIG, "get", "floor"), snap(fs, "decompress"), 1.10) end },
    { "put_fast_new 64 KiB ≤ floor + 1.10 × snappy compress", BIG, "put_fast_new", function() return plus(at(fs, BIG, "put_fast_new", "floor"), snap(fs, "compress"), 1.10) end },
    { "put_fast_over 64 KiB ≤ floor + 1.10 × snappy compress", BIG, "put_fast_over", function() return plus(at(fs, BIG, "put_fast_over", "floor"), snap(fs, "compress"), 1.10) end },
    -- a durable 64 KiB put compresses as a fast one does: the same rule
    { "put_durable_new 64 KiB ≤ floor + 1.10 × snappy compress", BIG, "put_durable_new", function() return plus(at(fs, BIG, "put_durable_new", "floor"), snap(fs, "compress"), 1.10) end },
    { "put_durable_over 64 KiB ≤ floor + 1.10 × snappy compress", BIG, "put_durable_over", function() return plus(at(fs, BIG, "put_durable_over", "floor"), snap(fs, "compress"), 1.10) end },
  }
  if fs ~= "tmpfs" then
    local durable = { { SMALL, "put_durable_new" }, { SMALL, "put_durable_over" }, { SMALL, "del_durable" },
                      { BIG, "del_durable" } }
    for _, d in ipairs(durable) do
      local size, op = d[1], d[2]
      rows[#rows + 1] = { string.format("%s %s ≤ 1.05 × floor (disk)", op, size_name(size)), size, op,
        function() return scaled(at(fs, size, op, "floor"), 1.05) end }
    end
  end
  return rows
end

for _, fs in ipairs(FS_ORDER) do
  for _, row in ipairs(target_rows(fs)) do
    local name, size, op, target = row[1], row[2], row[3], row[4]()
    local cells = {}
    for _, it in ipairs(INTERPS) do
      cells[#cells + 1] = check_cell(fs, at(fs, size, op, it[2]), target)
    end
    w("| %s | %s | %s | %s |", name, fs, cells[1], cells[2])
  end
  -- a value with a ttl costs what one without does (same Lua, same run)
  for _, size in ipairs({ SMALL, BIG }) do
    for _, pair in ipairs({ { "put_ttl_over", "put_fast_over" }, { "get_ttl", "get" } }) do
      local cells = {}
      for _, it in ipairs(INTERPS) do
        cells[#cells + 1] = check_cell(fs, at(fs, size, pair[1], it[2]), scaled(at(fs, size, pair[2], it[2]), 1.05))
      end
      w("| %s %s ≤ 1.05 × %s (okofdb itself) | %s | %s | %s |", pair[1], size_name(size), pair[2], fs,
        cells[1], cells[2])
    end
  end
  -- every op faster than the pure-Lua atomic store: equal work, so okofdb
  -- without compression (luaatomic does not compress), same interpreter
  local cells = {}
  for _, it in ipairs(INTERPS) do
    local slower, total = {}, 0
    for _, size in ipairs(SIZES) do
      for _, op in ipairs(OPS) do
        local rr = med_ratio(at(fs, size, op, it[4]), at(fs, size, op, it[3]))
        if rr then
          total = total + 1
          if rr >= 1 then slower[#slower + 1] = string.format("%s %s %s", op, size_name(size), ratio(rr)) end
        end
      end
    end
    if total == 0 then
      cells[#cells + 1] = "–"
    else
      local ok = #slower == 0
      count(fs, ok)
      cells[#cells + 1] = string.format("%d of %d ops slower%s %s", #slower, total,
        ok and "" or (": " .. table.concat(slower, ", ")), ok and "PASS" or "**MISS**")
    end
  end
  w("| every op faster than luaatomic (okofdb-nocomp, same Lua; × = okofdb ÷ luaatomic) | %s | %s | %s |", fs, cells[1], cells[2])
end
w("")
do
  local parts = {}
  for _, fs in ipairs(FS_ORDER) do
    local c = summary[fs]
    if c then parts[#parts + 1] = string.format("%s: %d PASS, %d MISS", fs, c.pass, c.miss) end
  end
  w("%s. The targets are judged on tmpfs, where okofdb's own cost is visible, and the", table.concat(parts, "; "))
  w("durable rows also on the disk; there the fast operations wait on writeback and move with it.")
end
w("")

-- ---- okofdb on etcd ----------------------------------------------------------------

local ETCD_COLS = { "etcd-floor", "okofdb-lua5.4", "okofdb-luajit" }
local ETCD_OPS = { "get", "put", "add", "del", "keys" }
local etcd_sizes = {}
for size in pairs(ETCD) do etcd_sizes[#etcd_sizes + 1] = size end
table.sort(etcd_sizes)
local function etcd_at(size, op, impl)
  return function(r)
    local t = ETCD[size] and ETCD[size][op] and ETCD[size][op][impl]
    return t and t[r]
  end
end
local function etcd_med(size, op, impl)
  local v = {}
  for r = 1, max_rep do
    local x = etcd_at(size, op, impl)(r)
    if x then v[#v + 1] = x end
  end
  return median(v)
end
if #etcd_sizes > 0 then
  w("### okofdb on etcd: a 3-member cluster on loopback")
  w("")
  w("etcd 3.4 (`bench/etcd_bench.lua`; its data on tmpfs), every client talking to the same")
  w("member over one kept-alive HTTP connection. `etcd-floor` (`bench/etcd_floor.c`) makes the")
  w("requests okofdb makes, with the same bytes, through libcurl with nothing around them.")
  w("µs per operation (keys: per entry, in pages of 128), medians; × is okofdb ÷ floor.")
  w("")
  for _, size in ipairs(etcd_sizes) do
    w("| %s values: op | %s |", size_name(size), table.concat(ETCD_COLS, " µs | ") .. " µs")
    w("|---|---:|---:|---:|")
    for _, op in ipairs(ETCD_OPS) do
      local row = { op }
      for _, c in ipairs(ETCD_COLS) do
        local m = etcd_med(size, op, c)
        local cell = us(m)
        if m and c ~= "etcd-floor" then
          local rr = med_ratio(etcd_at(size, op, c), etcd_at(size, op, "etcd-floor"))
          if rr then cell = cell .. " (" .. ratio(rr) .. ")" end
        end
        row[#row + 1] = cell
      end
      w("| %s |", table.concat(row, " | "))
    end
    w("")
  end
  w("| etcd target | okofdb-lua5.4 | okofdb-luajit |")
  w("|---|---:|---:|")
  for _, size in ipairs(etcd_sizes) do
    for _, op in ipairs(ETCD_OPS) do
      local k = op == "keys" and 1.5 or 1.10
      local target = scaled(etcd_at(size, op, "etcd-floor"), k)
      local cells = {}
      for _, impl in ipairs({ "okofdb-lua5.4", "okofdb-luajit" }) do
        cells[#cells + 1] = check_cell("etcd", etcd_at(size, op, impl), target)
      end
      w("| %s %s ≤ %.2f × etcd-floor%s | %s | %s |", op, size_name(size), k,
        op == "keys" and ", per entry" or "", cells[1], cells[2])
    end
  end
  -- a put with a ttl (its lease shared by the values of a handle) beside
  -- okofdb's own put: no floor makes leases
  for _, size in ipairs(etcd_sizes) do
    local cells = {}
    for _, impl in ipairs({ "okofdb-lua5.4", "okofdb-luajit" }) do
      cells[#cells + 1] = check_cell("etcd", etcd_at(size, "put_ttl", impl),
                                     scaled(etcd_at(size, "put", impl), 2))
    end
    w("| put_ttl %s ≤ 2.00 × okofdb's put | %s | %s |", size_name(size), cells[1], cells[2])
  end
  w("")
  local c = summary.etcd
  if c then w("etcd: %d PASS, %d MISS.", c.pass, c.miss) w("") end
end

-- ---- memory and scale --------------------------------------------------------------

local function kib(x) return string.format("%.1f", tonumber(x) / 1024) end
local peaks, mixed = {}, {}
for _, m in ipairs(METRICS) do
  if m.kind == "getpeak" then peaks[#peaks + 1] = m end
  if m.kind == "mixed" then mixed[#mixed + 1] = m end
end
if #peaks > 0 then
  w("### Memory: peak RSS of one get of a %s value", size_name(tonumber(peaks[1].size)))
  w("")
  w("VmHWM in a fresh process just before and just after the get (MiB). okofdb's bound is")
  w("2N + compressed size + 64 KiB; pure Lua's `io.open(f, \"rb\"):read(\"*a\")` of the raw value")
  w("is shown for comparison (its \"bound\" column is N, the string itself).")
  w("")
  w("| reader | value | file MiB | peak − baseline MiB | bound MiB | within | get ms |")
  w("|---|---|---:|---:|---:|---|---:|")
  for _, m in ipairs(peaks) do
    local ok = tonumber(m.extra_kb) <= tonumber(m.bound_kb)
    w("| %s | %s | %.1f | %s | %s | %s | %.1f |", m.reader, m.value, tonumber(m.file) / 1048576,
      kib(m.extra_kb), kib(m.bound_kb), m.reader == "okofdb" and (ok and "yes" or "**no**") or "",
      tonumber(m.get_s) * 1000)
  end
  w("")
end
if #mixed > 0 then
  w("### Memory: RSS over mixed operations (okofdb-lua5.4, 1000 keys)")
  w("")
  w("Of every 20 ops: 8 put (100 B; every 100th op puts 64 KiB), 8 get, 3 del, 1 keys loop broken")
  w("off after one key; every 10,000 ops a full keys and a full each walk. Keys picked at random.")
  w("")
  w("| ops | VmRSS KiB | Lua heap KiB |")
  w("|---:|---:|---:|")
  for _, m in ipairs(mixed) do w("| %s | %s | %s |", m.ops, m.rss_kb, m.lua_kb) end
  w("")
end
if #SCALE > 0 then
  w("### Scale: cost against the number of keys (%s, okofdb-lua5.4)", SCALE[1].fs)
  w("")
  w("| measure | µs |")
  w("|---|---:|")
  local label = {
    open = "okofdb.open + close, median of %s opens, dir of %s keys",
    get = "get 100 B, random keys, store of %s keys",
    put = "put 100 B sync none, random existing keys, store of %s keys",
    rawget = "floor's get_min from Lua (clock.readat: openat, read, close), the same keys, store of %s keys",
  }
  local by = {}
  for _, s in ipairs(SCALE) do
    local what, nk = s.op:match("^(%a+)_(%d+)keys$")
    local text = what == "open" and string.format(label.open, s.n, nk) or string.format(label[what] or s.op, nk)
    w("| %s | %s |", text, us(tonumber(s.us_op)))
    if what then
      by[what] = by[what] or {}
      table.insert(by[what], { keys = tonumber(nk), us = tonumber(s.us_op) })
    end
  end
  w("")
  -- growth from the smallest to the biggest store measured, per measure
  local function growth(what)
    local t = by[what]
    if not t or #t < 2 then return nil end
    table.sort(t, function(a, b) return a.keys < b.keys end)
    return t[#t].us / t[1].us, t[1].keys, t[#t].keys
  end
  local parts = {}
  for _, what in ipairs({ "open", "get", "put" }) do
    local g, lo, hi = growth(what)
    if g then
      local limit = what == "open" and 1.10 or 1.5
      parts[#parts + 1] = string.format("%s ×%.2f (%s keys → %s, target ≤ %.2f) %s", what, g, lo, hi, limit,
        g <= limit and "PASS" or "**MISS**")
    end
  end
  local graw = growth("rawget")
  if #parts > 0 then
    w("Growth: %s.%s", table.concat(parts, "; "),
      graw and string.format(" The file system's own get (floor's get_min from Lua) grows ×%.2f.", graw) or "")
    w("")
  end
end

-- ---- batch writes -------------------------------------------------------------------

local batches = {}
for _, m in ipairs(METRICS) do
  if m.kind == "batch" then batches[#batches + 1] = m end
end
if #batches > 0 then
  w("### Batch writes: %s durable keys, one put_many against single puts", batches[1].n)
  w("")
  w("sync = \"full\", 100 B values, okofdb-lua5.4; medians of %s interleaved rounds. put_many", batches[1].rounds)
  w("writes every temporary file and starts its write-back (sync_file_range), fsyncs each (each")
  w("fsync reports that file's write-back errors), renames them all, then fsyncs the directory")
  w("once. On tmpfs a flush costs nothing, so there is nothing to win there.")
  w("")
  w("| fs | %s single puts ms | one put_many ms | speedup (target ≥ 3) |", batches[1].n)
  w("|---|---:|---:|---:|")
  for _, b in ipairs(batches) do
    local sp = tonumber(b.speedup)
    w("| %s | %.1f | %.1f | %.2f %s |", b.fs, tonumber(b.single_s) * 1000, tonumber(b.many_s) * 1000, sp,
      b.fs == "tmpfs" and "(n/a: no flush on tmpfs)" or (sp >= 3 and "PASS" or "MISS"))
  end
  w("")
end

-- ---- concurrency ----------------------------------------------------------------------

if #CONC > 0 then
  local byfs, fsl = {}, {}
  for _, c in ipairs(CONC) do
    if not byfs[c.fs] then byfs[c.fs] = {}; fsl[#fsl + 1] = c.fs end
    local impl = c.impl:match("^okofdb") and "okofdb" or "sqlite"
    put(byfs, c.fs, c.mode .. "|" .. c.op, impl, tonumber(c.ops_s))
  end
  w("### Concurrency: writer processes (Lua 5.4) putting 100 B values")
  w("")
  w("Total puts per second of all writers over %s s; own = each writer its own 1000 keys,",
    CONC[1].total_s and string.format("%.1f", tonumber(CONC[1].total_s)) or "?")
  w("shared = all writers the same 1000 keys. SQLite: WAL, busy_timeout 10 s, one table.")
  w("")
  for _, fs in ipairs(fsl) do
    w("| %s: sync | keys | writers | okofdb puts/s | SQLite puts/s | okofdb ÷ SQLite |", fs)
    w("|---|---|---:|---:|---:|---:|")
    local seen_rows = {}
    for _, c in ipairs(CONC) do
      local key = c.mode .. "|" .. c.op
      if c.fs == fs and not seen_rows[key] then
        seen_rows[key] = true
        local sync = c.mode:match("conc%-(%a+)")
        local keys, np = c.op:match("^put_(%a+)_p(%d+)$")
        local v = byfs[fs][key]
        local o, s = v.okofdb, v.sqlite
        w("| %s | %s | %s | %s | %s | %s |", sync == "none" and "none / OFF" or "full / FULL", keys, np,
          o and string.format("%.0f", o) or "–", s and string.format("%.0f", s) or "–",
          (o and s and s > 0) and string.format("%.2f", o / s) or "")
      end
    end
    w("")
  end
end

local md = table.concat(out, "\n") .. "\n"
io.write(md)

if args.out then
  local f = assert(io.open(args.out, "w"))
  f:write(md)
  f:close()
end

-- ---- chart ---------------------------------------------------------------------------

if args["chart-data"] then
  local panels = {}
  local f = assert(io.open(args["chart-data"], "w"))
  local chart_ops = { "put_fast_new", "put_fast_over", "get", "keys", "each", "del_fast",
                      "trunc_new", "trunc_over", "put_durable_new", "put_durable_over", "del_durable" }
  for _, fs in ipairs(FS_ORDER) do
    for _, size in ipairs(SIZES) do
      if #panels > 0 then f:write("\n\n") end
      panels[#panels + 1] = string.format("%s, %s values", fs, size_name(size))
      f:write("op")
      for _, c in ipairs(cols) do f:write(" ", c) end
      f:write("\n")
      for _, op in ipairs(chart_ops) do
        f:write(op)
        for _, c in ipairs(cols) do
          local m = med(fs, size, op, c)
          f:write(" ", m and string.format("%.4g", m) or "-")
        end
        f:write("\n")
      end
    end
  end
  f:close()
  local vars = args["chart-data"]:gsub("%.dat$", "") .. ".vars.gp"
  f = assert(io.open(vars, "w"))
  f:write(string.format("datafile = '%s'\n", args["chart-data"]))
  f:write(string.format("outfile = '%s'\n", args.chart or "chart.png"))
  f:write(string.format("npanels = %d\nnrows = %d\nncols = %d\nnseries = %d\n",
    #panels, #FS_ORDER, #SIZES, #cols))
  -- one colour per series name, whichever series this run has
  local COLOUR = {
    floor = "#444444", ["okofdb-lua5.4"] = "#1f77b4", ["okofdb-luajit"] = "#6baed6",
    ["okofdb-nocomp-lua5.4"] = "#9467bd", ["okofdb-nocomp-luajit"] = "#c5b0d5", luaatomic = "#d62728", ["luaatomic-luajit"] = "#ff9896",
    luanaive = "#bcbd22", sqlite = "#2ca02c",
  }
  local cl = {}
  for i, c in ipairs(cols) do cl[i] = '"' .. (COLOUR[c] or "#888888") .. '"' end
  f:write(string.format("array colours[%d] = [%s]\n", #cols, table.concat(cl, ", ")))
  f:write(string.format("array titles[%d]\n", #panels))
  for i, t in ipairs(panels) do f:write(string.format("titles[%d] = '%s'\n", i, t)) end
  f:write(string.format("subtitle = '%s'\n", INFO.date and ("okofdb " .. (INFO.commit or "") .. ", " .. INFO.date
    .. ", medians of " .. (INFO.reps or "?") .. " runs") or ""))
  f:close()
  if args.chart then
    -- gnuplot warns of series with no value in a panel (no luanaive put): not news
    os.execute(string.format(
      "{ gnuplot -e \"load '%s'\" bench/chart.gp 2>&1 || echo 'report.lua: gnuplot failed'; } | { grep -v 'no valid points' >&2; true; }",
      vars))
  end
end

if args.update then
  local f = io.open(args.update, "r")
  local doc = f and f:read("*a") or ""
  if f then f:close() end
  local b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
  local i = doc:find(b, 1, true)
  local j = doc:find(e, 1, true)
  local body = b .. "\n" .. md .. "\n![okofdb, floor and peers per operation](bench/chart.png)\n\n" .. e
  if i and j and j > i then
    doc = doc:sub(1, i - 1) .. body .. doc:sub(j + #e)
  else
    doc = doc .. "\n" .. body .. "\n"
  end
  f = assert(io.open(args.update, "w"))
  f:write(doc)
  f:close()
  io.stderr:write("report.lua: updated ", args.update, "\n")
end
