// The live preview's limits and timeouts, and what the unit tests look at.
//
// rp_preview_start uses rp_preview_default_limits; the tests start servers
// with shorter timeouts and smaller caps through rp_preview_start_limits so
// that they do not wait seconds for a timer. Nothing else should need this
// header.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "watch/preview.h"

typedef struct rp_preview_limits {
  // Connections open at once, event streams included; a connection beyond
  // them is accepted and closed at once.
  size_t max_connections;
  // Time from accepting a connection to the end of its request's headers
  // (a total, not an idle time, so a client that trickles one byte a second
  // is closed all the same).
  uint64_t header_timeout_ms;
  // Time for a response to reach the client, and then for the client to
  // close its side after ours is shut down.
  uint64_t write_timeout_ms;
  uint64_t linger_ms;
  // Interval of the comment lines that keep event streams alive.
  uint64_t heartbeat_ms;
  // Bytes an event stream may have waiting to be written before its client
  // is dropped as too far behind.
  size_t max_event_backlog;
} rp_preview_limits;

// 32 connections, 5 s for headers, 10 s to write, 2 s to linger, a
// heartbeat every 15 s, 64 KiB of waiting events.
extern const rp_preview_limits rp_preview_default_limits;

// The request line and headers together may take this many bytes; a longer
// request is answered 431.
#define RP_PREVIEW_MAX_HEADER_BYTES 8192

// rp_preview_start with other limits (copied).
rp_preview *rp_preview_start_limits(uv_loop_t *loop, int port, const rp_preview_limits *limits,
                                    rp_diags *diags);

// Connections currently open (accepted and not yet closed), event streams
// included.
size_t rp_preview_connections(const rp_preview *pv);
