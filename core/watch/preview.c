// The live preview server (see preview.h for what it promises).
//
// One uv_tcp_t listens on 127.0.0.1. Each connection reads one request with
// http-parser into fixed buffers, is answered with a single uv_write, and is
// then shut down: every response says `Connection: close`, so there is no
// keep-alive or pipelining to get wrong, and a page load costs a handful of
// short connections on loopback. After the shutdown the connection lingers,
// reading and discarding, until the client closes its side, so the kernel
// never resets a connection whose response the client has not read yet.
// The event stream (`/_/events`) is the one connection that stays open; it
// only ever receives "changed" events and heartbeat comments.
//
// Every request passes the same gate before anything is looked up: one Host
// header, exactly 127.0.0.1:PORT or localhost:PORT (DNS rebinding gives an
// attacker's name, never these); an Origin, when present, that is the
// preview's own; GET or HEAD; no body; a URL in origin form (a path) whose
// query carries the token. A refused request gets a short plain-text status
// and nothing else. Paths are matched as literal strings, never decoded and
// never mapped to files: notes live in memory, found by id.
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

#include "util/buf.h"
#include "watch/preview.h"
#include "watch/preview_internal.h"

const rp_preview_limits rp_preview_default_limits = {
    .max_connections = 32,
    .header_timeout_ms = 5000,
    .write_timeout_ms = 10000,
    .linger_ms = 2000,
    .heartbeat_ms = 15000,
    .max_event_backlog = 64 * 1024,
};

enum {
  TOKEN_BYTES = 16,  // 128 bits, written as 32 hex digits
  TOKEN_LEN = 2 * TOKEN_BYTES,
  MAX_ID = 128,
  LISTEN_BACKLOG = 64,
};

// ---------------------------------------------------------------------------
// Static assets
// ---------------------------------------------------------------------------

// The one script of the preview, loaded by the index and by each note's
// page. It reads the token from its page's address, listens to the event
// stream, and on each change reloads the index, or fetches its note's state
// and either shows the note again or the errors in place of it. Error text
// goes in with textContent, never as markup.
static const char preview_js[] =
    "// Rapport live preview: keeps this page current while rapport watch runs.\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var token = new URLSearchParams(location.search).get('t') || '';\n"
    "  var q = '?t=' + encodeURIComponent(token);\n"
    "  var status = document.getElementById('rp-status');\n"
    "  var frame = document.getElementById('rp-note');\n"
    "  var overlay = document.getElementById('rp-overlay');\n"
    "  var errors = document.getElementById('rp-errors');\n"
    "  var title = document.getElementById('rp-title');\n"
    "  var shown = frame ? frame.getAttribute('data-version') : null;\n"
    "  var busy = false;\n"
    "  var again = false;\n"
    "\n"
    "  function setStatus(text) {\n"
    "    if (status) status.textContent = text;\n"
    "  }\n"
    "\n"
    "  function showErrors(text) {\n"
    "    errors.textContent = text;\n"
    "    overlay.hidden = false;\n"
    "    frame.hidden = true;\n"
    "  }\n"
    "\n"
    "  function showNote(version) {\n"
    "    overlay.hidden = true;\n"
    "    errors.textContent = '';\n"
    "    if (version !== shown) {\n"
    "      shown = version;\n"
    "      frame.src = location.pathname + '/page' + q + '&v=' + encodeURIComponent(version);\n"
    "    }\n"
    "    frame.hidden = false;\n"
    "  }\n"
    "\n"
    "  // One request at a time; a change during a request asks for one more.\n"
    "  function check() {\n"
    "    if (busy) {\n"
    "      again = true;\n"
    "      return;\n"
    "    }\n"
    "    busy = true;\n"
    "    fetch(location.pathname + '/state' + q, { cache: 'no-store' })\n"
    "      .then(function (r) {\n"
    "        if (r.status === 404) return { status: 'removed' };\n"
    "        if (!r.ok) throw new Error('HTTP ' + r.status);\n"
    "        return r.json();\n"
    "      })\n"
    "      .then(function (s) {\n"
    "        if (s.status === 'ok') showNote(String(s.version));\n"
    "        else if (s.status === 'error') showErrors(String(s.errors || ''));\n"
    "        else showErrors('This note is no longer part of the watch.');\n"
    "        if (title && typeof s.title === 'string') title.textContent = s.title;\n"
    "      })\n"
    "      .catch(function () {\n"
    "        setStatus('disconnected');\n"
    "      })\n"
    "      .then(function () {\n"
    "        busy = false;\n"
    "        if (again) {\n"
    "          again = false;\n"
    "          check();\n"
    "        }\n"
    "      });\n"
    "  }\n"
    "\n"
    "  function changed() {\n"
    "    if (frame) check();\n"
    "    else location.reload();\n"
    "  }\n"
    "\n"
    "  var reconnect = false;\n"
    "  var events = new EventSource('/_/events' + q);\n"
    "  events.addEventListener('open', function () {\n"
    "    setStatus('live');\n"
    "    // Changes made while the stream was down were not announced.\n"
    "    if (reconnect) changed();\n"
    "    reconnect = true;\n"
    "  });\n"
    "  events.addEventListener('changed', changed);\n"
    "  events.addEventListener('error', function () {\n"
    "    if (events.readyState === EventSource.CLOSED)\n"
    "      setStatus('stopped: open the address rapport watch prints when it runs again');\n"
    "    else setStatus('reconnecting...');\n"
    "  });\n"
    "  if (frame) check();\n"
    "})();\n";

