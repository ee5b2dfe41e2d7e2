/* A flame graph of folded stacks ("frame;frame;... count" lines, outermost
 * first) as one self-contained SVG: each frame a box as wide as its
 * samples, callers below callees, a tooltip with its share. */
#ifndef GILSTATS_FLAMEGRAPH_H
#define GILSTATS_FLAMEGRAPH_H

#include <stddef.h>
#include <stdio.h>

/* Lines that do not parse (no count) are skipped. 0, or -1 when out of
 * memory or writing failed. */
int flamegraph_write(FILE *out, const char *folded, size_t len, const char *title);

#endif
