-- spec/cli_spec.lua -- the command-line tool bin/okofdb, driven as a
-- subprocess with the interpreter under test ($OKOF_LUA) and the inherited
-- LUA_PATH/LUA_CPATH: every command's output and exit status (0 success,
-- 1 failure, 2 usage error), dump/load round trips, check, sweep, and the
-- progress bar (only when stderr is a terminal: util-linux `script`).
local H = require("helpers")
local okofdb = require("okofdb")

local concat = table.concat
local char, byte = string.char, string.byte

local BIN = H.SPEC_DIR .. "/../bin/okofdb"
local PRELOAD = os.getenv("LD_PRELOAD")
-- The Lua child gets the sanitizer runtime when there is one; the shell
-- utilities do not (H.sh unsets LD_PRELOAD for the shell).
local CLI = (PRELOAD and ("LD_PRELOAD=" .. H.q(PRELOAD) .. " ") or "")
            .. H.q(H.LUA) .. " " .. H.q(BIN)

-- The command line of the tool with these arguments, quoted for sh.
local function cmdline(args)
  local t = {}
  for i, a in ipairs(args) do t[i] = H.q(a) end
  return CLI .. " " .. concat(t, " ")
end

local scratch

-- Run the tool: { status =, out =, err = }. input: its stdin (default
-- empty).
local function okof(args, input)
  scratch = scratch or H.tmpdir()
  local inf, outf, errf = scratch .. "/stdin", scratch .. "/stdout", scratch .. "/stderr"
  H.write_file(inf, input or "")
  local res = H.sh(cmdline(args) .. " <" .. H.q(inf) .. " >" .. H.q(outf) ..
                   " 2>" .. H.q(errf) .. "; echo $?")
  return { status = tonumber(res:match("(%d+)%s*$")), out = H.read_file(outf),
           err = H.read_file(errf) }
end

local function contains(s, needle) return H.contains(s, needle) end

local function assert_usage(r, needle)
  assert.are.equal(2, r.status)
  assert.are.equal("", r.out)
  assert.is_truthy(r.err:find("^okofdb: "), r.err)
  if needle then assert.is_true(contains(r.err, needle), r.err) end
end

-- The contents of a store: key -> value, through the module.
local function contents(dir)
  local db = assert(okofdb.open(dir, { create = false }))
  local t = {}
  for k, v, msg in db:each() do
    assert(v ~= nil, msg)
    t[k] = v
  end
  db:close()
  return t
end

local count = H.count

local function store(dir, items)
  local db = assert(okofdb.open(dir, { sync = "none" }))
  assert(db:put_many(items))
  db:close()
end

-- Undo ls's escaping: \\ and \xHH.
local function unescape(s)
  return (s:gsub("\\([\\x])(%x?%x?)", function(c, h)
    if c == "x" then return char(tonumber(h, 16)) end
    return "\\" .. h
  end))
end

