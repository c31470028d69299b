/*
 * test_stream.c - FLT writer/reader: round trips, multi-block and
 * multi-segment streams, id remapping on copy, and one test per kind of
 * damage (each must be reported naming the block, never crash).
 *
 * FLT_WRITE_SEEDS=dir test_stream writes the fuzzing seeds into dir.
 */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flt.h"
#include "suite.h"

/* ---- in-memory streams ------------------------------------------------ */
typedef struct mem {
	char *buf;
	size_t len;
} mem;

static FILE *open_read(const mem *m)
{
	if (m->len == 0)
		return fopen("/dev/null", "r");
	return fmemopen(m->buf, m->len, "r");
}

static void mem_append(mem *dst, const mem *src)
{
	dst->buf = realloc(dst->buf, dst->len + src->len);
	memcpy(dst->buf + dst->len, src->buf, src->len);
	dst->len += src->len;
}

static uint32_t ld32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void st32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

/* Offset of block number k of the first segment (layout in man/flt.5). */
static size_t block_at(const mem *m, int k)
{
	size_t pos = 8;
	for (int i = 0; i < k; i++)
		pos += 20 + ld32(m->buf + pos + 4);
	ck_assert(pos + 20 <= m->len);
	return pos;
}

static size_t find_block(const mem *m, const char *type)
{
	for (int k = 0;; k++) {
		size_t pos = block_at(m, k);
		if (!memcmp(m->buf + pos, type, 4))
			return pos;
	}
}

/* ---- building streams ------------------------------------------------- */
static void std_header(flt_header *h)
{
	char *argv[] = { "/usr/bin/fl-test", "--opt", "it's here", NULL };
	flt_header_init(h);
	ck_assert_int_eq(flt_header_column(h, "geo.cc", FLT_COL_STR, 1), 0);
	ck_assert_int_eq(flt_header_column(h, "asn", FLT_COL_U32, 1), 1);
	ck_assert_int_eq(flt_header_column(h, "sub.name", FLT_COL_STR, 1), 2);
	flt_header_add_invocation(h, 3, argv);
	flt_header_add_prov(h, "mmdb.epoch", "1700000000");
}

static uint32_t intern(flt_writer *w, const char *s)
{
	return flt_writer_intern(w, s, strlen(s));
}

static void fill(flt_writer *w, flt_rec *r, uint32_t i, const char *tag)
{
	char s[64];
	memset(r, 0, sizeof *r);
	r->time_ms = (i % 3 == 0) ? INT64_MIN + i : (i % 3 == 1) ? INT64_MAX - i : 1663146003599 + i;
	for (int b = 0; b < 16; b++) {
		r->src[b] = (uint8_t)(b + i);
		r->dst[b] = (uint8_t)(255 - b - i);
	}
	r->sport = (uint16_t)(65535 - i);
	r->dport = (uint16_t)i;
	r->proto = (uint8_t)(i * 7);
	r->dir = i & 1 ? 'I' : 'O';
	r->state = "BCED"[i % 4];
	r->action = i & 2 ? 'A' : 'D';
	r->enc = (uint8_t)(i % FLT_ENC_COUNT);
	r->kind = (uint8_t)(1 + i % 3);
	r->version = (uint8_t)(i % 5);
	r->flags = (uint8_t)(0xff - i);
	r->pkts_sd = UINT64_MAX - i;
	r->bytes_sd = (uint64_t)i << 40;
	r->pkts_ds = i;
	r->bytes_ds = 0x8000000000000000ull | i;
	snprintf(s, sizeof s, "%s-rule-%u", tag, i % 50);
	r->rule = intern(w, s);
	snprintf(s, sizeof s, "%s-acl-%u", tag, i);
	r->acl = intern(w, s);
	r->mac = intern(w, i % 2 ? "00224819A1B2" : "");
	r->target = intern(w, "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/vnet");
	r->flowlog = intern(w, tag);
	r->enc_text = r->enc == FLT_ENC_OTHER ? intern(w, "NX_SOMETHING_NEW") : 0;
	r->ordinal = UINT32_MAX - i;
	snprintf(s, sizeof s, "cc%u", i % 7);
	r->col[0] = intern(w, s);
	r->col[1] = UINT32_MAX - i * 3;
	snprintf(s, sizeof s, "%s-sub-%u", tag, i % 3);
	r->col[2] = intern(w, s);
}

static uint32_t add_source(flt_writer *w, uint32_t n, const char *tag)
{
	char member[64];
	snprintf(member, sizeof member, "%s/y=2022/m=09/d=14/h=%02u/PT1H.json", tag, n % 24);
	flt_source s = { .archive = "export.zip", .member = member, .size = 1000 + n,
	                 .has_sha256 = (int)(n & 1), .path_sub = "SUB", .path_flowlog = tag,
	                 .path_mac = n % 3 ? "00224819A1B2" : "", .path_hour_ms = n % 4 ? -1 : 1663146000000 };
	for (int i = 0; i < 32; i++)
		s.sha256[i] = (uint8_t)(i * n);
	return flt_writer_add_source(w, &s);
}

