/*
 * json_scan: a bounded JSON reader for the small documents profpipe is
 * handed from outside (dd-trace-go's event.json and metrics.json): a cursor
 * over the bytes with calls to expect a character, read a string into a
 * caller's buffer (unescaped, never longer than that buffer), read a
 * number, and skip any value up to a nesting cap. No allocation, no tree:
 * a caller walks the shape it expects and stops at the first surprise.
 *
 * Every call returns 0 or -1; on -1 the scanner's err says what was wrong
 * and at which byte offset.
 */
#ifndef PROFPIPE_JSON_SCAN_H
#define PROFPIPE_JSON_SCAN_H

#include <stddef.h>

#define JSON_SCAN_MAX_DEPTH 32

struct json_scan {
	const char *start;
	const char *p;
	const char *end;
	char err[160];
};

void json_scan_init(struct json_scan *s, const void *data, size_t len);

/* The next non-blank character (not consumed), or -1 at the end. */
int json_scan_peek(struct json_scan *s);
/* Consume c (after blanks), or fail naming what was found. */
int json_scan_expect(struct json_scan *s, char c);
/* After a member or element: 1 if a ',' was consumed, 0 if close was
 * (']' or '}'), -1 for anything else. */
int json_scan_next(struct json_scan *s, char close);
/* A string, unescaped (\uXXXX to UTF-8), NUL-terminated in out; longer
 * than outlen - 1 bytes fails. *n (if not NULL) gets its length. out NULL:
 * the string is checked and skipped, whatever its length. */
int json_scan_string(struct json_scan *s, char *out, size_t outlen, size_t *n);
/* A number (strict JSON syntax). */
int json_scan_number(struct json_scan *s, double *out);
/* Any value, nested at most JSON_SCAN_MAX_DEPTH deep. */
int json_scan_skip(struct json_scan *s);
/* Only blanks are left. */
int json_scan_end(struct json_scan *s);

#endif
