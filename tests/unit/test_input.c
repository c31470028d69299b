/* Unit tests: blob-path parsing, directory walking, archives by content,
 * damaged archives, SHA-256 vectors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "sha256.h"
#include "suite.h"

/* ---- blob paths -------------------------------------------------------- */

START_TEST(blobpath_short_real)
{
	in_blobpath bp;
	ck_assert_int_eq(in_blobpath_parse(
		"insights-logs-flowlogflowevent/flowLogResourceID=/A64ACBF7-DD9B-49D0-A538-315A1B63FAE6_"
		"NETWORKWATCHERRG/NETWORKWATCHER_EASTUS_FLOWLOG-VNET-JPEDERSON-EASTUS/y=2025/m=10/d=05/"
		"h=09/m=00/macAddress=7C1E5264840B/PT1H.json", &bp), 1);
	ck_assert_int_eq(bp.kind, 1);
	ck_assert_str_eq(bp.sub, "A64ACBF7-DD9B-49D0-A538-315A1B63FAE6");
	ck_assert_str_eq(bp.name, "FLOWLOG-VNET-JPEDERSON-EASTUS");
	ck_assert_str_eq(bp.mac, "7C1E5264840B");
	int64_t want;
	ck_assert_int_eq(fl_parse_time("2025-10-05T09:00:00Z", &want), 0);
	ck_assert_int_eq(bp.hour_ms, want);
}
END_TEST

START_TEST(blobpath_long)
{
	in_blobpath bp;
	in_blobpath_parse("x/insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/"
	                  "11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/NETWORKWATCHERRG/"
	                  "PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/"
	                  "FLOWLOGS/MYFLOWLOG/y=2026/m=11/d=02/h=23/m=00/macAddress=00-0d-3a-12-34-56/"
	                  "PT1H.json", &bp);
	ck_assert_int_eq(bp.kind, 1);
	ck_assert_str_eq(bp.sub, "11111111-2222-3333-4444-555555555555");
	ck_assert_str_eq(bp.name, "MYFLOWLOG");
	ck_assert_str_eq(bp.mac, "000D3A123456");
	int64_t want;
	fl_parse_time("2026-11-02T23:00:00Z", &want);
	ck_assert_int_eq(bp.hour_ms, want);
}
END_TEST

START_TEST(blobpath_nsg)
{
	in_blobpath bp;
	in_blobpath_parse("insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/"
	                  "SUB1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/"
	                  "WEB-NSG/y=2020/m=07/d=08/h=20/m=00/macAddress=000D3AF87856/PT1H.json", &bp);
	ck_assert_int_eq(bp.kind, 2);
	ck_assert_str_eq(bp.sub, "SUB1");
	ck_assert_str_eq(bp.name, "WEB-NSG");
	ck_assert_str_eq(bp.mac, "000D3AF87856");
}
END_TEST

START_TEST(blobpath_none_and_bad)
{
	in_blobpath bp;
	ck_assert_int_eq(in_blobpath_parse("PT1H.json", &bp), 0);
	ck_assert_int_eq(bp.hour_ms, -1);
	ck_assert_str_eq(bp.mac, "");
	/* month 13 and a short MAC are not believed */
	in_blobpath_parse("flowLogResourceID=/S_NETWORKWATCHERRG/NETWORKWATCHER_X_N/y=2026/m=13/d=01/"
	                  "h=00/m=00/macAddress=0011/PT1H.json", &bp);
	ck_assert_int_eq(bp.hour_ms, -1);
	ck_assert_str_eq(bp.mac, "");
	ck_assert_str_eq(bp.name, "N");
}
END_TEST

/* ---- walking ----------------------------------------------------------- */

typedef struct seen {
	char log[8192];
	size_t bytes;
	int want_calls, skip_hour;
} seen;

static int t_want(void *ctx, const in_member *m)
{
	seen *s = ctx;
	s->want_calls++;
	return !(s->skip_hour && strstr(m->member[0] ? m->member : m->archive, "h=05"));
}
static void t_begin(void *ctx, const in_member *m)
{
	seen *s = ctx;
	const char *slash = strrchr(m->archive, '/');
	size_t n = strlen(s->log);
	snprintf(s->log + n, sizeof s->log - n, "begin %s|%s\n", slash ? slash + 1 : m->archive,
	         m->member);
}
static void t_data(void *ctx, const char *buf, size_t n)
{
	seen *s = ctx;
	(void)buf;
	s->bytes += n;
}
static void t_end(void *ctx, const in_member *m)
{
	(void)ctx;
	(void)m;
}
static void t_skipped(void *ctx, const in_member *m, const char *why)
{
	seen *s = ctx;
	size_t n = strlen(s->log);
	snprintf(s->log + n, sizeof s->log - n, "skip %s (%s)\n", m->member[0] ? m->member :
	         strrchr(m->archive, '/') + 1, why);
}
static void t_error(void *ctx, const in_member *m, uint64_t off, const char *msg)
{
	seen *s = ctx;
	size_t n = strlen(s->log);
	(void)off;
	snprintf(s->log + n, sizeof s->log - n, "error %s: %s\n", m->member, msg);
}

static char dir[256];

