// Data trees written out as JSON, with yajl's generator: the `json` output
// format of notes.
#include <stdlib.h>

#include <yajl/yajl_gen.h>

#include "data/internal.h"

static void print_cb(void *ctx, const char *s, size_t len) {
  rp_buf_add(ctx, s, len);
}

// An empty list or map as `[]` or `{}`: yajl's beautifier writes an opening
// and a closing line with a blank line between. yajl_gen_number writes its
// text as one value, with the separators and indentation of any value, and
// checks nothing else, so it writes these two tokens as they should read.
static void empty(yajl_gen g, const char *token) {
  yajl_gen_number(g, token, 2);
}

static void gen(yajl_gen g, rp_doc *doc, rp_value v, int depth) {
  switch (rp_doc_ops.kind(doc, v)) {
    case RP_KIND_NULL:
    case RP_KIND_LAMBDA:
      yajl_gen_null(g);
      return;
    case RP_KIND_BOOL:
      yajl_gen_bool(g, rp_doc_ops.boolean(doc, v));
      return;
    case RP_KIND_NUMBER: {
      // The JavaScript text is valid JSON for every finite number; others
      // have no JSON form.
      size_t len;
      const char *s = rp_doc_ops.str(doc, v, &len);
      double x = rp_doc_ops.number(doc, v);
      if (x != x || x - x != 0)
        yajl_gen_null(g);
      else
        yajl_gen_number(g, s, len);
      return;
    }
    case RP_KIND_STRING: {
      size_t len;
      const char *s = rp_doc_ops.str(doc, v, &len);
      yajl_gen_string(g, (const unsigned char *)s, len);
      return;
    }
    case RP_KIND_LIST: {
      size_t n = rp_doc_ops.len(doc, v);
      if (n == 0) {
        empty(g, "[]");
        return;
      }
      yajl_gen_array_open(g);
      for (size_t i = 0; i < n && depth < RP_DATA_MAX_DEPTH; i++)
        gen(g, doc, rp_doc_ops.at(doc, v, i), depth + 1);
      yajl_gen_array_close(g);
      return;
    }
    case RP_KIND_MAP: {
      if (rp_doc_ops.len(doc, v) == 0) {
        empty(g, "{}");
        return;
      }
      yajl_gen_map_open(g);
      const char *key;
      size_t keylen;
      rp_value val;
      for (size_t i = 0; depth < RP_DATA_MAX_DEPTH && rp_doc_map_at(doc, v, i, &key, &keylen, &val);
           i++) {
        yajl_gen_string(g, (const unsigned char *)key, keylen);
        gen(g, doc, val, depth + 1);
      }
      yajl_gen_map_close(g);
      return;
    }
  }
}

static void write_json(rp_doc *doc, rp_value v, bool pretty, rp_buf *out) {
  yajl_gen g = yajl_gen_alloc(&rp_yajl_alloc_funcs);
  if (!g) rp_oom();
  if (pretty) {
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
  }
  yajl_gen_config(g, yajl_gen_print_callback, print_cb, out);
  gen(g, doc, v, 0);
  yajl_gen_free(g);
}

void rp_doc_write_json(rp_doc *doc, rp_value v, rp_buf *out) {
  write_json(doc, v, true, out);
}

void rp_doc_write_json_line(rp_doc *doc, rp_value v, rp_buf *out) {
  write_json(doc, v, false, out);
  rp_buf_addc(out, '\n');
}
