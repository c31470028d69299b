/* test_edgeagg.c - the aggregation core against an independent sort-and-fold
 * reference, with and without spills, split and merged, across key sizes. */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeagg.h"
#include "suite.h"

typedef struct tval {
	uint64_t sum, min, max, count;
} tval;

static void tv_init(void *v)
{
	tval *t = v;
	t->sum = 0;
	t->min = UINT64_MAX;
	t->max = 0;
	t->count = 0;
}

static void tv_merge(void *d, const void *s)
{
	tval *t = d;
	const tval *u = s;
	t->sum += u->sum;
	t->count += u->count;
	if (u->min < t->min)
		t->min = u->min;
	if (u->max > t->max)
		t->max = u->max;
}

static void tv_add(tval *t, uint64_t x)
{
	t->sum += x;
	t->count++;
	if (x < t->min)
		t->min = x;
	if (x > t->max)
		t->max = x;
}

static agg_ops ops_for(size_t ks)
{
	agg_ops o = { ks, sizeof(tval), tv_init, tv_merge };
	return o;
}

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Inputs: n (key, x) pairs drawn from a pool of keys, many of which share
 * long prefixes so comparisons are decided late in the key. */
typedef struct input {
	size_t ks, n;
	unsigned char *keys;
	uint64_t *xs;
} input;

static input make_input(size_t ks, size_t distinct, size_t n, uint64_t seed)
{
	input in = { ks, n, malloc(ks * n), malloc(sizeof(uint64_t) * n) };
	unsigned char *pool = malloc(ks * distinct);
	for (size_t i = 0; i < distinct; i++) {
		unsigned char *k = pool + i * ks;
		for (size_t j = 0; j < ks; j++)
			k[j] = (unsigned char)rng(&seed);
		if (i && ks > 1 && rng(&seed) % 2)
			memcpy(k, k - ks, ks - 1);
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(in.keys + i * ks, pool + (rng(&seed) % distinct) * ks, ks);
		in.xs[i] = rng(&seed) % 1000000;
	}
	free(pool);
	return in;
}

static void free_input(input *in)
{
	free(in->keys);
	free(in->xs);
}

typedef struct obuf {
	unsigned char *p;
	size_t n, cap, keys;
} obuf;

static void put(obuf *o, const void *x, size_t n)
{
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2;
		o->p = realloc(o->p, o->cap);
	}
	memcpy(o->p + o->n, x, n);
	o->n += n;
}

static void feed(agg *a, const input *in, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		tv_add(agg_upsert(a, in->keys + i * in->ks), in->xs[i]);
}

/* Drains a: keys strictly ascending, serialised as key then value. */
static obuf drain(agg *a, size_t ks)
{
	obuf o = { 0 };
	const void *k, *v, *prev = NULL;
	unsigned char last[256];
	int r;
	while ((r = agg_next(a, &k, &v)) > 0) {
		if (prev)
			ck_assert_int_lt(memcmp(last, k, ks), 0);
		memcpy(last, k, ks);
		prev = last;
		put(&o, k, ks);
		put(&o, v, sizeof(tval));
		o.keys++;
	}
	ck_assert_msg(r == 0, "agg_next failed: %s", agg_error(a));
	ck_assert_int_eq(agg_next(a, &k, &v), 0);
	return o;
}

static obuf aggregate(const input *in, size_t cap, const char *tmpdir, unsigned *runs)
{
	agg_ops o = ops_for(in->ks);
	agg *a = agg_new(&o, cap, tmpdir);
	feed(a, in, 0, in->n);
	if (runs)
		*runs = agg_runs(a);
	obuf out = drain(a, in->ks);
	agg_free(a);
	return out;
}

static const input *sort_in;

static int cmp_input(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	return memcmp(sort_in->keys + i * sort_in->ks, sort_in->keys + j * sort_in->ks, sort_in->ks);
}

/* The reference: sort every input by key and fold runs of equal keys. */
static obuf reference(const input *in)
{
	obuf o = { 0 };
	size_t *ord = malloc(sizeof *ord * (in->n ? in->n : 1));
	for (size_t i = 0; i < in->n; i++)
		ord[i] = i;
	sort_in = in;
	qsort(ord, in->n, sizeof *ord, cmp_input);
	for (size_t i = 0; i < in->n;) {
		tval t;
		size_t j = i;
		tv_init(&t);
		while (j < in->n && cmp_input(&ord[i], &ord[j]) == 0)
			tv_add(&t, in->xs[ord[j++]]);
		put(&o, in->keys + ord[i] * in->ks, in->ks);
		put(&o, &t, sizeof t);
		o.keys++;
		i = j;
	}
	free(ord);
	return o;
}

