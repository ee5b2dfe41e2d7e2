#include "config.h"

#include "tool/inspect/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void run_child(char **command, int go_read, int exec_write)
{
	char byte;
	int e;

	/* Signals blocked or ignored by gilstats must not be inherited. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* Wait until the probes are attached: EOF when the parent closes. */
	while (read(go_read, &byte, 1) < 0 && errno == EINTR)
		;
	execvp(command[0], command);
	e = errno;
	if (write(exec_write, &e, sizeof e) < 0)
		_exit(127);
	_exit(e == ENOENT ? 127 : 126);
}

int launch_prepare(char **command, struct launch *l, struct gs_error *err)
{
	int go[2], exec[2];

	memset(l, 0, sizeof *l);
	l->go_fd = l->exec_fd = -1;
	l->name = command[0];
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(exec, O_CLOEXEC) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot start %s: %s", command[0], strerror(errno));
	l->pid = fork();
	if (l->pid < 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot start %s: %s", command[0], strerror(errno));
	if (l->pid == 0) {
		close(go[1]);
		close(exec[0]);
		run_child(command, go[0], exec[1]);
	}
	close(go[0]);
	close(exec[1]);
	l->go_fd = go[1];
	l->exec_fd = exec[0];
	return 0;
}

int launch_go(struct launch *l, struct gs_error *err)
{
	ssize_t n;
	int e;

	close(l->go_fd);
	l->go_fd = -1;
	/* EOF (exec succeeded: the pipe closed on exec), or the child's errno. */
	while ((n = read(l->exec_fd, &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(l->exec_fd);
	l->exec_fd = -1;
	if (n == (ssize_t)sizeof e) {
		waitpid(l->pid, NULL, 0);
		l->pid = 0;
		return gs_fail(err, e == ENOENT ? 127 : 126, "cannot run %s: %s", l->name, strerror(e));
	}
	return 0;
}

int launch_finish(struct launch *l)
{
	int status;

	if (l->go_fd >= 0) {
		kill(l->pid, SIGKILL);
		close(l->go_fd);
		close(l->exec_fd);
		l->go_fd = l->exec_fd = -1;
	}
	while (waitpid(l->pid, &status, 0) < 0)
		if (errno != EINTR)
			return GS_EXIT_FAILURE;
	l->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
