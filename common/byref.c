#include "common/byref.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMFD_NAME "profpipe-byref"
/* What /proc/self/fd/N reads for one: "/memfd:NAME (deleted)". */
#define MEMFD_LINK "/memfd:" MEMFD_NAME " "
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

int
byref_out_open(struct byref_out *o, size_t cap, char *err, size_t errlen)
{
	struct stat sb;
	void *p;

	o->fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (o->fd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(o->fd, (off_t)cap) != 0 ||
	    fcntl(o->fd, F_ADD_SEALS, SEALS | F_SEAL_SEAL) != 0 ||
	    fstat(o->fd, &sb) != 0) {
		snprintf(err, errlen, "memfd of %zu bytes: %s", cap,
		    strerror(errno));
		goto out_close;
	}
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mapping a memfd of %zu bytes: %s", cap,
		    strerror(errno));
		goto out_close;
	}
	o->base = p;
	o->cap = cap;
	o->ino = (uint64_t)sb.st_ino;
	o->high = 0;
	return 0;

out_close:
	close(o->fd);
	o->fd = -1;
	return -1;
}

void
byref_out_close(struct byref_out *o)
{
	if (o->fd < 0)
		return;
	munmap(o->base, o->cap);
	close(o->fd);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}

/* Field 21, wire type 2 (length-delimited), as a varint. */
#define BYREF_TAG0 (uint8_t)(0x80 | ((21 << 3 | 2) & 0x7f))
#define BYREF_TAG1 (uint8_t)((21 << 3 | 2) >> 7)

void
byref_out_release(struct byref_out *o, size_t keep)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	keep = (keep + page - 1) / page * page;
	if (o->fd < 0 || o->high <= keep)
		return;
	/* Whole pages (a partial one would be zeroed, not freed); failing
	 * only leaves the pages where they were. */
	(void)fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)keep, (off_t)((o->high + page - 1) / page * page - keep));
	o->high = keep;
}

size_t
byref_out_message(struct byref_out *o, size_t len, uint8_t *msg)
{
	Profpipe__MemfdRef ref = PROFPIPE__MEMFD_REF__INIT;

	ref.pid = (uint32_t)getpid();
	ref.fd = (uint32_t)o->fd;
	ref.inode = o->ino;
	ref.len = len;
	if (len > o->high)
		o->high = len;
	/* At most 6 + 6 + 11 + 11 bytes: its length fits one byte. */
	msg[0] = BYREF_TAG0;
	msg[1] = BYREF_TAG1;
	msg[2] = (uint8_t)profpipe__memfd_ref__pack(&ref, msg + 3);
	return 3 + (size_t)msg[2];
}

size_t
byref_out_fill(struct byref_out *o, size_t cap, size_t len,
    void (*fill)(void *arg, void *buf, size_t len), void *arg, uint8_t *msg,
    char *err, size_t errlen)
{
	if (o->fd < 0 && byref_out_open(o, cap, err, errlen) != 0)
		return 0;
	if (len > o->cap) {
		snprintf(err, errlen, "%zu bytes: over the memfd's %zu", len,
		    o->cap);
		return 0;
	}
	fill(arg, o->base, len);
	return byref_out_message(o, len, msg);
}

/* One mapping of a sender's memfd, named as the sender names it. */
struct byref_map {
	uint32_t pid;
	uint32_t fd_num;
	uint64_t ino;
	int fd; /* ours */
	const uint8_t *base;
	size_t size;
	uint64_t used; /* in->clock at the last use */
};

struct byref_in {
	struct byref_map m[BYREF_CACHE];
	uint64_t clock;
};

struct byref_in *
byref_in_new(void)
{
	return calloc(1, sizeof(struct byref_in));
}

static void
map_drop(struct byref_map *m)
{
	if (m->base == NULL)
		return;
	munmap((void *)m->base, m->size);
	close(m->fd);
	memset(m, 0, sizeof(*m));
}

void
byref_in_free(struct byref_in *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < BYREF_CACHE; i++)
		map_drop(&in->m[i]);
	free(in);
}

/* Open and check what ref names, into m. 0, or -1 with err. */
static int
map_open(struct byref_map *m, const Profpipe__MemfdRef *ref, char *err,
    size_t errlen)
{
	char path[64];
	char self[64];
	char link[64];
	struct stat sb;
	ssize_t n;
	void *p;
	int seals;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/fd/%u", ref->pid, ref->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(
		    err, errlen, BYREF_REASON "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Checked on what was opened, not on the path, which may change. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, link, sizeof(link));
	if (n < 0 || (size_t)n < strlen(MEMFD_LINK) ||
	    memcmp(link, MEMFD_LINK, strlen(MEMFD_LINK)) != 0) {
		snprintf(err, errlen, BYREF_REASON "%s: not a profpipe memfd",
		    path);
		goto out_close;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_ino != ref->inode ||
	    seals < 0 || (seals & SEALS) != SEALS) {
		snprintf(err, errlen,
		    BYREF_REASON "%s: not inode %llu, or not sealed", path,
		    (unsigned long long)ref->inode);
		goto out_close;
	}
	/* Another user's process could rewrite what was checked here: its
	 * memfd's seals stop a resize, not a write through its own map. */
	if (sb.st_uid != geteuid()) {
		snprintf(err, errlen,
		    BYREF_REASON "%s: uid %u's memfd, not this user's", path,
		    (unsigned)sb.st_uid);
		goto out_close;
	}
	if (sb.st_size <= 0) {
		snprintf(err, errlen, BYREF_REASON "%s: empty", path);
		goto out_close;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, BYREF_REASON "mapping %s: %s", path,
		    strerror(errno));
		goto out_close;
	}
	m->pid = ref->pid;
	m->fd_num = ref->fd;
	m->ino = ref->inode;
	m->fd = fd;
	m->base = p;
	m->size = (size_t)sb.st_size;
	return 0;

