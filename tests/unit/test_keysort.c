/* test_keysort.c - the radix sort of fixed-size records against qsort on
 * random keys, ties kept in input order, constant key bytes skipped. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keysort.h"
#include "suite.h"

enum { KS = 11, SIZE = 16 }; /* key, then a u32 sequence number, then padding */

static int ref_cmp(const void *a, const void *b)
{
	int c = memcmp(a, b, KS);
	if (c)
		return c;
	uint32_t x, y;
	memcpy(&x, (const uint8_t *)a + KS, 4);
	memcpy(&y, (const uint8_t *)b + KS, 4);
	return (x > y) - (x < y); /* stability: ties in input order */
}

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* n records whose key bytes vary only where vary[b] is set, over `values` values. */
static void check_sort(size_t n, const int *vary, unsigned values, uint64_t seed)
{
	uint8_t *r = calloc(n, SIZE), *tmp = malloc(n * SIZE), *ref = malloc(n * SIZE);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = r + i * SIZE;
		for (int b = 0; b < KS; b++)
			p[b] = vary[b] ? (uint8_t)(rng(&seed) % values) : (uint8_t)(0xA0 + b);
		uint32_t seq = (uint32_t)i;
		memcpy(p + KS, &seq, 4);
	}
	memcpy(ref, r, n * SIZE);
	qsort(ref, n, SIZE, ref_cmp);
	fl_keysort(r, tmp, n, SIZE, KS);
	ck_assert_mem_eq(r, ref, n * SIZE);
	free(r), free(tmp), free(ref);
}

START_TEST(sorts_like_memcmp_and_keeps_ties_in_order)
{
	int all[KS], some[KS] = { 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1 }, none[KS] = { 0 };
	for (int b = 0; b < KS; b++)
		all[b] = 1;
	check_sort(5000, all, 256, 1);
	check_sort(5000, all, 3, 2);    /* many ties */
	check_sort(5000, some, 256, 3); /* bytes shared by every record are skipped */
	check_sort(100, none, 1, 4);    /* every key equal: input order stays */
	check_sort(1, all, 256, 5);
	check_sort(0, all, 256, 6);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keysort");
	TCase *tc = tcase_create("keysort");
	tcase_add_test(tc, sorts_like_memcmp_and_keeps_ties_in_order);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
