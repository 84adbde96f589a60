/*
 * flame_svg: x positions come from the pre-order itself: a child starts
 * where its parent's previous children ended, so one pass over the
 * elements, with a cursor per element, lays the graph out. Widths use the
 * value total; an element with a total of 0 or less (a window can hold
 * negative deltas) is not drawn.
 */
#include "exporter/flame_svg.h"

#include <inttypes.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define FLAME_SVG_ROW 16
#define FLAME_SVG_TOP 56
#define FLAME_SVG_PAD 10
#define FLAME_SVG_CHAR 7.0 /* px per character at font-size 12 monospace */
#define FLAME_SVG_MIN_W 0.1

void
flame_svg_package(const char *function, char *pkg, size_t n)
{
	const char *slash = strrchr(function, '/');
	const char *start = slash != NULL ? slash + 1 : function;
	const char *dot = strchr(start, '.');
	size_t len = dot != NULL ? (size_t)(dot - function) : strlen(function);

	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(pkg, function, len);
	pkg[len] = '\0';
}

/* Text for XML: specials escaped, bytes outside printable ASCII as '?',
 * at most max characters (0: all), ".." marking a cut. */
static void
flame_svg_text(struct buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	size_t keep = max != 0 && n > max ? max - 2 : n;
	size_t i;
	unsigned char c;

	for (i = 0; i < keep; i++) {
		c = (unsigned char)s[i];
		if (c == '&')
			buf_puts(b, "&amp;");
		else if (c == '<')
			buf_puts(b, "&lt;");
		else if (c == '>')
			buf_puts(b, "&gt;");
		else if (c == '"')
			buf_puts(b, "&quot;");
		else if (c < 0x20 || c > 0x7e)
			buf_putc(b, '?');
		else
			buf_putc(b, (char)c);
	}
	if (keep < n)
		buf_puts(b, "..");
}

/* Warm colours: red high, green anywhere low to high, blue low. */
static void
flame_svg_colour(const char *sig, unsigned *r, unsigned *g, unsigned *bl)
{
	char pkg[256];
	char fn[512];
	const char *colon = strrchr(sig, ':');
	size_t len = colon != NULL ? (size_t)(colon - sig) : strlen(sig);
	uint64_t h;

	if (len >= sizeof(fn))
		len = sizeof(fn) - 1;
	memcpy(fn, sig, len);
	fn[len] = '\0';
	flame_svg_package(fn, pkg, sizeof(pkg));
	h = hash_bytes(HASH_SEED, pkg, strlen(pkg));
	*r = 205 + (unsigned)(h % 51);
	*g = 60 + (unsigned)((h >> 16) % 171);
	*bl = (unsigned)((h >> 32) % 56);
}

static void
flame_svg_amount(struct buf *b, int64_t v, const char *unit)
{
	if (strcmp(unit, "nanoseconds") == 0)
		buf_printf(b, "%.3f s", (double)v / 1e9);
	else if (strcmp(unit, "bytes") == 0)
		buf_printf(b, "%.2f MiB", (double)v / (1024.0 * 1024.0));
	else
		buf_printf(b, "%" PRId64 " %s", v, unit);
}

static void
flame_svg_head(struct buf *b, const struct flame *f, const char *title,
    const struct export_col *value, const struct export_col *count,
    unsigned height)
{
	buf_printf(b,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\">\n"
	    "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" "
	    "fill=\"#f8f4ec\"/>\n"
	    "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" "
	    "font-family=\"Verdana,sans-serif\" font-size=\"17\">",
	    FLAME_SVG_WIDTH, height, FLAME_SVG_WIDTH, height,
	    FLAME_SVG_WIDTH / 2);
	flame_svg_text(b, title, 0);
	buf_printf(b,
	    "</text>\n<text x=\"%d\" y=\"44\" text-anchor=\"middle\" "
	    "font-family=\"Verdana,sans-serif\" font-size=\"12\" "
	    "fill=\"#444\">",
	    FLAME_SVG_WIDTH / 2);
	flame_svg_text(b, value->type, 0);
	buf_puts(b, ": ");
	flame_svg_amount(b, f->n ? f->elems[0].total : 0, value->unit);
	if (count != NULL) {
		buf_puts(b, ", ");
		flame_svg_text(b, count->type, 0);
		buf_printf(
		    b, ": %" PRId64, f->n ? f->elems[0].count_total : 0);
	}
	buf_puts(
	    b, "</text>\n<g font-family=\"monospace\" font-size=\"12\">\n");
}

