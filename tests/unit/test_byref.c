/*
 * byref: a reference resolves to the very bytes the sender wrote, through
 * the kept mapping or a new one when the sender moved to a fresh memfd;
 * anything that is not a reference is left alone; a reference to what is
 * not a sealed profpipe memfd of that inode, or past its end, is refused
 * with BYREF_REASON, and so is another user's memfd; the mappings kept stay
 * within BYREF_CACHE, a sender that is gone dropped first; a sender's
 * released pages leave memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/byref.h"

#define CAP ((size_t)1 << 20)

/* A reference message naming whatever the arguments say. */
static size_t
ref_msg(uint8_t *msg, uint32_t pid, int fd, uint64_t ino, uint64_t len)
{
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	Profpipe__MemfdRef ref = PROFPIPE__MEMFD_REF__INIT;

	ref.pid = pid;
	ref.fd = (uint32_t)fd;
	ref.inode = ino;
	ref.len = len;
	d.by_ref = &ref;
	assert_true(
	    protobuf_c_message_get_packed_size(&d.base) <= BYREF_MSG_MAX);
	return protobuf_c_message_pack(&d.base, msg);
}

static uint64_t
ino_of(int fd)
{
	struct stat sb;

	assert_int_equal(fstat(fd, &sb), 0);
	return (uint64_t)sb.st_ino;
}

/* Resolve msg; the return value, with why refused in err. */
static int
resolve(struct byref_in *in, const uint8_t *msg, size_t n, const void **buf,
    size_t *len, char *err)
{
	*buf = msg;
	*len = n;
	err[0] = '\0';
	return byref_in_resolve(
	    in, &profpipe__decoded__descriptor, buf, len, err, 256);
}

static void
assert_refused(
    struct byref_in *in, const uint8_t *msg, size_t n, const char *why)
{
	const void *buf;
	size_t len;
	char err[256];

	assert_int_equal(resolve(in, msg, n, &buf, &len, err), -1);
	assert_memory_equal(err, BYREF_REASON, strlen(BYREF_REASON));
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, why);
}

static void
test_round_trip(void **state)
{
	struct byref_in *in = byref_in_new();
	struct byref_out o;
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	const void *first;
	size_t len;
	size_t n;
	size_t i;
	char err[256];

	(void)state;
	assert_non_null(in);
	assert_int_equal(byref_out_open(&o, CAP, err, sizeof(err)), 0);
	for (i = 0; i < 5000; i++)
		o.base[i] = (uint8_t)(i * 7 + 1);
	n = byref_out_message(&o, 5000, msg);
	assert_true(n <= BYREF_MSG_MAX);
	assert_int_equal(resolve(in, msg, n, &buf, &len, err), 1);
	assert_int_equal(len, 5000);
	assert_memory_equal(buf, o.base, 5000);
	first = buf;

	/* The same memfd again: the kept mapping, showing the new bytes. */
	o.base[0] = 0xee;
	n = byref_out_message(&o, CAP, msg);
	assert_int_equal(resolve(in, msg, n, &buf, &len, err), 1);
	assert_ptr_equal(buf, first);
	assert_int_equal(len, CAP);
	assert_int_equal(((const uint8_t *)buf)[0], 0xee);
	/* Read as a Result's reference, the same. */
	buf = msg;
	len = n;
	assert_int_equal(byref_in_resolve(in, &profpipe__result__descriptor,
	                     &buf, &len, err, sizeof(err)),
	    1);
	assert_ptr_equal(buf, first);
	/* A type without field 21 as a MemfdRef never has a reference. */
	buf = msg;
	len = n;
	assert_int_equal(byref_in_resolve(in, &profpipe__origin__descriptor,
	                     &buf, &len, err, sizeof(err)),
	    0);
	assert_ptr_equal(buf, msg);

	/* A fresh memfd, likely under the same fd number: its own bytes. */
	byref_out_close(&o);
	assert_int_equal(o.fd, -1);
	assert_int_equal(byref_out_open(&o, CAP, err, sizeof(err)), 0);
	memset(o.base, 0x5a, 100);
	n = byref_out_message(&o, 100, msg);
	assert_int_equal(resolve(in, msg, n, &buf, &len, err), 1);
	assert_int_equal(len, 100);
	assert_memory_equal(buf, o.base, 100);
	byref_out_close(&o);
	byref_out_close(&o); /* twice is harmless */
	byref_in_free(in);
}

/* The hand-written reference is what protobuf-c packs for a Decoded or
 * a Result with only by_ref set. */
