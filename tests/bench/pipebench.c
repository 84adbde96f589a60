/*
 * pipebench: the decoder stage fed at full speed, through its real sockets.
 * It plays the fetcher (a REQ socket listening on a scratch raw.ipc, with
 * K requests in flight) and whatever sits downstream, and starts real
 * bin/profpipe-decoder processes between them:
 *
 *   pipebench -n N            fetcher -> N decoders -> sink
 *   pipebench -n N -a         fetcher -> N decoders -> profpipe-aggregator
 *                             -> sink (the sink plays the exporter)
 *
 * The requests are RawProfile messages packed once from the files given;
 * each send only writes a fresh profile_id (the aggregator drops an id it
 * has seen) and the time of the send (pipebench_raw.h): into a copy nng
 * makes of a small one, into the memfd that
 * already holds a large one (written once, as the fetcher would have
 * written it: the fetcher's copy is not the decoder's cost), which goes
 * by reference. The next request is sent from the callback that took the
 * answer, on nng's thread. The sink acks every message without unpacking it;
 * a large Decoded or Result comes by reference (common/byref.h), which it
 * does not open either.
 * So what the harness does per profile is nng's copying and nothing else,
 * and what is measured is the stage under test, not the harness. It still
 * runs on the same cores, so its CPU time is reported beside the result.
 *
 * After a warm-up, profiles completed (acked OK by the first decoder hop)
 * are counted over a fixed time. Output: one line of key=value pairs.
 * With -m SECONDS, a soak: before it, every SECONDS from the start, a
 * line "memory t=... profiles=... aggregator_rss_kb=... decoder_rss_kb=...",
 * and a SIGUSR1 to the aggregator, which logs its own view of its memory,
 * glibc's heap included, to the stderr it shares with pipebench: one
 * "profpipe-aggregator: info: memory: ..." line per memory line, in order
 * (tests/bench/soak reads both).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/proc.h"
#include "tests/bench/pipebench_proc.h"
#include "tests/bench/pipebench_raw.h"

#define MAX_FILES 64
#define MAX_KIDS 17 /* decoders, and the aggregator */
#define MAX_INFLIGHT RAW_MAX_FDS
#define CALL_MS 60000

struct slot {
	struct pb *pb;
	struct bus_ctx *ctx;
	int file;
	struct rawfd *fd; /* the memfd the call names, or NULL */
};

struct sink {
	struct bus_sock *s;
	atomic_int *stop;
	atomic_ulong msgs;
};

struct pb {
	struct raw raws[MAX_FILES];
	int nfiles;
	struct slot slots[MAX_INFLIGHT];
	int nslots;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready[MAX_INFLIGHT]; /* slots whose call is done, to send again */
	int nready;
	unsigned long ok;       /* acked OK */
	unsigned long rejected; /* acked REJECTED */
	unsigned long failed;   /* no reply: timeout or closed */
	unsigned long long bytes_ok;
	unsigned long long next_id;
	int next_file;
	int inline_raw; /* -i: no references, however large */
	int stopping;   /* set by pb_drive: pb_done sends no more */
};

static double
pb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pb_done(void *arg, int err, const void *reply, size_t rlen);

/* Send the next file on s's context; pb->mu held. */
static int
pb_send(struct pb *pb, struct slot *s)
{
	struct raw *r = &pb->raws[pb->next_file];
	unsigned long long id = pb->next_id++;
	/* Dated by 10 s steps, as a service scraped every 10 s would be:
	 * profiles of a series sent within a step share their time, so
	 * the overlap of calls in flight does not deliver them older than
	 * the one before (which the aggregator warns of, and keeps out of
	 * its deltas) but at the turn of a step. */
	int64_t now = raw_now_ns() / RAW_SPAN_NS * RAW_SPAN_NS;
	uint8_t ref[BYREF_MSG_MAX];
	char why[256];
	int rv;

	s->file = pb->next_file;
	s->fd = NULL;
	pb->next_file = (pb->next_file + 1) % pb->nfiles;
	if (pb->inline_raw || r->len < BYREF_MIN) {
		/* bus_call_async copies the message: the template is
		 * reused */
		if (raw_stamp(r->msg, r, id, now) != 0)
			return BUS_EFAIL;
		return bus_call_async(
		    s->ctx, r->msg, r->len, CALL_MS, pb_done, s);
	}
	s->fd = raw_fd(r, why, sizeof(why));
	if (s->fd == NULL) {
		fprintf(stderr, "pipebench: %s\n", why);
		return BUS_EFAIL;
	}
	if (raw_stamp(s->fd->out.base, r, id, now) != 0) {
		s->fd = NULL;
		return BUS_EFAIL;
	}
	rv = bus_call_async(s->ctx, ref,
	    byref_out_message(&s->fd->out, r->len, ref), CALL_MS, pb_done, s);
	if (rv != BUS_OK) {
		s->fd = NULL;
		return rv;
	}
	s->fd->busy = 1; /* pb_done, which clears it, waits for pb->mu */
	return BUS_OK;
}

