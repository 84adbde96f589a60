/*
 * sniff: is a response body a profile? A pprof endpoint answers gzip'd
 * protobuf; a push client may send zstd or plain protobuf. What comes back
 * from a wrong port or a proxy is HTML or text, and it is better refused
 * here, with a reason a person understands, than handed to a decoder.
 * Only the first bytes are looked at: the decoder does the real check.
 */
#ifndef PROFPIPE_FETCHER_SNIFF_H
#define PROFPIPE_FETCHER_SNIFF_H

#include <stddef.h>

enum sniff_kind {
	SNIFF_GZIP,
	SNIFF_ZSTD,
	SNIFF_PROTOBUF,
	SNIFF_HTML,
	SNIFF_TEXT,
	SNIFF_EMPTY,
	SNIFF_UNKNOWN
};

enum sniff_kind sniff_body(const void *p, size_t len);
/* gzip, zstd or protobuf. */
int sniff_is_profile(enum sniff_kind k);
/* For messages: "gzip", "HTML", "text", ... */
const char *sniff_name(enum sniff_kind k);

#endif
