/*
 * multipart: multipart/form-data request bodies (RFC 7578), as dd-trace-go
 * posts its profiles. The boundary comes from the Content-Type (quoted or
 * not); the parts may come in any order and carry any extra headers; only
 * Content-Disposition's name and filename and the Content-Type are kept.
 * Part data is not copied: each part points into the body.
 *
 * Caps: MULTIPART_MAX_PARTS parts, MULTIPART_MAX_HEAD bytes of headers per
 * part, names and content types of fixed size. A body that breaks one, or
 * is cut short (no closing boundary), is refused with a message naming the
 * part and the byte offset.
 */
#ifndef PROFPIPE_FETCHER_MULTIPART_H
#define PROFPIPE_FETCHER_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_MAX_PARTS 64
#define MULTIPART_MAX_HEAD 8192
#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */

struct multipart_part {
	char name[128];
	char filename[128];
	char ctype[128];
	const uint8_t *data; /* into the body */
	size_t len;
};

/* The boundary parameter of a multipart/form-data Content-Type into out
 * (at least MULTIPART_BOUNDARY_MAX + 1 bytes). 0, or -1 with the reason. */
int multipart_boundary(const char *content_type, char *out, size_t outlen,
    char *err, size_t errlen);

/* Split body into parts[0..*nparts) (at most maxparts). 0, or -1 with the
 * reason in err. */
int multipart_parse(const uint8_t *body, size_t len, const char *boundary,
    struct multipart_part *parts, size_t maxparts, size_t *nparts, char *err,
    size_t errlen);

/* The first part named name, or NULL. */
const struct multipart_part *multipart_find(
    const struct multipart_part *parts, size_t nparts, const char *name);

#endif
