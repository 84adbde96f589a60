/*
 * records: a profile as per-stack JSON records, one line each, in the shape
 * of iLogtail's service_go_profile output so that a log pipeline built for
 * that plugin takes profpipe's output unchanged. One record per stack per
 * reported value type (export_columns) whose value is not 0:
 *
 *   {"name":"leaf.func /src/leaf.go","stack":"caller /src/a.go\nmain.main
 *   /src/main.go","stackID":"<16 hex>","language":"go","type":"profile_cpu",
 *   "dataType":"CallStack","durationNs":"10000000000","profileID":"<uuid>",
 *   "labels":"{\"__name__\":\"svc\",\"instance\":\"h:6060\",\"job\":\"j\"}",
 *   "units":"nanoseconds","valueTypes":"cpu","aggTypes":"sum",
 *   "val":"30000000.00","__time__":1700000000}
 *
 * A name is in a record's labels once. The collector's come first
 * (__name__, instance, job, then the input's and the target's labels); one
 * whose name is there already is left out, as the metrics outputs do. A
 * pprof sample label whose name is taken (by the collector's, or by an
 * earlier label of the same sample) is renamed exported_NAME, as
 * Prometheus renames a scraped label that clashes; if that is taken too,
 * the label is left out of the record. Names are compared as printed
 * (bytes that are not UTF-8 print as U+FFFD). Go's profiles only clash
 * with the collector's names: runtime/pprof keeps a goroutine's labels in
 * a map.
 *
 * Pure: bytes into a buf, no I/O, so a sink can stream a large profile
 * stack by stack and a test can read every byte.
 */
#ifndef PROFPIPE_EXPORT_RECORDS_H
#define PROFPIPE_EXPORT_RECORDS_H

#include <stddef.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"
#include "exporter/keyset.h"
#include "exporter/profile.h"

/* What every record of one profile shares, worked out once. */
struct records {
	const Profpipe__Decoded *p;
	struct export_col cols[EXPORT_MAX_COLS];
	size_t n_cols;
	struct buf common; /* ,"language":...,"profileID":"..." (JSON) */
	struct buf labels; /* {"__name__":...,"job":"..." plus origin
	                    * labels, unclosed (the text of a JSON object) */
	struct buf text;   /* scratch: a field's text before escaping */
	struct buf head;   /* scratch: one stack's fields up to labels */
	struct buf name;   /* scratch: exported_KEY */
	struct keyset origin_keys; /* the names in labels */
	struct keyset keys;        /* one stack's pprof label names */
	long long time_s;
};

/* p must have passed export_check and must outlive r. 0, or -1 when out of
 * memory. records_release(r) either way. */
int records_init(struct records *r, const Profpipe__Decoded *p);
void records_release(struct records *r);

/* Append stack i's records (zero or more lines) to out; *nrec (may be
 * NULL) is increased by their number. 0, or -1 when out hit its cap or
 * memory ran out. */
int records_stack(struct records *r, size_t i, struct buf *out, size_t *nrec);

/* Every record of p into out: init, each stack, release. */
int records_all(const Profpipe__Decoded *p, struct buf *out, size_t *nrec);

#endif
