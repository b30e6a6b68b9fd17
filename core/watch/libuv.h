// libuv for watch mode, opened when a watch starts rather than by every run
// of rapport (util/dynlib.h): one note or --version never loads it. Every
// call of the module goes through uv() (uv()->uv_run(loop, mode)); the first
// one opens the library, or ends the run saying which cannot be loaded.
#pragma once

#include <uv.h>

#include "util/dynlib.h"

// clang-format off
#define RP_WATCH_UV_FUNCTIONS(X) \
  X(uv_close) \
  X(uv_hrtime) \
  X(uv_loop_close) \
  X(uv_loop_init) \
  X(uv_now) \
  X(uv_poll_init) \
  X(uv_poll_start) \
  X(uv_poll_stop) \
  X(uv_queue_work) \
  X(uv_run) \
  X(uv_signal_init) \
  X(uv_signal_start) \
  X(uv_timer_init) \
  X(uv_timer_start) \
  X(uv_timer_stop)
// clang-format on

typedef struct rp_watch_uv_fns {
  RP_WATCH_UV_FUNCTIONS(RP_DYNLIB_POINTER)
} rp_watch_uv_fns;

extern rp_dynlib rp_watch_uv_lib;
extern rp_watch_uv_fns rp_watch_uv_table;

static inline const rp_watch_uv_fns *uv(void) {
  rp_dynlib_need(&rp_watch_uv_lib);
  return &rp_watch_uv_table;
}
