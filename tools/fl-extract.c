/*
 * fl-extract - Azure flow logs (files, directories, archives, stdin) to the
 * binary tuple stream.  See man/fl-extract.1.
 *
 * Flow: input.c walks the operands and hands over each JSON member in
 * chunks; flowjson.c turns them into records and tuples; this file keeps
 * the per-input accounting, drops records already seen (same blob in two
 * exports), applies the time range and writes through stream.c.
 */
#include "cli.h"
#include "flowjson.h"
#include "flt.h"
#include "input.h"
#include "sha256.h"
#include "strpool.h"

#include <errno.h>
#include <locale.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOUR_MS 3600000LL
#define MAX_PROBLEMS_SHOWN 10 /* per member; the rest are counted */

static const fl_option options[] = {
	{ "output", 'o', "FILE", "write the stream to FILE (default: standard output)" },
	{ "force", 'f', NULL, "overwrite FILE if it exists" },
	{ "since", 256, "TIME", "keep tuples at or after TIME (RFC 3339 or epoch s/ms)" },
	{ "until", 257, "TIME", "keep tuples before TIME (exclusive)" },
	{ "hash", 258, NULL, "record each member's SHA-256 in the source table" },
	{ "stats", 's', NULL, "print per-input counts on standard error" },
	{ "quiet", 'q', NULL, "do not list skipped files (problems are still reported)" },
	{ "jobs", 'j', "N", "threads parsing plain files (default: the number of CPUs, at most 8)" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] INPUT...\n"
	"Reads Azure VNet and NSG flow logs (JSON files, directories, zip/tar/7z archives,\n"
	".json.gz, '-' for standard input) and writes the binary tuple stream.";

/* Counts for one command-line input. */
typedef struct counts {
	uint64_t members, records, tuples, skipped, pruned, dup_records, dup_tuples;
	uint64_t bad_tuples, problems, errors, out_of_range;
} counts;

/* Records already seen, by content hash: open addressing over 128-bit keys. */
typedef struct seen_set {
	uint64_t *keys; /* pairs; (0,0) = empty */
	size_t cap, n;
} seen_set;

typedef struct extract {
	flt_writer *w;
	fj_scanner *scan;
	seen_set seen;
	int quiet, hash;
	int64_t since, until; /* [since, until) in ms */
	counts *cur;          /* counts of the current input */
	/* current member */
	const in_member *m;
	uint32_t source;      /* 0 until the member's first tuple */
	in_blobpath bp;
	int has_sha;
	uint8_t sha[32];
	uint64_t member_bytes;
	unsigned shown[FJ_PROB_COUNT], hidden;
	uint64_t foreign, member_records;
	char foreign_what[96];
	sha256_ctx sc;
	FILE *spool;
	int damaged;
	struct pool *pool;    /* worker threads for plain files, NULL with --jobs 1 */
	int replaying;        /* inside commit_one: order is already being kept */
	const in_callbacks *icb;
} extract;

/* ---- duplicate records ------------------------------------------------ */

static int seen_insert(seen_set *s, const uint64_t h[2])
{
	uint64_t a = h[0] | (h[0] == 0 && h[1] == 0); /* keep (0,0) free as "empty" */
	if (s->n * 2 >= s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		uint64_t *nk = fl_xcalloc(ncap * 2, sizeof *nk);
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->keys[2 * i] && !s->keys[2 * i + 1])
				continue;
			size_t j = s->keys[2 * i + 1] & (ncap - 1);
			while (nk[2 * j] || nk[2 * j + 1])
				j = (j + 1) & (ncap - 1);
			nk[2 * j] = s->keys[2 * i];
			nk[2 * j + 1] = s->keys[2 * i + 1];
		}
		free(s->keys);
		s->keys = nk;
		s->cap = ncap;
	}
	size_t j = h[1] & (s->cap - 1);
	for (;; j = (j + 1) & (s->cap - 1)) {
		uint64_t *k = s->keys + 2 * j;
		if (!k[0] && !k[1]) {
			k[0] = a;
			k[1] = h[1];
			s->n++;
			return 1;
		}
		if (k[0] == a && k[1] == h[1])
			return 0;
	}
}

