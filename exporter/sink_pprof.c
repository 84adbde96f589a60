/*
 * sink_pprof: one gzipped pprof file per window per series, for `go tool
 * pprof` and anything else that reads pprof (exporter/pprof_pack.h):
 *
 *   - Type: pprof
 *     Dir: /var/lib/profpipe/pprof
 *
 * writes DIR/SERVICE/INSTANCE/KIND/START-END.pb.gz (exporter/sink_dir.h:
 * INSTANCE "all" for merged instances, START and END unix seconds). Each
 * file is written whole under a temporary name and renamed into place.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "exporter/pprof_pack.h"
#include "exporter/sink.h"
#include "exporter/sink_dir.h"

#define SINK_PPROF_CAP ((size_t)512 * 1024 * 1024)

struct sink_pprof {
	struct sink base;
	char *dir;
	struct buf out;
	struct buf path;
};

static int
sink_pprof_open(struct sink **out, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	static const char *const known[] = {"Type", "Dir", NULL};
	struct sink_pprof *s;
	const char *dir;
	char why[512];

	if (cfg_only(c, n, known, err, errlen) < 0 ||
	    cfg_str(c, n, "Dir", NULL, &dir, err, errlen) < 0)
		return -1;
	if (dir == NULL || dir[0] == '\0')
		return cfg_error(c, n, err, errlen,
		    "pprof: Dir: required (the directory for .pb.gz files)");
	if (sink_dir_mkdirs(dir, why, sizeof(why)) < 0)
		return cfg_error(
		    c, cfg_get(n, "Dir"), err, errlen, "Dir: %s", why);
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		goto out_oom;
	s->dir = xstrdup(dir);
	if (s->dir == NULL)
		goto out_free_sink;
	s->base.ops = &sink_pprof_ops;
	s->base.takes = SINK_WINDOWS;
	snprintf(s->base.name, sizeof(s->base.name), "pprof %s", dir);
	buf_init(&s->out, SINK_PPROF_CAP);
	buf_init(&s->path, 8192);
	*out = &s->base;
	return 0;
out_free_sink:
	xfree(s);
out_oom:
	return cfg_error(c, n, err, errlen, "pprof: out of memory");
}

static int
sink_pprof_write_window(struct sink *base, const Profpipe__Window *w,
    size_t *nrec, char *err, size_t errlen)
{
	struct sink_pprof *s = (struct sink_pprof *)base;
	int rv;

	*nrec = 0;
	buf_clear(&s->out);
	if (pprof_pack(w->merged, &s->out, nrec) < 0) {
		snprintf(err, errlen,
		    "%s: out of memory or more than %zu bytes packed",
		    base->name, SINK_PPROF_CAP);
		return -1;
	}
	if (sink_dir_window_path(&s->path, s->dir, w->origin, ".pb.gz") < 0) {
		snprintf(err, errlen, "%s: path too long", base->name);
		return -1;
	}
	rv = sink_dir_write(
	    (char *)s->path.data, s->out.data, s->out.len, err, errlen);
	buf_clear(&s->out);
	return rv;
}

static void
sink_pprof_close(struct sink *base)
{
	struct sink_pprof *s = (struct sink_pprof *)base;

	if (s == NULL)
		return;
	buf_release(&s->out);
	buf_release(&s->path);
	xfree(s->dir);
	xfree(s);
}

const struct sink_ops sink_pprof_ops = {
    .type = "pprof",
    .open = sink_pprof_open,
    .write_window = sink_pprof_write_window,
    .close = sink_pprof_close,
};