local ALL_BYTES
do
  local t = {}
  for i = 0, 255 do t[#t + 1] = char(i) end
  ALL_BYTES = concat(t)
end

-- Keys and values that exercise dump and load: text, uppercase, slash,
-- newline, control characters, non-UTF-8 bytes, NUL, empty and large values.
local function tricky()
  return {
    theme = "dark",
    ["User/Name"] = "Ada Lovelace",
    ["multi\nline key"] = "line 1\nline 2\n",
    ["tab\tand \"quotes\" and \\"] = "\0\1\2 control\127",
    ["caf\195\169 \226\130\172"] = "\240\159\152\128 emoji",
    ["\255\254 binary key"] = "\0binary\255value\0",
    ["nul\0inside"] = ALL_BYTES,
    empty = "",
    [".dotfile"] = "dot",
    big = H.random_bytes(100000, 7),
    bigtext = H.text_bytes(50000, 3),
    surrogate = "\237\160\128 is not UTF-8",
    overlong = "\192\175 is not UTF-8",
  }
end

describe("okofdb CLI", function()
  local dir
  before_each(function()
    scratch = H.tmpdir()
    dir = scratch .. "/store"
  end)
  after_each(function()
    scratch = nil
    H.cleanup()
  end)

  describe("help and usage", function()
    it("--help and -h print the general usage and exit with 0", function()
      for _, flag in ipairs({ "--help", "-h" }) do
        local r = okof({ flag })
        assert.are.equal(0, r.status)
        assert.is_truthy(r.out:find("^Usage: okofdb "))
        for _, c in ipairs({ "get", "put", "add", "del", "ls", "dump", "load", "check", "sweep",
                             "--sync", "--no-create", "Exit status", "value_base64",
                             "3  no such key" }) do
          assert.is_true(contains(r.out, c), c)
        end
        assert.are.equal("", r.err)
      end
    end)

    it("COMMAND --help and DIR COMMAND --help print the command's usage", function()
      for _, c in ipairs({ "get", "put", "add", "del", "ls", "dump", "load", "check", "sweep" }) do
        for _, args in ipairs({ { c, "--help" }, { dir, c, "-h" }, { "--help", c } }) do
          local r = okof(args)
          assert.are.equal(0, r.status, c)
          assert.is_truthy(r.out:find("^Usage: okofdb %[OPTION%]%.%.%. DIR " .. c), r.out)
        end
      end
      assert.is_false(H.exists(dir))
      assert.is_true(contains(okof({ "dump", "--help" }).out, "key_base64"))
      assert.is_true(contains(okof({ "ls", "--help" }).out, "\\xHH"))
    end)

    it("sweep --help names the library's default MAX_AGE", function()
      local age = require("okofdb.core").SWEEP_MAX_AGE_DEFAULT
      assert.is_true(contains(okof({ "sweep", "--help" }).out, "(default " .. age .. ")"))
    end)

    it("starts no other program, not even to ask whether stderr is a terminal", function()
      if not H.run("command -v strace >/dev/null 2>&1") then return pending("no strace") end
      store(dir, { a = "1", b = "2" })
      local trace = scratch .. "/execve"
      -- dump and load ask whether stderr (and stdout) are terminals
      for _, args in ipairs({ { dir, "dump" }, { dir, "load" }, { dir, "check" } }) do
        -- (under a sanitizer run, env sets LD_PRELOAD: one execve more)
        H.sh("strace -f -qq -e trace=execve -o " .. H.q(trace) .. (PRELOAD and " env " or " ") ..
             cmdline(args) .. " </dev/null >/dev/null 2>&1")
        local n = 0 -- programs started (env's search of PATH fails on the way)
        for line in (H.read_file(trace) or ""):gmatch("[^\n]+") do
          if line:find("execve(", 1, true) and line:find("= 0$") then n = n + 1 end
        end
        assert.are.equal(PRELOAD and 2 or 1, n, args[2] .. ": " .. tostring(H.read_file(trace)))
      end
    end)

    it("--version prints the module's version", function()
      local r = okof({ "--version" })
      assert.are.equal(0, r.status)
      assert.are.equal(okofdb._VERSION .. "\n", r.out)
    end)

    it("exits with 2 on usage errors", function()
      assert_usage(okof({}), "missing DIR and COMMAND")
      assert_usage(okof({ dir }), "missing COMMAND")
      assert_usage(okof({ dir, "frobnicate" }), "unknown command 'frobnicate'")
      assert_usage(okof({ dir, "frobnicate", "--help" }), "unknown command")
      assert_usage(okof({ "get", "k" }), "is DIR missing?")
      assert_usage(okof({ dir, "get" }), "missing argument")
      assert_usage(okof({ dir, "put" }), "missing argument")
      assert_usage(okof({ dir, "del" }), "missing argument")
      assert_usage(okof({ dir, "get", "a", "b" }), "too many arguments")
      assert_usage(okof({ dir, "put", "a", "b", "c" }), "too many arguments")
      assert_usage(okof({ dir, "load", "x" }), "too many arguments")
      assert_usage(okof({ dir, "ls", "--bogus" }), "unknown option '--bogus'")
      assert_usage(okof({ dir, "ls", "-x" }), "unknown option '-x'")
      assert_usage(okof({ dir, "put", "k", "v", "--sync=sometimes" }), "--sync")
      assert_usage(okof({ dir, "put", "k", "v", "--sync" }), "--sync")
      assert_usage(okof({ dir, "get", "k", "--sync=none" }), "does not apply to get")
      assert_usage(okof({ dir, "get", "k", "--null" }), "does not apply to get")
      assert_usage(okof({ dir, "put", "k", "v", "--force" }), "does not apply to put")
      assert_usage(okof({ dir, "put", "k", "v", "--legacy" }), "does not apply to put")
      assert_usage(okof({ dir, "ls", "--legacy" }), "does not apply to ls")
      assert_usage(okof({ dir, "get", "" }), "must not be empty")
      assert_usage(okof({ dir, "put", "", "v" }), "must not be empty")
      assert_usage(okof({ dir, "sweep", "soon" }), "MAX_AGE")
      assert_usage(okof({ dir, "put", string.rep("K", 100), "v" }), "too long")
      local r = okof({ dir, "frobnicate" })
      assert.is_true(contains(r.err, "okofdb --help"))
      assert.is_false(H.exists(dir))
    end)
  end)

  describe("get, put, del", function()
    it("put stores an argument; get prints it with no newline", function()
      local r = okof({ dir, "put", "greeting", "hello world" })
      assert.are.same({ 0, "", "" }, { r.status, r.out, r.err })
      r = okof({ dir, "get", "greeting" })
      assert.are.same({ 0, "hello world", "" }, { r.status, r.out, r.err })
      assert.are.same({ greeting = "hello world" }, contents(dir))
    end)

    it("put reads the value from stdin as bytes, NULs included", function()
      local value = ALL_BYTES .. "\0\0\r\n\26" .. H.random_bytes(5000, 1) .. "\0"
      local r = okof({ dir, "put", "blob" }, value)
      assert.are.equal(0, r.status, r.err)
      assert.are.equal(value, contents(dir).blob)
      r = okof({ dir, "get", "blob" })
      assert.are.equal(0, r.status)
      assert.is_true(r.out == value, "get returned other bytes")
    end)

    it("put with empty stdin stores an empty value; VALUE '' too", function()
      assert.are.equal(0, okof({ dir, "put", "e1" }, "").status)
      assert.are.equal(0, okof({ dir, "put", "e2", "" }).status)
      assert.are.same({ e1 = "", e2 = "" }, contents(dir))
      local r = okof({ dir, "get", "e1" })
      assert.are.same({ 0, "" }, { r.status, r.out })
    end)

    it("takes keys and values starting with '-' after --", function()
      assert.are.equal(0, okof({ dir, "put", "--", "-k", "-v" }).status)
      assert.are.equal("-v", okof({ dir, "get", "--", "-k" }).out)
    end)

    it("put creates the store with its parents; --no-create refuses", function()
      local deep = scratch .. "/a/b/store"
      assert.are.equal(0, okof({ deep, "put", "k", "v" }).status)
      assert.is_true(H.is_dir(deep))
      local other = scratch .. "/other"
      local r = okof({ other, "put", "--no-create", "k", "v" })
      assert.are.equal(1, r.status)
      assert.is_true(contains(r.err, "No such file or directory"), r.err)
      assert.is_false(H.exists(other))
    end)

    it("--sync=none writes too", function()
      assert.are.equal(0, okof({ "--sync=none", dir, "put", "k", "v" }).status)
      assert.are.equal(0, okof({ dir, "put", "--sync", "full", "k2", "v2" }).status)
      assert.are.same({ k = "v", k2 = "v2" }, contents(dir))
      assert.are.equal(0, okof({ dir, "del", "--sync=none", "k" }).status)
      assert.are.same({ k2 = "v2" }, contents(dir))
    end)

    it("get of a missing key exits with 3 (not 1, a failure) and says so", function()
      store(dir, { a = "1" })
      local r = okof({ dir, "get", "nope" })
      assert.are.equal(3, r.status)
      assert.are.equal("", r.out)
      assert.is_true(contains(r.err, 'okofdb: no value for key "nope"'), r.err)
    end)

    it("commands that read fail on a missing store and never create it", function()
      local missing = scratch .. "/missing"
      for _, args in ipairs({ { "get", "k" }, { "del", "k" }, { "ls" }, { "dump" },
                              { "check" }, { "sweep" } }) do
        table.insert(args, 1, missing)
        local r = okof(args)
        assert.are.equal(1, r.status, args[2])
        assert.are.equal("", r.out)
        assert.is_true(contains(r.err, "No such file or directory"), r.err)
        assert.is_truthy(r.err:find("^okofdb: "))
      end
      assert.is_false(H.exists(missing))
    end)

    it("add stores a value only when the key has none: 0, else 3", function()
      local r = okof({ dir, "add", "k", "first" })
      assert.are.same({ 0, "", "" }, { r.status, r.out, r.err })
      r = okof({ dir, "add", "k", "second" })
      assert.are.same({ 3, "" }, { r.status, r.out })
      assert.is_true(contains(r.err, 'key "k" in '), r.err)
      assert.is_true(contains(r.err, "already has a value"), r.err)
      assert.are.same({ k = "first" }, contents(dir))
      r = okof({ dir, "add", "--sync=none", "from-stdin" }, "in\0put")
      assert.are.same({ 0, "" }, { r.status, r.err })
      assert.are.same({ k = "first", ["from-stdin"] = "in\0put" }, contents(dir))
      assert.are.equal(1, okof({ "--no-create", scratch .. "/none", "add", "k", "v" }).status)
      assert.is_true(contains(okof({ "add", "--help" }).out, "Usage: okofdb [OPTION]... DIR add KEY [VALUE]"))
    end)

    it("get of a value that fails verification exits with 1", function()
      store(dir, { k = "some value" })
      local path = dir .. "/k"
      local data = H.read_file(path)
      H.write_file(path, data:sub(1, -2) .. char((byte(data, -1) + 1) % 256))
      local r = okof({ dir, "get", "k" })
      assert.are.equal(1, r.status)
      assert.are.equal("", r.out)
      assert.is_true(contains(r.err, "corrupt"), r.err)
    end)

    it("del exits with 0 when it removed a value, 3 when there was none", function()
      store(dir, { a = "1", b = "2" })
      local r = okof({ dir, "del", "a" })
      assert.are.same({ 0, "", "" }, { r.status, r.out, r.err })
      assert.are.same({ b = "2" }, contents(dir))
      r = okof({ dir, "del", "a" })
      assert.are.equal(3, r.status)
      assert.is_true(contains(r.err, 'no value for key "a"'), r.err)
      r = okof({ dir, "del", "--force", "a" })
      assert.are.same({ 0, "" }, { r.status, r.err })
      assert.are.equal(0, okof({ dir, "del", "-f", "b" }).status)
      assert.are.same({}, contents(dir))
    end)
  end)

  describe("ls", function()
    it("lists the keys sorted, one per line, with a prefix", function()
      store(dir, { b = "", a = "", ["user.2"] = "", ["user.1"] = "", User = "" })
      local r = okof({ dir, "ls" })
      assert.are.same({ 0, "User\na\nb\nuser.1\nuser.2\n", "" }, { r.status, r.out, r.err })
      r = okof({ dir, "ls", "user." })
      assert.are.same({ 0, "user.1\nuser.2\n" }, { r.status, r.out })
      r = okof({ dir, "ls", "zzz" })
      assert.are.same({ 0, "" }, { r.status, r.out })
    end)

    it("prints an empty store as nothing", function()
      store(dir, {})
      local r = okof({ dir, "ls" })
      assert.are.same({ 0, "", "" }, { r.status, r.out, r.err })
    end)

    it("escapes bytes that are not printable, unambiguously", function()
      local keys = { "new\nline", "back\\slash", "tab\there", "\255\0raw",
                     "caf\195\169", "rlo\226\128\174x", "c1\194\133", "\\x41", "del\127" }
      local items = {}
      for _, k in ipairs(keys) do items[k] = "v" end
      store(dir, items)
      local r = okof({ dir, "ls" })
      assert.are.equal(0, r.status)
      local lines = {}
      for l in r.out:gmatch("([^\n]*)\n") do lines[l] = true end
      assert.are.equal(#keys, count(lines))
      for _, l in ipairs({ "new\\x0aline", "back\\\\slash", "tab\\x09here", "\\xff\\x00raw",
                           "caf\195\169", "rlo\\xe2\\x80\\xaex", "c1\\xc2\\x85", "\\\\x41",
                           "del\\x7f" }) do
        assert.is_true(lines[l], l)
      end
      local decoded = {}
      for l in pairs(lines) do decoded[unescape(l)] = "v" end
      assert.are.same(items, decoded)
    end)

    it("--null ends keys with NUL, unescaped; a key holding NUL is an error", function()
      store(dir, { ["a\nb"] = "", c = "" })
      local r = okof({ dir, "ls", "-0" })
      assert.are.same({ 0, "a\nb\0c\0" }, { r.status, r.out })
      store(dir, { ["d\0e"] = "" })
      r = okof({ dir, "ls", "--null" })
      assert.are.equal(1, r.status)
      assert.are.equal("a\nb\0c\0", r.out)
      assert.is_true(contains(r.err, "NUL"), r.err)
    end)
  end)

  describe("dump and load", function()
    it("dump writes JSON lines: strings for UTF-8 text, base64 otherwise", function()
      store(dir, { text = "h\195\169 \"q\" \\ \n\t\0", ["\255k"] = "\0\1\255",
                   Upper = "x" })
      local r = okof({ dir, "dump" })
      assert.are.equal(0, r.status, r.err)
      local lines = {}
      for l in r.out:gmatch("([^\n]*)\n") do lines[l] = true end
      assert.are.same({
        ['{"key":"text","value":"h\195\169 \\"q\\" \\\\ \\n\\t\\u0000"}'] = true,
        ['{"key_base64":"/2s=","value_base64":"AAH/"}'] = true,
        ['{"key":"Upper","value":"x"}'] = true,
      }, lines)
      r = okof({ dir, "dump", "te" })
      assert.are.equal('{"key":"text","value":"h\195\169 \\"q\\" \\\\ \\n\\t\\u0000"}\n', r.out)
    end)

    it("dump then load into a fresh store gives the same keys and values", function()
      local items = tricky()
      store(dir, items)
      local r = okof({ dir, "dump" })
      assert.are.equal(0, r.status, r.err)
      assert.are.equal(count(items), select(2, r.out:gsub("\n", "")))
      local copy = scratch .. "/copy"
      local l = okof({ copy, "load" }, r.out)
      assert.are.same({ 0, "", "" }, { l.status, l.out, l.err })
      local got = contents(copy)
      assert.are.equal(count(items), count(got))
      for k, v in pairs(items) do
        assert.is_true(got[k] == v, "value of " .. H.hex(k))
      end
      -- and the copy dumps to the same lines
      local again = okof({ copy, "dump" })
      local a, b = {}, {}
      for x in r.out:gmatch("[^\n]+") do a[x] = true end
      for x in again.out:gmatch("[^\n]+") do b[x] = true end
      assert.are.same(a, b)
    end)

    it("load reads JSON written by others: whitespace, escapes, CRLF, blank lines", function()
      local input = concat({
        '  { "value" : "v1" , "key" : "k1" }  ',
        "",
        '{"key":"k\\u00e9\\/\\ud83d\\ude00","value":"\\b\\f\\u001F"}\r',
        "   ",
        '{"key_base64":"a2V5","value_base64":""}',
        '{"key":"k1","value":"v1 again"}',
      }, "\n") .. "\n"
      local r = okof({ dir, "load", "--sync=none" }, input)
      assert.are.same({ 0, "" }, { r.status, r.err })
      assert.are.same({ k1 = "v1 again", ["k\195\169/\240\159\152\128"] = "\b\f\31", key = "" },
                      contents(dir))
    end)

    it("load reports the line number of a bad line and exits with 1", function()
      local bad = {
        'not json',
        '{"key":"a"}',
        '{"value":"a"}',
        '{"key":"","value":"a"}',
        '{"key":"a","value":1}',
        '{"key":"a","value":"b","extra":"c"}',
        '{"key":"a","key_base64":"YQ==","value":"b"}',
        '{"key":"a","value_base64":"not base64!"}',
        '{"key":"a","value":"b"} trailing',
        '{"key":"a","value":"\\ud800"}',
        '{"key":"a","value":"b\255"}',
        '{"key":"a","value":"unterminated}',
        '{"key":"' .. string.rep("K", 100) .. '","value":"b"}',
      }
      for _, line in ipairs(bad) do
        local r = okof({ dir, "load" }, '{"key":"good","value":"1"}\n\n' .. line .. "\n")
        assert.are.equal(1, r.status, line)
        assert.is_truthy(r.err:find("^okofdb: stdin line 3: "), r.err)
        assert.is_false(H.exists(dir .. "/good"), line)
      end
    end)

    it("load writes batches of 1000 before a bad line, nothing of its batch", function()
      -- 10 keys, each line gives one of them the line's number: what is
      -- stored tells which lines were written.
      local t = {}
      for i = 1, 2500 do t[i] = '{"key":"k' .. i % 10 .. '","value":"' .. i .. '"}' end
      t[2501] = '{"key":"broken"'
      t[2502] = '{"key":"after","value":"x"}'
      local r = okof({ dir, "load", "--sync=none" }, concat(t, "\n") .. "\n")
      assert.are.equal(1, r.status)
      assert.is_true(contains(r.err, "stdin line 2501"), r.err)
      local want = {}
      for i = 1991, 2000 do want["k" .. i % 10] = tostring(i) end
      assert.are.same(want, contents(dir))
    end)

    it("load --no-create refuses a missing store", function()
      local r = okof({ dir, "load", "--no-create" }, '{"key":"a","value":"b"}\n')
      assert.are.equal(1, r.status)
      assert.is_false(H.exists(dir))
    end)

    it("dump reports a value that fails verification and goes on", function()
      store(dir, { good = "fine", bad = "will break" })
      H.write_file(dir .. "/bad", "\2garbage")
      local r = okof({ dir, "dump" })
      assert.are.equal(1, r.status)
      assert.are.equal('{"key":"good","value":"fine"}\n', r.out)
      assert.is_true(contains(r.err, '"bad"'), r.err)
    end)
  end)

  describe("check", function()
    it("exits with 0 and prints nothing for a sound store", function()
      store(dir, tricky())
      local r = okof({ dir, "check" })
      assert.are.same({ 0, "", "" }, { r.status, r.out, r.err })
    end)

    it("lists a corrupted value file with its message and exits with 1", function()
      local items = tricky()
      items["Bad\nKey"] = H.text_bytes(3000, 9)
      store(dir, items)
      local path = dir .. "/" .. H.key_to_name("Bad\nKey")
      local data = H.read_file(path)
      local pos = #data - 100 -- flip a byte inside the data
      H.write_file(path, data:sub(1, pos - 1) .. char(255 - byte(data, pos)) .. data:sub(pos + 1))
      local r = okof({ dir, "check" })
      assert.are.equal(1, r.status)
      local key, code, msg = r.out:match("^([^\t\n]*)\t([^\t\n]*)\t([^\n]*)\n$")
      assert.are.equal("Bad\\x0aKey", key, r.out)
      assert.are.equal("CORRUPT", code)
      assert.is_true(contains(msg, "corrupt"), msg)
      assert.is_true(contains(r.err, "1 of " .. count(items)), r.err)
      -- a prefix that leaves it out
      r = okof({ dir, "check", "the" })
      assert.are.same({ 0, "" }, { r.status, r.out })
    end)

    it("reports raw 0x00 files unless --legacy, and zero-filled files always", function()
      store(dir, { good = "fine" })
      H.write_file(dir .. "/raw", "\0a value of okofdb 0.1.x")
      H.write_file(dir .. "/zeros", string.rep("\0", 4096))
      local r = okof({ dir, "check" })
      assert.are.equal(1, r.status)
      local lines = {}
      for key, code, msg in r.out:gmatch("([^\t\n]*)\t([^\t\n]*)\t([^\n]*)\n") do
        lines[key] = { code = code, msg = msg }
      end
      assert.are.same({ "raw", "zeros" }, H.sorted(lines))
      assert.are.equal("CORRUPT", lines.raw.code)
      assert.is_true(contains(lines.raw.msg, "legacy = true"), lines.raw.msg)
      assert.are.equal("CORRUPT", lines.zeros.code)
      assert.is_true(contains(lines.zeros.msg, "zero bytes"), lines.zeros.msg)
      assert.is_true(contains(r.err, "2 of 3"), r.err)
      r = okof({ "--legacy", dir, "check" })
      assert.are.equal(1, r.status)
      local key, code = r.out:match("^([^\t\n]*)\t([^\t\n]*)\t[^\n]*\n$")
      assert.are.same({ "zeros", "CORRUPT" }, { key, code }, r.out)
      assert.is_true(contains(r.err, "1 of 3"), r.err)
    end)
  end)

  describe("--legacy", function()
    it("get and dump read a raw 0x00 file only with it; never a zero-filled one", function()
      store(dir, { good = "fine" })
      H.write_file(dir .. "/raw", "\0old value")
      local r = okof({ dir, "get", "raw" })
      assert.are.equal(1, r.status)
      assert.are.equal("", r.out)
      assert.is_true(contains(r.err, "open with legacy = true"), r.err)
      r = okof({ dir, "get", "raw", "--legacy" })
      assert.are.same({ 0, "old value", "" }, { r.status, r.out, r.err })
      r = okof({ dir, "dump" })
      assert.are.equal(1, r.status)
      assert.are.equal('{"key":"good","value":"fine"}\n', r.out)
      r = okof({ dir, "--legacy", "dump" })
      assert.are.equal(0, r.status, r.err)
      assert.is_true(contains(r.out, '{"key":"raw","value":"old value"}\n'), r.out)
      H.write_file(dir .. "/raw", string.rep("\0", 101))
      r = okof({ dir, "--legacy", "get", "raw" })
      assert.are.equal(1, r.status)
      assert.are.equal("", r.out)
      assert.is_true(contains(r.err, "zero bytes"), r.err)
    end)
  end)

  describe("sweep", function()
    it("prints how many temporary files it removed", function()
      store(dir, { k = "v" })
      for i, age in ipairs({ "2 hours ago", "3 days ago", "10 minutes ago" }) do
        local p = dir .. "/.okof-tmp-999-" .. i
        H.write_file(p, "leftover")
        H.touch_ago(p, age)
      end
      local r = okof({ dir, "sweep" })
      assert.are.same({ 0, "2\n", "" }, { r.status, r.out, r.err })
      r = okof({ dir, "sweep" })
      assert.are.same({ 0, "0\n" }, { r.status, r.out })
      r = okof({ dir, "sweep", "60" })
      assert.are.same({ 0, "1\n" }, { r.status, r.out })
      assert.are.same({ "k" }, H.listdir(dir))
    end)
  end)

  describe("progress bar", function()
    local have_script = H.run("script --version >/dev/null 2>&1")
    local parent, big -- a store of 6000 keys, made once for these tests

    setup(function()
      parent = H.sh("mktemp -d"):match("^[^\n]*")
      big = parent .. "/big"
      store(big, { key0 = "the value" })
      -- The same value file under 6000 names: far cheaper than 6000 puts.
      local data = H.read_file(big .. "/key0")
      for i = 1, 5999 do H.write_file(big .. "/key" .. i, data) end
    end)
    teardown(function() H.run("rm -rf " .. H.q(parent)) end)

    -- Run a shell command line on a pseudo-terminal; what the terminal got.
    local function on_tty(line)
      return H.sh("script -qec " .. H.q(line) .. " /dev/null </dev/null")
    end

    it("is drawn on a terminal for dump, check and load of 6000 keys", function()
      if not have_script then pending("util-linux script is not installed") return end
      local dumpf = scratch .. "/dump.jsonl"
      local tty = on_tty(cmdline({ big, "dump" }) .. " >" .. H.q(dumpf))
      assert.is_truthy(tty:find("dump %[[#-]+%] +%d+%%"), tty)
      assert.is_true(contains(tty, "6000 of 6000"), tty)
      assert.is_true(contains(tty, "\r"), tty)
      assert.are.equal(6000, select(2, H.read_file(dumpf):gsub("\n", "")))
      tty = on_tty(cmdline({ big, "check" }))
      assert.is_true(contains(tty, "check ["), tty)
      assert.is_true(contains(tty, "6000 of 6000"), tty)
      -- load: after 5000 lines (6000 lines here, over 3 keys)
      local lines = {}
      for i = 1, 6000 do lines[i] = '{"key":"k' .. i % 3 .. '","value":"' .. i .. '"}' end
      local inf = scratch .. "/in.jsonl"
      H.write_file(inf, concat(lines, "\n") .. "\n")
      tty = on_tty(cmdline({ dir, "load", "--sync=none" }) .. " <" .. H.q(inf))
      assert.is_true(contains(tty, "load ["), tty)
      assert.is_true(contains(tty, "100%"), tty)
      assert.are.same({ k0 = "6000", k1 = "5998", k2 = "5999" }, contents(dir))
    end)

    it("is not drawn when stderr is not a terminal, or for few keys", function()
      if not have_script then pending("util-linux script is not installed") return end
      local errf = scratch .. "/err"
      local tty = on_tty(cmdline({ big, "dump" }) .. " >/dev/null 2>" .. H.q(errf))
      assert.are.equal("", tty)
      assert.are.equal("", H.read_file(errf))
      tty = on_tty(cmdline({ big, "check" }) .. " 2>" .. H.q(errf))
      assert.are.equal("", tty)
      assert.are.equal("", H.read_file(errf))
      local r = okof({ big, "check" })
      assert.are.same({ 0, "", "" }, { r.status, r.out, r.err })
      store(dir, { a = "1", b = "2" })
      tty = on_tty(cmdline({ dir, "dump" }) .. " >/dev/null")
      assert.are.equal("", tty)
    end)
  end)
end)
