/* Where the metrics go: /metrics over HTTP (libmicrohttpd, in its own
 * thread), and node_exporter's textfile collector. */
#ifndef GILSTATS_METRICS_HTTP_H
#define GILSTATS_METRICS_HTTP_H

#include <stddef.h>

#include "tool/util/error.h"

struct metrics_server;

/* Listens on HOST:PORT (--listen). NULL with err set (one line). */
struct metrics_server *metrics_serve(const char *listen, struct gs_error *err);

/* The exposition served from now on (copied). */
void metrics_publish(struct metrics_server *srv, const char *text, size_t len);

void metrics_stop(struct metrics_server *srv);

/* DIR exists, is a directory and can be written: checked before anything
 * is attached (exit 2), not at every interval. */
int metrics_check_textfile(const char *dir, struct gs_error *err);

/* DIR/gilstats.prom, written whole (a temporary file renamed over it, so
 * the collector never reads half of it). Returns 0 or -1 (err set). */
int metrics_write_textfile(const char *dir, const char *text, size_t len, struct gs_error *err);

#endif
