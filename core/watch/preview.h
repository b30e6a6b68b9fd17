// The live preview: an HTTP server on the watch loop that shows the notes
// `rapport watch --serve` keeps rendered, and tells open pages to refresh.
//
// Security (PRODUCT.md §8, §9): it listens on 127.0.0.1 only and answers
// only requests that carry the random token of the URL it prints, whose
// Host is exactly 127.0.0.1:PORT or localhost:PORT (DNS rebinding), and
// whose Origin, when present, is the preview's own. GET and HEAD only; no
// CORS headers; Cross-Origin-Resource-Policy: same-origin; small header
// limits, few connections, timeouts. Notes are served from memory by id:
// no URL maps to the file system. The reload channel (Server-Sent Events)
// carries no note data, only that something changed.
//
// Everything here runs on the loop's thread; no call blocks.
#pragma once

#include <stddef.h>
#include <uv.h>

#include "util/error.h"

typedef struct rp_preview rp_preview;

// Starts serving on 127.0.0.1:port (0: a free port the system picks) on
// `loop`. Returns NULL after reporting to diags when the port cannot be
// bound.
rp_preview *rp_preview_start(uv_loop_t *loop, int port, rp_diags *diags);

// The address to open, with its token: "http://127.0.0.1:PORT/?t=TOKEN".
const char *rp_preview_url(const rp_preview *pv);

// A note's current state, by id (a short name such as "jd-07", unique in
// the watch; shown in the index and used in URLs, so only letters, digits,
// '-', '_' and '.'). `title` is for the index. Setting a page clears the
// error; setting an error keeps no page (the browser shows the error in
// place of the note until a good render replaces it). The strings are
// copied.
void rp_preview_set_page(rp_preview *pv, const char *id, const char *title, const char *html,
                         size_t len);
void rp_preview_set_error(rp_preview *pv, const char *id, const char *title,
                          const char *errors);
void rp_preview_remove(rp_preview *pv, const char *id);

// After a rebuild: tells every open page (and the index) that something
// changed, so they fetch what concerns them again.
void rp_preview_changed(rp_preview *pv);

// Closes the listener and every connection; `done` is called (on the loop)
// once every handle is closed. pv is freed then.
void rp_preview_close(rp_preview *pv, void (*done)(void *ud), void *ud);
