--- A key/value store where one key is one file.
--
-- A store is a directory; each key's value lives in its own file, written
-- to a temporary file and renamed into place, so a reader in any process
-- sees the old value or the new one, never a mix. Every value is
-- checksummed, large values are snappy-compressed, and file names stay
-- safe on case-insensitive file systems. The C module `okofdb.core` does
-- the work; this module is its public face. It runs on Lua 5.1, 5.2, 5.3,
-- 5.4 and LuaJIT 2.1 (OpenResty, Neovim) and sets no globals.
--
-- **Return conventions.** Everything that can fail because of the world
-- (the file system, the disk, other processes) returns `nil, msg, code`:
-- `msg` is a sentence naming the operation, the key and the directory and
-- ending with the operating system's own text; `code` is a string, one of
--
-- - an errno name: `"ENOENT"`, `"ENOTDIR"`, `"EACCES"`, `"EISDIR"`,
--   `"ELOOP"` (a symbolic link at a key's name: never followed),
--   `"ENOSPC"`, `"EDQUOT"`, `"EIO"`, `"EROFS"`, `"EMFILE"`, `"ENOMEM"`, ...
-- - `"CORRUPT"`: a value file failed verification (checksum, length);
-- - `"EDECODE"`: a handle with a codec read bytes its codec cannot decode.
--
-- **Programming errors raise** a Lua error naming the function and the
-- argument: a key or value of the wrong type, an empty key, a key too long
-- for a file name, an unknown option or a bad option value, a value the
-- codec cannot encode, any use of a closed handle but `close`:
--
--     bad argument #1 to 'put' (key: string expected, got table)
--     bad argument #2 to 'open' (opts: unknown option 'compres_min')
--     bad argument #2 to 'put' (value: cannot encode a function)
--     calling 'get' on a closed okofdb handle
--
-- @module okofdb
-- @license Apache-2.0
-- @release 0.1.0
-- @usage
-- local okofdb = require("okofdb")
-- local db <close> = assert(okofdb.open(os.getenv("HOME") .. "/.config/myapp"))
-- assert(db:put("theme", "dark"))
-- print(db:get("theme"))                --> dark
-- for key, value in db:each() do print(key, value) end
local core = require("okofdb.core")

-- A store on etcd is the plug-in okofdb.etcd (the okofdb-etcd rock),
-- loaded on its first use.
local function etcd_open()
  local ok, etcd = pcall(require, "okofdb.etcd")
  if not ok then
    error("okofdb.open: an etcd:// store needs the okofdb-etcd rock (luarocks install okofdb-etcd): "
      .. tostring(etcd), 3)
  end
  return etcd.open
end

-- The errors of open are raised as its C function words them, with no
-- position in this file.
local function reraise(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

local function open(where, opts)
  local f = core.open
  if type(where) == "string" and where:sub(1, 7) == "etcd://" then
    f = etcd_open()
  end
  return reraise(pcall(f, where, opts))
end

local M = {
  _VERSION = core._VERSION,
  open = open,
  codec = core.codec,
}

--- The module
-- @section module

--- The version of okofdb, `"okofdb 0.1.0"` (semantic versioning).
-- @string _VERSION

--- Open the store in directory `dir`.
--
-- `dir` may also be the URL of a store on an etcd (v3.4 or later)
-- cluster, `"etcd://HOST:PORT[,HOST:PORT...]/PATH"`: the same methods
-- with the same results, the values under the etcd keys `/PATH/<key>`
-- (see docs/etcd.md). It needs the plug-in `okofdb.etcd` (the rock
-- `okofdb-etcd`), loaded on first use; without it `open` raises an error
-- that names the rock. Its options are `codec` and `compress_min` as
-- below, `timeout` (seconds a call may take, failover included, 5),
-- `txn_ops` (128) and `request_bytes` (1572864), the cluster's
-- `--max-txn-ops` and `--max-request-bytes`; `create`, `sync` and
-- `legacy` are accepted and change nothing. Its failures have the codes
-- `"ECONNREFUSED"`, `"ETIMEDOUT"`, `"EUNAVAILABLE"`, `"E2BIG"`, `"EPROTO"`
-- and `"CORRUPT"`.
--
-- With `create = true` (the default) the directory and its missing
-- parents are created, mode `0777` less the umask. `open` does not read
-- the directory's entries: its cost does not depend on the number of keys.
-- A handle is closed by @{db:close}, by a `<close>` variable on Lua 5.4,
-- or when it is garbage-collected.
--
-- @function open
-- @tparam string dir the directory of the store (kept as given, for messages and `tostring`)
-- @tparam[opt] table opts options; an unknown option or a bad value raises
-- @tparam[opt=true] boolean opts.create create `dir` and its missing parents
--   if it does not exist; with `false` a missing directory is
--   `nil, msg, "ENOENT"`
-- @tparam[opt="full"] string opts.sync `"full"`: a `put`, `add`,
--   `put_many` or `del` that returned has reached stable storage (the value
--   file is fsynced before the rename, the directory after it;
--   `F_FULLFSYNC` on macOS). `"none"`: still atomic, but a power loss may
--   undo recent writes
-- @tparam[opt=2048] number|false opts.compress_min values of at least this
--   many bytes are snappy-compressed where that makes them smaller; `false`
--   turns compression off. Reading does not depend on it
-- @tparam[opt] table|false opts.codec how values become bytes: `nil` or
--   `false` for none (values are strings), @{codec.lua} for any Lua value,
--   or any table with `encode` and `decode` functions, such as
--   `require("cjson")` or `vim.json`: `encode(value)` must return a string
--   and raise on failure; `decode(bytes)` must return the value and raise
--   on failure
-- @tparam[opt=false] boolean opts.legacy also read raw `0x00` value files,
--   as the Rust crate okofdb 0.1.x writes values under 2048 bytes. They
--   carry no checksum, and a file a crash left full of zeros starts with
--   `0x00` too, so without this option such a file is `nil, msg,
--   "CORRUPT"` (the message names the option); a file made only of zero
--   bytes is `"CORRUPT"` with it too
-- @treturn[1] db the handle
-- @treturn[2] nil
-- @treturn[2] string msg, e.g. `"open /srv/db: Permission denied"`
-- @treturn[2] string code, e.g. `"EACCES"`
-- @raise for a `dir` that is not a non-empty string, an `opts` that is not
--   a table, an unknown option or a bad option value, e.g.
--   `bad argument #2 to 'open' (opts: option 'codec' must be a table with encode and decode functions)`
-- @usage
-- local db, msg, code = okofdb.open("/var/lib/myapp/state", { sync = "none" })
-- if not db then error(msg) end
-- local settings = assert(okofdb.open(dir, { codec = okofdb.codec.lua }))
-- settings:put("window", { width = 800, height = 600, maximized = false })

--- Codecs: how values become the bytes of a value file.
--
-- A codec is any table with an `encode` and a `decode` function, given as
-- the `codec` option of @{open}. `put`, `add` and `put_many` store
-- `encode(value)`; `get` and `each` return `decode(bytes)`. An error raised
-- by `encode` propagates as it is (nothing is written); an error raised by
-- `decode` becomes `nil, msg, "EDECODE"` (`msg` holds the codec's message).
-- Without a codec values are strings and files are exactly what a codec-less
-- put always wrote.
-- @table codec
-- @field lua the built-in codec of Lua values, written in C: see @{codec.lua}

--- The built-in codec of Lua values, `okofdb.codec.lua` (`name = "lua"`).
--
-- It stores any Lua value but `nil`:
--
-- - `true` and `false`;
-- - numbers: on Lua 5.3 and 5.4 integers and floats are kept apart
--   (`3` and `3.0` come back as they went in); `inf`, `-inf`, NaN and
--   `-0.0` are kept; on Lua 5.1, 5.2 and LuaJIT every number is a float,
--   and an integer stored by Lua 5.3+ reads there as the nearest float;
-- - strings of any bytes;
-- - tables, with any keys (strings, numbers, booleans, tables) and values
--   of these types, nested up to 100 levels. Metatables are not stored. A
--   table that appears twice (a shared subtable) is stored twice and comes
--   back as two equal tables.
--
-- Functions, userdata, threads (coroutines), LuaJIT's cdata, a table that
-- contains itself (directly or not) and tables nested more than 100 levels
-- raise an error. The bytes start with a version byte (`0xA1`); the
-- format is described in `c/lua_codec.c`. Decoding checks every length
-- against the input, never runs code and never allocates more than the
-- input can describe, so any bytes are safe to decode.
--
-- @table codec.lua
-- @field encode @{codec.lua.encode}
-- @field decode @{codec.lua.decode}
-- @field name `"lua"`

--- Encode a Lua value with the built-in codec.
-- @function codec.lua.encode
-- @param value any value but `nil`, as described in @{codec.lua}
-- @treturn string the bytes
-- @raise `okofdb.codec.lua: cannot encode a function` (a thread, a userdata,
--   nil, a table that contains itself, tables nested this deep)
-- @usage local bytes = okofdb.codec.lua.encode({ 1, 2, x = true })

--- Decode bytes made by @{codec.lua.encode}.
-- @function codec.lua.decode
-- @tparam string bytes the encoded value
-- @return the value
-- @raise `okofdb.codec.lua: cannot decode: ...` for anything that is not a
--   complete encoding (truncated, trailing bytes, unknown tags, lengths
--   beyond the input, a NaN table key, nesting over 100 levels)
-- @usage local ok, value = pcall(okofdb.codec.lua.decode, bytes)

--- What the C module `okofdb.core` gives besides the above, for tools
-- (the command-line tool uses it): `require("okofdb.core")`.
-- @section core

--- Whether descriptor `fd` is a terminal (isatty(3)), without starting a
-- process to ask.
-- @function core.isatty
-- @tparam integer fd a descriptor: 0 stdin, 1 stdout, 2 stderr, ...
-- @treturn boolean
-- @raise for an `fd` that is not a number from 0 to 65536
-- @usage if require("okofdb.core").isatty(2) then draw_progress() end

--- Limits and defaults of `c/okof.h`, defined there once.
-- @table core.constants
-- @field CHUNK_MAX the most uncompressed bytes of one data chunk: `65536`
-- @field SWEEP_MAX_AGE_DEFAULT the `max_age` of @{db:sweep} when none is
--   given: `3600` seconds
-- @field COMPRESS_MIN_DEFAULT the default `compress_min` of @{open}: `2048`

--- A handle on an open store, returned by @{open}.
--
-- Any number of handles and processes may use one directory at once,
-- including handles opened before a `fork` and used in the children. A
-- handle caches nothing: a write by another process is seen by the next
-- `get`. In every method a number given as a key (or as a value, without a
-- codec) is converted to a string as Lua does.
-- @type db

--- Store `value` under `key`, replacing any previous value.
--
-- The value is written to a temporary file (`.okof-tmp-...`) in the store's
-- directory and renamed over the key's file: readers see the old value or
-- the new one, never a mix. After a failed `put` the previous value is
-- intact and no temporary file is left behind, with one exception: when
-- only the final fsync of the directory fails, the new value is already in
-- place, and `put` reports the error because its durability is unknown.
--
-- With a `ttl` the value expires that many seconds from now, on the wall
-- clock: it is then no value for any method (see @{db:ttl}). A `put`
-- without a `ttl` stores a value that never expires, whatever the value it
-- replaces had.
-- @function db:put
-- @tparam string key any non-empty string; every key of up to 80 bytes is
--   accepted, a longer one while its file name fits in 255 bytes
-- @param value a string; with a codec, any value the codec can encode
-- @tparam[opt] number ttl seconds until the value expires: a positive,
--   finite number, fractions allowed (kept to the millisecond, rounded up);
--   `nil` for a value that never expires. See @{db:ttl}
-- @treturn[1] boolean `true`
-- @treturn[2] nil
-- @treturn[2] string msg
-- @treturn[2] string code
-- @raise for a key or value of the wrong type, an empty or too long key, a
--   value the codec cannot encode (its error, as it is, for a custom codec),
--   a bad `ttl` (0, negative, NaN, infinite, not a number, or more than
--   2^62 milliseconds: `bad argument #3 to 'put' (ttl: must be a positive number)`),
--   a closed handle
-- @usage
-- assert(db:put("theme", "dark"))
-- assert(db:put("session", token, 3600))   -- gone in an hour

--- Read the value of `key`.
--
-- Every checksum and length of the file is verified first: a value is
-- never returned unless it is exactly the one that was stored. An expired
-- value is no value. On Linux a
-- get leaves the file's access time alone (`O_NOATIME`), so reading
-- dirties no inode; the kernel grants that only to the files' owner (or
-- `CAP_FOWNER`), and a handle it is refused to reads as usual from then on.
-- @function db:get
-- @tparam string key the key
-- @return[1] the value: a string, or with a codec the decoded value
--   (which may be `false`)
-- @treturn[2] nil a single `nil`: the key has no value
-- @treturn[3] nil
-- @treturn[3] string msg
-- @treturn[3] string code: an errno name, `"CORRUPT"` (the file failed
--   verification, is a raw `0x00` file and the handle was not opened with
--   `legacy = true`, or is made only of zero bytes; a crafted file whose
--   lengths claim more than it holds is `"CORRUPT"` too, never `"ENOMEM"`)
--   or `"EDECODE"` (the codec cannot decode it)
-- @raise for a key of the wrong type, an empty or too long key, a closed handle
-- @usage
-- local value, msg, code = db:get("theme")
-- if value == nil and msg then error(msg) end   -- a real failure
-- value = value or "light"                      -- no value: a default

--- Remove the value of `key`.
--
-- The header of the key's file is read first: an expired value counts as
-- none (its file is removed and `del` returns `false`), and a file that
-- cannot be read is left and reported as `nil, msg, code`.
-- @function db:del
-- @tparam string key the key
-- @treturn[1] boolean `true` when it removed a value, `false` when there was none
-- @treturn[2] nil
-- @treturn[2] string msg
-- @treturn[2] string code
-- @raise for a key of the wrong type, an empty or too long key, a closed handle

--- Store `value` under `key` only if the key has no value.
--
-- The value appears atomically, through `link(2)`, which never replaces a
-- file: of several processes adding one key at once exactly one gets
-- `true`, and its value is the one stored. Durable as @{db:put}. Any file
-- at the key's name counts as a value. When the value was linked into
-- place but a last step failed (removing the temporary name, the directory
-- fsync), the value is stored and the error is returned. A file system
-- without hard links answers `"EPERM"` or `"ENOTSUP"`.
--
-- An expired value counts as none: `add` removes it and stores its own,
-- and of processes adding one absent or expired key exactly one gets
-- `true`. So `add(key, id, ttl)` takes a lock that frees itself when its
-- holder dies. Every `add` takes an exclusive `flock(2)` on the store's
-- lock file `.okof-lock` (created on first use; never a key, never swept);
-- see `docs/ttl.md`.
-- @function db:add
-- @tparam string key the key
-- @param value a string; with a codec, any value the codec can encode
-- @tparam[opt] number ttl seconds until the value expires: a positive,
--   finite number, fractions allowed (kept to the millisecond, rounded up);
--   `nil` for a value that never expires. See @{db:ttl}
-- @treturn[1] boolean `true`: the value was stored; `false`: the key already
--   had a value, nothing changed
-- @treturn[2] nil
-- @treturn[2] string msg
-- @treturn[2] string code
-- @raise as @{db:put}
-- @usage
-- if db:add("lock.owner", my_id) then
--   -- this process won
-- end
-- if db:add("lock", my_id, 2) then
--   -- held for at most 2 seconds, even if this process dies
-- end

--- Store many values at once.
--
-- Every value is written to its temporary file (and fsynced, with
-- `sync = "full"`), then each is renamed over its key, then the directory
-- is fsynced once: a batch costs one directory flush instead of one per
-- key. Each key is atomic as with @{db:put}, but the batch is not one unit:
-- a failure or a crash may leave some keys with their new values and the
-- others with their old ones. After a failure no temporary file is left;
-- the keys listed in `written` hold their new values, every other key its
-- old one.
-- @function db:put_many
-- @tparam table items keys (strings or numbers) to values (strings, or with
--   a codec any value it can encode); an empty table stores nothing and
--   returns `true`
-- @tparam[opt] number ttl seconds until every value of the batch expires,
--   counted from the start of the call; `nil`: never (as for @{db:put})
-- @treturn[1] boolean `true`
-- @treturn[2] nil
-- @treturn[2] string msg
-- @treturn[2] string code
-- @treturn[2] {string,...} written: the keys that were renamed into place
--   before the failure (a list, maybe empty; every key when only the final
--   directory fsync failed)
-- @raise for an `items` that is not a table, a key or value of the wrong
--   type, an empty or too long key (named), a key given twice (`1` and
--   `"1"`), a value the codec cannot encode, a bad `ttl`: then nothing is
--   written
-- @usage
-- local ok, msg, code, written = db:put_many({ a = "1", b = "2", c = "3" })
-- if not ok then print(msg, #written .. " keys written") end

--- Iterate over keys and their values, in no particular order.
--
-- With `prefix`, only the keys that start with it (a plain byte
-- comparison, no patterns). Expired values are skipped. A key whose file cannot be read, verified or
-- decoded is yielded as `key, nil, msg, code` and the walk goes on. A key
-- deleted during the walk is skipped; a key added meanwhile may or may not
-- be seen. The keys are the original byte strings, decoded from the file
-- names. Breaking out of the loop releases the directory handle at once
-- on Lua 5.4 (the iterator returns a to-be-closed value) and at garbage
-- collection elsewhere.
-- @function db:each
-- @tparam[opt] string prefix only keys starting with it
-- @return a generic `for` iterator yielding `key, value` or
--   `key, nil, msg, code` (`code`: an errno name, `"CORRUPT"` or `"EDECODE"`)
-- @raise for a prefix of the wrong type, a closed handle, or a directory
--   that cannot be read
-- @usage
-- for key, value, msg, code in db:each("user.") do
--   if value == nil then
--     io.stderr:write("skipping ", key, ": ", msg, "\n")
--   else
--     print(key, value)
--   end
-- end

--- Iterate over keys only, opening no value file.
--
-- The same walk as @{db:each}; because it never looks at the values, a key
-- deleted after the walk began, or whose value has expired, may still be
-- yielded.
-- @function db:keys
-- @tparam[opt] string prefix only keys starting with it
-- @return a generic `for` iterator yielding each key
-- @raise as @{db:each}
-- @usage for key in db:keys() do print(key) end

--- Remove old temporary files left by writers that crashed.
--
-- Removes okofdb's temporary files (names starting with `.okof-tmp-`)
-- whose modification time is more than `max_age` seconds in the past, and
-- the files of expired values (whatever their age). It never touches a
-- live value's file or any other file. A temporary file is only in use
-- while a write runs, so any `max_age` longer than the slowest write is
-- safe.
-- @function db:sweep
-- @tparam[opt=3600] number max_age in seconds, not negative (the default is
--   `okofdb.core.SWEEP_MAX_AGE_DEFAULT`)
-- @treturn[1] integer the number of files removed (temporary files and
--   expired values)
-- @treturn[2] nil
-- @treturn[2] string msg
-- @treturn[2] string code
-- @raise for a `max_age` that is not a non-negative number, a closed handle

--- How long the value of `key` has left before it expires.
--
-- Expiry is measured on the wall clock (`CLOCK_REALTIME`), to the
-- millisecond: a clock change moves every expiry with it, and machines that
-- share a store need synchronized clocks. An expired value is no value:
-- @{db:get} returns `nil` and @{db:each} skips it, @{db:add} replaces it,
-- @{db:del} removes its file and returns `false`, @{db:sweep} removes its
-- file; @{db:keys} may still yield its key. The file is read and verified
-- as by @{db:get}. The expiry is stored in the value file's header (see
-- `docs/ttl.md`). On an etcd store the header is read the same way; the
-- key's etcd lease only lets the cluster remove it (`docs/etcd.md`).
-- @function db:ttl
-- @tparam string key the key
-- @treturn[1] number the seconds left, with fractions
-- @treturn[2] boolean `false`: the value never expires
-- @treturn[3] nil a single `nil`: the key has no value (or an expired one)
-- @treturn[4] nil
-- @treturn[4] string msg
-- @treturn[4] string code: an errno name or `"CORRUPT"`
-- @raise for a key of the wrong type, an empty or too long key, a closed handle
-- @usage
-- db:put("session", token, 60)
-- print(db:ttl("session"))   --> 59.998

--- Close the handle.
--
-- Closing a closed handle is allowed. Any other method on a closed handle
-- raises an error.
-- @function db:close
-- @treturn boolean `true`

--- `tostring(db)`: `"okofdb: <dir>"` with `dir` exactly as given to
-- @{open}, or `"okofdb: closed"`.
-- @function db:__tostring
-- @treturn string

--- `local db <close> = okofdb.open(dir)` (Lua 5.4) closes the handle when
-- the variable goes out of scope, as @{db:close} does.
-- @function db:__close

--- The collector closes a handle that is no longer referenced, as
-- @{db:close} does (a handle need not be closed by hand).
-- @function db:__gc

return M
