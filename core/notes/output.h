// Output formats of a note: Markdown made safe, HTML and plain text.
//
// A note's layout is a Mustache template that produces Markdown. Session
// text typed by a therapist is interpolated into it with
// rp_output_escape_markdown, so that whatever the therapist typed reads back
// literally in every format: it never becomes markup and nothing is dropped.
// rp_output_html and rp_output_text then turn the finished Markdown into the
// two other formats with cmark-gfm (tables, task lists, strikethrough).
//
// This module is the only one that includes cmark-gfm.
//
// Thread safety: every function here may run in several threads at once.
#pragma once

#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

// Appends `s` (`len` bytes of UTF-8, need not be NUL-terminated) to `out` as
// Markdown text that CommonMark and GFM read back as exactly `s`, wherever a
// template places it: in a paragraph, a heading, a list item or a table
// cell, at the start of a line or after other text, next to other values.
// `out` holds the Markdown written so far (it is read, see line breaks).
//
// Only what could be read as markup is changed, so the Markdown output stays
// readable:
// - `\` `` ` `` `*` `~` `[` `]` `<` `|` are always backslash-escaped,
//   and `_` too unless it stands between two ASCII letters or digits, where
//   it cannot start or end emphasis (client_id stays as typed); `&` is
//   escaped where it could start an entity: before a letter, a digit or `#`,
//   and at the end of the value ("a & b" stays as it is).
// - `>` `-` `+` `=` `:` `#` are escaped at the start of the value (and of
//   each of its lines, below), where they could open a block quote, a list,
//   a thematic break, a setext underline, a table's delimiter row or a
//   heading; elsewhere they are plain text ("thought log #3" stays as
//   typed), except `#` in a heading, where a run of them at its end would
//   close it, so there it is escaped everywhere.
// - `.` and `)` are escaped where they could end an ordered-list marker: when
//   only digits precede them on the value's line and a space, a tab or the
//   end of the line follows ("1986. A great year" -> "1986\. A great year",
//   while "7.5" stays).
// - A line break (LF) is a line break in the Markdown too: a hard break, `\`
//   at the end of the line, so that the Markdown reads as the session does.
//   Each line of the value is escaped as a value of its own (its start where
//   it could open a block, its edge white space), so the next line can only
//   continue the paragraph (lazily inside a list item or a block quote). A
//   line break cannot stand in a table row or a heading, where it would end
//   the row or the heading; there it is written as `&#10;`, as it is at the
//   very start or end of a value (a hard break at the edge of a paragraph
//   shows as a backslash). CR is always `&#13;`, and so are the other C0
//   controls except tab. The HTML shows a hard break and `&#10;` alike, as a
//   line break (its stylesheet preserves white space, see rp_output_html);
//   the plain text has the newline itself.
//
//   The escaper cannot see the template, so it learns where the value goes
//   from `out`, the note so far: the line the value continues is a table
//   row or a heading when its first byte after blanks is `|` or `#`. Layouts
//   therefore start every table row with `|` and write headings with `#`
//   (ATX), as the built-in layouts do; a value in a setext heading or in a
//   table row written without its leading `|` would get hard breaks.
// - White space at the start and at the end of the value and of each of its
//   lines (spaces, tabs and Unicode space separators such as U+00A0) is
//   written as numeric references (`&#32;`, `&#9;`, `&#160;`), because Markdown strips it (four
//   leading spaces would make an indented code block, two trailing ones a
//   hard break) and emphasis placed around the value would not close next
//   to it. They decode to the same characters in HTML and plain text.
// - A backslash that ends the value (or one of its lines) is written as `&#92;`: GFM splits table
//   rows at `|` before it reads escapes, so `\\|` would hide the template's
//   cell separator. A byte-order mark at the start is written as `&#65279;`.
// NUL cannot be represented (CommonMark replaces it with U+FFFD); Rapport's
// loaders refuse NUL in session files. Template authors must not put values
// inside code spans or code blocks, where Markdown reads no escapes.
void rp_output_escape_markdown(rp_buf *out, const char *s, size_t len);

// Converts the Markdown `md` (`len` bytes) into one self-contained HTML
// document appended to `out`: `<!doctype html>`, UTF-8, `title` as the
// document title (HTML-escaped; NULL means "Note"), and an inline print
// stylesheet (A4 and Letter margins, bordered tables, task-list
// checkboxes). The document loads nothing: no scripts, fonts, images or
// other resources, and its Content-Security-Policy forbids them.
//
// Notes are data, not pages, so the Markdown is trusted with nothing: raw
// HTML, whether typed in a template or anywhere else, is shown as its
// literal text (an HTML block becomes a code block); links to javascript:,
// vbscript:, file: and data: (except PNG, GIF, JPEG and WebP images) are
// emptied, as cmark-gfm does without CMARK_OPT_UNSAFE; an image becomes a
// link to it showing its alt text. GFM's extended autolinks (bare www.,
// http: and e-mail addresses) are off: they work on the text after escapes
// are read, so they would turn addresses typed in a session into links.
//
// Soft line breaks of the Markdown show as spaces, as browsers show them;
// text keeps its white space (`white-space: pre-wrap`), so a newline or a
// run of spaces typed in a session shows as typed.
//
// Returns RP_OK, or a negative rp_status after adding a diagnostic (path
// "-": the Markdown has no file of its own). `out` is then unchanged.
int rp_output_html(const char *md, size_t len, const char *title, rp_buf *out, rp_diags *diags);

// Converts the Markdown `md` into plain text for pasting into an electronic
// health record, appended to `out`. Nothing is wrapped and no text is
// dropped: headings become their text on a line of its own, paragraphs are
// separated by a blank line, list items start with "- " or "N. " (task
// items with "- [ ] " or "- [x] "), nested blocks are indented under their
// item, block quotes start with "> ", table rows become cells joined by
// " | ", emphasis and code marks disappear, a link shows its text followed
// by " (URL)" when the URL differs from the text, an image shows its alt
// text, raw HTML shows as written, and soft line breaks become spaces (as
// in HTML). Lines inside a paragraph, heading or cell (a value's newlines,
// hard breaks) are not indented, so typed text comes out exactly as typed.
// The text ends with one newline (nothing for an empty document).
//
// Returns RP_OK, or a negative rp_status after adding a diagnostic; `out` is
// then unchanged.
int rp_output_text(const char *md, size_t len, rp_buf *out, rp_diags *diags);
