/*
 * buf: capped growable buffer, plus the JSON string escaper every JSON
 * writer in profpipe uses, so escaping is done right in one place.
 */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

void
buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void
buf_release(struct buf *b)
{
	xfree(b->data);
	b->data = NULL;
	b->len = b->size = 0;
	b->failed = 0;
}

void
buf_clear(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
}

int
buf_reserve(struct buf *b, size_t more)
{
	size_t want;
	size_t size;
	unsigned char *p;

	if (b->failed)
		return -1;
	if (more > SIZE_MAX - b->len - 1)
		goto fail;
	want = b->len + more + 1; /* room for a NUL */
	if (want <= b->size)
		return 0;
	if (b->cap != 0 && want > b->cap + 1)
		goto fail;
	size = b->size ? b->size : 256;
	while (size < want)
		size = size > SIZE_MAX / 2 ? want : size * 2;
	if (b->cap != 0 && size > b->cap + 1)
		size = b->cap + 1;
	p = xrealloc(b->data, size);
	if (p == NULL)
		goto fail;
	b->data = p;
	b->size = size;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

size_t
buf_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80;
	unsigned char hi = 0xbf;
	size_t need;
	size_t i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

int
buf_utf8_put(struct buf *b, const char *s, size_t n, size_t *used)
{
	size_t len = buf_utf8_len((const unsigned char *)s, n);

	*used = len > 0 ? len : 1;
	return len > 0 ? buf_append(b, s, len)
	               : buf_append(b, "\xef\xbf\xbd", 3);
}

int
buf_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	static const char fffd[] = "\xef\xbf\xbd";
	size_t i = 0;
	size_t run = 0;
	size_t len;
	unsigned char c;
	char esc[6];

	if (buf_putc(b, '"') < 0)
		return -1;
	while (i < n) {
		c = (unsigned char)s[i];
		if (c >= 0x80) {
			len =
			    buf_utf8_len((const unsigned char *)s + i, n - i);
			if (len > 0) {
				i += len;
				continue;
			}
			/* One U+FFFD per byte that starts no sequence, as
			 * Go's encoding/json writes it: the decoder's JSON
			 * then reads as Go's parser does, byte for byte. */
			buf_append(b, s + run, i - run);
			buf_append(b, fffd, 3);
			i++;
			run = i;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (buf_append(b, s + run, i - run) < 0)
			return -1;
		i++;
		run = i;
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_append(b, esc, 6);
		}
	}
	buf_append(b, s + run, n - run);
	return buf_putc(b, '"');
}
