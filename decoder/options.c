/*
 * options: the decoder's defaults, and the byte counts its flags take.
 */
#include "decoder/options.h"

#include <stdint.h>
#include <string.h>

#include "common/proc.h"

void
decoder_opts_defaults(struct decoder_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ready_fd = -1;
	o->drain_ms = 10000;
	o->level = LOG_INFO;
	decode_limits_default(&o->lim);
}

int
decoder_parse_size(const char *s, size_t *out)
{
	char num[32];
	size_t n = strlen(s);
	int shift = 0;
	long v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift != 0)
		num[n - 1] = '\0';
	if (proc_parse_long(num, 1, (long)(SIZE_MAX >> 31) >> shift, &v) < 0)
		return -1;
	*out = (size_t)v << shift;
	return 0;
}
