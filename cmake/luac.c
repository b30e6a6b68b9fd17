// Compiles one built-in plugin to Lua bytecode at build time, so that the
// binary loads its built-in plugins without parsing them on every start
// (CMakeLists.txt runs it for each plugins/*.lua and embeds the results as
// rp_builtin_chunks). Debug information is kept: errors and tracebacks name
// the plugin's file and line exactly as for its source.
//
//   rapport-luac CHUNKNAME IN OUT     e.g. @plugins/alliance.lua
//
// A source that does not compile fails the build with Lua's message.
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

static int write_chunk(lua_State *L, const void *p, size_t size, void *ud) {
  (void)L;
  return fwrite(p, 1, size, ud) == size ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: rapport-luac CHUNKNAME IN OUT\n");
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "rapport-luac: out of memory\n");
    return 1;
  }
  int status = 1;
  FILE *out = NULL;
  // Read the file whole, then compile it under the name the host gives it.
  FILE *in = fopen(argv[2], "rb");
  luaL_Buffer b;
  if (!in) {
    perror(argv[2]);
    goto done;
  }
  luaL_buffinit(L, &b);
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    luaL_addlstring(&b, buf, n);
  fclose(in);
  luaL_pushresult(&b);
  size_t len;
  const char *src = lua_tolstring(L, -1, &len);
  if (luaL_loadbufferx(L, src, len, argv[1], "t") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    goto done;
  }
  out = fopen(argv[3], "wb");
  if (!out) {
    perror(argv[3]);
    goto done;
  }
  if (lua_dump(L, write_chunk, out, 0) != 0 || fclose(out) != 0) {
    out = NULL;
    fprintf(stderr, "rapport-luac: cannot write %s\n", argv[3]);
    remove(argv[3]);
    goto done;
  }
  out = NULL;
  status = 0;
done:
  if (out) fclose(out);
  lua_close(L);
  return status;
}
