/* test_crc32c.c - CRC-32C against published vectors, both code paths. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "suite.h"

typedef uint32_t (*crcfn)(uint32_t, const void *, size_t);

static void check_vectors(crcfn f)
{
	unsigned char buf[64];
	ck_assert_uint_eq(f(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(f(0, "", 0), 0u);
	ck_assert_uint_eq(f(0, "a", 1), 0xC1D04330u);
	/* RFC 3720 (iSCSI) B.4 vectors. */
	memset(buf, 0, 32);
	ck_assert_uint_eq(f(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, 32);
	ck_assert_uint_eq(f(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	ck_assert_uint_eq(f(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	ck_assert_uint_eq(f(0, buf, 32), 0x113FDB5Cu);
	ck_assert_uint_eq(f(0, "The quick brown fox jumps over the lazy dog", 43), 0x22620404u);
}

START_TEST(sw_vectors) { check_vectors(fl_crc32c_sw); }
END_TEST

START_TEST(hw_vectors)
{
	if (!fl_crc32c_hw_available())
		return;
	check_vectors(fl_crc32c_hw);
}
END_TEST

START_TEST(dispatch_vectors) { check_vectors(fl_crc32c); }
END_TEST

/* Every length and alignment, and chaining, must agree between paths. */
START_TEST(paths_agree)
{
	enum { N = 4096 };
	unsigned char *buf = malloc(N + 8);
	uint32_t x = 12345;
	for (int i = 0; i < N + 8; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n <= 300; n++) {
			uint32_t a = fl_crc32c_sw(0, buf + off, n);
			ck_assert_uint_eq(fl_crc32c(0, buf + off, n), a);
			if (fl_crc32c_hw_available())
				ck_assert_uint_eq(fl_crc32c_hw(0, buf + off, n), a);
		}
	uint32_t whole = fl_crc32c_sw(0, buf, N);
	for (size_t cut = 0; cut <= N; cut += 97) {
		ck_assert_uint_eq(fl_crc32c_sw(fl_crc32c_sw(0, buf, cut), buf + cut, N - cut), whole);
		ck_assert_uint_eq(fl_crc32c(fl_crc32c(0, buf, cut), buf + cut, N - cut), whole);
	}
	free(buf);
}
END_TEST

/* Long buffers take the interleaved hardware path; lengths straddle its
 * stretch sizes (3 x 256 and 3 x 8192 bytes). */
START_TEST(long_buffers_agree)
{
	enum { N = 200000 };
	unsigned char *buf = malloc(N);
	uint32_t x = 777;
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	const size_t lens[] = { 767, 768, 769, 775, 776, 1536, 24575, 24576, 24577, 24583,
	                        49152 + 768 + 9, 100000, N };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		for (size_t off = 0; off < 3; off++) {
			size_t n = lens[i] - off;
			uint32_t a = fl_crc32c_sw(0, buf + off, n);
			ck_assert_uint_eq(fl_crc32c(0, buf + off, n), a);
			if (fl_crc32c_hw_available())
				ck_assert_uint_eq(fl_crc32c_hw(0, buf + off, n), a);
		}
	uint32_t whole = fl_crc32c_sw(0, buf, N);
	for (size_t cut = 0; cut <= N; cut += 9973)
		ck_assert_uint_eq(fl_crc32c(fl_crc32c(0, buf, cut), buf + cut, N - cut), whole);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, sw_vectors);
	tcase_add_test(tc, hw_vectors);
	tcase_add_test(tc, dispatch_vectors);
	tcase_add_test(tc, paths_agree);
	tcase_add_test(tc, long_buffers_agree);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
