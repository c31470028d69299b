/* test_textin.c - whole-file reads and the encodings Windows tools save in. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "textin.h"
#include "suite.h"

static char path[64];

static void write_file(const void *data, size_t n)
{
	strcpy(path, "/tmp/fl-textin-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

START_TEST(utf8_bom_and_utf16_become_plain_utf8)
{
	char *owned;
	size_t n;
	const char plain[] = "{\"a\":\"\xc3\xa9\"}";
	const char *t = fl_text_utf8(plain, strlen(plain), &n, &owned);
	ck_assert_ptr_eq(t, plain);
	ck_assert_ptr_null(owned);
	const char bom[] = "\xef\xbb\xbf{\"a\":1}";
	t = fl_text_utf8(bom, strlen(bom), &n, &owned);
	ck_assert_uint_eq(n, 7);
	ck_assert_mem_eq(t, "{\"a\":1}", 7);
	ck_assert_ptr_null(owned);
	/* "é€😀" in UTF-16LE and UTF-16BE, each with its byte-order mark */
	const unsigned char le[] = { 0xFF, 0xFE, 0xE9, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE };
	const unsigned char be[] = { 0xFE, 0xFF, 0x00, 0xE9, 0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00 };
	const char want[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	t = fl_text_utf8((const char *)le, sizeof le, &n, &owned);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_mem_eq(t, want, n);
	free(owned);
	t = fl_text_utf8((const char *)be, sizeof be, &n, &owned);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_mem_eq(t, want, n);
	free(owned);
}
END_TEST

START_TEST(json_files_with_a_bom_load)
{
	json_error_t je;
	write_file("\xef\xbb\xbf {\"k\": [1, 2]}\r\n", 18);
	json_t *j = fl_json_load_path(path, 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "k")), 2);
	json_decref(j);
	unlink(path);
	write_file("{\"k\": [1, ", 10);
	ck_assert_ptr_null(fl_json_load_path(path, 0, &je));
	ck_assert_int_gt(je.line, 0); /* jansson's own message, with its line */
	unlink(path);
	ck_assert_ptr_null(fl_json_load_path(path, 0, &je));
	ck_assert_int_eq(je.line, -1);
	ck_assert_str_eq(je.text, strerror(ENOENT));
}
END_TEST

START_TEST(only_regular_files_are_read_whole)
{
	char *buf;
	size_t n;
	ck_assert_int_eq(fl_read_file("/dev/zero", &buf, &n), -1); /* would never end */
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(fl_read_file("/tmp", &buf, &n), -1);
	write_file("abc", 3);
	ck_assert_int_eq(fl_read_file(path, &buf, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(buf, "abc");
	free(buf);
	unlink(path);
	write_file("", 0);
	ck_assert_int_eq(fl_read_file(path, &buf, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(buf, "");
	free(buf);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("textin");
	TCase *tc = tcase_create("textin");
	tcase_add_test(tc, utf8_bom_and_utf16_become_plain_utf8);
	tcase_add_test(tc, json_files_with_a_bom_load);
	tcase_add_test(tc, only_regular_files_are_read_whole);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
