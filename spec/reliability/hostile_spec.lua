-- spec/reliability/hostile_spec.lua -- README "Errors" and docs/format.md
-- "Keys and file names" against a hostile directory: things that are not
-- okofdb's value
-- files planted at a key's name, and permissions that forbid the operation.
--
--   - a symbolic link is never followed: get gives ELOOP (even when the link
--     points at a valid value file), put replaces the link itself, del
--     removes the link; the target is never touched;
--   - a directory gives EISDIR to get, put and del, and stays as it was;
--   - a FIFO gives get and each an error at once (in a child under
--     `timeout 5`: not a hang), put replaces it, del removes it;
--   - permission denied (as user nobody when run as root, through setpriv
--     or runuser; by the modes alone otherwise): put and del in a store
--     that cannot be written, get of a value file that cannot be read, open
--     of a directory that cannot be searched or created: nil, msg, "EACCES".
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local CWD = H.sh("pwd"):match("^[^\n]*")
local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return CWD .. "/" .. p:gsub("^%./", "")
end

local CHILD = absolute(H.SPEC_DIR .. "/reliability/ops_child.lua")

local function pre()
  local p = os.getenv("LD_PRELOAD")
  return (p and p ~= "") and ("LD_PRELOAD=" .. H.q(p) .. " ") or ""
end

