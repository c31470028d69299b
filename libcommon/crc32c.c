/*
 * crc32c.c - CRC-32C for FLT blocks: hardware (SSE4.2) or slicing-by-8.
 * Both paths compute the same function; tests/unit/test_crc32c.c checks
 * them against published vectors and against each other.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FL_CRC_X86 1
#include <nmmintrin.h>
#endif

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1)));
		table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

/* Little-endian 8-byte load; the byte order matters for slicing. */
static inline uint64_t load64le(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint32_t fl_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	pthread_once(&table_once, table_init);
	crc = ~crc;
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v = load64le(p) ^ crc;
		crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^
		      table[5][(v >> 16) & 0xff] ^ table[4][(v >> 24) & 0xff] ^
		      table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
		      table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
	}
	while (n--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#ifdef FL_CRC_X86
/* The crc32 instruction has a 3-cycle latency but issues every cycle, so
 * three independent streams over adjacent stretches run three times as
 * fast; their CRCs are then combined by "shifting" one over the length of
 * the next (multiplying by x^(8*len) mod P), done with tables built once.
 * The method is Mark Adler's (crc32c.c, zlib licence). */
#define LONG_LEN 8192
#define SHORT_LEN 256
static uint32_t shift_long[4][256], shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;
	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		sq[n] = gf2_times(mat, mat[n]);
}

/* The operator that appends len zero bytes to a CRC register. */
static void zeros_op(uint32_t *even, size_t len)
{
	uint32_t odd[32], row = 1;
	odd[0] = POLY;
	for (int n = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd); /* 2 zero bits */
	gf2_square(odd, even); /* 4 zero bits */
	/* Squaring doubles the count: start at one byte, stop at len bytes. */
	for (;;) {
		gf2_square(even, odd);
		len >>= 1;
		if (len == 0)
			return;
		gf2_square(odd, even);
		len >>= 1;
		if (len == 0)
			break;
	}
	memcpy(even, odd, sizeof odd);
}

static void zeros_table(uint32_t t[4][256], size_t len)
{
	uint32_t op[32];
	zeros_op(op, len);
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			t[k][n] = gf2_times(op, n << (8 * k));
}

static void shift_init(void)
{
	zeros_table(shift_long, LONG_LEN);
	zeros_table(shift_short, SHORT_LEN);
}

static inline uint32_t crc_shift(uint32_t t[4][256], uint32_t crc)
{
	return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

int fl_crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

static inline uint64_t ld64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* x86 is little-endian, as the instruction expects */
	return v;
}

/* Three interleaved streams over 3 * len bytes, combined into crc. */
__attribute__((target("sse4.2")))
static uint64_t crc3(uint64_t crc, const unsigned char *p, size_t len, uint32_t shift[4][256])
{
	uint64_t c1 = 0, c2 = 0;
	for (const unsigned char *end = p + len; p < end; p += 8) {
		crc = _mm_crc32_u64(crc, ld64(p));
		c1 = _mm_crc32_u64(c1, ld64(p + len));
		c2 = _mm_crc32_u64(c2, ld64(p + 2 * len));
	}
	crc = crc_shift(shift, (uint32_t)crc) ^ c1;
	return crc_shift(shift, (uint32_t)crc) ^ c2;
}

__attribute__((target("sse4.2")))
uint32_t fl_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;
	if (n >= 3 * SHORT_LEN)
		pthread_once(&shift_once, shift_init);
	for (; n >= 3 * LONG_LEN; n -= 3 * LONG_LEN, p += 3 * LONG_LEN)
		c = crc3(c, p, LONG_LEN, shift_long);
	for (; n >= 3 * SHORT_LEN; n -= 3 * SHORT_LEN, p += 3 * SHORT_LEN)
		c = crc3(c, p, SHORT_LEN, shift_short);
	for (; n >= 8; n -= 8, p += 8)
		c = _mm_crc32_u64(c, ld64(p));
	uint32_t c32 = (uint32_t)c;
	while (n--)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}
#else
int fl_crc32c_hw_available(void)
{
	return 0;
}

uint32_t fl_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	return fl_crc32c_sw(crc, buf, n);
}
#endif

uint32_t fl_crc32c(uint32_t crc, const void *buf, size_t n)
{
	/* __builtin_cpu_supports is a load of a flag libgcc sets at start-up:
	 * cheap enough per block, and free of lazy-init races. */
	if (fl_crc32c_hw_available())
		return fl_crc32c_hw(crc, buf, n);
	return fl_crc32c_sw(crc, buf, n);
}
