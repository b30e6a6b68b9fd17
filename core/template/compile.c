// The template compiler: source text to the flat node array of internal.h.
//
// Compiling runs in two passes. The scanner cuts the source into tokens (text
// runs that end at a newline or a tag, and tags) and, at the end of each
// line, applies the standalone rule: a line holding only whitespace and tags
// that print nothing inline (sections, comments, partials, parents, blocks,
// delimiter changes) loses its whitespace and its line ending. The builder
// then turns tokens into nodes, matching sections with a stack. Both passes
// are linear in the size of the source, and every problem is reported with
// its line and column; compiling goes on after an error so that a person sees
// all of them at once.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/internal.h"

typedef enum tok_kind { TOK_TEXT, TOK_TAG } tok_kind;

typedef struct tok {
  uint8_t kind;
  char sigil;  // TAG: 0 for a variable, else one of { & # ^ / > < $ ! =
  bool drop;   // TEXT removed by the standalone rule
  bool standalone;
  bool first_tag;
  uint32_t off, len;     // TEXT: the bytes; TAG: its content, trimmed
  uint32_t start, stop;  // TAG: the whole tag, delimiters included
  int line, col;
  const char *indent;  // TAG on a standalone line: the line's leading whitespace
  uint32_t indentlen;
  const char *eol;  // TAG on a standalone line: the line ending removed
  uint32_t eollen;
  const char *otag, *ctag;  // delimiters in force at this tag
} tok;

typedef struct compiler {
  rp_template *t;
  rp_diags *diags;
  const rp_filters *filters;
  const char *src;
  size_t len;
  tok *toks;
  size_t ntoks, tokcap;
  size_t line_first;  // index of the first token of the current line
  rp_node *nodes;
  size_t nnodes, nodecap;
  bool failed;
  const tok *cur_tok;  // the position cursor of tag_pos
  const char *cur_at;
  int cur_line, cur_col;
} compiler;

