/* Unit tests: time and duration parsing/formatting, output file rules. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "textfmt.h"
#include "suite.h"

static int64_t t(const char *s)
{
	int64_t ms = 0;
	ck_assert_msg(fl_parse_time(s, &ms) == 0, "cannot parse %s", s);
	return ms;
}

START_TEST(time_forms)
{
	ck_assert_int_eq(t("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(t("2022-09-14T09:00:03.599Z"), 1663146003599LL);
	ck_assert_int_eq(t("2022-09-14T09:00:03.5992345Z"), 1663146003599LL); /* 7 digits: Azure */
	ck_assert_int_eq(t("2022-09-14T11:00:03.599+02:00"), 1663146003599LL);
	ck_assert_int_eq(t("2022-09-14"), 1663113600000LL);
	ck_assert_int_eq(t("1663146003599"), 1663146003599LL); /* ms by magnitude */
	ck_assert_int_eq(t("1663146003"), 1663146003000LL);    /* seconds */
	ck_assert_int_eq(t("2000-02-29T23:59:59Z"), 951868799000LL);
	int64_t ms;
	ck_assert_int_eq(fl_parse_time("", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2022-13-01", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2022-09-14T25:00Z", &ms), -1);
	ck_assert_int_eq(fl_parse_time("yesterday", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2022-09-14T09:00:03.Z", &ms), -1);
	ck_assert_int_eq(fl_parse_time("12345678901234567890", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2026-02-30", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2026-02-29", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2024-02-29", &ms), 0);
	ck_assert_int_eq(fl_parse_time("2026-04-31T00:00:00Z", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2026-11-02T23:59:60Z", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2026-11-02T10:00:00+25:00", &ms), -1);
	ck_assert_int_eq(fl_parse_time("2026-11-02T10:00:00+01:99", &ms), -1);
}
END_TEST

START_TEST(time_format_round_trip)
{
	char buf[32];
	fl_format_time(1663146003599LL, buf);
	ck_assert_str_eq(buf, "2022-09-14T09:00:03.599Z");
	fl_format_time(0, buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	fl_format_time(-1, buf);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
	for (int64_t ms = -86400000LL * 800; ms < 86400000LL * 40000; ms += 86400000LL * 7 + 3601237) {
		fl_format_time(ms, buf);
		ck_assert_int_eq(t(buf), ms);
	}
}
END_TEST

START_TEST(time_format_years_0_to_9999_and_beyond)
{
	/* the hand-made path (years 0-9999) and the snprintf path meet here */
	char buf[40];
	int64_t day = 86400000LL;
	fl_format_time(fl_days_from_civil(9999, 12, 31) * day + day - 1, buf);
	ck_assert_str_eq(buf, "9999-12-31T23:59:59.999Z");
	fl_format_time(fl_days_from_civil(10000, 1, 1) * day, buf);
	ck_assert_str_eq(buf, "10000-01-01T00:00:00.000Z");
	fl_format_time(fl_days_from_civil(0, 1, 1) * day + 3723004, buf);
	ck_assert_str_eq(buf, "0000-01-01T01:02:03.004Z");
	fl_format_time(fl_days_from_civil(0, 1, 1) * day - 1, buf);
	ck_assert_str_eq(buf, "-001-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(decimal_numbers)
{
	char buf[24];
	*fl_put_u64(buf, 0) = 0;
	ck_assert_str_eq(buf, "0");
	*fl_put_u64(buf, 1234567890) = 0;
	ck_assert_str_eq(buf, "1234567890");
	*fl_put_u64(buf, UINT64_MAX) = 0;
	ck_assert_str_eq(buf, "18446744073709551615");
}
END_TEST

START_TEST(protocol_names_and_numbers)
{
	char buf[8];
	ck_assert_int_eq(fl_proto_parse("tcp"), 6);
	ck_assert_int_eq(fl_proto_parse("UDP"), 17);
	ck_assert_int_eq(fl_proto_parse("ipv6-icmp"), 58);
	ck_assert_int_eq(fl_proto_parse("0"), 0);
	ck_assert_int_eq(fl_proto_parse("255"), 255);
	ck_assert_int_eq(fl_proto_parse("256"), -1);
	ck_assert_int_eq(fl_proto_parse(""), -1);
	ck_assert_int_eq(fl_proto_parse("tc"), -1); /* a cut name is not a number */
	ck_assert_int_eq(fl_proto_parse("-6"), -1);
	for (unsigned p = 0; p < 256; p++)
		ck_assert_int_eq(fl_proto_parse(fl_proto_name(p, buf)), (int)p);
}
END_TEST

START_TEST(arrays_indexed_by_input_ids_grow_zeroed)
{
	uint32_t *a = NULL;
	size_t cap = 0;
	a = fl_grow_zeroed(a, &cap, 0, sizeof *a);
	ck_assert_uint_eq(cap, 256);
	a[255] = 7;
	a = fl_grow_zeroed(a, &cap, 255, sizeof *a); /* already there: unchanged */
	ck_assert_uint_eq(cap, 256);
	a = fl_grow_zeroed(a, &cap, 1000, sizeof *a);
	ck_assert_uint_eq(cap, 1024);
	ck_assert_uint_eq(a[255], 7);
	for (size_t i = 256; i < cap; i++)
		ck_assert_uint_eq(a[i], 0);
	free(a);
}
END_TEST

START_TEST(inputs_default_to_standard_input)
{
	char *argv[] = { "fl-x", "-s", "a.flt", "b.flt" };
	int n;
	char **in = fl_inputs(4, argv, 2, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(in[1], "b.flt");
	if (isatty(STDIN_FILENO))
		return; /* that case ends the process: a usage error */
	in = fl_inputs(4, argv, 4, &n);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(in[0], "-");
}
END_TEST

START_TEST(durations)
{
	int64_t ms;
	ck_assert_int_eq(fl_parse_duration("7d", &ms), 0);
	ck_assert_int_eq(ms, 7 * 86400000LL);
	ck_assert_int_eq(fl_parse_duration("1d12h30m", &ms), 0);
	ck_assert_int_eq(ms, 86400000LL + 12 * 3600000LL + 30 * 60000LL);
	ck_assert_int_eq(fl_parse_duration("500ms", &ms), 0);
	ck_assert_int_eq(ms, 500);
	ck_assert_int_eq(fl_parse_duration("2w", &ms), 0);
	ck_assert_int_eq(ms, 14 * 86400000LL);
	ck_assert_int_eq(fl_parse_duration("7", &ms), -1);
	ck_assert_int_eq(fl_parse_duration("d", &ms), -1);
	ck_assert_int_eq(fl_parse_duration("3y", &ms), -1);
	ck_assert_int_eq(fl_parse_duration("999999999999w", &ms), -1); /* overflows int64 ms */
	ck_assert_int_eq(fl_parse_duration("999999999999d999999999999d", &ms), -1);
}
END_TEST

START_TEST(sizes)
{
	uint64_t b;
	ck_assert_int_eq(fl_parse_size("64K", &b), 0);
	ck_assert_uint_eq(b, 65536);
	ck_assert_int_eq(fl_parse_size("2G", &b), 0);
	ck_assert_uint_eq(b, 2ULL << 30);
	ck_assert_int_eq(fl_parse_size("500MB", &b), 0);
	ck_assert_uint_eq(b, 500ULL << 20);
	ck_assert_int_eq(fl_parse_size("1T", &b), 0);
	ck_assert_int_eq(fl_parse_size("2T", &b), -1);
	ck_assert_int_eq(fl_parse_size("0", &b), -1);
	ck_assert_int_eq(fl_parse_size("-5M", &b), -1);
	ck_assert_int_eq(fl_parse_size("5X", &b), -1);
	ck_assert_int_eq(fl_parse_size("", &b), -1);
}
END_TEST

START_TEST(output_atomic)
{
	char dir[] = "/tmp/fl-cli-XXXXXX", path[64], tmpname[80];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/out.flt", dir);
	fl_output o;
	fl_output_open(&o, path, 0, 1);
	snprintf(tmpname, sizeof tmpname, "%s", o.tmp);
	fputs("data", o.fp);
	/* nothing under the final name until commit */
	ck_assert_int_ne(access(path, F_OK), 0);
	fl_output_commit(&o);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_ne(access(tmpname, F_OK), 0);
	/* abort leaves no temporary behind */
	fl_output_open(&o, path, 1, 1);
	snprintf(tmpname, sizeof tmpname, "%s", o.tmp);
	fl_output_abort(&o);
	ck_assert_int_ne(access(tmpname, F_OK), 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	tcase_add_test(tc, time_forms);
	tcase_add_test(tc, time_format_round_trip);
	tcase_add_test(tc, time_format_years_0_to_9999_and_beyond);
	tcase_add_test(tc, decimal_numbers);
	tcase_add_test(tc, protocol_names_and_numbers);
	tcase_add_test(tc, arrays_indexed_by_input_ids_grow_zeroed);
	tcase_add_test(tc, inputs_default_to_standard_input);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, output_atomic);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
