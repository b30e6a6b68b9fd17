// The preview server's gate (see preview.h for what it promises, and
// internal.h for how it and pages.c divide the work).
//
// One uv_tcp_t listens on 127.0.0.1. Each connection reads one request with
// http-parser into fixed buffers, is answered with a single uv_write, and is
// then shut down: every response says `Connection: close`, so there is no
// keep-alive or pipelining to get wrong, and a page load costs a handful of
// short connections on loopback. After the shutdown the connection lingers,
// reading and discarding, until the client closes its side, so the kernel
// never resets a connection whose response the client has not read yet.
// The event stream (`/_/events`) is the one connection that stays open; it
// only ever receives what pages.c broadcasts.
//
// Every request passes the same gate before anything is looked up: one Host
// header, exactly 127.0.0.1:PORT or localhost:PORT (DNS rebinding gives an
// attacker's name, never these); an Origin, when present, that is the
// preview's own; GET or HEAD; no body; a URL in origin form (a path) whose
// query carries the token, compared in constant time. A refused request gets
// a short plain-text status and nothing else; one that passes goes to
// rp_serve_route (pages.c).
//
// Life cycle (libuv's rule): every handle is closed with uv_close and its
// memory freed in the close callback. A connection owns a TCP handle and a
// timer and is freed when both have closed; the server counts everything
// still open and frees itself, then calls `done`, when the count reaches
// zero after rp_preview_close.
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <http_parser.h>

#include "serve/internal.h"
#include "serve/preview.h"
#include "util/buf.h"
#include "util/dynlib.h"

// libuv and http-parser are opened when a preview server starts
// (util/dynlib.h), not by every run of rapport.
// clang-format off
#define UV_FUNCTIONS(X) \
  X(uv_accept) \
  X(uv_buf_init) \
  X(uv_close) \
  X(uv_fileno) \
  X(uv_listen) \
  X(uv_now) \
  X(uv_random) \
  X(uv_read_start) \
  X(uv_read_stop) \
  X(uv_shutdown) \
  X(uv_stream_get_write_queue_size) \
  X(uv_strerror) \
  X(uv_tcp_getsockname) \
  X(uv_tcp_init) \
  X(uv_tcp_nodelay) \
  X(uv_tcp_open) \
  X(uv_timer_init) \
  X(uv_timer_start) \
  X(uv_timer_stop) \
  X(uv_write)
// clang-format on
RP_DYNLIB_STATIC(uv, RP_UV_SONAME, "libuv", UV_FUNCTIONS)

// clang-format off
#define HTTP_PARSER_FUNCTIONS(X) \
  X(http_parser_execute) \
  X(http_parser_init) \
  X(http_parser_pause)
// clang-format on
RP_DYNLIB_STATIC(http, RP_HTTP_PARSER_SONAME, "http-parser", HTTP_PARSER_FUNCTIONS)

const rp_preview_limits rp_preview_default_limits = {
    .max_connections = 32,
    .max_unauthenticated = 8,
    .header_timeout_ms = 5000,
    .unauth_header_timeout_ms = 1000,
    .write_timeout_ms = 10000,
    .linger_ms = 2000,
    .heartbeat_ms = 15000,
    .max_event_backlog = 64 * 1024,
};

enum {
  TOKEN_BYTES = RP_SERVE_TOKEN_BYTES,
  TOKEN_LEN = RP_SERVE_TOKEN_LEN,
  LISTEN_BACKLOG = 64,
};

const char rp_serve_csp_none[] = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

typedef enum conn_state {
  CONN_READING,   // reading the request's headers
  CONN_WRITING,   // the response is queued
  CONN_DRAINING,  // shut down; discarding input until the client closes
  CONN_EVENTS,    // an open event stream
} conn_state;

typedef enum header_kind { HDR_OTHER, HDR_HOST, HDR_ORIGIN } header_kind;

typedef struct rp_serve_conn conn;

