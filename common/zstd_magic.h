/*
 * zstd_magic: whether bytes begin a zstd stream, for the stages that sniff
 * a body (the fetcher's intake, the decoder). A stream is frames in a row,
 * and may begin with a skippable frame (pzstd writes one first, holding
 * the sizes of the frames after it): magic 0xFD2FB528 for a frame,
 * 0x184D2A50 to 0x184D2A5F for a skippable one, little-endian.
 */
#ifndef PROFPIPE_ZSTD_MAGIC_H
#define PROFPIPE_ZSTD_MAGIC_H

#include <stddef.h>
#include <stdint.h>

static inline int
zstd_magic(const uint8_t *p, size_t len)
{
	if (len < 4)
		return 0;
	if (p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return 1;
	return (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d &&
	    p[3] == 0x18;
}

#endif