/* A stream of n records, a new source every 1000 records. */
static mem write_stream(uint32_t n, const char *tag)
{
	mem m = { NULL, 0 };
	FILE *fp = open_memstream(&m.buf, &m.len);
	flt_header h;
	std_header(&h);
	flt_writer *w = flt_writer_new(fp, "test.flt", &h);
	flt_header_free(&h);
	uint32_t src = 0;
	for (uint32_t i = 0; i < n; i++) {
		flt_rec r;
		if (i % 1000 == 0)
			src = add_source(w, i / 1000, tag);
		fill(w, &r, i, tag);
		r.source = src;
		ck_assert_int_eq(flt_writer_put(w, &r), 0);
	}
	ck_assert_uint_eq(flt_writer_count(w), n);
	ck_assert_int_eq(flt_writer_close(w), 0);
	fclose(fp);
	return m;
}

/* Drains a stream: returns the last flt_reader_next result, counts records. */
static int drain(const mem *m, uint64_t *nrec, char *err, size_t errsize)
{
	FILE *fp = open_read(m);
	flt_reader *r = flt_reader_new(fp, "in.flt");
	const flt_rec *rec;
	int rc;
	*nrec = 0;
	while ((rc = flt_reader_next(r, &rec)) == 1)
		(*nrec)++;
	snprintf(err, errsize, "%s", flt_reader_error(r));
	ck_assert_int_eq(flt_reader_next(r, &rec), rc); /* errors and the end are sticky */
	flt_reader_free(r);
	fclose(fp);
	return rc;
}

static void expect_error(const mem *m, const char *needle)
{
	uint64_t n;
	char err[512];
	int rc = drain(m, &n, err, sizeof err);
	ck_assert_msg(rc == -1, "expected an error containing '%s', got rc %d", needle, rc);
	ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
	ck_assert_msg(strncmp(err, "in.flt: ", 8) == 0, "error '%s' does not name the stream", err);
}

/* Compares a record read back with what fill() produced for index i. */
static void check_rec(flt_reader *r, const flt_rec *got, uint32_t i, const char *tag)
{
	mem scratch = { NULL, 0 };
	FILE *fp = open_memstream(&scratch.buf, &scratch.len);
	flt_header h;
	std_header(&h);
	flt_writer *w = flt_writer_new(fp, "x", &h);
	flt_header_free(&h);
	flt_rec want;
	fill(w, &want, i, tag);
	ck_assert(got->time_ms == want.time_ms);
	ck_assert(!memcmp(got->src, want.src, 16) && !memcmp(got->dst, want.dst, 16));
	ck_assert_uint_eq(got->sport, want.sport);
	ck_assert_uint_eq(got->dport, want.dport);
	ck_assert_uint_eq(got->proto, want.proto);
	ck_assert_uint_eq(got->dir, want.dir);
	ck_assert_uint_eq(got->state, want.state);
	ck_assert_uint_eq(got->action, want.action);
	ck_assert_uint_eq(got->enc, want.enc);
	ck_assert_uint_eq(got->kind, want.kind);
	ck_assert_uint_eq(got->version, want.version);
	ck_assert_uint_eq(got->flags, want.flags);
	ck_assert(got->pkts_sd == want.pkts_sd && got->bytes_sd == want.bytes_sd);
	ck_assert(got->pkts_ds == want.pkts_ds && got->bytes_ds == want.bytes_ds);
	ck_assert_uint_eq(got->ordinal, want.ordinal);
	ck_assert_uint_eq(got->col[1], want.col[1]);
	char s[64];
	snprintf(s, sizeof s, "%s-rule-%u", tag, i % 50);
	ck_assert_str_eq(flt_reader_str(r, got->rule, NULL), s);
	snprintf(s, sizeof s, "%s-acl-%u", tag, i);
	ck_assert_str_eq(flt_reader_str(r, got->acl, NULL), s);
	ck_assert_str_eq(flt_reader_str(r, got->mac, NULL), i % 2 ? "00224819A1B2" : "");
	ck_assert_str_eq(flt_reader_str(r, got->flowlog, NULL), tag);
	ck_assert_str_eq(flt_reader_str(r, got->enc_text, NULL),
	                 want.enc == FLT_ENC_OTHER ? "NX_SOMETHING_NEW" : "");
	snprintf(s, sizeof s, "cc%u", i % 7);
	ck_assert_str_eq(flt_reader_str(r, got->col[0], NULL), s);
	snprintf(s, sizeof s, "%s-sub-%u", tag, i % 3);
	ck_assert_str_eq(flt_reader_str(r, got->col[2], NULL), s);
	const flt_source *src = flt_reader_source(r, got->source);
	ck_assert_ptr_nonnull(src);
	char member[64];
	snprintf(member, sizeof member, "%s/y=2022/m=09/d=14/h=%02u/PT1H.json", tag, (i / 1000) % 24);
	ck_assert_str_eq(src->member, member);
	ck_assert_str_eq(src->archive, "export.zip");
	ck_assert_str_eq(src->path_flowlog, tag);
	ck_assert(src->size == 1000 + i / 1000);
	ck_assert_int_eq(src->has_sha256, (int)((i / 1000) & 1));
	ck_assert(src->path_hour_ms == ((i / 1000) % 4 ? -1 : 1663146000000));
	flt_writer_free(w);
	fclose(fp);
	free(scratch.buf);
}

