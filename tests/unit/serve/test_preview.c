// Unit tests for core/serve/: the live preview's HTTP server and its pages.
//
// The server and the test share one thread: each test drives the uv loop a
// step at a time (uv_run with UV_RUN_NOWAIT) while it talks to the server
// through plain, non-blocking sockets, so nothing races and a request takes
// milliseconds. Every response is checked for the headers every response
// must carry and the ones none may carry (CORS). Each test ends by closing
// the server with connections still open and checking that the loop has no
// handle left (uv_loop_close succeeds); the sanitizer build and valgrind
// check that nothing leaks.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "helpers.h"
#include "serve/internal.h"
#include "serve/preview.h"
#include "util/buf.h"

// Text that marks note data: no refused request may show it.
#define SECRET "SECRET-SESSION-TEXT"

static const char note_html[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Session 7</title></head>\n"
    "<body><h1>Session 7</h1><p>" SECRET "</p></body></html>\n";

// ---------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------

typedef struct fixture {
  uv_loop_t loop;
  rp_preview *pv;
  int port;
  char token[64];
  bool closed;
} fixture;

// Short enough that no test waits long, long enough for valgrind.
static const rp_preview_limits test_limits = {
    .max_connections = 32,
    .max_unauthenticated = 8,
    .header_timeout_ms = 4000,
    .unauth_header_timeout_ms = 2000,
    .write_timeout_ms = 4000,
    .linger_ms = 1000,
    .heartbeat_ms = 60000,
    .max_event_backlog = 64 * 1024,
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void start(fixture *f, const rp_preview_limits *limits) {
  rp_diags d = RP_DIAGS_INIT;
  f->pv = rp_preview_start_limits(&f->loop, 0, limits, &d);
  if (!f->pv) dump_diags(&d);
  assert_non_null(f->pv);
  rp_diags_free(&d);
  const char *url = rp_preview_url(f->pv);
  assert_int_equal(sscanf(url, "http://127.0.0.1:%d/?t=%63s", &f->port, f->token), 2);
  rp_preview_set_page(f->pv, "jd-07", "Session 7 - J.D.", note_html, sizeof note_html - 1);
}

static void on_done(void *ud) {
  ((fixture *)ud)->closed = true;
}

static void stop(fixture *f) {
  f->closed = false;
  rp_preview_close(f->pv, on_done, f);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_true(f->closed);
  f->pv = NULL;
}

static void restart(fixture *f, const rp_preview_limits *limits) {
  stop(f);
  start(f, limits);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || uv_loop_init(&f->loop) != 0) return -1;
  start(f, &test_limits);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->pv) stop(f);
  // Every handle the server made has been closed.
  int rc = uv_loop_close(&f->loop);
  free(f);
  return rc == 0 ? 0 : -1;
}

// Runs the loop for about `ms` milliseconds.
static void pump(fixture *f, int ms) {
  uint64_t end = now_ms() + (uint64_t)ms;
  do {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    poll(NULL, 0, 1);
  } while (now_ms() < end);
}

// ---------------------------------------------------------------------------
// A small HTTP client
// ---------------------------------------------------------------------------

static int dial(const fixture *f) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)f->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The kernel completes the handshake from the listen backlog, so this
  // does not wait for the loop.
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

static void send_bytes(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    assert_true(w > 0);
    s += w;
    n -= (size_t)w;
  }
}

static void send_str(int fd, const char *s) {
  send_bytes(fd, s, strlen(s));
}

// Reads while running the loop, until the server closes the connection,
// `needle` has arrived (when not NULL), or `ms` milliseconds have passed.
// Returns whether the connection was closed.
static bool read_for(fixture *f, int fd, rp_buf *out, const char *needle, int ms) {
  uint64_t end = now_ms() + (uint64_t)ms;
  while (now_ms() < end) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1) <= 0) continue;
    char buf[16384];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      rp_buf_add(out, buf, (size_t)n);
      if (needle && strstr(out->data, needle)) return false;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      return true;
    }
  }
  return false;
}

// Sends raw bytes as one request and returns the whole response (until the
// server closes). The response is NUL-terminated; *len (if not NULL) is its
// length.
static char *exchange(fixture *f, const char *raw, size_t raw_len, size_t *len) {
  int fd = dial(f);
  send_bytes(fd, raw, raw_len);
  rp_buf out = RP_BUF_INIT;
  bool closed = read_for(f, fd, &out, NULL, 8000);
  close(fd);
  assert_true(closed);
  if (len) *len = out.len;
  return rp_buf_detach(&out);
}

static char *exchange_str(fixture *f, const char *raw) {
  return exchange(f, raw, strlen(raw), NULL);
}

// A request with the right Host and the given target and extra header lines.
static char *request(fixture *f, const char *method, const char *target, const char *headers) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", method, target, f->port,
                headers ? headers : "");
  char *resp = exchange(f, b.data, b.len, NULL);
  rp_buf_free(&b);
  return resp;
}

// GET of a path with the token appended.
static char *get(fixture *f, const char *path) {
  char target[512];
  snprintf(target, sizeof target, "%s%st=%s", path, strchr(path, '?') ? "&" : "?", f->token);
  return request(f, "GET", target, NULL);
}

// Copies `tmpl` into out with each "{port}" and "{port+1}" replaced by the
// server's port (and the next one) and each "{token}" by its token.
static void expand(const fixture *f, const char *tmpl, char *out, size_t cap) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, "");
  while (*tmpl) {
    if (strncmp(tmpl, "{port}", 6) == 0) {
      rp_buf_printf(&b, "%d", f->port);
      tmpl += 6;
    } else if (strncmp(tmpl, "{port+1}", 8) == 0) {
      rp_buf_printf(&b, "%d", f->port + 1);
      tmpl += 8;
    } else if (strncmp(tmpl, "{token}", 7) == 0) {
      rp_buf_adds(&b, f->token);
      tmpl += 7;
    } else {
      rp_buf_addc(&b, *tmpl++);
    }
  }
  assert_true(b.len < cap);
  memcpy(out, b.data, b.len + 1);
  rp_buf_free(&b);
}

// strcasestr, which is a GNU extension.
static const char *find_ci(const char *s, const char *needle) {
  size_t n = strlen(needle);
  for (; *s; s++)
    if (strncasecmp(s, needle, n) == 0) return s;
  return NULL;
}

// Whether the markup has an event handler attribute (` onclick=` and so on).
static bool has_handler(const char *html) {
  for (const char *p = html; (p = find_ci(p, " on")); p++) {
    const char *q = p + 3;
    while (isalpha((unsigned char)*q))
      q++;
    if (q > p + 3 && *q == '=') return true;
  }
  return false;
}

static int status_of(const char *resp) {
  int status = 0;
  if (sscanf(resp, "HTTP/1.1 %d ", &status) != 1) return 0;
  return status;
}

static const char *body_of(const char *resp) {
  const char *p = strstr(resp, "\r\n\r\n");
  return p ? p + 4 : "";
}

