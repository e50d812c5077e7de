-- tools/doccheck.lua -- every function of the API has its documentation.
--
--   lua tools/doccheck.lua [--binding FILE]... [--module FILE]
--                          [--ldoc FILE] [--header FILE]
--
-- Lists the functions from the code and looks each up in its manual:
--
-- - the Lua API: the names of the binding's luaL_Reg tables (db_methods and
--   db_meta: methods and metamethods of a handle, db:NAME; module_fns:
--   functions of okofdb.core, exported by the okofdb module as NAME or
--   else documented as core.NAME), the walks it adds by name (set_walk:
--   db:each, db:keys), the functions it sets with lua_setfield on the
--   codec table (codec.lua.NAME), and the functions the Lua module
--   defines itself (M.NAME, or function M.NAME). Each must have an LDoc
--   entry in the Lua module: `-- @function NAME` (the reference `make
--   docs` renders into build/docs).
-- - the C API: every function declared in c/okof.h must come right after
--   a comment that names it (the header is the C manual).
--
-- Defaults: --binding c/lua_okofdb.c --binding c/lua_codec.c
-- --module lua/okofdb.lua --header c/okof.h (--ldoc: the module).
-- Prints each missing entry and exits with 1 when there is one; prints a
-- summary and exits with 0 otherwise.

local opts = { binding = {} }
do
  local i = 1
  while i <= #arg do
    local k, v = arg[i]:match("^%-%-(%a+)$"), arg[i + 1]
    if not k or v == nil then
      io.stderr:write("usage: doccheck.lua [--binding FILE]... [--module FILE] [--ldoc FILE] [--header FILE]\n")
      os.exit(2)
    end
    if k == "binding" then opts.binding[#opts.binding + 1] = v else opts[k] = v end
    i = i + 2
  end
end
if #opts.binding == 0 then opts.binding = { "c/lua_okofdb.c", "c/lua_codec.c" } end
opts.module = opts.module or "lua/okofdb.lua"
opts.ldoc = opts.ldoc or opts.module
opts.header = opts.header or "c/okof.h"

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then
    io.stderr:write("doccheck: ", err, "\n")
    os.exit(2)
  end
  local s = f:read("*a")
  f:close()
  return s
end

-- ---- the Lua API, from the code ---------------------------------------------

-- How the names of each luaL_Reg table of the binding are documented;
-- a table not listed here is internal (the walk's own metatable).
local REG_PREFIX = { db_methods = "db:", db_meta = "db:", module_fns = "core." }

local module_src = read(opts.module)

-- Names the Lua module exports from okofdb.core under their own name.
local exported = {}
for name, src in module_src:gmatch("\n%s*([%w_]+)%s*=%s*core%.([%w_]+)") do
  if name == src then exported[name] = true end
end
-- and the fields of the module's table M (a wrapper such as `open = open`)
for name in (module_src:match("\nlocal M%s*=%s*(%b{})") or ""):gmatch("\n%s*([%w_]+)%s*=") do
  exported[name] = true
end

local lua_fns, seen = {}, {}
local function want(name, where)
  if not seen[name] then
    seen[name] = true
    lua_fns[#lua_fns + 1] = { name = name, where = where }
  end
end

for _, path in ipairs(opts.binding) do
  local src = read(path)
  for tname, body in src:gmatch("luaL_Reg%s+([%w_]+)%[%]%s*=%s*(%b{})") do
    local prefix = REG_PREFIX[tname]
    if prefix then
      for name in body:gmatch('{%s*"([^"]+)"') do
        if prefix == "core." and exported[name] then
          want(name, path .. " " .. tname)
        else
          want(prefix .. name, path .. " " .. tname)
        end
      end
    end
  end
  for name in src:gmatch('set_walk%(L,[^;]-"([%w_]+)"') do
    want("db:" .. name, path .. " set_walk")
  end
  -- functions stored into the codec table: lua_pushcfunction then setfield
  for name in src:gmatch('lua_pushcfunction%(L,%s*[%w_]+%);%s*lua_setfield%(L,%s*%-2,%s*"([%w_]+)"%)') do
    want("codec.lua." .. name, path .. " codec")
  end
end
for name in module_src:gmatch("\nfunction M[%.:]([%w_]+)") do
  want(name, opts.module)
end

-- ---- the Lua API, from the LDoc comments ------------------------------------

local documented = {}
for name in read(opts.ldoc):gmatch("\n%-%-%s*@function%s+([%w_.:]+)") do
  documented[name] = true
end

-- ---- the C API -----------------------------------------------------------------

-- Each top-level declaration of a function in the header, with the text
-- just before it.
local c_missing, c_count = {}, 0
do
  local src = read(opts.header)
  local lines = {}
  for l in (src .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  for i, l in ipairs(lines) do
    local name = l:match("^[%a_][%w_ %*]-[%s%*]([%a_][%w_]*)%s*%(")
    if name and not l:find("^#") and not l:find("^typedef") then
      c_count = c_count + 1
      -- the comment that ends on the line before
      local j, ok = i - 1, false
      if lines[j] and lines[j]:find("%*/%s*$") then
        local text = {}
        while j >= 1 do
          text[#text + 1] = lines[j]
          if lines[j]:find("/%*") then break end
          j = j - 1
        end
        ok = table.concat(text, "\n"):find(name, 1, true) ~= nil
      end
      if not ok then c_missing[#c_missing + 1] = name end
    end
  end
end

-- ---- report ------------------------------------------------------------------

local bad = 0
for _, f in ipairs(lua_fns) do
  if not documented[f.name] then
    bad = bad + 1
    print(string.format("doccheck: %s (%s) has no LDoc entry '@function %s' in %s",
                        f.name, f.where, f.name, opts.ldoc))
  end
end
for _, name in ipairs(c_missing) do
  bad = bad + 1
  print(string.format("doccheck: %s in %s has no comment naming it right before it", name, opts.header))
end
if bad > 0 then
  print(string.format("doccheck: %d function(s) undocumented", bad))
  os.exit(1)
end
print(string.format("doccheck: %d Lua functions and %d C functions, all documented", #lua_fns, c_count))
