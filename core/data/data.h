// The data layer: session and data files (JSON, YAML, JSONL) as one compact
// tree that the template engine reads through rp_ctx_ops.
//
// A document (rp_doc) owns every node and every string of the values built in
// it, in an arena: building is a pointer bump, freeing is one call, and
// rp_doc_reset rewinds the arena so that a JSONL stream can reuse one
// document per line with flat memory. Values are rp_value handles that point
// at nodes of their document; they stay valid until the document is reset or
// freed. A document is not thread-safe, but distinct documents are
// independent.
//
// The loaders are strict, because a session file that parses "somehow" makes
// a wrong note: invalid UTF-8, NUL characters, duplicate keys, trailing data,
// non-finite numbers and nesting deeper than RP_DATA_MAX_DEPTH are refused.
// Every problem is reported to an rp_diags as PATH:LINE:COL (1-based, column
// counted in bytes, pointing at the offending byte) and messages never quote
// the data's values, which are health data.
//
// Numbers keep two forms: the double (ops->number) and the text JavaScript's
// String(n) would print (ops->str), computed once when the number is made, so
// that rendering prints 1.5 as "1.5", 1e21 as "1e+21" and -0 as "0" exactly
// as the Mustache reference implementations do.
//
// YAML typing (YAML 1.2 core schema, with one deliberate departure):
//   - plain `null`, `Null`, `NULL`, `~` and the empty scalar are null;
//   - plain `true|True|TRUE|false|False|FALSE` are booleans; `yes`, `no`,
//     `on`, `off` and friends stay strings (YAML 1.1 booleans are gone);
//   - plain integers `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+` and floats
//     `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` are numbers;
//     `.inf` and `.nan` (any case, any sign) are refused as non-finite;
//   - DEPARTURE: a decimal number whose integer part has a leading zero
//     followed by another digit (`0777`, `-012`, `007.5`) stays the string as
//     written. YAML 1.2 reads `0777` as 777 and YAML 1.1 as 511; clients' IDs,
//     postcodes and codes like these are far more often meant as text, and
//     keeping them as written surprises nobody. `0`, `0.5`, `-0` are numbers;
//   - everything else, and every quoted or block scalar, is a string.
// Anchors, aliases, explicit tags (`!!str`, `!x`), complex (non-scalar) keys
// and more than one document are refused. An empty YAML file is null.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "template/template.h"
#include "util/buf.h"
#include "util/error.h"

// Containers nested deeper than this are refused by the loaders: a depth
// bound keeps the engine's and the Lua layer's recursion safe.
#define RP_DATA_MAX_DEPTH 64
// rp_data_load_file refuses larger files, and rp_jsonl longer lines.
#define RP_DATA_MAX_FILE (64u * 1024u * 1024u)

typedef struct rp_doc rp_doc;

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------

// Returns an empty document; never NULL (aborts on out of memory). Free it
// with rp_doc_free.
rp_doc *rp_doc_new(void);
// Frees the document and every value in it. doc may be NULL.
void rp_doc_free(rp_doc *doc);
// Drops every value of the document but keeps its memory (up to about
// 1.5 MiB) for the next ones, so that a document reused per JSONL line stays
// at the size of the largest ordinary line and allocates nothing once warm.
// Values of the document are invalid afterwards.
void rp_doc_reset(rp_doc *doc);
// Bytes of memory the document holds (arena and parse scratch), for tests
// and limits.
size_t rp_doc_memory(const rp_doc *doc);

// The engine's context interface over a document: `ud` is the rp_doc*.
// str returns the bytes of a STRING (followed by a NUL not counted in len) or
// the JavaScript text of a NUMBER. get is a length-first linear scan for
// maps of up to 8 entries and a hash lookup beyond. call invokes a LAMBDA
// node's function; mark and release are NULL (a document holds no stack).
// A zero rp_value (p == NULL) reads as null.
extern const rp_ctx_ops rp_doc_ops;
rp_ctx rp_doc_ctx(rp_doc *doc, rp_value root);

