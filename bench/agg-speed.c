/*
 * agg-speed.c - upserts per second and memory per key of the edge
 * aggregation core, with fl-graph's shapes: a 36-byte key, an 80-byte value,
 * keys drawn uniformly from a pool of N distinct keys (uniform is the worst
 * case: real traffic repeats hot edges, which stay in cache).
 *   agg-speed [-u upserts] [-r repeats] [-m max_memory] [N...]
 * (default N: 10k 100k 1M 4M; -m caps the table, so the figures include
 * spilling and the final merge).
 * Each N is run with agg_upsert() ("single") and agg_upsert_batch() of 256
 * keys ("batch").  For each N: "insert" is N first-time upserts (growth included), "upsert"
 * is -u random upserts of existing keys, "drain" is agg_next over the result
 * (the sort).  Keys are staged in blocks outside the timed loop, as a
 * decoded stream would hand them over; with -r the best run is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "edgeagg.h"

enum { KS = 36, BLOCK = 1 << 16 };

typedef struct val {
	uint64_t packets, bytes, flows, first, last, a, b, c, d, e;
} val;

static void v_init(void *p) { memset(p, 0, sizeof(val)); }
static void v_merge(void *d, const void *s)
{
	val *x = d;
	const val *y = s;
	x->packets += y->packets;
	x->bytes += y->bytes;
	x->flows += y->flows;
}

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void touch(val *v, uint64_t x)
{
	v->packets++;
	v->bytes += x;
	v->flows++;
	if (!v->first || x < v->first)
		v->first = x;
	if (x > v->last)
		v->last = x;
}

enum { BATCH = 256 };

/* Upserts m keys stored back to back and updates their values. */
static void upsert_block(agg *a, const unsigned char *keys, size_t m, int batch)
{
	if (!batch) {
		for (size_t j = 0; j < m; j++)
			touch(agg_upsert(a, keys + j * KS), j);
		return;
	}
	void *vals[BATCH];
	for (size_t j = 0; j < m; j += BATCH) {
		size_t b = m - j < BATCH ? m - j : BATCH;
		agg_upsert_batch(a, keys + j * KS, b, vals);
		for (size_t i = 0; i < b; i++)
			touch(vals[i], j + i);
	}
}

typedef struct result {
	double insert, upsert, drain, bytes_per_key;
} result;

static size_t max_memory;

static result run_once(const unsigned char *pool, size_t n, size_t upserts, unsigned char *blk,
                       uint64_t seed, int batch)
{
	agg_ops ops = { KS, sizeof(val), v_init, v_merge };
	agg *a = agg_new(&ops, max_memory, NULL);
	result r;
	double t = 0, t0;

	for (size_t i = 0; i < n; i += BLOCK) {
		size_t m = n - i < BLOCK ? n - i : BLOCK;
		t0 = now();
		upsert_block(a, pool + i * KS, m, batch);
		t += now() - t0;
	}
	r.insert = (double)n / t;
	r.bytes_per_key = (double)agg_memory(a) / (double)(agg_size(a) ? agg_size(a) : 1);

	t = 0;
	for (size_t done = 0; done < upserts; done += BLOCK) {
		size_t m = upserts - done < BLOCK ? upserts - done : BLOCK;
		for (size_t j = 0; j < m; j++)
			memcpy(blk + j * KS, pool + (rng(&seed) % n) * KS, KS);
		t0 = now();
		upsert_block(a, blk, m, batch);
		t += now() - t0;
	}
	r.upsert = (double)upserts / t;

	const void *k, *v;
	size_t seen = 0;
	t0 = now();
	int rc;
	while ((rc = agg_next(a, &k, &v)) > 0)
		seen++;
	if (rc < 0)
		fl_die(FL_EXIT_FATAL, "%s", agg_error(a));
	r.drain = (double)seen / (now() - t0);
	if (seen != n)
		fl_die(FL_EXIT_FATAL, "expected %zu keys, got %zu", n, seen);
	agg_free(a);
	return r;
}

int main(int argc, char **argv)
{
	static const size_t def[] = { 10000, 100000, 1000000, 4000000 };
	size_t upserts = 20000000, sizes[64], nsizes = 0;
	unsigned repeats = 1;
	int i;
	fl_set_progname(argv[0]);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-u") && i + 1 < argc)
			upserts = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			max_memory = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			repeats = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] >= '1' && argv[i][0] <= '9' && nsizes < 64)
			sizes[nsizes++] = strtoull(argv[i], NULL, 10);
		else
			fl_die(FL_EXIT_USAGE, "usage: agg-speed [-u upserts] [-r repeats] [-m max_memory] [N...]");
	}
	if (!nsizes)
		for (nsizes = 0; nsizes < sizeof def / sizeof *def; nsizes++)
			sizes[nsizes] = def[nsizes];
	if (!repeats)
		repeats = 1;

	unsigned char *blk = fl_xmalloc((size_t)BLOCK * KS);
	printf("%-6s %9s %12s %12s %12s %10s\n", "mode", "keys", "insert/s", "upsert/s", "drain/s",
	       "bytes/key");
	for (size_t s = 0; s < nsizes; s++) {
		size_t n = sizes[s];
		uint64_t seed = 42 + n;
		unsigned char *pool = fl_xmalloc(n * KS);
		for (size_t j = 0; j < n * KS; j += 8) {
			uint64_t x = rng(&seed);
			memcpy(pool + j, &x, n * KS - j < 8 ? n * KS - j : 8);
		}
		for (int batch = 0; batch < 2; batch++) {
			result best = { 0, 0, 0, 0 };
			for (unsigned rep = 0; rep < repeats; rep++) {
				result r = run_once(pool, n, upserts, blk, seed + rep, batch);
				if (r.insert > best.insert)
					best.insert = r.insert;
				if (r.upsert > best.upsert)
					best.upsert = r.upsert;
				if (r.drain > best.drain)
					best.drain = r.drain;
				best.bytes_per_key = r.bytes_per_key;
			}
			printf("%-6s %9zu %12.0f %12.0f %12.0f %10.1f\n", batch ? "batch" : "single", n,
			       best.insert, best.upsert, best.drain, best.bytes_per_key);
			fflush(stdout);
		}
		free(pool);
	}
	free(blk);
	return 0;
}
