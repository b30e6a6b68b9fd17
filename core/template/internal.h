// The compiled form of a template, shared by the compiler, the renderer and
// the library; not part of the public API.
//
// A template compiles to a flat array of nodes in source order. A container
// (section, inverted section, parent, block) is followed by its children, and
// its `end` is the index just past its last child, so walking a level means
// jumping from a node to its `end`. Tags that print nothing (comments, set
// delimiters, closing tags) leave no node; standalone lines are removed while
// compiling, so rendering never looks at whitespace rules again.
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "template/template.h"
#include "util/arena.h"

enum {
  RP_MAX_SECTION_NESTING = 512,     // containers open at once in one template
  RP_DEFAULT_MAX_DEPTH = 200,       // partials, parents and lambdas inside each other
  RP_MAX_DELIM = 32,                // bytes of a custom delimiter
  RP_MAX_RENDER_NESTING = 4096,     // sections open at once while rendering, partials included
  RP_MAX_LIBRARY_ENTRIES = 100000,  // names a library remembers, found or not
};

typedef enum rp_node_type {
  RP_N_TEXT,
  RP_N_VAR,       // {{name}}: escaped
  RP_N_RAW,       // {{{name}}} and {{&name}}
  RP_N_SECTION,   // {{#name}}
  RP_N_INVERTED,  // {{^name}}
  RP_N_PARTIAL,   // {{>name}}
  RP_N_PARENT,    // {{<name}}
  RP_N_BLOCK,     // {{$name}}
} rp_node_type;

typedef struct rp_name_part {
  const char *s;
  uint32_t len;
} rp_name_part;

// A name as written in a tag: "." (nparts == 0), or dotted parts.
typedef struct rp_name {
  const char *full;  // the whole name, NUL-terminated (for messages and partials)
  uint32_t fulllen;
  uint32_t nparts;
  rp_name_part *parts;
  bool dynamic;  // {{>*name}}: the partial's name is looked up in the context
} rp_name;

typedef struct rp_filter_ref {
  const char *name;
  rp_filter_fn fn;
  void *ud;
  rp_farg *args;
  uint32_t nargs;
} rp_filter_ref;

typedef struct rp_node {
  uint8_t type;      // rp_node_type
  bool standalone;   // the tag's line held only tags and whitespace
  bool first_tag;    // ... and this was the first tag on it
  uint32_t end;      // index past the last child; self + 1 for leaves
  int line, col;     // position of the tag (or of the text) in the source
  const char *text;  // TEXT: the bytes; others: unused
  size_t len;
  rp_name name;
  rp_filter_ref *filters;
  uint32_t nfilters;
  // PARTIAL, PARENT: indentation added to every line when standalone.
  // BLOCK: the indentation of the block's site (see render.c).
  const char *indent;
  uint32_t indentlen;
  uint32_t content_indent;  // BLOCK: indentation of its content's first line
  const char *eol;          // BLOCK: the line ending removed with a standalone tag
  uint32_t eollen;
  // SECTION: the raw text between the tags and the delimiters in force, for
  // lambdas, which receive the text and whose result is compiled with them.
  uint32_t body_off, body_len;
  const char *otag, *ctag;
  // PARENT: its block children (the overrides), sorted by name.
  uint32_t *blocks;
  uint32_t nblocks;
  // PARTIAL, PARENT with a static name: the template, found on first use.
  _Atomic(rp_template *) cached;  // NULL: there was none
  atomic_uint cached_gen;         // library generation + 1 of `cached`; 0: nothing cached
} rp_node;

struct rp_template {
  rp_library *lib;
  char *path;  // for messages
  char *src;   // the source, owned; node texts point into it
  size_t srclen;
  rp_node *nodes;
  uint32_t nnodes;
  rp_arena arena;  // names, filter arguments, delimiters
};

typedef struct rp_lib_entry {
  char *name;
  size_t namelen;
  rp_template *t;  // NULL: not found, or failed to compile
  bool failed;     // found but had errors (reported when first loaded)
} rp_lib_entry;

struct rp_library {
  rp_library_opts opts;
  pthread_mutex_t lock;
  atomic_uint generation;  // bumped whenever a template is added or replaced
  rp_lib_entry *entries;
  size_t n, cap;
  uint32_t *index;  // open addressing over entries by name: entry + 1, 0 empty
  size_t index_cap;
  rp_template **retired;  // replaced templates, kept until the library is freed
  size_t nretired;
};

unsigned rp_library_generation(rp_library *lib);

// Compiles with the given starting delimiters (lambda results keep the
// delimiters in force where the lambda was called). Used by the library.
rp_template *rp_template_compile_delims(rp_library *lib, const char *path, const char *src,
                                        size_t srclen, const char *otag, const char *ctag,
                                        rp_diags *diags);

// Finds (loading and compiling on first use) the library's template `name`.
// *failed is set when the template exists but has errors.
rp_template *rp_library_find_failed(rp_library *lib, const char *name, size_t len, bool *failed,
                                    rp_diags *diags);

// The filter registered as `name`, or NULL.
rp_filter_fn rp_filters_find(const rp_filters *f, const char *name, size_t len, void **ud);
