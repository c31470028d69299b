/*
 * edgeagg.c - the hashed aggregation core (see edgeagg.h).
 *
 * Layout.  Entries (value then key, so the value sits at offset 0 of an
 * 8-byte-aligned slot whatever the key size, and no padding is spent
 * between them) live in a dense array split into chunks: growth adds a
 * chunk instead of doubling, so entry memory tracks the key count.  Chunks
 * are 64 KiB while the table is small; an uncapped table big enough that a
 * 2 MiB chunk is under 1/64 of its entries is repacked once into 2 MiB
 * chunks backed by transparent huge pages, because random probes into a
 * big table otherwise pay a TLB miss on top of each cache miss.  The hash
 * index is a power-of-two array of u32 slots, 0 = empty; a slot holds the
 * entry number (1-based) in its low log2(slots) bits and the otherwise
 * unused high bits carry a tag taken from hash bits that do not pick the
 * slot, so most probes that land on a foreign key are rejected without
 * touching its entry.  Entry numbers fit because entries < slots (load
 * factor at most 3/4).
 *
 * Probing is linear: sixteen slots share a cache line, and with tags the
 * longer clusters of linear probing cost comparisons of u32s only.  The
 * index doubles when it would pass load 3/4 and is rebuilt from the entry
 * array (hashes are recomputed rather than stored, which keeps an entry at
 * key+value bytes); per key that is key+value rounded to 8, plus 5.3 to
 * 10.7 bytes of index.
 *
 * The hash is a folded 64x64->128 multiply over 16-byte blocks keyed with
 * 128 random bits from getrandom() per table (fast, and unpredictable to
 * whoever chooses the addresses, though not a proven PRF like SipHash);
 * nothing about the output depends on it, since output is sorted by key.
 *
 * Memory cap.  When a new key would take agg_memory() over the cap, the
 * entries are radix-sorted by key (the index array is reused as the
 * permutation, so sorting costs no memory) and written as a run to an
 * unlinked temporary file; the table is cleared but keeps its chunks and
 * index for the next fill.  A batch spills before it starts if it might
 * not fit, so the values it hands back stay valid together.  Runs are stacked by level: FANIN runs of one level are merged into
 * one run of the next, so each byte is rewritten about log_FANIN(runs)
 * times and at most (FANIN-1) runs per level stay open.  agg_next() merges
 * the remaining runs and the sorted in-memory entries with a binary heap,
 * folding equal keys with ops->merge.
 */
#include "edgeagg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"

#define AGG_MAX_KEY   256
#define CHUNK_BYTES   (64u * 1024)  /* target size of one entry chunk */
#define MIN_SLOTS     16u
#define MAX_SLOTS     (1u << 31)    /* keeps at least one tag bit and u32 entry numbers */
#define FANIN         8u            /* runs merged at once when a level fills */
#define MAX_OPEN_RUNS 64u
#define RUN_IOBUF     (64u * 1024)
#define HUGE_BYTES    ((size_t)2 << 20)

__extension__ typedef unsigned __int128 agg_u128;

typedef struct run {
	FILE *fp;
	uint64_t n;       /* records */
	unsigned level;
} run;

/* A merge input: a run file, or (r == NULL) the sorted in-memory entries. */
typedef struct src {
	run *r;
	uint64_t left;
	const unsigned char *rec;
	unsigned char *buf;
} src;

typedef struct merger {
	src *s;
	unsigned ns;
	unsigned *heap;
	unsigned nh;
	unsigned char *out;
} merger;

enum { ST_INSERT, ST_MEMORY, ST_MERGE, ST_DONE };

struct agg {
	agg_ops ops;
	size_t ks, vs, stride, rec;  /* rec: record bytes in a run (vs + ks) */
	uint64_t seed0, seed1;

	uint32_t *idx;
	uint32_t mask;               /* slots - 1 */
	unsigned ebits;              /* log2(slots) */
	uint32_t maxload;
	uint32_t count;

	unsigned char **chunks;
	size_t nchunks, chunks_cap;
	uint32_t per;                /* entries per chunk */
	uint64_t per_magic;          /* ceil(2^64 / per), for division by per */

	size_t max_memory;
	char *tmpdir;
	run *runs;
	unsigned nruns, runs_cap, spills;

