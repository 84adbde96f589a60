/*
 * sink_file: appending one profile's bytes to a file all or nothing. The
 * file is opened for each profile (so a rotated log file is followed
 * without a signal), written in chunks as the sink produces them, and on
 * any failure truncated back to its size before the profile, so that the
 * retry a missing ack brings does not leave half a profile twice. Standard
 * output ("-") is written the same way but cannot be truncated.
 */
#ifndef PROFPIPE_EXPORT_SINK_FILE_H
#define PROFPIPE_EXPORT_SINK_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct sink_file {
	const char *path; /* "-": standard output */
	int fd;
	off_t start; /* size before this profile; -1: cannot truncate */
};

/* Open path for appending (creating it 0644). 0, or -1 with err. */
int sink_file_open(
    struct sink_file *f, const char *path, char *err, size_t errlen);
/* Write all of p, retrying short writes and EINTR. 0, or -1 with err. */
int sink_file_write(
    struct sink_file *f, const void *p, size_t n, char *err, size_t errlen);
/* Close after success (a failing close(2) is a failed write: NFS reports
 * lost data there). 0, or -1 with err, the bytes truncated away. */
int sink_file_commit(struct sink_file *f, char *err, size_t errlen);
/* Give up: truncate back to where this profile started, and close. */
void sink_file_abort(struct sink_file *f);

#endif