/* On an nng thread: count, free the call's memfd, and send the next
 * request on the same context at once (nng lets a callback start its
 * aio's next operation), so that no thread of the harness's is woken per
 * profile; once pb_drive is stopping, hand the slot back instead. */
static void
pb_done(void *arg, int err, const void *reply, size_t rlen)
{
	struct slot *s = arg;
	struct pb *pb = s->pb;
	char why[ACK_MAX];
	int rv = err == BUS_OK ? ack_read(reply, rlen, why, sizeof(why)) : -1;

	pthread_mutex_lock(&pb->mu);
	if (rv == 0) {
		pb->ok++;
		pb->bytes_ok += pb->raws[s->file].body;
	} else if (rv == 1) {
		if (pb->rejected++ == 0)
			fprintf(stderr, "pipebench: rejected: %s\n", why);
	} else {
		pb->failed++;
	}
	if (s->fd != NULL) {
		if (rv < 0)
			byref_out_close(&s->fd->out);
		s->fd->busy = 0;
		s->fd = NULL;
	}
	if (pb->stopping || pb_send(pb, s) != BUS_OK) {
		pb->failed += !pb->stopping;
		pb->ready[pb->nready++] = (int)(s - pb->slots);
		pthread_cond_signal(&pb->cv);
	}
	pthread_mutex_unlock(&pb->mu);
}

/* Plays the aggregator (or the exporter): ack without unpacking. */
static void *
pb_sink_main(void *arg)
{
	struct sink *k = arg;
	struct bus_ctx *c;
	uint8_t ack[ACK_MAX];
	size_t alen = ack_pack(ack, NULL);
	const void *req;
	size_t len;
	int rv;

	if (bus_ctx_new(k->s, &c) != 0)
		return NULL;
	while (!atomic_load(k->stop)) {
		rv = bus_recv(c, &req, &len, 200);
		if (rv == BUS_ETIMEDOUT)
			continue;
		if (rv != BUS_OK)
			break;
		atomic_fetch_add(&k->msgs, 1);
		bus_reply(c, ack, alen);
	}
	bus_ctx_free(c);
	return NULL;
}

struct opts {
	int decoders;
	int aggregator;
	int inflight;
	int inline_raw;
	double warmup;
	double seconds;
	double mem_every; /* -m: seconds between memory lines; 0, none */
	const char *bin;
};

static const char usage[] =
    "usage: pipebench [-n DECODERS] [-a] [-i] [-k INFLIGHT] [-w WARMUP_S]\n"
    "                 [-s SECONDS] [-m SECONDS] [-b BINDIR] FILE...\n"
    "  -i  send every request inline (by default one of 64K or more\n"
    "      goes by reference, as profpipe-fetcher sends it)\n"
    "  -m  every SECONDS, print each stage's resident memory (VmRSS);\n"
    "      with -a, the aggregator is sent SIGUSR1 and logs its memory\n";

static int
pb_opts(struct opts *o, int argc, char **argv)
{
	int c;

	o->decoders = 1;
	o->aggregator = 0;
	o->inline_raw = 0;
	o->inflight = 8;
	o->warmup = 1;
	o->seconds = 3;
	o->mem_every = 0;
	o->bin = "bin";
	while ((c = getopt(argc, argv, "n:aik:w:s:m:b:")) != -1) {
		switch (c) {
		case 'i':
			o->inline_raw = 1;
			break;
		case 'n':
			o->decoders = atoi(optarg);
			break;
		case 'a':
			o->aggregator = 1;
			break;
		case 'k':
			o->inflight = atoi(optarg);
			break;
		case 'w':
			o->warmup = atof(optarg);
			break;
		case 's':
			o->seconds = atof(optarg);
			break;
		case 'm':
			o->mem_every = atof(optarg);
			break;
		case 'b':
			o->bin = optarg;
			break;
		default:
			return -1;
		}
	}
	if (o->decoders < 1 || o->decoders >= MAX_KIDS || o->inflight < 1 ||
	    o->inflight > MAX_INFLIGHT || !(o->mem_every >= 0) ||
	    optind >= argc || argc - optind > MAX_FILES)
		return -1;
	return 0;
}