struct rp_serve_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown;
  rp_preview *pv;
  conn *prev, *next;
  int open_handles;  // of tcp and timer; the conn is freed at 0
  bool closing;
  bool peer_done;  // the client closed its side while we were writing
  bool head;       // the request is HEAD: headers only
  conn_state state;
  bool line_done;        // the target is whole, and its token was checked
  bool authenticated;    // the request line carried the token
  uint64_t accepted_at;  // loop time

  http_parser parser;
  size_t received;        // request bytes fed to the parser
  const char *chunk_end;  // the end of the bytes being fed now
  int refuse;             // a status decided while parsing (414), or 0
  bool headers_done;
  bool in_value;  // the parser is in a header's value, not its name
  header_kind kind;
  int hosts, origins;
  bool transfer_encoding;
  // Header names longer than the buffer are none that matter; values longer
  // than theirs match nothing (their length is set to the buffer's size).
  char name[24];
  size_t name_len;
  char host[256];
  size_t host_len;
  char origin[256];
  size_t origin_len;
  char url[2048];
  size_t url_len;

  char rbuf[4096];
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

// Appends n bytes to a fixed buffer; false (and nothing added) when they do
// not fit.
static bool append(char *dst, size_t cap, size_t *len, const char *s, size_t n) {
  if (*len > cap || n > cap - *len) return false;
  memcpy(dst + *len, s, n);
  *len += n;
  return true;
}

// Header values may carry trailing spaces and tabs; leading ones http-parser
// drops.
static size_t trim_end(const char *s, size_t n) {
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  return n;
}

// Whether the header value is one of the four; host names are
// case-insensitive, and the rest is digits.
static bool one_of(const char *s, size_t n, const rp_serve_addr list[4]) {
  n = trim_end(s, n);
  for (size_t i = 0; i < 4; i++)
    if (list[i][0] && n == strlen(list[i]) && strncasecmp(s, list[i], n) == 0) return true;
  return false;
}

static const char *reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 414:
      return "URI Too Long";
    case 421:
      return "Misdirected Request";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

// ---------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------

// One fewer thing open; the last one after rp_preview_close frees the server.
static void release(rp_preview *pv) {
  if (--pv->live > 0 || !pv->closing) return;
  void (*done)(void *) = pv->done;
  void *ud = pv->ud;
  rp_serve_pages_free(&pv->pages);
  free(pv);
  if (done) done(ud);
}

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->open_handles > 0) return;
  rp_preview *pv = c->pv;
  if (c->prev)
    c->prev->next = c->next;
  else
    pv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  pv->nconns--;
  free(c);
  release(pv);
}

// Closes the connection; pending writes end with UV_ECANCELED first.
static void conn_close(conn *c) {
  if (c->closing) return;
  c->closing = true;
  c->pv->nopen--;
  if (!c->authenticated) c->pv->nunauth--;
  uv()->uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv()->uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_server_handle_closed(uv_handle_t *h) {
  release(h->data);
}

static void on_refused_closed(uv_handle_t *h) {
  rp_preview *pv = h->data;
  free(h);
  release(pv);
}

void rp_preview_close(rp_preview *pv, void (*done)(void *ud), void *ud) {
  if (pv->closing) return;
  pv->closing = true;
  pv->done = done;
  pv->ud = ud;
  uv()->uv_close((uv_handle_t *)&pv->listener, on_server_handle_closed);
  uv()->uv_close((uv_handle_t *)&pv->heartbeat, on_server_handle_closed);
  for (conn *c = pv->conns; c; c = c->next)
    conn_close(c);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

typedef struct out {
  uv_write_t req;
  char *data;
} out;

static void on_timeout(uv_timer_t *t) {
  conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  if (!c->closing && status < 0) conn_close(c);
}

// The response is out: shut our side down and wait (a little) for the
// client to close its own.
static void response_sent(conn *c) {
  if (c->peer_done) {
    conn_close(c);
    return;
  }
  c->state = CONN_DRAINING;
  uv()->uv_timer_start(&c->timer, on_timeout, c->pv->limits.linger_ms, 0);
  c->shutdown.data = c;
  if (uv()->uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
}

static void on_written(uv_write_t *req, int status) {
  out *o = (out *)req;
  conn *c = req->data;
  free(o->data);
  free(o);
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->state == CONN_WRITING) response_sent(c);
}

// Queues the buffer's bytes, taking them over (b is left empty). On failure
// the connection is closed.
static void conn_write(conn *c, rp_buf *b) {
  size_t len = b->len;
  out *o = rp_xmalloc(sizeof *o);
  o->data = rp_buf_detach(b);
  o->req.data = c;
  uv_buf_t ub = uv()->uv_buf_init(o->data, (unsigned)len);
  if (uv()->uv_write(&o->req, (uv_stream_t *)&c->tcp, &ub, 1, on_written) != 0) {
    free(o->data);
    free(o);
    conn_close(c);
  }
}

static void add_common_headers(rp_buf *b, const char *csp) {
  rp_buf_adds(b,
              "Cache-Control: no-store\r\n"
              "X-Content-Type-Options: nosniff\r\n"
              "Referrer-Policy: no-referrer\r\n"
              "Cross-Origin-Resource-Policy: same-origin\r\n"
              "Cross-Origin-Opener-Policy: same-origin\r\n");
  rp_buf_printf(b, "Content-Security-Policy: %s\r\n", csp);
}

void rp_serve_respond(conn *c, int status, const char *type, const char *csp, const char *extra,
                      const char *body, size_t len) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
                reason(status), type, len);
  add_common_headers(&b, csp);
  if (extra) rp_buf_adds(&b, extra);
  rp_buf_adds(&b, "Connection: close\r\n\r\n");
  if (!c->head) rp_buf_add(&b, body, len);
  c->state = CONN_WRITING;
  uv()->uv_timer_start(&c->timer, on_timeout, c->pv->limits.write_timeout_ms, 0);
  conn_write(c, &b);
}

