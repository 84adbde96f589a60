/*
 * svg: the flamegraph sink writes a flame tree's JSON and SVG per window;
 * the JSON parses, the SVG holds a frame per visible element with its
 * tooltip, escapes what XML needs escaped, and a real renderer
 * (rsvg-convert, librsvg2-bin) draws it into a PNG that is not blank:
 * many pixels off the background, several colours. The PNG is decoded
 * here (zlib + the five PNG filters), so no imaging library is needed.
 * PROFPIPE_KEEP_PNG=path keeps the corpus graph's PNG for a person to see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "common/config.h"
#include "exporter/flame_svg.h"
#include "exporter/outputs.h"
#include "tests/unit/export_window.h"

/* ---- a PNG reader for 8-bit RGB/RGBA, non-interlaced ---- */

struct png {
	uint32_t w, h;
	unsigned bpp; /* bytes per pixel: 3 or 4 */
	uint8_t *px;  /* w * h * bpp */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
paeth(int a, int b, int c)
{
	int p = a + b - c;
	int pa = abs(p - a);
	int pb = abs(p - b);
	int pc = abs(p - c);

	if (pa <= pb && pa <= pc)
		return a;
	return pb <= pc ? b : c;
}

static void
png_read(const char *path, struct png *out)
{
	uint8_t *data;
	uint8_t *z = NULL;
	uint8_t *raw;
	size_t len;
	size_t zlen = 0;
	size_t off = 8;
	size_t stride;
	uLongf rawlen;
	uint32_t n;
	uint32_t y;
	size_t x;
	uint8_t *row;
	uint8_t *prev;
	int a, b, c;

	data = du_slurp(path, &len);
	assert_non_null(data);
	assert_true(len > 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0);
	while (off + 12 <= len) {
		n = be32(data + off);
		assert_true(off + 12 + n <= len);
		if (memcmp(data + off + 4, "IHDR", 4) == 0) {
			out->w = be32(data + off + 8);
			out->h = be32(data + off + 12);
			assert_int_equal(data[off + 16], 8); /* depth */
			assert_true(
			    data[off + 17] == 6 || data[off + 17] == 2);
			assert_int_equal(data[off + 20], 0); /* interlace */
			out->bpp = data[off + 17] == 6 ? 4 : 3;
		} else if (memcmp(data + off + 4, "IDAT", 4) == 0) {
			z = realloc(z, zlen + n);
			assert_non_null(z);
			memcpy(z + zlen, data + off + 8, n);
			zlen += n;
		}
		off += 12 + n;
	}
	stride = (size_t)out->w * out->bpp;
	rawlen = (uLongf)((stride + 1) * out->h);
	raw = malloc(rawlen);
	assert_non_null(raw);
	assert_int_equal(uncompress(raw, &rawlen, z, zlen), Z_OK);
	assert_int_equal(rawlen, (stride + 1) * out->h);
	out->px = malloc(stride * out->h);
	assert_non_null(out->px);
	for (y = 0; y < out->h; y++) {
		row = out->px + y * stride;
		prev = y ? row - stride : NULL;
		memcpy(row, raw + y * (stride + 1) + 1, stride);
		for (x = 0; x < stride; x++) {
			a = x >= out->bpp ? row[x - out->bpp] : 0;
			b = prev ? prev[x] : 0;
			c = prev && x >= out->bpp ? prev[x - out->bpp] : 0;
			switch (raw[y * (stride + 1)]) {
			case 0:
				break;
			case 1:
				row[x] = (uint8_t)(row[x] + a);
				break;
			case 2:
				row[x] = (uint8_t)(row[x] + b);
				break;
			case 3:
				row[x] = (uint8_t)(row[x] + (a + b) / 2);
				break;
			case 4:
				row[x] = (uint8_t)(row[x] + paeth(a, b, c));
				break;
			default:
				fail_msg("%s: row %u: filter %d", path, y,
				    raw[y * (stride + 1)]);
			}
		}
	}
	free(raw);
	free(z);
	free(data);
}

/* Pixels unlike the top-left one (the background), and distinct colours
 * (up to 4096 counted). */
static void
png_stats(const struct png *p, size_t *off_bg, size_t *colours)
{
	static uint32_t seen[4096];
	size_t n_seen = 0;
	size_t i;
	size_t k;
	uint32_t px;
	uint32_t bg = 0;

	*off_bg = 0;
	for (i = 0; i < (size_t)p->w * p->h; i++) {
		px = 0;
		memcpy(&px, p->px + i * p->bpp, 3);
		if (i == 0)
			bg = px;
		if (px != bg)
			(*off_bg)++;
		for (k = 0; k < n_seen && seen[k] != px; k++)
			;
		if (k == n_seen && n_seen < 4096)
			seen[n_seen++] = px;
	}
	*colours = n_seen;
}

static void
render_check(const char *svg, const char *png_path)
{
	char cmd[1024];
	struct png p;
	size_t off_bg;
	size_t colours;

	snprintf(cmd, sizeof(cmd), "rsvg-convert -o '%s' '%s'", png_path, svg);
	if (system(cmd) != 0)
		fail_msg("rsvg-convert failed on %s", svg);
	memset(&p, 0, sizeof(p));
	png_read(png_path, &p);
	assert_int_equal(p.w, FLAME_SVG_WIDTH);
	png_stats(&p, &off_bg, &colours);
	/* frames cover a good part of the picture, in several colours */
	if (off_bg < (size_t)p.w * p.h / 20 || colours < 8)
		fail_msg("%s looks blank: %zu of %u pixels drawn, %zu colours",
		    png_path, off_bg, p.w * p.h, colours);
	free(p.px);
}

/* ---- the tests ---- */

static void
test_package(void **state)
{
	char pkg[64];

	(void)state;
	flame_svg_package("net/http.(*conn).serve", pkg, sizeof(pkg));
	assert_string_equal(pkg, "net/http");
	flame_svg_package("main.main", pkg, sizeof(pkg));
	assert_string_equal(pkg, "main");
	flame_svg_package("github.com/a/b.v2.F", pkg, sizeof(pkg));
	assert_string_equal(pkg, "github.com/a/b");
	flame_svg_package("0x4c84e4", pkg, sizeof(pkg));
	assert_string_equal(pkg, "0x4c84e4");
	flame_svg_package("runtime.gcBgMarkWorker.func1", pkg, 4);
	assert_string_equal(pkg, "run");
}

static struct sink *
open_sink(struct outputs *o, struct cfg **c, const char *dir)
{
	char text[512];
	char err[512];

	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: flamegraph\n    Dir: %s/flame\n", dir);
	if (cfg_parse(c, "f.yaml", text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (outputs_open(o, *c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(o->sinks[0]->takes, SINK_WINDOWS);
	return o->sinks[0];
}

static char *
slurp_text(const char *path, size_t *len)
{
	char *s = (char *)du_slurp(path, len);
	char *t;

	assert_non_null(s);
	t = realloc(s, *len + 1);
	assert_non_null(t);
	t[*len] = '\0';
	return t;
}

static void
test_fixture_window(void **state)
{
	char dir[] = "/tmp/test_svg.XXXXXX";
	char path[512];
	char png[600];
	char err[512];
	struct outputs o;
	struct fixture f;
	struct xwindow x;
	struct sink *s;
	struct cfg *c;
	size_t nrec;
	size_t len;
	char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_sink(&o, &c, dir);
	xwindow_fixture(&x, &f);
	f.strings[FX_LEAF] = (char *)"runtime.<leaf>&\"\x01\xff";
	if (s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(nrec, 5);

	snprintf(path, sizeof(path),
	    "%s/flame/shop/all/cpu/1700000000-1700000010.json", dir);
	text = slurp_text(path, &len);
	assert_true(fx_json_valid(text, len));
	assert_non_null(strstr(text,
	    "\"title\":\"shop all cpu 2023-11-14T22:13:20Z .. "
	    "2023-11-14T22:13:30Z\""));
	assert_non_null(strstr(text, "\"codeSignature\":\"main.work:9\""));
	free(text);

	snprintf(path, sizeof(path),
	    "%s/flame/shop/all/cpu/1700000000-1700000010.svg", dir);
	text = slurp_text(path, &len);
	/* one tooltip per element, the totals in the head */
	assert_non_null(strstr(text,
	    "<title>root (0.060 s, 100.00%, 6 "
	    "counted)</title>"));
	assert_non_null(
	    strstr(text, "<title>main.work:7 (0.040 s, 66.67%, 4 counted)"));
	assert_non_null(strstr(text, "runtime.&lt;leaf&gt;&amp;&quot;??:1"));
	assert_non_null(strstr(text, "cpu: 0.060 s, samples: 6</text>"));
	assert_null(strstr(text, "<leaf>"));
	free(text);
	snprintf(png, sizeof(png), "%s.png", path);
	render_check(path, png);
	outputs_close(&o);
	cfg_free(c);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void
test_corpus_window(void **state)
{
	char dir[] = "/tmp/test_svg.XXXXXX";
	char path[512];
	char png[600];
	char err[512];
	const char *keep = getenv("PROFPIPE_KEEP_PNG");
	struct outputs o;
	struct xwindow x;
	struct sink *s;
	struct cfg *c;
	size_t nrec;
	size_t len;
	char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_sink(&o, &c, dir);
	if (xwindow_corpus(&x, "biggo-cpu-30s.pb.gz", "cpu") < 0)
		fail_msg("corpus: cannot read or decode");
	if (s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_true(nrec > 100);
	snprintf(path, sizeof(path),
	    "%s/flame/corpus_svc/10.0.0.1_6060/cpu/"
	    "1700000000-1700000060.json",
	    dir);
	text = slurp_text(path, &len);
	assert_true(fx_json_valid(text, len));
	free(text);
	snprintf(path, sizeof(path),
	    "%s/flame/corpus_svc/10.0.0.1_6060/cpu/"
	    "1700000000-1700000060.svg",
	    dir);
	snprintf(png, sizeof(png), "%s", keep ? keep : "");
	if (keep == NULL)
		snprintf(png, sizeof(png), "%s.png", path);
	render_check(path, png);
	xwindow_free(&x);
	outputs_close(&o);
	cfg_free(c);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void
test_config_errors(void **state)
{
	static const char text[] = "outputs:\n  - Type: flamegraph\n";
	struct outputs o;
	struct cfg *c;
	char err[512];

	(void)state;
	assert_int_equal(
	    cfg_parse(&c, "f.yaml", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "f.yaml:2: flamegraph: Dir: required"));
	cfg_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_package),
	    cmocka_unit_test(test_fixture_window),
	    cmocka_unit_test(test_corpus_window),
	    cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
