/*
 * buf: a growable byte buffer with a cap. Everything that grows from
 * outside input (an HTTP body, a JSON line, a file) grows in a buf, and a buf
 * refuses to grow past its cap.
 */
#ifndef PROFPIPE_BUF_H
#define PROFPIPE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	unsigned char *data;
	size_t len;
	size_t size;
	size_t cap; /* 0: no cap */
	int failed; /* an append hit the cap or malloc failed */
};

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
void buf_clear(struct buf *b);

/* 0, or -1 (and failed set) past the cap or out of memory. */
int buf_reserve(struct buf *b, size_t more);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_putc(struct buf *b, char c);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Length of the well-formed UTF-8 sequence at s (at most n bytes, n >
 * 0), or 0 if the bytes there are not one (an ASCII byte is one).
 * Overlong forms, surrogates and code points past U+10FFFF are refused, as
 * a strict JSON reader would, and as Go's utf8.DecodeRune does. */
size_t buf_utf8_len(const unsigned char *s, size_t n);

/* Append the character at s (n > 0 bytes left): the UTF-8 sequence that
 * starts there, or U+FFFD for a byte that starts none. *used: the bytes
 * of s taken (1 for U+FFFD). For text formats whose readers require UTF-8
 * (Prometheus, InfluxDB line protocol). */
int buf_utf8_put(struct buf *b, const char *s, size_t n, size_t *used);

/* JSON: a quoted, escaped string (UTF-8 passes; control bytes escape;
 * each byte that starts no well-formed UTF-8 sequence becomes one U+FFFD,
 * as in Go's encoding/json, so the output is always valid JSON whatever s
 * holds). */
int buf_json_str(struct buf *b, const char *s, size_t n);

#endif
