/*
 * sink_jsonl: per-stack records (exporter/records.h), one JSON object a
 * line, appended to a file or written to standard output ("-") for a log
 * pipeline to pick up. Records are produced stack by stack and written in
 * chunks, so a profile of a hundred thousand stacks never sits in memory
 * as text all at once.
 *
 *   - Type: jsonl
 *     Path: "-"            # or a file, appended to
 *     Per: profile         # or window, or both
 *
 * Per window, the records have the same shape: profileID is the window's
 * id, durationNs its length, instance "" when instances were merged.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "exporter/records.h"
#include "exporter/sink.h"
#include "exporter/sink_file.h"

#define SINK_JSONL_CHUNK ((size_t)256 * 1024)
#define SINK_JSONL_CAP ((size_t)256 * 1024 * 1024)

struct sink_jsonl {
	struct sink base;
	char *path;
	struct buf out;
};

static int
sink_jsonl_new(struct sink **out, const char *path, unsigned takes, char *err,
    size_t errlen)
{
	struct sink_jsonl *j;

	j = xcalloc(1, sizeof(*j));
	if (j == NULL)
		goto out_oom;
	j->path = xstrdup(path);
	if (j->path == NULL)
		goto out_free_sink;
	j->base.ops = &sink_jsonl_ops;
	j->base.takes = takes;
	snprintf(j->base.name, sizeof(j->base.name), "jsonl %s", path);
	buf_init(&j->out, SINK_JSONL_CAP);
	*out = &j->base;
	return 0;
out_free_sink:
	xfree(j);
out_oom:
	snprintf(err, errlen, "jsonl %s: out of memory", path);
	return -1;
}

int
sink_jsonl_stdout(struct sink **out, char *err, size_t errlen)
{
	return sink_jsonl_new(out, "-", SINK_PROFILES, err, errlen);
}

static int
sink_jsonl_open(struct sink **out, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	static const char *const known[] = {"Type", "Path", "Per", NULL};
	struct sink_file f;
	const char *path;
	unsigned takes;
	char why[512];

	if (cfg_only(c, n, known, err, errlen) < 0 ||
	    cfg_str(c, n, "Path", "-", &path, err, errlen) < 0 ||
	    sink_per(c, n, &takes, err, errlen) < 0)
		return -1;
	if (path[0] == '\0')
		return cfg_error(c, cfg_get(n, "Path"), err, errlen,
		    "Path: empty (use \"-\" for standard output)");
	/* Fail at start, not at the first profile, if the file cannot be
	 * written; the error names the config line. */
	if (strcmp(path, "-") != 0) {
		if (sink_file_open(&f, path, why, sizeof(why)) < 0)
			return cfg_error(c, cfg_get(n, "Path"), err, errlen,
			    "Path: %s", why);
		sink_file_commit(&f, err, errlen);
	}
	return sink_jsonl_new(out, path, takes, err, errlen);
}

static int
sink_jsonl_drain(
    struct sink_jsonl *j, struct sink_file *f, char *err, size_t errlen)
{
	int rv = sink_file_write(f, j->out.data, j->out.len, err, errlen);

	buf_clear(&j->out);
	return rv;
}

static int
sink_jsonl_write(struct sink *s, const Profpipe__Decoded *p, size_t *nrec,
    char *err, size_t errlen)
{
	struct sink_jsonl *j = (struct sink_jsonl *)s;
	struct records r;
	struct sink_file f;
	size_t n = export_n_stacks(p);
	size_t i;

	*nrec = 0;
	buf_clear(&j->out);
	if (records_init(&r, p) < 0) {
		snprintf(err, errlen, "%s: out of memory", s->name);
		goto out_release;
	}
	if (sink_file_open(&f, j->path, err, errlen) < 0)
		goto out_release;
	for (i = 0; i < n; i++) {
		if (records_stack(&r, i, &j->out, nrec) < 0) {
			snprintf(err, errlen,
			    "%s: stack %zu: out of memory "
			    "or longer than %zu bytes",
			    s->name, i, SINK_JSONL_CAP);
			goto out_abort;
		}
		if (j->out.len >= SINK_JSONL_CHUNK &&
		    sink_jsonl_drain(j, &f, err, errlen) < 0)
			goto out_abort;
	}
	if (sink_jsonl_drain(j, &f, err, errlen) < 0)
		goto out_abort;
	records_release(&r);
	return sink_file_commit(&f, err, errlen);
out_abort:
	sink_file_abort(&f);
out_release:
	records_release(&r);
	buf_clear(&j->out);
	return -1;
}

/* A window is written as a profile: the stage made its merged profile
 * carry the window's origin (profileID: the window's id) and length. */
static int
sink_jsonl_write_window(struct sink *s, const Profpipe__Window *w,
    size_t *nrec, char *err, size_t errlen)
{
	return sink_jsonl_write(s, w->merged, nrec, err, errlen);
}

static void
sink_jsonl_close(struct sink *s)
{
	struct sink_jsonl *j = (struct sink_jsonl *)s;

	if (j == NULL)
		return;
	buf_release(&j->out);
	xfree(j->path);
	xfree(j);
}

const struct sink_ops sink_jsonl_ops = {
    .type = "jsonl",
    .open = sink_jsonl_open,
    .write = sink_jsonl_write,
    .write_window = sink_jsonl_write_window,
    .close = sink_jsonl_close,
};
