/* test_anomaly.c - thresholds, selectors, policy errors, the beacon sample,
 * the median and the two-pass spool of fl-anomaly's library part. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anomaly.h"
#include "ip.h"
#include "spool.h"
#include "suite.h"

static void addr(const char *s, uint8_t a[16])
{
	ck_assert_int_eq(ip_parse(s, strlen(s), a), 0);
}

START_TEST(thresholds_set)
{
	double th[TH_COUNT];
	char err[256];
	for (int i = 0; i < TH_COUNT; i++)
		th[i] = an_thresholds[i].def;
	ck_assert_int_eq(an_set_threshold(th, "scan.min_ports=50", err, sizeof err), 0);
	ck_assert(th[TH_SCAN_PORTS] == 50);
	ck_assert_int_eq(an_set_threshold(th, "beaconing.max_cv=0.05", err, sizeof err), 0);
	ck_assert(th[TH_BEACON_CV] == 0.05);
	ck_assert_int_eq(an_set_threshold(th, "open-port.min_sources=7", err, sizeof err), 0);
	ck_assert(th[TH_OPEN_SOURCES] == 7);
	/* integers must be whole and positive, ratios within [0, 1] */
	ck_assert_int_eq(an_set_threshold(th, "scan.min_ports=2.5", err, sizeof err), -1);
	ck_assert_int_eq(an_set_threshold(th, "scan.min_ports=0", err, sizeof err), -1);
	ck_assert_int_eq(an_set_threshold(th, "scan.min_denied_ratio=1.5", err, sizeof err), -1);
	ck_assert_int_eq(an_set_threshold(th, "scan.min_ports=many", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected a positive integer"));
	ck_assert_int_eq(an_set_threshold(th, "scan.nope=1", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no such threshold"));
	ck_assert_int_eq(an_set_threshold(th, "min_ports=1", err, sizeof err), -1);
	ck_assert(th[TH_SCAN_PORTS] == 50); /* failures change nothing */
	/* every threshold is reachable by its own name */
	for (int i = 0; i < TH_COUNT; i++) {
		char a[96];
		snprintf(a, sizeof a, "%s.%s=1", an_kind_name(an_thresholds[i].kind), an_thresholds[i].name);
		ck_assert_int_eq(an_set_threshold(th, a, err, sizeof err), 0);
		ck_assert(th[i] == 1);
	}
}
END_TEST

START_TEST(selectors)
{
	an_sel s;
	uint8_t a[16];
	ck_assert_int_eq(an_sel_parse("10.1.0.0/24", &s), 0);
	addr("10.1.0.77", a);
	ck_assert(an_sel_match(&s, a, ""));
	addr("10.1.1.77", a);
	ck_assert(!an_sel_match(&s, a, ""));
	ck_assert_int_eq(an_sel_parse("10.1.0.128/25", &s), 0);
	addr("10.1.0.127", a);
	ck_assert(!an_sel_match(&s, a, ""));
	addr("10.1.0.200", a);
	ck_assert(an_sel_match(&s, a, ""));
	ck_assert_int_eq(an_sel_parse("10.1.0.4", &s), 0);
	addr("10.1.0.4", a);
	ck_assert(an_sel_match(&s, a, ""));
	addr("10.1.0.5", a);
	ck_assert(!an_sel_match(&s, a, ""));
	ck_assert_int_eq(an_sel_parse("fd00:1::/48", &s), 0);
	addr("fd00:1:0:1::4", a);
	ck_assert(an_sel_match(&s, a, ""));
	ck_assert_int_eq(an_sel_parse("0.0.0.0/0", &s), 0);
	addr("8.8.8.8", a);
	ck_assert(an_sel_match(&s, a, ""));
	addr("::1", a);
	ck_assert(!an_sel_match(&s, a, "")); /* an IPv4 /0 is every IPv4 address only */
	ck_assert_int_eq(an_sel_parse("10.0.0.0/33", &s), -1);
	ck_assert_int_eq(an_sel_parse("10.0.0.0/", &s), -1);
	ck_assert_int_eq(an_sel_parse("", &s), -1);
	ck_assert_int_eq(an_sel_parse("vm-db-01", &s), 0);
	ck_assert_int_eq(s.kind, AN_SEL_NAME);
	ck_assert(an_sel_match(&s, a, "vm-db-01"));
	ck_assert(!an_sel_match(&s, a, "vm-db-02"));
	ck_assert(!an_sel_match(&s, a, ""));
	free(s.name);
}
END_TEST

static const char *write_tmp(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/test_anomaly.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	return path;
}

/* The error of a policy text, "" when it loads. */
static const char *policy_error(const char *text)
{
	static char err[512];
	double th[TH_COUNT] = { 0 };
	an_policy p;
	const char *path = write_tmp(text);
	err[0] = 0;
	if (an_policy_load(path, &p, th, err, sizeof err) == 0)
		an_policy_free(&p);
	unlink(path);
	/* drop the temporary name */
	const char *c = strchr(err, ':');
	return c ? c + 2 : err;
}

START_TEST(policy_errors)
{
	ck_assert_str_eq(policy_error("{\"thresholds\": {\"scan\": {\"min_ports\": \"many\"}}}"),
	                 "thresholds.scan.min_ports: expected a positive integer, got \"many\"");
	ck_assert_str_eq(policy_error("{\"thresholds\": {\"scan\": {\"min_ports\": 0}}}"),
	                 "thresholds.scan.min_ports: expected a positive integer, got 0");
	ck_assert_str_eq(policy_error("{\"thresholds\": {\"scam\": {}}}"), "thresholds.scam: unknown detector");
	ck_assert_str_eq(policy_error("{\"thresholds\": {\"scan\": {\"max\": 1}}}"),
	                 "thresholds.scan.max: unknown threshold");
	ck_assert_str_eq(policy_error("{\"publicfacing\": []}"),
	                 "publicfacing: unknown key (public_facing, expected_countries, workload_countries, "
	                 "edges, cross_boundary, off, thresholds)");
	ck_assert_str_eq(policy_error("{\"public_facing\": [\"10.0.0.0/8\", 7]}"),
	                 "public_facing[1]: expected an address, a prefix (10.1.0.0/24) or a VM name, got 7");
	ck_assert_str_eq(policy_error("{\"workload_countries\": {\"10.2.0.0/24\": [\"DE\", \"XYZ\"]}}"),
	                 "workload_countries.10.2.0.0/24[1]: expected a two-letter upper-case country code, got \"XYZ\"");
	ck_assert_str_eq(policy_error("{\"edges\": [{\"src\": \"a\", \"dst\": \"b\", \"dport\": 70000}]}"),
	                 "edges[0].dport: expected a port number (0-65535), got 70000");
	ck_assert_str_eq(policy_error("{\"edges\": [{\"src\": \"a\"}]}"),
	                 "edges[0]: an edge needs \"src\" and \"dst\"");
	ck_assert_str_eq(policy_error("{\"edges\": [{\"src\": \"a\", \"dst\": \"b\", \"proto\": \"icmp\"}]}"),
	                 "edges[0].proto: expected \"tcp\", \"udp\" or a protocol number, got \"icmp\"");
	ck_assert_str_eq(policy_error("{\"cross_boundary\": [{\"src_sub\": \"x\", \"to\": \"y\"}]}"),
	                 "cross_boundary[0].to: unknown key (src_sub, dst_sub, src_tenant, dst_tenant)");
	ck_assert_str_eq(policy_error("{\"off\": [\"scan\", \"nope\"]}"), "off[1]: unknown detector, got \"nope\"");
	ck_assert_str_eq(policy_error("[]"), "(top level): expected an object");
	ck_assert_str_eq(policy_error("{\"thresholds\": {\"scan\": {\"min_ports\": 5}}}"), "");
}
END_TEST

START_TEST(policy_queries)
{
	double th[TH_COUNT] = { 0 };
	char err[256];
	an_policy p;
	uint8_t a[16], b[16];
	const char *path = write_tmp(
		"{\"public_facing\": [\"10.1.0.0/24\", \"vm-web\"],"
		" \"expected_countries\": [\"DE\"],"
		" \"workload_countries\": {\"vm-db\": [\"FR\", \"DE\"]},"
		" \"edges\": [{\"src\": \"10.6.0.10\", \"dst\": \"10.7.0.0/24\", \"dport\": 22, \"proto\": \"tcp\"}],"
		" \"cross_boundary\": [{\"src_sub\": \"S1\", \"dst_sub\": \"s2\"}],"
		" \"off\": [\"beaconing\"],"
		" \"thresholds\": {\"exfiltration\": {\"factor\": 4.5}}}");
	ck_assert_int_eq(an_policy_load(path, &p, th, err, sizeof err), 0);
	unlink(path);
	ck_assert(th[TH_EXFIL_FACTOR] == 4.5);
	ck_assert_uint_eq(p.off, 1u << AN_BEACONING);
	addr("10.1.0.9", a);
	ck_assert(an_policy_public(&p, a, ""));
	addr("10.2.0.9", a);
	ck_assert(!an_policy_public(&p, a, ""));
	ck_assert(an_policy_public(&p, a, "vm-web"));
	size_t n;
	char **c = an_policy_wcountries(&p, a, "vm-db", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(an_country_in(c, n, "FR"));
	ck_assert(!an_country_in(c, n, "US"));
	ck_assert_ptr_null(an_policy_wcountries(&p, a, "vm-other", &n));
	addr("10.6.0.10", a);
	addr("10.7.0.11", b);
	ck_assert(an_policy_edge(&p, a, "", b, "", 22, 6));
	ck_assert(!an_policy_edge(&p, a, "", b, "", 22, 17));
	ck_assert(!an_policy_edge(&p, a, "", b, "", 23, 6));
	ck_assert(!an_policy_edge(&p, b, "", a, "", 22, 6)); /* edges have a direction */
	/* subscription ids compare without case: the logs upper-case them */
	ck_assert(an_policy_path(&p, "s1", "S2", "", ""));
	ck_assert(!an_policy_path(&p, "s2", "s1", "", ""));
	an_policy_free(&p);
}
END_TEST

START_TEST(beacon_sample)
{
	an_beacon a, b, whole;
	an_beacon_init(&a);
	an_beacon_init(&b);
	an_beacon_init(&whole);
	/* 100 starts 300 s apart: the sample keeps the earliest, whatever the split */
	for (int i = 99; i >= 0; i--) {
		int64_t t = 1000000 + (int64_t)i * 300000;
		an_beacon_add(i % 3 ? &a : &b, t);
		an_beacon_add(&whole, t);
	}
	an_beacon_merge(&a, &b);
	ck_assert_uint_eq(a.total, 100);
	ck_assert_uint_eq(a.n, AN_BEACON_SAMPLE);
	ck_assert_int_eq(memcmp(&a, &whole, sizeof a), 0);
	ck_assert(a.t[0] == 1000000);
	double mean, cv = an_beacon_cv(&a, &mean);
	ck_assert(fabs(mean - 300000) < 1e-6);
	ck_assert(cv < 1e-9);
	/* the same start twice (NSG and VNet logs of one NIC) is one start */
	an_beacon c;
	an_beacon_init(&c);
	an_beacon_add(&c, 1000000);
	an_beacon_add(&c, 1000000);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.total, 2);
	an_beacon_init(&c);
	int64_t ts[] = { 0, 100000, 400000, 450000, 1000000 };
	for (size_t i = 0; i < 5; i++)
		an_beacon_add(&c, ts[i]);
	cv = an_beacon_cv(&c, &mean);
	ck_assert(fabs(mean - 250000) < 1e-6);
	/* intervals 100, 300, 50, 550 s: stddev 205.8 s over a mean of 250 s */
	ck_assert(fabs(cv - sqrt((150.0 * 150 + 50 * 50 + 200 * 200 + 300 * 300) / 4) / 250) < 1e-9);
	an_beacon_init(&c);
	an_beacon_add(&c, 5);
	an_beacon_add(&c, 9);
	ck_assert(an_beacon_cv(&c, &mean) < 0);
}
END_TEST

START_TEST(median)
{
	uint64_t v[] = { 9, 1, 5 }, w[] = { 4, 1, 3, 2 }, big[] = { UINT64_MAX, UINT64_MAX - 1 };
	ck_assert_uint_eq(an_median_u64(v, 3), 5);
	ck_assert_uint_eq(an_median_u64(w, 4), 2); /* (2 + 3) / 2, rounded down */
	ck_assert_uint_eq(an_median_u64(big, 2), UINT64_MAX - 1);
	ck_assert_uint_eq(an_median_u64(v, 0), 0);
}
END_TEST

/* A pipe is read twice through the spool; a regular file from its start. */
START_TEST(spool_pipe)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	const char text[] = "two passes over a pipe\n";
	ck_assert_int_eq(write(fds[1], text, sizeof text - 1), (int)sizeof text - 1);
	close(fds[1]);
	FILE *in = fdopen(fds[0], "rb");
	fl_spool sp;
	char buf[64] = { 0 };
	FILE *first = fl_spool_begin(&sp, in, "pipe");
	ck_assert_ptr_ne(first, in);
	ck_assert_uint_eq(fread(buf, 1, sizeof buf, first), sizeof text - 1);
	fl_spool_rewind(&sp);
	ck_assert_uint_eq(sp.spooled, sizeof text - 1);
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(fread(buf, 1, sizeof buf, sp.fp), sizeof text - 1);
	ck_assert_str_eq(buf, text);
	fl_spool_close(&sp);

	FILE *f = tmpfile();
	fputs("xx", f);
	fputs(text, f);
	fseek(f, 2, SEEK_SET);
	ck_assert_ptr_eq(fl_spool_begin(&sp, f, "file"), f);
	ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), sizeof text - 1);
	fl_spool_rewind(&sp);
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(fread(buf, 1, sizeof buf, sp.fp), sizeof text - 1);
	ck_assert_str_eq(buf, text);
	ck_assert_uint_eq(sp.spooled, 0);
	fl_spool_close(&sp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("anomaly");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, thresholds_set);
	tcase_add_test(tc, selectors);
	tcase_add_test(tc, policy_errors);
	tcase_add_test(tc, policy_queries);
	tcase_add_test(tc, beacon_sample);
	tcase_add_test(tc, median);
	tcase_add_test(tc, spool_pipe);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