// ---------------------------------------------------------------------------
// Building values (for the Lua layer and tests)
// ---------------------------------------------------------------------------

// A LAMBDA's function: the same contract as rp_ctx_ops.call (text is NULL for
// an interpolation; append the result to `out`; on failure return a negative
// rp_status and optionally set *errmsg to a malloc'd message). Named apart
// from anything in template.h so the two headers never disagree.
typedef int (*rp_doc_lambda_fn)(void *fn_ud, const char *text, size_t textlen, rp_buf *out,
                                char **errmsg);

// Each builder returns a new value owned by `doc` (never fails; aborts on
// out of memory). Built values have no source position (rp_doc_pos gives 0).
rp_value rp_doc_null(rp_doc *doc);
rp_value rp_doc_bool(rp_doc *doc, bool b);
// Any double; its text is JavaScript's: NaN, Infinity and -Infinity included
// (only the loaders refuse non-finite numbers).
rp_value rp_doc_number(rp_doc *doc, double x);
// A number from JSON number text (e.g. "1.50", "-2e3"), keeping the exact
// double and printing it as JavaScript would ("1.5", "-2000"). Returns
// RP_EDATA, leaving *out untouched, when the text is not a JSON number or
// is out of range (1e999).
int rp_doc_number_parse(rp_doc *doc, const char *text, size_t len, rp_value *out);
// As rp_doc_number_parse, but returns a null value for bad text: for callers
// that have already validated the text.
rp_value rp_doc_number_text(rp_doc *doc, const char *jsontext, size_t len);
// Copies `len` bytes (any bytes; s may be NULL when len is 0) into the doc.
rp_value rp_doc_string(rp_doc *doc, const char *s, size_t len);
rp_value rp_doc_list(rp_doc *doc);
rp_value rp_doc_map(rp_doc *doc);
// Appends v (a value of the same doc) to `list`. Does nothing when `list` is
// not a LIST. Containers hold values by reference: a list pushed into a map
// and then appended to shows the new element through the map too.
void rp_doc_list_push(rp_doc *doc, rp_value list, rp_value v);
// Adds key -> v to `map`, copying the key. Returns RP_OK, RP_EDATA when the
// key is already there (the map is unchanged), or RP_EUSAGE when `map` is not
// a MAP. Entries keep their insertion order.
int rp_doc_map_set(rp_doc *doc, rp_value map, const char *key, size_t len, rp_value v);
// As rp_doc_map_set, but a key already there gets v as its value (in its
// place in the order).
int rp_doc_map_put(rp_doc *doc, rp_value map, const char *key, size_t len, rp_value v);
// A LAMBDA node; rp_doc_ops.call runs fn(fn_ud, ...). fn_ud is borrowed: it
// must outlive every render that can reach the node.
rp_value rp_doc_lambda(rp_doc *doc, rp_doc_lambda_fn fn, void *fn_ud);

// ---------------------------------------------------------------------------
// Reading values beyond rp_ctx_ops
// ---------------------------------------------------------------------------

// Entry i (0-based) of a MAP in insertion order: sets *key (NUL-terminated,
// owned by doc), *keylen and *val, any of which may be NULL. Returns false
// when `map` is not a MAP or i is out of range.
bool rp_doc_map_at(rp_doc *doc, rp_value map, size_t i, const char **key, size_t *keylen,
                   rp_value *val);
// Where a value came from in its source: 1-based line and byte column of its
// first byte (for a map value, of the value, not its key), or 0 and 0 for a
// built value. line and col may be NULL.
void rp_doc_pos(rp_doc *doc, rp_value v, int *line, int *col);
// Where key i of a MAP was in its source, as rp_doc_pos; 0 and 0 when built
// or out of range.
void rp_doc_key_pos(rp_doc *doc, rp_value map, size_t i, int *line, int *col);

// ---------------------------------------------------------------------------
// Loaders
// ---------------------------------------------------------------------------

