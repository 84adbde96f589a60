/*
 * sink_file: all-or-nothing appends for the file sinks. write(2) straight
 * from the sink's buffer, no stdio: a short write or ENOSPC is seen at
 * once, with nothing hidden in a library buffer that a later fflush would
 * report against the wrong profile.
 */
#include "exporter/sink_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where truncating back to would undo this profile, or -1 for a pipe or
 * terminal, which keep what they were given. */
static off_t
sink_file_start(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return lseek(fd, 0, SEEK_END);
}

int
sink_file_open(struct sink_file *f, const char *path, char *err, size_t errlen)
{
	f->path = path;
	if (strcmp(path, "-") == 0) {
		f->fd = STDOUT_FILENO;
	} else {
		f->fd = open(
		    path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (f->fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	f->start = sink_file_start(f->fd);
	return 0;
}

int
sink_file_write(
    struct sink_file *f, const void *p, size_t n, char *err, size_t errlen)
{
	const char *c = p;
	ssize_t k;

	while (n > 0) {
		k = write(f->fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "%s: write: %s",
			    strcmp(f->path, "-") == 0 ? "stdout" : f->path,
			    strerror(errno));
			return -1;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

int
sink_file_commit(struct sink_file *f, char *err, size_t errlen)
{
	if (f->fd == STDOUT_FILENO)
		return 0;
	if (close(f->fd) < 0) {
		snprintf(
		    err, errlen, "%s: close: %s", f->path, strerror(errno));
		f->fd = -1;
		if (f->start >= 0 && truncate(f->path, f->start) < 0) {
			/* the retry will duplicate; nothing else to do */
		}
		return -1;
	}
	f->fd = -1;
	return 0;
}

void
sink_file_abort(struct sink_file *f)
{
	if (f->start >= 0 && ftruncate(f->fd, f->start) == 0)
		lseek(f->fd, f->start, SEEK_SET);
	if (f->fd != STDOUT_FILENO)
		close(f->fd);
	f->fd = -1;
}
