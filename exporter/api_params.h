/*
 * api_params: the API's query strings read strictly. A query string is
 * split on '&', each "key=value" percent-decoded ('+' is a space); a key
 * given twice, a bad escape, an encoded NUL, too many parameters or too
 * long a string is refused with a message naming the parameter, which the
 * API answers as 400. Times are unix seconds (fractions allowed) or RFC
 * 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00"), up to
 * 2262 (int64 nanoseconds).
 *
 * Pure: no I/O, no allocation (a parse copies into the struct).
 */
#ifndef PROFPIPE_EXPORT_API_PARAMS_H
#define PROFPIPE_EXPORT_API_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define API_MAX_PARAMS 16
#define API_MAX_QUERY 4096

struct api_params {
	size_t n;
	const char *key[API_MAX_PARAMS];
	const char *val[API_MAX_PARAMS];
	/* The decoded pieces: a piece's key and value each end in a NUL, so
	 * a piece without '=' takes 2 bytes more than it had, '&' or not. */
	char text[API_MAX_QUERY + 2 * API_MAX_PARAMS + 1];
};

/* Split and decode query (without the '?'). 0, or -1 with a reason
 * naming the parameter in err. */
int api_params_parse(
    struct api_params *p, const char *query, char *err, size_t errlen);

/* The value of key, or NULL when absent. */
const char *api_param(const struct api_params *p, const char *key);

/* Refuse parameters not in the NULL-terminated list known. */
int api_params_only(const struct api_params *p, const char *const *known,
    char *err, size_t errlen);

/* Unix seconds ("1700000000", "1700000000.25") or RFC 3339 into unix
 * nanoseconds. 0, or -1 when malformed or out of range: from 1970 to
 * 2262-04-11T23:47:15.999999999Z, the last whole second int64
 * nanoseconds hold. */
int api_parse_time(const char *s, int64_t *ns);

/* A range from the parameters from_key and to_key: to defaults to now_ns,
 * from to an hour before to. -1 (err names the parameter) when either is
 * malformed or from is not before to. */
int api_params_range(const struct api_params *p, const char *from_key,
    const char *to_key, int64_t now_ns, int64_t *from_ns, int64_t *to_ns,
    char *err, size_t errlen);

#endif