void rp_serve_refuse(conn *c, int status) {
  const char *why = "";
  switch (status) {
    case 403:
      why = " (open the address that rapport watch printed, with its token)";
      break;
    case 421:
      why = " (the preview answers only at 127.0.0.1 and localhost)";
      break;
    case 405:
      why = " (the preview answers only GET and HEAD)";
      break;
  }
  char body[160];
  int n = snprintf(body, sizeof body, "%d %s%s\n", status, reason(status), why);
  rp_serve_respond(c, status, "text/plain; charset=utf-8", rp_serve_csp_none,
                   status == 405 ? "Allow: GET, HEAD\r\n" : NULL, body, (size_t)n);
}

// Sends an event to a stream, or drops a client whose unread events pile up.
static void event_send(conn *c, const char *text, size_t len) {
  if (uv()->uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
      c->pv->limits.max_event_backlog) {
    conn_close(c);
    return;
  }
  rp_buf b = RP_BUF_INIT;
  rp_buf_add(&b, text, len);
  conn_write(c, &b);
}

void rp_serve_broadcast(rp_preview *pv, const char *text, size_t len) {
  // conn_close only marks a connection; it leaves the list until its
  // handles have closed, so the walk stays valid.
  for (conn *c = pv->conns; c; c = c->next)
    if (!c->closing && c->state == CONN_EVENTS) event_send(c, text, len);
}

static void on_heartbeat(uv_timer_t *t) {
  rp_serve_heartbeat(t->data);
}

void rp_serve_stream_open(conn *c, const char *first, size_t len) {
  if (c->head) {
    rp_serve_respond(c, 200, "text/event-stream", rp_serve_csp_none, NULL, "", 0);
    return;
  }
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n");
  add_common_headers(&b, rp_serve_csp_none);
  // The stream ends when the connection does.
  rp_buf_adds(&b, "Connection: close\r\n\r\n");
  rp_buf_add(&b, first, len);
  c->state = CONN_EVENTS;
  uv()->uv_timer_stop(&c->timer);
  conn_write(c, &b);
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

// Whether the query holds the token, exactly once. The comparison takes
// the same time wherever the first difference is.
static bool token_ok(const rp_preview *pv, const char *q, size_t n) {
  const char *tok = NULL;
  size_t tlen = 0;
  int count = 0;
  for (size_t i = 0; i <= n;) {
    size_t j = i;
    while (j < n && q[j] != '&')
      j++;
    if (j - i >= 2 && q[i] == 't' && q[i + 1] == '=') {
      count++;
      tok = q + i + 2;
      tlen = j - i - 2;
    }
    i = j + 1;
  }
  if (count != 1 || tlen != TOKEN_LEN) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < TOKEN_LEN; i++)
    diff |= (unsigned char)(tok[i] ^ pv->token[i]);
  return diff == 0;
}

