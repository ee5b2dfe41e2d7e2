/* Where reports go: JSON Lines, plain text tables, or the live screen
 * (stdout a terminal, no -C, no -o), and the --svg chart at the end. */
#ifndef GILSTATS_OUTPUT_H
#define GILSTATS_OUTPUT_H

#include <stdbool.h>

#include "tool/cli.h"
#include "tool/util/error.h"
#include "tool/figures/histogram.h"
#include "tool/report/render.h"
#include "tool/report/screen.h"

struct output;

/* Whether output_open will take over the terminal for the live screen. */
bool output_is_live(const struct options *opt);

/* The files -o and --svg name can be written (they are created now,
 * truncated when written): checked before anything is compiled or
 * attached, so a typo is a usage error at once, not a line at the end. */
int output_check_paths(const struct options *opt, struct gs_error *err);

struct output *output_open(const struct options *opt, struct gs_error *err);

/* Around the intervals of every process: one screen shows them all. */
void output_frame_begin(struct output *out, size_t nprocesses);
void output_frame_end(struct output *out);

/* Once attached: the live view shows its header at once (nothing
 * elsewhere: text and JSON have figures only). */
void output_attached(struct output *out, const struct report_target *const *targets, size_t n, double first_in_s);

/* One interval; r->sort is set from the view. */
void output_interval(struct output *out, struct report *r, const struct histograms *h);

/* The run's summary: the live screen closes first, so it lands on the
 * normal screen; then the --svg chart. Returns 0 or -1 (err set). */
int output_summary(struct output *out, struct report *r, const struct histograms *h, struct gs_error *err);

/* The live screen's keyboard (-1 when there is none), and its keys. */
int output_input_fd(const struct output *out);
enum screen_action output_keys(struct output *out);

/* The sort order the view shows. */
enum sort_key output_sort(const struct output *out);

/* Why writing failed (a closed pipe, a full disk), or 0: the run ends. */
int output_error(const struct output *out);

void output_close(struct output *out);

#endif