static void cerror(compiler *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void cerror(compiler *c, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rp_diags_vadd(c->diags, RP_SEV_ERROR, c->t->path, line, col, fmt, ap);
  va_end(ap);
  c->failed = true;
}

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static tok *push_tok(compiler *c) {
  if (c->ntoks == c->tokcap) {
    c->tokcap = c->tokcap ? c->tokcap * 2 : 64;
    c->toks = rp_xrealloc(c->toks, c->tokcap * sizeof *c->toks);
  }
  tok *t = &c->toks[c->ntoks++];
  memset(t, 0, sizeof *t);
  return t;
}

// Applies the standalone rule to the tokens of the line that just ended.
static void end_line(compiler *c) {
  size_t first = c->line_first, last = c->ntoks;
  c->line_first = c->ntoks;
  bool has_tag = false;
  for (size_t i = first; i < last; i++) {
    tok *t = &c->toks[i];
    if (t->kind == TOK_TAG) {
      if (t->sigil == 0 || t->sigil == '{' || t->sigil == '&') return;
      has_tag = true;
    } else {
      for (uint32_t k = 0; k < t->len; k++) {
        char ch = c->src[t->off + k];
        if (!is_space(ch) && ch != '\n') return;
      }
    }
  }
  if (!has_tag) return;
  const char *indent = "";
  uint32_t indentlen = 0;
  if (c->toks[first].kind == TOK_TEXT) {
    indent = c->src + c->toks[first].off;
    indentlen = c->toks[first].len;
  }
  const char *eol = "";
  uint32_t eollen = 0;
  tok *lt = &c->toks[last - 1];
  if (lt->kind == TOK_TEXT && lt->len && c->src[lt->off + lt->len - 1] == '\n') {
    eollen = (lt->len >= 2 && c->src[lt->off + lt->len - 2] == '\r') ? 2 : 1;
    eol = c->src + lt->off + lt->len - eollen;
  }
  bool first_tag = true;
  for (size_t i = first; i < last; i++) {
    tok *t = &c->toks[i];
    if (t->kind == TOK_TEXT) {
      t->drop = true;
      continue;
    }
    t->standalone = true;
    t->first_tag = first_tag;
    first_tag = false;
    t->indent = indent;
    t->indentlen = indentlen;
    t->eol = eol;
    t->eollen = eollen;
  }
}

// Adds text tokens for src[from, to), cutting after each newline so that the
// standalone rule sees whole lines. Tracks the line and column.
static void scan_text(compiler *c, size_t from, size_t to, int *line, size_t *line_start) {
  while (from < to) {
    const char *nl = memchr(c->src + from, '\n', to - from);
    size_t stop = nl ? (size_t)(nl - c->src) + 1 : to;
    tok *t = push_tok(c);
    t->kind = TOK_TEXT;
    t->off = (uint32_t)from;
    t->len = (uint32_t)(stop - from);
    t->line = *line;
    t->col = (int)(from - *line_start) + 1;
    from = stop;
    if (nl) {
      (*line)++;
      *line_start = stop;
      end_line(c);
    }
  }
}

static const char *find(const char *hay, size_t haylen, const char *needle, size_t nlen) {
  if (nlen == 0 || haylen < nlen) return NULL;
  const char *end = hay + haylen - nlen;
  for (const char *p = hay; p <= end; p++) {
    p = memchr(p, needle[0], (size_t)(end - p) + 1);
    if (!p) return NULL;
    if (memcmp(p, needle, nlen) == 0) return p;
  }
  return NULL;
}

static void trim(const char *src, uint32_t *off, uint32_t *len) {
  while (*len && (is_space(src[*off]) || src[*off] == '\n'))
    (*off)++, (*len)--;
  while (*len && (is_space(src[*off + *len - 1]) || src[*off + *len - 1] == '\n'))
    (*len)--;
}

// Parses "{{=<% %>=}}" content into new delimiters. Returns false on error.
static bool parse_delims(compiler *c, const tok *t, char *otag, char *ctag) {
  const char *s = c->src + t->off;
  size_t n = t->len, i = 0;
  size_t a0, a1, b0, b1;
  while (i < n && (is_space(s[i]) || s[i] == '\n'))
    i++;
  a0 = i;
  while (i < n && !is_space(s[i]) && s[i] != '\n')
    i++;
  a1 = i;
  while (i < n && (is_space(s[i]) || s[i] == '\n'))
    i++;
  b0 = i;
  while (i < n && !is_space(s[i]) && s[i] != '\n')
    i++;
  b1 = i;
  while (i < n && (is_space(s[i]) || s[i] == '\n'))
    i++;
  bool ok = a1 > a0 && b1 > b0 && i == n && a1 - a0 <= RP_MAX_DELIM && b1 - b0 <= RP_MAX_DELIM &&
            !memchr(s + a0, '=', a1 - a0) && !memchr(s + b0, '=', b1 - b0);
  if (!ok) {
    cerror(c, t->line, t->col,
           "invalid delimiter change: expected two delimiters without spaces or '=', "
           "as in {{=<%% %%>=}}");
    return false;
  }
  memcpy(otag, s + a0, a1 - a0);
  otag[a1 - a0] = '\0';
  memcpy(ctag, s + b0, b1 - b0);
  ctag[b1 - b0] = '\0';
  return true;
}

// Pass one: tokens. Returns false when the source cannot be scanned further
// (an unclosed tag); what was scanned is still compiled for more errors.
static void scan(compiler *c, const char *otag0, const char *ctag0) {
  char otag[RP_MAX_DELIM + 1], ctag[RP_MAX_DELIM + 1];
  snprintf(otag, sizeof otag, "%s", otag0);
  snprintf(ctag, sizeof ctag, "%s", ctag0);
  const char *cur_otag = rp_arena_strndup(&c->t->arena, otag, strlen(otag));
  const char *cur_ctag = rp_arena_strndup(&c->t->arena, ctag, strlen(ctag));
  const char *src = c->src;
  size_t len = c->len, pos = 0, line_start = 0;
  int line = 1;
  while (pos < len) {
    size_t olen = strlen(otag), clen = strlen(ctag);
    const char *open = find(src + pos, len - pos, otag, olen);
    if (!open) {
      scan_text(c, pos, len, &line, &line_start);
      break;
    }
    size_t tag_start = (size_t)(open - src);
    scan_text(c, pos, tag_start, &line, &line_start);
    int tag_line = line, tag_col = (int)(tag_start - line_start) + 1;
    size_t p = tag_start + olen;
    char sigil = 0;
    const char *close;
    size_t content, content_end, tag_stop;
    if (p < len && src[p] == '{') {
      // Triple mustache: the content ends at "}" followed by the closing delimiter.
      sigil = '{';
      content = p + 1;
      char want[RP_MAX_DELIM + 2];
      want[0] = '}';
      memcpy(want + 1, ctag, clen + 1);
      close = find(src + content, len - content, want, clen + 1);
      content_end = close ? (size_t)(close - src) : len;
      tag_stop = close ? content_end + clen + 1 : len;
    } else if (p < len && src[p] == '=') {
      sigil = '=';
      content = p + 1;
      char want[RP_MAX_DELIM + 2];
      want[0] = '=';
      memcpy(want + 1, ctag, clen + 1);
      close = find(src + content, len - content, want, clen + 1);
      content_end = close ? (size_t)(close - src) : len;
      tag_stop = close ? content_end + clen + 1 : len;
    } else {
      size_t q = p;
      while (q < len && (is_space(src[q]) || src[q] == '\n'))
        q++;
      if (q < len && strchr("&#^/>!<$", src[q])) {
        sigil = src[q];
        q++;
      }
      content = q;
      close = find(src + content, len - content, ctag, clen);
      content_end = close ? (size_t)(close - src) : len;
      tag_stop = close ? content_end + clen : len;
    }
    if (!close) {
      cerror(c, tag_line, tag_col, "unclosed tag: '%s' has no matching '%s%s'", otag,
             sigil == '{' ? "}" : (sigil == '=' ? "=" : ""), ctag);
      break;
    }
    tok *t = push_tok(c);
    t->kind = TOK_TAG;
    t->sigil = sigil;
    t->off = (uint32_t)content;
    t->len = (uint32_t)(content_end - content);
    if (sigil != '!') trim(src, &t->off, &t->len);
    t->start = (uint32_t)tag_start;
    t->stop = (uint32_t)tag_stop;
    t->line = tag_line;
    t->col = tag_col;
    t->otag = cur_otag;
    t->ctag = cur_ctag;
    // A tag may span lines (comments, mostly): keep the position right.
    for (size_t k = tag_start; k < tag_stop; k++) {
      if (src[k] == '\n') {
        line++;
        line_start = k + 1;
      }
    }
    if (sigil == '=') {
      char no[RP_MAX_DELIM + 1], nc[RP_MAX_DELIM + 1];
      if (parse_delims(c, t, no, nc)) {
        memcpy(otag, no, strlen(no) + 1);
        memcpy(ctag, nc, strlen(nc) + 1);
        cur_otag = rp_arena_strndup(&c->t->arena, otag, strlen(otag));
        cur_ctag = rp_arena_strndup(&c->t->arena, ctag, strlen(ctag));
      }
    }
    pos = tag_stop;
  }
  end_line(c);
}

static rp_node *push_node(compiler *c, rp_node_type type, const tok *t) {
  if (c->nnodes == c->nodecap) {
    c->nodecap = c->nodecap ? c->nodecap * 2 : 32;
    c->nodes = rp_xrealloc(c->nodes, c->nodecap * sizeof *c->nodes);
  }
  rp_node *n = &c->nodes[c->nnodes];
  memset(n, 0, sizeof *n);
  n->type = (uint8_t)type;
  n->end = (uint32_t)c->nnodes + 1;
  n->line = t->line;
  n->col = t->col;
  atomic_init(&n->cached, NULL);
  atomic_init(&n->cached_gen, 0);
  c->nnodes++;
  return n;
}

// The line and column of `at`, a byte inside tag t. A cursor remembers the
// last position asked for, so reporting many problems in one long tag stays
// linear.
static void tag_pos(compiler *c, const tok *t, const char *at, int *line, int *col) {
  if (c->cur_tok != t || at < c->cur_at) {
    c->cur_tok = t;
    c->cur_at = c->src + t->start;
    c->cur_line = t->line;
    c->cur_col = t->col;
  }
  for (; c->cur_at < at; c->cur_at++) {
    if (*c->cur_at == '\n') {
      c->cur_line++;
      c->cur_col = 1;
    } else {
      c->cur_col++;
    }
  }
  *line = c->cur_line;
  *col = c->cur_col;
}

static int line_of(compiler *c, const tok *t, const char *at) {
  int line, col;
  tag_pos(c, t, at, &line, &col);
  return line;
}

static int col_of(compiler *c, const tok *t, const char *at) {
  int line, col;
  tag_pos(c, t, at, &line, &col);
  return col;
}

// Parses a dotted name (or ".") into n->name. `s` points into the source.
static bool parse_name(compiler *c, const tok *t, const char *s, size_t len, rp_node *n,
                       bool allow_dynamic) {
  rp_arena *a = &c->t->arena;
  if (allow_dynamic && len && s[0] == '*') {
    n->name.dynamic = true;
    s++, len--;
    while (len && (is_space(*s) || *s == '\n'))
      s++, len--;
  }
  if (len == 0) {
    cerror(c, t->line, t->col, "empty tag: a name is needed between the delimiters");
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    if (is_space(s[i]) || s[i] == '\n') {
      cerror(c, line_of(c, t, s + i), col_of(c, t, s + i), "unexpected space in the name '%.*s'",
             (int)len, s);
      return false;
    }
  }
  n->name.full = rp_arena_strndup(a, s, len);
  n->name.fulllen = (uint32_t)len;
  if (allow_dynamic && !n->name.dynamic) return true;  // a template's name, not a path in data
  if (len == 1 && s[0] == '.') return true;            // the implicit iterator
  uint32_t parts = 1;
  for (size_t i = 0; i < len; i++)
    parts += s[i] == '.';
  n->name.parts = rp_arena_alloc(a, parts * sizeof *n->name.parts);
  const char *full = n->name.full;
  size_t begin = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || full[i] == '.') {
      if (i == begin) {
        cerror(c, t->line, t->col, "invalid name '%.*s': empty part between dots", (int)len, s);
        return false;
      }
      n->name.parts[n->name.nparts].s = full + begin;
      n->name.parts[n->name.nparts].len = (uint32_t)(i - begin);
      n->name.nparts++;
      begin = i + 1;
    }
  }
  return true;
}

