rockspec_format = "3.0"
package = "okofdb-etcd"
version = "scm-1"

source = {
   url = "git+https://github.com/okofdb/okofdb.git",
}

description = {
   summary = "okofdb's stores on an etcd cluster: okofdb.open(\"etcd://host:port/path\")",
   detailed = [[
The plug-in that lets okofdb.open take an etcd:// URL: the same API as a
directory store (get, put, del, add, put_many, each, keys), on an etcd v3.4
or later cluster, for config and state shared by many machines. Values are
stored as exactly the bytes of okofdb's value files and verified on every
read. It speaks to etcd's JSON gateway with libcurl and cJSON; inside
OpenResty it uses cosockets where they are available.
]],
   homepage = "https://github.com/okofdb/okofdb",
   license = "Apache-2.0",
   labels = { "database", "key-value", "etcd" },
}

dependencies = {
   "lua >= 5.1, < 5.5",
   "okofdb",
}

external_dependencies = {
   SNAPPY = { header = "snappy-c.h", library = "snappy" },
   -- Debian keeps curl/curl.h in a multiarch directory the compiler knows
   CURL = { library = "curl" },
   CJSON = { header = "cjson/cJSON.h", library = "cjson" },
}

build = {
   type = "builtin",
   modules = {
      ["okofdb.etcd"] = {
         sources = {
            "c/etcd/lua_etcd.c",
            "c/etcd/lua_etcd_ops.c",
            "c/etcd/lua_etcd_walk.c",
            "c/etcd/okof_etcd.c",
            "c/etcd/okof_etcd_curl.c",
            "c/etcd/okof_etcd_iter.c",
            "c/etcd/okof_etcd_lease.c",
            "c/etcd/okof_etcd_op.c",
            "c/etcd/okof_etcd_proto.c",
            -- the shared binding: arguments, codecs, values, put_many's items
            "c/lua_args.c",
            "c/lua_codec.c",
            "c/lua_ops.c",
            "c/lua_values.c",
            -- the core: keys, the value format and its verification
            "c/okof.c",
            "c/okof_crc32c.c",
            "c/okof_err.c",
            "c/okof_frame.c",
            "c/okof_io.c",
            "c/okof_iter.c",
            "c/okof_load.c",
            "c/okof_write.c",
            "c/okof_key.c",
         },
         incdirs = { "c", "c/etcd", "$(SNAPPY_INCDIR)", "$(CURL_INCDIR)", "$(CJSON_INCDIR)" },
         libdirs = { "$(SNAPPY_LIBDIR)", "$(CURL_LIBDIR)", "$(CJSON_LIBDIR)" },
         libraries = { "snappy", "curl", "cjson" },
      },
      -- inside nginx: the methods over cosockets
      ["okofdb.etcd_ngx"] = "lua/okofdb/etcd_ngx.lua",
   },
}