static void assert_same(const obuf *x, const obuf *y)
{
	ck_assert_uint_eq(x->keys, y->keys);
	ck_assert_uint_eq(x->n, y->n);
	ck_assert(x->n == 0 || memcmp(x->p, y->p, x->n) == 0);
}

/* A private spill directory, so the test can see nothing is left in it. */
static char *make_dir(void)
{
	char tmpl[] = "/tmp/test_edgeagg-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static void assert_empty_and_remove(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		ck_assert_msg(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."),
		              "left behind: %s", e->d_name);
	closedir(d);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}

START_TEST(matches_reference)
{
	input in = make_input(36, 20000, 200000, 1);
	obuf ref = reference(&in), got = aggregate(&in, 0, NULL, NULL);
	ck_assert_uint_gt(ref.keys, 15000);
	assert_same(&got, &ref);
	free(ref.p);
	free(got.p);
	free_input(&in);
}
END_TEST

START_TEST(tiny_cap_is_byte_identical)
{
	char *dir = make_dir();
	unsigned runs = 0;
	input in = make_input(36, 20000, 200000, 2);
	obuf plain = aggregate(&in, 0, NULL, NULL);
	obuf capped = aggregate(&in, 64 * 1024, dir, &runs);
	ck_assert_uint_gt(runs, 64);
	assert_same(&capped, &plain);
	free(plain.p);
	free(capped.p);
	free_input(&in);
	assert_empty_and_remove(dir);
}
END_TEST

/* Even a cap smaller than one entry's share of the table must work. */
START_TEST(absurd_cap_still_works)
{
	char *dir = make_dir();
	unsigned runs = 0;
	input in = make_input(7, 300, 3000, 3);
	obuf ref = reference(&in), capped = aggregate(&in, 1, dir, &runs);
	ck_assert_uint_gt(runs, 1000);
	assert_same(&capped, &ref);
	free(ref.p);
	free(capped.p);
	free_input(&in);
	assert_empty_and_remove(dir);
}
END_TEST

static void split_and_merge(size_t cap_a, size_t cap_b)
{
	input in = make_input(44, 5000, 60000, 4);
	agg_ops o = ops_for(44);
	agg *a = agg_new(&o, cap_a, NULL), *b = agg_new(&o, cap_b, NULL);
	const void *k, *v;
	int r;
	feed(a, &in, 0, in.n / 3);
	feed(b, &in, in.n / 3, in.n);
	while ((r = agg_next(b, &k, &v)) > 0)
		agg_merge_in(a, k, v);
	ck_assert_int_eq(r, 0);
	obuf merged = drain(a, 44), one = aggregate(&in, 0, NULL, NULL);
	assert_same(&merged, &one);
	free(merged.p);
	free(one.p);
	agg_free(a);
	agg_free(b);
	free_input(&in);
}

START_TEST(split_then_merge_in) { split_and_merge(0, 0); }
END_TEST

START_TEST(split_then_merge_in_capped) { split_and_merge(32 * 1024, 16 * 1024); }
END_TEST

/* Each agg_new draws its own seed; the order must not show it, nor the
 * order of the input. */
START_TEST(order_independent_of_seed_and_input_order)
{
	input in = make_input(36, 3000, 30000, 5);
	agg_ops o = ops_for(36);
	agg *a = agg_new(&o, 0, NULL), *b = agg_new(&o, 0, NULL);
	feed(a, &in, 0, in.n);
	for (size_t i = in.n; i-- > 0;)
		tv_add(agg_upsert(b, in.keys + i * 36), in.xs[i]);
	obuf x = drain(a, 36), y = drain(b, 36);
	assert_same(&x, &y);
	free(x.p);
	free(y.p);
	agg_free(a);
	agg_free(b);
	free_input(&in);
}
END_TEST