-- The Lua paths of this process, made absolute (the children run in /).
local function abs_paths(paths)
  local t = {}
  for entry in paths:gmatch("[^;]+") do t[#t + 1] = absolute(entry) end
  return table.concat(t, ";") .. ";;"
end

-- Run ops_child.lua (from path child, with the given Lua paths) under
-- `timeout 5`, as prefix says; returns its output lines, its exit status
-- (124: killed by timeout), the milliseconds it took and its whole output.
local function run_child(prefix, child, dir, ops, luapath, luacpath)
  local parts = {}
  for i, a in ipairs(ops) do parts[i] = H.q(a) end
  local env = "LUA_PATH=" .. H.q(luapath or abs_paths(package.path)) ..
    " LUA_CPATH=" .. H.q(luacpath or abs_paths(package.cpath)) .. " "
  local cmd = "t0=$(date +%s%N); cd / && " .. (prefix or "") .. "env " .. env .. pre() ..
    "timeout 5 " .. H.q(H.LUA) .. " " .. H.q(child) .. " " .. H.q(dir) .. " " .. table.concat(parts, " ") ..
    " 2>&1; echo \"status=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))\""
  local out = H.sh(cmd)
  local lines = {}
  for l in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local last = table.remove(lines) or ""
  return lines, tonumber(last:match("status=(%d+)")), tonumber(last:match("ms=(%d+)")), out
end

-- One more case checked, for the report.
local function case()
  RL.add("hostile.cases", 1)
end

local function counted(fn) return RL.counted("hostile", fn) end

-- A store, and next to it (outside it) a valid value file as a link target.
local function store_with_target()
  local base = H.tmpdir()
  local db, dir = nil, base .. "/store"
  db = assert(okofdb.open(dir))
  -- the target: a valid value file, so that following the link would give a value
  assert.is_true(db:put("source", "the target's value"))
  local target = base .. "/target"
  assert(H.run("mv " .. H.q(dir .. "/source") .. " " .. H.q(target)))
  return db, dir, base, target
end

local function expect_err(code, key, ...)
  local r = H.pack(...)
  assert.are.equal(3, r.n, "expected nil, msg, code; got " .. r.n .. " results: " .. tostring(r[1]))
  assert.is_nil(r[1])
  assert.are.equal("string", type(r[2]))
  assert.are.equal(code, r[3], r[2])
  assert.is_true(H.contains(r[2], '"' .. key .. '"'), "the message does not name the key: " .. r[2])
  case()
end

describe("a symbolic link at a key's name", function()
  after_each(H.cleanup)

  it("is not followed by get, each or keys: ELOOP, even when it points at a valid value file", counted(function()
    local db, dir, _, target = store_with_target()
    local before = H.read_file(target)
    assert(H.run("ln -s ../target " .. H.q(dir .. "/k") .. " && ln -s " .. H.q(target) .. " " .. H.q(dir .. "/abs") ..
      " && ln -s nowhere " .. H.q(dir .. "/dangling") .. " && ln -s .. " .. H.q(dir .. "/up")))
    -- following the link would give a value: the target is a valid value file
    assert.are.equal("the target's value", H.decode(before))
    for _, k in ipairs({ "k", "abs", "dangling", "up" }) do expect_err("ELOOP", k, db:get(k)) end
    local seen = H.collect_each(db)
    for _, k in ipairs({ "k", "abs", "dangling", "up" }) do
      assert.is_not_nil(seen[k], k)
      assert.is_nil(seen[k].value, k)
      assert.is_true(H.contains(seen[k].err, k), tostring(seen[k].err))
    end
    local keys, n = H.collect_keys(db)
    assert.are.equal(4, n)
    assert.is_true(keys.k and keys.abs and keys.dangling and keys.up)
    assert.are.equal(before, H.read_file(target))
    db:close()
  end))

  it("is replaced by put, whose target keeps its content", counted(function()
    local db, dir, _, target = store_with_target()
    local before = H.read_file(target)
    assert(H.run("ln -s ../target " .. H.q(dir .. "/k") .. " && ln -s .. " .. H.q(dir .. "/up")))
    assert.is_true(db:put("k", "new value"))
    case()
    assert.is_false(H.is_symlink(dir .. "/k"))
    assert.is_true(H.run("test -f " .. H.q(dir .. "/k")))
    assert.are.equal("new value", db:get("k"))
    assert.are.equal(before, H.read_file(target))
    -- a link to a directory: replaced too, the directory untouched
    local listing = H.listdir(dir .. "/..")
    assert.is_true(db:put("up", "x"))
    case()
    assert.is_false(H.is_symlink(dir .. "/up"))
    assert.are.equal("x", db:get("up"))
    assert.are.same(listing, H.listdir(dir .. "/.."))
    assert.are.same({}, H.tmpfiles(dir))
    db:close()
  end))

  it("is removed by del, not its target", counted(function()
    local db, dir, _, target = store_with_target()
    local before = H.read_file(target)
    assert(H.run("ln -s ../target " .. H.q(dir .. "/k") .. " && ln -s nowhere " .. H.q(dir .. "/dangling")))
    local r = H.pack(db:del("k"))
    assert.are.equal(1, r.n)
    assert.are.equal("boolean", type(r[1]))
    case()
    assert.is_false(H.exists(dir .. "/k"))
    assert.are.equal(before, H.read_file(target))
    r = H.pack(db:del("dangling"))
    assert.are.equal(1, r.n)
    assert.are.equal("boolean", type(r[1]))
    case()
    assert.are.same({}, H.listdir(dir))
    assert.is_nil(db:get("k"))
    db:close()
  end))

  it("or a directory named like a temporary file: sweep never touches the target or the directory", counted(function()
    local db, dir, _, target = store_with_target()
    local before = H.read_file(target)
    local link, sub = dir .. "/.okof-tmp-planted-1", dir .. "/.okof-tmp-planted-2"
    assert(H.run("ln -s ../target " .. H.q(link) .. " && mkdir " .. H.q(sub) ..
      " && echo inside > " .. H.q(sub .. "/inner")))
    H.touch_ago(link, "2 hours ago")
    H.touch_ago(target, "2 hours ago")
    H.touch_ago(sub, "2 hours ago")
    local n = db:sweep(0)
    case()
    -- the link may go (it is a name okofdb owns) or stay (not a file okofdb made)
    assert.are.equal(H.is_symlink(link) and 0 or 1, n)
    assert.are.equal(before, H.read_file(target))
    assert.are.equal("inside\n", H.read_file(sub .. "/inner"))
    db:close()
  end))
end)

describe("a directory at a key's name", function()
  after_each(H.cleanup)

  it("gives EISDIR to get, put and del, and stays as it was", counted(function()
    local db, dir = H.open_tmp()
    assert(H.run("mkdir " .. H.q(dir .. "/empty") .. " " .. H.q(dir .. "/full") ..
      " && echo inside > " .. H.q(dir .. "/full/inner")))
    assert.is_true(db:put("other", "v"))
    for _, k in ipairs({ "empty", "full" }) do
      expect_err("EISDIR", k, db:get(k))
      expect_err("EISDIR", k, db:put(k, "value"))
      expect_err("EISDIR", k, db:put(k, H.text_bytes(5000, 1)))
      expect_err("EISDIR", k, db:del(k))
      assert.is_true(H.is_dir(dir .. "/" .. k))
    end
    assert.are.equal("inside\n", H.read_file(dir .. "/full/inner"))
    assert.are.same({}, H.tmpfiles(dir))
    local seen = H.collect_each(db)
    assert.are.equal("v", seen.other.value)
    assert.is_nil(seen.empty.value)
    assert.is_true(H.contains(seen.empty.err, "empty"))
    assert.is_nil(seen.full.value)
    db:close()
  end))

  it("does not hang a child process (timeout 5)", counted(function()
    local _, dir = H.open_tmp()
    assert(H.run("mkdir " .. H.q(dir .. "/d")))
    local K = H.hex("d")
    local lines, status, ms, out = run_child("", CHILD, dir, { "get", K, "put", K, H.hex("v"), "del", K, "each" })
    assert.are.equal(0, status, out)
    assert.is_true(ms < 5000)
    assert.are.equal("err EISDIR", lines[1]:match("^err %S+"), out)
    assert.are.equal("err EISDIR", lines[2]:match("^err %S+"), out)
    assert.are.equal("err EISDIR", lines[3]:match("^err %S+"), out)
    assert.are.equal("each " .. K .. " err EISDIR", lines[4]:match("^each %x+ err %S+"), out)
    assert.are.equal("end", lines[5])
    case()
  end))
end)

describe("a FIFO at a key's name", function()
  after_each(H.cleanup)

  it("gives get and each an error at once, not a hang", counted(function()
    local db, dir = H.open_tmp()
    assert(H.run("mkfifo " .. H.q(dir .. "/f")))
    assert.is_true(db:put("g", "fine"))
    local K = H.hex("f")
    local lines, status, ms, out = run_child("", CHILD, dir, { "get", K, "each", "keys" })
    assert.are_not.equal(124, status, "get on a FIFO hung (killed by timeout): " .. out)
    assert.are.equal(0, status, out)
    assert.is_true(ms < 5000, ms .. " ms")
    local code = lines[1]:match("^err (%S+) ")
    assert.is_not_nil(code, "get on a FIFO: " .. out)
    assert.is_true(H.contains(lines[1], '"f"'), lines[1])
    local each = {}
    local i = 2
    while lines[i] and lines[i] ~= "end" do each[#each + 1] = lines[i]; i = i + 1 end
    table.sort(each)
    assert.are.equal(2, #each, out)
    assert.are.equal("each " .. K .. " err " .. code, each[1]:match("^each %x+ err %S+"), out)
    assert.are.equal("each " .. H.hex("g") .. " value " .. H.hex("fine"), each[2])
    assert.is_true(H.run("test -p " .. H.q(dir .. "/f")), "the FIFO is gone")
    case()
    db:close()
  end))

  it("is replaced by put and removed by del", counted(function()
    local db, dir = H.open_tmp()
    assert(H.run("mkfifo " .. H.q(dir .. "/f") .. " " .. H.q(dir .. "/g")))
    local K, G = H.hex("f"), H.hex("g")
    local lines, status, _, out = run_child("", CHILD, dir, { "put", K, H.hex("now a value"), "get", K, "del", G })
    assert.are.equal(0, status, out)
    assert.are.same({ "true", "value " .. H.hex("now a value"), lines[3] }, lines)
    assert.is_true(lines[3] == "true" or lines[3] == "false", out)
    assert.is_true(H.run("test -f " .. H.q(dir .. "/f")))
    assert.is_false(H.exists(dir .. "/g"))
    assert.are.equal("now a value", db:get("f"))
    assert.are.same({ "f" }, H.listdir(dir))
    case()
    case()
    db:close()
  end))
end)

describe("permission denied", function()
  after_each(H.cleanup)

  local ROOT = H.is_root()

  -- How to run a child without privileges, and the Lua paths it uses:
  -- as root, a world-readable copy of the module and the child script run
  -- as user nobody (65534); otherwise this user and this module.
  local function unprivileged()
    if not ROOT then
      return "", CHILD, abs_paths(package.path), abs_paths(package.cpath)
    end
    local prefix
    if H.run("command -v setpriv >/dev/null 2>&1") then
      prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups "
    elseif H.run("command -v runuser >/dev/null 2>&1") then
      prefix = "runuser -u nobody -- "
    else
      error("running as root, and neither setpriv nor runuser (util-linux) is installed")
    end
    local mod = H.tmpdir()
    local function search(paths, name)
      for entry in paths:gmatch("[^;]+") do
        local p = entry:gsub("%?", name)
        local f = io.open(p, "rb")
        if f then f:close() return p end
      end
      error("cannot find " .. name .. " on " .. paths)
    end
    assert(H.run("mkdir -p " .. H.q(mod .. "/okofdb") ..
      " && cp " .. H.q(search(package.cpath, "okofdb/core")) .. " " .. H.q(mod .. "/okofdb/core.so") ..
      " && cp " .. H.q(search(package.path, "okofdb")) .. " " .. H.q(mod .. "/okofdb.lua") ..
      " && cp " .. H.q(CHILD) .. " " .. H.q(mod .. "/ops_child.lua") ..
      " && chmod -R a+rX " .. H.q(mod) .. " && chmod 755 " .. H.q(mod)))
    -- the copy is usable by nobody: a check that can fail on its own
    assert(H.run(prefix .. "test -r " .. H.q(mod .. "/okofdb/core.so")), "nobody cannot read the module copy")
    return prefix, mod .. "/ops_child.lua", mod .. "/?.lua;;", mod .. "/?.so;;"
  end

  -- A store directory the child can reach (the temp dirs are 0700).
  local function reachable_store()
    local base = H.tmpdir()
    assert(H.run("chmod 755 " .. H.q(base)))
    local dir = base .. "/store"
    local db = assert(okofdb.open(dir))
    return db, dir, base
  end

  local function child(dir, ops, env)
    local prefix, script, lp, lcp = unprivileged()
    return run_child((env or "") .. prefix, script, dir, ops, lp, lcp)
  end

  it("of a store that cannot be written: put and del give EACCES, the value stays", counted(function()
    local db, dir = reachable_store()
    assert.is_true(db:put("k", "old"))
    assert(H.run("chmod 555 " .. H.q(dir)))
    local K = H.hex("k")
    local lines, status, _, out = child(dir, { "put", K, H.hex("new"), "put", K, H.hex(H.text_bytes(5000, 2)),
      "del", K, "get", K })
    assert.are.equal(0, status, out)
    for i = 1, 3 do
      assert.are.equal("err EACCES", (lines[i] or ""):match("^err %S+"), out)
      assert.is_true(H.contains(lines[i], '"k"'), lines[i])
      case()
    end
    assert.are.equal("value " .. H.hex("old"), lines[4], out)
    assert(H.run("chmod 755 " .. H.q(dir)))
    assert.are.equal("old", db:get("k"))
    assert.are.same({ "k" }, H.listdir(dir))
    db:close()
  end))

  it("of a value file that cannot be read: get gives EACCES, each yields the key with the error", counted(function()
    local db, dir = reachable_store()
    assert.is_true(db:put("k", "secret"))
    assert.is_true(db:put("open", "readable"))
    assert(H.run("chmod 000 " .. H.q(dir .. "/k")))
    local K = H.hex("k")
    local lines, status, _, out = child(dir, { "get", K, "each", "keys" })
    assert.are.equal(0, status, out)
    assert.are.equal("err EACCES", lines[1]:match("^err %S+"), out)
    assert.is_true(H.contains(lines[1], '"k"'), lines[1])
    case()
    local each = { lines[2], lines[3] }
    table.sort(each)
    assert.are.equal("each " .. K .. " err EACCES", each[1]:match("^each %x+ err %S+"), out)
    assert.are.equal("each " .. H.hex("open") .. " value " .. H.hex("readable"), each[2], out)
    assert.are.equal("end", lines[4], out)
    case()
    local keys = { lines[5], lines[6] }
    table.sort(keys)
    assert.are.same({ "key " .. K, "key " .. H.hex("open") }, keys)
    assert.are.equal("end", lines[7], out)
    db:close()
  end))

  -- okofdb's reads ask the kernel to leave access times alone (O_NOATIME
  -- on Linux), which it allows only to the files' owner: a reader who is
  -- not the owner is refused that (EPERM), and must read as usual.
  it("of reads that leave access times alone, to a reader who does not own the files: get and each read", counted(function()
    local db, dir = reachable_store()
    local vals = { a = "first", b = H.text_bytes(5000, 3), c = "third" }
    for k, v in pairs(vals) do assert.is_true(db:put(k, v)) end
    local lines, status, _, out = child(dir, { "get", H.hex("a"), "get", H.hex("b"), "each", "get", H.hex("c") })
    assert.are.equal(0, status, out)
    assert.are.equal("value " .. H.hex(vals.a), lines[1], out)
    assert.are.equal("value " .. H.hex(vals.b), lines[2], out)
    local each = { lines[3], lines[4], lines[5] }
    table.sort(each)
    for i, k in ipairs({ "a", "b", "c" }) do
      assert.are.equal("each " .. H.hex(k) .. " value " .. H.hex(vals[k]), each[i], out)
    end
    assert.are.equal("end", lines[6], out)
    assert.are.equal("value " .. H.hex(vals.c), lines[7], out)
    case()
    db:close()
  end))

  it("of a directory that cannot be searched or created: open gives EACCES", counted(function()
    local _, dir, base = reachable_store()
    assert(H.run("chmod 700 " .. H.q(dir)))
    if not ROOT then assert(H.run("chmod 000 " .. H.q(dir))) end
    local lines, status, _, out = child(dir, { "get", H.hex("k") })
    assert.are.equal(3, status, out)
    assert.are.equal("err EACCES", lines[1]:match("^err %S+"), out)
    assert.is_true(H.contains(lines[1], dir), lines[1])
    case()
    -- below a directory it cannot search
    lines, status, _, out = child(dir .. "/sub", { "get", H.hex("k") })
    assert.are.equal(3, status, out)
    assert.are.equal("err EACCES", lines[1]:match("^err %S+"), out)
    case()
    -- a new store in a directory it cannot write
    local ro = base .. "/readonly"
    assert(H.run("mkdir " .. H.q(ro) .. " && chmod 555 " .. H.q(ro)))
    lines, status, _, out = child(ro .. "/new/store", { "get", H.hex("k") })
    assert.are.equal(3, status, out)
    assert.are.equal("err EACCES", lines[1]:match("^err %S+"), out)
    assert.is_true(H.contains(lines[1], ro .. "/new/store"), lines[1])
    assert.is_false(H.exists(ro .. "/new"))
    case()
  end))
end)