/* ---- round trips ------------------------------------------------------ */
START_TEST(roundtrip_all_fields)
{
	mem m = write_stream(100, "vnet-a");
	FILE *fp = open_read(&m);
	flt_reader *r = flt_reader_new(fp, "in.flt");
	ck_assert_int_eq(flt_reader_start(r), 0);
	ck_assert_uint_eq(flt_reader_segment(r), 1);
	const flt_header *h = flt_reader_header(r);
	ck_assert_uint_eq(h->major, FLT_MAJOR);
	ck_assert_uint_eq(h->ncols, 3);
	ck_assert_str_eq(h->cols[0].name, "geo.cc");
	ck_assert_uint_eq(h->cols[1].type, FLT_COL_U32);
	ck_assert_uint_eq(h->ninvocations, 1);
	ck_assert_msg(!strncmp(h->invocations[0], "fl-test ", 8), "%s", h->invocations[0]);
	ck_assert_ptr_nonnull(strstr(h->invocations[0], " --opt 'it'\\''s here'"));
	ck_assert_uint_eq(h->nprov, 1);
	ck_assert_str_eq(h->prov[0].key, "mmdb.epoch");
	ck_assert_str_eq(h->prov[0].value, "1700000000");
	const flt_rec *rec;
	for (uint32_t i = 0; i < 100; i++) {
		ck_assert_int_eq(flt_reader_next(r, &rec), 1);
		check_rec(r, rec, i, "vnet-a");
	}
	ck_assert_int_eq(flt_reader_next(r, &rec), 0);
	ck_assert_str_eq(flt_reader_error(r), "");
	flt_reader_free(r);
	fclose(fp);
	free(m.buf);
}
END_TEST

