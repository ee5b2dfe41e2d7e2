#include "config.h"

#include "tool/report/screen.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool/util/escape.h"
#include "tool/report/stacks_render.h"

#define HIST_MAX_ROWS 14

struct screen {
	SCREEN *term;
	bool show_histogram;
	bool show_stacks; /* the pane of where the GIL goes */
	int y;           /* the next line of the frame being drawn */
	size_t left;     /* processes still to draw in it */
};

bool screen_possible(void)
{
	return isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
}

struct screen *screen_open(bool show_histogram)
{
	struct screen *s;

	if (!screen_possible() || !(s = calloc(1, sizeof *s)))
		return NULL;
	s->show_histogram = show_histogram;
	/* ncursesw writes UTF-8 (a thread named "grün") only in the user's
	 * locale; the C locale's would show its bytes as M-C M-<. */
	setlocale(LC_CTYPE, "");
	s->term = newterm(NULL, stdout, stdin);
	if (!s->term) {
		free(s);
		return NULL;
	}
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	return s;
}

void screen_close(struct screen *s)
{
	if (!s)
		return;
	endwin();
	delscreen(s->term);
	free(s);
}

static void put_line(int y, const char *text, attr_t attr)
{
	char cut[1024];

	/* Cut to the width in columns, not bytes: a UTF-8 name is wider in
	 * bytes than on the screen. */
	snprintf(cut, sizeof cut, "%s", text);
	attron(attr);
	mvaddnstr(y, 0, cut, COLS > 0 ? (int)text_cut(cut, (size_t)COLS) : 0);
	attroff(attr);
}

/* The histogram from line top, as many slots as fit above end. */
static int draw_histogram(int top, int end, const struct histogram *hist)
{
	char line[256];
	uint64_t peak = 0, lo, hi;
	int y = top, bar_width = COLS > 60 ? 30 : 10;

	for (unsigned k = 0; k < GS_HIST_SLOTS; k++)
		peak = hist->slots[k] > peak ? hist->slots[k] : peak;
	put_line(y++, "GIL waits this interval, by duration (usecs : count)", A_BOLD);
	for (unsigned k = 0; k < GS_HIST_SLOTS && y < end && y < LINES; k++) {
		int bar;
		if (!hist->slots[k])
			continue;
		histogram_slot_range(k, &lo, &hi);
		bar = (int)((double)hist->slots[k] * bar_width / (double)(peak ? peak : 1) + 0.5);
		snprintf(line, sizeof line, "%9llu -> %-8llu : %-8llu |%-*.*s|", (unsigned long long)lo,
			 (unsigned long long)hi, (unsigned long long)hist->slots[k], bar_width, bar,
			 "****************************************");
		put_line(y++, line, A_NORMAL);
	}
	return y;
}

static int histogram_height(const struct histogram *hist)
{
	int rows = 1;

	for (unsigned k = 0; k < GS_HIST_SLOTS; k++)
		rows += hist->slots[k] != 0;
	return rows > HIST_MAX_ROWS ? HIST_MAX_ROWS : rows;
}

void screen_frame_begin(struct screen *s, enum sort_key sort, size_t nprocesses)
{
	char status[160];

	erase();
	snprintf(status, sizeof status, "sorted by %s   [s] sort  [h] histogram  [p] python stacks  [q] quit",
		 sort_key_name(sort));
	put_line(0, status, A_DIM);
	s->y = 2;
	s->left = nprocesses ? nprocesses : 1;
}

void screen_frame_end(struct screen *s)
{
	(void)s;
	refresh();
}

/* Where the GIL went in the interval: the top stacks, from line y. */
static int draw_stacks(const struct report *r, int y, int lines)
{
	char text[STACKS_TEXT_TOP][512];
	size_t n;

	if (!r->hold || lines < 2)
		return y;
	n = stacks_lines(r->hold, r->summary, &text[0][0], sizeof text[0], (size_t)lines - 1);
	put_line(y++, n ? "GIL held in:" : "GIL held in: no Python stack sampled", A_BOLD);
	for (size_t i = 0; i < n; i++)
		put_line(y++, text[i], A_NORMAL);
	return y;
}

