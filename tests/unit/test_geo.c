/*
 * test_geo.c - the service-tag rule, service tags from a small file,
 * classification without databases, and the cache agreeing with no cache
 * even when every address collides.  Database lookups are covered by the
 * CLI tests, whose fixtures come from MaxMind's writer.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"
#include "ip.h"
#include "suite.h"

START_TEST(tag_rule)
{
	/* more specific first */
	static const char *const order[][2] = {
		{ "Storage.WestEurope", "Storage" },
		{ "Storage", "AzureCloud.westeurope" },
		{ "AzureCloud.westeurope", "AzureCloud" },
		{ "Storage.WestEurope", "AzureCloud" },
		{ "AzureFrontDoor.Backend", "AzureFrontDoor.Frontend" }, /* same rank: name order */
		{ "AzureCloudX", "AzureCloud.westeurope" }, /* only AzureCloud itself is the cloud */
	};
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		ck_assert_msg(geo_tag_more_specific(order[i][0], order[i][1]), "%s > %s",
		              order[i][0], order[i][1]);
		ck_assert_msg(!geo_tag_more_specific(order[i][1], order[i][0]), "%s < %s",
		              order[i][1], order[i][0]);
	}
	ck_assert(!geo_tag_more_specific("Storage", "Storage"));
}
END_TEST

static char tags_path[64];

static void write_tags(const char *json)
{
	strcpy(tags_path, "/tmp/test_geo.XXXXXX");
	int fd = mkstemp(tags_path);
	ck_assert_int_ge(fd, 0);
	FILE *fp = fdopen(fd, "w");
	fputs(json, fp);
	fclose(fp);
}

static const char tags_json[] =
	"{\"changeNumber\": 305, \"cloud\": \"Public\", \"values\": ["
	"{\"name\": \"AzureCloud\", \"id\": \"AzureCloud\", \"properties\": {\"addressPrefixes\":"
	" [\"13.64.0.0/11\", \"13.69.0.0/17\", \"2603:1000::/24\"]}},"
	"{\"name\": \"AzureCloud.westeurope\", \"properties\": {\"addressPrefixes\": [\"13.69.0.0/17\"]}},"
	"{\"name\": \"Storage.WestEurope\", \"properties\": {\"addressPrefixes\":"
	" [\"13.69.40.16/28\", \"2603:1020:207::/48\"]}},"
	"{\"name\": \"Storage\", \"properties\": {\"addressPrefixes\": [\"13.69.40.16/28\", \"2603:1020:207::/48\"]}},"
	"{\"name\": \"Empty\", \"properties\": {\"addressPrefixes\": []}}"
	"]}";

static const char *tag_of(geo *g, const char *s)
{
	uint8_t a[16];
	geo_result r;
	ck_assert_int_eq(ip_parse(s, strlen(s), a), 0);
	ck_assert_int_eq(geo_lookup(g, a, &r), 0);
	return geo_str(g, r.tag);
}

START_TEST(service_tags)
{
	write_tags(tags_json);
	geo *g = geo_new();
	char err[256];
	ck_assert_int_eq(geo_load_service_tags(g, tags_path, err, sizeof err), 0);
	unlink(tags_path);
	ck_assert_str_eq(tag_of(g, "13.69.40.20"), "Storage.WestEurope");
	ck_assert_str_eq(tag_of(g, "13.69.1.1"), "AzureCloud.westeurope");
	ck_assert_str_eq(tag_of(g, "13.70.1.1"), "AzureCloud");
	ck_assert_str_eq(tag_of(g, "2603:1020:207::9"), "Storage.WestEurope");
	ck_assert_str_eq(tag_of(g, "2603:1020:208::9"), "AzureCloud");
	ck_assert_str_eq(tag_of(g, "8.8.8.8"), "");
	ck_assert_str_eq(tag_of(g, "10.0.0.1"), ""); /* private: not looked up */
	ck_assert_uint_eq(geo_tags_prefixes(g), 5); /* distinct */
	ck_assert_ptr_nonnull(strstr(geo_tags_desc(g), "changeNumber 305 cloud Public test_geo."));
	ck_assert_ptr_nonnull(strstr(geo_tags_desc(g), ", 8 prefixes of 5 tags"));
	geo_free(g);
}
END_TEST