/* ---- messages --------------------------------------------------------- */

static void where(const in_member *m, char *buf, size_t n)
{
	if (m->member && m->member[0])
		snprintf(buf, n, "%s: %s", m->archive, m->member);
	else
		snprintf(buf, n, "%s", m->archive);
}

static const char *const problem_names[FJ_PROB_COUNT] = {
	"JSON syntax error", "truncated", "block seam", "bad tuple", "record too large",
};

/* ---- scanner callbacks ------------------------------------------------ */

static uint32_t cb_intern(void *ctx, const char *s, size_t n)
{
	extract *x = ctx;
	return flt_writer_intern(x->w, s, n);
}

static int cb_record(void *ctx, const fj_record *r)
{
	extract *x = ctx;
	x->member_records++;
	if (!seen_insert(&x->seen, r->hash)) {
		x->cur->dup_records++;
		x->cur->dup_tuples += r->ntuples;
		return 0;
	}
	x->cur->records++;
	return 1;
}

static uint32_t member_source(extract *x)
{
	if (!x->source) {
		flt_source s = { 0 };
		s.archive = x->m->archive;
		s.member = x->m->member;
		s.size = x->m->size;
		if (x->hash || s.size == IN_SIZE_UNKNOWN)
			s.size = x->hash ? x->member_bytes : s.size;
		s.has_sha256 = x->has_sha;
		memcpy(s.sha256, x->sha, 32);
		s.path_sub = x->bp.sub;
		s.path_flowlog = x->bp.name;
		s.path_mac = x->bp.mac;
		s.path_hour_ms = x->bp.hour_ms;
		x->source = flt_writer_add_source(x->w, &s);
	}
	return x->source;
}

static void cb_tuple(void *ctx, flt_rec *r)
{
	extract *x = ctx;
	if (r->time_ms < x->since || r->time_ms >= x->until) {
		x->cur->out_of_range++;
		return;
	}
	r->source = member_source(x);
	x->cur->tuples++;
	if (flt_writer_put(x->w, r) != 0)
		fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(x->w));
}

static void cb_problem(void *ctx, enum fj_problem kind, uint64_t off, const char *detail)
{
	extract *x = ctx;
	char loc[8192];
	x->damaged = 1;
	if (kind == FJ_PROB_BAD_TUPLE)
		x->cur->bad_tuples++;
	else
		x->cur->problems++;
	if (x->shown[kind] >= MAX_PROBLEMS_SHOWN) {
		x->hidden++;
		return;
	}
	x->shown[kind]++;
	where(x->m, loc, sizeof loc);
	fl_warn("%s: byte %" PRIu64 ": %s: %s", loc, off, problem_names[kind], detail);
}

static void cb_foreign(void *ctx, uint64_t off, const char *what)
{
	extract *x = ctx;
	(void)off;
	if (!x->foreign++)
		snprintf(x->foreign_what, sizeof x->foreign_what, "%s", what);
}

/* ---- input callbacks -------------------------------------------------- */

static int in_want(void *ctx, const in_member *m)
{
	extract *x = ctx;
	in_blobpath bp;
	const char *path = m->member[0] ? m->member : m->archive;
	/* A blob's hour says when records were received; its tuples may precede it
	 * by about a minute, so one hour of margin on each side. */
	if ((x->since > INT64_MIN || x->until < INT64_MAX) && in_blobpath_parse(path, &bp) &&
	    bp.hour_ms >= 0 &&
	    (bp.hour_ms + 2 * HOUR_MS <= x->since || bp.hour_ms - HOUR_MS >= x->until)) {
		x->cur->pruned++;
		return 0;
	}
	return 1;
}

