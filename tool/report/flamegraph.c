#include "config.h"

#include "tool/report/flamegraph.h"

#include "tool/util/array.h"
#include "tool/util/escape.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1200.0
#define FRAME_HEIGHT 16
#define PAD_TOP 40
#define PAD_BOTTOM 10
#define PAD_SIDE 10
#define CHAR_WIDTH 6.5 /* of the 11px font: how many characters fit a box */
#define MAX_DEPTH 256

struct node {
	char *name;
	uint64_t count;
	size_t first_child, next_sibling; /* indices, 0: none (0 is the root) */
};

struct tree {
	struct node *nodes;
	size_t n, cap;
	size_t depth;
};

static size_t add_node(struct tree *t, size_t parent, const char *name, size_t len)
{
	size_t last = 0;

	for (size_t c = t->nodes[parent].first_child; c; last = c, c = t->nodes[c].next_sibling)
		if (strlen(t->nodes[c].name) == len && memcmp(t->nodes[c].name, name, len) == 0)
			return c;
	if (array_reserve((void **)&t->nodes, &t->cap, t->n + 1, sizeof *t->nodes, 256) != 0)
		return 0;
	t->nodes[t->n] = (struct node){ .name = strndup(name, len) };
	if (!t->nodes[t->n].name)
		return 0;
	if (last)
		t->nodes[last].next_sibling = t->n;
	else
		t->nodes[parent].first_child = t->n;
	return t->n++;
}

/* One folded line into the tree: "a;b;c 42". */
static int add_line(struct tree *t, const char *line, size_t len)
{
	const char *space = NULL, *p = line, *end;
	char *count_end;
	uint64_t count;
	size_t node = 0, depth = 0;

	for (size_t i = 0; i < len; i++)
		if (line[i] == ' ')
			space = line + i;
	if (!space || space == line)
		return 0;
	count = strtoull(space + 1, &count_end, 10);
	if (count_end != line + len || !count)
		return 0;
	t->nodes[0].count += count;
	for (end = p; p < space; p = end + 1) {
		for (end = p; end < space && *end != ';'; end++)
			;
		if (depth++ >= MAX_DEPTH)
			break;
		if (!(node = add_node(t, node, p, (size_t)(end - p))))
			return -1;
		t->nodes[node].count += count;
	}
	if (depth > t->depth)
		t->depth = depth;
	return 0;
}

/* A warm colour from the name, stable from one graph to the next. */
static void colour(const char *name, char *buf, size_t size)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * 16777619u;
	snprintf(buf, size, "rgb(%u,%u,%u)", 205 + h % 50, 80 + (h >> 8) % 130, 40 + (h >> 16) % 50);
}

/* The name cut to the box, by characters (a UTF-8 sequence is never cut). */
static void fit_label(const char *name, double width, char *buf, size_t size)
{
	size_t chars = (size_t)(width / CHAR_WIDTH), n = 0, shown = 0;

	buf[0] = '\0';
	if (chars < 3)
		return;
	while (name[n] && shown < chars && n + 4 < size) {
		size_t step = utf8_sequence((const unsigned char *)name + n);
		n += step ? step : 1;
		shown++;
	}
	if (name[n] && shown >= 2) {
		/* Room for "..": drop the last two characters shown. */
		while (n > 0 && shown > chars - 2) {
			do
				n--;
			while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80);
			shown--;
		}
		snprintf(buf, size, "%.*s..", (int)n, name);
		return;
	}
	snprintf(buf, size, "%.*s", (int)n, name);
}

static void draw(FILE *out, const struct tree *t, size_t node, size_t depth, double x, double scale, double height)
{
	const struct node *nd = &t->nodes[node];
	double w = (double)nd->count * scale, y = height - PAD_BOTTOM - (double)(depth + 1) * FRAME_HEIGHT;
	char fill[32], label[512];

	if (w < 0.1)
		return;
	if (node) {
		colour(nd->name, fill, sizeof fill);
		fputs("<g><title>", out);
		xml_write_escaped(out, nd->name);
		fprintf(out, " (%" PRIu64 " samples, %.2f%%)</title>", nd->count,
			100.0 * (double)nd->count / (double)t->nodes[0].count);
		fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>", x, y, w,
			FRAME_HEIGHT - 1, fill);
		fit_label(nd->name, w - 6, label, sizeof label);
		if (label[0]) {
			fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_HEIGHT - 4);
			xml_write_escaped(out, label);
			fputs("</text>", out);
		}
		fputs("</g>\n", out);
	}
	for (size_t c = nd->first_child; c; c = t->nodes[c].next_sibling) {
		draw(out, t, c, node ? depth + 1 : depth, x, scale, height);
		x += (double)t->nodes[c].count * scale;
	}
}

static void write_svg(FILE *out, const struct tree *t, const char *title)
{
	double height = PAD_TOP + PAD_BOTTOM + (double)(t->depth ? t->depth : 1) * FRAME_HEIGHT;
	double scale = t->nodes[0].count ? (WIDTH - 2 * PAD_SIDE) / (double)t->nodes[0].count : 0;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"font-family=\"monospace\" font-size=\"11\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfaf3\"/>\n<text x=\"%d\" y=\"24\" font-size=\"15\">",
		WIDTH, height, WIDTH, height, PAD_SIDE);
	xml_write_escaped(out, title);
	fprintf(out, " (%" PRIu64 " samples)</text>\n", t->nodes[0].count);
	draw(out, t, 0, 0, PAD_SIDE, scale, height);
	fputs("</svg>\n", out);
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->nodes[i].name);
	free(t->nodes);
}

int flamegraph_write(FILE *out, const char *folded, size_t len, const char *title)
{
	struct tree t = { 0 };
	int rc = 0;

	if (array_reserve((void **)&t.nodes, &t.cap, 1, sizeof *t.nodes, 256) != 0 ||
	    !(t.nodes[0] = (struct node){ .name = strdup("all") }).name)
		rc = -1;
	else
		t.n = 1;
	for (size_t at = 0; rc == 0 && at < len;) {
		const char *nl = memchr(folded + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - folded) : len;
		rc = add_line(&t, folded + at, end - at);
		at = end + 1;
	}
	if (rc == 0)
		write_svg(out, &t, title);
	tree_free(&t);
	return rc == 0 && !ferror(out) ? 0 : -1;
}