START_TEST(roundtrip_empty_segment)
{
	mem m = write_stream(0, "none");
	uint64_t n;
	char err[512];
	ck_assert_int_eq(drain(&m, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 0);
	free(m.buf);
}
END_TEST

START_TEST(many_blocks)
{
	enum { N = 30000 }; /* > 3 MiB of records, dictionary over several blocks */
	mem m = write_stream(N, "big");
	ck_assert_uint_gt(m.len, 3u << 20);
	int ndata = 0, ndict = 0;
	for (size_t pos = 8; pos < m.len; pos += 20 + ld32(m.buf + pos + 4)) {
		ndata += !memcmp(m.buf + pos, "DATA", 4);
		ndict += !memcmp(m.buf + pos, "DICT", 4);
	}
	ck_assert_int_ge(ndata, 4);
	ck_assert_int_ge(ndict, 4);
	FILE *fp = open_read(&m);
	flt_reader *r = flt_reader_new(fp, "in.flt");
	const flt_rec *rec;
	for (uint32_t i = 0; i < N; i++) {
		ck_assert_int_eq(flt_reader_next(r, &rec), 1);
		if (i % 97 == 0 || i == N - 1)
			check_rec(r, rec, i, "big");
	}
	ck_assert_int_eq(flt_reader_next(r, &rec), 0);
	flt_reader_free(r);
	fclose(fp);
	free(m.buf);
}
END_TEST

/* Segment B's ids mean other strings than segment A's; a copy through one
 * writer must land every string and source under the writer's own ids. */
START_TEST(two_segments_copy)
{
	mem a = write_stream(1500, "alpha"), b = write_stream(2500, "beta");
	mem cat = { NULL, 0 };
	mem_append(&cat, &a);
	mem_append(&cat, &b);

	mem out = { NULL, 0 };
	FILE *ofp = open_memstream(&out.buf, &out.len);
	flt_header oh;
	flt_header_init(&oh);
	/* sub.name first, geo.cc dropped, a column the input lacks. */
	flt_header_column(&oh, "sub.name", FLT_COL_STR, 1);
	flt_header_column(&oh, "asn", FLT_COL_U32, 1);
	flt_header_column(&oh, "missing", FLT_COL_STR, 1);
	flt_writer *w = flt_writer_new(ofp, "out.flt", &oh);
	flt_header_free(&oh);
	intern(w, "pre-existing string shifts every id");

	FILE *fp = open_read(&cat);
	flt_reader *r = flt_reader_new(fp, "in.flt");
	const flt_rec *rec;
	uint32_t i = 0;
	while (flt_reader_next(r, &rec) == 1) {
		const char *tag = i < 1500 ? "alpha" : "beta";
		uint32_t k = i < 1500 ? i : i - 1500;
		ck_assert_uint_eq(flt_reader_segment(r), i < 1500 ? 1 : 2);
		check_rec(r, rec, k, tag);
		ck_assert_int_eq(flt_writer_copy(w, r, rec), 0);
		ck_assert_int_eq(flt_writer_copy(w, r, rec), 0); /* cached path */
		i++;
	}
	ck_assert_str_eq(flt_reader_error(r), "");
	ck_assert_uint_eq(i, 4000);
	flt_reader_free(r);
	fclose(fp);
	ck_assert_int_eq(flt_writer_close(w), 0);
	fclose(ofp);

	fp = open_read(&out);
	r = flt_reader_new(fp, "out.flt");
	ck_assert_int_eq(flt_reader_start(r), 0);
	const flt_header *h = flt_reader_header(r);
	ck_assert_uint_eq(h->ncols, 3);
	ck_assert_str_eq(h->cols[0].name, "sub.name");
	for (i = 0; i < 8000; i++) {
		ck_assert_int_eq(flt_reader_next(r, &rec), 1);
		uint32_t j = i / 2;
		const char *tag = j < 1500 ? "alpha" : "beta";
		uint32_t k = j < 1500 ? j : j - 1500;
		char s[64];
		snprintf(s, sizeof s, "%s-rule-%u", tag, k % 50);
		ck_assert_str_eq(flt_reader_str(r, rec->rule, NULL), s);
		snprintf(s, sizeof s, "%s-acl-%u", tag, k);
		ck_assert_str_eq(flt_reader_str(r, rec->acl, NULL), s);
		snprintf(s, sizeof s, "%s-sub-%u", tag, k % 3);
		ck_assert_str_eq(flt_reader_str(r, rec->col[0], NULL), s);
		ck_assert_uint_eq(rec->col[1], UINT32_MAX - k * 3);
		ck_assert_uint_eq(rec->col[2], 0);
		const flt_source *src = flt_reader_source(r, rec->source);
		ck_assert_ptr_nonnull(src);
		ck_assert_str_eq(src->path_flowlog, tag);
		ck_assert(src->size == 1000 + k / 1000);
	}
	ck_assert_int_eq(flt_reader_next(r, &rec), 0);
	/* Sources were copied once each: 2 from alpha, 3 from beta. */
	ck_assert_ptr_nonnull(flt_reader_source(r, 5));
	ck_assert_ptr_null(flt_reader_source(r, 6));
	flt_reader_free(r);
	fclose(fp);
	free(a.buf);
	free(b.buf);
	free(cat.buf);
	free(out.buf);
}
END_TEST

/* ---- damage ----------------------------------------------------------- */
START_TEST(err_garbage)
{
	mem m = { strdup("this is not a stream at all"), 27 };
	expect_error(&m, "not an FLT stream (bad magic at byte 0)");
	free(m.buf);
}
END_TEST

START_TEST(err_empty)
{
	mem m = { NULL, 0 };
	expect_error(&m, "not an FLT stream (empty)");
}
END_TEST

START_TEST(err_every_cut)
{
	mem a = write_stream(3, "a"), b = write_stream(2, "b");
	mem m = { NULL, 0 };
	mem_append(&m, &a);
	mem_append(&m, &b);
	for (size_t cut = 0; cut < m.len; cut++) {
		mem t = { m.buf, cut };
		uint64_t n;
		char err[512];
		int rc = drain(&t, &n, err, sizeof err);
		if (cut == a.len) {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(n, 3);
		} else if (cut == 0) {
			ck_assert_int_eq(rc, -1);
			ck_assert_ptr_nonnull(strstr(err, "(empty)"));
		} else {
			ck_assert_msg(rc == -1 && strstr(err, "(truncated)"), "cut %zu: rc %d '%s'", cut, rc, err);
		}
	}
	free(a.buf);
	free(b.buf);
	free(m.buf);
}
END_TEST

START_TEST(err_every_bit_flip)
{
	mem m = write_stream(3, "a");
	for (size_t off = 0; off < m.len; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			m.buf[off] ^= (char)(1 << bit);
			uint64_t n;
			char err[512];
			int rc = drain(&m, &n, err, sizeof err);
			ck_assert_msg(rc == -1, "flip at %zu bit %d accepted", off, bit);
			if (off < 8)
				ck_assert_msg(strstr(err, "bad magic at byte 0") != NULL, "%zu: %s", off, err);
			else
				ck_assert_msg(strstr(err, "block ") != NULL, "flip at %zu: %s", off, err);
			m.buf[off] ^= (char)(1 << bit);
		}
	}
	free(m.buf);
}
END_TEST

START_TEST(err_crc_names_block)
{
	mem m = write_stream(5, "a");
	size_t pos = find_block(&m, "DATA");
	m.buf[pos + 30] ^= 0x10;
	char want[128];
	snprintf(want, sizeof want, "(DATA) at byte %zu: CRC mismatch (stream corrupt)", pos);
	expect_error(&m, want);
	free(m.buf);
}
END_TEST