static void feed_spool(extract *x)
{
	char *buf = fl_xmalloc(1u << 20);
	size_t n;
	rewind(x->spool);
	while ((n = fread(buf, 1, 1u << 20, x->spool)) > 0)
		fj_feed(x->scan, buf, n);
	free(buf);
	fclose(x->spool);
	x->spool = NULL;
}

/* Per-member state, for a member read here or replayed from a worker. */
static void member_begin(extract *x, const in_member *m)
{
	x->m = m;
	x->source = 0;
	x->member_bytes = 0;
	x->has_sha = 0;
	x->foreign = x->member_records = 0;
	x->damaged = 0;
	x->hidden = 0;
	memset(x->shown, 0, sizeof x->shown);
	in_blobpath_parse(m->member[0] ? m->member : m->archive, &x->bp);
	x->cur->members++;
}

static void drain_jobs(extract *x);

static void in_begin(void *ctx, const in_member *m)
{
	extract *x = ctx;
	drain_jobs(x);
	member_begin(x, m);
	if (x->hash) {
		/* The hash must be in the source entry before the member's tuples, so
		 * the member is spooled to an unlinked temporary file first. */
		sha256_init(&x->sc);
		x->spool = tmpfile();
		if (!x->spool)
			fl_die(FL_EXIT_FATAL, "cannot create a temporary file for --hash");
	}
}

static void in_data(void *ctx, const char *buf, size_t n)
{
	extract *x = ctx;
	x->member_bytes += n;
	if (x->spool) {
		sha256_update(&x->sc, buf, n);
		if (fwrite(buf, 1, n, x->spool) != n)
			fl_die(FL_EXIT_FATAL, "write error on the --hash temporary file");
	} else {
		fj_feed(x->scan, buf, n);
	}
}

static void member_end(extract *x, const in_member *m)
{
	char loc[8192];
	where(m, loc, sizeof loc);
	if (x->hidden)
		fl_warn("%s: %u more problems of the same kinds in this member", loc, x->hidden);
	if (x->foreign && !x->member_records) {
		x->cur->skipped++;
		if (!x->quiet)
			fl_warn("%s: skipped: not a flow log (%s)", loc, x->foreign_what);
	} else if (x->foreign && !x->quiet) {
		fl_warn("%s: %" PRIu64 " objects that are not flow-log records ignored (%s)", loc,
		        x->foreign, x->foreign_what);
	} else if (!x->member_records && !x->damaged) {
		x->cur->skipped++;
		if (!x->quiet)
			fl_warn("%s: skipped: no flow-log records", loc);
	}
	x->m = NULL;
}

static void in_end(void *ctx, const in_member *m)
{
	extract *x = ctx;
	if (x->spool) {
		sha256_final(&x->sc, x->sha);
		x->has_sha = 1;
		feed_spool(x);
	}
	fj_finish(x->scan);
	member_end(x, m);
}

static void in_skipped(void *ctx, const in_member *m, const char *why)
{
	extract *x = ctx;
	char loc[8192];
	drain_jobs(x);
	x->cur->skipped++;
	if (!x->quiet) {
		where(m, loc, sizeof loc);
		fl_warn("%s: skipped: %s", loc, why);
	}
}

static void in_error(void *ctx, const in_member *m, uint64_t off, const char *msg)
{
	extract *x = ctx;
	char loc[8192];
	drain_jobs(x);
	x->cur->errors++;
	where(m, loc, sizeof loc);
	if (off == IN_SIZE_UNKNOWN)
		fl_warn("%s: %s", loc, msg);
	else
		fl_warn("%s: byte %" PRIu64 ": %s", loc, off, msg);
}


/* ---- parallel parsing of plain files ------------------------------------
 * Plain JSON files (the unpacked blob tree, the common case) are parsed by
 * worker threads.  A worker turns its file into events (new strings,
 * records, tuples, problems) in chunks; the main thread replays the events
 * of the files strictly in the order they were found, through the same
 * code as a member read inline, so the stream, the duplicate decisions and
 * the messages are those of a sequential run.  A worker stops after a few
 * chunks ahead of the main thread, so memory stays bounded.  Archives and
 * standard input are read inline, after the files found before them. */

