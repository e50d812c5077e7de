--- okofdb: a key/value store where one key is one file.
-- The C module `okofdb.core` does the work; this module is the sealed
-- public face of it. See README.md for the API.
local core = require("okofdb.core")

local M = {
  _VERSION = core._VERSION,
  open = core.open,
  codec = core.codec,
}

return M
