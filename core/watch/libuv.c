// libuv for watch mode, opened on first use: see libuv.h.
#include "watch/libuv.h"

rp_watch_uv_fns rp_watch_uv_table;

static const char *const names[] = {RP_WATCH_UV_FUNCTIONS(RP_DYNLIB_NAME)};

// RP_UV_SONAME comes from the build (CMakeLists.txt, rp_on_demand).
rp_dynlib rp_watch_uv_lib = RP_DYNLIB_INIT(RP_UV_SONAME, "libuv", names, &rp_watch_uv_table);
