/* Strings a traced process controls (thread names, comm, paths, version
 * strings, symbols) are untrusted: any process on the host can name its
 * threads with escape sequences. Each sink has one function here that
 * makes such a string safe for it. Pure logic. */
#ifndef GILSTATS_ESCAPE_H
#define GILSTATS_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence starting at s, or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
size_t utf8_sequence(const unsigned char *s);

/* Terminal and plain text: bytes 0x00-0x1F and 0x7F and the C1 controls
 * U+0080-U+009F become "\xHH", invalid UTF-8 becomes U+FFFD; the rest is
 * copied. Writes at most len bytes with the NUL, never a partial sequence;
 * returns the length written. */
size_t escape_text(char *buf, size_t len, const char *s);

/* escape_text, then padded with spaces or cut to exactly width columns
 * (one per code point), for a table cell. */
size_t escape_text_cell(char *buf, size_t len, const char *s, int width);

/* Columns of an escaped (valid UTF-8) string: one per code point. */
size_t text_columns(const char *s);

/* Cuts an escaped string to at most width columns; returns its length. */
size_t text_cut(char *s, size_t width);

/* A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD. */
void json_write_string(FILE *out, const char *s);

/* XML character data or an attribute value; control characters XML 1.0
 * cannot hold are dropped, invalid UTF-8 becomes U+FFFD. */
void xml_write_escaped(FILE *out, const char *s);

/* A Prometheus label value, without its quotes: valid UTF-8 (U+FFFD for
 * invalid bytes) with the exposition format's escapes for backslash,
 * double quote and newline; other control characters as the text \xHH. */
void escape_prom_label(FILE *out, const char *s);

#endif
