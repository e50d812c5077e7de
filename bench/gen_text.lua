-- bench/gen_text.lua -- writes bench/text64k.txt, the value text of every
-- okofdb benchmark: 65536 bytes of English-like prose (sentences of common
-- words, paragraphs wrapped at 72 columns) that snappy compresses about
-- 2:1, as configuration and documents do.
--
--   lua bench/gen_text.lua > bench/text64k.txt
--
-- Deterministic on every Lua (5.1-5.4, LuaJIT): the words are drawn with
-- the Park-Miller generator (seed 20261206), whose arithmetic stays exact
-- in a double, so the file is the same byte for byte wherever it is made.

local WORDS = [[
the of and to in is that it for as with was on be by this are or from at
which an have not but all were they one their has more its been there when
who will would so if no than some what into can only other these out time
may any two first such also made then them over most after each should many
where store value key file directory write read writes reads written value
values keys files disk kernel system process processes machine rename sync
data chunk header length checksum stream format byte bytes record records
every before while until again under between through because during without
against small large short long new old last next same different whole empty
power crash loss order change changes changed reader readers writer writers
temporary name names path paths error errors result results open close walk
prefix sweep expire expiry cluster member members quorum leader request reply
table number string function module option options default handle handles
config state cache copy copies program programs user users library library's
Lua C library core binding test tests spec specs bench floor operation work
simple careful plain quiet honest clear safe atomic durable visible partial
]]

local list = {}
for w in WORDS:gmatch("%S+") do list[#list + 1] = w end

local state = 20261206
local function random(n) -- 1 .. n
  state = (state * 48271) % 2147483647
  return state % n + 1
end

local SIZE = 65536
local out, len, col = {}, 0, 0

local function emit(s)
  out[#out + 1] = s
  len = len + #s
end

local function word(w)
  if col > 0 and col + 1 + #w > 72 then
    emit("\n"); col = 0
  elseif col > 0 then
    emit(" "); col = col + 1
  end
  emit(w); col = col + #w
end

local function sentence()
  local n = 6 + random(14)
  for i = 1, n do
    local w = list[random(#list)]
    if i == 1 then w = w:sub(1, 1):upper() .. w:sub(2) end
    if i == n then w = w .. "." elseif random(9) == 1 then w = w .. "," end
    word(w)
  end
end

while len < SIZE do
  for _ = 1, 2 + random(5) do sentence() end
  emit("\n\n"); col = 0
end

io.write((table.concat(out)):sub(1, SIZE))