static void
test_message_as_packed(void **state)
{
	Profpipe__Result res = PROFPIPE__RESULT__INIT;
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	Profpipe__MemfdRef ref = PROFPIPE__MEMFD_REF__INIT;
	struct byref_out o = {.fd = 2147483647, .ino = UINT64_MAX};
	uint8_t want[128];
	uint8_t got[BYREF_MSG_MAX];
	size_t n;

	(void)state;
	ref.pid = (uint32_t)getpid();
	ref.fd = (uint32_t)o.fd;
	ref.inode = o.ino;
	ref.len = UINT64_MAX;
	d.by_ref = &ref;
	res.by_ref = &ref;
	n = byref_out_message(&o, SIZE_MAX, got);
	assert_true(n <= BYREF_MSG_MAX);
	assert_int_equal(protobuf_c_message_pack(&d.base, want), n);
	assert_memory_equal(got, want, n);
	assert_int_equal(protobuf_c_message_pack(&res.base, want), n);
	assert_memory_equal(got, want, n);
	o.fd = 3;
	o.ino = 1;
	ref.fd = 3;
	ref.inode = 1;
	ref.len = 1;
	n = byref_out_message(&o, 1, got);
	assert_int_equal(protobuf_c_message_pack(&d.base, want), n);
	assert_memory_equal(got, want, n);
}

static void
fill_pattern(void *arg, void *buf, size_t len)
{
	memset(buf, *(const int *)arg, len);
}

/* byref_out_fill opens the memfd on first use, writes through the fill
 * function and names what it wrote; more than the memfd holds is
 * refused, not written. */
static void
test_fill(void **state)
{
	struct byref_in *in = byref_in_new();
	struct byref_out o = {.fd = -1};
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	size_t n;
	char err[256];
	int c = 0x3c;

	(void)state;
	n = byref_out_fill(
	    &o, CAP, 3000, fill_pattern, &c, msg, err, sizeof(err));
	assert_true(n > 0 && n <= BYREF_MSG_MAX);
	assert_true(o.fd >= 0);
	assert_int_equal(resolve(in, msg, n, &buf, &len, err), 1);
	assert_int_equal(len, 3000);
	assert_int_equal(((const uint8_t *)buf)[2999], 0x3c);
	assert_int_equal(((const uint8_t *)buf)[3000], 0);
	c = 0x11;
	assert_int_equal(byref_out_fill(&o, CAP, CAP + 1, fill_pattern, &c,
	                     msg, err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "over the memfd"));
	assert_int_equal(o.base[0], 0x3c);
	byref_out_close(&o);
	byref_in_free(in);
}

/* Released pages leave memory; the kept ones and the memfd stay. */
static void
test_release(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t big = 2 << 20;
	struct byref_out o;
	unsigned char vec[(2 << 20) / 4096];
	uint8_t msg[BYREF_MSG_MAX];
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(page, 4096);
	assert_int_equal(byref_out_open(&o, CAP * 4, err, sizeof(err)), 0);
	memset(o.base, 0x77, big);
	byref_out_message(&o, big - 100, msg); /* its last page partly */
	assert_int_equal(mincore(o.base, big, vec), 0);
	for (i = 0; i < big / page; i++)
		assert_true(vec[i] & 1);
	byref_out_release(&o, 65536 - 100); /* rounded up to a page */
	assert_int_equal(mincore(o.base, big, vec), 0);
	for (i = 0; i < big / page; i++)
		assert_int_equal(vec[i] & 1, i < 65536 / page);
	assert_int_equal(o.base[65535], 0x77);
	assert_int_equal(o.base[65536], 0);
	/* Still a working memfd. */
	o.base[big - 1] = 1;
	assert_int_equal(o.base[big - 1], 1);
	byref_out_release(&o, big); /* nothing past the high mark: no-op */
	byref_out_close(&o);
}

/* Inline messages, and what is not a message at all, pass untouched. */
static void
test_not_a_reference(void **state)
{
	struct byref_in *in = byref_in_new();
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f};
	uint8_t big[BYREF_MSG_MAX + 1];
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	size_t n;
	char err[256];

	(void)state;
	o.profile_id = "p-1";
	d.origin = &o;
	n = protobuf_c_message_pack(&d.base, msg);
	assert_int_equal(resolve(in, msg, n, &buf, &len, err), 0);
	assert_ptr_equal(buf, msg);
	assert_int_equal(len, n);
	assert_int_equal(resolve(in, junk, sizeof(junk), &buf, &len, err), 0);
	assert_ptr_equal(buf, junk);
	assert_int_equal(resolve(in, msg, 0, &buf, &len, err), 0);
	/* Too long to be a reference: not even read. */
	memset(big, 0xff, sizeof(big));
	assert_int_equal(resolve(in, big, sizeof(big), &buf, &len, err), 0);
	assert_int_equal(len, sizeof(big));
	byref_in_free(in);
}

