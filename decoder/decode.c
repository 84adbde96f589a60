/*
 * decode: the three steps in a row (inflate, read, resolve) and what glues
 * them: the strings the Decoded points at are NUL-terminated in place, in
 * the inflated buffer, which the decoder owns and which has a spare byte
 * at its end. The byte after a string's payload is the next field's tag
 * (or that spare byte), never part of anything still to be read, because
 * the reader has recorded where every top-level payload is by then: the
 * samples, read after the strings are terminated, lie in payloads, and a
 * tag byte is never part of one. (The reader's 8-byte loads may cross a
 * payload's end, but only bytes inside it are ever used.)
 *
 * Memory, whose peak is what a decoder's --max-memory must cover: the
 * decode's output (frames above all) is about twice the inflated profile,
 * and the tables read from it die once its locations are resolved. So the
 * inflated buffer goes first into one block of the arena's scratch stream,
 * reserved large (pages cost only once written), the tables that die
 * after it; once the tables are read, the strings that lie past the
 * samples (all of them, in Go's order) move down to where the samples
 * end, over the locations and functions already read, and once the
 * locations are resolved the scratch stream is trimmed back to the end of
 * the strings, so that the stacks are built in the pages the tables and
 * the buffer's tail used. On heap-large (4 MB inflated) the peak went from
 * 4.1 to 2.9 times the inflated size; what remains is the buffer (samples
 * and strings), the output, and what the samples' pass reads besides
 * (the locations' frames, the stack and label set tables, and for a
 * profile whose samples are interleaved with its tables, 8 bytes a
 * sample to find them by: pprof_rd.h).
 *
 * A body that is not a profile at all is usually text: an HTML error page,
 * or Go's "Could not enable CPU profiling: cpu profiling already in use".
 * Such a body is named for what it is rather than for the protobuf error it
 * causes.
 */
#include "decoder/decode.h"

#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"
#include "decoder/decode_inflate.h"
#include "decoder/decode_narrow.h"
#include "decoder/decode_resolve.h"
#include "decoder/pprof.h"

struct decoder {
	struct decode_limits lim;
	struct decode_inflate *z;
};

void
decode_limits_default(struct decode_limits *lim)
{
	lim->max_inflated = DECODE_MAX_INFLATED;
	lim->max_depth = DECODE_MAX_DEPTH;
	lim->max_table = DECODE_MAX_TABLE;
	lim->max_labels = DECODE_MAX_LABELS;
	lim->portable = 0;
	lim->wide = 0;
}

size_t
decode_arena_cap(const struct decode_limits *lim)
{
	/* Measured: blocks of about 5x the inflated size on the large
	 * synthetic profiles (4x of it the scratch stream's reservation,
	 * 3x under a tighter cap, not all of it ever written); 8x leaves
	 * room, and small profiles get a floor. */
	size_t cap = lim->max_inflated * 8;

	return cap < ((size_t)256 << 20) ? (size_t)256 << 20 : cap;
}

int
decoder_new(struct decoder **out, const struct decode_limits *lim)
{
	struct decoder *d = xcalloc(1, sizeof(*d));

	if (d == NULL)
		return DECODE_ENOMEM;
	if (decode_inflate_new(&d->z) != 0) {
		xfree(d);
		return DECODE_ENOMEM;
	}
	d->lim = *lim;
	*out = d;
	return 0;
}

void
decoder_free(struct decoder *d)
{
	if (d == NULL)
		return;
	decode_inflate_free(d->z);
	xfree(d);
}

/* Printable ASCII and whitespace in the first bytes: text, not protobuf
 * (a profile starts with a sample type: 0x0a, then a small length, then
 * 0x08). */
static int
decode_looks_text(const uint8_t *p, size_t len)
{
	size_t n = len < 64 ? len : 64;
	size_t i;

	if (len < 4 || (p[0] == 0x0a && p[2] == 0x08))
		return 0;
	for (i = 0; i < n; i++) {
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n' &&
		    p[i] != '\r' && p[i] != '\t')
			return 0;
	}
	return 1;
}

/* The header of the legacy binary CPU profile (Go before 1.9, gperftools):
 * words 0, 3 (header words), 0 (version), 64-bit or 32-bit, little-endian.
 * No protobuf message starts with a zero byte (field 0 is not one). */
static int
decode_looks_legacy_cpu(const uint8_t *p, size_t len)
{
	static const uint8_t w64[24] = {[8] = 3};
	static const uint8_t w32[12] = {[4] = 3};

	return (len >= sizeof(w64) && memcmp(p, w64, sizeof(w64)) == 0) ||
	    (len >= sizeof(w32) && memcmp(p, w32, sizeof(w32)) == 0);
}

/* "not a profile: the body is text: <its first line>" */
static void
decode_text_error(
    const uint8_t *p, size_t len, const char *prefix, char *err, size_t errlen)
{
	size_t n = 0;

	while (n < len && n < 100 && p[n] != '\n' && p[n] != '\r' &&
	    p[n] >= 0x20 && p[n] <= 0x7e)
		n++;
	snprintf(err, errlen, "%snot a profile: the body is text: \"%.*s%s\"",
	    prefix, (int)n, (const char *)p, n < len && n == 100 ? "..." : "");
}

/* Say the error is in the inflated bytes, not the body. */
static void
decode_prefix_error(const char *prefix, char *err, size_t errlen)
{
	char inner[512];

	snprintf(inner, sizeof(inner), "%s", err);
	snprintf(err, errlen, "%s%s", prefix, inner);
}

