// The live preview: an HTTP server on the watch loop that shows the notes
// `rapport watch --serve` keeps rendered, and tells open pages to refresh.
// This header is the whole of what the watch engine and command use; it is
// the manual of the module (core/serve/: gate.c is the HTTP server and its
// checks, pages.c what it serves).
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
// Connections (32 at once) are of two kinds. One whose request line has
// carried the token is the page's: it has 5 s to finish its headers. Any
// other has 1 s, and all of those together hold at most 8 of the 32
// places: a new connection that finds them taken closes the oldest of them.
// What a client sends with its connection is read as soon as it is
// accepted, so a browser's request, sent at once, shows its token before a
// newer connection could take its place. Connections without the token,
// however many and however slow, cannot keep the page (or its event
// stream) out; a new connection is turned away only when all 32 places are
// held by connections that showed the token.
//
// Everything here runs on the loop's thread; no call blocks.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

// libuv's loop, declared rather than included: only the serve and watch
// code include uv.h, and a caller only passes its loop through.
typedef struct uv_loop_s uv_loop_t;

typedef struct rp_preview rp_preview;

// What it serves, every address carrying ?t=TOKEN:
//   /             the index: each note's id, title and status (ok or error),
//                 reloaded by its script whenever something changes
//   /n/ID         a note's page: a frame of /n/ID/page, and in place of it,
//                 while the note is broken, its errors; kept current by the
//                 script without anyone touching the page
//   /n/ID/page    the note's HTML exactly as set (or, while it is broken, a
//                 plain page of its errors)
//   /n/ID/state   {"status":"ok"|"error","version":N,"title":...,"errors":...}
//   /_/events     Server-Sent Events: `event: changed` with a counter, and a
//                 heartbeat comment every 15 s
//   /_/preview.js, /_/preview.css   the pages' script and style sheet
// An unknown id is 404. Each response closes its connection, except the
// event stream's.

// Starts serving on 127.0.0.1:port (0: a free port the system picks) on
// `loop`. Returns NULL after reporting to diags (as "127.0.0.1:PORT: error:
// cannot serve the preview: ...") when the port cannot be bound (a port in
// use fails before any handle is made, so nothing is left on the loop).
// The server lives until rp_preview_close.
rp_preview *rp_preview_start(uv_loop_t *loop, int port, rp_diags *diags);

// The address to open, with its token: "http://127.0.0.1:PORT/?t=TOKEN".
// Owned by pv; valid until rp_preview_close.
const char *rp_preview_url(const rp_preview *pv);

// Whether `id` may name a note: 1 to 128 of A-Z a-z 0-9 '-' '_' '.', and
// neither "." nor "..". The functions below ignore any other id.
bool rp_preview_id_valid(const char *id);

// A note's current state, by id (a short name such as "jd-07", unique in
// the watch; shown in the index and used in URLs, so only letters, digits,
// '-', '_' and '.'). `title` is for the index. Setting a page clears the
// error; setting an error keeps no page (the browser shows the error in
// place of the note until a good render replaces it). The strings are
// copied; title may be NULL (none), html may be NULL when len is 0, errors
// (the diagnostics as the terminal shows them, one per line) may be NULL.
// Pages already open learn of the new state at the next
// rp_preview_changed. Calls made after rp_preview_close (before its `done`)
// are ignored.
void rp_preview_set_page(rp_preview *pv, const char *id, const char *title, const char *html,
                         size_t len);
void rp_preview_set_error(rp_preview *pv, const char *id, const char *title, const char *errors);
void rp_preview_remove(rp_preview *pv, const char *id);

// After a rebuild: tells every open page (and the index) that something
// changed, so they fetch what concerns them again. Call it once per
// rebuild, after the set_page, set_error and remove calls of that rebuild.
// An event stream whose client has fallen 64 KiB behind is dropped (the
// browser reconnects).
void rp_preview_changed(rp_preview *pv);

// Closes the listener and every connection; `done` (may be NULL) is called
// (on the loop) once every handle is closed, and pv is freed just before.
// Call it once; pv must not be used after it.
void rp_preview_close(rp_preview *pv, void (*done)(void *ud), void *ud);