static void
test_refused(void **state)
{
	struct byref_in *in = byref_in_new();
	struct byref_out o;
	char path[] = "/tmp/profpipe-byref-XXXXXX";
	uint8_t msg[BYREF_MSG_MAX];
	uint32_t me = (uint32_t)getpid();
	pid_t gone;
	char err[256];
	int plain;
	int other;
	int unsealed;

	(void)state;
	assert_int_equal(byref_out_open(&o, CAP, err, sizeof(err)), 0);
	assert_refused(in, msg, ref_msg(msg, me, o.fd, o.ino, 0), "empty");
	assert_refused(in, msg, ref_msg(msg, me, o.fd, o.ino, CAP + 1),
	    "bytes named in a memfd of");
	assert_refused(
	    in, msg, ref_msg(msg, me, o.fd, o.ino + 1, 10), "not inode");
	assert_refused(in, msg, ref_msg(msg, me, 9999, o.ino, 10), "/fd/9999");

	/* A process that is gone. */
	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, NULL, 0), gone);
	assert_refused(
	    in, msg, ref_msg(msg, (uint32_t)gone, o.fd, o.ino, 10), "/proc/");

	/* Files that are not a sealed profpipe memfd. */
	plain = mkstemp(path);
	assert_true(plain >= 0);
	unlink(path);
	assert_int_equal(ftruncate(plain, 4096), 0);
	assert_refused(in, msg, ref_msg(msg, me, plain, ino_of(plain), 10),
	    "not a profpipe memfd");
	other = memfd_create("other", MFD_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(ftruncate(other, 4096), 0);
	assert_refused(in, msg, ref_msg(msg, me, other, ino_of(other), 10),
	    "not a profpipe memfd");
	unsealed = memfd_create("profpipe-byref", MFD_CLOEXEC);
	assert_true(unsealed >= 0);
	assert_int_equal(ftruncate(unsealed, 4096), 0);
	assert_refused(in, msg,
	    ref_msg(msg, me, unsealed, ino_of(unsealed), 10), "not sealed");

	close(plain);
	close(other);
	close(unsealed);
	byref_out_close(&o);
	byref_in_free(in);
}

/* A memfd of another user's process is refused even by root, who may
 * open it: that process could rewrite the bytes after they were checked.
 * The child makes its memfd as nobody and waits for the parent's verdict
 * before it exits. */
static void
test_other_users_memfd(void **state)
{
	struct byref_in *in;
	uint8_t msg[BYREF_MSG_MAX];
	uint64_t got[2] = {0, 0};
	const void *buf;
	size_t len;
	char err[256];
	int to_child[2];
	int to_parent[2];
	pid_t child;
	int status;
	int rv;

	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can make a process of another user */
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct byref_out o;
		uint64_t sent[2];
		char c;

		close(to_child[1]);
		close(to_parent[0]);
		if (setgid(65534) != 0 || setuid(65534) != 0 ||
		    byref_out_open(&o, CAP, err, sizeof(err)) != 0)
			_exit(1);
		memset(o.base, 0x11, 100);
		sent[0] = (uint64_t)o.fd;
		sent[1] = o.ino;
		if (write(to_parent[1], sent, sizeof(sent)) != sizeof(sent))
			_exit(1);
		/* Until the parent has resolved, or is gone. */
		(void)!read(to_child[0], &c, 1);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	rv = 0;
	err[0] = '\0';
	if (read(to_parent[0], got, sizeof(got)) == sizeof(got)) {
		in = byref_in_new();
		assert_non_null(in);
		rv = resolve(in, msg,
		    ref_msg(msg, (uint32_t)child, (int)got[0], got[1], 100),
		    &buf, &len, err);
		byref_in_free(in);
	}
	close(to_child[1]); /* the child may exit now */
	close(to_parent[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(rv, -1);
	assert_true(byref_refused(err));
	if (strstr(err, "uid 65534's memfd, not this user's") == NULL)
		fail_msg("\"%s\" does not name the other user", err);
}

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* More senders' memfds than are kept: each still resolves to its own
 * bytes, the oldest mappings are dropped, and freeing closes the rest. */
static void
test_cache_bound(void **state)
{
	enum { N = BYREF_CACHE + 8 };
	struct byref_out o[N];
	struct byref_in *in;
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	char err[256];
	int base;
	int i;
	int k;

	(void)state;
	for (i = 0; i < N; i++) {
		assert_int_equal(
		    byref_out_open(&o[i], CAP, err, sizeof(err)), 0);
		memcpy(o[i].base, &i, sizeof(i)); /* each its own bytes */
	}
	base = open_fds();
	in = byref_in_new();
	for (i = 0; i < 2 * N; i++) {
		assert_int_equal(
		    resolve(in, msg, byref_out_message(&o[i % N], 64, msg),
		        &buf, &len, err),
		    1);
		memcpy(&k, buf, sizeof(k));
		assert_int_equal(k, i % N);
		assert_true(open_fds() <= base + BYREF_CACHE);
	}
	assert_int_equal(open_fds(), base + BYREF_CACHE);
	byref_in_free(in);
	assert_int_equal(open_fds(), base);
	for (i = 0; i < N; i++)
		byref_out_close(&o[i]);
}

/* Whether inode ino is mapped in this process. */
static int
mapped(uint64_t ino)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long long i;
	int found = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %*s %*s %*s %llu", &i) == 1 &&
		    (uint64_t)i == ino)
			found = 1;
	}
	fclose(f);
	return found;
}