// Parses `| name arg "arg" | name ...` after a variable's name.
static bool parse_filters(compiler *c, const tok *t, const char *s, size_t len, rp_node *n) {
  rp_arena *a = &c->t->arena;
  // Count the filters first: bars outside quotes.
  uint32_t count = 0;
  bool inq = false;
  for (size_t i = 0; i < len; i++) {
    if (inq && s[i] == '\\') {
      i++;
      continue;
    }
    if (s[i] == '"') inq = !inq;
    if (!inq && s[i] == '|') count++;
  }
  n->filters = rp_arena_alloc(a, count * sizeof *n->filters);
  const char *p = s, *end = s + len;
  bool ok = true;
  while (p < end) {
    // p is at a '|'.
    const char *bar = p;
    p++;
    while (p < end && (is_space(*p) || *p == '\n'))
      p++;
    const char *name = p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
      p++;
    size_t namelen = (size_t)(p - name);
    if (namelen == 0 || isdigit((unsigned char)name[0])) {
      cerror(c, line_of(c, t, bar), col_of(c, t, bar), "expected a filter name after '|'");
      return false;
    }
    rp_filter_ref *f = &n->filters[n->nfilters++];
    memset(f, 0, sizeof *f);
    f->name = rp_arena_strndup(a, name, namelen);
    f->fn = c->filters ? rp_filters_find(c->filters, name, namelen, &f->ud) : NULL;
    if (!f->fn) {
      cerror(c, line_of(c, t, name), col_of(c, t, name), "unknown filter '%.*s'", (int)namelen,
             name);
      ok = false;
    }
    // Arguments, up to the next bar outside quotes.
    rp_farg args[16];
    uint32_t nargs = 0;
    for (;;) {
      while (p < end && (is_space(*p) || *p == '\n'))
        p++;
      if (p >= end || *p == '|') break;
      if (nargs == 16) {
        cerror(c, line_of(c, t, p), col_of(c, t, p),
               "too many arguments to filter '%s' (at most 16)", f->name);
        return false;
      }
      rp_farg *arg = &args[nargs];
      memset(arg, 0, sizeof *arg);
      const char *at = p;
      if (*p == '"') {
        rp_buf val = RP_BUF_INIT;
        p++;
        bool closed = false;
        while (p < end) {
          if (*p == '"') {
            closed = true;
            p++;
            break;
          }
          if (*p == '\\' && p + 1 < end) {
            p++;
            char e = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            rp_buf_addc(&val, e);
            p++;
            continue;
          }
          rp_buf_addc(&val, *p++);
        }
        if (!closed) {
          rp_buf_free(&val);
          cerror(c, line_of(c, t, at), col_of(c, t, at),
                 "unterminated string argument to filter '%s'", f->name);
          return false;
        }
        arg->s = rp_arena_strndup(a, val.data ? val.data : "", val.len);
        arg->len = val.len;
        rp_buf_free(&val);
      } else {
        const char *q = p;
        while (q < end && !is_space(*q) && *q != '\n' && *q != '|')
          q++;
        char tmp[64];
        size_t tl = (size_t)(q - p);
        char *e = NULL;
        if (tl > 0 && tl < sizeof tmp) {
          memcpy(tmp, p, tl);
          tmp[tl] = '\0';
          arg->num = strtod(tmp, &e);
        }
        if (tl == 0 || tl >= sizeof tmp || !e || *e != '\0' ||
            !(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')) {
          cerror(c, line_of(c, t, at), col_of(c, t, at),
                 "filter arguments are quoted strings or numbers: '%.*s' is neither", (int)tl, p);
          return false;
        }
        arg->is_number = true;
        arg->s = rp_arena_strndup(a, p, tl);
        arg->len = tl;
        p = q;
      }
      nargs++;
    }
    f->args = rp_arena_alloc(a, nargs * sizeof *f->args);
    memcpy(f->args, args, nargs * sizeof *args);
    f->nargs = nargs;
  }
  return ok;
}

typedef struct block_key {
  const char *name;
  uint32_t len;
  uint32_t idx;
} block_key;

static int cmp_block_key(const void *a, const void *b) {
  const block_key *x = a, *y = b;
  int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

// Indexes a parent's overriding blocks by name, so that a template with
// thousands of blocks finds each override in log time.
static void index_blocks(compiler *c, size_t parent) {
  rp_node *p = &c->nodes[parent];
  size_t n = 0;
  for (uint32_t j = (uint32_t)parent + 1; j < p->end; j = c->nodes[j].end)
    n += c->nodes[j].type == RP_N_BLOCK && c->nodes[j].name.full;
  if (n == 0) return;
  block_key *keys = rp_xmalloc(n * sizeof *keys);
  size_t k = 0;
  for (uint32_t j = (uint32_t)parent + 1; j < p->end; j = c->nodes[j].end) {
    const rp_node *b = &c->nodes[j];
    if (b->type == RP_N_BLOCK && b->name.full)
      keys[k++] = (block_key){b->name.full, b->name.fulllen, j};
  }
  qsort(keys, n, sizeof *keys, cmp_block_key);
  p->blocks = rp_arena_alloc(&c->t->arena, n * sizeof *p->blocks);
  for (size_t i = 0; i < n; i++)
    p->blocks[i] = keys[i].idx;
  p->nblocks = (uint32_t)n;
  free(keys);
}

typedef struct open_container {
  size_t node;
  size_t tok;
} open_container;

static void close_block(compiler *c, rp_node *n, const tok *open) {
  // The block's content starts on the next line when its opening line was
  // standalone; that first line's indentation is the content's own, removed
  // wherever the content is expanded (see render.c).
  size_t self = (size_t)(n - c->nodes);
  rp_node *first = (n->end > self + 1) ? &c->nodes[self + 1] : NULL;
  if (open->standalone && first && first->type == RP_N_TEXT) {
    uint32_t k = 0;
    while (k < first->len && (first->text[k] == ' ' || first->text[k] == '\t'))
      k++;
    n->content_indent = k;
  }
  if (open->standalone) {
    n->standalone = true;
    n->eol = open->eol;
    n->eollen = open->eollen;
    if (first) {
      n->indent = first->type == RP_N_TEXT ? first->text : "";
      n->indentlen = n->content_indent;
    } else {
      n->indent = open->indent;
      n->indentlen = open->indentlen;
    }
  }
}

// Pass two: nodes.
static void build(compiler *c) {
  open_container stack[RP_MAX_SECTION_NESTING];
  size_t depth = 0;
  for (size_t i = 0; i < c->ntoks; i++) {
    tok *t = &c->toks[i];
    if (t->kind == TOK_TEXT) {
      if (t->drop || t->len == 0) continue;
      rp_node *last = c->nnodes ? &c->nodes[c->nnodes - 1] : NULL;
      // Text runs split only at newlines merge back into one node; a tag
      // or a removed line in between leaves them apart in the source.
      if (last && last->type == RP_N_TEXT && last->text + last->len == c->src + t->off) {
        last->len += t->len;
        continue;
      }
      rp_node *n = push_node(c, RP_N_TEXT, t);
      n->text = c->src + t->off;
      n->len = t->len;
      continue;
    }
    const char *s = c->src + t->off;
    size_t len = t->len;
    switch (t->sigil) {
      case '!':
      case '=':
        break;
      case 0:
      case '{':
      case '&': {
        rp_node *n = push_node(c, t->sigil == 0 ? RP_N_VAR : RP_N_RAW, t);
        const char *bar = memchr(s, '|', len);
        size_t namelen = bar ? (size_t)(bar - s) : len;
        while (namelen && (is_space(s[namelen - 1]) || s[namelen - 1] == '\n'))
          namelen--;
        parse_name(c, t, s, namelen, n, false);
        if (bar) parse_filters(c, t, bar, len - (size_t)(bar - s), n);
        break;
      }
      case '#':
      case '^':
      case '<':
      case '$': {
        if (depth == RP_MAX_SECTION_NESTING) {
          cerror(c, t->line, t->col, "sections nested deeper than %d", RP_MAX_SECTION_NESTING);
          return;
        }
        rp_node_type type = t->sigil == '#'   ? RP_N_SECTION
                            : t->sigil == '^' ? RP_N_INVERTED
                            : t->sigil == '<' ? RP_N_PARENT
                                              : RP_N_BLOCK;
        rp_node *n = push_node(c, type, t);
        const char *bar = memchr(s, '|', len);
        if (bar) {
          cerror(c, t->line, t->col, "filters are allowed only in variable tags");
          // Keep the name before the bar so that the closing tag still matches.
          len = (size_t)(bar - s);
          while (len && (is_space(s[len - 1]) || s[len - 1] == '\n'))
            len--;
        }
        parse_name(c, t, s, len, n, type == RP_N_PARENT);
        n->standalone = t->standalone;
        n->first_tag = t->first_tag;
        if (type == RP_N_PARENT && t->standalone && t->first_tag) {
          n->indent = t->indent;
          n->indentlen = t->indentlen;
        }
        n->body_off = t->stop;
        n->otag = t->otag;
        n->ctag = t->ctag;
        stack[depth].node = c->nnodes - 1;
        stack[depth].tok = i;
        depth++;
        break;
      }
      case '/': {
        size_t match = depth;
        while (match > 0) {
          rp_node *o = &c->nodes[stack[match - 1].node];
          if (o->name.full &&
              (o->name.dynamic ? len == o->name.fulllen + 1 && s[0] == '*' &&
                                     memcmp(s + 1, o->name.full, len - 1) == 0
                               : len == o->name.fulllen && memcmp(s, o->name.full, len) == 0))
            break;
          match--;
        }
        if (match == 0) {
          if (depth == 0)
            cerror(c, t->line, t->col, "closing tag '%.*s' has no opening section", (int)len, s);
          else {
            rp_node *o = &c->nodes[stack[depth - 1].node];
            cerror(c, t->line, t->col,
                   "closing tag '%.*s' does not match the open section '%s' (opened at %d:%d)",
                   (int)len, s, o->name.full ? o->name.full : "", o->line, o->col);
          }
          break;
        }
        // Sections opened after the matching one were never closed.
        while (depth > match) {
          rp_node *o = &c->nodes[stack[depth - 1].node];
          cerror(c, o->line, o->col, "section '%s' is not closed before '%.*s' closes at %d:%d",
                 o->name.full ? o->name.full : "", (int)len, s, t->line, t->col);
          o->end = (uint32_t)c->nnodes;
          depth--;
        }
        depth--;
        rp_node *o = &c->nodes[stack[depth].node];
        o->end = (uint32_t)c->nnodes;
        o->body_len = t->start - o->body_off;
        if (o->type == RP_N_BLOCK) close_block(c, o, &c->toks[stack[depth].tok]);
        if (o->type == RP_N_PARENT) index_blocks(c, stack[depth].node);
        break;
      }
      case '>': {
        rp_node *n = push_node(c, RP_N_PARTIAL, t);
        parse_name(c, t, s, len, n, true);
        n->standalone = t->standalone;
        if (t->standalone && t->first_tag) {
          n->indent = t->indent;
          n->indentlen = t->indentlen;
        }
        break;
      }
    }
  }
  while (depth > 0) {
    rp_node *o = &c->nodes[stack[depth - 1].node];
    cerror(c, o->line, o->col, "section '%s' is never closed", o->name.full ? o->name.full : "");
    o->end = (uint32_t)c->nnodes;
    depth--;
  }
}

rp_template *rp_template_compile_delims(rp_library *lib, const char *path, const char *src,
                                        size_t srclen, const char *otag, const char *ctag,
                                        rp_diags *diags) {
  if (srclen > UINT32_MAX - 1) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "template is larger than 4 GiB");
    return NULL;
  }
  rp_template *t = rp_xcalloc(1, sizeof *t);
  t->lib = lib;
  t->path = rp_xstrndup(path ? path : "-", strlen(path ? path : "-"));
  t->src = rp_xstrndup(src, srclen);
  t->srclen = srclen;
  size_t first_diag = diags->n;
  compiler c = {0};
  c.t = t;
  c.diags = diags;
  c.filters = lib ? lib->opts.filters : NULL;
  c.src = t->src;
  c.len = srclen;
  scan(&c, otag, ctag);
  build(&c);
  free(c.toks);
  rp_diags_sort(diags, first_diag);
  t->nodes = c.nodes;
  t->nnodes = (uint32_t)c.nnodes;
  if (c.failed) {
    rp_template_free(t);
    return NULL;
  }
  return t;
}

rp_template *rp_template_compile(rp_library *lib, const char *path, const char *src, size_t srclen,
                                 rp_diags *diags) {
  return rp_template_compile_delims(lib, path, src, srclen, "{{", "}}", diags);
}

void rp_template_free(rp_template *t) {
  if (!t) return;
  free(t->nodes);
  free(t->src);
  free(t->path);
  rp_arena_free(&t->arena);
  free(t);
}

const char *rp_template_path(const rp_template *t) {
  return t->path;
}
