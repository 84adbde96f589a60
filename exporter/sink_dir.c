/*
 * sink_dir: window file paths and atomic writes. The temporary name is the
 * final one plus ".tmp"; one exporter writes a window at a time, so two
 * writers never share it, and a crash leaves at most a stale .tmp that the
 * next write of that window replaces.
 */
#include "exporter/sink_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SINK_DIR_COMPONENT_MAX 128

int
sink_dir_mkdirs(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	size_t i;
	int n;

	n = snprintf(path, sizeof(path), "%s", dir);
	if (n <= 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%.200s: empty or too long", dir);
		return -1;
	}
	for (i = 1; i <= (size_t)n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "mkdir %.300s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (i < (size_t)n)
			path[i] = '/';
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%.300s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK) < 0) {
		snprintf(err, errlen, "%.300s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void
sink_dir_component(struct buf *b, const char *s, const char *empty)
{
	size_t i;
	char c;

	buf_putc(b, '/');
	if (s[0] == '\0') {
		buf_puts(b, empty);
		return;
	}
	for (i = 0; s[i] != '\0' && i < SINK_DIR_COMPONENT_MAX; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    (c == '.' && i > 0))
			buf_putc(b, c);
		else
			buf_putc(b, '_');
	}
}

static int64_t
sink_dir_seconds(int64_t ns)
{
	return ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
}

int
sink_dir_window_path(struct buf *path, const char *dir,
    const Profpipe__Origin *o, const char *ext)
{
	buf_clear(path);
	buf_puts(path, dir);
	sink_dir_component(path, o->service, "unknown");
	sink_dir_component(path, o->instance, "all");
	sink_dir_component(path, o->kind, "unknown");
	buf_printf(path, "/%" PRId64 "-%" PRId64 "%s",
	    sink_dir_seconds(o->start_ns), sink_dir_seconds(o->end_ns), ext);
	buf_putc(path, '\0');
	path->len--;
	return path->failed ? -1 : 0;
}

static int
sink_dir_parent(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	int n;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		snprintf(err, errlen, "%.200s...: path too long", path);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return sink_dir_mkdirs(dir, err, errlen);
}

int
sink_dir_write(
    const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	char tmp[4200];
	const char *c = data;
	ssize_t k;
	int fd;

	if (sink_dir_parent(path, err, errlen) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%.300s: %s", tmp, strerror(errno));
		return -1;
	}
	while (len > 0) {
		k = write(fd, c, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "%.300s: write: %s", tmp,
			    strerror(errno));
			goto out_unlink;
		}
		c += k;
		len -= (size_t)k;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(
		    err, errlen, "%.300s: close: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename to %.300s: %s", path,
		    strerror(errno));
		goto out_unlink;
	}
	return 0;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}