START_TEST(err_major_refused)
{
	mem m = write_stream(2, "a");
	m.buf[28] = 2; /* HEAD payload: major */
	m.buf[30] = 0;
	flt_reseal(m.buf, m.len);
	expect_error(&m, "block 0 (HEAD) at byte 8: FLT version 2.0, this build reads 1.x");
	free(m.buf);
}
END_TEST

/* A newer minor may add header sections: they are skipped. */
START_TEST(minor_accepted)
{
	mem m = write_stream(2, "a");
	uint32_t hlen = ld32(m.buf + 12);
	const char extra[] = "ZZZZ\x03\0\0\0abc";
	size_t at = 28 + hlen;
	mem n = { malloc(m.len + 11), m.len + 11 };
	memcpy(n.buf, m.buf, at);
	memcpy(n.buf + at, extra, 11);
	memcpy(n.buf + at + 11, m.buf + at, m.len - at);
	st32(n.buf + 12, hlen + 11);
	st32(n.buf + 16, ld32(n.buf + 16) + 1);
	n.buf[30] = 7; /* minor 7 */
	flt_reseal(n.buf, n.len);
	uint64_t cnt;
	char err[512];
	ck_assert_msg(drain(&n, &cnt, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(cnt, 2);
	/* The same section in a 1.0 header is corruption. */
	n.buf[30] = 0;
	flt_reseal(n.buf, n.len);
	expect_error(&n, "unknown header section 'ZZZZ'");
	free(m.buf);
	free(n.buf);
}
END_TEST

/* A newer minor may append fields to records: the reader skips them. */
START_TEST(minor_longer_records)
{
	mem m = write_stream(3, "a");
	size_t d = find_block(&m, "DATA");
	uint32_t len = ld32(m.buf + d + 4), n = ld32(m.buf + d + 8), rs = len / n;
	mem x = { malloc(m.len + 4 * n), m.len + 4 * n };
	memcpy(x.buf, m.buf, d + 20);
	for (uint32_t i = 0; i < n; i++) {
		memcpy(x.buf + d + 20 + i * (rs + 4), m.buf + d + 20 + i * rs, rs);
		memcpy(x.buf + d + 20 + i * (rs + 4) + rs, "new!", 4);
	}
	memcpy(x.buf + d + 20 + n * (rs + 4), m.buf + d + 20 + len, m.len - d - 20 - len);
	st32(x.buf + d + 4, len + 4 * n);
	st32(x.buf + 32, rs + 4); /* HEAD record size */
	x.buf[30] = 1;            /* minor 1 */
	flt_reseal(x.buf, x.len);
	FILE *fp = open_read(&x);
	flt_reader *r = flt_reader_new(fp, "in.flt");
	const flt_rec *rec;
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_msg(flt_reader_next(r, &rec) == 1, "%s", flt_reader_error(r));
		check_rec(r, rec, i, "a");
	}
	ck_assert_int_eq(flt_reader_next(r, &rec), 0);
	flt_reader_free(r);
	fclose(fp);
	/* In a 1.0 stream the same size is corruption. */
	x.buf[30] = 0;
	flt_reseal(x.buf, x.len);
	expect_error(&x, "record size 132 does not match 3 columns");
	free(m.buf);
	free(x.buf);
}
END_TEST

/* A pipe delivers the stream in small pieces; reads must not care. */
START_TEST(read_from_pipe)
{
	mem m = write_stream(2500, "p");
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd[0]);
		for (size_t pos = 0; pos < m.len;) {
			size_t k = m.len - pos < 7 ? m.len - pos : 7 + pos % 4093;
			if (k > m.len - pos)
				k = m.len - pos;
			ssize_t w = write(fd[1], m.buf + pos, k);
			if (w <= 0)
				_exit(1);
			pos += (size_t)w;
		}
		_exit(0);
	}
	close(fd[1]);
	FILE *fp = fdopen(fd[0], "r");
	flt_reader *r = flt_reader_new(fp, "pipe");
	const flt_rec *rec;
	for (uint32_t i = 0; i < 2500; i++) {
		ck_assert_msg(flt_reader_next(r, &rec) == 1, "%s", flt_reader_error(r));
		if (i % 101 == 0)
			check_rec(r, rec, i, "p");
	}
	ck_assert_int_eq(flt_reader_next(r, &rec), 0);
	flt_reader_free(r);
	fclose(fp);
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(m.buf);
}
END_TEST

START_TEST(err_missing_end)
{
	mem m = write_stream(2, "a");
	size_t pos = find_block(&m, "END!");
	m.len = pos;
	expect_error(&m, "without an END block (truncated)");
	free(m.buf);
}
END_TEST

START_TEST(err_sequence_gap)
{
	mem m = write_stream(2, "a");
	size_t pos = find_block(&m, "DATA");
	st32(m.buf + pos + 12, ld32(m.buf + pos + 12) + 1);
	flt_reseal(m.buf, m.len);
	expect_error(&m, "(DATA)");
	expect_error(&m, "a block is missing or repeated");
	/* Dropping a whole block is the same gap. */
	mem a = write_stream(2, "a");
	size_t d = find_block(&a, "SRCS"), e = find_block(&a, "DATA");
	memmove(a.buf + d, a.buf + e, a.len - e);
	a.len -= e - d;
	expect_error(&a, "sequence number");
	free(m.buf);
	free(a.buf);
}
END_TEST