/* Counters at one instant, to subtract. failed counts calls without an
 * OK inside the measured time; those cut off at the end are not. */
struct snap {
	double t;
	unsigned long ok;
	unsigned long long bytes;
	double self_cpu;
	double dec_cpu;
	double dec_each[MAX_KIDS];
	double agg_cpu;
	double machine_cpu;
	unsigned long long switches;
	unsigned long failed;
};

static void
pb_snap(struct pb *pb, struct snap *s, const pid_t *kids, int ndec, int agg)
{
	int i;

	s->t = pb_now();
	s->ok = pb->ok;
	s->bytes = pb->bytes_ok;
	s->failed = pb->failed + pb->rejected;
	s->self_cpu = pb_self_cpu();
	pb_machine(&s->machine_cpu, &s->switches);
	s->dec_cpu = 0;
	for (i = 0; i < ndec; i++) {
		s->dec_each[i] = pb_child_cpu(kids[i]);
		s->dec_cpu += s->dec_each[i];
	}
	s->agg_cpu = agg ? pb_child_cpu(kids[ndec]) : 0;
}

/* One memory line, t seconds in: what a soak watches. */
static void
pb_memory(const struct pb *pb, double t, const pid_t *kids, int ndec, int agg)
{
	int i;

	if (agg)
		kill(kids[ndec], SIGUSR1);

	printf("memory t=%.1f profiles=%lu aggregator_rss_kb=%ld "
	       "decoder_rss_kb=",
	    t, pb->ok, agg ? pb_child_rss_kb(kids[ndec]) : 0L);
	for (i = 0; i < ndec; i++)
		printf("%s%ld", i > 0 ? "," : "", pb_child_rss_kb(kids[i]));
	printf("\n");
	fflush(stdout);
}

/* Keep every slot busy until the end of the measured time: pb_done sends
 * each slot's next request; this thread starts them, takes the
 * snapshots, and resends on a slot whose send failed. */
static void
pb_drive(struct pb *pb, const struct opts *o, const pid_t *kids,
    struct snap *a, struct snap *b)
{
	struct timespec ts;
	double t0 = pb_now();
	double mem_next = t0 + o->mem_every; /* not at 0: nothing yet */
	double until;
	int taken = 0;
	int i;

