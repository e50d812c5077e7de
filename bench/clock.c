/* clock.c -- the benchmark's helper module: a wall clock and two syscalls
 * plain Lua lacks. Built once per interpreter (build/bench/clock.so for
 * Lua 5.4, build/bench/luajit/clock.so for LuaJIT); uses only calls whose
 * API is the same in Lua 5.1 to 5.4.
 *   clock.now()        CLOCK_MONOTONIC in seconds, as a double
 *   clock.syncfs(dir)  syncfs(2) of the file system holding dir (true | nil, msg)
 *   clock.mkdir(dir)   mkdir(dir, 0755)                        (true | nil, msg)
 *   clock.getpid()     the process id
 *   clock.sleep_until(t)  sleep until clock.now() >= t
 *   clock.opendir(dir) a directory descriptor (integer | nil, msg)
 *   clock.closefd(fd)  close(2)
 *   clock.readat(dfd, name)  floor's get_min from Lua: openat, one read
 *                      into a 64 KiB static buffer, close; the bytes read
 *                      (integer | nil, msg): the file system's own cost
 *                      of a get, for the scale measure
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

static int fail(lua_State *L, const char *what) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, strerror(errno));
    return 2;
}

static int c_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

static int open_dir(const char *dir) {
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int c_syncfs(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    int fd = open_dir(dir), rc;
    if (fd < 0) return fail(L, dir);
    rc = syncfs(fd);
    close(fd);
    if (rc != 0) return fail(L, dir);
    lua_pushboolean(L, 1);
    return 1;
}

static int c_mkdir(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    if (mkdir(dir, 0755) != 0) return fail(L, dir);
    lua_pushboolean(L, 1);
    return 1;
}

static int c_getpid(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int c_sleep_until(lua_State *L) {
    double t = (double)luaL_checknumber(L, 1);
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
    return 0;
}

static int c_opendir(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    int fd = open_dir(dir);
    if (fd < 0) return fail(L, dir);
    lua_pushinteger(L, fd);
    return 1;
}

static int c_closefd(lua_State *L) {
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

static int c_readat(lua_State *L) {
    static char buf[65536]; /* the bytes are dropped: no state is kept */
    int dfd = (int)luaL_checkinteger(L, 1), fd;
    const char *name = luaL_checkstring(L, 2);
    ssize_t r;
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(L, name);
    do r = read(fd, buf, sizeof buf); while (r < 0 && errno == EINTR);
    close(fd);
    if (r < 0) return fail(L, name);
    lua_pushinteger(L, (lua_Integer)r);
    return 1;
}

int luaopen_clock(lua_State *L);
int luaopen_clock(lua_State *L) {
    lua_createtable(L, 0, 8);
    lua_pushcfunction(L, c_now);    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, c_syncfs); lua_setfield(L, -2, "syncfs");
    lua_pushcfunction(L, c_mkdir);  lua_setfield(L, -2, "mkdir");
    lua_pushcfunction(L, c_getpid); lua_setfield(L, -2, "getpid");
    lua_pushcfunction(L, c_sleep_until); lua_setfield(L, -2, "sleep_until");
    lua_pushcfunction(L, c_opendir); lua_setfield(L, -2, "opendir");
    lua_pushcfunction(L, c_closefd); lua_setfield(L, -2, "closefd");
    lua_pushcfunction(L, c_readat); lua_setfield(L, -2, "readat");
    return 1;
}