START_TEST(err_unknown_type)
{
	mem m = write_stream(2, "a");
	size_t pos = find_block(&m, "DATA");
	memcpy(m.buf + pos, "DAT2", 4);
	flt_reseal(m.buf, m.len);
	expect_error(&m, "(DAT2)");
	expect_error(&m, "newer FLT version");
	free(m.buf);
}
END_TEST

START_TEST(err_unknown_ids)
{
	mem m = write_stream(2, "a");
	size_t rec = find_block(&m, "DATA") + 20;
	st32(m.buf + rec + 84, 100000); /* rule */
	flt_reseal(m.buf, m.len);
	expect_error(&m, "record 1 references unknown dictionary id 100000");
	free(m.buf);
	m = write_stream(2, "a");
	rec = find_block(&m, "DATA") + 20;
	st32(m.buf + rec + 128 + 108, 9); /* source of record 2 */
	flt_reseal(m.buf, m.len);
	expect_error(&m, "record 2 references unknown source id 9");
	free(m.buf);
	m = write_stream(2, "a");
	rec = find_block(&m, "DATA") + 20;
	st32(m.buf + rec + 116, 77777); /* STR column geo.cc */
	flt_reseal(m.buf, m.len);
	expect_error(&m, "column geo.cc references unknown dictionary id 77777");
	free(m.buf);
}
END_TEST

START_TEST(err_end_counts)
{
	mem m = write_stream(2, "a");
	size_t pos = find_block(&m, "END!");
	st32(m.buf + pos + 20, 3);
	flt_reseal(m.buf, m.len);
	expect_error(&m, "END counts 3 records but the segment held 2");
	free(m.buf);
}
END_TEST

START_TEST(err_trailing_garbage)
{
	mem m = write_stream(2, "a");
	m.buf = realloc(m.buf, m.len + 4);
	memcpy(m.buf + m.len, "junk", 4);
	m.len += 4;
	expect_error(&m, "bad magic at byte");
	free(m.buf);
}
END_TEST

START_TEST(err_huge_length)
{
	mem m = write_stream(2, "a");
	size_t pos = find_block(&m, "DICT");
	st32(m.buf + pos + 4, 0xfffffff0u);
	expect_error(&m, "exceeds the 1048576-byte limit");
	free(m.buf);
}
END_TEST

/* ---- writer ----------------------------------------------------------- */
START_TEST(writer_io_error)
{
	FILE *fp = fopen("/dev/full", "w");
	if (!fp)
		return;
	flt_header h;
	std_header(&h);
	flt_writer *w = flt_writer_new(fp, "full.flt", &h);
	flt_header_free(&h);
	flt_rec r;
	int rc = 0;
	for (uint32_t i = 0; i < 20000 && rc == 0; i++) {
		fill(w, &r, i, "x");
		rc = flt_writer_put(w, &r);
	}
	if (rc == 0)
		rc = flt_writer_close(w);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(flt_writer_error(w), "full.flt: write error: No space left"));
	flt_writer_free(w);
	fclose(fp);
}
END_TEST

START_TEST(writer_rejects_bad_input)
{
	FILE *fp = fopen("/dev/null", "w");
	flt_header h;
	flt_header_init(&h);
	flt_writer *w = flt_writer_new(fp, "o", &h);
	flt_rec r;
	memset(&r, 0, sizeof r);
	r.rule = 5; /* never issued */
	ck_assert_int_eq(flt_writer_put(w, &r), -1);
	ck_assert_ptr_nonnull(strstr(flt_writer_error(w), "never issued"));
	ck_assert_int_eq(flt_writer_close(w), -1);
	flt_writer_free(w);

	w = flt_writer_new(fp, "o", &h);
	char *big = calloc(FLT_STR_MAX + 1, 1);
	memset(big, 'x', FLT_STR_MAX + 1);
	ck_assert_uint_gt(flt_writer_intern(w, big, FLT_STR_MAX), 0);
	ck_assert_uint_eq(flt_writer_intern(w, big, FLT_STR_MAX + 1), 0);
	ck_assert_ptr_nonnull(strstr(flt_writer_error(w), "exceeds"));
	flt_writer_free(w);
	free(big);
	fclose(fp);
}
END_TEST