/* The strings that lie past end (the samples' end) moved down to it, in
 * order, each NUL-terminated; the others terminated in place. strs[i]
 * and pr->strings[i].p say where each one is now. Returns how many bytes
 * of buf are still needed: the samples and the strings.
 *
 * The reader recorded the strings in the order they appear in the buffer,
 * each after a tag and a length, so the one being moved never lands on
 * one not moved yet: where it lands is at most where it was, and the NUL
 * after it at most where the next one's tag was. */
static size_t
decode_pack_strings(
    uint8_t *buf, const uint8_t *end, struct pprof_profile *pr, char **strs)
{
	uint8_t *to = buf + (end - buf);
	uint8_t *p;
	size_t n;
	size_t i;

	for (i = 0; i < pr->n_strings; i++) {
		p = buf + ((const uint8_t *)pr->strings[i].p - buf);
		n = pr->strings[i].n;
		if (p >= end) {
			if (p != to)
				memmove(to, p, n);
			p = to;
			to += n + 1;
			pr->strings[i].p = (const char *)p;
		}
		p[n] = '\0';
		strs[i] = (char *)p;
	}
	return (size_t)(to - buf);
}

/* Room for the inflated buffer and what follows it in the scratch stream
 * (the tables, then the stacks: 2.3 to 2.8 times the inflated size on the
 * large synthetic profiles); whatever is not written costs no memory. */
static size_t
decode_scratch_room(size_t inflated, size_t times)
{
	return inflated * times + ((size_t)256 << 10);
}

int
decoder_run_narrow(struct decoder *d, const uint8_t *body, size_t len,
    struct arena *a, Profpipe__Decoded *out, struct decode_narrow *nw,
    char *err, size_t errlen)
{
	enum decode_codec codec = decode_sniff(body, len);
	const char *prefix = codec == DECODE_PLAIN ? ""
	    : codec == DECODE_GZIP                 ? "after gzip: "
	                                           : "after zstd: ";
	struct arena *tmp = arena_scratch(a);
	struct pprof_profile pr;
	struct rd *rd = NULL;
	uint8_t *buf;
	size_t claim;
	size_t leave;
	size_t live;
	size_t n;
	char **strs;
	int rv;

	profpipe__decoded__init(out);
	nw->ids = NULL;
	if (len == 0) {
		snprintf(err, errlen, "empty body");
		return DECODE_EBAD;
	}
	/* A hint: 4x leaves a margin, 3x is for a tight cap, and either
	 * must leave room for the main stream's blocks (0.7 to 1.1 times
	 * the inflated size on the large synthetic profiles). With no
	 * reservation the decode works as well, in more blocks and pages,
	 * and needs a larger cap. */
	claim = decode_inflate_claim(body, len, d->lim.max_inflated);
	leave = claim / 2 * 3;
	if (claim > 0 &&
	    arena_reserve(tmp, decode_scratch_room(claim, 4), leave) != 0)
		(void)arena_reserve(tmp, decode_scratch_room(claim, 3), leave);
	rv = decode_inflate(
	    d->z, body, len, d->lim.max_inflated, tmp, &buf, &n, err, errlen);
	if (rv != 0)
		return rv;
	rv = pprof_read_tables(buf, n, &d->lim, a, &pr, &rd, err, errlen);
	if (rv == DECODE_EBAD && decode_looks_text(buf, n)) {
		decode_text_error(buf, n, prefix, err, errlen);
		return rv;
	}
	if (rv == DECODE_EBAD && decode_looks_legacy_cpu(buf, n)) {
		snprintf(err, errlen,
		    "%snot profile.proto: a legacy binary CPU profile (Go "
		    "before 1.9, gperftools); `go tool pprof -proto` converts "
		    "it",
		    prefix);
		return rv;
	}
	if (rv == DECODE_EBAD && codec != DECODE_PLAIN)
		decode_prefix_error(prefix, err, errlen);
	if (rv != 0)
		return rv;
	strs = arena_alloc(a, (pr.n_strings + 1) * sizeof(*strs));
	if (strs == NULL) {
		snprintf(err, errlen,
		    "out of memory for strings (past --max-memory, or malloc "
		    "failed)");
		return DECODE_ENOMEM;
	}
	/* The reader's 8-byte loads may read a few bytes past the samples'
	 * end (never using them): they stay in what is kept. */
	live = decode_pack_strings(buf, pprof_samples_end(rd), &pr, strs);
	rv = decode_resolve(
	    &pr, rd, strs, buf, live + 16, &d->lim, a, out, nw, err, errlen);
	if (rv == DECODE_EBAD && codec != DECODE_PLAIN)
		decode_prefix_error(prefix, err, errlen);
	return rv;
}

int
decoder_run(struct decoder *d, const uint8_t *body, size_t len,
    struct arena *a, Profpipe__Decoded *out, char *err, size_t errlen)
{
	struct decode_narrow nw;
	int rv;

	rv = decoder_run_narrow(d, body, len, a, out, &nw, err, errlen);
	if (rv == 0 && nw.ids != NULL)
		rv = decode_widen(a, &nw, out, err, errlen);
	return rv;
}

int
decode_profile(const uint8_t *body, size_t len,
    const struct decode_limits *lim, struct arena *a, Profpipe__Decoded *out,
    char *err, size_t errlen)
{
	struct decoder *d;
	int rv;

	rv = decoder_new(&d, lim);
	if (rv != 0) {
		snprintf(err, errlen, "out of memory");
		return rv;
	}
	rv = decoder_run(d, body, len, a, out, err, errlen);
	decoder_free(d);
	return rv;
}
