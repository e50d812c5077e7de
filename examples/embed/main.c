/*
 * main.c -- a C program that embeds Lua 5.4 with okofdb linked in.
 *
 *   embed CONFIG.lua STORE_DIR [NAME=VALUE ...]
 *
 * okofdb is compiled into the binary (c/okof*.c and c/lua_okofdb.c): no
 * okofdb.so is searched for or loaded. The program registers the module
 * as "okofdb" (and the same table as "okofdb.core", the name lua/okofdb.lua
 * requires), then runs CONFIG.lua as a function of STORE_DIR and a table
 * of the NAME=VALUE changes given on the command line. The script returns
 * a table of settings; the program reads one back from it, and one from
 * the store through okofdb's Lua API, to show both directions.
 *
 * Exit status: 0, 1 when the script cannot be loaded or fails (the error
 * goes to stderr), 2 for bad usage.
 *
 * Build (from the repository's top directory):
 *   cc -std=c99 -Wall -Wextra -Ic examples/embed/main.c c/okof*.c \
 *      c/lua_okofdb.c $(pkg-config --cflags --libs lua5.4) -lsnappy -lm \
 *      -o build/embed
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* The Lua module's entry point, defined in c/lua_okofdb.c. */
int luaopen_okofdb_core(lua_State *L);

static const char *progname = "embed";

/* Message handler of lua_pcall: the error with a traceback. */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) /* an error object that is not a string */
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Call the function below nargs arguments on the stack in protected mode,
 * with a traceback; on failure print the error to stderr. Returns
 * lua_pcall's result; leaves nres results, or nothing on failure. */
static int call(lua_State *L, int nargs, int nres, const char *what)
{
    int base = lua_gettop(L) - nargs; /* the function's index */
    int rc;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (rc != LUA_OK) {
        fprintf(stderr, "%s: %s: %s\n", progname, what, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return rc;
}

/* Protected: the standard libraries, and okofdb: require("okofdb") and
 * require("okofdb.core") return the module linked into this program. */
static int open_libs(lua_State *L)
{
    luaL_openlibs(L);
    luaL_requiref(L, "okofdb", luaopen_okofdb_core, 0); /* package.loaded */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "okofdb.core"); /* the same table: one luaopen call */
    lua_pop(L, 2);
    return 0;
}

/* Protected: the value of key (2) in the store at dir (1), or nil, read
 * through okofdb's Lua API as a script would: okofdb.open(dir):get(key). */
static int read_setting(lua_State *L)
{
    int db;
    luaL_checkstring(L, 1);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "okofdb");
    lua_getfield(L, -1, "open");
    lua_pushvalue(L, 1);
    lua_newtable(L); /* opts: a store that is not there is an error */
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "create");
    lua_call(L, 2, 3); /* db | nil, msg, code */
    if (lua_isnil(L, -3))
        return luaL_error(L, "%s [%s]", lua_tostring(L, -2),
                          lua_tostring(L, -1));
    lua_pop(L, 2);
    db = lua_gettop(L);
    lua_getfield(L, db, "get");
    lua_pushvalue(L, db);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 3); /* value | nil | nil, msg, code */
    if (lua_isnil(L, -3) && !lua_isnil(L, -2))
        return luaL_error(L, "%s [%s]", lua_tostring(L, -2),
                          lua_tostring(L, -1));
    lua_pop(L, 2);
    lua_getfield(L, db, "close"); /* the garbage collector would too */
    lua_pushvalue(L, db);
    lua_call(L, 1, 0);
    return 1; /* the value or nil */
}

/* Push a table of the NAME=VALUE arguments; 0, or -1 for a bad one. */
static int push_changes(lua_State *L, int argc, char **argv)
{
    int i;
    lua_createtable(L, 0, argc);
    for (i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i]) {
            fprintf(stderr, "%s: not NAME=VALUE: %s\n", progname, argv[i]);
            lua_pop(L, 1);
            return -1;
        }
        lua_pushlstring(L, argv[i], (size_t)(eq - argv[i]));
        lua_pushstring(L, eq + 1);
        lua_settable(L, -3);
    }
    return 0;
}

/* Run the script with its arguments and report what it returned. */
static int run(lua_State *L, const char *script, const char *dir, int argc,
               char **argv)
{
    const char *theme;
    if (luaL_loadfile(L, script) != LUA_OK) {
        fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
        return 1;
    }
    lua_pushstring(L, dir);
    if (push_changes(L, argc, argv) != 0)
        return 2;
    if (call(L, 2, 1, script) != LUA_OK)
        return 1;
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "%s: %s returned %s, not a table of settings\n",
                progname, script, luaL_typename(L, -1));
        return 1;
    }

    /* Lua -> C: a field of the table the script returned. */
    lua_getfield(L, -1, "theme");
    theme = lua_tostring(L, -1);
    printf("host: the script says theme = %s\n", theme ? theme : "(none)");
    lua_pop(L, 2);

    /* C -> okofdb through Lua: the stored value, read afresh. */
    lua_pushcfunction(L, read_setting);
    lua_pushstring(L, dir);
    lua_pushliteral(L, "setting.theme");
    if (call(L, 2, 1, "reading the store back") != LUA_OK)
        return 1;
    theme = lua_tostring(L, -1);
    printf("host: the store says setting.theme = %s\n",
           theme ? theme : "(not stored)");
    lua_pop(L, 1);
    return 0;
}

int main(int argc, char **argv)
{
    lua_State *L;
    int rc;
    if (argc > 0 && argv[0][0] != '\0')
        progname = argv[0];
    if (argc < 3) {
        fprintf(stderr, "usage: %s CONFIG.lua STORE_DIR [NAME=VALUE ...]\n",
                progname);
        return 2;
    }
    L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "%s: cannot create a Lua state: out of memory\n",
                progname);
        return 1;
    }
    lua_pushcfunction(L, open_libs);
    if (call(L, 0, 0, "opening the libraries") != LUA_OK)
        rc = 1;
    else
        rc = run(L, argv[1], argv[2], argc - 3, argv + 3);
    lua_close(L);
    if (fflush(stdout) != 0) {
        perror(progname);
        rc = 1;
    }
    return rc;
}