static const char preview_css[] =
    "html, body { margin: 0; height: 100%; }\n"
    "body { display: flex; flex-direction: column; background: #f4f4f5; color: #1c1917;\n"
    "  font: 15px/1.45 system-ui, sans-serif; }\n"
    "header { display: flex; gap: 1em; align-items: baseline; padding: 0.5em 1em;\n"
    "  background: #fff; border-bottom: 1px solid #d4d4d8; }\n"
    "#rp-status { margin-left: auto; color: #57534e; font-size: 0.9em; }\n"
    "main { padding: 1em; }\n"
    "table { border-collapse: collapse; background: #fff; }\n"
    "th, td { text-align: left; padding: 0.35em 0.8em; border-bottom: 1px solid #e4e4e7; }\n"
    ".ok { color: #166534; }\n"
    ".error { color: #b91c1c; font-weight: 600; }\n"
    "#rp-note { flex: 1; width: 100%; border: 0; background: #fff; }\n"
    "#rp-overlay { flex: 1; overflow: auto; padding: 1.5em 2em; background: #1c1917;\n"
    "  color: #fafaf9; }\n"
    "#rp-overlay h2 { margin-top: 0; color: #fca5a5; font-size: 1.1em; }\n"
    "#rp-errors { white-space: pre-wrap; font: 13px/1.5 ui-monospace, monospace;\n"
    "  border-left: 3px solid #ef4444; padding-left: 1em; }\n"
    "[hidden] { display: none !important; }\n";

// Content-Security-Policy of each kind of response. The preview's own pages
// load their script, style sheet and frame from the preview and nothing
// else, and no other site may frame them. A note's page (and the stand-in
// for a broken one) repeats the policy the note's HTML carries in its meta
// tag: no script, nothing loaded.
static const char csp_shell[] =
    "default-src 'none'; script-src 'self'; connect-src 'self'; frame-src 'self'; "
    "style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
static const char csp_note[] =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
static const char csp_none[] = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

typedef struct note {
  char *id;
  char *title;   // NULL: none given
  char *html;    // NULL while the note is broken
  size_t len;    // of html
  char *errors;  // NULL while the note renders
  uint64_t version;
} note;

typedef enum conn_state {
  CONN_READING,   // reading the request's headers
  CONN_WRITING,   // the response is queued
  CONN_DRAINING,  // shut down; discarding input until the client closes
  CONN_EVENTS,    // an open event stream
} conn_state;

typedef char addr[40];