#define CHUNK_BYTES (1u << 20)
#define CHUNKS_AHEAD 4      /* per file, before its worker waits */
#define RING 16             /* files found but not yet replayed */

enum { EV_STR = 1, EV_REC, EV_TUP, EV_PROB, EV_FOREIGN, EV_SHA, EV_ERR };

typedef struct chunk {
	struct chunk *next;
	size_t len;
	unsigned char data[CHUNK_BYTES];
} chunk;

typedef struct job {
	char *path;
	in_member m;
	counts *cnt;
	int done, inline_needed;
	chunk *head, *tail;      /* ready for the main thread */
	unsigned nchunks;
} job;

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *ring[RING];
	uint64_t head, next, tail; /* replay, hand out, append */
	int quit, hash;
	chunk *free_chunks;      /* replayed chunks, for reuse (no mmap per chunk) */
	pthread_t threads[8];
	int nthreads;
} pool;

/* A worker's state while it parses one file. */
typedef struct worker {
	pool *p;
	job *j;
	chunk *c;
	strpool *strings;        /* local ids, announced by EV_STR before first use */
	fj_scanner *scan;
	fj_callbacks cb;
	char *buf;
} worker;

/* Where a worker resumes when its mapped file shrinks under it. */
static _Thread_local sigjmp_buf *bus_jump;