static void put(const char *rel, const char *text)
{
	char path[512], cmd[700];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
	ck_assert_int_eq(system(cmd), 0);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void sh(const char *fmt, const char *arg)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, fmt, dir, arg);
	ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/fl-input-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	put("tree/b/h=05/PT1H.json", "{\"records\":[]}");
	put("tree/a/PT1H.json", "\xef\xbb\xbf  {\"records\":[]}");
	put("tree/README.md", "# not json\n");
	put("tree/empty.json", "");
}

static void teardown(void)
{
	sh("rm -rf '%s'%s", "");
}

static seen walk(const char *rel, int skip_hour)
{
	static in_callbacks cb = { .want = t_want, .begin = t_begin, .data = t_data, .end = t_end,
	                           .skipped = t_skipped, .error = t_error };
	static seen s;
	char path[512];
	memset(&s, 0, sizeof s);
	s.skip_hour = skip_hour;
	cb.ctx = &s;
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	in_walk(path, &cb);
	return s;
}

START_TEST(walk_directory_sorted)
{
	seen s = walk("tree", 0);
	ck_assert_str_eq(s.log, "skip README.md (neither JSON nor an archive)\n"
	                        "begin PT1H.json|\n"
	                        "begin PT1H.json|\n"
	                        "skip empty.json (empty)\n");
	ck_assert_int_eq(s.want_calls, 4);
}
END_TEST

START_TEST(walk_prunes_unread)
{
	seen s = walk("tree", 1);
	ck_assert_ptr_null(strstr(s.log, "h=05"));
	ck_assert_int_eq(s.bytes, strlen("\xef\xbb\xbf  {\"records\":[]}"));
}
END_TEST

START_TEST(walk_archives_by_content)
{
	/* a zip named .dat, a tar.gz named .bin, a gzip'd json without suffix,
	 * and a zip inside a tar */
	sh("cd '%s/tree' && zip -qr ../export.dat . %s", "");
	sh("cd '%s/tree' && tar czf ../export.bin . %s", "");
	sh("cd '%s' && gzip -c tree/a/PT1H.json > single%s", "");
	sh("cd '%s' && mkdir -p outer && cp export.dat outer/inner.zip && tar cf outer.tar outer%s", "");
	sh("cd '%s' && tar cJf export.txz tree%s", "");
	seen s = walk("export.dat", 0);
	ck_assert_msg(strstr(s.log, "begin export.dat|a/PT1H.json\n"), "%s", s.log);
	ck_assert_msg(strstr(s.log, "begin export.dat|b/h=05/PT1H.json\n"), "%s", s.log);
	ck_assert_msg(strstr(s.log, "skip README.md (neither JSON nor an archive)"), "%s", s.log);
	s = walk("export.bin", 1);
	ck_assert_msg(strstr(s.log, "begin export.bin|./a/PT1H.json\n"), "%s", s.log);
	ck_assert_msg(!strstr(s.log, "h=05"), "%s", s.log);
	s = walk("single", 0);
	ck_assert_str_eq(s.log, "begin single|\n");
	s = walk("outer.tar", 0);
	ck_assert_msg(strstr(s.log, "begin outer.tar|outer/inner.zip!a/PT1H.json\n"), "%s", s.log);
	s = walk("export.txz", 0);
	ck_assert_msg(strstr(s.log, "begin export.txz|tree/a/PT1H.json\n"), "%s", s.log);
}
END_TEST

START_TEST(walk_damaged_archive)
{
	/* a tar.gz cut in half: what precedes the cut is read, the damage is one error */
	sh("cd '%s/tree' && tar czf ../full.tgz . %s", "");
	sh("cd '%s' && head -c $(( $(stat -c %%s full.tgz) / 2 )) full.tgz > cut.tgz%s", "");
	seen s = walk("cut.tgz", 0);
	ck_assert_msg(strstr(s.log, "error"), "%s", s.log);
	s = walk("missing-file", 0);
	ck_assert_msg(strstr(s.log, "error : No such file or directory"), "%s", s.log);
}
END_TEST

/* ---- sha256 ------------------------------------------------------------ */

static void hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(sha256_vectors)
{
	sha256_ctx c;
	uint8_t d[32];
	char h[65];
	sha256_init(&c);
	sha256_final(&c, d);
	hex(d, h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_init(&c);
	sha256_update(&c, "abc", 3);
	sha256_final(&c, d);
	hex(d, h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 448-bit message in pieces of odd sizes */
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_init(&c);
	for (size_t i = 0; i < strlen(m); i += 7)
		sha256_update(&c, m + i, strlen(m) - i < 7 ? strlen(m) - i : 7);
	sha256_final(&c, d);
	hex(d, h);
	ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a' */
	char a[1000];
	memset(a, 'a', sizeof a);
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof a);
	sha256_final(&c, d);
	hex(d, h);
	ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("input");
	TCase *tc = tcase_create("blobpath");
	tcase_add_test(tc, blobpath_short_real);
	tcase_add_test(tc, blobpath_long);
	tcase_add_test(tc, blobpath_nsg);
	tcase_add_test(tc, blobpath_none_and_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("walk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, walk_directory_sorted);
	tcase_add_test(tc, walk_prunes_unread);
	tcase_add_test(tc, walk_archives_by_content);
	tcase_add_test(tc, walk_damaged_archive);
	suite_add_tcase(s, tc);
	tc = tcase_create("sha256");
	tcase_add_test(tc, sha256_vectors);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
