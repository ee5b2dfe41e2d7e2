/* Errors: one lowercase line naming what failed and why, plus the exit code
 * the tool ends with (see README.md, "Exit codes"). */
#ifndef GILSTATS_ERROR_H
#define GILSTATS_ERROR_H

enum gs_exit {
	GS_EXIT_OK = 0,
	GS_EXIT_FAILURE = 1,    /* something failed at run time */
	GS_EXIT_USAGE = 2,      /* bad command line */
	GS_EXIT_NOT_PYTHON = 3, /* the target is not a traceable CPython process */
	GS_EXIT_PRIVILEGE = 4,  /* missing privileges or kernel support */
};

struct gs_error {
	int exit_code;
	char msg[512];
};

/* Records the message and exit code; returns -1 so callers can
 * "return gs_fail(err, ...)". A NULL err is allowed. */
int gs_fail(struct gs_error *err, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "gilstats: MESSAGE" on stderr. A message can quote what a target
 * controls (a path in its maps, its name): escaped for the terminal. */
void gs_error_print(const struct gs_error *err);

#endif
