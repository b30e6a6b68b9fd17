// What the two halves of the preview server share, and what the unit tests
// and the fuzz target look at. Nothing outside core/serve/ and its tests
// should need this header.
//
// gate.c is the HTTP server: the listener on 127.0.0.1, connections and
// their limits and timeouts, reading a request with http-parser, the checks
// every request passes (token, Host, Origin, method), and writing responses
// and event streams. pages.c is what it serves: the notes kept in memory by
// id, the index, a note's page and its frame, its state as JSON, the script
// and style sheet, and the Server-Sent Events the pages listen to. The gate
// hands pages.c only requests that passed; pages.c answers through the
// gate's rp_serve_respond, rp_serve_refuse and rp_serve_stream_open.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "serve/preview.h"
#include "util/builtin.h"

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

// rp_preview_start uses rp_preview_default_limits; the tests start servers
// with shorter timeouts and smaller caps through rp_preview_start_limits so
// that they do not wait seconds for a timer.
typedef struct rp_preview_limits {
  // Connections open at once, event streams included. A connection beyond
  // them takes the place of the oldest unauthenticated one, or, when every
  // connection is authenticated, is accepted and closed at once.
  size_t max_connections;
  // A connection is authenticated once its request line has carried the
  // token. Until then it counts among these, which together may hold only
  // this many of the places; a new connection that finds them all taken
  // closes the oldest of them. 0, or more than max_connections: no share
  // of their own.
  size_t max_unauthenticated;
  // Time from accepting a connection to the end of its request's headers
  // (a total, not an idle time, so a client that trickles one byte a second
  // is closed all the same); an unauthenticated connection has only the
  // second, shorter time (0: the same as the first), and the first once its
  // request line shows the token.
  uint64_t header_timeout_ms;
  uint64_t unauth_header_timeout_ms;
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

// 32 connections, of which at most 8 unauthenticated; 5 s for headers
// (1 s without the token), 10 s to write, 2 s to linger, a heartbeat every
// 15 s, 64 KiB of waiting events.
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

// ---------------------------------------------------------------------------
// The server's state
// ---------------------------------------------------------------------------

enum {
  RP_SERVE_TOKEN_BYTES = 16,  // 128 bits, written as 32 hex digits
  RP_SERVE_TOKEN_LEN = 2 * RP_SERVE_TOKEN_BYTES,
};

// One accepted connection (gate.c); pages.c only passes it back.
typedef struct rp_serve_conn rp_serve_conn;

// A note as last set (pages.c).
typedef struct rp_serve_note {
  char *id;
  char *title;   // NULL: none given
  char *html;    // NULL while the note is broken
  size_t len;    // of html
  char *errors;  // NULL while the note renders
  uint64_t version;
} rp_serve_note;

// pages.c's part of the server: the notes and the event counter.
typedef struct rp_serve_pages {
  rp_serve_note **notes;  // sorted by id
  size_t nnotes, cap;
  uint64_t versions;  // the last version given to a note
  uint64_t changes;   // "changed" events sent
} rp_serve_pages;

typedef char rp_serve_addr[40];

struct rp_preview {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t heartbeat;
  rp_preview_limits limits;
  int port;
  char token[RP_SERVE_TOKEN_LEN + 1];
  char url[64];
  // The Host and Origin values accepted; the last two are empty unless the
  // port is 80, which browsers leave out of both.
  rp_serve_addr hosts[4];
  rp_serve_addr origins[4];

  rp_serve_pages pages;

  rp_serve_conn *conns;  // newest first
  size_t nconns;         // in the list: open, or closing and not yet freed
  size_t nopen;          // open and not closing
  size_t nunauth;        // of those, the ones not authenticated
  size_t live;           // handles and connections not yet closed, as one count
  bool closing;
  void (*done)(void *ud);
  void *ud;
};

// ---------------------------------------------------------------------------
// gate.c, for pages.c
// ---------------------------------------------------------------------------

// The policy of responses that are not a page of the preview (refusals, the
// state, the script, the event stream): nothing may load, nothing may frame.
extern const char rp_serve_csp_none[];

// Sends the connection's one response (without its body for HEAD) and
// closes the connection once it is out. `extra` is more header lines, each
// ending in CRLF, or NULL. The body is copied.
void rp_serve_respond(rp_serve_conn *c, int status, const char *type, const char *csp,
                      const char *extra, const char *body, size_t len);

// A refusal: the status and a line of plain text, never anything of a note.
void rp_serve_refuse(rp_serve_conn *c, int status);

// Makes the connection an event stream: headers of type text/event-stream,
// then `first` (len bytes); from then on it receives what rp_serve_broadcast
// sends, and stays open. For HEAD, only the headers, and the connection
// closes.
void rp_serve_stream_open(rp_serve_conn *c, const char *first, size_t len);

// Sends text to every open event stream; a stream whose client has more
// than max_event_backlog bytes waiting is dropped instead.
void rp_serve_broadcast(rp_preview *pv, const char *text, size_t len);

// ---------------------------------------------------------------------------
// pages.c, for gate.c
// ---------------------------------------------------------------------------

// Answers a request that passed the gate. `path` is the target up to its
// '?' (n bytes), as received: never decoded.
void rp_serve_route(rp_preview *pv, rp_serve_conn *c, const char *path, size_t n);

// The heartbeat timer fired: a comment line to every event stream.
void rp_serve_heartbeat(rp_preview *pv);

// Frees every note (when the server is freed).
void rp_serve_pages_free(rp_serve_pages *pages);

// The pages' script and style sheet, core/serve/preview.js and
// core/serve/preview.css, embedded by the build (cmake/embed.cmake) under
// those paths. They have a table of their own rather than a place among
// rp_builtin_files: that table is what a workspace can override and what
// the plugin and template code walk, and a web asset belongs to neither.
extern const rp_builtin_file rp_serve_assets[];
extern const size_t rp_serve_nassets;
