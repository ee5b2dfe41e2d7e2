/* The verdict: one line that answers "is the GIL slowing this process
 * down?", and its kind, decided from the GIL model (gil_model.h) of an
 * interval or of the whole run by the same rules. The rules and their
 * thresholds are documented in gilstats(8), VERDICT. Pure logic. */
#ifndef GILSTATS_VERDICT_H
#define GILSTATS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "tool/figures/gil_model.h"

/* Thresholds (see gilstats.8, VERDICT). */
#define VERDICT_IDLE_QUEUE 0.05          /* below: no one waited for the GIL to speak of */
#define VERDICT_SATURATED_HELD 0.6       /* held this share of the period... */
#define VERDICT_SATURATED_QUEUE 0.5      /* ...with this many threads' worth waiting: the bottleneck */
#define VERDICT_SATURATED_QUEUE_BLIND 1.0 /* the queue alone when utilisation is unknown */

/* The kinds, in the order the rules are tried; their names are stable
 * (JSON "verdict_kind", the gilstats_verdict metric). */
enum verdict_kind {
	VERDICT_HOLDER_BLOCKED,
	VERDICT_BOTTLENECK,
	VERDICT_CPU_STARVED,
	VERDICT_CONVOY,
	VERDICT_MODERATE,
	VERDICT_NONE,
	VERDICT_KINDS
};

const char *verdict_kind_name(enum verdict_kind kind);

/* The rule that applies to the model. */
enum verdict_kind verdict_decide(const struct gil_model *m, bool gil_enabled);

/* The line for the model's kind (the culprit's blocking call from hold,
 * which may be NULL); returns the kind. */
enum verdict_kind verdict_line(const struct gil_model *m, const struct gil_model_input *in, char *buf, size_t len);

#endif