	int state;
	uint32_t pos;
	merger m;
	uint32_t memsrc_pos;

	int failed;
	char err[512];
};

/* ---- hashing ---- */

static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t fold(uint64_t x, uint64_t y)
{
	agg_u128 r = (agg_u128)x * y;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t agg_hash(const agg *a, const unsigned char *p)
{
	size_t n = a->ks;
	uint64_t h = a->seed0 ^ ((uint64_t)n * 0x9E3779B97F4A7C15ull);
	uint64_t x = 0, y = 0;
	while (n > 16) {
		h = fold(rd64(p) ^ a->seed1, rd64(p + 8) ^ h);
		p += 16;
		n -= 16;
	}
	if (n > 8) {
		x = rd64(p);
		memcpy(&y, p + 8, n - 8);
	} else {
		memcpy(&x, p, n);
	}
	h = fold(x ^ a->seed1, y ^ h);
	return fold(h ^ a->seed0, 0xC2B2AE3D27D4EB4Full);
}

static void agg_seed(agg *a)
{
	uint64_t s[2];
	fl_random_bytes(s, sizeof s);
	a->seed0 = s[0];
	a->seed1 = s[1] | 1;
}

/* ---- entries and index ---- */

static inline unsigned char *ent(const agg *a, uint32_t e)
{
	/* Exact for any 32-bit e and per >= 2 (Lemire, Kaser, Kurz 2019). */
	uint32_t x = e - 1;
	uint32_t q = (uint32_t)(((agg_u128)a->per_magic * x) >> 64);
	return a->chunks[q] + (size_t)(x - q * a->per) * a->stride;
}

static inline uint32_t tag_of(const agg *a, uint64_t h)
{
	return (uint32_t)(h >> 32) << a->ebits;
}

static void fail(agg *a, const char *fmt, const char *path, int errnum)
{
	if (a->failed)
		return;
	a->failed = 1;
	snprintf(a->err, sizeof a->err, fmt, path, strerror(errnum));
}

/* Big tables are probed at random, so TLB misses cost as much as cache
 * misses (and stall prefetches): blocks of 2 MiB and more are mapped
 * 2 MiB-aligned and offered to transparent huge pages.  Sizes are what
 * agg_memory() counts. */
static int block_is_huge(size_t n)
{
	/* A chunk of 2 MiB / stride entries falls just short of 2 MiB. */
	return n >= HUGE_BYTES / 16 * 15;
}

static size_t block_size(size_t n)
{
	return block_is_huge(n) ? (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1) : n;
}

static void *block_alloc(size_t n, int zero)
{
	if (!block_is_huge(n))
		return zero ? fl_xcalloc(1, n) : fl_xmalloc(n);
	n = block_size(n);
	unsigned char *p = mmap(NULL, n + HUGE_BYTES, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fl_die(FL_EXIT_FATAL, "edgeagg: out of memory (%zu bytes)", n);
	size_t head = (HUGE_BYTES - ((uintptr_t)p & (HUGE_BYTES - 1))) & (HUGE_BYTES - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + n, HUGE_BYTES - head);
	madvise(p + head, n, MADV_HUGEPAGE);
	return p + head;
}

static void block_free(void *p, size_t n)
{
	if (!p)
		return;
	if (!block_is_huge(n))
		free(p);
	else
		munmap(p, block_size(n));
}

static void index_alloc(agg *a, uint32_t slots)
{
	block_free(a->idx, ((size_t)a->mask + 1) * sizeof *a->idx);
	a->idx = block_alloc((size_t)slots * sizeof *a->idx, 1);
	a->mask = slots - 1;
	a->ebits = (unsigned)__builtin_ctz(slots);
	a->maxload = slots / 4 * 3;
}

static inline uint32_t probe_empty(const agg *a, uint64_t h)
{
	uint32_t i = (uint32_t)h & a->mask;
	while (a->idx[i])
		i = (i + 1) & a->mask;
	return i;
}

static void set_per(agg *a, size_t per)
{
	a->per = (uint32_t)per;
	a->per_magic = UINT64_MAX / per + 1;
}

/* Chunks are 64 KiB while the table is small and 2 MiB (one huge page) once
 * a chunk is at most 1/64 of the entries a full index holds, so the slack
 * of a partly filled last chunk stays under 2%.  Under a cap the size is
 * fixed at agg_new. */
static size_t per_for(const agg *a, size_t bytes)
{
	size_t per = bytes / a->stride;
	return per < 2 ? 2 : per;
}

/* Repacks the entries into chunks of per entries each, streaming so that
 * at most one old and one new chunk are held beyond the entries. */
static void rechunk(agg *a, size_t per)
{
	size_t oper = a->per, ob = oper * a->stride, nb = per * a->stride;
	size_t nn = (a->count + per - 1) / per, cap = 16, oi = 0, ooff = 0;
	while (cap < nn)
		cap *= 2;
	unsigned char **nc = fl_xcalloc(cap, sizeof *nc);
	for (size_t j = 0; j < nn; j++) {
		size_t fill = a->count - j * per < per ? a->count - j * per : per;
		nc[j] = block_alloc(nb, 0);
		for (size_t k = 0; k < fill;) {
			size_t take = fill - k < oper - ooff ? fill - k : oper - ooff;
			memcpy(nc[j] + k * a->stride, a->chunks[oi] + ooff * a->stride, take * a->stride);
			k += take;
			ooff += take;
			if (ooff == oper) {
				block_free(a->chunks[oi++], ob);
				ooff = 0;
			}
		}
	}
	for (; oi < a->nchunks; oi++)
		block_free(a->chunks[oi], ob);
	free(a->chunks);
	a->chunks = nc;
	a->chunks_cap = cap;
	a->nchunks = nn;
	set_per(a, per);
}

/* Rebuilt from the entries, so the old index can go first. */
static void index_grow(agg *a, uint32_t slots)
{
	if (!a->max_memory && (size_t)a->per * a->stride < HUGE_BYTES / 2 &&
	    (size_t)(slots / 4 * 3) * a->stride / 64 >= HUGE_BYTES)
		rechunk(a, per_for(a, HUGE_BYTES));
	index_alloc(a, slots);
	for (uint32_t e = 1; e <= a->count; e++) {
		uint64_t h = agg_hash(a, ent(a, e) + a->vs);
		a->idx[probe_empty(a, h)] = tag_of(a, h) | e;
	}
}

static uint32_t slots_for(const agg *a, uint64_t n)
{
	uint64_t s = a->mask + 1ull;
	while (n > s / 4 * 3) {
		if (s >= MAX_SLOTS)
			fl_die(FL_EXIT_FATAL, "edgeagg: more than %llu distinct keys in memory",
			       (unsigned long long)(s / 4 * 3));
		s *= 2;
	}
	return (uint32_t)s;
}

static size_t chunk_bytes(const agg *a)
{
	return block_size((size_t)a->per * a->stride);
}

size_t agg_memory(const agg *a)
{
	return sizeof *a + a->nchunks * chunk_bytes(a) + a->chunks_cap * sizeof *a->chunks +
	       block_size(((size_t)a->mask + 1) * sizeof *a->idx);
}

/* agg_memory() once n more entries are in. */
static size_t memory_after(const agg *a, uint32_t n)
{
	uint64_t total = (uint64_t)a->count + n;
	size_t chunks = (size_t)((total + a->per - 1) / a->per);
	size_t mem = agg_memory(a);
	if (chunks > a->nchunks)
		mem += (chunks - a->nchunks) * chunk_bytes(a);
	return mem + block_size((size_t)slots_for(a, total) * sizeof *a->idx) -
	       block_size(((size_t)a->mask + 1) * sizeof *a->idx);
}

static void chunks_ensure(agg *a, uint64_t total)
{
	size_t need = (size_t)((total + a->per - 1) / a->per);
	if (need > a->chunks_cap) {
		size_t cap = a->chunks_cap ? a->chunks_cap : 16;
		while (cap < need)
			cap *= 2;
		a->chunks = fl_xrealloc(a->chunks, cap * sizeof *a->chunks);
		a->chunks_cap = cap;
	}
	while (a->nchunks < need)
		a->chunks[a->nchunks++] = block_alloc((size_t)a->per * a->stride, 0);
}

static void spill(agg *a);

/* Makes room for n new entries without a spill or a rehash in between;
 * spills first when they would not fit under the cap. */
static void reserve(agg *a, uint32_t n)
{
	if (a->max_memory && a->count && memory_after(a, n) > a->max_memory)
		spill(a);
	uint64_t total = (uint64_t)a->count + n;
	uint32_t slots = slots_for(a, total);
	if (slots != a->mask + 1)
		index_grow(a, slots);
	chunks_ensure(a, total);
}

static void check_inserting(const agg *a, const char *fn)
{
	if (a->state != ST_INSERT) {
		fprintf(stderr, "edgeagg: %s after agg_next\n", fn);
		abort();
	}
}

/* The entry for key (hash h), inserted when absent; the caller has made
 * room when insert_ok, otherwise this returns NULL instead of inserting. */
static inline unsigned char *find_or_insert(agg *a, const unsigned char *k, uint64_t h,
                                            int insert_ok)
{
	uint32_t tag = tag_of(a, h), i = (uint32_t)h & a->mask;
	for (uint32_t s; (s = a->idx[i]) != 0; i = (i + 1) & a->mask) {
		if ((s & ~a->mask) == tag) {
			unsigned char *e = ent(a, s & a->mask);
			if (memcmp(e + a->vs, k, a->ks) == 0)
				return e;
		}
	}
	if (!insert_ok)
		return NULL;
	uint32_t e = ++a->count;
	a->idx[i] = tag | e;
	unsigned char *p = ent(a, e);
	memcpy(p + a->vs, k, a->ks);
	a->ops.init(p);
	return p;
}

/* Memory only changes when a chunk or a bigger index is needed, so that
 * is the only time the cap has to be checked. */
static inline int has_room(const agg *a, uint32_t n)
{
	uint64_t total = (uint64_t)a->count + n;
	return total <= a->maxload && total <= (uint64_t)a->nchunks * a->per;
}

void agg_expect(agg *a, size_t n)
{
	check_inserting(a, "agg_expect");
	if (n > MAX_SLOTS / 4 * 3)
		n = MAX_SLOTS / 4 * 3;
	/* only the index: it is what a growing table rebuilds again and again */
	uint32_t slots = slots_for(a, n);
	if (slots > a->mask + 1 &&
	    (!a->max_memory || agg_memory(a) + (size_t)slots * sizeof *a->idx <= a->max_memory / 4))
		index_grow(a, slots);
}

void *agg_upsert(agg *a, const void *key)
{
	check_inserting(a, "agg_upsert");
	uint64_t h = agg_hash(a, key);
	if (has_room(a, 1))
		return find_or_insert(a, key, h, 1);
	unsigned char *e = find_or_insert(a, key, h, 0);
	if (e)
		return e;
	reserve(a, 1);
	return find_or_insert(a, key, h, 1);
}

/* Group prefetching: hash a group and prefetch its home slots, then
 * prefetch the entries those slots name, then do the lookups, so the
 * misses of a whole group overlap instead of queueing one by one. */
#ifndef BATCH_GROUP
#define BATCH_GROUP 16
#endif

void agg_upsert_batch(agg *a, const void *keys, size_t n, void **vals)
{
	const unsigned char *k = keys;
	uint64_t hs[BATCH_GROUP];
	check_inserting(a, "agg_upsert_batch");
	if (n > AGG_BATCH_MAX) {
		fprintf(stderr, "edgeagg: agg_upsert_batch: n > %d\n", AGG_BATCH_MAX);
		abort();
	}
	if (n && !has_room(a, (uint32_t)n))
		reserve(a, (uint32_t)n);
	for (size_t base = 0; base < n; base += BATCH_GROUP) {
		size_t g = n - base < BATCH_GROUP ? n - base : BATCH_GROUP;
		const unsigned char *kb = k + base * a->ks;
		for (size_t j = 0; j < g; j++) {
			hs[j] = agg_hash(a, kb + j * a->ks);
			__builtin_prefetch(&a->idx[(uint32_t)hs[j] & a->mask]);
		}
		for (size_t j = 0; j < g; j++) {
			uint32_t s = a->idx[(uint32_t)hs[j] & a->mask];
			if (s && (s & ~a->mask) == tag_of(a, hs[j])) {
				const unsigned char *e = ent(a, s & a->mask);
				__builtin_prefetch(e, 1);
				__builtin_prefetch(e + a->stride - 1, 1);
			}
		}
		for (size_t j = 0; j < g; j++)
			vals[base + j] = find_or_insert(a, kb + j * a->ks, hs[j], 1);
	}
}

void agg_merge_in(agg *a, const void *key, const void *val)
{
	a->ops.merge(agg_upsert(a, key), val);
}

size_t agg_size(const agg *a)
{
	return a->count;
}

unsigned agg_runs(const agg *a)
{
	return a->spills;
}

const char *agg_error(const agg *a)
{
	return a->failed ? a->err : NULL;
}

/* ---- sorting ---- */

/* MSD radix sort of the entry numbers, in place (American flag sort), so a
 * sort needs no memory beyond the index it reuses.  The first pass reads
 * the entries in storage order; by the time access turns random the
 * buckets are small enough to sit in cache, which is what made a
 * comparison sort over scattered entries slow. */
#define SORT_SMALL 24

static inline unsigned key_byte(const agg *a, uint32_t e, size_t depth)
{
	return ent(a, e)[a->vs + depth];
}

static void sort_small(const agg *a, uint32_t *p, size_t n, size_t depth)
{
	size_t off = a->vs + depth, len = a->ks - depth;
	for (size_t i = 1; i < n; i++) {
		uint32_t v = p[i];
		const unsigned char *kv = ent(a, v) + off;
		size_t j = i;
		while (j > 0 && memcmp(ent(a, p[j - 1]) + off, kv, len) > 0) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = v;
	}
}

static void sort_entries(const agg *a, uint32_t *p, size_t n, size_t depth)
{
	uint32_t next[256], end[256];
	for (;;) {
		if (n <= SORT_SMALL || depth >= a->ks) {
			if (depth < a->ks)
				sort_small(a, p, n, depth);
			return;
		}
		memset(end, 0, sizeof end);
		for (size_t i = 0; i < n; i++)
			end[key_byte(a, p[i], depth)]++;
		if (end[key_byte(a, p[0], depth)] == n) {
			depth++; /* a shared byte decides nothing */
			continue;
		}
		break;
	}
	uint32_t sum = 0;
	for (unsigned b = 0; b < 256; b++) {
		next[b] = sum;
		sum += end[b];
		end[b] = sum;
	}
	for (unsigned b = 0; b < 256; b++) {
		while (next[b] < end[b]) {
			uint32_t v = p[next[b]];
			unsigned c = key_byte(a, v, depth);
			while (c != b) {
				uint32_t t = p[next[c]];
				p[next[c]++] = v;
				v = t;
				c = key_byte(a, v, depth);
			}
			p[next[b]++] = v;
		}
	}
	for (unsigned b = 0, start = 0; b < 256; start = end[b], b++)
		if (end[b] - start > 1)
			sort_entries(a, p + start, end[b] - start, depth + 1);
}

/* Bytes all keys share at their start (compared in storage order). */
static size_t common_prefix(const agg *a)
{
	const unsigned char *k0 = ent(a, 1) + a->vs;
	size_t common = a->ks;
	for (uint32_t e = 2; e <= a->count && common; e++) {
		const unsigned char *k = ent(a, e) + a->vs;
		size_t i = 0;
		while (i < common && k[i] == k0[i])
			i++;
		common = i;
	}
	return common;
}

typedef struct sort_pair {
	uint64_t k; /* 8 key bytes after the common prefix, big-endian */
	uint32_t e;
} sort_pair;

/* Big tables: the 8 key bytes that follow the common prefix are copied,
 * reading the entries once in storage order, into packed pairs; an LSD radix
 * sort orders the pairs in cache-friendly passes; only pairs whose 8 bytes
 * tie go back to the entries.  Returns 0, or -1 when the pairs would not
 * fit (the caller sorts in place instead). */
static int sort_packed(agg *a)
{
	size_t n = a->count, off = common_prefix(a), len = a->ks - off < 8 ? a->ks - off : 8;
	if (a->max_memory && 2 * n * sizeof(sort_pair) > a->max_memory / 2)
		return -1;
	sort_pair *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
	if (!p || !q) {
		free(p);
		free(q);
		return -1;
	}
	for (uint32_t e = 1; e <= n; e++) {
		const unsigned char *k = ent(a, e) + a->vs + off;
		uint64_t v = 0;
		for (size_t i = 0; i < 8; i++)
			v = v << 8 | (i < len ? k[i] : 0);
		p[e - 1] = (sort_pair){ v, e };
	}
	for (unsigned shift = 0; shift < 64; shift += 16) {
		static uint32_t count[65537];
		memset(count, 0, sizeof count);
		for (size_t i = 0; i < n; i++)
			count[(p[i].k >> shift & 0xffff) + 1]++;
		if (count[(p[0].k >> shift & 0xffff) + 1] == n)
			continue; /* these 16 bits are the same everywhere */
		for (size_t b = 0; b < 65536; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			q[count[p[i].k >> shift & 0xffff]++] = p[i];
		sort_pair *t = p;
		p = q;
		q = t;
	}
	for (size_t i = 0; i < n; i++)
		a->idx[i] = p[i].e;
	if (off + len < a->ks)
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && p[j].k == p[i].k; j++)
				;
			if (j - i > 1)
				sort_entries(a, a->idx + i, j - i, off + len);
		}
	free(p);
	free(q);
	return 0;
}

/* Leaves idx[0..count) holding the entry numbers in key order; the index
 * is no longer a hash index afterwards. */
static void sort_memory(agg *a)
{
	if (a->count >= 4096 && sort_packed(a) == 0)
		return;
	for (uint32_t e = 0; e < a->count; e++)
		a->idx[e] = e + 1;
	sort_entries(a, a->idx, a->count, 0);
}

static void clear_memory(agg *a)
{
	memset(a->idx, 0, ((size_t)a->mask + 1) * sizeof *a->idx);
	a->count = 0;
}

/* ---- runs ---- */

static int run_create(agg *a, run *r)
{
	size_t n = strlen(a->tmpdir) + sizeof "/fl-edgeagg-XXXXXX";
	char *path = fl_xmalloc(n);
	snprintf(path, n, "%s/fl-edgeagg-XXXXXX", a->tmpdir);
	int fd = mkstemp(path);
	if (fd < 0) {
		fail(a, "cannot create a spill file in '%s': %s", a->tmpdir, errno);
		free(path);
		return -1;
	}
	unlink(path);
	free(path);
	r->fp = fdopen(fd, "w+b");
	if (!r->fp) {
		fail(a, "cannot open a spill file in '%s': %s", a->tmpdir, errno);
		close(fd);
		return -1;
	}
	setvbuf(r->fp, NULL, _IOFBF, RUN_IOBUF);
	r->n = 0;
	r->level = 0;
	return 0;
}

static void run_close(run *r)
{
	if (r->fp)
		fclose(r->fp);
	r->fp = NULL;
}

static inline void run_put(run *r, const unsigned char *rec, size_t n)
{
	fwrite(rec, 1, n, r->fp);
	r->n++;
}

/* Flushes and rewinds for reading; reports a write error once. */
static int run_seal(agg *a, run *r)
{
	errno = 0;
	if (fflush(r->fp) != 0 || ferror(r->fp)) {
		fail(a, "cannot write a spill file in '%s': %s", a->tmpdir, errno ? errno : EIO);
		return -1;
	}
	if (fseek(r->fp, 0, SEEK_SET) != 0) {
		fail(a, "cannot rewind a spill file in '%s': %s", a->tmpdir, errno);
		return -1;
	}
	return 0;
}

/* ---- k-way merge ---- */

static int src_advance(agg *a, src *s)
{
	if (!s->left) {
		s->rec = NULL;
		return 0;
	}
	s->left--;
	if (!s->r) {
		s->rec = ent(a, a->idx[a->memsrc_pos++]);
		return 1;
	}
	if (fread(s->buf, 1, a->rec, s->r->fp) != a->rec) {
		fail(a, "cannot read back a spill file in '%s': %s", a->tmpdir,
		     ferror(s->r->fp) ? errno : EIO);
		s->rec = NULL;
		return -1;
	}
	s->rec = s->buf;
	return 1;
}

static inline int src_less(const agg *a, const merger *m, unsigned x, unsigned y)
{
	int c = memcmp(m->s[x].rec + a->vs, m->s[y].rec + a->vs, a->ks);
	return c < 0 || (c == 0 && x < y);
}

static void heap_down(const agg *a, merger *m, unsigned i)
{
	unsigned *h = m->heap, n = m->nh;
	for (;;) {
		unsigned l = 2 * i + 1, best = i;
		if (l < n && src_less(a, m, h[l], h[best]))
			best = l;
		if (l + 1 < n && src_less(a, m, h[l + 1], h[best]))
			best = l + 1;
		if (best == i)
			return;
		unsigned t = h[i];
		h[i] = h[best];
		h[best] = t;
		i = best;
	}
}

/* Moves the heap's top source to its next record. */
static int heap_step(agg *a, merger *m)
{
	int r = src_advance(a, &m->s[m->heap[0]]);
	if (r < 0)
		return -1;
	if (r == 0)
		m->heap[0] = m->heap[--m->nh];
	if (m->nh)
		heap_down(a, m, 0);
	return 0;
}

static void merger_free(merger *m)
{
	for (unsigned i = 0; i < m->ns; i++)
		free(m->s[i].buf);
	free(m->s);
	free(m->heap);
	free(m->out);
	memset(m, 0, sizeof *m);
}

/* Sources: runs[first..first+nr) and, when with_memory, the sorted entries. */
static int merger_init(agg *a, merger *m, unsigned first, unsigned nr, int with_memory)
{
	memset(m, 0, sizeof *m);
	m->ns = nr + (with_memory ? 1 : 0);
	m->s = fl_xcalloc(m->ns, sizeof *m->s);
	m->heap = fl_xcalloc(m->ns, sizeof *m->heap);
	m->out = fl_xmalloc(a->stride);
	for (unsigned i = 0; i < m->ns; i++) {
		src *s = &m->s[i];
		if (i < nr) {
			s->r = &a->runs[first + i];
			s->left = s->r->n;
			s->buf = fl_xmalloc(a->stride);
		} else {
			a->memsrc_pos = 0;
			s->left = a->count;
		}
		int r = src_advance(a, s);
		if (r < 0)
			return -1;
		if (r > 0)
			m->heap[m->nh++] = i;
	}
	for (unsigned i = m->nh / 2; i-- > 0;)
		heap_down(a, m, i);
	return 0;
}

/* The next key with its values folded across sources, in m->out. */
static int merger_next(agg *a, merger *m)
{
	if (!m->nh)
		return 0;
	memcpy(m->out, m->s[m->heap[0]].rec, a->rec);
	if (heap_step(a, m) < 0)
		return -1;
	while (m->nh && memcmp(m->s[m->heap[0]].rec + a->vs, m->out + a->vs, a->ks) == 0) {
		a->ops.merge(m->out, m->s[m->heap[0]].rec);
		if (heap_step(a, m) < 0)
			return -1;
	}
	return 1;
}

/* Replaces runs[first..first+n) by their merge, one level up. */
static void merge_runs(agg *a, unsigned first, unsigned n)
{
	run out;
	merger m;
	unsigned level = 0;
	for (unsigned i = first; i < first + n; i++)
		if (a->runs[i].level > level)
			level = a->runs[i].level;
	if (run_create(a, &out) < 0)
		return;
	int r = merger_init(a, &m, first, n, 0);
	while (r >= 0 && (r = merger_next(a, &m)) > 0)
		run_put(&out, m.out, a->rec);
	merger_free(&m);
	if (r < 0 || run_seal(a, &out) < 0) {
		run_close(&out);
		return;
	}
	for (unsigned i = first; i < first + n; i++)
		run_close(&a->runs[i]);
	out.level = level + 1;
	a->runs[first] = out;
	memmove(&a->runs[first + 1], &a->runs[first + n], (a->nruns - first - n) * sizeof *a->runs);
	a->nruns -= n - 1;
}

static void push_run(agg *a, run r)
{
	if (a->nruns == a->runs_cap) {
		a->runs_cap = a->runs_cap ? a->runs_cap * 2 : 16;
		a->runs = fl_xrealloc(a->runs, a->runs_cap * sizeof *a->runs);
	}
	a->runs[a->nruns++] = r;
	while (!a->failed && a->nruns >= FANIN &&
	       a->runs[a->nruns - FANIN].level == a->runs[a->nruns - 1].level)
		merge_runs(a, a->nruns - FANIN, FANIN);
}

/* After a failure the data is lost anyway: the table is only cleared, so
 * memory stays bounded until agg_next() reports the error. */
static void spill(agg *a)
{
	a->spills++;
	if (!a->failed) {
		run r;
		sort_memory(a);
		if (run_create(a, &r) == 0) {
			for (uint32_t i = 0; i < a->count; i++)
				run_put(&r, ent(a, a->idx[i]), a->rec);
			if (run_seal(a, &r) == 0)
				push_run(a, r);
			else
				run_close(&r);
		}
	}
	clear_memory(a);
}

/* ---- lifecycle and iteration ---- */

agg *agg_new(const agg_ops *ops, size_t max_memory, const char *tmpdir)
{
	if (!ops || ops->key_size == 0 || ops->key_size > AGG_MAX_KEY || !ops->init || !ops->merge) {
		fprintf(stderr, "edgeagg: agg_new: key_size must be 1..%d and init, merge set\n",
		        AGG_MAX_KEY);
		abort();
	}
	agg *a = fl_xcalloc(1, sizeof *a);
	a->ops = *ops;
	a->ks = ops->key_size;
	a->vs = ops->val_size;
	a->rec = a->vs + a->ks;
	a->stride = (a->rec + 7) & ~(size_t)7;
	agg_seed(a);

	/* Under a cap, chunks small enough that the cap is not eaten by one
	 * chunk, or huge-page chunks when the cap is big; without one they
	 * start small and grow with the table (index_grow). */
	size_t budget = CHUNK_BYTES;
	if (max_memory && max_memory / 32 >= HUGE_BYTES)
		budget = HUGE_BYTES;
	else if (max_memory && max_memory / 8 < budget)
		budget = max_memory / 8;
	set_per(a, per_for(a, budget));
	index_alloc(a, MIN_SLOTS);

	a->max_memory = max_memory;
	if (!tmpdir || !*tmpdir)
		tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	a->tmpdir = fl_xstrdup(tmpdir);
	a->state = ST_INSERT;
	return a;
}

static int finish(agg *a)
{
	if (!a->nruns && !a->failed) {
		sort_memory(a);
		a->pos = 0;
		a->state = ST_MEMORY;
		return 0;
	}
	while (!a->failed && a->nruns > MAX_OPEN_RUNS - 1)
		merge_runs(a, a->nruns - FANIN, FANIN);
	if (a->failed)
		return -1;
	sort_memory(a);
	a->state = ST_MERGE;
	return merger_init(a, &a->m, 0, a->nruns, 1);
}

int agg_next(agg *a, const void **key, const void **val)
{
	if (a->state == ST_INSERT && finish(a) < 0)
		return -1;
	if (a->failed)
		return -1;
	if (a->state == ST_MEMORY) {
		if (a->pos < a->count) {
			/* entries come in key order, scattered in memory: fetch ahead */
			if (a->pos + 8 < a->count)
				__builtin_prefetch(ent(a, a->idx[a->pos + 8]));
			const unsigned char *e = ent(a, a->idx[a->pos++]);
			*val = e;
			*key = e + a->vs;
			return 1;
		}
		a->state = ST_DONE;
	} else if (a->state == ST_MERGE) {
		int r = merger_next(a, &a->m);
		if (r < 0)
			return -1;
		if (r > 0) {
			*val = a->m.out;
			*key = a->m.out + a->vs;
			return 1;
		}
		a->state = ST_DONE;
	}
	return 0;
}

void agg_free(agg *a)
{
	if (!a)
		return;
	merger_free(&a->m);
	for (unsigned i = 0; i < a->nruns; i++)
		run_close(&a->runs[i]);
	free(a->runs);
	for (size_t i = 0; i < a->nchunks; i++)
		block_free(a->chunks[i], (size_t)a->per * a->stride);
	free(a->chunks);
	block_free(a->idx, ((size_t)a->mask + 1) * sizeof *a->idx);
	free(a->tmpdir);
	free(a);
}