// The value of a response header (case-insensitive name), copied into buf;
// NULL when absent.
static const char *header(const char *resp, const char *name, char *buf, size_t cap) {
  const char *end = strstr(resp, "\r\n\r\n");
  size_t n = strlen(name);
  for (const char *line = strstr(resp, "\r\n"); line && line < end;
       line = strstr(line + 2, "\r\n")) {
    const char *s = line + 2;
    if (strncasecmp(s, name, n) == 0 && s[n] == ':') {
      s += n + 1;
      while (*s == ' ')
        s++;
      size_t len = (size_t)(strstr(s, "\r\n") - s);
      if (len >= cap) len = cap - 1;
      memcpy(buf, s, len);
      buf[len] = '\0';
      return buf;
    }
  }
  return NULL;
}

// What every response carries, and what none does.
static void check_headers(const char *resp) {
  char v[512];
  assert_true(status_of(resp) >= 200);
  assert_non_null(header(resp, "Cross-Origin-Resource-Policy", v, sizeof v));
  assert_string_equal(v, "same-origin");
  assert_non_null(header(resp, "X-Content-Type-Options", v, sizeof v));
  assert_string_equal(v, "nosniff");
  assert_non_null(header(resp, "Referrer-Policy", v, sizeof v));
  assert_string_equal(v, "no-referrer");
  assert_non_null(header(resp, "Cache-Control", v, sizeof v));
  assert_string_equal(v, "no-store");
  assert_non_null(header(resp, "Content-Security-Policy", v, sizeof v));
  assert_non_null(strstr(v, "default-src 'none'"));
  // No CORS header of any kind, on any response.
  const char *end = strstr(resp, "\r\n\r\n");
  for (const char *p = resp; (p = find_ci(p, "\r\naccess-control-")) && p < end; p++)
    fail_msg("a CORS header in: %s", resp);
}

// A refusal: the status, plain text, short, nothing of any note.
static void check_refused(char *resp, int status) {
  if (status_of(resp) != status) fail_msg("expected %d, got: %s", status, resp);
  check_headers(resp);
  char v[128];
  assert_non_null(header(resp, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/plain; charset=utf-8");
  assert_true(strlen(body_of(resp)) < 200);
  assert_null(strstr(resp, SECRET));
  assert_null(strstr(resp, "Session 7"));
  free(resp);
}

// ---------------------------------------------------------------------------
// The gate
// ---------------------------------------------------------------------------

static void test_url_and_token(void **state) {
  fixture *f = *state;
  assert_true(f->port > 0);
  assert_int_equal(strlen(f->token), 32);
  for (const char *p = f->token; *p; p++)
    assert_true(isxdigit((unsigned char)*p));
  // A second server has another token.
  rp_diags d = RP_DIAGS_INIT;
  rp_preview *other = rp_preview_start(&f->loop, 0, &d);
  assert_non_null(other);
  assert_null(strstr(rp_preview_url(other), f->token));
  rp_preview_close(other, NULL, NULL);
  rp_diags_free(&d);

  char *resp = get(f, "/");
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  free(resp);
}

static void test_token_required(void **state) {
  fixture *f = *state;
  char wrong[64];
  snprintf(wrong, sizeof wrong, "%s", f->token);
  wrong[31] = wrong[31] == '0' ? '1' : '0';
  const char *paths[] = {"/",         "/n/jd-07",     "/n/jd-07/page", "/n/jd-07/state",
                         "/_/events", "/_/preview.js"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    char target[256];
    check_refused(request(f, "GET", paths[i], NULL), 403);
    snprintf(target, sizeof target, "%s?t=%s", paths[i], wrong);
    check_refused(request(f, "GET", target, NULL), 403);
    snprintf(target, sizeof target, "%s?t=%.31s", paths[i], f->token);
    check_refused(request(f, "GET", target, NULL), 403);
    snprintf(target, sizeof target, "%s?t=%s0", paths[i], f->token);
    check_refused(request(f, "GET", target, NULL), 403);
    snprintf(target, sizeof target, "%s?t=", paths[i]);
    check_refused(request(f, "GET", target, NULL), 403);
    snprintf(target, sizeof target, "%s?T=%s", paths[i], f->token);
    check_refused(request(f, "GET", target, NULL), 403);
    // Twice is once too many, even when one of them is right.
    snprintf(target, sizeof target, "%s?t=%s&t=%s", paths[i], f->token, wrong);
    check_refused(request(f, "GET", target, NULL), 403);
    snprintf(target, sizeof target, "%s?xt=%s", paths[i], f->token);
    check_refused(request(f, "GET", target, NULL), 403);
  }
  // The token in a header or the path is not the token in the query.
  char hdr[128], target[128];
  snprintf(hdr, sizeof hdr, "Cookie: t=%s\r\n", f->token);
  check_refused(request(f, "GET", "/n/jd-07/page", hdr), 403);
  snprintf(target, sizeof target, "/n/jd-07/page/%s", f->token);
  check_refused(request(f, "GET", target, NULL), 403);

  // With it, and beside other parameters.
  char *resp = get(f, "/n/jd-07/page?v=3");
  assert_int_equal(status_of(resp), 200);
  assert_non_null(strstr(resp, SECRET));
  free(resp);
}

static void test_host_checked(void **state) {
  fixture *f = *state;
  char raw[512];
  const char *bad[] = {"evil.com:{port}",
                       "0.0.0.0:{port}",
                       "127.0.0.1",
                       "localhost",
                       "127.0.0.2:{port}",
                       "[::1]:{port}",
                       "127.0.0.1:{port}.evil",
                       "evil.com",
                       "127.0.0.1:{port}@evil.com",
                       "127.0.0.1:80",
                       "localhost.:{port}",
                       "127.1:{port}",
                       "2130706433:{port}",
                       "localhost:{port}:{port}",
                       "",
                       "127.0.0.1:0{port}",
                       "127.0.0.1:{port+1}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char host[128];
    expand(f, bad[i], host, sizeof host);
    snprintf(raw, sizeof raw, "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: %s\r\n\r\n", f->token,
             host);
    char *resp = exchange_str(f, raw);
    int status = status_of(resp);
    if (status != 421 && status != 400) fail_msg("Host %s: %s", host, resp);
    check_refused(resp, status);
  }
  // No Host, or two.
  snprintf(raw, sizeof raw, "GET /n/jd-07/page?t=%s HTTP/1.1\r\n\r\n", f->token);
  check_refused(exchange_str(f, raw), 400);
  snprintf(raw, sizeof raw, "GET /n/jd-07/page?t=%s HTTP/1.0\r\n\r\n", f->token);
  check_refused(exchange_str(f, raw), 400);
  snprintf(raw, sizeof raw,
           "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nHost: evil.com\r\n\r\n",
           f->token, f->port);
  check_refused(exchange_str(f, raw), 400);
  snprintf(raw, sizeof raw,
           "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: evil.com\r\nHost: 127.0.0.1:%d\r\n\r\n",
           f->token, f->port);
  check_refused(exchange_str(f, raw), 400);

  // Both names of the preview, in any case, as HTTP/1.0 too.
  const char *good[] = {"127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}",
                        "127.0.0.1:{port}  "};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char host[64];
    expand(f, good[i], host, sizeof host);
    snprintf(raw, sizeof raw, "GET /n/jd-07/page?t=%s HTTP/1.%zu\r\nHost: %s\r\n\r\n", f->token,
             i % 2, host);
    char *resp = exchange_str(f, raw);
    if (status_of(resp) != 200) fail_msg("Host %s: %s", host, resp);
    check_headers(resp);
    assert_non_null(strstr(resp, SECRET));
    free(resp);
  }
}

static void test_origin_checked(void **state) {
  fixture *f = *state;
  const char *bad[] = {"http://evil.com",           "null",
                       "https://127.0.0.1:{port}",  "http://127.0.0.1:{port}.evil.com",
                       "http://127.0.0.1",          "http://0.0.0.0:{port}",
                       "http://127.0.0.1:{port}/",  "http://evil.com/?http://127.0.0.1:{port}",
                       "http://127.0.0.1:{port+1}", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char origin[128], hdr[160];
    expand(f, bad[i], origin, sizeof origin);
    snprintf(hdr, sizeof hdr, "Origin: %s\r\n", origin);
    char target[128];
    snprintf(target, sizeof target, "/n/jd-07/state?t=%s", f->token);
    check_refused(request(f, "GET", target, hdr), 403);
  }
  char target[128], hdr[160];
  snprintf(target, sizeof target, "/n/jd-07/state?t=%s", f->token);
  snprintf(hdr, sizeof hdr, "Origin: http://127.0.0.1:%d\r\nOrigin: http://evil.com\r\n", f->port);
  check_refused(request(f, "GET", target, hdr), 403);

  const char *good[] = {"http://127.0.0.1:{port}", "http://localhost:{port}"};
  for (size_t i = 0; i < 2; i++) {
    char origin[64];
    expand(f, good[i], origin, sizeof origin);
    snprintf(hdr, sizeof hdr, "Origin: %s\r\n", origin);
    char *resp = request(f, "GET", target, hdr);
    assert_int_equal(status_of(resp), 200);
    check_headers(resp);
    free(resp);
  }
}

static void test_methods(void **state) {
  fixture *f = *state;
  char target[128];
  snprintf(target, sizeof target, "/n/jd-07/page?t=%s", f->token);
  const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PROPFIND"};
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
    char *resp = request(f, methods[i], target, "Content-Length: 0\r\n");
    char v[64];
    assert_non_null(header(resp, "Allow", v, sizeof v));
    assert_string_equal(v, "GET, HEAD");
    check_refused(resp, 405);
  }
  // A form post with a body, and a CORS preflight from the page's own
  // origin: still no CORS headers.
  char raw[512];
  snprintf(raw, sizeof raw,
           "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
           "Content-Length: 5\r\n\r\nhello",
           target, f->port);
  check_refused(exchange_str(f, raw), 405);
  char hdr[256];
  snprintf(hdr, sizeof hdr,
           "Origin: http://127.0.0.1:%d\r\nAccess-Control-Request-Method: GET\r\n"
           "Access-Control-Request-Headers: x-a\r\n",
           f->port);
  check_refused(request(f, "OPTIONS", target, hdr), 405);
  // The same preflight from elsewhere fails earlier.
  check_refused(request(f, "OPTIONS", target,
                        "Origin: http://evil.com\r\nAccess-Control-Request-Method: GET\r\n"),
                403);
  // An unknown method does not parse.
  check_refused(request(f, "BREW", target, NULL), 400);

  // HEAD: the headers of GET, no body.
  char *resp = request(f, "HEAD", target, NULL);
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  char v[64];
  assert_non_null(header(resp, "Content-Length", v, sizeof v));
  assert_int_equal(atoi(v), (int)(sizeof note_html - 1));
  assert_string_equal(body_of(resp), "");
  free(resp);
}

