/* Launch mode: gilstats starts COMMAND itself, attaches before the child
 * runs a line of it, and passes its exit status through (like time(1)). */
#ifndef GILSTATS_LAUNCH_H
#define GILSTATS_LAUNCH_H

#include <sys/types.h>

#include "tool/util/error.h"

struct launch {
	pid_t pid;
	int go_fd;   /* closing it lets the child exec */
	int exec_fd; /* the child reports a failed exec here */
	char *name;
};

/* Forks a child that waits, then will exec command. */
int launch_prepare(char **command, struct launch *l, struct gs_error *err);

/* Lets the child exec. Fails (exit code 127 or 126) when it could not. */
int launch_go(struct launch *l, struct gs_error *err);

/* Waits for the child; returns the exit status to pass through (its exit
 * code, or 128 + the signal that killed it). A child that was never let
 * run (an error came first) is killed instead. */
int launch_finish(struct launch *l);

#endif
