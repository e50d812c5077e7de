-- spec/keys_spec.lua -- docs/format.md "Keys and file names": the key codec, hostile
-- keys that must stay inside the directory, length limits, case, decoding,
-- foreign files and prefixes.
local H = require("helpers")
local okofdb = require("okofdb")

local char = string.char

describe("key file names", function()
  local db, dir, parent
  before_each(function()
    db, dir = H.open_tmp()
    parent = dir:match("^(.*)/[^/]*$")
  end)
  after_each(function() db:close(); H.cleanup() end)

  it("are the key itself for lowercase letters, digits, '-', '_' and '.' not leading", function()
    local plain = { "abc", "a-b_c.d", "0", "123", "a..b", "z.okof-tmp-1-1", "x..y",
                    "okof-tmp-1-1", "-", "_", "a.b.c", string.rep("k", 80) }
    for _, k in ipairs(plain) do
      assert.is_true(db:put(k, "v:" .. k))
      assert.is_true(H.exists(dir .. "/" .. k), k)
      assert.are.equal("v:" .. k, db:get(k))
    end
    table.sort(plain)
    assert.are.same(plain, H.listdir(dir))
  end)

  it("escape every other byte, and a leading '.', as '%' and two lowercase hex digits", function()
    local cases = {
      { "Foo", "%46oo" }, { ".x", "%2ex" }, { "../x", "%2e.%2fx" }, { "a/b", "a%2fb" },
      { "%", "%25" }, { " ", "%20" }, { "\0", "%00" }, { "\255", "%ff" },
      { "a\0b", "a%00b" }, { "/", "%2f" }, { ".", "%2e" }, { "..", "%2e%2e" },
      { "A", "%41" }, { "\n", "%0a" }, { "é", "%c3%a9" }, { "x:y", "x%3ay" },
      { "%41", "%2541" }, { ".okof-tmp-1-1", "%2eokof-tmp-1-1" }, { "a b", "a%20b" },
      { "\\", "%5c" }, { "~", "%7e" }, { "+", "%2b" },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], H.key_to_name(c[1]))
      assert.is_true(db:put(c[1], "v"))
      assert.are.same({ c[2] }, H.listdir(dir), H.hex(c[1]))
      assert.are.equal("v", db:get(c[1]))
      assert.is_true(db:del(c[1]))
    end
  end)

  it("are what the codec says for every single-byte key, all lowercase, all distinct", function()
    local want = {}
    for b = 0, 255 do
      local k = char(b)
      assert.is_true(db:put(k, "byte " .. b))
      want[#want + 1] = H.key_to_name(k)
    end
    table.sort(want)
    local names = H.listdir(dir)
    assert.are.same(want, names)
    local lower = {}
    for _, n in ipairs(names) do
      assert.is_nil(n:find("[A-Z]"), n)
      assert.is_nil(lower[n:lower()], n)
      lower[n:lower()] = true
      assert.is_true(n:sub(1, 1) ~= ".", n)
    end
    for b = 0, 255 do assert.are.equal("byte " .. b, db:get(char(b))) end
    local keys, n = H.collect_keys(db)
    assert.are.equal(256, n)
    for b = 0, 255 do assert.is_true(keys[char(b)], b) end
  end)

  it("keep 'Foo', 'foo', 'FOO' and 'fOO' apart", function()
    local ks = { "Foo", "foo", "FOO", "fOO" }
    for _, k in ipairs(ks) do assert.is_true(db:put(k, "value of " .. k)) end
    for _, k in ipairs(ks) do assert.are.equal("value of " .. k, db:get(k)) end
    local names, lower = H.listdir(dir), {}
    assert.are.equal(4, #names)
    for _, n in ipairs(names) do
      assert.is_nil(lower[n:lower()], "names equal ignoring case: " .. n)
      lower[n:lower()] = true
    end
    assert.is_true(db:del("FOO"))
    assert.are.equal("value of Foo", db:get("Foo"))
    assert.is_nil(db:get("FOO"))
  end)

  describe("that some OS refuses or changes", function()
    -- docs/format.md "Keys and file names": Windows' device names, alone or
    -- with any extension, and keys ending in '.', get escaped names.
    local reserved = {}
    for _, d in ipairs({ "con", "prn", "aux", "nul" }) do reserved[#reserved + 1] = d end
    for i = 1, 9 do
      reserved[#reserved + 1] = "com" .. i
      reserved[#reserved + 1] = "lpt" .. i
    end
    local function variants(d)
      return { d, d .. ".txt", d .. ".tar.gz", d .. ".", d .. "..x", d .. ".c.d.e" }
    end

    it("are stored under names that are not the key, and round-trip through get, each and keys", function()
      local all = {}
      for _, d in ipairs(reserved) do
        for _, k in ipairs(variants(d)) do all[#all + 1] = k end
      end
      for _, k in ipairs({ "a.", "x..", "a.b.", "1.", "-.", "_." }) do all[#all + 1] = k end
      local want = {}
      for i, k in ipairs(all) do
        assert.is_true(db:put(k, "value " .. i))
        local name = H.key_to_name(k)
        assert.are_not.equal(k, name)
        assert.is_true(H.exists(dir .. "/" .. name), k .. " -> " .. name)
        assert.is_false(H.exists(dir .. "/" .. k), k)
        want[#want + 1] = name
      end
      table.sort(want)
      assert.are.same(want, H.listdir(dir))
      local keys, n = H.collect_keys(db)
      assert.are.equal(#all, n)
      local each = H.collect_each(db)
      for i, k in ipairs(all) do
        assert.are.equal("value " .. i, db:get(k), k)
        assert.is_true(keys[k], k)
        assert.are.equal("value " .. i, each[k] and each[k].value, k)
      end
      -- names stay unique ignoring case
      local lower = {}
      for _, name in ipairs(H.listdir(dir)) do
        assert.is_nil(lower[name:lower()], name)
        lower[name:lower()] = true
      end
      for _, k in ipairs(all) do assert.is_true(db:add(k, "again") == false, k) end
      for _, k in ipairs(all) do assert.is_true(db:del(k), k) end
      -- every add takes the store's lock file, which is never a key
      assert.are.same({ ".okof-lock" }, H.listdir(dir))
    end)

    it("escape the first byte of a device name and the '.' that ends a key", function()
      local cases = {
        { "con", "%63on" }, { "CON", "%43%4f%4e" }, { "nul.txt", "%6eul.txt" }, { "prn", "%70rn" },
        { "aux", "%61ux" }, { "com1", "%63om1" }, { "lpt9.tar.gz", "%6cpt9.tar.gz" },
        { "com1.", "%63om1%2e" }, { "a.", "a%2e" }, { "x..", "x.%2e" }, { "..", "%2e%2e" },
        { "a.b.", "a.b%2e" }, { "con.", "%63on%2e" },
      }
      for _, c in ipairs(cases) do
        assert.are.equal(c[2], H.key_to_name(c[1]))
        assert.is_true(db:put(c[1], "v"))
        assert.are.same({ c[2] }, H.listdir(dir), c[1])
        assert.are.equal("v", db:get(c[1]))
        assert.is_true(db:del(c[1]))
      end
    end)

    it("leave every other plain key its own name", function()
      local plain = { "config", "con1", "com10", "console", "lpt", "com", "lpt0", "com0", "conx.txt",
                      "xcon", "auxiliary", "nul_", "prn-1", "lpt10.txt", "a.b", "co.n", "c.on" }
      for _, k in ipairs(plain) do
        assert.is_true(db:put(k, "v:" .. k))
        assert.is_true(H.exists(dir .. "/" .. k), k)
        assert.are.equal("v:" .. k, db:get(k))
      end
      table.sort(plain)
      assert.are.same(plain, H.listdir(dir))
      local keys, n = H.collect_keys(db)
      assert.are.equal(#plain, n)
      for _, k in ipairs(plain) do assert.is_true(keys[k], k) end
    end)

    it("ignore files under the plain names earlier releases gave them ('con', 'a.'): such keys must be put again",
      function()
        for _, n in ipairs({ "con", "com1.txt", "a.", "x.." }) do H.write_file(dir .. "/" .. n, "\1old") end
        local _, n = H.collect_keys(db)
        assert.are.equal(0, n)
        assert.is_nil(db:get("con"))
        assert.is_true(db:put("con", "new"))
        assert.are.equal("new", db:get("con"))
        -- the old file is left alone (a foreign file), even by sweep
        assert.are.equal(0, db:sweep(0))
        assert.is_true(H.exists(dir .. "/con"))
      end)
  end)

  describe("of hostile keys", function()
    local hostile = { "../x", "/", ".", "..", "\0", "a\0b", "/etc/passwd", "../../x",
      "./x", "x/..", "../", "a/../../b", "\0../x", "x/", "//", ".okof-tmp-1-1",
      ".DS_Store", "..\0..", string.rep("../", 26) .. "xx", string.rep("\255", 80) }

    it("never create anything outside the directory, and decode back to the key", function()
      local passwd = H.read_file("/etc/passwd")
      local before = H.listdir(parent)
      local ok, err = pcall(function()
        for i, k in ipairs(hostile) do
          assert.is_true(db:put(k, "hostile " .. i), H.hex(k))
        end
        for i, k in ipairs(hostile) do
          assert.are.equal("hostile " .. i, db:get(k), H.hex(k))
        end
        assert.are.same(before, H.listdir(parent))
        local want = {}
        for _, k in ipairs(hostile) do want[#want + 1] = H.key_to_name(k) end
        table.sort(want)
        assert.are.same(want, H.listdir(dir))
        local keys, n = H.collect_keys(db)
        assert.are.equal(#hostile, n)
        for _, k in ipairs(hostile) do assert.is_true(keys[k], H.hex(k)) end
        local got = H.collect_each(db)
        for i, k in ipairs(hostile) do
          assert.are.equal("hostile " .. i, got[k] and got[k].value, H.hex(k))
        end
        for _, k in ipairs(hostile) do assert.is_true(db:del(k), H.hex(k)) end
        assert.are.same({}, H.listdir(dir))
        assert.are.same(before, H.listdir(parent))
      end)
      -- whatever happened, /etc/passwd must be what it was
      local now = H.read_file("/etc/passwd")
      if passwd and now ~= passwd then
        H.write_file("/etc/passwd", passwd)
        error("/etc/passwd was changed by okofdb (restored)")
      end
      assert(ok, err)
    end)

    it("read nothing outside the directory", function()
      H.write_file(parent .. "/x", "\0outside")
      assert.is_nil(db:get("../x"))
      assert.is_nil(db:get(parent .. "/x"))
      assert.is_nil(db:get("/etc/passwd"))
      assert.is_nil(db:get("."))
      assert.is_nil(db:get(".."))
      assert.are.equal(false, db:del("../x"))
      assert.are.equal("\0outside", H.read_file(parent .. "/x"))
    end)

    it("write an absolute path inside the directory", function()
      local target = parent .. "/victim"
      H.write_file(target, "untouched")
      assert.is_true(db:put(target, "inside"))
      assert.are.equal("untouched", H.read_file(target))
      assert.are.equal("inside", db:get(target))
      assert.is_true(db:del(target))
      assert.are.equal("untouched", H.read_file(target))
    end)
  end)

  describe("length limits", function()
    it("accept every key of up to 80 bytes whatever its bytes", function()
      local keys = { string.rep("\255", 80), string.rep("A", 80), string.rep("\0", 80),
                     "." .. string.rep("/", 79), string.rep("%", 80) }
      for i, k in ipairs(keys) do
        assert.are.equal(80, #k)
        assert.is_true(db:put(k, "v" .. i))
        assert.are.equal("v" .. i, db:get(k))
      end
      local got, n = H.collect_keys(db)
      assert.are.equal(#keys, n)
      for _, k in ipairs(keys) do assert.is_true(got[k]) end
      local names = H.listdir(dir)
      for _, name in ipairs(names) do assert.is_true(#name <= 255, name) end
    end)

    it("accept longer keys while the file name fits in 255 bytes", function()
      for _, k in ipairs({ string.rep("p", 85), string.rep("p", 255), string.rep("\255", 85),
                           "." .. string.rep("a", 252), string.rep("b", 200) .. string.rep("X", 18) }) do
        assert.is_true(#H.key_to_name(k) <= 255)
        assert.is_true(db:put(k, "long"), #k)
        assert.are.equal("long", db:get(k))
        assert.is_true(H.exists(dir .. "/" .. H.key_to_name(k)))
        assert.is_true(H.collect_keys(db)[k])
        assert.is_true(db:del(k))
      end
    end)

    it("raise for a key whose file name would exceed 255 bytes", function()
      for _, k in ipairs({ string.rep("p", 256), string.rep("\255", 86), "." .. string.rep("a", 253),
                           string.rep("A", 100), string.rep("p", 5000) }) do
        assert.is_true(#H.key_to_name(k) > 255)
        for _, name in ipairs({ "put", "get", "del" }) do
          local err = H.error_of(db[name], db, k, "v")
          assert.is_not_nil(err, name .. " of a key of " .. #k .. " bytes did not raise")
          assert.is_true(H.contains(err, name), err)
        end
      end
      assert.are.same({}, H.listdir(dir))
    end)
  end)

  describe("and directory entries", function()
    it("ignore files whose name okofdb would not produce", function()
      local foreign = { "Foo", "%4A", "%61", ".hidden", "%zz", "%", "%4", "a.", "%2d",
        "%5f", "%2E", "x%2fY", ".okof-tmp-99-1", ".okof-tmp", "a%2ex", "%%41", "%2",
        "con", "com1.txt", "lpt9.", "%2e.", "x.%2e%2e", "%63onfig", "c%6fn" }
      for _, n in ipairs(foreign) do H.write_file(dir .. "/" .. n, "\0foreign") end
      assert.is_true(db:put("real", "value"))
      local keys, n = H.collect_keys(db)
      assert.are.equal(1, n, table.concat(H.sorted(keys), ","))
      assert.is_true(keys.real)
      local each, m = H.collect_each(db)
      assert.are.equal(1, m)
      assert.are.equal("value", each.real.value)
      -- and nothing was removed or renamed
      table.insert(foreign, "real")
      table.sort(foreign)
      assert.are.same(foreign, H.listdir(dir))
    end)

    it("yield files named by the codec but written by others, decoded", function()
      local function file(v) return H.rust_file(H.raw_chunk(v)) end
      H.write_file(dir .. "/%41", file("upper a"))
      H.write_file(dir .. "/a%2fb", file("slash"))
      H.write_file(dir .. "/%2e%2e", file("dotdot"))
      H.write_file(dir .. "/plain", file("plain"))
      local got, n = H.collect_each(db)
      assert.are.equal(4, n)
      assert.are.equal("upper a", got.A.value)
      assert.are.equal("slash", got["a/b"].value)
      assert.are.equal("dotdot", got[".."].value)
      assert.are.equal("plain", got.plain.value)
      assert.are.equal("upper a", db:get("A"))
    end)
  end)

  describe("and prefixes", function()
    it("filter on the key's bytes, escaped or not", function()
      local ks = { "A/1", "A/2", "a/1", "a", "B", "%x", "%", "\255\255", "\254", ".a", ".b", "..", "x" }
      for _, k in ipairs(ks) do assert.is_true(db:put(k, "v" .. k)) end
      local function p(prefix) return H.sorted((H.collect_keys(db, prefix))) end
      assert.are.same({ "A/1", "A/2" }, p("A/"))
      assert.are.same({ "A/1", "A/2" }, p("A"))
      assert.are.same({ "a", "a/1" }, p("a"))
      assert.are.same({ "a/1" }, p("a/"))
      assert.are.same({ "%", "%x" }, p("%"))
      assert.are.same({ "\255\255" }, p("\255"))
      assert.are.same({ "..", ".a", ".b" }, p("."))
      assert.are.same({ ".." }, p(".."))
      assert.are.same({}, p("%2"))
      assert.are.same({}, p("A/3"))
      assert.are.same({}, p("A/1/"))
      local e = H.collect_each(db, "A/")
      assert.are.equal("vA/1", e["A/1"].value)
      assert.are.equal("vA/2", e["A/2"].value)
    end)
  end)
end)
