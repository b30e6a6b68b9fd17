// Output formats of a note (see output.h): the Markdown escaper, and HTML and
// plain text made from the finished Markdown with cmark-gfm.
//
// cmark-gfm parses; its HTML renderer writes the HTML after a few changes to
// the tree (raw HTML and images made inert, see prepare_for_html). The plain
// text is our own walk of the same tree, because cmark-gfm's plaintext
// renderer keeps Markdown escapes in table cells, drops raw HTML and mixes
// list markers; a note pasted into a health record must read as typed.
#include "notes/output.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>

#include "util/dynlib.h"

// cmark-gfm and its extensions are opened when a note is first turned into
// HTML or plain text (util/dynlib.h): a Markdown or JSON note never loads
// them. parse() opens them with an error for the user; every other call
// comes after it.
// clang-format off
#define CMARK_FUNCTIONS(X) \
  X(cmark_find_syntax_extension) \
  X(cmark_iter_free) \
  X(cmark_iter_get_node) \
  X(cmark_iter_new) \
  X(cmark_iter_next) \
  X(cmark_node_append_child) \
  X(cmark_node_first_child) \
  X(cmark_node_free) \
  X(cmark_node_get_list_delim) \
  X(cmark_node_get_list_start) \
  X(cmark_node_get_list_tight) \
  X(cmark_node_get_list_type) \
  X(cmark_node_get_literal) \
  X(cmark_node_get_title) \
  X(cmark_node_get_type) \
  X(cmark_node_get_type_string) \
  X(cmark_node_get_url) \
  X(cmark_node_new_with_mem) \
  X(cmark_node_replace) \
  X(cmark_node_set_list_tight) \
  X(cmark_node_set_literal) \
  X(cmark_node_set_title) \
  X(cmark_node_set_url) \
  X(cmark_parser_attach_syntax_extension) \
  X(cmark_parser_feed) \
  X(cmark_parser_finish) \
  X(cmark_parser_free) \
  X(cmark_parser_get_syntax_extensions) \
  X(cmark_parser_new_with_mem) \
  X(cmark_render_html_with_mem)
// clang-format on
// clang-format off
#define CMARK_EXT_FUNCTIONS(X) \
  X(cmark_gfm_core_extensions_ensure_registered) \
  X(cmark_gfm_extensions_get_tasklist_item_checked)
// clang-format on

RP_DYNLIB_STATIC(cmark, RP_CMARK_SONAME, "cmark-gfm", CMARK_FUNCTIONS)
RP_DYNLIB_STATIC(cmark_ext, RP_CMARK_EXT_SONAME, "the cmark-gfm extensions", CMARK_EXT_FUNCTIONS)

// ---------------------------------------------------------------------------
// Markdown escaping
// ---------------------------------------------------------------------------

// Bytes that are backslash-escaped wherever they appear.
static const bool md_always[256] = {
    ['\\'] = true, ['`'] = true, ['*'] = true, ['_'] = true, ['~'] = true,
    ['['] = true,  [']'] = true, ['<'] = true, ['|'] = true,
};

// Bytes that open a block only at the start of a line: the first byte of a
// value, and of each line of a value written over several lines.
static const bool md_at_start[256] = {
    ['>'] = true, ['-'] = true, ['+'] = true, ['='] = true, [':'] = true, ['#'] = true,
};

static bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_blank(unsigned char c) {
  return c == ' ' || c == '\t';
}

// Whether byte i of the value needs changing (the cases of output.h). In a
// heading, `#` is escaped everywhere: a run of them at its end would close
// it.
static bool md_special(const unsigned char *p, size_t len, size_t i, bool all_digits,
                       bool heading) {
  unsigned char c = p[i];
  // `_` between two letters or digits cannot open or close emphasis
  // (CommonMark's flanking rules), so snake_case stays readable.
  if (c == '_') return !(i > 0 && is_alnum(p[i - 1]) && i + 1 < len && is_alnum(p[i + 1]));
  if (md_always[c]) return true;
  if (c < 0x20) return c != '\t';
  if (i == 0 && md_at_start[c]) return true;
  if (c == '#') return heading;
  if (c == '&') return i + 1 == len || is_alnum(p[i + 1]) || p[i + 1] == '#';
  if (c == '.' || c == ')') return all_digits && (i + 1 == len || is_blank(p[i + 1]));
  return false;
}

static void add_entity(rp_buf *out, unsigned c) {
  rp_buf_printf(out, "&#%u;", c);
}

