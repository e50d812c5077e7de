-- spec/format_vectors_spec.lua -- the test vectors of docs/format.md
-- (docs/vectors/, made by tools/gen_vectors.lua) against okofdb: each value
-- file is decoded by okofdb and compared with its expected value or
-- refusal, and each value that okofdb writes is encoded again and compared
-- byte for byte; each key gets exactly its listed file name and comes back
-- from keys(). Vectors of features a build lacks (expiry, legacy files,
-- portable names) are pending, not passed.
local H = require("helpers")
local okofdb = require("okofdb")

local VEC_DIR = H.SPEC_DIR .. "/../docs/vectors"

local function parse_vector(text)
  local v, hex, in_file = {}, {}, false
  for line in text:gmatch("[^\n]+") do
    if in_file then
      hex[#hex + 1] = line
    elseif line == "file:" then
      in_file = true
    elseif not line:find("^#") then
      local k, val = line:match("^([%w%-]+): ?(.*)$")
      assert(k, "bad vector line: " .. line)
      v[k] = val
    end
  end
  v.file = H.unhex((table.concat(hex):gsub("%s", "")))
  if v["value-repeat"] then
    local pat, len = v["value-repeat"]:match("^(%x+) (%d+)$")
    pat, len = H.unhex(pat), tonumber(len)
    v.value = (pat:rep(math.ceil(len / #pat))):sub(1, len)
  elseif v.value then
    v.value = H.unhex(v.value)
  end
  return v
end

local function vector_names()
  local names = {}
  for _, f in ipairs(H.listdir(VEC_DIR .. "/values")) do
    names[#names + 1] = f:match("^(.*)%.vec$")
  end
  return names
end

-- Does this build have the feature a vector requires?
local SUPPORTS = {
  ttl = function()
    local db = H.open_tmp()
    return type(db.ttl) == "function"
  end,
  legacy = function()
    return (pcall(okofdb.open, H.tmpdir(), { legacy = true }))
  end,
  portable = function()
    local db, dir = H.open_tmp()
    assert(db:put("con", "x"))
    return H.listdir(dir)[1] ~= "con"
  end,
}

describe("docs/vectors: value files", function()
  after_each(H.cleanup)

  local names = vector_names()
  it("are there, a compressed one and a multi-chunk one among them", function()
    assert.is_true(#names >= 10)
    local seen = {}
    for _, n in ipairs(names) do seen[n] = true end
    assert.is_true(seen.compressed and seen["multi-chunk"] and seen.empty and seen.ttl)
  end)

  for _, name in ipairs(names) do
    local v = parse_vector(assert(H.read_file(VEC_DIR .. "/values/" .. name .. ".vec")))

    it(name .. ": " .. v.about, function()
      assert.are.equal(name, v.name)
      assert.are.equal(tonumber(v.length), #v.file)
      if v.requires and not SUPPORTS[v.requires]() then
        return pending("this build has no " .. v.requires .. " support")
      end
      local db, dir = H.open_tmp()
      H.write_file(dir .. "/v", v.file)
      local r = H.pack(db:get("v"))
      if v.expect == "value" then
        assert.are.same({ n = 1, v.value }, r)
      elseif v.expect == "none" then
        assert.are.same({ n = 1 }, r)
      elseif v.expect == "CORRUPT" or v.expect == "legacy" then
        assert.are.equal(3, r.n)
        assert.are.equal("CORRUPT", r[3])
      else
        error("unknown expect: " .. tostring(v.expect))
      end
      if v.expect == "legacy" or (v.expect == "CORRUPT" and SUPPORTS.legacy()) then
        local ldb = assert(okofdb.open(dir, { legacy = true }))
        local lr = H.pack(ldb:get("v"))
        if v.expect == "legacy" then
          assert.are.same({ n = 1, v.value }, lr)
        else
          assert.are.equal("CORRUPT", lr[3])
        end
      end
      if v.reencode == "yes" then
        local db2, dir2 = H.open_tmp()
        assert.is_true(db2:put("v", v.value))
        assert.are.equal(H.hex(v.file), H.hex(assert(H.read_file(dir2 .. "/v"))))
      end
      if v["expires-ms"] then
        local left = db:ttl("v")
        local want = tonumber(v["expires-ms"]) / 1000 - os.time()
        assert.is_true(math.abs(left - want) < 5, tostring(left))
      end
    end)
  end
end)

describe("docs/vectors/keys.txt: keys and file names", function()
  after_each(H.cleanup)

  for line in assert(H.read_file(VEC_DIR .. "/keys.txt")):gmatch("[^\n]+") do
    if not line:find("^#") then
      local khex, name, requires = line:match("^(%x+) (%S+) ?(%S*)$")
      local key = H.unhex(khex)
      it(string.format("%q is the file %s", key, name), function()
        if requires ~= "" and not SUPPORTS[requires]() then
          return pending("this build has no " .. requires .. " support")
        end
        local db, dir = H.open_tmp()
        assert.is_true(db:put(key, "v"))
        assert.are.same({ name }, H.listdir(dir))
        assert.are.same({ [key] = true }, (H.collect_keys(db)))
        assert.are.equal("v", db:get(key))
      end)
    end
  end
end)
