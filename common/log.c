/*
 * log: stderr lines for a supervisor to collect. Each line is formatted into
 * one buffer and written with a single write(2) so that concurrent threads
 * never interleave halves of lines.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "profpipe";
static volatile int log_level = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_enabled(enum log_level level)
{
	return (int)level <= log_level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;
	int m;

	if (!log_enabled(level))
		return;
	n = snprintf(
	    line, sizeof(line), "%s: %s: ", log_prog, level_names[level]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