// If the `avail` bytes at q start with a white space character in
// CommonMark's sense (space, tab, or a Unicode space separator such as
// U+00A0), returns its length and sets *cp; otherwise returns 0.
static size_t space_len(const unsigned char *q, size_t avail, unsigned *cp) {
  if (avail >= 1 && is_blank(q[0])) {
    *cp = q[0];
    return 1;
  }
  if (avail >= 2 && q[0] == 0xC2 && q[1] == 0xA0) {
    *cp = 0xA0;
    return 2;
  }
  if (avail < 3) return 0;
  unsigned c = ((q[0] & 0x0Fu) << 12) | ((q[1] & 0x3Fu) << 6) | (q[2] & 0x3Fu);
  if ((q[0] & 0xF0) != 0xE0 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80) return 0;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000) {
    *cp = c;
    return 3;
  }
  return 0;
}

// Escapes `len` bytes as text on one physical line (the rules of output.h;
// a line break in them becomes an entity), in a heading or not.
static void escape_line(rp_buf *out, const char *s, size_t len, bool heading) {
  const unsigned char *p = (const unsigned char *)s;
  if (len == 0) return;
  rp_buf_grow(out, len + 8);

  // White space at either end: Markdown strips it, and emphasis around the
  // value would not close next to it.
  size_t i = 0, trail = len, n;
  unsigned cp;
  while ((n = space_len(p + i, len - i, &cp)) > 0) {
    add_entity(out, cp);
    i += n;
  }
  for (bool more = true; more && trail > i;) {
    more = false;
    for (size_t k = 1; k <= 3 && k <= trail - i; k++) {
      if (space_len(p + trail - k, k, &cp) == k) {
        trail -= k;
        more = true;
        break;
      }
    }
  }
  size_t lead = i;

  if (lead == 0 && len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
    // A byte-order mark at the very start of the document is dropped by the
    // parser; as an entity it is text like any other.
    rp_buf_adds(out, "&#65279;");
    i = 3;
  }
  // Whether every byte before i is an ASCII digit (an ordered-list number).
  bool all_digits = i == 0;
  while (i < trail) {
    size_t run = i;
    while (i < trail && !md_special(p, len, i, all_digits, heading)) {
      all_digits = all_digits && is_digit(p[i]);
      i++;
    }
    rp_buf_add(out, (const char *)p + run, i - run);
    if (i == trail) break;
    if (p[i] < 0x20 || (p[i] == '\\' && i + 1 == len)) {
      // A final backslash as `\\` would still escape a `|` that follows
      // in the template: GFM splits table cells before reading escapes.
      add_entity(out, p[i]);
    } else {
      rp_buf_addc(out, '\\');
      rp_buf_addc(out, (char)p[i]);
    }
    all_digits = false;
    i++;
  }
  for (i = trail; i < len; i += n) {
    n = space_len(p + i, len - i, &cp);
    if (n == 0) {  // cannot happen: the loop above found white space here
      n = 1;
      cp = p[i];
    }
    add_entity(out, cp);
  }
}

// The line of `out` that the value continues, after blanks and the markers
// of the blocks it is inside (block quotes `>`, list items `-` `+` `*` and
// `1.` `1)`): `|` for a table row, `#` for an ATX heading, 0 for any other
// line. A line break cannot stand in a row or a heading, so a value there
// stays on one line; in a heading a run of `#` at the end would close it.
static char line_kind(const rp_buf *out) {
  const char *d = out->data;
  size_t i = out->len;
  while (i > 0 && d[i - 1] != '\n')
    i--;
  for (;;) {
    while (i < out->len && is_blank((unsigned char)d[i]))
      i++;
    if (i >= out->len) return 0;
    size_t j = i;
    if (d[j] == '>') {
      i = j + 1;
      continue;
    }
    if (d[j] == '-' || d[j] == '+' || d[j] == '*') {
      j++;
    } else {
      while (j < out->len && j - i < 9 && is_digit((unsigned char)d[j]))
        j++;
      if (j == i || j >= out->len || (d[j] != '.' && d[j] != ')')) break;
      j++;
    }
    if (j >= out->len || !is_blank((unsigned char)d[j])) break;  // not a list marker
    i = j;
  }
  return d[i] == '|' || d[i] == '#' ? d[i] : 0;
}

