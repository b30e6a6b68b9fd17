// What the live preview serves (see preview.h for the addresses): the notes
// kept in memory by id, the index, each note's page (a frame of the note,
// sandboxed, with its errors shown in place of it while it is broken), the
// note's HTML as set, its state as JSON, the script and style sheet, and the
// Server-Sent Events that tell open pages something changed.
//
// Requests reach rp_serve_route only after the gate (gate.c) has checked
// them. Paths are matched as literal strings, never decoded and never mapped
// to files. Everything a note's owner wrote (titles, errors) is escaped for
// where it goes: HTML text, or JSON that is inert whatever reads it; ids are
// letters, digits, '-', '_' and '.', safe as they are in a URL and in HTML.
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/internal.h"
#include "serve/preview.h"
#include "util/buf.h"

enum { MAX_ID = 128 };

// Content-Security-Policy of each kind of page. The preview's own pages
// load their script, style sheet and frame from the preview and nothing
// else, and no other site may frame them. A note's page (and the stand-in
// for a broken one) repeats the policy the note's HTML carries in its meta
// tag: no script, nothing loaded.
static const char csp_shell[] =
    "default-src 'none'; script-src 'self'; connect-src 'self'; frame-src 'self'; "
    "style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
static const char csp_note[] =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

// ---------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------

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

