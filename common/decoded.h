/*
 * decoded: what any stage may rely on in a Decoded profile it received
 * (wire.proto's field comments made checkable), so a stage that passed
 * decoded_check indexes its arrays without checking again: an origin whose
 * end minus start fits an int64, "" first in the string table, every
 * string, frame and label-set index in range, stack
 * offsets that go forward and span stack_frames exactly, and one stack hash,
 * label-set index (or none at all) and n_sample_types values per stack.
 *
 * A profile that fails can never be processed: the receiver answers
 * REJECTED with err as the reason rather than have it sent again.
 */
#ifndef PROFPIPE_DECODED_H
#define PROFPIPE_DECODED_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/wire.pb-c.h"

/* 0, or -1 with the first problem found in err. */
int decoded_check(const Profpipe__Decoded *d, char *err, size_t errlen);

/* Stacks in d: n_stack_offset - 1, or 0 when there are no offsets. */
size_t decoded_n_stacks(const Profpipe__Decoded *d);

/* Per label set of d (which passed decoded_check), a hash of its labels'
 * text: the sum of each label's hash over its key, string, number and
 * unit (added, not chained, so the labels' order does not matter), 0 for
 * the empty set. It names a label set the same way in every profile, so
 * a stack hash plus it keys a stack across profiles. In a (NULL: out of
 * memory). */
uint64_t *decoded_label_set_sums(const Profpipe__Decoded *d, struct arena *a);

#endif
