#include "config.h"

#include "tool/util/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

size_t utf8_sequence(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* The control character a sequence of n bytes at p encodes (C0, DEL or
 * C1), or -1 when it is none: terminals act on all of them. */
static int control_of(const unsigned char *p, size_t n)
{
	if (n == 1 && (*p < 0x20 || *p == 0x7f))
		return *p;
	if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return p[1];
	return -1;
}

/* The text form of the sequence at p (advanced past it) into piece. */
static size_t text_piece(const unsigned char **p, char piece[8])
{
	size_t n = utf8_sequence(*p);
	int control = n ? control_of(*p, n) : -1;
	static const char hex[] = "0123456789abcdef";

	if (n == 0) {
		*p += 1;
		memcpy(piece, REPLACEMENT, 3);
		return 3;
	}
	if (control >= 0) {
		*p += n;
		piece[0] = '\\', piece[1] = 'x', piece[2] = hex[control >> 4], piece[3] = hex[control & 15];
		return 4;
	}
	memcpy(piece, *p, n);
	*p += n;
	return n;
}

size_t escape_text(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t out = 0;

	if (len == 0)
		return 0;
	while (*p) {
		char piece[8];
		size_t k = text_piece(&p, piece);
		if (out + k >= len)
			break;
		memcpy(buf + out, piece, k);
		out += k;
	}
	buf[out] = '\0';
	return out;
}

size_t text_columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

size_t text_cut(char *s, size_t width)
{
	size_t columns = 0, i = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && columns++ == width)
			break;
	}
	s[i] = '\0';
	return i;
}

size_t escape_text_cell(char *buf, size_t len, const char *s, int width)
{
	size_t n, columns;

	escape_text(buf, len, s);
	n = text_cut(buf, width > 0 ? (size_t)width : 0);
	for (columns = text_columns(buf); columns < (size_t)(width > 0 ? width : 0) && n + 1 < len; columns++)
		buf[n++] = ' ';
	buf[n] = '\0';
	return n;
}

void json_write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', out);
	while (*p) {
		size_t n = utf8_sequence(p);
		if (n == 0) {
			fputs("\\ufffd", out);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
	fputc('"', out);
}

void xml_write_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = utf8_sequence(p);
		switch (n == 1 ? *p : 0) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if (n == 0) /* not UTF-8: U+FFFD */
				fputs(REPLACEMENT, out);
			else if (n > 1 || *p >= 0x20 || *p == '\t') /* no control characters in XML 1.0 */
				fwrite(p, 1, n, out);
		}
		p += n ? n : 1;
	}
}

void escape_prom_label(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = utf8_sequence(p);
		int control = n ? control_of(p, n) : -1;
		if (n == 0)
			fputs(REPLACEMENT, out);
		else if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (control >= 0) /* the text \xHH: its backslash escaped */
			fprintf(out, "\\\\x%02x", (unsigned)control);
		else
			fwrite(p, 1, n, out);
		p += n ? n : 1;
	}
}