// The gate every request passes before anything is looked up: the status
// to refuse it with, or 0.
static int gate(const conn *c) {
  const rp_preview *pv = c->pv;
  const http_parser *p = &c->parser;
  if (p->http_major != 1) return 505;
  if (c->hosts != 1) return 400;
  if (!one_of(c->host, c->host_len, pv->hosts)) return 421;
  if (c->origins > 1 || (c->origins == 1 && !one_of(c->origin, c->origin_len, pv->origins)))
    return 403;
  if (p->method != HTTP_GET && p->method != HTTP_HEAD) return 405;
  if (c->transfer_encoding || ((p->flags & F_CONTENTLENGTH) && p->content_length != 0)) return 400;
  // Origin form only: no absolute URLs, no "*".
  if (c->url_len == 0 || c->url[0] != '/') return 400;
  if (!c->authenticated) return 403;
  return 0;
}

// The request's headers are in: the gate, then the page.
static void answer(conn *c) {
  c->head = c->parser.method == HTTP_HEAD;
  int status = gate(c);
  if (status != 0) {
    rp_serve_refuse(c, status);
    return;
  }
  const char *qm = memchr(c->url, '?', c->url_len);
  rp_serve_route(c->pv, c, c->url, (size_t)(qm - c->url));
}

// The token lets a connection out of the unauthenticated share, and gives
// it the rest of the full header time.
static void authenticate(conn *c) {
  rp_preview *pv = c->pv;
  c->authenticated = true;
  pv->nunauth--;
  if (c->state == CONN_READING) {
    uint64_t spent = uv()->uv_now(pv->loop) - c->accepted_at;
    uint64_t limit = pv->limits.header_timeout_ms;
    uv()->uv_timer_start(&c->timer, on_timeout, spent < limit ? limit - spent : 0, 0);
  }
}

// Called once the request's target is whole (the parser has gone past the
// space after it; or, at the latest, at the first header or the end of the
// headers), so that its token can be checked. The gate looks at the result
// again, with everything else.
static void target_done(conn *c) {
  if (c->line_done) return;
  c->line_done = true;
  if (c->closing || c->url_len == 0 || c->url[0] != '/') return;
  const char *qm = memchr(c->url, '?', c->url_len);
  if (qm && token_ok(c->pv, qm + 1, c->url_len - (size_t)(qm + 1 - c->url))) authenticate(c);
}

static int on_url(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  if (!append(c->url, sizeof c->url, &c->url_len, at, n)) {
    c->refuse = 414;
    return 1;
  }
  // http-parser hands the target over at the end of each chunk it is fed,
  // and once more where it ends: before the end of the chunk, at the space.
  if (at + n < c->chunk_end) target_done(c);
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  target_done(c);
  if (c->in_value) {
    c->in_value = false;
    c->name_len = 0;
  }
  if (!append(c->name, sizeof c->name, &c->name_len, at, n))
    c->name_len = sizeof c->name + 1;  // too long to be a name we read
  return 0;
}

static bool name_is(const conn *c, const char *want) {
  return c->name_len == strlen(want) && strncasecmp(c->name, want, c->name_len) == 0;
}

static void append_value(char *dst, size_t cap, size_t *len, const char *s, size_t n) {
  if (!append(dst, cap, len, s, n)) *len = cap;  // matches nothing we accept
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  if (!c->in_value) {
    c->in_value = true;
    c->kind = HDR_OTHER;
    if (name_is(c, "host")) {
      c->kind = HDR_HOST;
      c->hosts++;
    } else if (name_is(c, "origin")) {
      c->kind = HDR_ORIGIN;
      c->origins++;
    } else if (name_is(c, "transfer-encoding")) {
      c->transfer_encoding = true;
    }
  }
  // A repeated Host or Origin is refused, so appending to the first is fine.
  if (c->kind == HDR_HOST) append_value(c->host, sizeof c->host, &c->host_len, at, n);
  if (c->kind == HDR_ORIGIN) append_value(c->origin, sizeof c->origin, &c->origin_len, at, n);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  target_done(c);
  c->headers_done = true;
  // Stop here: a body is refused and a second request never read.
  http()->http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
};

