/* Unit tests: connection counting and the fold of observers into edges
 * (B/C/E/D arithmetic, port reuse, E without B, both ends with clock skew,
 * NSG plus VNet logging, overlapping address spaces, mergeability), and the
 * applications built on top of them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "edgeagg.h"
#include "flowagg.h"
#include "ip.h"
#include "suite.h"

static flt_rec tup(const char *src, const char *dst, uint16_t sport, uint16_t dport, char dir,
                   char state, int64_t t, uint64_t bytes)
{
	flt_rec r;
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(ip_parse(src, strlen(src), r.src), 0);
	ck_assert_int_eq(ip_parse(dst, strlen(dst), r.dst), 0);
	r.sport = sport, r.dport = dport, r.proto = 6, r.dir = (uint8_t)dir;
	r.state = (uint8_t)state, r.action = state == 'D' ? 'D' : 'A';
	r.kind = FLT_KIND_VNET, r.version = 4, r.time_ms = t;
	if (state == 'C' || state == 'E') {
		r.flags = FLT_F_COUNTERS;
		r.pkts_sd = bytes / 100, r.bytes_sd = bytes, r.pkts_ds = bytes / 50, r.bytes_ds = 2 * bytes;
	}
	return r;
}

/* A tiny pipeline: tuples -> level 1 -> fold into one edge per 5-tuple group. */
typedef struct obs_tuple {
	flt_rec r;
	const char *observer;
} obs_tuple;

static int fold_into(void *edge, const uint8_t *const *keys, const fa_conn *const *lanes, size_t n)
{
	for (size_t i = 1; i < n; i++)
		ck_assert(fa_same_5tuple(keys[0], keys[i]));
	fa_edge_fold(edge, keys, lanes, n);
	return 0;
}

static fa_edge run(const obs_tuple *t, size_t n)
{
	static const agg_ops ops = { FA_CONN_KEY, sizeof(fa_conn), fa_conn_init, fa_conn_merge };
	agg *a = agg_new(&ops, 0, NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t key[FA_CONN_KEY];
		fa_conn_key(&t[i].r, fa_observer_id(t[i].observer, strlen(t[i].observer)), key);
		fa_conn_add(agg_upsert(a, key), &t[i].r);
	}
	fa_edge e;
	fa_edge_init(&e);
	ck_assert_int_eq(fa_walk(a, 0, fold_into, &e), 0);
	agg_free(a);
	return e;
}

#define A "10.0.0.4"
#define B "10.0.1.5"

START_TEST(bce_volume_is_the_sum_of_deltas)
{
	/* the documented bandwidth example: B, then C and E deltas */
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'C', 301000, 1000), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'C', 601000, 500), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'E', 700000, 25), "M1" },
	};
	fa_edge e = run(t, 4);
	ck_assert_uint_eq(e.flows, 1);
	ck_assert_uint_eq(e.bytes_sd, 1525);
	ck_assert_uint_eq(e.bytes_ds, 3050);
	ck_assert_uint_eq(e.pkts_sd, 10 + 5 + 0);
	ck_assert_int_eq(e.first, 1000);
	ck_assert_int_eq(e.last, 700000);
	ck_assert_uint_eq(e.unmeasured, 0);
	ck_assert_uint_eq(fa_edge_observers(&e), 1);
}
END_TEST

START_TEST(order_is_not_assumed)
{
	/* the same tuples in reverse, with B after C as in Microsoft's example */
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'E', 700000, 25), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'C', 601000, 500), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'C', 301000, 1000), "M1" },
	};
	fa_edge e = run(t, 4);
	ck_assert_uint_eq(e.flows, 1);
	ck_assert_uint_eq(e.bytes_sd, 1525);
}
END_TEST

START_TEST(port_reuse_is_two_connections)
{
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'E', 1000, 10), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'B', 5000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'E', 9000, 20), "M1" },
	};
	fa_edge e = run(t, 4);
	ck_assert_uint_eq(e.flows, 2);
	ck_assert_uint_eq(e.bytes_sd, 30);
}
END_TEST