void rp_output_escape_markdown(rp_buf *out, const char *s, size_t len) {
  if (len == 0) return;
  char kind = line_kind(out);
  if (kind || !memchr(s, '\n', len)) {
    escape_line(out, s, len, kind == '#');
    return;
  }
  // Line breaks at the start or the end of the value would be a hard break
  // at the edge of a paragraph, where Markdown shows a backslash instead.
  size_t from = 0, to = len;
  while (from < len && s[from] == '\n')
    from++;
  while (to > from && s[to - 1] == '\n')
    to--;
  for (size_t i = 0; i < from; i++)
    add_entity(out, '\n');
  // Each line escaped as a value of its own (so its start is escaped where
  // it could open a block, and white space at its ends kept), joined by
  // hard breaks: the rest of the paragraph continues it, lazily inside a
  // list item or block quote.
  size_t start = from;
  for (size_t i = from; i <= to; i++) {
    if (i < to && s[i] != '\n') continue;
    escape_line(out, s + start, i - start, false);
    if (i < to) rp_buf_adds(out, "\\\n");
    start = i + 1;
  }
  for (size_t i = to; i < len; i++)
    add_entity(out, '\n');
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

// cmark-gfm allocates through the core's checked allocators: they count for
// fault injection (util/buf.h), and a failure ends the run through rp_oom()
// as cmark-gfm's own allocator would end it with abort(). Every parser, node
// and rendering of this file uses it; only the extension registry, made once
// per process, keeps cmark-gfm's default.
static void *cmark_x_calloc(size_t n, size_t size) {
  return rp_xcalloc(n, size);
}

static void *cmark_x_realloc(void *p, size_t n) {
  return rp_xrealloc(p, n);
}

static cmark_mem cmark_x_mem = {cmark_x_calloc, cmark_x_realloc, free};

static pthread_once_t extensions_once = PTHREAD_ONCE_INIT;

// cmark-gfm's registration sets a plain global flag: run it exactly once,
// whichever rendering thread gets here first.
static void extensions_register(void) {
  cmark_ext()->cmark_gfm_core_extensions_ensure_registered();
}

// GFM's extended autolinks are left out on purpose (see output.h).
static const char *const extension_names[] = {"table", "tasklist", "strikethrough"};

// Single tildes strike through by default; a note's template text uses "~"
// for "about" far more often than for deletions.
enum { PARSE_OPTIONS = CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE };

// Parses `md` with the extensions attached. Returns RP_OK and sets *doc and
// *parser (the caller frees both), or a negative status after adding a
// diagnostic.
static int parse(const char *md, size_t len, cmark_node **doc, cmark_parser **parser,
                 rp_diags *diags) {
  if (rp_dynlib_open(&cmark_lib, diags) != RP_OK || rp_dynlib_open(&cmark_ext_lib, diags) != RP_OK)
    return RP_EIO;
  pthread_once(&extensions_once, extensions_register);
  cmark_parser *p = cmark()->cmark_parser_new_with_mem(PARSE_OPTIONS, &cmark_x_mem);
  for (size_t i = 0; i < sizeof extension_names / sizeof *extension_names; i++) {
    cmark_syntax_extension *ext = cmark()->cmark_find_syntax_extension(extension_names[i]);
    if (!ext) {
      rp_diags_add(diags, RP_SEV_ERROR, "-", 0, 0,
                   "cannot render: the cmark-gfm extension '%s' is missing", extension_names[i]);
      cmark()->cmark_parser_free(p);
      return RP_ENOTFOUND;
    }
    cmark()->cmark_parser_attach_syntax_extension(p, ext);
  }
  if (len) cmark()->cmark_parser_feed(p, md ? md : "", len);
  *doc = cmark()->cmark_parser_finish(p);
  if (!*doc) {
    rp_diags_add(diags, RP_SEV_ERROR, "-", 0, 0, "cannot render: %s", rp_status_text(RP_ENOMEM));
    cmark()->cmark_parser_free(p);
    return RP_ENOMEM;
  }
  *parser = p;
  return RP_OK;
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

// Collects the nodes of `doc` that prepare_for_html changes: the tree cannot
// be changed under a running iterator.
static void collect_nodes(cmark_node *doc, rp_buf *nodes) {
  cmark_iter *it = cmark()->cmark_iter_new(doc);
  cmark_event_type ev;
  while ((ev = cmark()->cmark_iter_next(it)) != CMARK_EVENT_DONE) {
    if (ev != CMARK_EVENT_ENTER) continue;
    cmark_node *n = cmark()->cmark_iter_get_node(it);
    switch (cmark()->cmark_node_get_type(n)) {
      case CMARK_NODE_LIST:
      case CMARK_NODE_HTML_BLOCK:
      case CMARK_NODE_HTML_INLINE:
      case CMARK_NODE_LINEBREAK:
      case CMARK_NODE_IMAGE:
        rp_buf_add(nodes, (const char *)&n, sizeof n);
        break;
      default:
        break;
    }
  }
  cmark()->cmark_iter_free(it);
}

// Puts `repl` where `n` is and frees `n`. When the tree refuses the swap
// (it should not), `n` stays and `repl` goes.
static void replace_node(cmark_node *n, cmark_node *repl) {
  if (cmark()->cmark_node_replace(n, repl))
    cmark()->cmark_node_free(n);
  else
    cmark()->cmark_node_free(repl);
}

static cmark_node *new_text(const char *literal) {
  cmark_node *t = cmark()->cmark_node_new_with_mem(CMARK_NODE_TEXT, &cmark_x_mem);
  cmark()->cmark_node_set_literal(t, literal ? literal : "");
  return t;
}

// Makes the tree fit a note:
// - Raw HTML is shown as text. cmark-gfm's safe mode would replace it with
//   a comment, silently dropping what a template author wrote.
// - An image becomes a link to it, so that opening a note fetches nothing.
// - A hard line break becomes a newline in the text: the stylesheet keeps
//   newlines (a value's newlines are in the text too), and a <br> followed
//   by cmark's newline would show as two.
// - Every list is made loose, so that the text of each item sits in a <p>,
//   which keeps white space; <li> itself holds only cmark's layout newlines,
//   which must stay collapsed. The stylesheet gives <li><p> no margins.
static void prepare_for_html(cmark_node *doc) {
  rp_buf nodes = RP_BUF_INIT;
  collect_nodes(doc, &nodes);
  size_t count = nodes.len / sizeof(cmark_node *);
  for (size_t i = 0; i < count; i++) {
    cmark_node *n;
    memcpy(&n, nodes.data + i * sizeof n, sizeof n);
    switch (cmark()->cmark_node_get_type(n)) {
      case CMARK_NODE_LIST:
        cmark()->cmark_node_set_list_tight(n, 0);
        break;
      case CMARK_NODE_HTML_BLOCK: {
        cmark_node *code = cmark()->cmark_node_new_with_mem(CMARK_NODE_CODE_BLOCK, &cmark_x_mem);
        cmark()->cmark_node_set_literal(code, cmark()->cmark_node_get_literal(n));
        replace_node(n, code);
        break;
      }
      case CMARK_NODE_HTML_INLINE:
        replace_node(n, new_text(cmark()->cmark_node_get_literal(n)));
        break;
      case CMARK_NODE_LINEBREAK:
        replace_node(n, new_text("\n"));
        break;
      case CMARK_NODE_IMAGE: {
        cmark_node *link = cmark()->cmark_node_new_with_mem(CMARK_NODE_LINK, &cmark_x_mem);
        cmark()->cmark_node_set_url(link, cmark()->cmark_node_get_url(n));
        cmark()->cmark_node_set_title(link, cmark()->cmark_node_get_title(n));
        cmark_node *child;
        while ((child = cmark()->cmark_node_first_child(n)))
          cmark()->cmark_node_append_child(link, child);
        replace_node(n, link);
        break;
      }
      default:
        break;
    }
  }
  rp_buf_free(&nodes);
}

static void add_html_escaped(rp_buf *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&':
        rp_buf_adds(out, "&amp;");
        break;
      case '<':
        rp_buf_adds(out, "&lt;");
        break;
      case '>':
        rp_buf_adds(out, "&gt;");
        break;
      case '"':
        rp_buf_adds(out, "&quot;");
        break;
      case '\'':
        rp_buf_adds(out, "&#39;");
        break;
      default:
        rp_buf_addc(out, *s);
    }
  }
}

