/*
 * test_prefixes.c - longest-prefix match: parsing, nesting, duplicates, and
 * random tables against a linear scan.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "prefixes.h"
#include "suite.h"

static void add(prefix_table *t, const char *s, uint32_t v)
{
	uint8_t a[16];
	unsigned len;
	ck_assert_msg(prefix_parse(s, strlen(s), a, &len) == 0, "cannot parse %s", s);
	ck_assert_int_eq(prefix_table_add(t, a, len, v), 0);
}

/* value of the longest match, 0 when none (tests use values >= 1) */
static uint32_t find(const prefix_table *t, const char *s, unsigned *len)
{
	uint8_t a[16];
	uint32_t v = 0;
	ck_assert_int_eq(ip_parse(s, strlen(s), a), 0);
	if (!prefix_table_lookup(t, a, &v, len))
		return 0;
	return v;
}

START_TEST(parse_table)
{
	static const struct { const char *s; int ok; unsigned len; } t[] = {
		{ "10.0.0.0/8", 1, 104 }, { "0.0.0.0/0", 1, 96 }, { "1.2.3.4", 1, 128 },
		{ "1.2.3.4/32", 1, 128 }, { "2603:1000::/40", 1, 40 }, { "::/0", 1, 0 },
		{ "2001:db8::1", 1, 128 }, { "::ffff:1.2.3.0/120", 1, 120 },
		{ "10.0.0.0/33", 0, 0 }, { "2603::/129", 0, 0 }, { "10.0.0.0/", 0, 0 },
		{ "10.0.0.0/8a", 0, 0 }, { "10.0.0/8", 0, 0 }, { "/8", 0, 0 }, { "10.0.0.0/0008", 0, 0 },
		{ "10.0.0.0/-1", 0, 0 }, { "", 0, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		uint8_t a[16];
		unsigned len = 999;
		int rc = prefix_parse(t[i].s, strlen(t[i].s), a, &len);
		ck_assert_msg((rc == 0) == t[i].ok, "%s: rc %d", t[i].s, rc);
		if (t[i].ok)
			ck_assert_msg(len == t[i].len, "%s: len %u", t[i].s, len);
	}
}
END_TEST

START_TEST(nested_longest_wins)
{
	prefix_table *t = prefix_table_new();
	add(t, "10.0.0.0/8", 1);
	add(t, "10.1.0.0/16", 2);
	add(t, "10.1.2.0/24", 3);
	add(t, "10.1.2.7/32", 4);
	add(t, "2603:1000::/24", 5);
	add(t, "2603:1020:207::/48", 6);
	add(t, "10.200.0.9/8", 7); /* host bits: it is 10.0.0.0/8 again */
	prefix_table_build(t, NULL, NULL);
	unsigned len;
	ck_assert_uint_eq(find(t, "10.9.9.9", &len), 1);
	ck_assert_uint_eq(len, 104);
	ck_assert_uint_eq(find(t, "10.1.9.9", NULL), 2);
	ck_assert_uint_eq(find(t, "10.1.2.8", NULL), 3);
	ck_assert_uint_eq(find(t, "10.1.2.7", &len), 4);
	ck_assert_uint_eq(len, 128);
	ck_assert_uint_eq(find(t, "11.0.0.0", NULL), 0);
	ck_assert_uint_eq(find(t, "9.255.255.255", NULL), 0);
	ck_assert_uint_eq(find(t, "2603:1020:207::5", NULL), 6);
	ck_assert_uint_eq(find(t, "2603:1020:208::5", NULL), 5);
	ck_assert_uint_eq(find(t, "2603:1100::", NULL), 0);
	/* an IPv4 prefix never matches IPv6 addresses with the same low bits */
	ck_assert_uint_eq(find(t, "::10.1.2.7", NULL), 0);
	ck_assert_uint_eq(prefix_table_count(t), 6);
	uint8_t a[16] = { 0 };
	ck_assert_int_eq(prefix_table_add(t, a, 8, 1), -1); /* built */
	prefix_table_free(t);
}
END_TEST

static int prefer_big(uint32_t a, uint32_t b, void *ctx)
{
	(void)ctx;
	return a > b;
}

START_TEST(duplicates)
{
	prefix_table *t = prefix_table_new();
	add(t, "13.69.40.16/28", 7);
	add(t, "13.69.40.16/28", 3);
	add(t, "13.69.40.16/28", 5);
	prefix_table_build(t, NULL, NULL);
	ck_assert_uint_eq(find(t, "13.69.40.20", NULL), 3);
	prefix_table_free(t);
	t = prefix_table_new();
	add(t, "13.69.40.16/28", 5);
	add(t, "13.69.40.16/28", 7);
	add(t, "13.69.40.16/28", 3);
	prefix_table_build(t, prefer_big, NULL);
	ck_assert_uint_eq(find(t, "13.69.40.20", NULL), 7);
	ck_assert_uint_eq(prefix_table_count(t), 1);
	uint8_t a[16] = { 0 };
	prefix_table_free(t);
	t = prefix_table_new();
	ck_assert_int_eq(prefix_table_add(t, a, 129, 1), -1);
	prefix_table_build(t, NULL, NULL);
	ck_assert_int_eq(prefix_table_lookup(t, a, &(uint32_t){ 0 }, NULL), 0); /* empty */
	prefix_table_free(t);
}
END_TEST

typedef struct ref { uint8_t a[16]; unsigned len; uint32_t v; } ref;

static int in_prefix(const uint8_t *a, const ref *r)
{
	unsigned full = r->len / 8, rest = r->len % 8;
	if (memcmp(a, r->a, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ r->a[full]) & (0xff00 >> rest) & 0xff) == 0;
}

START_TEST(random_against_scan)
{
	srand(12345);
	enum { N = 3000, Q = 20000 };
	ref *r = malloc(N * sizeof *r);
	prefix_table *t = prefix_table_new();
	for (int i = 0; i < N; i++) {
		memset(r[i].a, 0, 16);
		int v4 = rand() % 2;
		if (v4) {
			r[i].a[10] = r[i].a[11] = 0xff;
			/* a small space so that prefixes nest and repeat */
			r[i].a[12] = (uint8_t)(10 + rand() % 3);
			r[i].a[13] = (uint8_t)(rand() % 4);
			r[i].a[14] = (uint8_t)(rand() % 256);
			r[i].len = 96 + 8 + (unsigned)(rand() % 25);
		} else {
			r[i].a[0] = 0x26;
			r[i].a[1] = 0x03;
			r[i].a[2] = (uint8_t)(rand() % 4);
			r[i].a[3] = (uint8_t)(rand() % 256);
			r[i].len = 16 + (unsigned)(rand() % 40);
		}
		r[i].v = (uint32_t)(1 + rand() % 100);
		/* the reference holds network addresses: clear host bits */
		for (unsigned b = r[i].len; b < 128; b++)
			r[i].a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		ck_assert_int_eq(prefix_table_add(t, r[i].a, r[i].len, r[i].v), 0);
	}
	prefix_table_build(t, NULL, NULL);
	for (int q = 0; q < Q; q++) {
		uint8_t a[16];
		memcpy(a, r[rand() % N].a, 16);
		for (int k = 12; k < 16; k++)
			if (rand() % 3 == 0)
				a[k] ^= (uint8_t)rand();
		if (rand() % 4 == 0)
			a[3] ^= (uint8_t)rand();
		unsigned best = 0;
		uint32_t want = 0;
		int found = 0;
		for (int i = 0; i < N; i++) {
			if (!in_prefix(a, &r[i]))
				continue;
			if (!found || r[i].len > best || (r[i].len == best && r[i].v < want)) {
				best = r[i].len;
				want = r[i].v;
				found = 1;
			}
		}
		uint32_t got = 0;
		unsigned glen = 0;
		int gf = prefix_table_lookup(t, a, &got, &glen);
		ck_assert_int_eq(gf, found);
		if (found) {
			ck_assert_uint_eq(got, want);
			ck_assert_uint_eq(glen, best);
		}
	}
	prefix_table_free(t);
	free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prefixes");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parse_table);
	tcase_add_test(tc, nested_longest_wins);
	tcase_add_test(tc, duplicates);
	tcase_add_test(tc, random_against_scan);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
