-- spec/support/writer.lua -- a writer that loops until it is killed.
--
--   writer.lua DIR READYFILE KEY...
--
-- Puts H.crash_values() in turn to every KEY forever, with sync = "none",
-- after creating READYFILE (outside the store) to say it has started.
local here = (arg[0]:match("^(.*)/[^/]*$")) or "."
package.path = here .. "/../?.lua;" .. package.path
local H = require("helpers")
local okofdb = require("okofdb")

local dir, ready = arg[1], arg[2]
local keys = {}
for i = 3, #arg do keys[#keys + 1] = arg[i] end
local db = assert(okofdb.open(dir, { sync = "none" }))
local vals = H.crash_values()
H.write_file(ready, "ready\n")
local i = 0
while true do
  for k = 1, #keys do
    local ok, msg = db:put(keys[k], vals[(i + k) % #vals + 1])
    if not ok then
      io.stderr:write("writer: put failed: " .. tostring(msg) .. "\n")
      os.exit(1)
    end
  end
  i = i + 1
end
