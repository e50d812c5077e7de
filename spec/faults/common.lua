-- spec/faults/common.lua -- what the fault injection specs share: the shim
-- (spec/faults/shim.c) as preloaded, and the temporary files it lists.
--
--   local FC = require("faults.common")
--   local F = FC.shim("write path faults", describe, it)
--   if not F then return end
local FC = {}

-- The shim's path as preloaded: the LD_PRELOAD entry naming shim.so.
local function preloaded_shim()
  local pre = os.getenv("LD_PRELOAD")
  if not pre then return nil, "LD_PRELOAD is not set" end
  for entry in pre:gmatch("[^%s:]+") do
    if entry:match("shim%.so$") then return entry end
  end
  return nil, "LD_PRELOAD does not name shim.so: " .. pre
end

-- The shim's Lua module, or nil and why it is not there.
function FC.load_shim()
  local path, why = preloaded_shim()
  if not path then return nil, why end
  local open, err = package.loadlib(path, "luaopen_okoffault")
  if not open then return nil, "cannot load " .. path .. ": " .. tostring(err) end
  local F = open()
  if type(F) ~= "table" then return nil, path .. " returned no module" end
  local ok, missing = F.preloaded()
  if not ok then
    return nil, path .. " is loaded but does not interpose " .. tostring(missing)
  end
  return F
end

-- The shim's module; without it, a describe block named name whose one
-- test fails saying why (the specs fail, they do not skip), and nil.
-- describe and it: busted's, which a spec file alone sees.
function FC.shim(name, describe, it)
  local F, why = FC.load_shim()
  if F then return F end
  describe(name, function()
    it("needs the shim preloaded (LD_PRELOAD=build/faults/shim.so)", function()
      error("fault injection shim unavailable: " .. tostring(why), 0)
    end)
  end)
  return nil
end

-- The names of the temporary files (".okof-tmp-...") in dir, sorted, as
-- the shim lists them (its readdir is not counted as okofdb's).
function FC.tmp_names(F, dir)
  local t = {}
  for _, n in ipairs(assert(F.ls(dir))) do
    if n:sub(1, 10) == ".okof-tmp-" then t[#t + 1] = n end
  end
  table.sort(t)
  return t
end

return FC