static void test_request_limits(void **state) {
  fixture *f = *state;
  rp_buf b = RP_BUF_INIT;
  // Headers beyond 8 KiB.
  rp_buf_printf(&b, "GET /?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Pad: ", f->token, f->port);
  for (int i = 0; i < RP_PREVIEW_MAX_HEADER_BYTES; i++)
    rp_buf_addc(&b, 'a');
  rp_buf_adds(&b, "\r\n\r\n");
  size_t len;
  char *resp = exchange(f, b.data, b.len, &len);
  if (len > 0)
    check_refused(resp, 431);
  else
    free(resp);
  rp_buf_clear(&b);

  // Many small headers add up the same way.
  rp_buf_printf(&b, "GET /?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", f->token, f->port);
  for (int i = 0; i < 1000; i++)
    rp_buf_printf(&b, "X-%d: 1\r\n", i);
  rp_buf_adds(&b, "\r\n");
  check_refused(exchange(f, b.data, b.len, NULL), 431);
  rp_buf_clear(&b);

  // A long URL.
  rp_buf_adds(&b, "GET /n/");
  for (int i = 0; i < 4000; i++)
    rp_buf_addc(&b, 'a');
  rp_buf_printf(&b, "?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", f->token, f->port);
  check_refused(exchange(f, b.data, b.len, NULL), 414);
  rp_buf_free(&b);

  // Just under the limit is fine.
  char target[128];
  snprintf(target, sizeof target, "/n/jd-07/page?t=%s", f->token);
  rp_buf pad = RP_BUF_INIT;
  rp_buf_adds(&pad, "X-Pad: ");
  for (int i = 0; i < 7000; i++)
    rp_buf_addc(&pad, 'a');
  rp_buf_adds(&pad, "\r\n");
  resp = request(f, "GET", target, pad.data);
  assert_int_equal(status_of(resp), 200);
  free(resp);
  rp_buf_free(&pad);

  // No request bodies, however announced.
  check_refused(request(f, "GET", target, "Content-Length: 5\r\n"), 400);
  check_refused(request(f, "GET", target, "Transfer-Encoding: chunked\r\n"), 400);
  // An empty one is no body.
  resp = request(f, "GET", target, "Content-Length: 0\r\n");
  assert_int_equal(status_of(resp), 200);
  free(resp);

  // Not HTTP/1.x, or not HTTP at all.
  char raw[256];
  snprintf(raw, sizeof raw, "GET /?t=%s HTTP/2.0\r\nHost: 127.0.0.1:%d\r\n\r\n", f->token, f->port);
  resp = exchange_str(f, raw);
  int status = status_of(resp);
  assert_true(status == 505 || status == 400);
  check_refused(resp, status);
  resp = exchange_str(f, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  status = status_of(resp);
  assert_true(status == 505 || status == 400);
  check_refused(resp, status);
  static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
  check_refused(exchange(f, tls, sizeof tls - 1, NULL), 400);
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

static void test_no_traversal(void **state) {
  fixture *f = *state;
  const char *paths[] = {
      "/n/../../etc/passwd",
      "/../../etc/passwd",
      "/etc/passwd",
      "/n/%2e%2e/%2e%2e/etc/passwd",
      "/n/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
      "/n/..%2f..%2fetc%2fpasswd",
      "/n/jd-07/../../etc/passwd",
      "/n/jd-07/../jd-07/page",
      "/n/jd-07/./page",
      "/n/./jd-07/page",
      "/n/jd-07%2fpage",
      "/n/jd%2d07/page",
      "/n/jd-07/page/",
      "/n/jd-07//page",
      "/n//jd-07/page",
      "//n/jd-07/page",
      "/n/jd-07/",
      "/n/JD-07/page",
      "/n/jd-07\\..\\..\\etc\\passwd",
      "/n/..",
      "/n/.",
      "/n/",
      "/n",
      "/_/",
      "/_/../n/jd-07/page",
      "/_/preview.js/../../etc/passwd",
      "/_/events/x",
      "/favicon.ico",
      "/n/jd-07/page%00",
      "/n/jd-07/page;x",
      "/index.html",
      "/.git/config",
      "/core/serve/gate.c",
      "/core/serve/preview.js",
  };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    char *resp = get(f, paths[i]);
    int status = status_of(resp);
    if (status != 404 && status != 400) fail_msg("%s: %s", paths[i], resp);
    assert_null(strstr(resp, "root:"));
    check_refused(resp, status);
  }
  // Targets that are not a path.
  char target[256];
  const char *forms[] = {"http://127.0.0.1:{port}/n/jd-07/page?t={token}",
                         "http://evil.com/n/jd-07/page?t={token}", "*", "n/jd-07/page?t={token}",
                         "file:///etc/passwd?t={token}"};
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    expand(f, forms[i], target, sizeof target);
    char *resp = request(f, "GET", target, NULL);
    int status = status_of(resp);
    if (status != 404 && status != 400) fail_msg("%s: %s", target, resp);
    check_refused(resp, status);
  }
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

static void test_note_served_exactly(void **state) {
  fixture *f = *state;
  // Bytes of every value, a NUL among them, and more than a socket buffer.
  size_t n = 300000;
  char *html = malloc(n);
  for (size_t i = 0; i < n; i++)
    html[i] = (char)(i * 7 + i / 251);
  rp_preview_set_page(f->pv, "big.note_1", "Big", html, n);

  size_t len;
  char target[128], raw[256];
  snprintf(target, sizeof target, "/n/big.note_1/page?t=%s", f->token);
  snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: localhost:%d\r\n\r\n", target, f->port);
  char *resp = exchange(f, raw, strlen(raw), &len);
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  char v[256];
  assert_non_null(header(resp, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/html; charset=utf-8");
  assert_non_null(header(resp, "Content-Length", v, sizeof v));
  assert_int_equal(strtoul(v, NULL, 10), n);
  const char *body = body_of(resp);
  assert_int_equal(len - (size_t)(body - resp), n);
  assert_memory_equal(body, html, n);
  free(resp);

  // The page of the fixture, with the note's own policy repeated: no script.
  resp = get(f, "/n/jd-07/page");
  assert_int_equal(status_of(resp), 200);
  assert_string_equal(body_of(resp), note_html);
  assert_non_null(header(resp, "Content-Security-Policy", v, sizeof v));
  assert_null(strstr(v, "script-src"));
  assert_non_null(strstr(v, "default-src 'none'"));
  free(resp);

  // Replaced: the new bytes, not the old.
  rp_preview_set_page(f->pv, "big.note_1", "Big", "<p>small</p>", 12);
  resp = exchange(f, raw, strlen(raw), &len);
  assert_string_equal(body_of(resp), "<p>small</p>");
  free(resp);
  // An empty page is a page.
  rp_preview_set_page(f->pv, "big.note_1", NULL, NULL, 0);
  resp = exchange(f, raw, strlen(raw), &len);
  assert_int_equal(status_of(resp), 200);
  assert_string_equal(body_of(resp), "");
  free(resp);
  free(html);
}

// The note's outer page: the frame, the script from the preview, no inline
// script.
static void test_note_page(void **state) {
  fixture *f = *state;
  char *resp = get(f, "/n/jd-07");
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  char v[512], want[256];
  assert_non_null(header(resp, "Content-Security-Policy", v, sizeof v));
  assert_non_null(strstr(v, "script-src 'self'"));
  assert_non_null(strstr(v, "connect-src 'self'"));
  assert_non_null(strstr(v, "frame-src 'self'"));
  assert_non_null(strstr(v, "frame-ancestors 'none'"));
  assert_null(strstr(v, "unsafe"));
  const char *body = body_of(resp);
  snprintf(want, sizeof want, "<iframe id=\"rp-note\" src=\"/n/jd-07/page?t=%s&amp;v=", f->token);
  assert_non_null(strstr(body, want));
  snprintf(want, sizeof want, "<script src=\"/_/preview.js?t=%s\" defer></script>", f->token);
  assert_non_null(strstr(body, want));
  // Every script element loads a file; no inline script, no handlers.
  for (const char *p = body; (p = strstr(p, "<script")); p++)
    assert_int_equal(strncmp(p, "<script src=\"/_/", 16), 0);
  assert_false(has_handler(body));
  assert_null(strstr(body, SECRET));
  assert_non_null(strstr(body, "id=\"rp-overlay\" hidden"));
  free(resp);

  // The script: an event stream, the state, error text as text.
  resp = get(f, "/_/preview.js");
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  assert_non_null(header(resp, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/javascript; charset=utf-8");
  body = body_of(resp);
  assert_non_null(strstr(body, "new EventSource('/_/events' + q)"));
  assert_non_null(strstr(body, "addEventListener('changed'"));
  assert_non_null(strstr(body, "'/state' + q"));
  assert_non_null(strstr(body, "errors.textContent = text"));
  assert_null(strstr(body, "innerHTML"));
  assert_null(strstr(body, "eval("));
  free(resp);

  resp = get(f, "/_/preview.css");
  assert_int_equal(status_of(resp), 200);
  assert_non_null(header(resp, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/css; charset=utf-8");
  free(resp);

  // Both are the files of the source tree, byte for byte (the build embeds
  // them; the test runs in tests/).
  const char *assets[][2] = {{"/_/preview.js", "../core/serve/preview.js"},
                             {"/_/preview.css", "../core/serve/preview.css"}};
  for (size_t i = 0; i < 2; i++) {
    rp_buf file = RP_BUF_INIT;
    FILE *fp = fopen(assets[i][1], "rb");
    assert_non_null(fp);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
      rp_buf_add(&file, chunk, got);
    fclose(fp);
    assert_true(file.len > 500);
    size_t len;
    char target[128], raw[256];
    snprintf(target, sizeof target, "%s?t=%s", assets[i][0], f->token);
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", target, f->port);
    resp = exchange(f, raw, strlen(raw), &len);
    assert_int_equal(status_of(resp), 200);
    body = body_of(resp);
    assert_int_equal(len - (size_t)(body - resp), file.len);
    assert_memory_equal(body, file.data, file.len);
    assert_non_null(header(resp, "Content-Length", v, sizeof v));
    assert_int_equal(strtoul(v, NULL, 10), file.len);
    free(resp);
    rp_buf_free(&file);
  }

  check_refused(get(f, "/n/nobody"), 404);
  check_refused(get(f, "/n/nobody/page"), 404);
  check_refused(get(f, "/n/nobody/state"), 404);
}

static void test_index(void **state) {
  fixture *f = *state;
  rp_preview *pv = f->pv;
  rp_preview_remove(pv, "jd-07");
  char *resp = get(f, "/");
  assert_int_equal(status_of(resp), 200);
  assert_non_null(strstr(body_of(resp), "No notes yet."));
  free(resp);

  rp_preview_set_page(pv, "zz-9", "Last <b>&</b> \"quoted\"", "<p>z</p>", 8);
  rp_preview_set_error(pv, "ab-1", "First", "sessions/ab-1.yaml:3:7: error: bad");
  rp_preview_set_page(pv, "mm-5", NULL, "<p>m</p>", 8);
  resp = get(f, "/");
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  char v[512];
  assert_non_null(header(resp, "Content-Security-Policy", v, sizeof v));
  assert_non_null(strstr(v, "script-src 'self'"));
  const char *body = body_of(resp);
  char link[128];
  snprintf(link, sizeof link, "<a href=\"/n/ab-1?t=%s\">ab-1</a>", f->token);
  const char *a = strstr(body, link);
  snprintf(link, sizeof link, "<a href=\"/n/mm-5?t=%s\">mm-5</a>", f->token);
  const char *m = strstr(body, link);
  snprintf(link, sizeof link, "<a href=\"/n/zz-9?t=%s\">zz-9</a>", f->token);
  const char *z = strstr(body, link);
  assert_true(a && m && z && a < m && m < z);
  assert_non_null(strstr(body, "Last &lt;b&gt;&amp;&lt;/b&gt; &quot;quoted&quot;"));
  assert_null(strstr(body, "<b>&"));
  assert_non_null(strstr(a, "<td class=\"error\">error</td>"));
  assert_non_null(strstr(m, "<td class=\"ok\">ok</td>"));
  // The index names notes; it shows neither pages nor errors.
  assert_null(strstr(body, "<p>z</p>"));
  assert_null(strstr(body, "bad"));
  assert_non_null(strstr(body, "/_/preview.js?t="));
  free(resp);
}

static void test_error_state(void **state) {
  fixture *f = *state;
  rp_preview *pv = f->pv;
  char *resp = get(f, "/n/jd-07/state");
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  char v[128];
  assert_non_null(header(resp, "Content-Type", v, sizeof v));
  assert_string_equal(v, "application/json");
  unsigned long long v1 = 0, v2 = 0, v3 = 0;
  assert_int_equal(sscanf(body_of(resp), "{\"status\":\"ok\",\"version\":%llu,", &v1), 1);
  assert_non_null(strstr(body_of(resp), "\"title\":\"Session 7 - J.D.\"}"));
  assert_null(strstr(resp, SECRET));
  free(resp);

  const char *errors =
      "sessions/jd-07.yaml:4:9: error: \"mood\" must be <b>a number</b>\n"
      "plugins/x.lua:2:1: error: tab\there & \\ back\x01slash\n";
  rp_preview_set_error(pv, "jd-07", "Session 7 - J.D.", errors);
  resp = get(f, "/n/jd-07/state");
  assert_int_equal(status_of(resp), 200);
  const char *body = body_of(resp);
  assert_int_equal(sscanf(body, "{\"status\":\"error\",\"version\":%llu,", &v2), 1);
  assert_true(v2 > v1);
  assert_non_null(strstr(
      body,
      "\"errors\":\"sessions/jd-07.yaml:4:9: error: \\\"mood\\\" must be \\u003cb\\u003ea number"
      "\\u003c/b\\u003e\\nplugins/x.lua:2:1: error: tab\\there \\u0026 \\\\ "
      "back\\u0001slash\\n\""));
  free(resp);

  // The page holds no note while broken: the errors, as text.
  resp = get(f, "/n/jd-07/page");
  assert_int_equal(status_of(resp), 200);
  check_headers(resp);
  body = body_of(resp);
  assert_null(strstr(body, SECRET));
  assert_null(strstr(body, "<b>"));
  assert_non_null(strstr(body, "&quot;mood&quot; must be &lt;b&gt;a number&lt;/b&gt;"));
  assert_null(strstr(body, "<script"));
  free(resp);
  resp = get(f, "/n/jd-07");
  assert_int_equal(status_of(resp), 200);
  free(resp);

  // Fixed: the page again, and a later version.
  rp_preview_set_page(pv, "jd-07", "Session 7 - J.D.", note_html, sizeof note_html - 1);
  resp = get(f, "/n/jd-07/state");
  assert_int_equal(sscanf(body_of(resp), "{\"status\":\"ok\",\"version\":%llu,", &v3), 1);
  assert_true(v3 > v2);
  assert_null(strstr(resp, "errors"));
  free(resp);
  resp = get(f, "/n/jd-07/page");
  assert_string_equal(body_of(resp), note_html);
  free(resp);

  // Removed, then added again: a version never seen before.
  rp_preview_remove(pv, "jd-07");
  check_refused(get(f, "/n/jd-07/state"), 404);
  check_refused(get(f, "/n/jd-07/page"), 404);
  check_refused(get(f, "/n/jd-07"), 404);
  rp_preview_remove(pv, "jd-07");
  rp_preview_set_error(pv, "jd-07", NULL, NULL);
  resp = get(f, "/n/jd-07/state");
  unsigned long long v4 = 0;
  assert_int_equal(sscanf(body_of(resp), "{\"status\":\"error\",\"version\":%llu,", &v4), 1);
  assert_true(v4 > v3);
  assert_non_null(strstr(body_of(resp), "\"title\":\"\",\"errors\":\"\"}"));
  free(resp);
}

static void test_ids(void **state) {
  fixture *f = *state;
  assert_true(rp_preview_id_valid("jd-07"));
  assert_true(rp_preview_id_valid("A.b_c-9"));
  assert_true(rp_preview_id_valid("..."));
  const char *bad[] = {"",    ".",    "..", "../x", "a/b",  "a b",
                       "a?b", "a%2e", "é",  "a\\b", "a\nb", "<b>"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_false(rp_preview_id_valid(bad[i]));
    rp_preview_set_page(f->pv, bad[i], "x", "<p>BAD-ID</p>", 13);
    rp_preview_set_error(f->pv, bad[i], "x", "BAD-ID");
    rp_preview_remove(f->pv, bad[i]);
  }
  assert_false(rp_preview_id_valid(NULL));
  char longest[130];
  memset(longest, 'a', sizeof longest);
  longest[128] = '\0';
  assert_true(rp_preview_id_valid(longest));
  longest[128] = 'a';
  longest[129] = '\0';
  assert_false(rp_preview_id_valid(longest));

  char *resp = get(f, "/");
  assert_null(strstr(resp, "BAD-ID"));
  assert_null(strstr(resp, "a b"));
  free(resp);
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

// Opens an event stream and reads its headers.
static int open_events(fixture *f, rp_buf *got) {
  int fd = dial(f);
  char raw[256];
  snprintf(raw, sizeof raw,
           "GET /_/events?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
           "Origin: http://127.0.0.1:%d\r\n\r\n",
           f->token, f->port, f->port);
  send_str(fd, raw);
  assert_false(read_for(f, fd, got, "retry: 2000\n\n", 8000));
  assert_int_equal(status_of(got->data), 200);
  check_headers(got->data);
  char v[64];
  assert_non_null(header(got->data, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/event-stream");
  assert_null(header(got->data, "Content-Length", v, sizeof v));
  return fd;
}

static void test_events(void **state) {
  fixture *f = *state;
  // Streams are not subject to the header timeout.
  rp_preview_limits l = test_limits;
  l.header_timeout_ms = 100;
  restart(f, &l);

  rp_buf a = RP_BUF_INIT, b = RP_BUF_INIT;
  int fa = open_events(f, &a);
  int fb = open_events(f, &b);
  rp_buf_clear(&a);
  rp_buf_clear(&b);
  pump(f, 300);
  assert_int_equal(rp_preview_connections(f->pv), 2);

  rp_preview_set_error(f->pv, "jd-07", "Session 7", "sessions/jd-07.yaml:1:1: error: " SECRET);
  rp_preview_changed(f->pv);
  assert_false(read_for(f, fa, &a, "\n\n", 8000));
  assert_false(read_for(f, fb, &b, "\n\n", 8000));
  assert_string_equal(a.data, "event: changed\ndata: 1\n\n");
  assert_string_equal(b.data, "event: changed\ndata: 1\n\n");

  // One client goes; the other still hears.
  close(fb);
  rp_preview_set_page(f->pv, "jd-07", "Session 7", note_html, sizeof note_html - 1);
  rp_preview_changed(f->pv);
  rp_preview_changed(f->pv);
  rp_buf_clear(&a);
  assert_false(read_for(f, fa, &a, "data: 3\n\n", 8000));
  assert_string_equal(a.data, "event: changed\ndata: 2\n\nevent: changed\ndata: 3\n\n");
  assert_null(strstr(a.data, SECRET));
  pump(f, 50);
  assert_int_equal(rp_preview_connections(f->pv), 1);

  // HEAD of the stream is just its headers.
  char target[128];
  snprintf(target, sizeof target, "/_/events?t=%s", f->token);
  char *resp = request(f, "HEAD", target, NULL);
  assert_int_equal(status_of(resp), 200);
  assert_string_equal(body_of(resp), "");
  free(resp);

  close(fa);
  rp_buf_free(&a);
  rp_buf_free(&b);
}

static void test_heartbeat(void **state) {
  fixture *f = *state;
  rp_preview_limits l = test_limits;
  l.heartbeat_ms = 50;
  restart(f, &l);
  rp_buf got = RP_BUF_INIT;
  int fd = open_events(f, &got);
  rp_buf_clear(&got);
  assert_false(read_for(f, fd, &got, ": heartbeat\n\n: heartbeat\n\n", 8000));
  assert_null(strstr(got.data, "event:"));
  close(fd);
  rp_buf_free(&got);
}

// A client that stops reading its stream is dropped once its backlog
// passes the limit, instead of holding memory without bound.
static void test_slow_event_reader_dropped(void **state) {
  fixture *f = *state;
  rp_preview_limits l = test_limits;
  l.max_event_backlog = 4096;
  restart(f, &l);

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 2048;
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)f->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char raw[256];
  snprintf(raw, sizeof raw, "GET /_/events?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", f->token,
           f->port);
  send_str(fd, raw);
  rp_buf got = RP_BUF_INIT;
  assert_false(read_for(f, fd, &got, "retry: 2000\n\n", 8000));
  assert_int_equal(rp_preview_connections(f->pv), 1);

  // Never read again. The kernel's buffers take the first events; then
  // libuv queues them, up to the limit.
  size_t sent = 0;
  while (rp_preview_connections(f->pv) > 0 && sent < 2000000) {
    for (int i = 0; i < 1000; i++)
      rp_preview_changed(f->pv);
    sent += 1000;
    uv_run(&f->loop, UV_RUN_NOWAIT);
  }
  pump(f, 20);
  assert_int_equal(rp_preview_connections(f->pv), 0);
  close(fd);
  rp_buf_free(&got);
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

// The limit on all connections: 32 that have shown the token hold every
// place, and a 33rd is turned away.
static void test_connection_limit(void **state) {
  fixture *f = *state;
  // Each has sent its request line with the token, and not yet the end of
  // its headers.
  char line[256];
  snprintf(line, sizeof line, "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", f->token,
           f->port);
  int fds[32];
  for (int i = 0; i < 32; i++) {
    fds[i] = dial(f);
    send_str(fds[i], line);
    pump(f, 2);
  }
  uint64_t end = now_ms() + 8000;
  while (rp_preview_connections(f->pv) < 32 && now_ms() < end)
    pump(f, 1);
  assert_int_equal(rp_preview_connections(f->pv), 32);

  // The 33rd is closed without a word, its request unread, though it has
  // the token too.
  int extra = dial(f);
  char raw[sizeof line + 2];
  snprintf(raw, sizeof raw, "%s\r\n", line);
  send_str(extra, raw);
  rp_buf got = RP_BUF_INIT;
  assert_true(read_for(f, extra, &got, NULL, 8000));
  assert_int_equal(got.len, 0);
  close(extra);
  assert_int_equal(rp_preview_connections(f->pv), 32);
  // All 32 are still there to be answered.
  for (int i = 0; i < 32; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
  }

  // One of the 32 finishes; there is room again.
  send_str(fds[0], "\r\n");
  assert_true(read_for(f, fds[0], &got, NULL, 8000));
  assert_int_equal(status_of(got.data), 200);
  close(fds[0]);
  end = now_ms() + 8000;
  while (rp_preview_connections(f->pv) > 31 && now_ms() < end)
    pump(f, 1);
  assert_int_equal(rp_preview_connections(f->pv), 31);
  char *resp = exchange_str(f, raw);
  assert_int_equal(status_of(resp), 200);
  free(resp);
  rp_buf_free(&got);
  // The rest stay open for the server to close (see teardown).
  for (int i = 1; i < 32; i++)
    close(fds[i]);
}

// ---------------------------------------------------------------------------
// Connections without the token
// ---------------------------------------------------------------------------

// How a connection that never shows the token behaves: it says nothing; it
// trickles a request line a byte at a time; it sends a request line without
// the token, or with a wrong one, then trickles headers.
typedef enum flood_kind {
  FLOOD_SILENT,
  FLOOD_TRICKLE,
  FLOOD_NO_TOKEN,
  FLOOD_WRONG_TOKEN
} flood_kind;

enum {
  FLOOD = 50,
  FLOOD_STEP_MS = 20,    // each attacker sends a byte this often
  FLOOD_REDIAL_MS = 50,  // and comes back this long after being closed
  FLOOD_DEADLINE = 500,  // the unauthenticated header time of these tests
};

typedef struct attacker {
  int fd;          // -1: closed, waiting to come back
  uint64_t since;  // when it connected, or was closed
  size_t sent;     // bytes trickled
  size_t got;      // bytes the server sent it
} attacker;

typedef struct flood {
  fixture *f;
  flood_kind kind;
  attacker a[FLOOD];
  bool redial;
  uint64_t next_step;
  size_t closed;       // closings seen
  size_t by_deadline;  // of those, the ones after the whole deadline
  uint64_t max_life;   // the longest any attacker stayed connected
  size_t most_held;    // the most connections the server held at once
} flood;

static void attacker_dial(flood *fl, attacker *a) {
  fixture *f = fl->f;
  a->fd = dial(f);
  a->since = now_ms();
  a->sent = 0;
  char line[256];
  if (fl->kind == FLOOD_NO_TOKEN) {
    snprintf(line, sizeof line, "GET /n/jd-07/page HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", f->port);
    send_str(a->fd, line);
  } else if (fl->kind == FLOOD_WRONG_TOKEN) {
    char wrong[64];
    snprintf(wrong, sizeof wrong, "%s", f->token);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    snprintf(line, sizeof line, "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", wrong,
             f->port);
    send_str(a->fd, line);
  }
}

// One step of every attacker: notice the ones the server closed, bring
// them back (while `redial`), and trickle a byte on the others.
static void flood_step(flood *fl) {
  uint64_t now = now_ms();
  bool trickle = now >= fl->next_step;
  if (trickle) fl->next_step = now + FLOOD_STEP_MS;
  for (size_t i = 0; i < FLOOD; i++) {
    attacker *a = &fl->a[i];
    if (a->fd < 0) {
      if (fl->redial && now - a->since >= FLOOD_REDIAL_MS) attacker_dial(fl, a);
      continue;
    }
    char buf[512];
    ssize_t n = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) a->got += (size_t)n;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      uint64_t life = now - a->since;
      fl->closed++;
      if (life + 20 >= FLOOD_DEADLINE) fl->by_deadline++;
      if (life > fl->max_life) fl->max_life = life;
      close(a->fd);
      a->fd = -1;
      a->since = now;
      continue;
    }
    if (trickle) {
      // A request line that never ends, or a header that never does.
      char ch = fl->kind == FLOOD_TRICKLE ? "GET /"[a->sent < 5 ? a->sent : 4] : 'a';
      if (fl->kind == FLOOD_TRICKLE && a->sent >= 5) ch = 'a';
      if (fl->kind != FLOOD_TRICKLE && a->sent < 8) ch = "X-Slow: "[a->sent];
      if (fl->kind != FLOOD_SILENT && send(a->fd, &ch, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
        a->sent++;
    }
  }
}

// Runs the loop and the attackers for `ms` milliseconds, or until `fd`
// (when not -1) is closed or `needle` has arrived on it (when not NULL).
// Returns whether fd was closed.
static bool flood_run(flood *fl, int fd, rp_buf *out, const char *needle, int ms) {
  uint64_t end = now_ms() + (uint64_t)ms;
  while (now_ms() < end) {
    uv_run(&fl->f->loop, UV_RUN_NOWAIT);
    size_t held = rp_preview_connections(fl->f->pv);
    if (held > fl->most_held) fl->most_held = held;
    flood_step(fl);
    if (fd < 0) {
      poll(NULL, 0, 1);
      continue;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1) <= 0) continue;
    char buf[16384];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      rp_buf_add(out, buf, (size_t)n);
      if (needle && strstr(out->data, needle)) return false;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      return true;
    }
  }
  return false;
}

// 50 connections without the token, brought back as soon as the server
// closes them, hold no more than their share of the places, and the page
// still gets in at once: a request, its event stream, and a request whose
// headers take longer than the unauthenticated time. Once the attackers
// stop coming back, the last of them are closed by their deadline.
static void flood_test(fixture *f, flood_kind kind) {
  rp_preview_limits l = test_limits;
  l.unauth_header_timeout_ms = FLOOD_DEADLINE;
  restart(f, &l);
  flood *fl = calloc(1, sizeof *fl);
  fl->f = f;
  fl->kind = kind;
  fl->redial = true;
  for (size_t i = 0; i < FLOOD; i++)
    attacker_dial(fl, &fl->a[i]);
  flood_run(fl, -1, NULL, NULL, 300);
  // The share, and no more: the rest were closed to make room.
  assert_true(fl->most_held <= 8);
  assert_true(rp_preview_connections(f->pv) >= 1);
  assert_true(fl->closed >= FLOOD - 8);

  // A request with the token is answered at once, long before any
  // attacker's deadline could have made room.
  char raw[256];
  snprintf(raw, sizeof raw, "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
           f->token, f->port);
  rp_buf got = RP_BUF_INIT;
  uint64_t t0 = now_ms();
  int fd = dial(f);
  send_str(fd, raw);
  assert_true(flood_run(fl, fd, &got, NULL, 8000));
  uint64_t took = now_ms() - t0;
  if (took >= FLOOD_DEADLINE / 2) fail_msg("the page waited %llu ms", (unsigned long long)took);
  assert_int_equal(status_of(got.data), 200);
  assert_string_equal(body_of(got.data), note_html);
  close(fd);

  // So does the event stream, which then stays, and hears of changes.
  rp_buf_clear(&got);
  int events = dial(f);
  snprintf(raw, sizeof raw, "GET /_/events?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", f->token,
           f->port);
  send_str(events, raw);
  assert_false(flood_run(fl, events, &got, "retry: 2000\n\n", 8000));
  assert_int_equal(status_of(got.data), 200);
  rp_buf_clear(&got);
  rp_preview_changed(f->pv);
  assert_false(flood_run(fl, events, &got, "\n\n", 8000));
  assert_string_equal(got.data, "event: changed\ndata: 1\n\n");

  // A request whose line has the token has the full header time: its
  // headers may take longer than the unauthenticated deadline.
  rp_buf_clear(&got);
  fd = dial(f);
  snprintf(raw, sizeof raw, "GET /n/jd-07/state?t=%s HTTP/1.1\r\n", f->token);
  send_str(fd, raw);
  assert_false(flood_run(fl, fd, &got, NULL, FLOOD_DEADLINE * 3 / 2));
  snprintf(raw, sizeof raw, "Host: 127.0.0.1:%d\r\n\r\n", f->port);
  send_str(fd, raw);
  assert_true(flood_run(fl, fd, &got, NULL, 8000));
  assert_int_equal(status_of(got.data), 200);
  assert_non_null(strstr(body_of(got.data), "\"status\":\"ok\""));
  close(fd);

  // The attackers stop coming back. Those still connected are closed by
  // their deadline (a little later under a slow build), none much later.
  fl->redial = false;
  size_t before = fl->by_deadline;
  uint64_t end = now_ms() + 8000;
  for (;;) {
    size_t open = 0;
    for (size_t i = 0; i < FLOOD; i++)
      open += fl->a[i].fd >= 0;
    if (open == 0 || now_ms() > end) break;
    flood_run(fl, -1, NULL, NULL, 10);
  }
  for (size_t i = 0; i < FLOOD; i++)
    assert_int_equal(fl->a[i].fd, -1);
  assert_true(fl->by_deadline > before);
  if (fl->max_life > FLOOD_DEADLINE + 1500)
    fail_msg("an attacker stayed %llu ms", (unsigned long long)fl->max_life);
  // Nothing was ever sent to them: no refusal, no note.
  for (size_t i = 0; i < FLOOD; i++)
    assert_int_equal(fl->a[i].got, 0);
  assert_true(fl->most_held <= 8 + 3);

  // The stream is the one connection left, and still hears.
  pump(f, 20);
  assert_int_equal(rp_preview_connections(f->pv), 1);
  rp_buf_clear(&got);
  rp_preview_changed(f->pv);
  assert_false(read_for(f, events, &got, "\n\n", 8000));
  assert_string_equal(got.data, "event: changed\ndata: 2\n\n");
  close(events);
  rp_buf_free(&got);
  free(fl);
}

static void test_flood_silent(void **state) {
  flood_test(*state, FLOOD_SILENT);
}

static void test_flood_trickle(void **state) {
  flood_test(*state, FLOOD_TRICKLE);
}

static void test_flood_no_token(void **state) {
  flood_test(*state, FLOOD_NO_TOKEN);
}

static void test_flood_wrong_token(void **state) {
  flood_test(*state, FLOOD_WRONG_TOKEN);
}

static void test_slow_headers_timeout(void **state) {
  fixture *f = *state;
  rp_preview_limits l = test_limits;
  l.header_timeout_ms = 200;
  restart(f, &l);

  // Headers that never end.
  int fd = dial(f);
  send_str(fd, "GET /?t=");
  send_str(fd, f->token);
  send_str(fd, " HTTP/1.1\r\nHo");
  rp_buf got = RP_BUF_INIT;
  uint64_t t0 = now_ms();
  assert_true(read_for(f, fd, &got, NULL, 8000));
  assert_true(now_ms() - t0 >= 150);
  assert_int_equal(got.len, 0);
  close(fd);

  // A byte at a time is no better: the limit is on the whole, not the gap.
  fd = dial(f);
  const char *trickle = "GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  bool closed = false;
  t0 = now_ms();
  for (const char *p = trickle; *p && !closed; p++) {
    if (send(fd, p, 1, MSG_NOSIGNAL) != 1) break;
    closed = read_for(f, fd, &got, NULL, 40);
  }
  if (!closed) closed = read_for(f, fd, &got, NULL, 8000);
  assert_true(closed);
  assert_true(now_ms() - t0 < 4000);
  assert_int_equal(got.len, 0);
  close(fd);

  // A connection that says nothing.
  fd = dial(f);
  assert_true(read_for(f, fd, &got, NULL, 8000));
  close(fd);
  pump(f, 20);
  assert_int_equal(rp_preview_connections(f->pv), 0);
  rp_buf_free(&got);
}

// A client that sends its request and closes its side still gets the
// response.
static void test_half_close(void **state) {
  fixture *f = *state;
  int fd = dial(f);
  char raw[256];
  snprintf(raw, sizeof raw, "GET /n/jd-07/page?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
           f->token, f->port);
  send_str(fd, raw);
  shutdown(fd, SHUT_WR);
  rp_buf got = RP_BUF_INIT;
  assert_true(read_for(f, fd, &got, NULL, 8000));
  assert_int_equal(status_of(got.data), 200);
  assert_string_equal(body_of(got.data), note_html);
  close(fd);
  rp_buf_free(&got);
  pump(f, 20);
  assert_int_equal(rp_preview_connections(f->pv), 0);
}

// Closing with every kind of connection open: an event stream, one
// mid-request, one idle, one whose response is not read. Teardown checks
// that the loop has nothing left.
static void test_close_with_connections(void **state) {
  fixture *f = *state;
  rp_buf got = RP_BUF_INIT;
  int events = open_events(f, &got);
  int partial = dial(f);
  send_str(partial, "GET / HTTP/1.1\r\nHost: 127.0.0.1:");
  int idle = dial(f);
  size_t n = 1 << 20;
  char *big = calloc(1, n);
  memset(big, 'x', n);
  rp_preview_set_page(f->pv, "big", NULL, big, n);
  free(big);
  int unread = dial(f);
  char raw[256];
  snprintf(raw, sizeof raw, "GET /n/big/page?t=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", f->token,
           f->port);
  send_str(unread, raw);
  pump(f, 100);
  assert_int_equal(rp_preview_connections(f->pv), 4);
  stop(f);
  // The clients see their connections end.
  assert_true(read_for(f, events, &got, NULL, 1000));
  assert_true(read_for(f, partial, &got, NULL, 1000));
  assert_true(read_for(f, idle, &got, NULL, 1000));
  close(events);
  close(partial);
  close(idle);
  close(unread);
  rp_buf_free(&got);
}

static void test_port_in_use(void **state) {
  fixture *f = *state;
  rp_diags d = RP_DIAGS_INIT;
  assert_null(rp_preview_start(&f->loop, f->port, &d));
  char where[32];
  snprintf(where, sizeof where, "127.0.0.1:%d", f->port);
  assert_int_equal(d.errors, 1);
  char *msg = rp_diag_format(&d.items[0]);
  assert_non_null(strstr(msg, where));
  assert_non_null(strstr(msg, "error: cannot serve the preview: "));
  free(msg);
  rp_diags_clear(&d);
  assert_null(rp_preview_start(&f->loop, 70000, &d));
  assert_int_equal(d.errors, 1);
  rp_diags_free(&d);
  // Nothing was left on the loop: teardown's uv_loop_close would fail.
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_url_and_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_token_required, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_origin_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
      cmocka_unit_test_setup_teardown(test_request_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_traversal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_note_served_exactly, setup, teardown),
      cmocka_unit_test_setup_teardown(test_note_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_index, setup, teardown),
      cmocka_unit_test_setup_teardown(test_error_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_events, setup, teardown),
      cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_event_reader_dropped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flood_silent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flood_trickle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flood_no_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flood_wrong_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_headers_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_with_connections, setup, teardown),
      cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