START_TEST(growth_across_sizes)
{
	static const size_t sizes[] = { 0,   1,    2,    11,   12,   13,   23,   24,    25,
	                                 96,  97,   767,  768,  769,  1000, 3071, 3072,  3073,
	                                 6145, 12289, 49152, 49153, 100000, 196609 };
	agg_ops o = ops_for(4);
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		size_t n = sizes[s], seen = 0;
		agg *a = agg_new(&o, 0, NULL);
		size_t mem = agg_memory(a);
		for (size_t i = 0; i < n; i++) {
			uint32_t x = (uint32_t)(i * 2654435761u);
			unsigned char k[4] = { (unsigned char)(x >> 24), (unsigned char)(x >> 16),
			                       (unsigned char)(x >> 8), (unsigned char)x };
			tv_add(agg_upsert(a, k), i);
			ck_assert_uint_ge(agg_memory(a), mem);
			mem = agg_memory(a);
		}
		/* Again: nothing new may appear. */
		for (size_t i = 0; i < n; i++) {
			uint32_t x = (uint32_t)(i * 2654435761u);
			unsigned char k[4] = { (unsigned char)(x >> 24), (unsigned char)(x >> 16),
			                       (unsigned char)(x >> 8), (unsigned char)x };
			tv_add(agg_upsert(a, k), i);
		}
		ck_assert_uint_eq(agg_size(a), n);
		ck_assert_uint_eq(agg_runs(a), 0);
		const void *k, *v;
		unsigned char last[4];
		while (agg_next(a, &k, &v) > 0) {
			const tval *t = v;
			ck_assert(seen == 0 || memcmp(last, k, 4) < 0);
			memcpy(last, k, 4);
			ck_assert_uint_eq(t->count, 2);
			ck_assert_uint_eq(t->sum, 2 * t->min);
			seen++;
		}
		ck_assert_uint_eq(seen, n);
		agg_free(a);
	}
}
END_TEST

START_TEST(key_sizes)
{
	static const size_t kss[] = { 1, 7, 36, 44, 200, 256 };
	for (size_t i = 0; i < sizeof kss / sizeof *kss; i++) {
		size_t ks = kss[i];
		char *dir = make_dir();
		unsigned runs = 0;
		input in = make_input(ks, ks == 1 ? 200 : 4000, 30000, 10 + ks);
		obuf ref = reference(&in);
		obuf plain = aggregate(&in, 0, NULL, NULL);
		obuf capped = aggregate(&in, 24 * 1024, dir, &runs);
		assert_same(&plain, &ref);
		assert_same(&capped, &ref);
		if (ks > 1)
			ck_assert_uint_gt(runs, 8);
		free(ref.p);
		free(plain.p);
		free(capped.p);
		free_input(&in);
		assert_empty_and_remove(dir);
	}
}
END_TEST

START_TEST(spill_dir_missing)
{
	const char *dir = "/nonexistent-test-edgeagg/spill";
	input in = make_input(36, 5000, 20000, 6);
	agg_ops o = ops_for(36);
	agg *a = agg_new(&o, 16 * 1024, dir);
	const void *k, *v;
	feed(a, &in, 0, in.n);
	ck_assert_int_eq(agg_next(a, &k, &v), -1);
	ck_assert_ptr_nonnull(agg_error(a));
	ck_assert_msg(strstr(agg_error(a), dir) != NULL, "message: %s", agg_error(a));
	ck_assert_int_eq(agg_next(a, &k, &v), -1);
	agg_free(a);

	/* Without a cap the directory is never touched. */
	a = agg_new(&o, 0, dir);
	feed(a, &in, 0, in.n);
	obuf out = drain(a, 36);
	ck_assert_ptr_null(agg_error(a));
	ck_assert_uint_gt(out.keys, 0);
	free(out.p);
	agg_free(a);
	free_input(&in);
}
END_TEST

START_TEST(empty_and_single)
{
	agg_ops o = ops_for(7);
	const void *k, *v;
	agg *a = agg_new(&o, 0, NULL);
	ck_assert_int_eq(agg_next(a, &k, &v), 0);
	ck_assert_int_eq(agg_next(a, &k, &v), 0);
	agg_free(a);

	a = agg_new(&o, 4096, NULL);
	tval *p = agg_upsert(a, "abcdefg");
	ck_assert_uint_eq(p->min, UINT64_MAX);
	tv_add(p, 5);
	ck_assert_ptr_eq(agg_upsert(a, "abcdefg"), p);
	tval add = { 10, 1, 9, 3 };
	agg_merge_in(a, "abcdefg", &add);
	agg_merge_in(a, "zzzzzzz", &add);
	ck_assert_uint_eq(agg_size(a), 2);
	ck_assert_int_eq(agg_next(a, &k, &v), 1);
	ck_assert_mem_eq(k, "abcdefg", 7);
	const tval *t = v;
	ck_assert_uint_eq(t->sum, 15);
	ck_assert_uint_eq(t->min, 1);
	ck_assert_uint_eq(t->max, 9);
	ck_assert_uint_eq(t->count, 4);
	ck_assert_int_eq(agg_next(a, &k, &v), 1);
	ck_assert_mem_eq(k, "zzzzzzz", 7);
	ck_assert_int_eq(agg_next(a, &k, &v), 0);
	agg_free(a);
}
END_TEST

/* The budget fl-graph relies on: a 36-byte key and a 76-byte value take at
 * most 128 bytes per distinct key, index included. */