/* The process's rows, grouped by role when they do not fit in rows. */
static int draw_rows(const struct report *r, int y, int bottom)
{
	struct roles rows = { 0 };
	char row[512];
	size_t shown;

	table_header(row, sizeof row, COLS);
	put_line(y++, row, A_REVERSE);
	if (report_rows(r, bottom - y, &rows) != 0) {
		roles_free(&rows);
		return y;
	}
	shown = r->top > 0 && (size_t)r->top < rows.n ? (size_t)r->top : rows.n;
	for (size_t i = 0; i < shown && y < bottom; i++) {
		report_role_row(r, &rows.rows[i], row, sizeof row, COLS);
		put_line(y++, row, rows.rows[i].alive ? A_NORMAL : A_DIM);
	}
	roles_free(&rows);
	return y;
}

void screen_draw(struct screen *s, const struct report *r, const struct histogram *hist)
{
	const struct report_lines *lines = &r->lines;
	int y = s->y, bottom, hist_lines = 0;

	/* Host-wide, once: the line between the keys and the first process. */
	if (r->bpf) {
		char cost[160];
		bpf_cost_text(cost, sizeof cost, r->bpf, r->summary);
		put_line(1, cost, A_DIM);
	}
	put_line(y++, lines->target, A_BOLD);
	put_line(y++, lines->totals, A_NORMAL);
	put_line(y++, lines->verdict, A_BOLD);
	if (lines->lost[0])
		put_line(y++, lines->lost, A_BOLD);
	/* Each process a share of what is left of the screen. */
	bottom = y + (LINES - y) / (int)s->left;
	if (s->left > 1)
		hist = NULL;
	s->left = s->left > 1 ? s->left - 1 : 1;
	/* The histogram's space is kept from the rows, however many: up to
	 * half of what is left, so the rows (grouped to fit) keep the rest. */
	if (s->show_histogram && hist) {
		int height = histogram_height(hist) + 1, half = (bottom - y) / 2;
		hist_lines = height < half ? height : half;
		bottom -= hist_lines;
	}
	/* The stacks' lines are kept from the rows too: 6 at most. */
	if (s->show_stacks && r->target->gil_enabled && bottom - y > 8) {
		y = draw_stacks(r, y, STACKS_TEXT_TOP + 1);
		y++;
	}
	if (r->target->gil_enabled)
		y = draw_rows(r, y, bottom);
	if (hist_lines > 1)
		y = draw_histogram(y + 1, y + hist_lines, hist);
	s->y = y + 1;
}

void screen_attached(struct screen *s, const struct report_target *const *targets, size_t n, double first_in_s)
{
	char line[320], comm[64], version[64];
	int y = 2;

	erase();
	put_line(0, "[s] sort  [h] histogram  [p] python stacks  [q] quit", A_DIM);
	for (size_t i = 0; i < n && y < LINES; i++) {
		escape_text(comm, sizeof comm, targets[i]->comm);
		escape_text(version, sizeof version, targets[i]->python_version);
		snprintf(line, sizeof line, "pid %d (%s)  Python %s  GIL (%s, %s probe)", (int)targets[i]->pid, comm,
			 version, targets[i]->gil_method, targets[i]->probe);
		put_line(y++, line, A_BOLD);
	}
	snprintf(line, sizeof line, "attached, first figures in %g s", first_in_s);
	if (y < LINES)
		put_line(y, line, A_NORMAL);
	refresh();
	(void)s;
}

enum screen_action screen_keys(struct screen *s, enum sort_key *sort)
{
	enum screen_action action = SCREEN_NONE;
	int key;

	while ((key = getch()) != ERR) {
		switch (key) {
		case 'q':
		case 'Q':
			return SCREEN_QUIT;
		case 's':
			*sort = (enum sort_key)((*sort + 1) % SORT_KEYS);
			action = SCREEN_REDRAW;
			break;
		case 'h':
			s->show_histogram = !s->show_histogram;
			action = SCREEN_REDRAW;
			break;
		case 'p':
			s->show_stacks = !s->show_stacks;
			action = SCREEN_REDRAW;
			break;
		case KEY_RESIZE:
			action = SCREEN_REDRAW;
			break;
		default:
			break;
		}
	}
	return action;
}