static void on_sigbus(int sig)
{
	if (bus_jump)
		siglongjmp(*bus_jump, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void push_chunk(worker *w)
{
	pool *p = w->p;
	pthread_mutex_lock(&p->mu);
	if (w->j->tail)
		w->j->tail->next = w->c;
	else
		w->j->head = w->c;
	w->j->tail = w->c;
	w->j->nchunks++;
	pthread_cond_broadcast(&p->cv);
	while (w->j->nchunks >= CHUNKS_AHEAD && !p->quit)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	w->c = NULL;
}

static unsigned char *ev(worker *w, int type, size_t len)
{
	if (len + 1 > CHUNK_BYTES)
		fl_die(FL_EXIT_FATAL, "internal: event of %zu bytes", len);
	if (w->c && w->c->len + len + 1 > CHUNK_BYTES)
		push_chunk(w);
	if (!w->c) {
		pthread_mutex_lock(&w->p->mu);
		w->c = w->p->free_chunks;
		if (w->c)
			w->p->free_chunks = w->c->next;
		pthread_mutex_unlock(&w->p->mu);
		if (!w->c)
			w->c = fl_xmalloc(sizeof *w->c);
		w->c->next = NULL;
		w->c->len = 0;
	}
	unsigned char *e = w->c->data + w->c->len;
	e[0] = (unsigned char)type;
	w->c->len += len + 1;
	return e + 1;
}

static uint32_t w_intern(void *ctx, const char *s, size_t n)
{
	worker *w = ctx;
	uint32_t before = strpool_count(w->strings), id = strpool_intern(w->strings, s, n);
	if (id >= before) {
		size_t k = n < 65536 ? n : 65535;
		unsigned char *e = ev(w, EV_STR, 8 + k);
		memcpy(e, &id, 4);
		uint32_t len = (uint32_t)k;
		memcpy(e + 4, &len, 4);
		memcpy(e + 8, s, k);
	}
	return id;
}

static int w_record(void *ctx, const fj_record *r)
{
	memcpy(ev(ctx, EV_REC, sizeof *r), r, sizeof *r);
	return 1; /* duplicates are the main thread's decision, in file order */
}

static void w_tuple(void *ctx, flt_rec *r)
{
	memcpy(ev(ctx, EV_TUP, offsetof(flt_rec, col)), r, offsetof(flt_rec, col));
}

static void w_problem(void *ctx, enum fj_problem kind, uint64_t off, const char *detail)
{
	size_t n = strlen(detail) < 4000 ? strlen(detail) : 4000;
	unsigned char *e = ev(ctx, EV_PROB, 1 + 8 + n + 1);
	e[0] = (unsigned char)kind;
	memcpy(e + 1, &off, 8);
	memcpy(e + 9, detail, n);
	e[9 + n] = 0;
}

/* An event of an offset and a short text (at most 200 bytes). */
static void ev_text(worker *w, int type, uint64_t off, const char *text)
{
	size_t n = strlen(text) < 200 ? strlen(text) : 200;
	unsigned char *e = ev(w, type, 8 + n + 1);
	memcpy(e, &off, 8);
	memcpy(e + 8, text, n);
	e[8 + n] = 0;
}

static void w_foreign(void *ctx, uint64_t off, const char *what)
{
	ev_text(ctx, EV_FOREIGN, off, what);
}

static void w_error(worker *w, uint64_t off, const char *msg)
{
	ev_text(w, EV_ERR, off, msg);
}

/* Reads the file through f (the hash pass, or the scanner); 0, or the
 * errno of a failed read with the offset in *off. */
static int read_file(worker *w, int fd, uint64_t *off, void (*f)(worker *, const char *, size_t))
{
	for (;;) {
		ssize_t n = read(fd, w->buf, CHUNK_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return 0;
		f(w, w->buf, (size_t)n);
		*off += (uint64_t)n;
	}
}

static void feed_scan(worker *w, const char *b, size_t n) { fj_feed(w->scan, b, n); }

static void parse_job(worker *w)
{
	job *j = w->j;
	uint64_t off = 0;
	int fd = open(j->path, O_RDONLY);
	if (fd < 0) {
		w_error(w, IN_SIZE_UNKNOWN, strerror(errno));
		return;
	}
	char peek[512];
	ssize_t np = pread(fd, peek, sizeof peek, 0);
	if (np < 0 || in_json_prefix(peek, (size_t)np) != 1) {
		j->inline_needed = 1; /* an archive, text, empty: the walk reads it */
		close(fd);
		return;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	if (w->p->hash) {
		sha256_ctx sc;
		uint8_t sha[32];
		uint64_t n = 0;
		ssize_t r;
		sha256_init(&sc);
		while ((r = pread(fd, w->buf, CHUNK_BYTES, (off_t)n)) > 0) {
			sha256_update(&sc, w->buf, (size_t)r);
			n += (uint64_t)r;
		}
		sha256_final(&sc, sha);
		unsigned char *e = ev(w, EV_SHA, 40);
		memcpy(e, sha, 32);
		memcpy(e + 32, &n, 8);
	}
	/* Mapped, not read: two threads copying through read(2) spent a fifth of
	 * their time in the kernel.  A file that shrinks under the mapping
	 * raises SIGBUS, which ends this file with an error instead of the run. */
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		int err = read_file(w, fd, &off, feed_scan);
		fj_finish(w->scan);
		if (err)
			w_error(w, off, strerror(err));
		close(fd);
		return;
	}
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	sigjmp_buf jb;
	if (sigsetjmp(jb, 1)) {
		bus_jump = NULL;
		munmap(map, (size_t)st.st_size);
		close(fd);
		/* the scanner stopped mid-record: start a fresh one */
		fj_free(w->scan);
		w->scan = fj_new(&w->cb);
		w_error(w, IN_SIZE_UNKNOWN, "the file shrank while it was read; the rest is lost");
		return;
	}
	bus_jump = &jb;
	for (size_t o = 0; o < (size_t)st.st_size; o += CHUNK_BYTES) {
		size_t n = (size_t)st.st_size - o < CHUNK_BYTES ? (size_t)st.st_size - o : CHUNK_BYTES;
		fj_feed(w->scan, (const char *)map + o, n);
		/* the scanner keeps nothing of a slice it was fed: drop its pages, so
		 * a 1 GB blob does not sit in memory */
		madvise((char *)map + o, n, MADV_DONTNEED);
	}
	bus_jump = NULL;
	munmap(map, (size_t)st.st_size);
	fj_finish(w->scan);
	close(fd);
}

static void *worker_main(void *arg)
{
	pool *p = arg;
	worker w = { p, NULL, NULL, NULL, NULL, { 0 }, fl_xmalloc(CHUNK_BYTES) };
	w.cb = (fj_callbacks){ &w, w_intern, w_record, w_tuple, w_problem, w_foreign };
	w.scan = fj_new(&w.cb);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->next == p->tail && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->next == p->tail) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		w.j = p->ring[p->next++ % RING];
		pthread_mutex_unlock(&p->mu);
		w.strings = strpool_new();
		parse_job(&w);
		if (w.c)
			push_chunk(&w);
		strpool_free(w.strings);
		pthread_mutex_lock(&p->mu);
		w.j->done = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	fj_free(w.scan);
	free(w.buf);
	return NULL;
}

/* Replays one chunk of a job's events; *keep says whether the tuples of the
 * current record are wanted (it was not a duplicate). */
static void replay(extract *x, const chunk *c, uint32_t **map, size_t *mapn, int *keep)
{
	for (size_t i = 0; i < c->len;) {
		const unsigned char *e = c->data + i + 1;
		switch (c->data[i]) {
		case EV_STR: {
			uint32_t id, len;
			memcpy(&id, e, 4);
			memcpy(&len, e + 4, 4);
			*map = fl_grow_zeroed(*map, mapn, id, sizeof **map);
			(*map)[id] = flt_writer_intern(x->w, (const char *)e + 8, len);
			i += 1 + 8 + len;
			break;
		}
		case EV_REC: {
			fj_record r;
			memcpy(&r, e, sizeof r);
			*keep = cb_record(x, &r);
			i += 1 + sizeof r;
			break;
		}
		case EV_TUP: {
			flt_rec r;
			memcpy(&r, e, offsetof(flt_rec, col));
			if (*keep) {
				uint32_t *f[] = { &r.rule, &r.acl, &r.mac, &r.target, &r.flowlog, &r.enc_text };
				for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
					*f[k] = *f[k] ? (*map)[*f[k]] : 0;
				cb_tuple(x, &r);
			}
			i += 1 + offsetof(flt_rec, col);
			break;
		}
		case EV_PROB: {
			uint64_t off;
			memcpy(&off, e + 1, 8);
			/* a duplicate's tuples are never parsed when read inline */
			if (*keep || e[0] != FJ_PROB_BAD_TUPLE)
				cb_problem(x, (enum fj_problem)e[0], off, (const char *)e + 9);
			i += 1 + 9 + strlen((const char *)e + 9) + 1;
			break;
		}
		case EV_FOREIGN: {
			uint64_t off;
			memcpy(&off, e, 8);
			cb_foreign(x, off, (const char *)e + 8);
			i += 1 + 8 + strlen((const char *)e + 8) + 1;
			break;
		}
		case EV_SHA:
			memcpy(x->sha, e, 32);
			memcpy(&x->member_bytes, e + 32, 8);
			x->has_sha = 1;
			i += 1 + 40;
			break;
		case EV_ERR: {
			uint64_t off;
			memcpy(&off, e, 8);
			x->cur->errors++;
			char loc[8192];
			where(x->m, loc, sizeof loc);
			if (off == IN_SIZE_UNKNOWN)
				fl_warn("%s: %s", loc, (const char *)e + 8);
			else
				fl_warn("%s: byte %" PRIu64 ": %s", loc, off, (const char *)e + 8);
			i += 1 + 8 + strlen((const char *)e + 8) + 1;
			break;
		}
		default:
			fl_die(FL_EXIT_FATAL, "internal: bad event %u", c->data[i]);
		}
	}
}

/* Replays the oldest file found: waits for its worker chunk by chunk. */
static void commit_one(extract *x)
{
	pool *p = x->pool;
	job *j = p->ring[p->head % RING];
	counts *saved = x->cur;
	uint32_t *map = NULL;
	size_t mapn = 0;
	int keep = 1, begun = 0;
	x->cur = j->cnt;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!j->head && !j->done)
			pthread_cond_wait(&p->cv, &p->mu);
		chunk *c = j->head;
		j->head = j->tail = NULL;
		j->nchunks = 0;
		int done = j->done;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (c && !begun) {
			member_begin(x, &j->m);
			begun = 1;
		}
		while (c) {
			chunk *next = c->next;
			replay(x, c, &map, &mapn, &keep);
			pthread_mutex_lock(&p->mu);
			c->next = p->free_chunks;
			p->free_chunks = c;
			pthread_mutex_unlock(&p->mu);
			c = next;
		}
		if (done)
			break;
	}
	p->head++;
	if (j->inline_needed) {
		/* Not JSON: the walk reads it (an archive, or a file to skip). */
		in_callbacks icb = *x->icb;
		icb.defer = NULL;
		x->replaying = 1;
		in_walk(j->path, &icb);
		x->replaying = 0;
	} else {
		if (!begun)
			member_begin(x, &j->m);
		member_end(x, &j->m);
	}
	free(map);
	free(j->path);
	free(j);
	x->cur = saved;
}