START_TEST(e_without_b_began_before_the_window)
{
	obs_tuple t[] = {
		{ tup(A, B, 40001, 443, 'O', 'E', 2000, 7), "M1" },               /* alone */
		{ tup(A, B, 40002, 443, 'O', 'C', 1000, 7), "M1" },               /* C then reuse */
		{ tup(A, B, 40002, 443, 'O', 'E', 2000, 7), "M1" },
		{ tup(A, B, 40002, 443, 'O', 'B', 3000, 0), "M1" },
		{ tup(A, B, 40002, 443, 'O', 'E', 4000, 7), "M1" },
	};
	fa_edge e = run(t, 5);
	ck_assert_uint_eq(e.flows, 1 + 2);
	ck_assert_uint_eq(e.bytes_sd, 28);
}
END_TEST

START_TEST(denied_attempts_and_retries)
{
	obs_tuple t[] = {
		{ tup("203.0.113.9", B, 59352, 9999, 'I', 'D', 1000, 0), "M2" },
		{ tup("203.0.113.9", B, 59352, 9999, 'I', 'D', 2000, 0), "M2" },
		{ tup("203.0.113.9", B, 59352, 9999, 'I', 'D', 4000, 0), "M2" },
		{ tup("203.0.113.9", B, 59353, 9999, 'I', 'D', 4100, 0), "M2" },
	};
	fa_edge e = run(t, 4);
	ck_assert_uint_eq(e.flows, 0);
	ck_assert_uint_eq(e.denied, 4);
	ck_assert_uint_eq(e.bytes_sd, 0);
}
END_TEST

START_TEST(both_ends_count_once_despite_skew)
{
	/* O at the sender, I at the receiver 1.7 s later; the receiver's B falls
	 * before the window start and was cut: the connection still counts once */
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'B', 10000, 0), "SENDER" },
		{ tup(A, B, 40000, 443, 'O', 'E', 20000, 100), "SENDER" },
		{ tup(A, B, 40000, 443, 'I', 'E', 21700, 100), "RECEIVER" },
		{ tup(A, B, 40001, 443, 'O', 'B', 30000, 0), "SENDER" },
		{ tup(A, B, 40001, 443, 'O', 'E', 30010, 50), "SENDER" },
		{ tup(A, B, 40001, 443, 'I', 'B', 31700, 0), "RECEIVER" },
		{ tup(A, B, 40001, 443, 'I', 'E', 31710, 50), "RECEIVER" },
	};
	fa_edge e = run(t, 7);
	ck_assert_uint_eq(e.flows, 2);
	ck_assert_uint_eq(e.bytes_sd, 150);
	ck_assert_uint_eq(fa_edge_observers(&e), 2);
	ck_assert_int_eq(e.first, 10000);
	ck_assert_int_eq(e.last, 31710);
}
END_TEST

START_TEST(one_end_cut_the_other_complete)
{
	/* the receiver's last C is beyond the window: the sender's view wins */
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "SENDER" },
		{ tup(A, B, 40000, 443, 'O', 'C', 2000, 100), "SENDER" },
		{ tup(A, B, 40000, 443, 'O', 'E', 3000, 40), "SENDER" },
		{ tup(A, B, 40000, 443, 'I', 'B', 1500, 0), "RECEIVER" },
		{ tup(A, B, 40000, 443, 'I', 'C', 2500, 100), "RECEIVER" },
	};
	fa_edge e = run(t, 5);
	ck_assert_uint_eq(e.flows, 1);
	ck_assert_uint_eq(e.bytes_sd, 140);
}
END_TEST

START_TEST(nsg_and_vnet_logging_of_one_nic)
{
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'E', 2000, 64), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'E', 2000, 64), "M1" },
	};
	t[2].r.kind = t[3].r.kind = FLT_KIND_NSG2;
	fa_edge e = run(t, 4);
	ck_assert_uint_eq(e.flows, 1);
	ck_assert_uint_eq(e.bytes_sd, 64);
	ck_assert_uint_eq(fa_edge_observers(&e), 1);
}
END_TEST