START_TEST(service_tags_rejected)
{
	static const char *const bad[] = {
		"{\"values\": [{\"name\": \"X\", \"properties\": {\"addressPrefixes\": [\"13.69.0.0/33\"]}}]}",
		"{\"values\": [{\"name\": \"X\", \"properties\": {\"addressPrefixes\": [7]}}]}",
		"{\"changeNumber\": 1}",
		"{\"values\": [",
		"[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_tags(bad[i]);
		geo *g = geo_new();
		char err[256] = "";
		ck_assert_msg(geo_load_service_tags(g, tags_path, err, sizeof err) == -1, "%s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, tags_path));
		ck_assert_ptr_null(geo_tags_desc(g));
		unlink(tags_path);
		geo_free(g);
	}
	geo *g = geo_new();
	char err[256];
	ck_assert_int_eq(geo_add_db(g, "/nonexistent/x.mmdb", err, sizeof err), -1);
	ck_assert_str_eq(err, "cannot open '/nonexistent/x.mmdb': No such file or directory");
	ck_assert_uint_eq(geo_db_count(g), 0);
	geo_free(g);
}
END_TEST

START_TEST(classes_without_data)
{
	geo *g = geo_new();
	static const struct { const char *a; int cls; } t[] = {
		{ "10.1.2.3", IP_CLASS_PRIVATE }, { "100.64.0.1", IP_CLASS_SHARED },
		{ "168.63.129.16", IP_CLASS_AZURE_PLATFORM }, { "169.254.169.254", IP_CLASS_AZURE_PLATFORM },
		{ "8.8.8.8", IP_CLASS_PUBLIC }, { "2603:1020::1", IP_CLASS_PUBLIC },
		{ "fe80::1", IP_CLASS_LINKLOCAL }, { "224.0.0.1", IP_CLASS_MULTICAST },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		uint8_t a[16];
		geo_result r;
		ip_parse(t[i].a, strlen(t[i].a), a);
		ck_assert_int_eq(geo_lookup(g, a, &r), 0);
		ck_assert_msg(r.cls == t[i].cls, "%s: %d", t[i].a, r.cls);
		ck_assert_uint_eq(r.country | r.city | r.asn | r.asorg | r.tag, 0);
	}
	geo_free(g);
}
END_TEST

/* Two sets only: every address collides, ways are swapped and evicted. */
START_TEST(cache_under_collisions)
{
	write_tags(tags_json);
	geo *c = geo_new(), *n = geo_new();
	char err[256];
	ck_assert_int_eq(geo_load_service_tags(c, tags_path, err, sizeof err), 0);
	ck_assert_int_eq(geo_load_service_tags(n, tags_path, err, sizeof err), 0);
	unlink(tags_path);
	geo_set_cache(c, 1);
	geo_set_cache(n, 0);
	srand(7);
	static const uint8_t bases[][4] = { { 13, 69, 40, 16 }, { 13, 69, 1, 0 }, { 13, 70, 0, 0 },
	                                    { 8, 8, 8, 0 }, { 10, 0, 0, 0 } };
	for (int i = 0; i < 20000; i++) {
		uint8_t a[16] = { 0 };
		a[10] = a[11] = 0xff;
		memcpy(a + 12, bases[rand() % 5], 4);
		a[15] = (uint8_t)(a[15] + rand() % 24);
		geo_result rc, rn;
		ck_assert_int_eq(geo_lookup(c, a, &rc), 0);
		ck_assert_int_eq(geo_lookup(n, a, &rn), 0);
		ck_assert_uint_eq(rc.cls, rn.cls);
		ck_assert_str_eq(geo_str(c, rc.tag), geo_str(n, rn.tag));
	}
	geo_stats sc, sn;
	geo_get_stats(c, &sc);
	geo_get_stats(n, &sn);
	ck_assert_uint_gt(sc.cache_hits, 0);
	ck_assert_uint_lt(sc.tag_lookups, sn.tag_lookups);
	ck_assert_uint_eq(sn.cache_hits, 0);
	geo_free(c);
	geo_free(n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("geo");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, tag_rule);
	tcase_add_test(tc, service_tags);
	tcase_add_test(tc, service_tags_rejected);
	tcase_add_test(tc, classes_without_data);
	tcase_add_test(tc, cache_under_collisions);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