/* A child's memfd, resolved through in while the child holds it; the
 * child gone (reaped) on return. Its inode. */
static uint64_t
gone_childs_memfd(struct byref_in *in)
{
	struct byref_out co;
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	char err[256];
	int tochild[2], toparent[2];
	uint64_t got[2];
	char c = 0;
	pid_t child;

	assert_int_equal(pipe(tochild), 0);
	assert_int_equal(pipe(toparent), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* its memfd, named to the parent; held until told */
		if (byref_out_open(&co, CAP, err, sizeof(err)) != 0)
			_exit(1);
		got[0] = (uint64_t)co.fd;
		got[1] = co.ino;
		if (write(toparent[1], got, sizeof(got)) != sizeof(got) ||
		    read(tochild[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(read(toparent[0], got, sizeof(got)), sizeof(got));
	assert_int_equal(
	    resolve(in, msg,
	        ref_msg(msg, (uint32_t)child, (int)got[0], got[1], 64), &buf,
	        &len, err),
	    1);
	assert_int_equal(write(tochild[1], &c, 1), 1);
	assert_int_equal(waitpid(child, NULL, 0), child);
	close(tochild[0]);
	close(tochild[1]);
	close(toparent[0]);
	close(toparent[1]);
	return got[1];
}

/* A full cache makes room by dropping a sender that is gone before the
 * least recently used mapping of one still there: a child's memfd, mapped
 * last, is dropped once the child is gone, and this process's first,
 * mapped first, stays. */
static void
test_cache_drops_gone_first(void **state)
{
	enum { N = BYREF_CACHE - 1 };
	struct byref_out *o = calloc(N + 1, sizeof(*o));
	struct byref_in *in = byref_in_new();
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	char err[256];
	uint64_t ino;
	int i;

	(void)state;
	assert_non_null(o);
	for (i = 0; i < N + 1; i++)
		assert_int_equal(
		    byref_out_open(&o[i], CAP, err, sizeof(err)), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(
		    resolve(in, msg, byref_out_message(&o[i], 64, msg), &buf,
		        &len, err),
		    1);
	ino = gone_childs_memfd(in);
	assert_true(mapped(ino));
	assert_true(mapped(o[0].ino));

	/* The cache is full: one more. */
	assert_int_equal(resolve(in, msg, byref_out_message(&o[N], 64, msg),
	                     &buf, &len, err),
	    1);
	assert_false(mapped(ino));
	assert_true(mapped(o[0].ino));

	byref_in_free(in);
	for (i = 0; i < N + 1; i++)
		byref_out_close(&o[i]);
	free(o);
}

/* Nor does it wait for a full cache: the next memfd not yet mapped drops
 * a gone sender's (whose pages its mapping kept alive: some 20 MB in the
 * aggregator per decoder restart, up to 256 memfds). A sender still there
 * keeps its own. */
static void
test_miss_drops_gone(void **state)
{
	struct byref_out o[2];
	struct byref_in *in = byref_in_new();
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	char err[256];
	uint64_t ino;
	int i;

	(void)state;
	for (i = 0; i < 2; i++)
		assert_int_equal(
		    byref_out_open(&o[i], CAP, err, sizeof(err)), 0);
	assert_int_equal(resolve(in, msg, byref_out_message(&o[0], 64, msg),
	                     &buf, &len, err),
	    1);
	ino = gone_childs_memfd(in);
	assert_true(mapped(ino));
	/* a hit asks nothing */
	assert_int_equal(resolve(in, msg, byref_out_message(&o[0], 64, msg),
	                     &buf, &len, err),
	    1);
	assert_true(mapped(ino));
	assert_int_equal(resolve(in, msg, byref_out_message(&o[1], 64, msg),
	                     &buf, &len, err),
	    1);
	assert_false(mapped(ino));
	assert_true(mapped(o[0].ino));
	byref_in_free(in);
	for (i = 0; i < 2; i++)
		byref_out_close(&o[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_message_as_packed),
	    cmocka_unit_test(test_fill),
	    cmocka_unit_test(test_release),
	    cmocka_unit_test(test_not_a_reference),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_other_users_memfd),
	    cmocka_unit_test(test_cache_bound),
	    cmocka_unit_test(test_cache_drops_gone_first),
	    cmocka_unit_test(test_miss_drops_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