// The print stylesheet. Only locally installed fonts are named; @page sets
// margins that suit both A4 and Letter (the paper size is the printer's).
static const char html_style[] =
    "@page{size:auto;margin:18mm 16mm}\n"
    "html{color-scheme:light}\n"
    "body{margin:2em auto;max-width:48em;padding:0 1em;color:#111;background:#fff;"
    "font:11pt/1.45 Georgia,Cambria,\"Times New Roman\",\"DejaVu Serif\",serif}\n"
    "h1,h2,h3,h4,h5,h6{font-family:\"Helvetica Neue\",Helvetica,Arial,\"DejaVu Sans\","
    "sans-serif;line-height:1.25;margin:1.3em 0 .4em;break-after:avoid}\n"
    "h1{font-size:1.6em;margin-top:0}\n"
    "h2{font-size:1.3em;border-bottom:1px solid #999;padding-bottom:.1em}\n"
    "h3{font-size:1.1em}\n"
    "h4,h5,h6{font-size:1em}\n"
    "p{margin:.5em 0}\n"
    // Typed white space shows as typed (see prepare_for_html).
    "p,h1,h2,h3,h4,h5,h6,td,th{white-space:pre-wrap;overflow-wrap:break-word;tab-size:4}\n"
    "ul,ol{margin:.4em 0;padding-left:1.6em}\n"
    "li>p{margin:.15em 0}\n"
    "li:has(>input[type=checkbox]){list-style:none}\n"
    "li>input[type=checkbox]{margin:0 .45em 0 -1.35em;vertical-align:-.1em}\n"
    "li>input[type=checkbox]+p{display:inline}\n"
    "table{border-collapse:collapse;margin:.8em 0}\n"
    "th,td{border:1px solid #555;padding:.25em .55em;text-align:left;vertical-align:top}\n"
    "th[align=center],td[align=center]{text-align:center}\n"
    "th[align=right],td[align=right]{text-align:right}\n"
    "th{background:#eee;print-color-adjust:exact;-webkit-print-color-adjust:exact}\n"
    "thead{display:table-header-group}\n"
    "tr{break-inside:avoid}\n"
    "blockquote{margin:.8em 0;padding:0 0 0 1em;border-left:3px solid #bbb;color:#333}\n"
    "code,pre{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:.92em}\n"
    "pre{white-space:pre-wrap;overflow-wrap:break-word;border:1px solid #ccc;padding:.5em .7em}\n"
    "hr{border:0;border-top:1px solid #999;margin:1.5em 0}\n"
    "a{color:inherit}\n"
    "del{color:#555}\n"
    "@media print{body{margin:0;max-width:none;padding:0;font-size:10.5pt}"
    "a{text-decoration:none}pre,blockquote,table{break-inside:avoid}}\n";

