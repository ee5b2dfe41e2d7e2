#include "config.h"

#include "tool/util/error.h"

#include "tool/util/escape.h"

#include <stdarg.h>
#include <stdio.h>

int gs_fail(struct gs_error *err, int exit_code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void gs_error_print(const struct gs_error *err)
{
	char line[4 * sizeof err->msg];

	escape_text(line, sizeof line, err->msg);
	fprintf(stderr, "gilstats: %s\n", line);
}