/* Strings with NUL and high bytes survive; interning is idempotent. */
START_TEST(dict_binary_strings)
{
	mem m = { NULL, 0 };
	FILE *fp = open_memstream(&m.buf, &m.len);
	flt_header h;
	flt_header_init(&h);
	flt_writer *w = flt_writer_new(fp, "o", &h);
	const char s1[] = "a\0b\xff\xfe", s2[] = "a\0c";
	uint32_t i1 = flt_writer_intern(w, s1, 5), i2 = flt_writer_intern(w, s2, 3);
	ck_assert_uint_ne(i1, i2);
	ck_assert_uint_eq(flt_writer_intern(w, s1, 5), i1);
	ck_assert_uint_eq(flt_writer_intern(w, "", 0), 0);
	for (int i = 0; i < 50000; i++) { /* forces table growth */
		char s[16];
		snprintf(s, sizeof s, "k%d", i);
		ck_assert_uint_eq(intern(w, s), (uint32_t)i + 3);
	}
	ck_assert_uint_eq(intern(w, "k123"), 126);
	flt_rec r;
	memset(&r, 0, sizeof r);
	r.rule = i1;
	r.acl = i2;
	ck_assert_int_eq(flt_writer_put(w, &r), 0);
	ck_assert_int_eq(flt_writer_close(w), 0);
	fclose(fp);
	fp = open_read(&m);
	flt_reader *rd = flt_reader_new(fp, "in");
	const flt_rec *rec;
	ck_assert_int_eq(flt_reader_next(rd, &rec), 1);
	size_t n;
	const char *s = flt_reader_str(rd, rec->rule, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert(!memcmp(s, s1, 5));
	s = flt_reader_str(rd, rec->acl, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert(!memcmp(s, s2, 3));
	ck_assert_str_eq(flt_reader_str(rd, 126, NULL), "k123");
	ck_assert_str_eq(flt_reader_str(rd, 999999, NULL), "");
	ck_assert_int_eq(flt_reader_next(rd, &rec), 0);
	flt_reader_free(rd);
	fclose(fp);
	free(m.buf);
}
END_TEST

/* ---- helpers ---------------------------------------------------------- */
START_TEST(enc_names)
{
	ck_assert_str_eq(flt_enc_name(FLT_ENC_NONE), "");
	ck_assert_ptr_null(flt_enc_name(FLT_ENC_OTHER));
	ck_assert_ptr_null(flt_enc_name(-1));
	ck_assert_ptr_null(flt_enc_name(FLT_ENC_COUNT));
	for (int e = FLT_ENC_X; e < FLT_ENC_OTHER; e++) {
		const char *s = flt_enc_name(e);
		ck_assert_int_eq(flt_enc_parse(s, strlen(s)), e);
	}
	ck_assert_int_eq(flt_enc_parse("NX_FALLBACK", 11), FLT_ENC_NX_FALLBACK);
	ck_assert_int_eq(flt_enc_parse("nx", 2), FLT_ENC_OTHER);
	ck_assert_int_eq(flt_enc_parse("NXX", 3), FLT_ENC_OTHER);
	ck_assert_int_eq(flt_enc_parse("NX_LOCAL_DSTX", 12), FLT_ENC_NX_LOCAL_DST);
	ck_assert_int_eq(flt_enc_parse("", 0), FLT_ENC_OTHER);
}
END_TEST

START_TEST(header_helpers)
{
	flt_header h, c;
	flt_header_init(&h);
	ck_assert_int_eq(flt_header_column(&h, "a", FLT_COL_STR, 0), -1);
	ck_assert_int_eq(flt_header_column(&h, "a", FLT_COL_STR, 1), 0);
	ck_assert_int_eq(flt_header_column(&h, "a", FLT_COL_STR, 1), 0);
	ck_assert_int_eq(flt_header_column(&h, "0123456789012345678901234567890123", FLT_COL_U32, 1), -1);
	ck_assert_int_eq(flt_header_column(&h, "", FLT_COL_U32, 1), -1);
	ck_assert_int_eq(flt_header_column(&h, "has space", FLT_COL_U32, 1), -1);
	ck_assert_int_eq(flt_header_column(&h, "esc\033[2J", FLT_COL_U32, 1), -1);
	ck_assert_int_eq(flt_header_column(&h, "b", 7, 1), -1);
	for (int i = 1; i < FLT_MAX_COLS; i++) {
		char n[16];
		snprintf(n, sizeof n, "c%d", i);
		ck_assert_int_eq(flt_header_column(&h, n, FLT_COL_U32, 1), i);
	}
	ck_assert_int_eq(flt_header_column(&h, "one-too-many", FLT_COL_U32, 1), -1);
	flt_header_add_prov(&h, "k", "v");
	flt_header_add_prov(&h, "k", "v");
	flt_header_add_prov(&h, "k", "w");
	ck_assert_uint_eq(h.nprov, 2);
	char *argv[] = { "fl-x", "", "a b", NULL };
	flt_header_add_invocation(&h, 3, argv);
	ck_assert_ptr_nonnull(strstr(h.invocations[0], " '' 'a b'"));
	/* A huge command line is shortened, and the header stays writable. */
	char **many = calloc(20001, sizeof *many);
	many[0] = "fl-many";
	for (int i = 1; i < 20001; i++)
		many[i] = "export-2022-09-14.zip";
	flt_header_add_invocation(&h, 20001, many);
	free(many);
	ck_assert_uint_le(strlen(h.invocations[1]), FLT_STR_MAX);
	ck_assert_ptr_nonnull(strstr(h.invocations[1], "bytes elided)"));
	FILE *fp = fopen("/dev/null", "w");
	flt_writer *w = flt_writer_new(fp, "o", &h);
	ck_assert_int_eq(flt_writer_close(w), 0);
	fclose(fp);
	flt_header_init(&c);
	flt_header_copy(&c, &h);
	ck_assert_uint_eq(c.ncols, FLT_MAX_COLS);
	ck_assert_str_eq(c.invocations[0], h.invocations[0]);
	ck_assert_str_eq(c.prov[1].value, "w");
	flt_header_free(&h);
	flt_header_free(&c);
}
END_TEST

/* Inputs that once broke the reader (from fuzzing) must stay harmless. */
START_TEST(fuzz_regressions)
{
	DIR *d = opendir("tests/fuzz/regress-stream");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "tests/fuzz/regress-stream/%s", e->d_name);
		FILE *fp = fopen(path, "rb");
		ck_assert_ptr_nonnull(fp);
		FILE *null = fopen("/dev/null", "w");
		flt_reader *r = flt_reader_new(fp, path);
		flt_writer *w = NULL;
		const flt_rec *rec;
		int rc;
		while ((rc = flt_reader_next(r, &rec)) == 1) {
			if (!w)
				w = flt_writer_new(null, "null", flt_reader_header(r));
			ck_assert_int_eq(flt_writer_copy(w, r, rec), 0);
		}
		/* ok-* files are valid streams; every other one is damaged. */
		if (!strncmp(e->d_name, "ok-", 3)) {
			ck_assert_msg(rc == 0, "%s: %s", path, flt_reader_error(r));
		} else {
			ck_assert_msg(rc == -1, "%s was accepted", path);
			ck_assert(!strncmp(flt_reader_error(r), path, strlen(path)));
		}
		if (w && flt_writer_close(w) < 0)
			flt_writer_free(w);
		flt_reader_free(r);
		fclose(null);
		fclose(fp);
	}
	closedir(d);
}
END_TEST

