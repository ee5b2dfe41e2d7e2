/* The live view: a full-screen, top-like table drawn with ncurses when
 * stdout is a terminal. Keys: q quits, s cycles the sort, h toggles the
 * histogram; the screen follows the terminal's size. */
#ifndef GILSTATS_SCREEN_H
#define GILSTATS_SCREEN_H

#include <stdbool.h>

#include "tool/figures/histogram.h"
#include "tool/report/render.h"

enum screen_action { SCREEN_NONE, SCREEN_QUIT, SCREEN_REDRAW };

struct screen;

/* Whether the live screen can be used: stdin and stdout are terminals. */
bool screen_possible(void);

/* Takes over the terminal; NULL when it cannot (then print text). */
struct screen *screen_open(bool show_histogram);
/* Gives the terminal back, as it was. */
void screen_close(struct screen *s);

/* A frame: the status line, then one block per process (screen_draw:
 * its lines, its verdict, its threads), shown at the end. */
void screen_frame_begin(struct screen *s, enum sort_key sort, size_t nprocesses);
void screen_frame_end(struct screen *s);

/* Draws one process's report into the frame; hist (process-wide, shown
 * when it is the only process) may be NULL. */
void screen_draw(struct screen *s, const struct report *r, const struct histogram *hist);

/* Before the first interval: the processes traced and when their first
 * figures come. */
void screen_attached(struct screen *s, const struct report_target *const *targets, size_t n, double first_in_s);

/* Handles the keys pressed so far: *sort changes with s, the histogram
 * shows or hides with h; SCREEN_REDRAW asks for the report again. */
enum screen_action screen_keys(struct screen *s, enum sort_key *sort);

#endif
