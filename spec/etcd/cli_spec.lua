-- spec/etcd/cli_spec.lua -- bin/okofdb with an etcd:// URL where it takes
-- a DIR: get, put, del, ls, dump, load, check on a real cluster, and a
-- store moved from a directory to etcd and back with dump and load.
local H = require("helpers")
local EC = require("support.etcd_cluster")
local okofdb = require("okofdb")

if not EC.available() then
  describe("bin/okofdb on etcd #etcd", function() pending(EC.why_not()) end)
  return
end

local BIN = H.SPEC_DIR .. "/../bin/okofdb"
local PRELOAD = os.getenv("LD_PRELOAD")
local CLI = (PRELOAD and ("LD_PRELOAD=" .. H.q(PRELOAD) .. " ") or "")
            .. H.q(os.getenv("OKOF_LUA") or "lua5.4") .. " " .. H.q(BIN)

local cluster, scratch

-- Run the tool: { status =, out =, err = }.
local function okof(args, input)
  local t = {}
  for i, a in ipairs(args) do t[i] = H.q(a) end
  local inf, outf, errf = scratch .. "/stdin", scratch .. "/stdout", scratch .. "/stderr"
  H.write_file(inf, input or "")
  local res = H.sh(CLI .. " " .. table.concat(t, " ") .. " <" .. H.q(inf) .. " >" .. H.q(outf) ..
                   " 2>" .. H.q(errf) .. "; echo $?")
  return { status = tonumber(res:match("(%d+)%s*$")), out = H.read_file(outf),
           err = H.read_file(errf) }
end

describe("bin/okofdb on etcd #etcd", function()
  local start_cluster, stop_cluster = EC.hooks(function(c, d) cluster, scratch = c, d end)
  lazy_setup(start_cluster)
  lazy_teardown(stop_cluster)

  it("puts, gets, lists, checks and deletes", function()
    local url = cluster:url("cli/a")
    assert.are.equal(0, okof({ url, "put", "theme", "dark" }).status)
    assert.are.equal(0, okof({ url, "put", "multi" }, "line 1\nline 2\0").status)
    local r = okof({ url, "get", "theme" })
    assert.are.same({ 0, "dark" }, { r.status, r.out })
    assert.are.equal("line 1\nline 2\0", okof({ url, "get", "multi" }).out)
    assert.are.equal("multi\ntheme\n", okof({ url, "ls" }).out)
    assert.are.equal(0, okof({ url, "check" }).status)
    assert.are.equal(0, okof({ url, "del", "theme" }).status)
    r = okof({ url, "get", "theme" })
    assert.are.equal(3, r.status) -- no such key
    assert.is_true(H.contains(r.err, 'no value for key "theme" in ' .. url), r.err)
    assert.are.equal(3, okof({ url, "del", "theme" }).status)
  end)

  it("check lists a value that fails verification", function()
    local url = cluster:url("cli/b")
    assert.are.equal(0, okof({ url, "put", "good", "v" }).status)
    cluster:put_raw("/cli/b/bad", "garbage")
    local r = okof({ url, "check" })
    assert.are.equal(1, r.status)
    assert.is_true(H.contains(r.out .. r.err, "bad"), r.out .. r.err)
  end)

  it("moves a store from a directory to etcd and back with dump and load", function()
    local dir = H.tmpdir() .. "/store"
    local db = assert(okofdb.open(dir))
    local items = { plain = "text", bin = "\0\255\1", ["key/with/slashes"] = "x",
      big = H.random_bytes(5000, 9) }
    assert.is_true(db:put_many(items))
    db:close()
    local dump = okof({ dir, "dump" })
    assert.are.equal(0, dump.status)
    local url = cluster:url("cli/moved")
    assert.are.equal(0, okof({ url, "load" }, dump.out).status)
    local e = assert(okofdb.open(url))
    for k, v in pairs(items) do assert.are.equal(v, e:get(k)) end
    e:close()
    local back = H.tmpdir() .. "/back"
    assert.are.equal(0, okof({ back, "load" }, okof({ url, "dump" }).out).status)
    local b = assert(okofdb.open(back))
    for k, v in pairs(items) do assert.are.equal(v, b:get(k)) end
    b:close()
  end)

  it("reports an unreachable cluster and a malformed URL", function()
    local r = okof({ "etcd://127.0.0.1:1/x", "get", "k" })
    assert.are.equal(1, r.status)
    assert.is_true(H.contains(r.err, "Connection refused"), r.err)
    r = okof({ "etcd://127.0.0.1:1/", "get", "k" })
    assert.are.equal(2, r.status)
    assert.is_true(H.contains(r.err, "url"), r.err)
  end)
end)
