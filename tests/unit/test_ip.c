/*
 * test_ip.c - address parsing, canonical formatting (RFC 5952) and
 * classification tables.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "suite.h"

static const char *roundtrip(const char *in, char *buf)
{
	uint8_t a[16];
	if (ip_parse(in, strlen(in), a))
		return NULL;
	ip_format(a, buf);
	return buf;
}

START_TEST(parse_format_table)
{
	static const char *const t[][2] = {
		{"10.0.0.4", "10.0.0.4"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"::FFFF:1.2.3.4", "1.2.3.4"},
		{"0:0:0:0:0:ffff:102:304", "1.2.3.4"},
		{"[::ffff:10.1.2.3]", "10.1.2.3"},
		{"::", "::"},
		{"::1", "::1"},
		{"1::", "1::"},
		{"2001:DB8::1", "2001:db8::1"},
		{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		/* RFC 5952 4.2.2: a single zero group is not compressed */
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		/* 4.2.3: the longest run; the first on a tie */
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		/* 4.3: lower case; 4.1: no leading zeros */
		{"2001:DB8:00AB:000C::", "2001:db8:ab:c::"},
		{"fe80::1:2", "fe80::1:2"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
		{"::1.2.3.4", "::102:304"},
		{"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
	};
	char buf[IP_STRLEN];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *got = roundtrip(t[i][0], buf);
		ck_assert_msg(got != NULL, "rejected %s", t[i][0]);
		ck_assert_str_eq(got, t[i][1]);
	}
}
END_TEST

START_TEST(parse_rejects)
{
	static const char *const bad[] = {
		"", "xxx.xxx.xxx.xxx", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "+1.2.3.4",
		"01.2.3.4", "1.2.3.04", "1..2.3", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4,", "-1.2.3.4",
		"1.2.3.", ".1.2.3", "1.2.3.4a", "1234.1.1.1",
		":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
		":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "fe80::1%eth0", "[::1", "::1]", "[]", "g::1",
		"1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::ffff:256.1.1.1", "1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8",
	};
	uint8_t a[16];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(ip_parse(bad[i], strlen(bad[i]), a) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(parse_no_nul_needed)
{
	uint8_t a[16], b[16];
	ck_assert_int_eq(ip_parse("10.0.0.45,rest", 8, a), 0);
	ck_assert_int_eq(ip_parse("10.0.0.4", 8, b), 0);
	ck_assert_mem_eq(a, b, 16);
	ck_assert_int_eq(ip_is_v4(a), 1);
	ck_assert_int_eq(ip_parse("::1", 3, a), 0);
	ck_assert_int_eq(ip_is_v4(a), 0);
}
END_TEST

START_TEST(classify_table)
{
	static const struct {
		const char *a;
		enum ip_class c;
	} t[] = {
		{"8.8.8.8", IP_CLASS_PUBLIC},
		{"10.1.2.3", IP_CLASS_PRIVATE},
		{"172.16.0.1", IP_CLASS_PRIVATE},
		{"172.31.255.255", IP_CLASS_PRIVATE},
		{"172.32.0.1", IP_CLASS_PUBLIC},
		{"192.168.1.1", IP_CLASS_PRIVATE},
		{"100.64.0.1", IP_CLASS_SHARED},
		{"100.127.255.255", IP_CLASS_SHARED},
		{"100.128.0.0", IP_CLASS_PUBLIC},
		{"127.0.0.1", IP_CLASS_LOOPBACK},
		{"169.254.1.1", IP_CLASS_LINKLOCAL},
		{"169.254.169.254", IP_CLASS_AZURE_PLATFORM},
		{"168.63.129.16", IP_CLASS_AZURE_PLATFORM},
		{"168.63.129.17", IP_CLASS_PUBLIC},
		{"224.0.0.1", IP_CLASS_MULTICAST},
		{"239.255.255.255", IP_CLASS_MULTICAST},
		{"192.0.2.1", IP_CLASS_DOCUMENTATION},
		{"198.51.100.7", IP_CLASS_DOCUMENTATION},
		{"203.0.113.105", IP_CLASS_DOCUMENTATION},
		{"0.0.0.0", IP_CLASS_UNSPECIFIED},
		{"0.1.2.3", IP_CLASS_UNSPECIFIED},
		{"255.255.255.255", IP_CLASS_UNSPECIFIED},
		{"240.0.0.1", IP_CLASS_UNSPECIFIED},
		{"::", IP_CLASS_UNSPECIFIED},
		{"::1", IP_CLASS_LOOPBACK},
		{"fe80::1", IP_CLASS_LINKLOCAL},
		{"febf::1", IP_CLASS_LINKLOCAL},
		{"fec0::1", IP_CLASS_PUBLIC},
		{"ff02::1", IP_CLASS_MULTICAST},
		{"fc00::1", IP_CLASS_PRIVATE},
		{"fd12:3456::1", IP_CLASS_PRIVATE},
		{"2001:db8::1", IP_CLASS_DOCUMENTATION},
		{"2001:db9::1", IP_CLASS_PUBLIC},
		{"2603:1030::1", IP_CLASS_PUBLIC},
		{"::2", IP_CLASS_PUBLIC},
	};
	uint8_t a[16];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		ck_assert_int_eq(ip_parse(t[i].a, strlen(t[i].a), a), 0);
		ck_assert_msg(ip_classify(a) == t[i].c, "%s: got %s want %s", t[i].a,
		              ip_class_name(ip_classify(a)), ip_class_name(t[i].c));
	}
}
END_TEST

START_TEST(class_names)
{
	ck_assert_str_eq(ip_class_name(IP_CLASS_PUBLIC), "public");
	ck_assert_str_eq(ip_class_name(IP_CLASS_PRIVATE), "private");
	ck_assert_str_eq(ip_class_name(IP_CLASS_AZURE_PLATFORM), "azure-platform");
	ck_assert_str_eq(ip_class_name(IP_CLASS_UNSPECIFIED), "unspecified");
	ck_assert_str_eq(ip_class_name(IP_CLASS_COUNT), "?");
	for (int c = 0; c < IP_CLASS_COUNT; c++)
		ck_assert(strlen(ip_class_name((enum ip_class)c)) > 0);
}
END_TEST

/* Every 16-byte value formats to text that parses back to the same bytes. */
START_TEST(format_parse_random)
{
	uint64_t x = 88172645463325252ULL;
	char buf[IP_STRLEN];
	for (int i = 0; i < 20000; i++) {
		uint8_t a[16], b[16];
		for (int k = 0; k < 16; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* zero groups are common so compression gets exercised */
			a[k] = (x & 3) ? 0 : (uint8_t)(x >> 8);
		}
		if (i % 5 == 0)
			memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		size_t n = ip_format(a, buf);
		ck_assert_uint_eq(n, strlen(buf));
		ck_assert_uint_lt(n, IP_STRLEN);
		ck_assert_msg(ip_parse(buf, n, b) == 0, "cannot reparse %s", buf);
		ck_assert_mem_eq(a, b, 16);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ip");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parse_format_table);
	tcase_add_test(tc, parse_rejects);
	tcase_add_test(tc, parse_no_nul_needed);
	tcase_add_test(tc, classify_table);
	tcase_add_test(tc, class_names);
	tcase_add_test(tc, format_parse_random);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
