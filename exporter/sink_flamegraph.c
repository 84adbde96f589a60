/*
 * sink_flamegraph: per window, its flame tree (exporter/flame.h) as JSON
 * and as an SVG flame graph (exporter/flame_svg.h), side by side:
 *
 *   - Type: flamegraph
 *     Dir: /var/lib/profpipe/flame
 *
 * writes DIR/SERVICE/INSTANCE/KIND/START-END.json and .svg (paths as in
 * exporter/sink_dir.h). The value drawn is the kind's column
 * (export_kind_column: cpu nanoseconds, inuse_space bytes, goroutine
 * count, mutex/block delay...), with the count that goes with it; a window
 * without that column writes nothing. Both files are renamed into place.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "exporter/flame.h"
#include "exporter/flame_svg.h"
#include "exporter/profile.h"
#include "exporter/sink.h"
#include "exporter/sink_dir.h"

#define SINK_FLAME_CAP ((size_t)512 * 1024 * 1024)

struct sink_flame {
	struct sink base;
	char *dir;
	struct flame tree;
	struct buf out;
	struct buf path;
};

static int
sink_flame_open(struct sink **out, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	static const char *const known[] = {"Type", "Dir", NULL};
	struct sink_flame *s;
	const char *dir;
	char why[512];

	if (cfg_only(c, n, known, err, errlen) < 0 ||
	    cfg_str(c, n, "Dir", NULL, &dir, err, errlen) < 0)
		return -1;
	if (dir == NULL || dir[0] == '\0')
		return cfg_error(c, n, err, errlen,
		    "flamegraph: Dir: required (the directory for .json and "
		    ".svg files)");
	if (sink_dir_mkdirs(dir, why, sizeof(why)) < 0)
		return cfg_error(
		    c, cfg_get(n, "Dir"), err, errlen, "Dir: %s", why);
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		goto out_oom;
	s->dir = xstrdup(dir);
	if (s->dir == NULL)
		goto out_free_sink;
	s->base.ops = &sink_flamegraph_ops;
	s->base.takes = SINK_WINDOWS;
	snprintf(s->base.name, sizeof(s->base.name), "flamegraph %s", dir);
	flame_init(&s->tree);
	buf_init(&s->out, SINK_FLAME_CAP);
	buf_init(&s->path, 8192);
	*out = &s->base;
	return 0;
out_free_sink:
	xfree(s);
out_oom:
	return cfg_error(c, n, err, errlen, "flamegraph: out of memory");
}

static void
sink_flame_time(char *out, size_t n, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
}

/* "shop all cpu 2023-11-14T22:13:20Z .. 2023-11-14T22:13:30Z" */
static void
sink_flame_title(char *out, size_t n, const Profpipe__Origin *o)
{
	char start[32];
	char end[32];

	sink_flame_time(start, sizeof(start), o->start_ns);
	sink_flame_time(end, sizeof(end), o->end_ns);
	snprintf(out, n, "%.100s %.100s %.40s %s .. %s", o->service,
	    o->instance[0] ? o->instance : "all", o->kind, start, end);
}

static int
sink_flame_file(struct sink_flame *s, const Profpipe__Origin *o,
    const char *ext, char *err, size_t errlen)
{
	int rv;

	if (sink_dir_window_path(&s->path, s->dir, o, ext) < 0) {
		snprintf(err, errlen, "%s: path too long", s->base.name);
		return -1;
	}
	rv = sink_dir_write(
	    (char *)s->path.data, s->out.data, s->out.len, err, errlen);
	buf_clear(&s->out);
	return rv;
}

static int
sink_flame_write_window(struct sink *base, const Profpipe__Window *w,
    size_t *nrec, char *err, size_t errlen)
{
	struct sink_flame *s = (struct sink_flame *)base;
	const Profpipe__Decoded *p = w->merged;
	struct export_col value;
	struct export_col count;
	const struct export_col *cp = &count;
	char title[512];

	*nrec = 0;
	if (export_kind_column(p, &value) < 0)
		return 0; /* nothing to draw */
	if (flame_count_column(p, &value, &count) < 0)
		cp = NULL;
	switch (flame_build(&s->tree, p, &value, cp)) {
	case 0:
		break;
	case -2:
		snprintf(err, errlen,
		    "%s: more than %zu elements, or %zu frames in its stacks",
		    base->name, (size_t)FLAME_MAX_ELEMS,
		    (size_t)FLAME_MAX_FRAMES);
		return SINK_SKIP;
	default:
		snprintf(err, errlen, "%s: out of memory", base->name);
		return -1;
	}
	sink_flame_title(title, sizeof(title), w->origin);
	buf_clear(&s->out);
	if (flame_json(&s->tree, title, &value, cp, &s->out) < 0)
		goto out_too_big;
	if (sink_flame_file(s, w->origin, ".json", err, errlen) < 0)
		return -1;
	if (flame_svg(&s->tree, title, &value, cp, &s->out) < 0)
		goto out_too_big;
	if (sink_flame_file(s, w->origin, ".svg", err, errlen) < 0)
		return -1;
	*nrec = s->tree.n;
	return 0;
out_too_big:
	buf_clear(&s->out);
	/* Out of memory for one drawing, or past the cap: the same tree
	 * would fail the same way again. */
	snprintf(err, errlen, "%s: out of memory or more than %zu bytes",
	    base->name, SINK_FLAME_CAP);
	return SINK_SKIP;
}

static void
sink_flame_close(struct sink *base)
{
	struct sink_flame *s = (struct sink_flame *)base;

	if (s == NULL)
		return;
	flame_release(&s->tree);
	buf_release(&s->out);
	buf_release(&s->path);
	xfree(s->dir);
	xfree(s);
}

const struct sink_ops sink_flamegraph_ops = {
    .type = "flamegraph",
    .open = sink_flame_open,
    .write_window = sink_flame_write_window,
    .close = sink_flame_close,
};
