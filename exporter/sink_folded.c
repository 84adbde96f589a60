/*
 * sink_folded: collapsed stacks (exporter/folded.h) appended to one file
 * per profile kind under a directory, DIR/cpu.folded, DIR/mem.folded, ...,
 * so `flamegraph.pl DIR/cpu.folded` draws every CPU profile seen so far
 * (flamegraph.pl sums equal lines) and speedscope opens the same file.
 *
 *   - Type: folded
 *     Dir: /var/lib/profpipe/folded
 *     Per: profile         # or window, or both
 *
 * Windows go to DIR/KIND.window.folded, so that with Per: both a stack is
 * not counted twice in one file.
 *
 * The kind comes from the wire and becomes a file name, so it is reduced
 * to [A-Za-z0-9_-] first: no kind can name a file outside DIR.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "exporter/folded.h"
#include "exporter/sink.h"
#include "exporter/sink_dir.h"
#include "exporter/sink_file.h"

#define SINK_FOLDED_CAP ((size_t)256 * 1024 * 1024)
#define SINK_FOLDED_KIND_MAX 64

struct sink_folded {
	struct sink base;
	char *dir;
	struct folded fold;
	struct buf out;
	struct buf path;
};

static int
sink_folded_open(struct sink **out, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	static const char *const known[] = {"Type", "Dir", "Per", NULL};
	struct sink_folded *f;
	const char *dir;
	unsigned takes;
	char why[512];

	if (cfg_only(c, n, known, err, errlen) < 0 ||
	    cfg_str(c, n, "Dir", NULL, &dir, err, errlen) < 0 ||
	    sink_per(c, n, &takes, err, errlen) < 0)
		return -1;
	if (dir == NULL || dir[0] == '\0')
		return cfg_error(c, n, err, errlen,
		    "folded: Dir: required (the directory for KIND.folded "
		    "files)");
	if (sink_dir_mkdirs(dir, why, sizeof(why)) < 0)
		return cfg_error(
		    c, cfg_get(n, "Dir"), err, errlen, "Dir: %s", why);
	f = xcalloc(1, sizeof(*f));
	if (f == NULL)
		goto out_oom;
	f->dir = xstrdup(dir);
	if (f->dir == NULL)
		goto out_free_sink;
	f->base.ops = &sink_folded_ops;
	f->base.takes = takes;
	snprintf(f->base.name, sizeof(f->base.name), "folded %s", dir);
	folded_init(&f->fold);
	buf_init(&f->out, SINK_FOLDED_CAP);
	buf_init(&f->path, 8192);
	*out = &f->base;
	return 0;
out_free_sink:
	xfree(f);
out_oom:
	return cfg_error(c, n, err, errlen, "folded: out of memory");
}

/* DIR/KIND.folded (DIR/KIND.window.folded for windows) into f->path. */
static int
sink_folded_path(struct sink_folded *f, const char *kind, const char *suffix)
{
	size_t i;
	char k;

	buf_clear(&f->path);
	buf_puts(&f->path, f->dir);
	buf_putc(&f->path, '/');
	if (kind[0] == '\0')
		buf_puts(&f->path, "unknown");
	for (i = 0; kind[i] != '\0' && i < SINK_FOLDED_KIND_MAX; i++) {
		k = kind[i];
		if ((k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z') ||
		    (k >= '0' && k <= '9') || k == '-' || k == '_')
			buf_putc(&f->path, k);
		else
			buf_putc(&f->path, '_');
	}
	buf_puts(&f->path, suffix);
	return f->path.failed ? -1 : 0;
}

static int
sink_folded_append(struct sink *s, const Profpipe__Decoded *p,
    const char *suffix, size_t *nrec, char *err, size_t errlen)
{
	struct sink_folded *f = (struct sink_folded *)s;
	struct sink_file file;
	int rv;

	*nrec = 0;
	buf_clear(&f->out);
	if (folded_render(&f->fold, p, &f->out, nrec) < 0) {
		snprintf(err, errlen,
		    "%s: out of memory or more than %zu "
		    "bytes of stacks",
		    s->name, SINK_FOLDED_CAP);
		return -1;
	}
	if (*nrec == 0)
		return 0; /* no file for a profile without the kind's values */
	if (sink_folded_path(f, p->origin->kind, suffix) < 0) {
		snprintf(err, errlen, "%s: path too long", s->name);
		return -1;
	}
	if (sink_file_open(&file, (char *)f->path.data, err, errlen) < 0)
		return -1;
	if (sink_file_write(&file, f->out.data, f->out.len, err, errlen) < 0) {
		sink_file_abort(&file);
		return -1;
	}
	rv = sink_file_commit(&file, err, errlen);
	buf_clear(&f->out);
	return rv;
}

static int
sink_folded_write(struct sink *s, const Profpipe__Decoded *p, size_t *nrec,
    char *err, size_t errlen)
{
	return sink_folded_append(s, p, ".folded", nrec, err, errlen);
}

/* A window is written as a profile: the stage made its merged profile
 * carry the window's origin (profileID: the window's id) and length. */
static int
sink_folded_write_window(struct sink *s, const Profpipe__Window *w,
    size_t *nrec, char *err, size_t errlen)
{
	return sink_folded_append(
	    s, w->merged, ".window.folded", nrec, err, errlen);
}

static void
sink_folded_close(struct sink *s)
{
	struct sink_folded *f = (struct sink_folded *)s;

	if (f == NULL)
		return;
	folded_release(&f->fold);
	buf_release(&f->out);
	buf_release(&f->path);
	xfree(f->dir);
	xfree(f);
}

const struct sink_ops sink_folded_ops = {
    .type = "folded",
    .open = sink_folded_open,
    .write = sink_folded_write,
    .write_window = sink_folded_write_window,
    .close = sink_folded_close,
};