int rp_output_html(const char *md, size_t len, const char *title, rp_buf *out, rp_diags *diags) {
  cmark_parser *parser = NULL;
  cmark_node *doc = NULL;
  int rc = parse(md, len, &doc, &parser, diags);
  if (rc != RP_OK) return rc;
  prepare_for_html(doc);
  // No CMARK_OPT_UNSAFE: unsafe link targets are emptied. Soft breaks show
  // as spaces, as a browser would show them without pre-wrap.
  char *body = cmark()->cmark_render_html_with_mem(
      doc, CMARK_OPT_NOBREAKS, cmark()->cmark_parser_get_syntax_extensions(parser), &cmark_x_mem);
  cmark()->cmark_node_free(doc);
  cmark()->cmark_parser_free(parser);
  if (!body) {
    rp_diags_add(diags, RP_SEV_ERROR, "-", 0, 0, "cannot render: %s", rp_status_text(RP_ENOMEM));
    return RP_ENOMEM;
  }

  rp_buf_adds(out,
              "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              // Defence in depth: should anything ever slip through, the page
              // still runs no script and loads nothing.
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'\">\n"
              "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
  add_html_escaped(out, title ? title : "Note");
  rp_buf_adds(out, "</title>\n<style>\n");
  rp_buf_add(out, html_style, sizeof html_style - 1);
  rp_buf_adds(out, "</style>\n</head>\n<body>\n");
  rp_buf_adds(out, body);
  rp_buf_adds(out, "</body>\n</html>\n");
  free(body);
  return RP_OK;
}

// ---------------------------------------------------------------------------
// Plain text
// ---------------------------------------------------------------------------

typedef enum frame_kind { FRAME_LIST, FRAME_ITEM, FRAME_QUOTE } frame_kind;

// An open container of the walk.
typedef struct frame {
  frame_kind kind;
  bool tight;        // LIST
  bool ordered;      // LIST
  char delim;        // LIST: '.' or ')'
  long next;         // LIST: number of the next ordered item
  char marker[40];   // ITEM: "- ", "12. ", "- [x] "
  bool marker_done;  // ITEM: the marker has been written
} frame;

// Deeper containers still nest, but stop adding indentation, so that a
// pathological document cannot make every line thousands of bytes long.
enum { MAX_PREFIX_FRAMES = 16 };

typedef struct text_walk {
  rp_buf *out;
  size_t base;  // out->len before the walk
  frame *frames;
  size_t nframes, cap;
  bool pending_blank;  // the next block is preceded by an empty line
  size_t link_start;   // where the text of the open link starts
  bool first_row;      // TABLE: no row written yet
  size_t cell;         // TABLE: cells written in the current row
} text_walk;

static frame *push_frame(text_walk *w, frame_kind kind) {
  if (w->nframes == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 16;
    w->frames = rp_xrealloc(w->frames, w->cap * sizeof *w->frames);
  }
  frame *f = &w->frames[w->nframes++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  return f;
}

// Whether the innermost list around the walk is tight: its blocks are then
// separated by a newline, not by an empty line.
static bool in_tight_list(const text_walk *w) {
  for (size_t i = w->nframes; i-- > 0;)
    if (w->frames[i].kind == FRAME_LIST) return w->frames[i].tight;
  return false;
}

// Writes the containers' prefix of a line: "> " for a quote, an item's
// marker on its first line and as many spaces on later ones.
static void add_prefix(text_walk *w) {
  for (size_t i = 0; i < w->nframes; i++) {
    frame *f = &w->frames[i];
    bool deep = i >= MAX_PREFIX_FRAMES;
    if (f->kind == FRAME_QUOTE) {
      if (!deep) rp_buf_adds(w->out, "> ");
    } else if (f->kind == FRAME_ITEM) {
      if (!f->marker_done) {
        rp_buf_adds(w->out, f->marker);
        f->marker_done = true;
      } else if (!deep) {
        for (size_t k = strlen(f->marker); k > 0; k--)
          rp_buf_addc(w->out, ' ');
      }
    }
  }
}

static void begin_block(text_walk *w) {
  if (w->out->len > w->base) {
    rp_buf_addc(w->out, '\n');
    if (w->pending_blank) rp_buf_addc(w->out, '\n');
  }
  w->pending_blank = false;
  add_prefix(w);
}

static void end_block(text_walk *w) {
  w->pending_blank = !in_tight_list(w);
}

static void add_literal(text_walk *w, cmark_node *n, bool strip_newline) {
  const char *s = cmark()->cmark_node_get_literal(n);
  size_t len = s ? strlen(s) : 0;
  if (strip_newline && len && s[len - 1] == '\n') len--;
  rp_buf_add(w->out, s, len);
}

static void enter_item(text_walk *w, cmark_node *n) {
  frame *list = w->nframes ? &w->frames[w->nframes - 1] : NULL;
  frame *f = push_frame(w, FRAME_ITEM);
  if (list && list->kind == FRAME_LIST && list->ordered)
    snprintf(f->marker, sizeof f->marker, "%ld%c ", list->next++, list->delim);
  else
    strcpy(f->marker, "- ");
  const char *type = cmark()->cmark_node_get_type_string(n);
  if (type && strcmp(type, "tasklist") == 0)
    strcat(f->marker,
           cmark_ext()->cmark_gfm_extensions_get_tasklist_item_checked(n) ? "[x] " : "[ ] ");
}

static void exit_item(text_walk *w) {
  frame *f = &w->frames[w->nframes - 1];
  if (!f->marker_done) {
    // An empty item still shows its marker, without the trailing space.
    begin_block(w);
    while (w->out->len > w->base && w->out->data[w->out->len - 1] == ' ')
      w->out->len--;
    w->out->data[w->out->len] = '\0';
  }
  w->nframes--;
  end_block(w);
}

static void enter_list(text_walk *w, cmark_node *n) {
  frame *f = push_frame(w, FRAME_LIST);
  f->tight = cmark()->cmark_node_get_list_tight(n) != 0;
  f->ordered = cmark()->cmark_node_get_list_type(n) == CMARK_ORDERED_LIST;
  f->delim = cmark()->cmark_node_get_list_delim(n) == CMARK_PAREN_DELIM ? ')' : '.';
  f->next = cmark()->cmark_node_get_list_start(n);
}

static void exit_link(text_walk *w, cmark_node *n) {
  const char *url = cmark()->cmark_node_get_url(n);
  if (!url || !*url) return;
  const char *text = w->out->data + w->link_start;
  size_t tlen = w->out->len - w->link_start;
  const char *bare = strncmp(url, "mailto:", 7) == 0 ? url + 7 : url;
  if ((strlen(url) == tlen && memcmp(url, text, tlen) == 0) ||
      (strlen(bare) == tlen && memcmp(bare, text, tlen) == 0))
    return;
  rp_buf_printf(w->out, " (%s)", url);
}

// Nodes that the extensions define have no fixed type number: tell them by
// name.
static void walk_extension(text_walk *w, cmark_node *n, bool entering) {
  const char *type = cmark()->cmark_node_get_type_string(n);
  if (!type) return;
  if (strcmp(type, "table") == 0) {
    if (entering) {
      begin_block(w);
      w->first_row = true;
    } else {
      end_block(w);
    }
  } else if (strcmp(type, "table_header") == 0 || strcmp(type, "table_row") == 0) {
    if (!entering) return;
    if (!w->first_row) {
      rp_buf_addc(w->out, '\n');
      add_prefix(w);
    }
    w->first_row = false;
    w->cell = 0;
  } else if (strcmp(type, "table_cell") == 0) {
    if (entering && w->cell++ > 0) rp_buf_adds(w->out, " | ");
  }
  // strikethrough and anything unknown: only their content shows.
}

static void walk_node(text_walk *w, cmark_node *n, bool entering) {
  switch (cmark()->cmark_node_get_type(n)) {
    case CMARK_NODE_DOCUMENT:
      break;
    case CMARK_NODE_BLOCK_QUOTE:
      if (entering) {
        push_frame(w, FRAME_QUOTE);
      } else {
        w->nframes--;
        end_block(w);
      }
      break;
    case CMARK_NODE_LIST:
      if (entering) {
        enter_list(w, n);
      } else {
        w->nframes--;
        end_block(w);
      }
      break;
    case CMARK_NODE_ITEM:
      if (entering)
        enter_item(w, n);
      else
        exit_item(w);
      break;
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_HEADING:
    case CMARK_NODE_CUSTOM_BLOCK:
    case CMARK_NODE_FOOTNOTE_DEFINITION:
      if (entering)
        begin_block(w);
      else
        end_block(w);
      break;
    case CMARK_NODE_CODE_BLOCK:
    case CMARK_NODE_HTML_BLOCK:
      begin_block(w);
      add_literal(w, n, true);
      end_block(w);
      break;
    case CMARK_NODE_THEMATIC_BREAK:
      begin_block(w);
      rp_buf_adds(w->out, "---");
      end_block(w);
      break;
    case CMARK_NODE_TEXT:
    case CMARK_NODE_CODE:
    case CMARK_NODE_HTML_INLINE:
      add_literal(w, n, false);
      break;
    case CMARK_NODE_SOFTBREAK:
      rp_buf_addc(w->out, ' ');
      break;
    case CMARK_NODE_LINEBREAK:
      rp_buf_addc(w->out, '\n');
      break;
    case CMARK_NODE_LINK:
      if (entering)
        w->link_start = w->out->len;
      else
        exit_link(w, n);
      break;
    case CMARK_NODE_EMPH:
    case CMARK_NODE_STRONG:
    case CMARK_NODE_IMAGE:  // its alt text is its content
    case CMARK_NODE_CUSTOM_INLINE:
    case CMARK_NODE_FOOTNOTE_REFERENCE:
      break;
    default:
      walk_extension(w, n, entering);
      break;
  }
}

int rp_output_text(const char *md, size_t len, rp_buf *out, rp_diags *diags) {
  cmark_parser *parser = NULL;
  cmark_node *doc = NULL;
  int rc = parse(md, len, &doc, &parser, diags);
  if (rc != RP_OK) return rc;

  text_walk w = {.out = out, .base = out->len};
  cmark_iter *it = cmark()->cmark_iter_new(doc);
  cmark_event_type ev;
  while ((ev = cmark()->cmark_iter_next(it)) != CMARK_EVENT_DONE)
    walk_node(&w, cmark()->cmark_iter_get_node(it), ev == CMARK_EVENT_ENTER);
  cmark()->cmark_iter_free(it);
  if (out->len > w.base) rp_buf_addc(out, '\n');

  free(w.frames);
  cmark()->cmark_node_free(doc);
  cmark()->cmark_parser_free(parser);
  return RP_OK;
}