typedef enum header_kind { HDR_OTHER, HDR_HOST, HDR_ORIGIN } header_kind;

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown;
  rp_preview *pv;
  struct conn *prev, *next;
  int open_handles;  // of tcp and timer; the conn is freed at 0
  bool closing;
  bool peer_done;  // the client closed its side while we were writing
  bool head;       // the request is HEAD: headers only
  conn_state state;

  http_parser parser;
  size_t received;  // request bytes fed to the parser
  int refuse;       // a status decided while parsing (414), or 0
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
} conn;

struct rp_preview {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t heartbeat;
  rp_preview_limits limits;
  int port;
  char token[TOKEN_LEN + 1];
  char url[64];
  // The Host and Origin values accepted; the last two are empty unless the
  // port is 80, which browsers leave out of both.
  addr hosts[4];
  addr origins[4];

  note **notes;  // sorted by id
  size_t nnotes, cap;
  uint64_t versions;  // the last version given to a note
  uint64_t changes;   // "changed" events sent

  conn *conns;
  size_t nconns;
  size_t live;  // handles and connections not yet closed, as one count
  bool closing;
  void (*done)(void *ud);
  void *ud;
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

static bool id_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '_' || ch == '.';
}

static bool id_valid(const char *s, size_t n) {
  if (n == 0 || n > MAX_ID) return false;
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
  for (size_t i = 0; i < n; i++)
    if (!id_char(s[i])) return false;
  return true;
}

bool rp_preview_id_valid(const char *id) {
  return id && id_valid(id, strnlen(id, MAX_ID + 1));
}

static void add_html(rp_buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&':
        rp_buf_adds(b, "&amp;");
        break;
      case '<':
        rp_buf_adds(b, "&lt;");
        break;
      case '>':
        rp_buf_adds(b, "&gt;");
        break;
      case '"':
        rp_buf_adds(b, "&quot;");
        break;
      case '\'':
        rp_buf_adds(b, "&#39;");
        break;
      default:
        rp_buf_addc(b, *s);
    }
  }
}

// A JSON string. <, > and & are escaped too, so the text is inert whatever
// reads it.
static void add_json_string(rp_buf *b, const char *s) {
  rp_buf_addc(b, '"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    switch (ch) {
      case '"':
        rp_buf_adds(b, "\\\"");
        break;
      case '\\':
        rp_buf_adds(b, "\\\\");
        break;
      case '\n':
        rp_buf_adds(b, "\\n");
        break;
      case '\r':
        rp_buf_adds(b, "\\r");
        break;
      case '\t':
        rp_buf_adds(b, "\\t");
        break;
      default:
        if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&')
          rp_buf_printf(b, "\\u%04x", ch);
        else
          rp_buf_addc(b, (char)ch);
    }
  }
  rp_buf_addc(b, '"');
}

// Appends n bytes to a fixed buffer; false (and nothing added) when they do
// not fit.
static bool append(char *dst, size_t cap, size_t *len, const char *s, size_t n) {
  if (*len > cap || n > cap - *len) return false;
  memcpy(dst + *len, s, n);
  *len += n;
  return true;
}

