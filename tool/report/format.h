/* Durations as the table and the text show them. Pure. */
#ifndef GILSTATS_FORMAT_H
#define GILSTATS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "734.0ms", "5.10ms", "12us", "1.23s": 7 characters at most. */
void format_duration(uint64_t ns, char *buf, size_t len);

#endif
