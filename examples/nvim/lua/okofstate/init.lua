-- okofstate -- a minimal Neovim plugin that keeps its state in okofdb.
--
-- The store is a directory under stdpath("state") (Neovim 0.8+) or
-- stdpath("data") (0.7, which has no "state"): <that>/okofstate, one file
-- per key. It holds
--   runs       how many times Neovim started with the plugin loaded
--   last_run   when that last happened (seconds since the epoch)
--   user.NAME  the values set with :OkofSet NAME VALUE
--
-- okofdb is a C module; Neovim finds it through package.cpath. Set
-- vim.g.okofdb_cpath (and vim.g.okofdb_path for okofdb.lua) before the
-- plugin loads, or rely on LUA_CPATH / LUA_PATH. See README.md.
--
-- okofdb has no multi-key transactions and a read-modify-write of one key
-- is not atomic: two Neovims starting in the same instant may count as one
-- run. Every single put is atomic: a value is never half written.

local M = {}

local NAME = "okofstate"
local USER = "user." -- prefix of the keys set with :OkofSet

local db -- the open store; nil until first used and after close()

local function notify(msg, level)
  vim.notify(NAME .. ": " .. msg, level or vim.log.levels.ERROR)
end

-- Report an operational error of okofdb (nil, msg, code) and pass it on.
local function fail(msg, code)
  notify(tostring(msg) .. (code and (" [" .. tostring(code) .. "]") or ""))
  return nil, msg, code
end

-- Prepend the user's search paths once; "a/?.so;b/?.so" or a list.
local function add_path(field, value)
  if value == nil or value == "" then
    return
  end
  if type(value) == "table" then
    value = table.concat(value, ";")
  end
  value = tostring(value)
  if not (";" .. package[field] .. ";"):find(";" .. value .. ";", 1, true) then
    package[field] = value .. ";" .. package[field]
  end
end

-- The okofdb module: okofdb.lua when it is on package.path, else the C
-- module okofdb.core alone, which has the same API.
local function load_okofdb()
  add_path("cpath", vim.g.okofdb_cpath)
  add_path("path", vim.g.okofdb_path)
  local ok, mod = pcall(require, "okofdb")
  if ok then
    return mod
  end
  local ok_core, core = pcall(require, "okofdb.core")
  if ok_core then
    return core
  end
  return nil, "cannot load okofdb (set vim.g.okofdb_cpath, see the README): "
    .. tostring(mod)
end

-- The store's directory.
function M.dir()
  local ok, base = pcall(vim.fn.stdpath, "state")
  if not ok or type(base) ~= "string" or base == "" then
    base = vim.fn.stdpath("data") -- Neovim 0.7: no "state"
  end
  return base .. "/" .. NAME
end

-- The open store, opened on first use: db, or nil, msg, code (reported;
-- code "ENOMODULE" when okofdb cannot be loaded, to be tried again).
function M.store()
  if db ~= nil then
    return db
  end
  local okofdb, err = load_okofdb()
  if okofdb == nil then
    return fail(err, "ENOMODULE")
  end
  local handle, msg, code = okofdb.open(M.dir())
  if handle == nil then
    return fail(msg, code)
  end
  db = handle
  return db
end

-- Close the store (VimLeavePre does it). A later call opens it again.
function M.close()
  if db ~= nil then
    db:close()
    db = nil
  end
end

-- db:<method>(...) on the open store, reporting nil, msg, code.
local function call(method, ...)
  local store, msg, code = M.store()
  if store == nil then
    return nil, msg, code
  end
  local r, emsg, ecode = store[method](store, ...)
  if r == nil and emsg ~= nil then
    return fail(emsg, ecode)
  end
  return r
end

-- The value of NAME set with :OkofSet, or nil (plus msg, code on error).
function M.get(name)
  return call("get", USER .. name)
end

-- Set NAME to VALUE: true, or nil, msg, code.
function M.set(name, value)
  return call("put", USER .. name, value)
end

-- Remove NAME: true, false when there was none, or nil, msg, code.
function M.del(name)
  return call("del", USER .. name)
end

-- Add 1 to the number stored under NAME (none, or not a number, counts
-- as 0): the new count, or nil, msg, code. Not atomic across processes:
-- each process should count its own key.
function M.incr(name)
  local old, msg, code = M.get(name)
  if old == nil and msg ~= nil then
    return nil, msg, code
  end
  local n = (tonumber(old) or 0) + 1
  local ok, pmsg, pcode = M.set(name, string.format("%d", n))
  if not ok then
    return nil, pmsg, pcode
  end
  return n
end

-- The names set with :OkofSet that start with prefix, sorted.
function M.names(prefix)
  local store = M.store()
  if store == nil then
    return {}
  end
  local names = {}
  for key in store:keys(USER .. (prefix or "")) do
    names[#names + 1] = key:sub(#USER + 1)
  end
  table.sort(names)
  return names
end

-- Count this run and remember its time. Returns the previous run's time
-- (nil on the first run).
function M.record_run()
  local store = M.store()
  if store == nil then
    return nil
  end
  local runs, msg, code = store:get("runs")
  if runs == nil and msg ~= nil then
    return fail(msg, code) -- leave a damaged counter for the user to see
  end
  local last, lmsg, lcode = store:get("last_run")
  if last == nil and lmsg ~= nil then
    fail(lmsg, lcode) -- report it; this run's time replaces it
  end
  local ok, pmsg, pcode = store:put("runs", string.format("%d", (tonumber(runs) or 0) + 1))
  if ok then
    ok, pmsg, pcode = store:put("last_run", string.format("%d", os.time()))
  end
  if not ok then
    return fail(pmsg, pcode)
  end
  M.previous_run = tonumber(last)
  return M.previous_run
end

-- ---- the commands ----------------------------------------------------------

local function echo(text)
  vim.api.nvim_echo({ { text } }, false, {})
end

-- Run f(...) and report a raised error (a key too long for a file name)
-- the way operational errors are reported, without the file:line prefix.
local function guarded(f, ...)
  local ok, err = pcall(f, ...)
  if not ok then
    notify((tostring(err):gsub("^[^\n]-:%d+: ", "")))
  end
end

-- :OkofSet NAME VALUE -- the value is the rest of the line after NAME.
function M.cmd_set(args)
  local name, value = args:match("^%s*(%S+)%s+(.*)$")
  if name == nil then
    notify("usage: :OkofSet NAME VALUE")
    return
  end
  guarded(M.set, name, value)
end

-- :OkofGet NAME
function M.cmd_get(name)
  guarded(function()
    local value, msg = M.get(name)
    if value ~= nil then
      echo(name .. " = " .. value)
    elseif msg == nil then
      echo(name .. " is not set")
    end
  end)
end

-- :OkofDel NAME
function M.cmd_del(name)
  guarded(function()
    local removed = M.del(name)
    if removed == false then
      echo(name .. " was not set")
    end
  end)
end

-- :OkofInfo
function M.cmd_info()
  guarded(function()
    local store = M.store()
    if store == nil then
      return
    end
    local runs = store:get("runs") or "0"
    local prev = M.previous_run and os.date("%Y-%m-%d %H:%M:%S", M.previous_run) or "none"
    local names = M.names()
    echo(string.format("%s: %s runs, previous run %s, %d names, store %s",
      NAME, runs, prev, #names, M.dir()))
  end)
end

-- Completion of NAME for :OkofGet and :OkofDel.
function M.complete(lead)
  local ok, names = pcall(M.names, lead)
  return ok and names or {}
end

return M