// Parse `len` bytes of `src` (borrowed; nothing points into it afterwards)
// into doc, adding to whatever doc already holds, and set *root. `path`
// names the source in messages (NULL means "-"). A leading UTF-8 byte order
// mark is skipped (columns on line 1 count from after it). On failure the
// first problem is added to diags as PATH:LINE:COL: error: invalid JSON: ...
// (or invalid YAML: ...), *root is set to a null value and a negative status
// is returned: RP_ESYNTAX for malformed text, RP_EDATA for a duplicate key,
// NUL character or non-finite number, RP_ELIMIT for nesting deeper than
// RP_DATA_MAX_DEPTH or a source over 2 GiB. Nodes built before the error
// stay in doc until it is reset. An empty JSON text is an error; an empty
// YAML text is a null document.
int rp_json_parse(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                  rp_value *root);
int rp_yaml_parse(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                  rp_value *root);
// As rp_json_parse for one line of a larger file (for callers that split
// JSON Lines themselves): src's first byte is column 1 of line `line` (values
// below 1 mean 1), so positions read as the file's. No byte order mark is
// skipped.
int rp_json_parse_line(rp_doc *doc, const char *path, const char *src, size_t len, long line,
                       rp_diags *diags, rp_value *root);

// As rp_yaml_parse, but plain (unquoted) scalars are not typed: each stays
// a STRING with its text as written, marked plain (rp_doc_is_plain), so that
// a session's schema can type it ("no" stays the text "no" for a text field;
// `true` becomes a boolean only for a boolean field). Quoted scalars are
// STRINGs that are not plain.
int rp_yaml_parse_text(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                       rp_value *root);

// True for a STRING that was an unquoted YAML scalar read by
// rp_yaml_parse_text.
bool rp_doc_is_plain(rp_doc *doc, rp_value v);

// Reads the file at `path` (at most RP_DATA_MAX_FILE bytes) and parses it as
// JSON (.json) or YAML (.yaml, .yml; extensions in any case) into doc. Errors
// as the parsers; a file that cannot be read is RP_ENOTFOUND (does not exist)
// or RP_EIO, an unknown extension RP_EUSAGE, a file too large RP_ELIMIT, each
// reported at PATH with no line.
int rp_data_load_file(rp_doc *doc, const char *path, rp_diags *diags, rp_value *root);

// ---------------------------------------------------------------------------
// JSONL: one JSON value per line
// ---------------------------------------------------------------------------

typedef struct rp_jsonl rp_jsonl;

// Starts reading JSON Lines from f (borrowed: rp_jsonl_close does not close
// it). path (copied; NULL means "-") names it in messages. Never NULL.
rp_jsonl *rp_jsonl_open(FILE *f, const char *path);
// Resets doc and parses the next non-blank line into it. Lines may be of any
// length up to RP_DATA_MAX_FILE, end in LF or CRLF, and the last may lack its
// newline; lines holding only spaces and tabs are skipped. Returns 1 and sets
// *root for a value, 0 at the end of the input, or a negative status after
// adding one diagnostic (line numbers are the file's): a bad line is skipped
// and the next call goes on with the line after it. RP_EIO means the stream
// failed and further calls return 0.
int rp_jsonl_next(rp_jsonl *r, rp_doc *doc, rp_value *root, rp_diags *diags);
// Line number of the last line read (1-based; 0 before the first).
long rp_jsonl_line(const rp_jsonl *r);
// Frees the reader; r may be NULL. Does not fclose the stream.
void rp_jsonl_close(rp_jsonl *r);

// Appends v as indented JSON (two spaces, keys in insertion order, numbers
// as JavaScript prints them; NaN and the infinities as null) to out.
void rp_doc_write_json(rp_doc *doc, rp_value v, rp_buf *out);
// As rp_doc_write_json, on one line ending in a newline: a JSON Lines record.
// yajl escapes a line break inside a string, so the record is one line.
void rp_doc_write_json_line(rp_doc *doc, rp_value v, rp_buf *out);