static void feed(conn *c, const char *data, size_t n) {
  size_t room = RP_PREVIEW_MAX_HEADER_BYTES - c->received;
  if (n > room) n = room;
  c->received += n;
  c->chunk_end = data + n;
  http()->http_parser_execute(&c->parser, &parser_settings, data, n);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->refuse)
    rp_serve_refuse(c, c->refuse);
  else if (c->headers_done)
    answer(c);
  else if (e == HPE_HEADER_OVERFLOW)
    rp_serve_refuse(c, 431);
  else if (e != HPE_OK)
    rp_serve_refuse(c, 400);
  else if (c->received >= RP_PREVIEW_MAX_HEADER_BYTES)
    rp_serve_refuse(c, 431);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn *c = h->data;
  *buf = uv()->uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (c->closing || nread == 0) return;
  if (nread < 0) {
    // A client that sent its request and closed its side still gets the
    // response; anything else ends the connection.
    if (nread == UV_EOF && c->state == CONN_WRITING) {
      c->peer_done = true;
      uv()->uv_read_stop(s);
    } else {
      conn_close(c);
    }
    return;
  }
  // Past the request, input is read only to be dropped.
  if (c->state == CONN_READING) feed(c, buf->base, (size_t)nread);
}

// What the client sent along with its connection, read at once rather than
// on the next turn of the loop. A browser sends its request as soon as the
// connection is up, so the request line is usually here by the time it is
// accepted: reading it now lets the page's connection show its token before
// a newer connection could take its place (see on_connection). Reading the
// descriptor here is safe: libuv reads it only when the loop reports it
// readable, and then finds the rest, or nothing.
static void read_waiting(conn *c) {
  uv_os_fd_t fd;
  if (uv()->uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) return;
  ssize_t n = recv(fd, c->rbuf, sizeof c->rbuf, MSG_DONTWAIT);
  if (n > 0) feed(c, c->rbuf, (size_t)n);
}

// The oldest connection open without the token, or NULL.
static conn *oldest_unauthenticated(const rp_preview *pv) {
  conn *oldest = NULL;
  for (conn *c = pv->conns; c; c = c->next)
    if (!c->closing && !c->authenticated) oldest = c;
  return oldest;
}

// A new connection has not shown the token yet. When every place, or every
// place for connections without the token, is taken, the oldest connection
// without the token makes room: so slow connections that never show it,
// however many, hold at most their share for at most their short time, and
// the page's connections always get in. Only when every connection open is
// authenticated is the newcomer turned away.
static void on_connection(uv_stream_t *server, int status) {
  rp_preview *pv = server->data;
  if (status < 0 || pv->closing) return;
  if (pv->nopen >= pv->limits.max_connections || pv->nunauth >= pv->limits.max_unauthenticated) {
    conn *oldest = oldest_unauthenticated(pv);
    if (!oldest) {
      // Accept it only to close it, or it would wait in the backlog.
      uv_tcp_t *t = rp_xmalloc(sizeof *t);
      uv()->uv_tcp_init(pv->loop, t);
      t->data = pv;
      pv->live++;
      uv()->uv_accept(server, (uv_stream_t *)t);
      uv()->uv_close((uv_handle_t *)t, on_refused_closed);
      return;
    }
    conn_close(oldest);
  }
  conn *c = rp_xcalloc(1, sizeof *c);
  c->pv = pv;
  uv()->uv_tcp_init(pv->loop, &c->tcp);
  uv()->uv_timer_init(pv->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  c->next = pv->conns;
  if (pv->conns) pv->conns->prev = c;
  pv->conns = c;
  pv->nconns++;
  pv->nopen++;
  pv->nunauth++;
  pv->live++;
  c->accepted_at = uv()->uv_now(pv->loop);
  http()->http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->state = CONN_READING;
  if (uv()->uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv()->uv_tcp_nodelay(&c->tcp, 1);
  uv()->uv_timer_start(&c->timer, on_timeout, pv->limits.unauth_header_timeout_ms, 0);
  if (uv()->uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    conn_close(c);
    return;
  }
  read_waiting(c);
}

// ---------------------------------------------------------------------------
// Starting
// ---------------------------------------------------------------------------

// The listening socket is made and bound here rather than with uv_tcp_bind:
// a port in use then fails before any handle exists, so a failed start
// leaves nothing on the loop to close.
static int listen_socket(int port, int *fd_out) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  *fd_out = fd;
  return 0;
}

// A client that closes its connection while a response is on its way must
// not kill the watch: libuv writes to sockets with write(), which raises
// SIGPIPE. A handler someone else installed is left alone.
static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL) return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
}

