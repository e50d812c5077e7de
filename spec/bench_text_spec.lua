-- spec/bench_text_spec.lua -- bench/text64k.txt, the value text of the
-- benchmarks, is what its documented generator bench/gen_text.lua makes,
-- on every Lua.
local H = require("helpers")

describe("bench/text64k.txt", function()
  after_each(H.cleanup)

  it("is exactly the output of bench/gen_text.lua", function()
    local root = H.SPEC_DIR .. "/.."
    local out = H.tmpdir() .. "/text"
    assert.is_true(H.run(H.q(H.LUA) .. " " .. H.q(root .. "/bench/gen_text.lua") .. " >" .. H.q(out)))
    local made, kept = H.read_file(out), H.read_file(root .. "/bench/text64k.txt")
    assert.are.equal(65536, #made)
    assert.is_true(made == kept, "bench/text64k.txt differs from bench/gen_text.lua's output")
  end)
end)
