-- okofstate: counts Neovim's runs and remembers values across sessions in
-- an okofdb store. The work is in lua/okofstate/init.lua.
if vim.g.loaded_okofstate ~= nil then
  return
end
vim.g.loaded_okofstate = 1

if vim.fn.has("nvim-0.7") ~= 1 then
  vim.notify("okofstate: needs Neovim 0.7 or later", vim.log.levels.ERROR)
  return
end

local state = require("okofstate")

local command = vim.api.nvim_create_user_command

command("OkofSet", function(o)
  state.cmd_set(o.args)
end, { nargs = "+", desc = "okofstate: remember VALUE under NAME" })

command("OkofGet", function(o)
  state.cmd_get(o.args)
end, { nargs = 1, complete = state.complete, desc = "okofstate: show NAME's value" })

command("OkofDel", function(o)
  state.cmd_del(o.args)
end, { nargs = 1, complete = state.complete, desc = "okofstate: forget NAME" })

command("OkofInfo", function()
  state.cmd_info()
end, { nargs = 0, desc = "okofstate: runs, previous run, store" })

local group = vim.api.nvim_create_augroup("okofstate", { clear = true })
vim.api.nvim_create_autocmd("VimLeavePre", {
  group = group,
  callback = function()
    state.close()
  end,
  desc = "okofstate: close the store",
})

-- Counted at startup rather than on VimEnter, so that `nvim -c ...` runs
-- that quit before VimEnter count too. Opening does not scan the store.
state.record_run()