rp_preview *rp_preview_start_limits(uv_loop_t *loop, int port, const rp_preview_limits *limits,
                                    rp_diags *diags) {
  char where[32];
  snprintf(where, sizeof where, "127.0.0.1:%d", port);
  if (port < 0 || port > 65535) {
    rp_diags_add(diags, RP_SEV_ERROR, where, 0, 0, "the port must be from 0 to 65535");
    return NULL;
  }
  if (rp_dynlib_open(&uv_lib, diags) != RP_OK || rp_dynlib_open(&http_lib, diags) != RP_OK)
    return NULL;
  unsigned char raw[TOKEN_BYTES];
  int rc = uv()->uv_random(NULL, NULL, raw, sizeof raw, 0, NULL);
  if (rc != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, where, 0, 0, "cannot make the preview's token: %s",
                 uv()->uv_strerror(rc));
    return NULL;
  }
  int fd = -1;
  rc = listen_socket(port, &fd);
  if (rc != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, where, 0, 0, "cannot serve the preview: %s", strerror(-rc));
    return NULL;
  }

  ignore_sigpipe();
  rp_preview *pv = rp_xcalloc(1, sizeof *pv);
  pv->loop = loop;
  pv->limits = *limits;
  rp_preview_limits *l = &pv->limits;
  if (l->max_unauthenticated == 0 || l->max_unauthenticated > l->max_connections)
    l->max_unauthenticated = l->max_connections;
  if (l->unauth_header_timeout_ms == 0 || l->unauth_header_timeout_ms > l->header_timeout_ms)
    l->unauth_header_timeout_ms = l->header_timeout_ms;
  for (size_t i = 0; i < TOKEN_BYTES; i++)
    snprintf(pv->token + 2 * i, 3, "%02x", (unsigned)raw[i]);
  uv()->uv_tcp_init(loop, &pv->listener);
  pv->listener.data = pv;
  pv->live = 1;
  rc = uv()->uv_tcp_open(&pv->listener, fd);
  if (rc != 0) close(fd);  // otherwise the handle owns it
  if (rc == 0) rc = uv()->uv_listen((uv_stream_t *)&pv->listener, LISTEN_BACKLOG, on_connection);
  struct sockaddr_storage ss;
  int sslen = sizeof ss;
  if (rc == 0) rc = uv()->uv_tcp_getsockname(&pv->listener, (struct sockaddr *)&ss, &sslen);
  if (rc != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, where, 0, 0, "cannot serve the preview: %s",
                 uv()->uv_strerror(rc));
    // The handle exists now, so it closes on the loop; pv goes with it.
    pv->closing = true;
    uv()->uv_close((uv_handle_t *)&pv->listener, on_server_handle_closed);
    return NULL;
  }
  pv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  snprintf(pv->url, sizeof pv->url, "http://127.0.0.1:%d/?t=%s", pv->port, pv->token);
  snprintf(pv->hosts[0], sizeof pv->hosts[0], "127.0.0.1:%d", pv->port);
  snprintf(pv->hosts[1], sizeof pv->hosts[1], "localhost:%d", pv->port);
  snprintf(pv->origins[0], sizeof pv->origins[0], "http://127.0.0.1:%d", pv->port);
  snprintf(pv->origins[1], sizeof pv->origins[1], "http://localhost:%d", pv->port);
  if (pv->port == 80) {
    snprintf(pv->hosts[2], sizeof pv->hosts[2], "127.0.0.1");
    snprintf(pv->hosts[3], sizeof pv->hosts[3], "localhost");
    snprintf(pv->origins[2], sizeof pv->origins[2], "http://127.0.0.1");
    snprintf(pv->origins[3], sizeof pv->origins[3], "http://localhost");
  }

  uv()->uv_timer_init(loop, &pv->heartbeat);
  pv->heartbeat.data = pv;
  pv->live++;
  uv()->uv_timer_start(&pv->heartbeat, on_heartbeat, pv->limits.heartbeat_ms,
                       pv->limits.heartbeat_ms);
  return pv;
}

rp_preview *rp_preview_start(uv_loop_t *loop, int port, rp_diags *diags) {
  return rp_preview_start_limits(loop, port, &rp_preview_default_limits, diags);
}

const char *rp_preview_url(const rp_preview *pv) {
  return pv->url;
}

size_t rp_preview_connections(const rp_preview *pv) {
  return pv->nconns;
}
