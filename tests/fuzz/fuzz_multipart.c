/*
 * libFuzzer target: the push intake's body parsers. The input's first line
 * is the Content-Type, the rest the body: boundary, parts, and then the
 * upload read from the parts (event.json or the legacy form), as the
 * intake does. Every attachment found must lie inside the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetcher/multipart.h"
#include "fetcher/push_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct multipart_part parts[MULTIPART_MAX_PARTS];
	static struct push_event ev;
	char ctype[256];
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	char err[256];
	const uint8_t *nl = memchr(data, '\n', size < 255 ? size : 255);
	const uint8_t *body;
	size_t blen;
	size_t n;
	size_t i;

	if (nl == NULL)
		return 0;
	memcpy(ctype, data, (size_t)(nl - data));
	ctype[nl - data] = '\0';
	body = nl + 1;
	blen = size - (size_t)(body - data);
	if (multipart_boundary(
	        ctype, boundary, sizeof(boundary), err, sizeof(err)) < 0)
		return 0;
	if (multipart_parse(body, blen, boundary, parts, MULTIPART_MAX_PARTS,
	        &n, err, sizeof(err)) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (parts[i].data < body ||
		    parts[i].data + parts[i].len > body + blen)
			abort();
	}
	if (push_event_from_parts(parts, n, &ev, err, sizeof(err)) < 0)
		return 0;
	for (i = 0; i < ev.natt; i++) {
		if (ev.att[i].data < body ||
		    ev.att[i].data + ev.att[i].len > body + blen)
			abort();
	}
	return 0;
}