	pthread_mutex_lock(&pb->mu);
	for (i = 0; i < pb->nslots; i++) {
		if (pb_send(pb, &pb->slots[i]) != BUS_OK)
			pb->failed++;
	}
	for (;;) {
		while (pb->nready > 0) {
			i = pb->ready[--pb->nready];
			if (pb_send(pb, &pb->slots[i]) != BUS_OK)
				pb->failed++;
		}
		if (!taken && pb_now() >= t0 + o->warmup) {
			pb_snap(pb, a, kids, o->decoders, o->aggregator);
			taken = 1;
		}
		if (o->mem_every > 0 && pb_now() >= mem_next) {
			pb_memory(pb, pb_now() - t0, kids, o->decoders,
			    o->aggregator);
			mem_next += o->mem_every;
		}
		if (taken && pb_now() >= a->t + o->seconds)
			break;
		until = pb_now() + 0.05;
		ts.tv_sec = (time_t)until;
		ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&pb->cv, &pb->mu, &ts);
	}
	pb_snap(pb, b, kids, o->decoders, o->aggregator);
	pb->stopping = 1;
	pthread_mutex_unlock(&pb->mu);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/pipebench.XXXXXX";
	char raw_url[128], dec_url[128], res_url[128];
	char dtap_url[128], atap_url[128], dec_bin[1024], agg_bin[1024];
	char err[512];
	struct opts o;
	struct pb pb;
	struct sink sink;
	struct snap a, b;
	struct bus_sock *raw = NULL;
	pthread_t sinks[MAX_KIDS];
	pthread_condattr_t ca;
	pid_t kids[MAX_KIDS];
	atomic_int stop = 0;
	int nkids = 0;
	int nsinks;
	int bad = 0;
	double w;
	int i;

	/* as the stages it plays do */
	proc_keep_memory();

	if (pb_opts(&o, argc, argv) < 0) {
		fputs(usage, stderr);
		return 100;
	}
	memset(&pb, 0, sizeof(pb));
	memset(&sink, 0, sizeof(sink));
	pthread_mutex_init(&pb.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pb.cv, &ca);
	for (i = optind; i < argc; i++) {
		if (raw_load(&pb.raws[pb.nfiles], argv[i], pb.nfiles) < 0)
			return 111;
		pb.nfiles++;
	}
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL) {
		perror("pipebench: mkdtemp");
		return 111;
	}
	setenv("PROFPIPE_RUN", dir, 1);
	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw.ipc", dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded.ipc", dir);
	snprintf(res_url, sizeof(res_url), "ipc://%s/results.ipc", dir);
	snprintf(dtap_url, sizeof(dtap_url), "ipc://%s/decoder.tap", dir);
	snprintf(atap_url, sizeof(atap_url), "ipc://%s/aggregator.tap", dir);
	snprintf(dec_bin, sizeof(dec_bin), "%s/profpipe-decoder", o.bin);
	snprintf(agg_bin, sizeof(agg_bin), "%s/profpipe-aggregator", o.bin);

	/* Listeners first; the stages dial them. posix_spawn (exec at once)
	 * is safe with nng's threads running, unlike a bare fork. */
	if (bus_open(&raw, BUS_REQ, raw_url, 1, err, sizeof(err)) != 0 ||
	    bus_open(&sink.s, BUS_REP, o.aggregator ? res_url : dec_url, 1,
	        err, sizeof(err)) != 0) {
		fprintf(stderr, "pipebench: %s\n", err);
		return 111;
	}
	sink.stop = &stop;
	nsinks = o.aggregator ? 1 : o.decoders;
	for (i = 0; i < nsinks; i++)
		pthread_create(&sinks[i], NULL, pb_sink_main, &sink);
	if (o.aggregator) {
		/* A soak reads the aggregator's info lines on memory. */
		char *av[] = {agg_bin, "--decoded", dec_url, "--results",
		    res_url, "--tap", atap_url, "--ready-fd", "3",
		    o.mem_every > 0 ? NULL : "-q", NULL};

		if (pb_spawn(&kids[o.decoders], av) < 0)
			return 111;
	}
	for (i = 0; i < o.decoders; i++) {
		char *av[] = {dec_bin, "--raw", raw_url, "--decoded", dec_url,
		    "--tap", dtap_url, "--ready-fd", "3", "--drain", "5", "-q",
		    NULL};

		if (pb_spawn(&kids[i], av) < 0)
			return 111;
		nkids++;
	}
	nkids += o.aggregator;
	pb.nslots = o.inflight;
	pb.inline_raw = o.inline_raw;
	for (i = 0; i < pb.nslots; i++) {
		pb.slots[i].pb = &pb;
		if (bus_ctx_new(raw, &pb.slots[i].ctx) != 0)
			return 111;
	}

	pb_drive(&pb, &o, kids, &a, &b);

	/* Upstream first, as the supervisor does: each decoder finishes the
	 * profile in hand while everything downstream still answers. */
	bad += pb_stop_kids(kids, o.decoders);
	if (o.aggregator)
		bad += pb_stop_kids(kids + o.decoders, 1);
	atomic_store(&stop, 1);
	for (i = 0; i < nsinks; i++)
		pthread_join(sinks[i], NULL);
	rmdir(dir);

	w = b.t - a.t;
	/* Each decoder's share: that both worked is part of the result. */
	printf("decoder_cpu_each=");
	for (i = 0; i < o.decoders; i++)
		printf("%s%.3f", i > 0 ? "," : "",
		    (b.dec_each[i] - a.dec_each[i]) / w);
	printf(" machine_cpu=%.3f decoders=%d aggregator=%d inflight=%d "
	       "files=%d seconds=%.3f profiles=%lu profiles_per_s=%.2f "
	       "gz_mb_per_s=%.2f harness_cpu=%.3f decoder_cpu=%.3f "
	       "aggregator_cpu=%.3f sink_msgs=%lu rejected=%lu failed=%lu "
	       "bad_exits=%d switches_per_profile=%.1f\n",
	    (b.machine_cpu - a.machine_cpu) / w, o.decoders, o.aggregator,
	    o.inflight, pb.nfiles, w, b.ok - a.ok, (double)(b.ok - a.ok) / w,
	    (double)(b.bytes - a.bytes) / w / 1e6,
	    (b.self_cpu - a.self_cpu) / w, (b.dec_cpu - a.dec_cpu) / w,
	    (b.agg_cpu - a.agg_cpu) / w, atomic_load(&sink.msgs), pb.rejected,
	    b.failed - a.failed, bad,
	    (double)(b.switches - a.switches) /
	        (double)(b.ok > a.ok ? b.ok - a.ok : 1));
	/* No nng_close: with requests still out to decoders that are gone,
	 * nng 1.5.2's close can wait forever (it did, 1 run in ~30), and a
	 * benchmark must not hang. The process's exit closes everything. */
	fflush(stdout);
	_exit(pb.rejected > 0 || bad > 0 ? 1 : 0);
}
