/*
 * libFuzzer target: common/httpd_parse, the HTTP request parser. The input
 * is split where httpd_head_end says the head ends; the head is parsed in
 * place (a copy, as the server parses its own buffer), and what follows is
 * fed to the chunked decoder one odd-sized slice at a time, under a small
 * body cap, so both the cap and the slice boundaries are exercised.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/httpd_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_header hdrs[16];
	struct httpd_head head;
	struct httpd_chunked ch;
	struct buf body;
	char err[256];
	char *copy;
	size_t end;
	size_t off;
	size_t step;
	size_t used;
	int rv = 0;

	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = httpd_head_end(copy, size);
	if (end > 0 &&
	    httpd_parse_head(copy, end, hdrs, 16, &head, err, sizeof(err)) ==
	        0) {
		(void)httpd_head_get(&head, "Host");
	}
	buf_init(&body, 1024);
	httpd_chunked_init(&ch);
	for (off = end, step = 1; off < size && rv == 0; step = step % 7 + 1) {
		if (step > size - off)
			step = size - off;
		rv = httpd_chunked_feed(
		    &ch, data + off, step, &used, &body, err, sizeof(err));
		if (used > step)
			abort();
		off += used;
		if (rv == 0 && used < step)
			abort(); /* short only once complete or failed */
	}
	if (body.len > 1024)
		abort();
	buf_release(&body);
	free(copy);
	return 0;
}
