/*
 * sniff: magic numbers for the compressed forms, a look at the first bytes
 * for text, and a plausible first protobuf tag for the rest.
 */
#include "fetcher/sniff.h"

#include <string.h>

#include "common/zstd_magic.h"

/* How much of the body decides whether it is text. */
#define SNIFF_TEXT_WINDOW 512

static int
sniff_is_text(const unsigned char *p, size_t len)
{
	size_t i;

	if (len > SNIFF_TEXT_WINDOW)
		len = SNIFF_TEXT_WINDOW;
	for (i = 0; i < len; i++) {
		/* UTF-8 passes; of the control bytes only layout does. */
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\r')
			return 0;
		if (p[i] == 0x7f)
			return 0;
	}
	return 1;
}

enum sniff_kind
sniff_body(const void *body, size_t len)
{
	const unsigned char *p = body;
	size_t i;
	unsigned wire;

	if (len == 0)
		return SNIFF_EMPTY;
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return SNIFF_GZIP;
	if (zstd_magic(p, len))
		return SNIFF_ZSTD;
	if (sniff_is_text(p, len)) {
		for (i = 0; i < len && strchr(" \t\r\n", p[i]) != NULL; i++)
			;
		return i < len && p[i] == '<' ? SNIFF_HTML : SNIFF_TEXT;
	}
	/* A message starts with a tag: field number >= 1 and a wire type
	 * protobuf defines (varint, 64-bit, length-delimited, 32-bit). */
	wire = p[0] & 7u;
	if ((p[0] >> 3) >= 1 &&
	    (wire == 0 || wire == 1 || wire == 2 || wire == 5))
		return SNIFF_PROTOBUF;
	return SNIFF_UNKNOWN;
}

int
sniff_is_profile(enum sniff_kind k)
{
	return k == SNIFF_GZIP || k == SNIFF_ZSTD || k == SNIFF_PROTOBUF;
}

const char *
sniff_name(enum sniff_kind k)
{
	switch (k) {
	case SNIFF_GZIP:
		return "gzip";
	case SNIFF_ZSTD:
		return "zstd";
	case SNIFF_PROTOBUF:
		return "protobuf";
	case SNIFF_HTML:
		return "HTML";
	case SNIFF_TEXT:
		return "text";
	case SNIFF_EMPTY:
		return "empty";
	default:
		return "neither gzip, zstd nor protobuf";
	}
}