static void drain_jobs(extract *x)
{
	while (x->pool && !x->replaying && x->pool->head != x->pool->tail)
		commit_one(x);
}

static int in_defer(void *ctx, const in_member *m)
{
	extract *x = ctx;
	pool *p = x->pool;
	if (!p)
		return 0;
	if (x->replaying)
		return 0;
	if (p->tail - p->head == RING)
		commit_one(x);
	job *j = fl_xcalloc(1, sizeof *j);
	j->path = fl_xstrdup(m->archive);
	j->m.archive = j->path;
	j->m.member = "";
	j->m.size = m->size;
	j->cnt = x->cur;
	pthread_mutex_lock(&p->mu);
	p->ring[p->tail++ % RING] = j;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 1;
}

static pool *pool_start(int n, int hash)
{
	pool *p = fl_xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->hash = hash;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	for (; p->nthreads < n && p->nthreads < 8; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0)
			fl_die(FL_EXIT_FATAL, "cannot start a worker thread");
	return p;
}

static void pool_stop(pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while (p->free_chunks) {
		chunk *c = p->free_chunks;
		p->free_chunks = c->next;
		free(c);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* ---- main ------------------------------------------------------------- */

static void print_stats(char **inputs, const counts *c, int n)
{
	counts t = { 0 };
	fprintf(stderr, "%-40s %8s %9s %10s %7s %7s %10s %8s\n", "input", "members", "records",
	        "tuples", "skipped", "pruned", "duplicates", "damaged");
	for (int i = 0; i <= n; i++) {
		const counts *k = i < n ? &c[i] : &t;
		if (i < n) {
			t.members += k->members, t.records += k->records, t.tuples += k->tuples;
			t.skipped += k->skipped, t.pruned += k->pruned;
			t.dup_records += k->dup_records, t.bad_tuples += k->bad_tuples;
			t.problems += k->problems, t.errors += k->errors;
			t.out_of_range += k->out_of_range;
		}
		if (i == n && n < 2)
			break;
		fprintf(stderr, "%-40s %8" PRIu64 " %9" PRIu64 " %10" PRIu64 " %7" PRIu64 " %7" PRIu64
		        " %10" PRIu64 " %8" PRIu64 "\n", i < n ? inputs[i] : "total", k->members,
		        k->records, k->tuples, k->skipped, k->pruned, k->dup_records,
		        k->bad_tuples + k->problems + k->errors);
	}
	if (t.out_of_range)
		fprintf(stderr, "%" PRIu64 " tuples outside --since/--until were not written\n",
		        t.out_of_range);
}

int main(int argc, char **argv)
{
	extract x = { 0 };
	const char *out = NULL, *arg;
	int force = 0, stats = 0, c, first;
	/* libarchive converts member names to the locale's character set, and
	 * in the C locale a name flagged UTF-8 (zips made by Python or .NET)
	 * has no form at all: names are recorded in UTF-8 whatever the
	 * environment says. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	x.since = INT64_MIN;
	x.until = INT64_MAX;
	fl_set_progname(argv[0]);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'o': out = arg; break;
		case 'f': force = 1; break;
		case 's': stats = 1; break;
		case 'q': x.quiet = 1; break;
		case 258: x.hash = 1; break;
		case 'j': {
			char *end;
			jobs = strtol(arg, &end, 10);
			if (*end || end == arg || jobs < 1 || jobs > 64)
				fl_die(FL_EXIT_USAGE, "bad --jobs '%s' (1 to 64)", arg);
			break;
		}
		case 256:
		case 257:
			if (fl_parse_time(arg, c == 256 ? &x.since : &x.until) != 0)
				fl_die(FL_EXIT_USAGE, "bad time '%s' (use RFC 3339, e.g. "
				       "2026-11-02T09:00:00Z, or epoch seconds/milliseconds)", arg);
			break;
		}
	}
	if (first >= argc)
		fl_die(FL_EXIT_USAGE, "no input given (use '-' for standard input); see --help");
	if (x.since >= x.until)
		fl_die(FL_EXIT_USAGE, "--since must be before --until");

	fl_output o;
	fl_output_open(&o, out, force, 1);
	flt_header h;
	flt_header_init(&h);
	flt_header_add_invocation(&h, argc, argv);
	x.w = flt_writer_new(o.fp, out ? out : "standard output", &h);
	flt_header_free(&h);
	fj_callbacks cb = { &x, cb_intern, cb_record, cb_tuple, cb_problem, cb_foreign };
	x.scan = fj_new(&cb);
	in_callbacks icb = { .ctx = &x, .want = in_want, .defer = in_defer, .begin = in_begin,
	                     .data = in_data, .end = in_end, .skipped = in_skipped, .error = in_error };
	x.icb = &icb;
	/* With one CPU the main thread parses; otherwise workers do and the main
	 * thread writes (the writing is about a fifth of the work). */
	if (jobs > 1)
		x.pool = pool_start(jobs > 8 ? 8 : (int)jobs, x.hash);

	int n = argc - first;
	counts *all = fl_xcalloc((size_t)n, sizeof *all);
	int status = FL_EXIT_OK;
	for (int i = 0; i < n; i++) {
		x.cur = &all[i];
		in_walk(argv[first + i], &icb);
	}
	drain_jobs(&x);
	if (x.pool)
		pool_stop(x.pool);
	for (int i = 0; i < n; i++)
		if (all[i].errors || all[i].problems || all[i].bad_tuples)
			status = FL_EXIT_DAMAGED;
	if (flt_writer_close(x.w) != 0) {
		fl_output_abort(&o);
		fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(x.w));
	}
	fl_output_commit(&o);

	uint64_t dups = 0, duptuples = 0, tuples = 0, records = 0;
	for (int i = 0; i < n; i++) {
		dups += all[i].dup_records, duptuples += all[i].dup_tuples;
		tuples += all[i].tuples, records += all[i].records;
	}
	if (dups)
		fl_warn("dropped %" PRIu64 " duplicate records (%" PRIu64 " tuples) already read "
		        "from another file or snapshot", dups, duptuples);
	if (!records && !dups && !x.quiet)
		fl_warn("no flow-log records found in the input");
	if (stats)
		print_stats(argv + first, all, n);
	fj_free(x.scan);
	free(x.seen.keys);
	free(all);
	return status;
}
