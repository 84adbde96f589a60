/*
 * oneshot: the decoder on files. Each file is read whole (under
 * --max-inflated: a compressed body is never larger than what it inflates
 * to, short of a bomb, which the decoder refuses anyway), decoded with one
 * decoder and one arena reset per file, and printed.
 */
#include "decoder/oneshot.h"

#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/proc.h"
#include "decoder/decode.h"
#include "decoder/decode_print.h"

static int
read_file(
    const char *path, size_t cap, struct buf *b, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t room;
	size_t n;
	int rv = 0;

	buf_clear(b);
	if (f == NULL) {
		snprintf(err, errlen, "%m");
		return -1;
	}
	for (;;) {
		room = cap - b->len < (1 << 16) ? cap - b->len : 1 << 16;
		if (room == 0) {
			if (getc(f) != EOF) {
				snprintf(err, errlen,
				    "larger than %zu bytes "
				    "(--max-inflated)",
				    cap);
				rv = -1;
			}
			break;
		}
		if (buf_reserve(b, room) < 0) {
			snprintf(err, errlen, "out of memory");
			rv = -1;
			break;
		}
		n = fread(b->data + b->len, 1, room, f);
		b->len += n;
		if (n < room)
			break;
	}
	if (rv == 0 && ferror(f)) {
		snprintf(err, errlen, "read: %m");
		rv = -1;
	}
	if (f != stdin)
		fclose(f);
	return rv;
}

static int
oneshot_print(const struct decoder_opts *o, const Profpipe__Decoded *d,
    const char *path, struct arena *a)
{
	struct decode_fold g;
	int type = d->default_sample_type;
	size_t i;

	if (o->format != NULL && strcmp(o->format, "json") == 0)
		return decode_json_print(d, path, stdout) < 0 ? -2 : 0;
	if (o->sample_type != NULL) {
		type = decode_sample_type(d, o->sample_type);
		if (type < 0) {
			struct buf names;

			buf_init(&names, 4096);
			for (i = 0; i < d->n_sample_types; i++)
				buf_printf(&names, "%s%s", i ? ", " : "",
				    d->strings[d->sample_types[i]->type]);
			log_error("%s: no sample type %s (it has %s)", path,
			    o->sample_type,
			    names.failed ? "too many"
			                 : (const char *)names.data);
			buf_release(&names);
			return -1;
		}
	}
	if (decode_fold(d, a, &g) < 0) {
		log_error("%s: out of memory", path);
		return -1;
	}
	switch (decode_fold_print(d, &g, (size_t)type, stdout)) {
	case 0:
		return 0;
	case -2:
		log_error("%s: a folded sum of %s overflows int64", path,
		    d->strings[d->sample_types[type]->type]);
		return -1;
	default:
		return -2;
	}
}

int
decoder_oneshot(const struct decoder_opts *o, int n, char **files)
{
	struct decoder *dec = NULL;
	struct arena *a;
	Profpipe__Decoded d;
	struct buf in;
	char err[1024];
	int status = 0;
	int rv;
	int i;

	buf_init(&in, o->lim.max_inflated);
	a = arena_new(o->max_memory);
	if (a == NULL || decoder_new(&dec, &o->lim) != 0) {
		log_error("out of memory");
		arena_free(a);
		return EXIT_SYSTEM;
	}
	for (i = 0; i < n; i++) {
		arena_reset(a);
		if (read_file(files[i], o->lim.max_inflated, &in, err,
		        sizeof(err)) < 0) {
			log_error("%s: %s", files[i], err);
			status = 1;
			continue;
		}
		rv =
		    decoder_run(dec, in.data, in.len, a, &d, err, sizeof(err));
		if (rv != 0) {
			log_error("%s: %s", files[i], err);
			status = 1;
			continue;
		}
		rv = oneshot_print(o, &d, files[i], a);
		if (rv == -2 || fflush(stdout) != 0) {
			log_error("stdout: %m");
			status = EXIT_SYSTEM;
			break;
		}
		if (rv < 0)
			status = 1;
	}
	decoder_free(dec);
	arena_free(a);
	buf_release(&in);
	return status;
}
