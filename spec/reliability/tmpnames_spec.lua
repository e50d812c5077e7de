-- spec/reliability/tmpnames_spec.lua -- docs/format.md "Temporary files":
-- temporary names are `.okof-tmp-` and at least 64 random bits, so that
-- no number of files already in the directory -- leftovers of a crashed
-- writer that had the same process id (PID 1 in a restarted container),
-- or names anyone made -- can make a write fail.
--
-- The directory is filled with the names an okofdb writer of this very
-- process id would have used before (`.okof-tmp-<pid>-<serial>`, the pid
-- and serial in hex, and in decimal), then put, add and put_many must
-- succeed, leave those files alone and leave no file of their own.
local H = require("helpers")
local RL = require("reliability.rlog")
local okofdb = require("okofdb")

local format = string.format

local function counted(fn) return RL.counted("tmpnames", fn) end

-- This process's id: the first field of /proc/self/stat, read by the
-- interpreter itself.
local function own_pid()
  local f = io.open("/proc/self/stat", "rb")
  if not f then return nil end
  local line = f:read("*l")
  f:close()
  return tonumber(line and line:match("^(%d+)"))
end

local function temp_files(dir)
  local t = {}
  for _, n in ipairs(H.listdir(dir)) do
    if n:sub(1, 10) == ".okof-tmp-" then t[#t + 1] = n end
  end
  table.sort(t)
  return t
end

describe("temporary names taken in advance", function()
  local db, dir, squatted
  before_each(function()
    db, dir = H.open_tmp()
    local pid = assert(own_pid(), "no /proc/self/stat")
    local seen = {}
    squatted = {}
    local function squat(name)
      if seen[name] then return end
      seen[name] = true
      H.write_file(dir .. "/" .. name, "squatted")
      squatted[#squatted + 1] = name
    end
    for n = 0, 99 do
      squat(format(".okof-tmp-%x-%x", pid, n)) -- the names of earlier releases
      squat(format(".okof-tmp-%d-%d", pid, n))
    end
    table.sort(squatted)
    RL.set("tmpnames.squatted", #squatted)
  end)
  after_each(function() db:close(); H.cleanup() end)

  local function check_untouched()
    assert.are.same(squatted, temp_files(dir))
    for _, n in ipairs(squatted) do assert.are.equal("squatted", H.read_file(dir .. "/" .. n)) end
  end

  for _, sync in ipairs({ "full", "none" }) do
    it("do not stop put, add or put_many (sync = '" .. sync .. "')", counted(function()
      db:close()
      db = assert(okofdb.open(dir, { sync = sync }))
      for i = 1, 70 do assert.is_true(db:put("p" .. i, "put " .. i)) end
      for i = 1, 70 do assert.is_true(db:add("a" .. i, "add " .. i)) end
      local t = {}
      for i = 1, 70 do t["m" .. i] = "many " .. i end
      assert.is_true(db:put_many(t))
      for i = 1, 70 do
        assert.are.equal("put " .. i, db:get("p" .. i))
        assert.are.equal("add " .. i, db:get("a" .. i))
        assert.are.equal("many " .. i, db:get("m" .. i))
      end
      check_untouched()
      RL.add("tmpnames.writes", 210)
    end))
  end

  it("do not stop a put that fails later, and sweep still recognises every temporary file", counted(function()
    -- a put whose rename fails (the key's name is a non-empty directory)
    -- removes its own temporary file and nothing else
    for i = 1, 20 do
      local key = "d" .. i
      assert(H.run("mkdir " .. H.q(dir .. "/" .. key) .. " && touch " .. H.q(dir .. "/" .. key .. "/x")))
      local ok, _, code = db:put(key, "v")
      assert.is_nil(ok)
      assert.truthy(code)
    end
    check_untouched()
    -- a leftover with a name of today's form (the name's shape is checked
    -- on the real calls in strace_spec.lua)
    H.write_file(dir .. "/.okof-tmp-0123456789abcdef0123456789abcdef", "leftover")
    assert(H.run("touch -d '2 hours ago' " .. H.q(dir) .. "/.okof-tmp-*"))
    assert.are.equal(#squatted + 1, db:sweep())
    assert.are.same({}, temp_files(dir))
  end))
end)
