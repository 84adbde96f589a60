/*
 * decode: a pprof profile's bytes in, a Profpipe__Decoded out. This is the
 * decoder stage's whole job and the hot step of the pipeline: sniff the
 * compression (gzip, zstd or none), inflate under a cap, read the protobuf
 * without copying it, resolve every sample into a stack of frames (inlined
 * lines expanded), and collapse identical stacks. No I/O, no globals.
 *
 * Memory: everything the result points to (strings, frames, stacks, label
 * sets, the inflated bytes the strings live in) is allocated in the arena
 * the caller passes; arena_free or arena_reset drops it in one call. The
 * arena's cap is the decode's memory cap (beyond the decompressors' own
 * state, kept in struct decoder); past it the decode fails with a message
 * naming the cap. The caller fills out->origin.
 *
 * The stack hash (Decoded.stack_hash) is computed over the frames' text, so
 * one stack has one hash in every profile, process and run:
 *
 *	frame_hash = hash_u64(hash_bytes(hash_bytes(HASH_SEED, name, name_len),
 *	                                 file, file_len), (uint64_t)line)
 *	sum = frame_hash[0] + frame_hash[1] * K + frame_hash[2] * K^2 + ...
 *	      (frame 0 the leaf; mod 2^64; K = DECODE_STACK_K)
 *	h = hash_u64(hash_u64(HASH_SEED, sum), n_frames)
 *
 * A frame's text is hashed once per profile, not once per sample it appears
 * in: hashing the text inside the per-stack loop cost ~35 ms on a 28k-stack
 * heap profile, several times the whole rest of the decode. The sum (a
 * polynomial in K, the frame hashes its coefficients) replaced a chain of
 * hash_u64 over the frames in 2026: a chain is one long dependency, ~6
 * cycles a frame, and a sum splits at any point, so a location's frames
 * make one precomputed term that a stack adds times K^i, i where they
 * start; that is one multiply per location, independent of the others.
 * For two different stacks the difference of the sums is a frame-hash
 * difference times a power of an odd K, plus others: as likely to be zero
 * as any 64-bit value, short of frames swapped at distances 2^j apart,
 * which lose j + 2 bits; the final hash_u64 spreads the sum's bits.
 * decode_frame_hash and decode_stack_hash compute it for anyone who needs
 * to match it. A frame of a location without lines is named "0x" + the
 * address in hex, with file "" and line 0.
 */
#ifndef PROFPIPE_DECODE_H
#define PROFPIPE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/hash.h"
#include "common/wire.pb-c.h"

struct decode_limits {
	size_t max_inflated; /* bytes after gzip/zstd, or of a plain body */
	uint32_t max_depth;  /* frames per sample, inlined frames counted */
	uint32_t max_table;  /* entries per table: strings, functions, ... */
	uint32_t max_labels; /* labels per sample */
	/* Not a limit: 1 to read location ids and values without BMI2's
	 * pext even where this CPU has a fast one, as CPUs without a fast
	 * pext read them (--portable), so that path can be tested here. */
	int portable;
	/* Not a limit either: 1 to keep frame ids 32-bit however few the
	 * frames (as for a profile of over 2^16), so that path can be
	 * tested on any profile. */
	int wide;
};

#define DECODE_MAX_INFLATED ((size_t)64 << 20)
#define DECODE_MAX_DEPTH 4096
#define DECODE_MAX_TABLE (1u << 22)
#define DECODE_MAX_LABELS 1024

/* An arena cap that fits any profile within lim's caps in practice: the
 * inflated bytes plus the tables and stacks built from them. */
size_t decode_arena_cap(const struct decode_limits *lim);

enum decode_err {
	DECODE_OK = 0,
	DECODE_EBAD = -1,   /* the input is not a valid profile: permanent */
	DECODE_ENOMEM = -2, /* the arena cap (or malloc) said no */
};

void decode_limits_default(struct decode_limits *lim);

/* A decoder keeps the decompressors' state between profiles; one per
 * thread. lim is copied. */
struct decoder;
int decoder_new(struct decoder **out, const struct decode_limits *lim);
void decoder_free(struct decoder *d);

/* Decode body (gzip, zstd or plain protobuf) into *out, frames 32-bit.
 * On failure returns
 * DECODE_EBAD or DECODE_ENOMEM with a message in err naming the reason and,
 * where known, the byte offset (in the inflated bytes); *out is then
 * unspecified, and what was allocated stays in the arena. */
int decoder_run(struct decoder *d, const uint8_t *body, size_t len,
    struct arena *a, Profpipe__Decoded *out, char *err, size_t errlen);

/* The stacks' frames as 16-bit ids, where decoder_run_narrow left them
 * so. A profile of at most 2^16 frames (nearly every one) names each in
 * 16 bits, and the frames, 32-bit in the Decoded, are the largest part of
 * a decode's peak memory: 1.4 times the unpacked profile on cpu-large,
 * 2026-12-07 (tests/bench/HISTORY.md). */
struct decode_narrow {
	uint16_t *ids; /* NULL: the frames are 32-bit, in the Decoded */
	size_t n;      /* ids in all: the Decoded's stack_frames count */
	size_t cap;    /* ids allocated (the scratch stream's last, if it
	                * still is) */
};

/* decoder_run, leaving the frames 16-bit in *nw when they fit (out's
 * stack_frames then empty, n_stack_frames 0) for decode_pack to widen as
 * it packs: the decoder stage's way, which never holds them 32-bit. */
int decoder_run_narrow(struct decoder *d, const uint8_t *body, size_t len,
    struct arena *a, Profpipe__Decoded *out, struct decode_narrow *nw,
    char *err, size_t errlen);

/* The packed size of d with nw's frames (if any) as its stack_frames, and
 * the packing into buf (that many bytes): the bytes
 * protobuf_c_message_pack gives for the Decoded with 32-bit frames,
 * except that stack_frames (field 13) comes last. */
size_t decode_packed_size(
    const Profpipe__Decoded *d, const struct decode_narrow *nw);
void decode_pack(
    const Profpipe__Decoded *d, const struct decode_narrow *nw, uint8_t *buf);

/* The same with a decoder made for the one call. */
int decode_profile(const uint8_t *body, size_t len,
    const struct decode_limits *lim, struct arena *a, Profpipe__Decoded *out,
    char *err, size_t errlen);

/* The stack hash, as above: frame_hashes leaf first. */
#define DECODE_STACK_K 0xc4ceb9fe1a85ec53ULL
uint64_t decode_frame_hash(const char *name, size_t name_len, const char *file,
    size_t file_len, int64_t line);
uint64_t decode_stack_hash(const uint64_t *frame_hashes, size_t n);

static inline uint64_t
decode_stack_hash_final(uint64_t sum, uint64_t n_frames)
{
	return hash_u64_inline(hash_u64_inline(HASH_SEED, sum), n_frames);
}

#endif
