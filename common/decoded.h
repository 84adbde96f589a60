/*
 * decoded: what any stage may rely on in a Decoded profile it received
 * (wire.proto's field comments made checkable), so a stage that passed
 * decoded_check indexes its arrays without checking again: every string,
 * frame and label-set index in range, stack offsets that go forward and
 * span stack_frames exactly, and one stack hash, label-set index (or none
 * at all) and n_sample_types values per stack.
 *
 * A profile that fails can never be processed: the receiver answers
 * REJECTED with err as the reason rather than have it sent again.
 */
#ifndef PROFPIPE_DECODED_H
#define PROFPIPE_DECODED_H

#include <stddef.h>

#include "common/wire.pb-c.h"

/* 0, or -1 with the first problem found in err. */
int decoded_check(const Profpipe__Decoded *d, char *err, size_t errlen);

/* Stacks in d: n_stack_offset - 1, or 0 when there are no offsets. */
size_t decoded_n_stacks(const Profpipe__Decoded *d);

#endif