START_TEST(overlapping_addresses_are_different_machines)
{
	/* two VMs, both 10.0.0.4 in different VNets, same 5-tuple by chance */
	obs_tuple t[] = {
		{ tup(A, "168.63.129.16", 50000, 53, 'O', 'B', 1000, 0), "VM-IN-VNET-1" },
		{ tup(A, "168.63.129.16", 50000, 53, 'O', 'E', 1200, 60), "VM-IN-VNET-1" },
		{ tup(A, "168.63.129.16", 50000, 53, 'O', 'B', 9000, 0), "VM-IN-VNET-2" },
		{ tup(A, "168.63.129.16", 50000, 53, 'O', 'E', 9100, 60), "VM-IN-VNET-2" },
	};
	fa_edge e = run(t, 4);
	ck_assert_uint_eq(e.flows, 2);
	ck_assert_uint_eq(e.bytes_sd, 120);
	ck_assert_uint_eq(fa_edge_observers(&e), 2);
}
END_TEST

START_TEST(unmeasured_connections)
{
	/* NSG v2: B with empty counters and an E with empty counters */
	obs_tuple t[] = {
		{ tup(A, B, 40000, 443, 'O', 'B', 1000, 0), "M1" },
		{ tup(A, B, 40000, 443, 'O', 'E', 2000, 0), "M1" },
		{ tup(A, B, 40001, 443, 'O', 'B', 3000, 0), "M1" },
	};
	t[1].r.flags = 0;
	fa_edge e = run(t, 3);
	ck_assert_uint_eq(e.flows, 2);
	ck_assert_uint_eq(e.unmeasured, 2);
}
END_TEST

START_TEST(summaries_merge_exactly)
{
	/* any split of the tuples, summarised apart and merged, equals one pass */
	flt_rec rs[] = {
		tup(A, B, 1, 443, 'O', 'C', 500, 3), tup(A, B, 1, 443, 'O', 'B', 1000, 0),
		tup(A, B, 1, 443, 'O', 'E', 1100, 9), tup(A, B, 1, 443, 'O', 'B', 2000, 0),
		tup(A, B, 1, 443, 'O', 'D', 2500, 0), tup(A, B, 1, 443, 'O', 'E', 3000, 4),
	};
	size_t n = sizeof rs / sizeof rs[0];
	fa_conn whole;
	fa_conn_init(&whole);
	for (size_t i = 0; i < n; i++)
		fa_conn_add(&whole, &rs[i]);
	for (unsigned mask = 0; mask < (1u << n); mask++) {
		fa_conn a, b;
		fa_conn_init(&a);
		fa_conn_init(&b);
		for (size_t i = 0; i < n; i++)
			fa_conn_add(mask & (1u << i) ? &a : &b, &rs[i]);
		fa_conn_merge(&a, &b);
		ck_assert_mem_eq(&a, &whole, sizeof a);
	}
	ck_assert_uint_eq(fa_conn_count(&whole), 3);
}
END_TEST

/* The sweep's contract: in key order the 5-tuples of one edge come
 * together, observers of one 5-tuple within them, whatever the input order. */
typedef struct walk_log {
	uint8_t first[64][FA_CONN_KEY];
	size_t lanes[64], n;
	int stop_at;
} walk_log;

static int log_group(void *ctx, const uint8_t *const *keys, const fa_conn *const *lanes, size_t n)
{
	walk_log *w = ctx;
	(void)lanes;
	ck_assert_uint_lt(w->n, 64);
	memcpy(w->first[w->n], keys[0], FA_CONN_KEY);
	w->lanes[w->n++] = n;
	return w->stop_at && (int)w->n == w->stop_at ? 7 : 0;
}