out_close:
	close(fd);
	return -1;
}

/* Drop the mappings of senders that are gone: a gone sender's memfds
 * stay alive while mapped here (a decoder that exits or is killed leaves
 * up to 8 profiles' pages behind), and waiting for a full cache to
 * reclaim them let the aggregator hold some 20 MB more with each decoder
 * restart, up to 256 memfds. Run on a miss only, which a sender's new
 * memfd causes (its slots reuse theirs): one kill(0) per run of one
 * sender's mappings. */
static void
map_sweep(struct byref_in *in)
{
	uint32_t alive = 0;
	size_t i;

	for (i = 0; i < BYREF_CACHE; i++) {
		if (in->m[i].base == NULL || in->m[i].pid == alive)
			continue;
		if (kill((pid_t)in->m[i].pid, 0) != 0 && errno == ESRCH)
			map_drop(&in->m[i]);
		else
			alive = in->m[i].pid; /* a sender's are side by side */
	}
}

/* The mapping ref names: the one kept, or a new one in the slot of the
 * same sender's fd (it moved on from that memfd), else an empty one (gone
 * senders' dropped first, map_sweep), else the least recently used. NULL
 * with err. */
static struct byref_map *
map_get(struct byref_in *in, const Profpipe__MemfdRef *ref, char *err,
    size_t errlen)
{
	struct byref_map *victim = NULL;
	struct byref_map *empty = NULL;
	struct byref_map *m;
	size_t i;

	for (i = 0; i < BYREF_CACHE; i++) {
		m = &in->m[i];
		if (m->base == NULL) {
			if (empty == NULL)
				empty = m;
			continue;
		}
		if (m->pid != ref->pid || m->fd_num != ref->fd)
			continue;
		if (m->ino == ref->inode)
			return m;
		victim = m;
	}
	if (victim == NULL) {
		map_sweep(in);
		for (i = 0; i < BYREF_CACHE && empty == NULL; i++)
			if (in->m[i].base == NULL)
				empty = &in->m[i];
		victim = empty;
	}
	if (victim == NULL) {
		victim = &in->m[0];
		for (i = 1; i < BYREF_CACHE; i++)
			if (in->m[i].used < victim->used)
				victim = &in->m[i];
	}
	map_drop(victim);
	if (map_open(victim, ref, err, errlen) < 0)
		return NULL;
	return victim;
}

/* The by_ref of a message of type desc in buf: 1 with it in ref, else 0. */
static int
ref_of(const ProtobufCMessageDescriptor *desc, const void *buf, size_t len,
    Profpipe__MemfdRef *ref)
{
	const ProtobufCFieldDescriptor *f;
	const Profpipe__MemfdRef *r;
	ProtobufCMessage *m;

	f = protobuf_c_message_descriptor_get_field(desc, 21);
	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE ||
	    f->descriptor != &profpipe__memfd_ref__descriptor)
		return 0;
	m = protobuf_c_message_unpack(desc, NULL, len, buf);
	if (m == NULL)
		return 0;
	r = *(const Profpipe__MemfdRef **)(const void *)((const char *)m +
	    f->offset);
	if (r != NULL)
		*ref = *r;
	protobuf_c_message_free_unpacked(m, NULL);
	return r != NULL;
}

int
byref_in_resolve(struct byref_in *in, const ProtobufCMessageDescriptor *desc,
    const void **buf, size_t *len, char *err, size_t errlen)
{
	struct byref_map *m;
	Profpipe__MemfdRef ref;

	if (*len > BYREF_MSG_MAX || !ref_of(desc, *buf, *len, &ref))
		return 0;
	if (ref.len == 0) {
		snprintf(err, errlen, BYREF_REASON "an empty reference");
		return -1;
	}
	m = map_get(in, &ref, err, errlen);
	if (m == NULL)
		return -1;
	m->used = ++in->clock;
	if (ref.len > m->size) {
		snprintf(err, errlen,
		    BYREF_REASON "%llu bytes named in a memfd of %zu",
		    (unsigned long long)ref.len, m->size);
		return -1;
	}
	*buf = m->base;
	*len = (size_t)ref.len;
	return 1;
}