static void zero76(void *v) { memset(v, 0, 76); }
static void add76(void *d, const void *s)
{
	uint32_t x, y;
	memcpy(&x, d, 4);
	memcpy(&y, s, 4);
	x += y;
	memcpy(d, &x, 4);
}

START_TEST(memory_per_key)
{
	agg_ops o = { 36, 76, zero76, add76 };
	agg *a = agg_new(&o, 0, NULL);
	uint64_t s = 7;
	unsigned char k[36];
	for (size_t n = 1; n <= 400000; n++) {
		for (size_t j = 0; j < 36; j += 8) {
			uint64_t r = rng(&s);
			memcpy(k + j, &r, j + 8 <= 36 ? 8 : 36 - j);
		}
		agg_upsert(a, k);
		if (n >= 20000 && n % 997 == 0)
			ck_assert_msg(agg_memory(a) <= 128 * n, "%zu keys: %zu bytes", n,
			              agg_memory(a));
	}
	agg_free(a);
}
END_TEST

/* Batches of every size, with and without spills, give what single
 * upserts give; values of one batch stay valid together. */
static void feed_batches(agg *a, const input *in, uint64_t seed)
{
	void *vals[AGG_BATCH_MAX];
	for (size_t i = 0; i < in->n;) {
		size_t b = 1 + rng(&seed) % AGG_BATCH_MAX;
		if (b > in->n - i)
			b = in->n - i;
		agg_upsert_batch(a, in->keys + i * in->ks, b, vals);
		for (size_t j = 0; j < b; j++)
			tv_add(vals[j], in->xs[i + j]);
		i += b;
	}
}

START_TEST(batch_matches_reference)
{
	char *dir = make_dir();
	input in = make_input(36, 20000, 150000, 8);
	obuf ref = reference(&in);
	agg_ops o = ops_for(36);
	size_t caps[] = { 0, 64 * 1024, 1 };
	for (size_t c = 0; c < 3; c++) {
		agg *a = agg_new(&o, caps[c], dir);
		feed_batches(a, &in, 9 + c);
		if (caps[c])
			ck_assert_uint_gt(agg_runs(a), 64);
		obuf got = drain(a, 36);
		assert_same(&got, &ref);
		free(got.p);
		agg_free(a);
	}
	free(ref.p);
	free_input(&in);
	assert_empty_and_remove(dir);
}
END_TEST

/* Big values reach the size where entries move to huge-page chunks early;
 * every entry must survive the move. */
typedef struct bigval {
	uint64_t sum, count;
	unsigned char pad[4080];
} bigval;
static void big_init(void *v) { memset(v, 0, sizeof(bigval)); }
static void big_merge(void *d, const void *s)
{
	bigval *x = d;
	const bigval *y = s;
	x->sum += y->sum;
	x->count += y->count;
}

START_TEST(entries_survive_rechunk)
{
	agg_ops o = { 8, sizeof(bigval), big_init, big_merge };
	agg *a = agg_new(&o, 0, NULL);
	enum { N = 40000 };
	for (int round = 0; round < 2; round++)
		for (uint64_t i = 0; i < N; i++) {
			unsigned char k[8];
			for (int j = 0; j < 8; j++)
				k[j] = (unsigned char)((i * 0x9E3779B97F4A7C15ull) >> (56 - 8 * j));
			bigval *v = agg_upsert(a, k);
			v->sum += i;
			v->count++;
			v->pad[i % sizeof v->pad] = (unsigned char)i;
		}
	ck_assert_uint_eq(agg_size(a), N);
	const void *k, *v;
	size_t seen = 0;
	while (agg_next(a, &k, &v) > 0) {
		const bigval *b = v;
		ck_assert_uint_eq(b->count, 2);
		ck_assert_uint_eq(b->pad[(b->sum / 2) % sizeof b->pad], (unsigned char)(b->sum / 2));
		seen++;
	}
	ck_assert_uint_eq(seen, N);
	agg_free(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("edgeagg");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, matches_reference);
	tcase_add_test(tc, tiny_cap_is_byte_identical);
	tcase_add_test(tc, absurd_cap_still_works);
	tcase_add_test(tc, split_then_merge_in);
	tcase_add_test(tc, split_then_merge_in_capped);
	tcase_add_test(tc, order_independent_of_seed_and_input_order);
	tcase_add_test(tc, growth_across_sizes);
	tcase_add_test(tc, key_sizes);
	tcase_add_test(tc, spill_dir_missing);
	tcase_add_test(tc, empty_and_single);
	tcase_add_test(tc, memory_per_key);
	tcase_add_test(tc, batch_matches_reference);
	tcase_add_test(tc, entries_survive_rechunk);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