START_TEST(walk_groups_connections_and_edges)
{
	static const agg_ops ops = { FA_CONN_KEY, sizeof(fa_conn), fa_conn_init, fa_conn_merge };
	/* 3 edges x 4 source ports, each logged at both ends, inserted scattered */
	const char *dst[3] = { "10.0.1.5", "10.0.1.6", "10.0.1.7" };
	agg *a = agg_new(&ops, 0, NULL);
	for (int i = 0; i < 24; i++) {
		int k = (i * 7) % 24, e = k % 3, port = k % 4, end = k / 12; /* every (e, port, end) once */
		flt_rec r = tup(A, dst[e], (uint16_t)(40000 + port), 443, end ? 'I' : 'O', 'B', i, 0);
		uint8_t key[FA_CONN_KEY];
		fa_conn_key(&r, fa_observer_id(end ? "M2" : "M1", 2), key);
		fa_conn_add(agg_upsert(a, key), &r);
	}
	walk_log w = { .n = 0 };
	ck_assert_int_eq(fa_walk(a, 0, log_group, &w), 0);
	ck_assert_uint_eq(w.n, 12); /* one group per 5-tuple */
	int edge_changes = 0;
	for (size_t i = 0; i < w.n; i++) {
		ck_assert_uint_eq(w.lanes[i], 2); /* both ends of it */
		if (i && !fa_same_edge(w.first[i - 1], w.first[i]))
			edge_changes++;
		ck_assert(i == 0 || !fa_same_5tuple(w.first[i - 1], w.first[i]));
	}
	ck_assert_int_eq(edge_changes, 2); /* each edge's 5-tuples are adjacent */
	agg_free(a);

	/* fn's non-zero return stops the walk and is returned */
	a = agg_new(&ops, 0, NULL);
	for (int p = 0; p < 5; p++) {
		flt_rec r = tup(A, B, (uint16_t)(50000 + p), 22, 'O', 'B', p, 0);
		uint8_t key[FA_CONN_KEY];
		fa_conn_key(&r, fa_observer_id("M1", 2), key);
		fa_conn_add(agg_upsert(a, key), &r);
	}
	walk_log stop = { .n = 0, .stop_at = 2 };
	ck_assert_int_eq(fa_walk(a, 0, log_group, &stop), 7);
	ck_assert_uint_eq(stop.n, 2);
	agg_free(a);
}
END_TEST

START_TEST(key_equality_sees_every_byte)
{
	uint8_t a[FA_CONN_KEY], b[FA_CONN_KEY];
	flt_rec r = tup(A, B, 40000, 443, 'O', 'B', 0, 0);
	fa_conn_key(&r, fa_observer_id("M1", 2), a);
	memcpy(b, a, sizeof b);
	ck_assert(fa_key_eq(a, b));
	for (int i = 0; i < FA_CONN_KEY; i++) {
		b[i] ^= 0x10;
		ck_assert_msg(!fa_key_eq(a, b), "byte %d", i);
		b[i] ^= 0x10;
	}
}
END_TEST

START_TEST(port_lists_are_strict)
{
	apps_opts o;
	ck_assert_int_eq(apps_parse_ports("53,88,123", &o), 0);
	ck_assert_uint_eq(o.nshared, 3);
	ck_assert_uint_eq(o.shared[2], 123);
	ck_assert_int_eq(apps_parse_ports("", &o), 0); /* none */
	ck_assert_uint_eq(o.nshared, 0);
	const char *bad[] = { "22,", ",22", "22,,23", " 22", "+22", "-1", "65536", "22;23", "x" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(apps_parse_ports(bad[i], &o) == -1, "'%s' accepted", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flowagg");
	TCase *tc = tcase_create("counting");
	tcase_add_test(tc, bce_volume_is_the_sum_of_deltas);
	tcase_add_test(tc, order_is_not_assumed);
	tcase_add_test(tc, port_reuse_is_two_connections);
	tcase_add_test(tc, e_without_b_began_before_the_window);
	tcase_add_test(tc, denied_attempts_and_retries);
	tcase_add_test(tc, both_ends_count_once_despite_skew);
	tcase_add_test(tc, one_end_cut_the_other_complete);
	tcase_add_test(tc, nsg_and_vnet_logging_of_one_nic);
	tcase_add_test(tc, overlapping_addresses_are_different_machines);
	tcase_add_test(tc, unmeasured_connections);
	tcase_add_test(tc, summaries_merge_exactly);
	tcase_add_test(tc, walk_groups_connections_and_edges);
	tcase_add_test(tc, key_equality_sees_every_byte);
	tcase_add_test(tc, port_lists_are_strict);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
