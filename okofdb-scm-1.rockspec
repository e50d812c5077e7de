rockspec_format = "3.0"
package = "okofdb"
version = "scm-1"

source = {
   url = "git+https://github.com/okofdb/okofdb.git",
}

description = {
   summary = "A key/value store where one key is one file: atomic, durable, checksummed",
   detailed = [[
okofdb keeps each key's value in its own file in a directory. Writes go to a
temporary file that is renamed over the key, so readers never see a partial
value; with sync = "full" a write that returned is on stable storage. Every
value is checksummed (CRC-32C) and large values are snappy-compressed. File
names are safe on case-insensitive file systems. The core is a C library;
this rock is its Lua module.
]],
   homepage = "https://github.com/okofdb/okofdb",
   license = "Apache-2.0",
   labels = { "database", "key-value", "storage" },
}

dependencies = {
   "lua >= 5.1, < 5.5",
}

external_dependencies = {
   SNAPPY = {
      header = "snappy-c.h",
      library = "snappy",
   },
}

build = {
   type = "builtin",
   modules = {
      ["okofdb.core"] = {
         sources = {
            "c/lua_args.c",
            "c/lua_codec.c",
            "c/lua_iter.c",
            "c/lua_okofdb.c",
            "c/lua_ops.c",
            "c/lua_values.c",
            "c/okof.c",
            "c/okof_crc32c.c",
            "c/okof_err.c",
            "c/okof_frame.c",
            "c/okof_io.c",
            "c/okof_iter.c",
            "c/okof_load.c",
            "c/okof_ttl.c",
            "c/okof_write.c",
            "c/okof_key.c",
         },
         incdirs = { "c", "$(SNAPPY_INCDIR)" },
         libdirs = { "$(SNAPPY_LIBDIR)" },
         libraries = { "snappy" },
      },
      okofdb = "lua/okofdb.lua",
   },
   install = {
      bin = {
         okofdb = "bin/okofdb",
      },
   },
}