/* ---- seeds ------------------------------------------------------------ */
static void write_seed(const char *dir, const char *name, const mem *m)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(m->buf, 1, m->len, fp) != m->len || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

START_TEST(write_seeds)
{
	const char *dir = getenv("FLT_WRITE_SEEDS");
	mem a = write_stream(3, "a"), b = write_stream(1, "b"), z = write_stream(0, "z");
	write_seed(dir, "three.flt", &a);
	write_seed(dir, "empty-segment.flt", &z);
	mem_append(&a, &b);
	write_seed(dir, "two-segments.flt", &a);
	free(a.buf);
	free(b.buf);
	free(z.buf);
}
END_TEST

START_TEST(data_blocks_stay_small)
{
	/* 20,000 records, one DATA block each 128 KiB at most: a reader's
	 * buffer then fits a core's L2 cache */
	mem m = write_stream(20000, "blk");
	size_t data = 0, pos = 8;
	uint64_t n;
	while (pos + 20 <= m.len && memcmp(m.buf + pos, "END!", 4) != 0) {
		uint32_t len = ld32(m.buf + pos + 4);
		if (!memcmp(m.buf + pos, "DATA", 4)) {
			ck_assert_uint_le(len, 128u << 10);
			data++;
		}
		pos += 20 + len;
	}
	ck_assert_uint_ge(data, 20000 * 116 / (128u << 10));
	ck_assert_int_eq(drain(&m, &n, NULL, 0), 0);
	ck_assert_uint_eq(n, 20000);
	free(m.buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");
	if (getenv("FLT_WRITE_SEEDS")) {
		tcase_add_test(tc, write_seeds);
		goto run;
	}
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, roundtrip_all_fields);
	tcase_add_test(tc, roundtrip_empty_segment);
	tcase_add_test(tc, data_blocks_stay_small);
	tcase_add_test(tc, many_blocks);
	tcase_add_test(tc, two_segments_copy);
	tcase_add_test(tc, err_garbage);
	tcase_add_test(tc, err_empty);
	tcase_add_test(tc, err_every_cut);
	tcase_add_test(tc, err_every_bit_flip);
	tcase_add_test(tc, err_crc_names_block);
	tcase_add_test(tc, err_major_refused);
	tcase_add_test(tc, minor_accepted);
	tcase_add_test(tc, minor_longer_records);
	tcase_add_test(tc, read_from_pipe);
	tcase_add_test(tc, err_missing_end);
	tcase_add_test(tc, err_sequence_gap);
	tcase_add_test(tc, err_unknown_type);
	tcase_add_test(tc, err_unknown_ids);
	tcase_add_test(tc, err_end_counts);
	tcase_add_test(tc, err_trailing_garbage);
	tcase_add_test(tc, err_huge_length);
	tcase_add_test(tc, writer_io_error);
	tcase_add_test(tc, writer_rejects_bad_input);
	tcase_add_test(tc, dict_binary_strings);
	tcase_add_test(tc, enc_names);
	tcase_add_test(tc, header_helpers);
	tcase_add_test(tc, fuzz_regressions);
run:
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