static bool slice_is(const char *s, size_t n, const char *lit) {
  return n == strlen(lit) && memcmp(s, lit, n) == 0;
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
static bool one_of(const char *s, size_t n, const addr list[4]) {
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
// Notes
// ---------------------------------------------------------------------------

static int id_cmp(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  int r = memcmp(a, b, an < bn ? an : bn);
  if (r) return r;
  return an < bn ? -1 : an > bn;
}

// The index of the note `id` (n bytes), or where it would go.
static size_t note_index(const rp_preview *pv, const char *id, size_t n, bool *found) {
  size_t lo = 0, hi = pv->nnotes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = id_cmp(id, n, pv->notes[mid]->id);
    if (r == 0) {
      *found = true;
      return mid;
    }
    if (r < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  *found = false;
  return lo;
}

static note *note_find(const rp_preview *pv, const char *id, size_t n) {
  bool found;
  size_t i = note_index(pv, id, n, &found);
  return found ? pv->notes[i] : NULL;
}

// The note `id`, made empty if it is new; NULL for an id outside the
// allowed set.
static note *note_get(rp_preview *pv, const char *id) {
  if (!rp_preview_id_valid(id)) return NULL;
  size_t n = strlen(id);
  bool found;
  size_t i = note_index(pv, id, n, &found);
  if (found) return pv->notes[i];
  if (pv->nnotes == pv->cap) {
    pv->cap = pv->cap ? 2 * pv->cap : 16;
    pv->notes = rp_xrealloc(pv->notes, pv->cap * sizeof *pv->notes);
  }
  memmove(pv->notes + i + 1, pv->notes + i, (pv->nnotes - i) * sizeof *pv->notes);
  note *nt = rp_xcalloc(1, sizeof *nt);
  nt->id = rp_xstrndup(id, n);
  pv->notes[i] = nt;
  pv->nnotes++;
  return nt;
}

static void note_free(note *nt) {
  free(nt->id);
  free(nt->title);
  free(nt->html);
  free(nt->errors);
  free(nt);
}

static char *dup_or_null(const char *s) {
  return s ? rp_xstrndup(s, strlen(s)) : NULL;
}

void rp_preview_set_page(rp_preview *pv, const char *id, const char *title, const char *html,
                         size_t len) {
  if (pv->closing) return;
  note *nt = note_get(pv, id);
  if (!nt) return;
  free(nt->title);
  free(nt->html);
  free(nt->errors);
  nt->title = dup_or_null(title);
  nt->html = rp_xstrndup(html ? html : "", html ? len : 0);
  nt->len = html ? len : 0;
  nt->errors = NULL;
  nt->version = ++pv->versions;
}

void rp_preview_set_error(rp_preview *pv, const char *id, const char *title, const char *errors) {
  if (pv->closing) return;
  note *nt = note_get(pv, id);
  if (!nt) return;
  free(nt->title);
  free(nt->html);
  free(nt->errors);
  nt->title = dup_or_null(title);
  nt->html = NULL;
  nt->len = 0;
  nt->errors = rp_xstrndup(errors ? errors : "", errors ? strlen(errors) : 0);
  nt->version = ++pv->versions;
}

void rp_preview_remove(rp_preview *pv, const char *id) {
  if (pv->closing || !rp_preview_id_valid(id)) return;
  bool found;
  size_t i = note_index(pv, id, strlen(id), &found);
  if (!found) return;
  note_free(pv->notes[i]);
  memmove(pv->notes + i, pv->notes + i + 1, (pv->nnotes - i - 1) * sizeof *pv->notes);
  pv->nnotes--;
}

// ---------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------

// One fewer thing open; the last one after rp_preview_close frees the server.
static void release(rp_preview *pv) {
  if (--pv->live > 0 || !pv->closing) return;
  void (*done)(void *) = pv->done;
  void *ud = pv->ud;
  for (size_t i = 0; i < pv->nnotes; i++)
    note_free(pv->notes[i]);
  free(pv->notes);
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
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
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
  uv_close((uv_handle_t *)&pv->listener, on_server_handle_closed);
  uv_close((uv_handle_t *)&pv->heartbeat, on_server_handle_closed);
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
  uv_timer_start(&c->timer, on_timeout, c->pv->limits.linger_ms, 0);
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
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
  uv_buf_t ub = uv_buf_init(o->data, (unsigned)len);
  if (uv_write(&o->req, (uv_stream_t *)&c->tcp, &ub, 1, on_written) != 0) {
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

// Sends the one response of the connection (without its body for HEAD).
// `extra` is more header lines, each ending in CRLF, or NULL.
static void respond(conn *c, int status, const char *type, const char *csp, const char *extra,
                    const char *body, size_t len) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
                reason(status), type, len);
  add_common_headers(&b, csp);
  if (extra) rp_buf_adds(&b, extra);
  rp_buf_adds(&b, "Connection: close\r\n\r\n");
  if (!c->head) rp_buf_add(&b, body, len);
  c->state = CONN_WRITING;
  uv_timer_start(&c->timer, on_timeout, c->pv->limits.write_timeout_ms, 0);
  conn_write(c, &b);
}

// A refusal: the status and a line of plain text, never anything of a note.
static void refuse(conn *c, int status) {
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
  respond(c, status, "text/plain; charset=utf-8", csp_none,
          status == 405 ? "Allow: GET, HEAD\r\n" : NULL, body, (size_t)n);
}

// Sends an event to a stream, or drops a client whose unread events pile up.
static void event_send(conn *c, const char *text, size_t len) {
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > c->pv->limits.max_event_backlog) {
    conn_close(c);
    return;
  }
  rp_buf b = RP_BUF_INIT;
  rp_buf_add(&b, text, len);
  conn_write(c, &b);
}

static void send_to_streams(rp_preview *pv, const char *text, size_t len) {
  // conn_close only marks a connection; it leaves the list until its
  // handles have closed, so the walk stays valid.
  for (conn *c = pv->conns; c; c = c->next)
    if (!c->closing && c->state == CONN_EVENTS) event_send(c, text, len);
}

void rp_preview_changed(rp_preview *pv) {
  if (pv->closing) return;
  char text[64];
  int n = snprintf(text, sizeof text, "event: changed\ndata: %llu\n\n",
                   (unsigned long long)++pv->changes);
  send_to_streams(pv, text, (size_t)n);
}

static void on_heartbeat(uv_timer_t *t) {
  static const char beat[] = ": heartbeat\n\n";
  send_to_streams(t->data, beat, sizeof beat - 1);
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

static void page_head(rp_buf *b, const rp_preview *pv, const char *title) {
  rp_buf_adds(b,
              "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<title>");
  add_html(b, title);
  rp_buf_printf(b,
                "</title>\n<link rel=\"stylesheet\" href=\"/_/preview.css?t=%s\">\n"
                "<script src=\"/_/preview.js?t=%s\" defer></script>\n</head>\n",
                pv->token, pv->token);
}

static void send_html(conn *c, const char *csp, rp_buf *b) {
  respond(c, 200, "text/html; charset=utf-8", csp, NULL, b->data, b->len);
  rp_buf_free(b);
}

static void page_index(conn *c) {
  const rp_preview *pv = c->pv;
  rp_buf b = RP_BUF_INIT;
  page_head(&b, pv, "Rapport preview");
  rp_buf_adds(&b,
              "<body>\n<header><strong>Rapport preview</strong>"
              "<span id=\"rp-status\"></span></header>\n<main>\n");
  if (pv->nnotes == 0) {
    rp_buf_adds(&b, "<p>No notes yet.</p>\n");
  } else {
    rp_buf_adds(&b,
                "<table>\n<thead><tr><th>Note</th><th>Title</th><th>Status</th></tr></thead>\n"
                "<tbody>\n");
    for (size_t i = 0; i < pv->nnotes; i++) {
      const note *nt = pv->notes[i];
      // Ids are letters, digits, '-', '_' and '.': safe in a URL and in HTML.
      rp_buf_printf(&b, "<tr><td><a href=\"/n/%s?t=%s\">%s</a></td><td>", nt->id, pv->token,
                    nt->id);
      add_html(&b, nt->title ? nt->title : "");
      rp_buf_adds(&b, nt->errors ? "</td><td class=\"error\">error</td></tr>\n"
                                 : "</td><td class=\"ok\">ok</td></tr>\n");
    }
    rp_buf_adds(&b, "</tbody>\n</table>\n");
  }
  rp_buf_adds(&b, "</main>\n</body>\n</html>\n");
  send_html(c, csp_shell, &b);
}

// The note's frame: the page the script keeps current.
static void page_note_shell(conn *c, const note *nt) {
  const rp_preview *pv = c->pv;
  rp_buf b = RP_BUF_INIT;
  rp_buf title = RP_BUF_INIT;
  rp_buf_printf(&title, "%s - Rapport preview", nt->id);
  page_head(&b, pv, title.data);
  rp_buf_free(&title);
  rp_buf_printf(&b, "<body>\n<header><a href=\"/?t=%s\">All notes</a><strong>%s</strong>",
                pv->token, nt->id);
  rp_buf_adds(&b, "<span id=\"rp-title\">");
  add_html(&b, nt->title ? nt->title : "");
  rp_buf_adds(&b,
              "</span><span id=\"rp-status\"></span></header>\n"
              "<section id=\"rp-overlay\" hidden>\n<h2>This note does not render</h2>\n"
              "<pre id=\"rp-errors\"></pre>\n"
              "<p>Fix the file and save it: the note comes back by itself.</p>\n</section>\n");
  rp_buf_printf(&b,
                "<iframe id=\"rp-note\" src=\"/n/%s/page?t=%s&amp;v=%llu\" data-version=\"%llu\" "
                "sandbox title=\"%s\"></iframe>\n</body>\n</html>\n",
                nt->id, pv->token, (unsigned long long)nt->version, (unsigned long long)nt->version,
                nt->id);
  send_html(c, csp_shell, &b);
}

// The note's HTML exactly as rendered; for a broken note, a page with the
// errors (the script shows them over it).
static void page_note(conn *c, const note *nt) {
  if (nt->html) {
    respond(c, 200, "text/html; charset=utf-8", csp_note, NULL, nt->html, nt->len);
    return;
  }
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
  add_html(&b, nt->id);
  rp_buf_adds(&b,
              ": errors</title>\n<style>body { margin: 2em; color: #7f1d1d; }\n"
              "pre { white-space: pre-wrap; font: 13px/1.5 ui-monospace, monospace; }</style>\n"
              "</head>\n<body>\n<h1>This note does not render</h1>\n<pre>");
  add_html(&b, nt->errors);
  rp_buf_adds(&b, "</pre>\n</body>\n</html>\n");
  send_html(c, csp_note, &b);
}

static void page_state(conn *c, const note *nt) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "{\"status\":\"%s\",\"version\":%llu,\"title\":", nt->errors ? "error" : "ok",
                (unsigned long long)nt->version);
  add_json_string(&b, nt->title ? nt->title : "");
  if (nt->errors) {
    rp_buf_adds(&b, ",\"errors\":");
    add_json_string(&b, nt->errors);
  }
  rp_buf_adds(&b, "}\n");
  respond(c, 200, "application/json", csp_none, NULL, b.data, b.len);
  rp_buf_free(&b);
}

static void start_events(conn *c) {
  if (c->head) {
    respond(c, 200, "text/event-stream", csp_none, NULL, "", 0);
    return;
  }
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n");
  add_common_headers(&b, csp_none);
  // The stream ends when the connection does.
  rp_buf_adds(&b, "Connection: close\r\n\r\nretry: 2000\n\n");
  c->state = CONN_EVENTS;
  uv_timer_stop(&c->timer);
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

static void route(conn *c, const char *path, size_t n) {
  rp_preview *pv = c->pv;
  if (slice_is(path, n, "/")) {
    page_index(c);
  } else if (slice_is(path, n, "/_/events")) {
    start_events(c);
  } else if (slice_is(path, n, "/_/preview.js")) {
    respond(c, 200, "text/javascript; charset=utf-8", csp_none, NULL, preview_js,
            sizeof preview_js - 1);
  } else if (slice_is(path, n, "/_/preview.css")) {
    respond(c, 200, "text/css; charset=utf-8", csp_none, NULL, preview_css, sizeof preview_css - 1);
  } else if (n > 3 && memcmp(path, "/n/", 3) == 0) {
    const char *id = path + 3;
    const char *slash = memchr(id, '/', n - 3);
    size_t id_len = slash ? (size_t)(slash - id) : n - 3;
    const char *rest = id + id_len;
    size_t rest_len = n - 3 - id_len;
    const note *nt = id_valid(id, id_len) ? note_find(pv, id, id_len) : NULL;
    if (!nt)
      refuse(c, 404);
    else if (rest_len == 0)
      page_note_shell(c, nt);
    else if (slice_is(rest, rest_len, "/page"))
      page_note(c, nt);
    else if (slice_is(rest, rest_len, "/state"))
      page_state(c, nt);
    else
      refuse(c, 404);
  } else {
    refuse(c, 404);
  }
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
  const char *qm = memchr(c->url, '?', c->url_len);
  if (!qm || !token_ok(pv, qm + 1, c->url_len - (size_t)(qm + 1 - c->url))) return 403;
  return 0;
}

// The request's headers are in: the gate, then the page.
static void answer(conn *c) {
  c->head = c->parser.method == HTTP_HEAD;
  int status = gate(c);
  if (status != 0) {
    refuse(c, status);
    return;
  }
  const char *qm = memchr(c->url, '?', c->url_len);
  route(c, c->url, (size_t)(qm - c->url));
}

static int on_url(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  if (!append(c->url, sizeof c->url, &c->url_len, at, n)) {
    c->refuse = 414;
    return 1;
  }
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
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
  c->headers_done = true;
  // Stop here: a body is refused and a second request never read.
  http_parser_pause(p, 1);
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
  http_parser_execute(&c->parser, &parser_settings, data, n);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->refuse)
    refuse(c, c->refuse);
  else if (c->headers_done)
    answer(c);
  else if (e == HPE_HEADER_OVERFLOW)
    refuse(c, 431);
  else if (e != HPE_OK)
    refuse(c, 400);
  else if (c->received >= RP_PREVIEW_MAX_HEADER_BYTES)
    refuse(c, 431);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn *c = h->data;
  *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (c->closing || nread == 0) return;
  if (nread < 0) {
    // A client that sent its request and closed its side still gets the
    // response; anything else ends the connection.
    if (nread == UV_EOF && c->state == CONN_WRITING) {
      c->peer_done = true;
      uv_read_stop(s);
    } else {
      conn_close(c);
    }
    return;
  }
  // Past the request, input is read only to be dropped.
  if (c->state == CONN_READING) feed(c, buf->base, (size_t)nread);
}

static void on_connection(uv_stream_t *server, int status) {
  rp_preview *pv = server->data;
  if (status < 0 || pv->closing) return;
  if (pv->nconns >= pv->limits.max_connections) {
    // Accept it only to close it, or it would wait in the backlog.
    uv_tcp_t *t = rp_xmalloc(sizeof *t);
    uv_tcp_init(pv->loop, t);
    t->data = pv;
    pv->live++;
    uv_accept(server, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_refused_closed);
    return;
  }
  conn *c = rp_xcalloc(1, sizeof *c);
  c->pv = pv;
  uv_tcp_init(pv->loop, &c->tcp);
  uv_timer_init(pv->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  c->next = pv->conns;
  if (pv->conns) pv->conns->prev = c;
  pv->conns = c;
  pv->nconns++;
  pv->live++;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->state = CONN_READING;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_timer_start(&c->timer, on_timeout, pv->limits.header_timeout_ms, 0);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) conn_close(c);
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
  unsigned char raw[TOKEN_BYTES];
  int rc = uv_random(NULL, NULL, raw, sizeof raw, 0, NULL);
  if (rc != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, where, 0, 0, "cannot make the preview's token: %s",
                 uv_strerror(rc));
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
  for (size_t i = 0; i < TOKEN_BYTES; i++)
    snprintf(pv->token + 2 * i, 3, "%02x", (unsigned)raw[i]);
  uv_tcp_init(loop, &pv->listener);
  pv->listener.data = pv;
  pv->live = 1;
  rc = uv_tcp_open(&pv->listener, fd);
  if (rc != 0) close(fd);  // otherwise the handle owns it
  if (rc == 0) rc = uv_listen((uv_stream_t *)&pv->listener, LISTEN_BACKLOG, on_connection);
  struct sockaddr_storage ss;
  int sslen = sizeof ss;
  if (rc == 0) rc = uv_tcp_getsockname(&pv->listener, (struct sockaddr *)&ss, &sslen);
  if (rc != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, where, 0, 0, "cannot serve the preview: %s", uv_strerror(rc));
    // The handle exists now, so it closes on the loop; pv goes with it.
    pv->closing = true;
    uv_close((uv_handle_t *)&pv->listener, on_server_handle_closed);
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

  uv_timer_init(loop, &pv->heartbeat);
  pv->heartbeat.data = pv;
  pv->live++;
  uv_timer_start(&pv->heartbeat, on_heartbeat, pv->limits.heartbeat_ms, pv->limits.heartbeat_ms);
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
