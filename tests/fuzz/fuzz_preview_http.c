// Fuzzes the live preview's request handling, through real connections.
//
// core/serve/ reads requests only from the TCP connections it accepts (it has
// no entry point that takes raw bytes), so one server runs for the whole
// process on 127.0.0.1 and a port the system picks, on a loop of its own,
// serving a few notes (one broken) with titles and errors full of markup.
// Each input is one to four requests, separated by NUL bytes, each sent on
// its own connection; every `$PORT` and `$TOKEN` in the input is replaced by
// the server's port and token first, so that the fuzzer can get past the
// gate (Host, token) and into the routes. The client half-closes each
// connection after its request, reads until the server closes, and the loop
// runs until every connection is gone; a "changed" event goes out midway,
// to whatever event streams the input opened. Any connection still open
// after a few seconds is a finding (the server would hold it).
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "fuzz_common.h"
#include "serve/internal.h"
#include "serve/preview.h"
#include "util/buf.h"

enum {
  INPUT_CAP = 16 * 1024,
  MAX_REQUESTS = 4,
  DEADLINE_MS = 5000,
};

static uv_loop_t loop;
static rp_preview *pv;
static char port[8];
static char token[64];
static struct sockaddr_in addr;

// Short timeouts: no input should need them (every client half-closes),
// and a connection kept past DEADLINE_MS is reported, not waited for. Three
// connections at once, at most two of them without the token, so that a
// request without it closes an older one, and a fourth request is turned
// away when three have the token.
static const rp_preview_limits limits = {
    .max_connections = 3,
    .max_unauthenticated = 2,
    .header_timeout_ms = 3000,
    .unauth_header_timeout_ms = 1000,
    .write_timeout_ms = 3000,
    .linger_ms = 3000,
    .heartbeat_ms = 60000,
    .max_event_backlog = 256,
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (uv_loop_init(&loop) != 0) abort();
  rp_diags d = RP_DIAGS_INIT;
  pv = rp_preview_start_limits(&loop, 0, &limits, &d);
  if (!pv) {
    rp_diags_print(&d, stderr);
    abort();
  }
  rp_diags_free(&d);
  int p;
  if (sscanf(rp_preview_url(pv), "http://127.0.0.1:%d/?t=%63s", &p, token) != 2) abort();
  snprintf(port, sizeof port, "%d", p);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)p);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  static const char html[] = "<!doctype html><title>x</title><p>SESSION TEXT</p>\n";
  rp_preview_set_page(pv, "jd-07", "Session 7 <b>&amp;</b> \"J.D.\"", html, sizeof html - 1);
  rp_preview_set_page(pv, "a.b_c-1", NULL, NULL, 0);
  rp_preview_set_error(pv, "broken", "Broken 'one'",
                       "s.yaml:3:7: error: <script>alert(1)</script> & \"more\"\n\x01\t\\");
  rp_preview_set_error(pv, "no-errors", NULL, NULL);
  // Ignored: not valid ids.
  rp_preview_set_page(pv, "..", "t", html, sizeof html - 1);
  rp_preview_set_page(pv, "a/b", "t", html, sizeof html - 1);
  return 0;
}

// The input with $PORT and $TOKEN replaced.
static void expand(rp_buf *out, const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    if (n - i >= 5 && memcmp(s + i, "$PORT", 5) == 0) {
      rp_buf_adds(out, port);
      i += 5;
    } else if (n - i >= 6 && memcmp(s + i, "$TOKEN", 6) == 0) {
      rp_buf_adds(out, token);
      i += 6;
    } else {
      rp_buf_addc(out, s[i++]);
    }
  }
}

static int client_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) abort();
  // To loopback this completes at once or very soon (the listener's backlog
  // takes it; the server accepts it on a later loop turn). Waiting with
  // poll, not a blocking connect, lets libFuzzer's timer signals through.
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      perror("connect");
      abort();
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    uint64_t start = now_ms();
    int err = 0;
    socklen_t len = sizeof err;
    while (poll(&p, 1, 100) <= 0) {
      if (now_ms() - start > DEADLINE_MS) {
        fprintf(stderr, "fuzz: cannot connect to the preview in %d ms\n", DEADLINE_MS);
        abort();
      }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      fprintf(stderr, "fuzz: connect: %s\n", strerror(err));
      abort();
    }
  }
  return fd;
}

// Writes what the socket takes now; returns how much is left.
static size_t send_some(int fd, const char *s, size_t *off, size_t n) {
  while (*off < n) {
    ssize_t w = send(fd, s + *off, n - *off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      *off = n;  // the server has closed: nothing more to send
      break;
    }
    *off += (size_t)w;
  }
  return n - *off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  rp_buf req[MAX_REQUESTS];
  int fd[MAX_REQUESTS];
  size_t sent[MAX_REQUESTS];
  bool shut[MAX_REQUESTS];
  size_t nreq = 0;
  const char *p = (const char *)data, *end = p + size;
  do {
    const char *nul = memchr(p, 0, (size_t)(end - p));
    const char *stop = nul && nreq + 1 < MAX_REQUESTS ? nul : end;
    req[nreq] = (rp_buf)RP_BUF_INIT;
    expand(&req[nreq], p, (size_t)(stop - p));
    fd[nreq] = client_connect();
    sent[nreq] = 0;
    shut[nreq] = false;
    nreq++;
    p = stop + 1;
  } while (p < end);

  uint64_t start = now_ms();
  bool changed = false;
  size_t open = nreq;
  for (int turn = 0;; turn++) {
    struct pollfd pfd[MAX_REQUESTS + 1];
    size_t npfd = 0;
    for (size_t i = 0; i < nreq; i++) {
      if (fd[i] < 0) continue;
      if (!shut[i] && send_some(fd[i], req[i].data ? req[i].data : "", &sent[i], req[i].len) == 0) {
        shutdown(fd[i], SHUT_WR);
        shut[i] = true;
      }
      char buf[4096];
      ssize_t r;
      while ((r = recv(fd[i], buf, sizeof buf, 0)) > 0) {
      }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        close(fd[i]);
        fd[i] = -1;
        open--;
        continue;
      }
      pfd[npfd++] = (struct pollfd){.fd = fd[i], .events = POLLIN | (shut[i] ? 0 : POLLOUT)};
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    if (!changed && turn == 2) {
      rp_preview_changed(pv);
      changed = true;
    }
    if (open == 0 && rp_preview_connections(pv) == 0) break;
    if (now_ms() - start > DEADLINE_MS) {
      fprintf(stderr, "fuzz: %zu connection(s) still open after %d ms\n",
              rp_preview_connections(pv), DEADLINE_MS);
      abort();
    }
    pfd[npfd++] = (struct pollfd){.fd = uv_backend_fd(&loop), .events = POLLIN};
    int timeout = uv_backend_timeout(&loop);
    poll(pfd, npfd, timeout < 0 || timeout > 10 ? 10 : timeout);
  }
  for (size_t i = 0; i < nreq; i++)
    rp_buf_free(&req[i]);
  return 0;
}