static void
flame_svg_frame(struct buf *b, const struct flame *f, size_t i, double x,
    double w, unsigned y, const struct export_col *value)
{
	const struct flame_elem *e = &f->elems[i];
	const char *sig = flame_signature(f, i);
	double root = (double)f->elems[0].total;
	unsigned r, g, bl;
	size_t fit;

	flame_svg_colour(sig, &r, &g, &bl);
	buf_puts(b, "<g><title>");
	flame_svg_text(b, sig, 0);
	buf_puts(b, " (");
	flame_svg_amount(b, e->total, value->unit);
	buf_printf(
	    b, ", %.2f%%", root > 0 ? 100.0 * (double)e->total / root : 0.0);
	if (f->has_count)
		buf_printf(b, ", %" PRId64 " counted", e->count_total);
	buf_printf(b,
	    ")</title><rect x=\"%.2f\" y=\"%u\" width=\"%.2f\" "
	    "height=\"%d\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
	    x, y, w, FLAME_SVG_ROW - 1, r, g, bl);
	fit = w > 6 ? (size_t)((w - 6) / FLAME_SVG_CHAR) : 0;
	if (fit >= 3) {
		buf_printf(b, "<text x=\"%.2f\" y=\"%u\">", x + 3,
		    y + FLAME_SVG_ROW - 4);
		flame_svg_text(b, sig, fit);
		buf_puts(b, "</text>");
	}
	buf_puts(b, "</g>\n");
}

int
flame_svg(const struct flame *f, const char *title,
    const struct export_col *value, const struct export_col *count,
    struct buf *out)
{
	double *x;      /* where element i starts */
	double *cursor; /* where element i's next child starts */
	double scale;
	double w;
	unsigned height;
	unsigned y;
	size_t i;
	int64_t p;

	height =
	    FLAME_SVG_TOP + (f->max_depth + 1) * FLAME_SVG_ROW + FLAME_SVG_PAD;
	flame_svg_head(out, f, title, value, count, height);
	if (f->n == 0 || f->elems[0].total <= 0) {
		buf_puts(out, "</g>\n</svg>\n");
		return out->failed ? -1 : 0;
	}
	x = xcalloc(f->n, sizeof(*x));
	cursor = xcalloc(f->n, sizeof(*cursor));
	if (x == NULL || cursor == NULL) {
		xfree(x);
		xfree(cursor);
		return -1;
	}
	scale = (FLAME_SVG_WIDTH - 2.0 * FLAME_SVG_PAD) /
	    (double)f->elems[0].total;
	for (i = 0; i < f->n; i++) {
		p = f->elems[i].parent;
		x[i] = p < 0 ? FLAME_SVG_PAD : cursor[p];
		cursor[i] = x[i];
		w = f->elems[i].total > 0 ? (double)f->elems[i].total * scale
		                          : 0;
		if (p >= 0)
			cursor[p] += w;
		/* a frame too narrow to see, or under one: not drawn */
		if (w < FLAME_SVG_MIN_W || (p >= 0 && x[p] < 0)) {
			x[i] = -1;
			continue;
		}
		y = height - FLAME_SVG_PAD -
		    (f->elems[i].depth + 1) * FLAME_SVG_ROW;
		flame_svg_frame(out, f, i, x[i], w, y, value);
		if (out->failed)
			break;
	}
	xfree(x);
	xfree(cursor);
	buf_puts(out, "</g>\n</svg>\n");
	return out->failed ? -1 : 0;
}