static bool slice_is(const char *s, size_t n, const char *lit) {
  return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

// ---------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------

typedef rp_serve_note note;

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

static int id_cmp(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  int r = memcmp(a, b, an < bn ? an : bn);
  if (r) return r;
  return an < bn ? -1 : an > bn;
}

// The index of the note `id` (n bytes), or where it would go.
static size_t note_index(const rp_serve_pages *pg, const char *id, size_t n, bool *found) {
  size_t lo = 0, hi = pg->nnotes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = id_cmp(id, n, pg->notes[mid]->id);
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

static note *note_find(const rp_serve_pages *pg, const char *id, size_t n) {
  bool found;
  size_t i = note_index(pg, id, n, &found);
  return found ? pg->notes[i] : NULL;
}

// The note `id`, made empty if it is new; NULL for an id outside the
// allowed set.
static note *note_get(rp_serve_pages *pg, const char *id) {
  if (!rp_preview_id_valid(id)) return NULL;
  size_t n = strlen(id);
  bool found;
  size_t i = note_index(pg, id, n, &found);
  if (found) return pg->notes[i];
  if (pg->nnotes == pg->cap) {
    pg->cap = pg->cap ? 2 * pg->cap : 16;
    pg->notes = rp_xrealloc(pg->notes, pg->cap * sizeof *pg->notes);
  }
  memmove(pg->notes + i + 1, pg->notes + i, (pg->nnotes - i) * sizeof *pg->notes);
  note *nt = rp_xcalloc(1, sizeof *nt);
  nt->id = rp_xstrndup(id, n);
  pg->notes[i] = nt;
  pg->nnotes++;
  return nt;
}

static void note_free(note *nt) {
  free(nt->id);
  free(nt->title);
  free(nt->html);
  free(nt->errors);
  free(nt);
}

void rp_serve_pages_free(rp_serve_pages *pg) {
  for (size_t i = 0; i < pg->nnotes; i++)
    note_free(pg->notes[i]);
  free(pg->notes);
  pg->notes = NULL;
  pg->nnotes = pg->cap = 0;
}

static char *dup_or_null(const char *s) {
  return s ? rp_xstrndup(s, strlen(s)) : NULL;
}

void rp_preview_set_page(rp_preview *pv, const char *id, const char *title, const char *html,
                         size_t len) {
  if (pv->closing) return;
  note *nt = note_get(&pv->pages, id);
  if (!nt) return;
  free(nt->title);
  free(nt->html);
  free(nt->errors);
  nt->title = dup_or_null(title);
  nt->html = rp_xstrndup(html ? html : "", html ? len : 0);
  nt->len = html ? len : 0;
  nt->errors = NULL;
  nt->version = ++pv->pages.versions;
}

void rp_preview_set_error(rp_preview *pv, const char *id, const char *title, const char *errors) {
  if (pv->closing) return;
  note *nt = note_get(&pv->pages, id);
  if (!nt) return;
  free(nt->title);
  free(nt->html);
  free(nt->errors);
  nt->title = dup_or_null(title);
  nt->html = NULL;
  nt->len = 0;
  nt->errors = rp_xstrndup(errors ? errors : "", errors ? strlen(errors) : 0);
  nt->version = ++pv->pages.versions;
}

void rp_preview_remove(rp_preview *pv, const char *id) {
  if (pv->closing || !rp_preview_id_valid(id)) return;
  rp_serve_pages *pg = &pv->pages;
  bool found;
  size_t i = note_index(pg, id, strlen(id), &found);
  if (!found) return;
  note_free(pg->notes[i]);
  memmove(pg->notes + i, pg->notes + i + 1, (pg->nnotes - i - 1) * sizeof *pg->notes);
  pg->nnotes--;
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

// The stream opens with how long the browser waits before it reconnects.
static void start_events(rp_serve_conn *c) {
  static const char first[] = "retry: 2000\n\n";
  rp_serve_stream_open(c, first, sizeof first - 1);
}

void rp_preview_changed(rp_preview *pv) {
  if (pv->closing) return;
  char text[64];
  int n = snprintf(text, sizeof text, "event: changed\ndata: %llu\n\n",
                   (unsigned long long)++pv->pages.changes);
  rp_serve_broadcast(pv, text, (size_t)n);
}

void rp_serve_heartbeat(rp_preview *pv) {
  static const char beat[] = ": heartbeat\n\n";
  rp_serve_broadcast(pv, beat, sizeof beat - 1);
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

// The script and the style sheet, byte for byte as in the source tree.
static void send_asset(rp_serve_conn *c, const char *path, const char *type) {
  for (size_t i = 0; i < rp_serve_nassets; i++) {
    const rp_builtin_file *f = &rp_serve_assets[i];
    if (strcmp(f->path, path) == 0) {
      rp_serve_respond(c, 200, type, rp_serve_csp_none, NULL, (const char *)f->data, f->len);
      return;
    }
  }
  rp_serve_refuse(c, 404);  // not embedded: the build lists both files, so never
}

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

static void send_html(rp_serve_conn *c, const char *csp, rp_buf *b) {
  rp_serve_respond(c, 200, "text/html; charset=utf-8", csp, NULL, b->data, b->len);
  rp_buf_free(b);
}

static void page_index(const rp_preview *pv, rp_serve_conn *c) {
  const rp_serve_pages *pg = &pv->pages;
  rp_buf b = RP_BUF_INIT;
  page_head(&b, pv, "Rapport preview");
  rp_buf_adds(&b,
              "<body>\n<header><strong>Rapport preview</strong>"
              "<span id=\"rp-status\"></span></header>\n<main>\n");
  if (pg->nnotes == 0) {
    rp_buf_adds(&b, "<p>No notes yet.</p>\n");
  } else {
    rp_buf_adds(&b,
                "<table>\n<thead><tr><th>Note</th><th>Title</th><th>Status</th></tr></thead>\n"
                "<tbody>\n");
    for (size_t i = 0; i < pg->nnotes; i++) {
      const note *nt = pg->notes[i];
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
static void page_note_shell(const rp_preview *pv, rp_serve_conn *c, const note *nt) {
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
static void page_note(rp_serve_conn *c, const note *nt) {
  if (nt->html) {
    rp_serve_respond(c, 200, "text/html; charset=utf-8", csp_note, NULL, nt->html, nt->len);
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

static void page_state(rp_serve_conn *c, const note *nt) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "{\"status\":\"%s\",\"version\":%llu,\"title\":", nt->errors ? "error" : "ok",
                (unsigned long long)nt->version);
  add_json_string(&b, nt->title ? nt->title : "");
  if (nt->errors) {
    rp_buf_adds(&b, ",\"errors\":");
    add_json_string(&b, nt->errors);
  }
  rp_buf_adds(&b, "}\n");
  rp_serve_respond(c, 200, "application/json", rp_serve_csp_none, NULL, b.data, b.len);
  rp_buf_free(&b);
}

void rp_serve_route(rp_preview *pv, rp_serve_conn *c, const char *path, size_t n) {
  if (slice_is(path, n, "/")) {
    page_index(pv, c);
  } else if (slice_is(path, n, "/_/events")) {
    start_events(c);
  } else if (slice_is(path, n, "/_/preview.js")) {
    send_asset(c, "core/serve/preview.js", "text/javascript; charset=utf-8");
  } else if (slice_is(path, n, "/_/preview.css")) {
    send_asset(c, "core/serve/preview.css", "text/css; charset=utf-8");
  } else if (n > 3 && memcmp(path, "/n/", 3) == 0) {
    const char *id = path + 3;
    const char *slash = memchr(id, '/', n - 3);
    size_t id_len = slash ? (size_t)(slash - id) : n - 3;
    const char *rest = id + id_len;
    size_t rest_len = n - 3 - id_len;
    const note *nt = id_valid(id, id_len) ? note_find(&pv->pages, id, id_len) : NULL;
    if (!nt)
      rp_serve_refuse(c, 404);
    else if (rest_len == 0)
      page_note_shell(pv, c, nt);
    else if (slice_is(rest, rest_len, "/page"))
      page_note(c, nt);
    else if (slice_is(rest, rest_len, "/state"))
      page_state(c, nt);
    else
      rp_serve_refuse(c, 404);
  } else {
    rp_serve_refuse(c, 404);
  }
}
