/*
 * test_flowjson.c - the streaming flow-log scanner: every tuple field from
 * small hand-written records, every shape, every damage case with its
 * exact problems and offsets, chunking invariance, the public samples read
 * in place from $SAMPLES, and a differential test against the jansson
 * reference reader on the samples and on generated blobs.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flowjson.h"
#include "ip.h"
#include "ref_jansson.h"
#include "suite.h"

/* ---- collecting callbacks ---------------------------------------------- */

typedef struct prob {
	int kind;
	uint64_t off;
	char detail[64];
} prob;

typedef struct coll {
	char **str;           /* intern table: id = index + 1 */
	size_t nstr, capstr;
	char *log;            /* every event as a text line */
	size_t loglen, logcap;
	int full;             /* log offsets, hashes and problem details too */
	flt_rec *tup;
	size_t ntup, captup;
	fj_record *rec;
	size_t nrec, caprec;
	prob pr[512];
	size_t npr;
	char foreign[16][64];
	size_t nforeign;
	int drop_dups;        /* record() refuses a hash seen before */
} coll;

static void logf_(coll *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(coll *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	if (c->loglen + (size_t)n + 1 > c->logcap) {
		c->logcap = (c->logcap + (size_t)n + 1) * 2;
		c->log = fl_xrealloc(c->log, c->logcap);
	}
	memcpy(c->log + c->loglen, line, (size_t)n + 1);
	c->loglen += (size_t)n;
}

static const char *S(const coll *c, uint32_t id)
{
	return id && id <= c->nstr ? c->str[id - 1] : "";
}

static uint32_t cb_intern(void *ctx, const char *s, size_t n)
{
	coll *c = ctx;
	if (c->nstr == c->capstr) {
		c->capstr = c->capstr ? 2 * c->capstr : 64;
		c->str = fl_xrealloc(c->str, c->capstr * sizeof *c->str);
	}
	char *d = fl_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	c->str[c->nstr++] = d;
	return (uint32_t)c->nstr;
}

static int cb_record(void *ctx, const fj_record *r)
{
	coll *c = ctx;
	int keep = 1;
	for (size_t i = 0; c->drop_dups && i < c->nrec; i++)
		if (!memcmp(c->rec[i].hash, r->hash, sizeof r->hash))
			keep = 0;
	if (c->nrec == c->caprec) {
		c->caprec = c->caprec ? 2 * c->caprec : 16;
		c->rec = fl_xrealloc(c->rec, c->caprec * sizeof *c->rec);
	}
	c->rec[c->nrec++] = *r;
	if (c->full)
		logf_(c, "R @%llu %016llx%016llx k%d v%d n%u c%d t%lld\n", (unsigned long long)r->offset,
		      (unsigned long long)r->hash[0], (unsigned long long)r->hash[1], r->kind, r->version,
		      r->ntuples, r->complete, (long long)r->time_ms);
	else
		logf_(c, "R k%d v%d n%u c%d t%lld\n", r->kind, r->version, r->ntuples, r->complete,
		      (long long)r->time_ms);
	return keep;
}

static void cb_tuple(void *ctx, flt_rec *r)
{
	coll *c = ctx;
	char s[IP_STRLEN], d[IP_STRLEN];
	if (c->ntup == c->captup) {
		c->captup = c->captup ? 2 * c->captup : 256;
		c->tup = fl_xrealloc(c->tup, c->captup * sizeof *c->tup);
	}
	c->tup[c->ntup++] = *r;
	ip_format(r->src, s);
	ip_format(r->dst, d);
	logf_(c, "T#%u %lld %s:%u>%s:%u p%u %d %d %d e%d'%s' k%d v%d f%d %llu/%llu/%llu/%llu "
	      "rule'%s' acl'%s' mac'%s' tgt'%s' fl'%s' src%u\n",
	      r->ordinal, (long long)r->time_ms, s, r->sport, d, r->dport, r->proto, r->dir, r->state,
	      r->action, r->enc, S(c, r->enc_text), r->kind, r->version, r->flags,
	      (unsigned long long)r->pkts_sd, (unsigned long long)r->bytes_sd,
	      (unsigned long long)r->pkts_ds, (unsigned long long)r->bytes_ds, S(c, r->rule),
	      S(c, r->acl), S(c, r->mac), S(c, r->target), S(c, r->flowlog), r->source);
}

static void cb_problem(void *ctx, enum fj_problem k, uint64_t off, const char *detail)
{
	coll *c = ctx;
	if (c->npr < sizeof c->pr / sizeof c->pr[0]) {
		c->pr[c->npr].kind = (int)k;
		c->pr[c->npr].off = off;
		snprintf(c->pr[c->npr].detail, sizeof c->pr[0].detail, "%s", detail);
		c->npr++;
	}
	if (c->full)
		logf_(c, "P%d @%llu %s\n", (int)k, (unsigned long long)off, detail);
	else
		logf_(c, "P%d\n", (int)k);
}

static void cb_foreign(void *ctx, uint64_t off, const char *what)
{
	coll *c = ctx;
	if (c->nforeign < 16)
		snprintf(c->foreign[c->nforeign++], sizeof c->foreign[0], "%s", what);
	if (c->full)
		logf_(c, "F @%llu %s\n", (unsigned long long)off, what);
	else
		logf_(c, "F %s\n", what);
}

static void coll_init(coll *c, int full)
{
	memset(c, 0, sizeof *c);
	c->full = full;
	c->log = fl_xcalloc(1, 1);
	c->logcap = 1;
}

static void coll_free(coll *c)
{
	for (size_t i = 0; i < c->nstr; i++)
		free(c->str[i]);
	free(c->str);
	free(c->log);
	free(c->tup);
	free(c->rec);
}

static fj_callbacks callbacks(coll *c)
{
	fj_callbacks cb = {c, cb_intern, cb_record, cb_tuple, cb_problem, cb_foreign};
	return cb;
}

#define CHUNK_WHOLE 0
#define CHUNK_RANDOM ((size_t)-1)

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Scans buf in chunks (0 = one call; CHUNK_RANDOM = random sizes) into c. */
static fj_stats scan(const char *buf, size_t n, size_t chunk, coll *c)
{
	fj_callbacks cb = callbacks(c);
	fj_scanner *s = fj_new(&cb);
	uint64_t saved = rng_state;
	rng_state = 0x9E3779B97F4A7C15ULL ^ n;
	for (size_t off = 0; off < n;) {
		size_t k = chunk == CHUNK_WHOLE ? n - off
		         : chunk == CHUNK_RANDOM ? 1 + rn(rn(4) == 0 ? 5 : 3000) : chunk;
		if (k > n - off)
			k = n - off;
		fj_feed(s, buf + off, k);
		off += k;
	}
	fj_finish(s);
	rng_state = saved;
	fj_stats st = *fj_get_stats(s);
	fj_free(s);
	return st;
}

/* JSON written with ' for " so the tests stay readable. */
static char *J(const char *s)
{
	char *d = fl_xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static uint64_t off_of(const char *hay, const char *needle, int nth)
{
	const char *p = hay;
	for (;;) {
		const char *q = strstr(p, needle);
		ck_assert_msg(q != NULL, "'%s' not in the test input", needle);
		if (nth-- == 0)
			return (uint64_t)(q - hay);
		p = q + 1;
	}
}

/* Scans whole, byte by byte and in random chunks: all three must agree. */
static void scan_all_ways(const char *buf, size_t n, coll *c)
{
	coll one, rnd_;
	coll_init(c, 1);
	coll_init(&one, 1);
	coll_init(&rnd_, 1);
	scan(buf, n, CHUNK_WHOLE, c);
	scan(buf, n, 1, &one);
	scan(buf, n, CHUNK_RANDOM, &rnd_);
	ck_assert_str_eq(c->log, one.log);
	ck_assert_str_eq(c->log, rnd_.log);
	coll_free(&one);
	coll_free(&rnd_);
}

static void scan_str(const char *json, coll *c)
{
	scan_all_ways(json, strlen(json), c);
}

/* ---- hand-written records ----------------------------------------------- */

#define VNET_HEAD \
	"{'time':'2022-09-14T09:00:52.5625085Z','flowLogVersion':4," \
	"'flowLogGUID':'66aa66aa-6666-4c4c-8b8b-666666666666','macAddress':'00224871C205'," \
	"'category':'FlowLogFlowEvent','flowLogResourceID':'/SUBSCRIPTIONS/S/FLOWLOGS/FL'," \
	"'targetResourceID':'/subscriptions/s/virtualNetworks/v','operationName':'FlowLogFlowEvent'," \
	"'flowRecords':{'flows':[{'aclID':'acl-1','flowGroups':[{'rule':'R1','flowTuples':["
#define VNET_TAIL "]}]}]}}"
#define VNET(tuples) VNET_HEAD tuples VNET_TAIL

#define NSG_HEAD(v) \
	"{'time':'2017-02-16T22:00:32.8950000Z','systemId':'x','macAddress':'000D3AF87856'," \
	"'category':'NetworkSecurityGroupFlowEvent','resourceId':'/SUBSCRIPTIONS/S/NSG/N'," \
	"'operationName':'NetworkSecurityGroupFlowEvents','properties':{'Version':" #v ",'flows':[" \
	"{'rule':'DefaultRule_DenyAllInBound','flows':[]}," \
	"{'rule':'UserRule_default-allow-rdp','flows':[{'mac':'000D3AF87857','flowTuples':["
#define NSG_TAIL "]}]}]}}"
#define NSG(v, tuples) NSG_HEAD(v) tuples NSG_TAIL

START_TEST(vnet_every_field)
{
	char *j = J("{'records':[" VNET("'1663146003599,10.0.0.6,192.0.2.180,23956,443,6,O,B,NX,0,0,0,0',"
	                                 "'1663146003606,10.0.0.6,192.0.2.180,23956,443,6,O,E,NX,3,767,2,1580',"
	                                 "'1663146003637,10.0.0.6,192.0.2.180,22730,443,6,O,C,X,10,20,30,18446744073709551615',"
	                                 "'1663146003640,192.0.2.7,10.0.0.6,57896,23,17,I,D,NX,0,0,0,0'") "]}");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 4);
	ck_assert_uint_eq(c.nrec, 1);
	ck_assert_uint_eq(c.npr, 0);
	const flt_rec *r = &c.tup[0];
	uint8_t a[16];
	ck_assert_int_eq(r->time_ms, 1663146003599LL);
	ip_parse("10.0.0.6", 8, a);
	ck_assert_mem_eq(r->src, a, 16);
	ip_parse("192.0.2.180", 11, a);
	ck_assert_mem_eq(r->dst, a, 16);
	ck_assert_uint_eq(r->sport, 23956);
	ck_assert_uint_eq(r->dport, 443);
	ck_assert_uint_eq(r->proto, 6);
	ck_assert_uint_eq(r->dir, 'O');
	ck_assert_uint_eq(r->state, 'B');
	ck_assert_uint_eq(r->action, 'A');
	ck_assert_uint_eq(r->enc, FLT_ENC_NX);
	ck_assert_uint_eq(r->kind, FLT_KIND_VNET);
	ck_assert_uint_eq(r->version, 4);
	ck_assert_uint_eq(r->flags, FLT_F_COUNTERS);
	ck_assert_str_eq(S(&c, r->rule), "R1");
	ck_assert_str_eq(S(&c, r->acl), "acl-1");
	ck_assert_str_eq(S(&c, r->mac), "00224871C205");
	ck_assert_str_eq(S(&c, r->target), "/subscriptions/s/virtualNetworks/v");
	ck_assert_str_eq(S(&c, r->flowlog), "/SUBSCRIPTIONS/S/FLOWLOGS/FL");
	ck_assert_uint_eq(r->enc_text, 0);
	ck_assert_uint_eq(r->source, 0);
	ck_assert_uint_eq(r->ordinal, 1);
	r = &c.tup[1];
	ck_assert_uint_eq(r->state, 'E');
	ck_assert_uint_eq(r->pkts_sd, 3);
	ck_assert_uint_eq(r->bytes_sd, 767);
	ck_assert_uint_eq(r->pkts_ds, 2);
	ck_assert_uint_eq(r->bytes_ds, 1580);
	ck_assert_uint_eq(r->ordinal, 2);
	r = &c.tup[2];
	ck_assert_uint_eq(r->state, 'C');
	ck_assert_uint_eq(r->enc, FLT_ENC_X);
	ck_assert_uint_eq(r->bytes_ds, UINT64_MAX);
	r = &c.tup[3];
	ck_assert_uint_eq(r->state, 'D');
	ck_assert_uint_eq(r->action, 'D');
	ck_assert_uint_eq(r->proto, 17);
	ck_assert_uint_eq(r->dir, 'I');
	ck_assert_uint_eq(r->ordinal, 4);
	ck_assert_int_eq(c.rec[0].time_ms, 1663146052562LL);
	ck_assert_int_eq(c.rec[0].kind, FLT_KIND_VNET);
	ck_assert_int_eq(c.rec[0].version, 4);
	ck_assert_uint_eq(c.rec[0].ntuples, 4);
	ck_assert_int_eq(c.rec[0].complete, 1);
	ck_assert_uint_eq(c.rec[0].offset, 12);
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(vnet_seconds_empty_counters_and_encryption)
{
	char *j = J(VNET("'1708978215,203.0.113.105,10.0.0.5,35370,23,6,I,B,NX,,,,',"
	                 "'1708978216,203.0.113.105,10.0.0.5,35370,23,6,I,E,NX,0,0,0,0',"
	                 "'1708978217,203.0.113.105,10.0.0.5,35370,23,6,I,E,NX_NEW_THING,1,2,3,4',"
	                 "'1708978218,203.0.113.105,10.0.0.5,35370,23,6,I,E,NX,1,,3,4',"
	                 "'1708978219,203.0.113.105,10.0.0.5,35370,23,6,I,E,NX_LOCAL_DST,1,2,3,4',"
	                 "'1708978220,203.0.113.105,10.0.0.5,35370,23,1,I,E,NX_FALLBACK,18446744073709551616,2,3,4'"));
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 4);
	ck_assert_int_eq(c.tup[0].time_ms, 1708978215000LL);
	ck_assert_uint_eq(c.tup[0].flags, 0);
	ck_assert_uint_eq(c.tup[0].pkts_sd + c.tup[0].bytes_ds, 0);
	ck_assert_uint_eq(c.tup[1].flags, FLT_F_COUNTERS);
	ck_assert_uint_eq(c.tup[2].enc, FLT_ENC_OTHER);
	ck_assert_str_eq(S(&c, c.tup[2].enc_text), "NX_NEW_THING");
	ck_assert_uint_eq(c.tup[2].ordinal, 3);
	ck_assert_uint_eq(c.tup[3].enc, FLT_ENC_NX_LOCAL_DST);
	ck_assert_uint_eq(c.tup[3].ordinal, 5);
	/* partial emptiness and counter overflow are bad tuples, at their own offsets */
	ck_assert_uint_eq(c.npr, 2);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_BAD_TUPLE);
	ck_assert_uint_eq(c.pr[0].off, off_of(j, "\"1708978218", 0));
	ck_assert_int_eq(c.pr[1].kind, FJ_PROB_BAD_TUPLE);
	ck_assert_uint_eq(c.pr[1].off, off_of(j, "\"1708978220", 0));
	coll_free(&c);
	free(j);

	/* every documented encryption name, in flt.h order */
	static const char *const names[] = {"X", "NX", "NX_HW_NOT_SUPPORTED", "NX_SW_NOT_READY",
		"NX_NOT_ACCEPTED", "NX_NOT_SUPPORTED", "NX_LOCAL_DST", "NX_FALLBACK", "nx"};
	for (int k = 0; k < 9; k++) {
		char t[160];
		flt_rec r;
		snprintf(t, sizeof t, "1,10.0.0.1,10.0.0.2,1,2,6,O,E,%s,1,2,3,4", names[k]);
		ck_assert_int_eq(fj_parse_tuple(t, strlen(t), FLT_KIND_VNET, &r, NULL), 0);
		ck_assert_int_eq(r.enc, k < 8 ? FLT_ENC_X + k : FLT_ENC_OTHER);
	}
}
END_TEST

START_TEST(vnet_stats)
{
	char *j = J(VNET("'1,10.0.0.1,10.0.0.2,1,2,6,O,E,NX_NEW,1,2,3,4','2,10.0.0.1,10.0.0.2,1,2,6,Q,Z,NX,1,2,3,4',"
	                 "'3,10.0.0.1,10.0.0.2,1,2,6,OO,E,NX,1,2,3,4'"));
	coll c;
	coll_init(&c, 1);
	fj_stats st = scan(j, strlen(j), CHUNK_WHOLE, &c);
	ck_assert_uint_eq(st.records, 1);
	ck_assert_uint_eq(st.tuples, 2);
	ck_assert_uint_eq(st.bad_tuples, 1);
	ck_assert_uint_eq(st.enc_other, 1);
	ck_assert_uint_eq(st.odd_letters, 1);
	ck_assert_uint_eq(st.problems, 1);
	ck_assert_uint_eq(st.foreign, 0);
	ck_assert_uint_eq(c.tup[1].dir, 'Q');
	ck_assert_uint_eq(c.tup[1].state, 'Z');
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(nsg_v1_v2_and_switch)
{
	char *j = J("{'records':[" NSG(2, "'1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D,B,,,,',"
	                                  "'1487282370,10.1.0.4,40.83.2.2,49675,443,T,O,A,E,22,8932,29,12891',"
	                                  "'1487282371,10.1.0.4,40.83.2.2,49675,443,U,O,A,C,0,0,0,0'")
	            "," NSG(1, "'1487282492,175.182.69.29,10.1.0.4,28918,5358,T,I,D',"
	                       "'1487282505,100.66.171.28,10.1.0.4,63813,3389,U,I,A',"
	                       "'1487282506,100.66.171.28,10.1.0.4,63813,3389,47,I,A',"
	                       "'1487282507,100.66.171.28,10.1.0.4,63813,3389,T,I,A,B,,,,'") "]}");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.nrec, 2);
	ck_assert_int_eq(c.rec[0].kind, FLT_KIND_NSG2);
	ck_assert_int_eq(c.rec[0].version, 2);
	ck_assert_int_eq(c.rec[1].kind, FLT_KIND_NSG1);
	ck_assert_int_eq(c.rec[1].version, 1);
	ck_assert_uint_eq(c.ntup, 6);
	const flt_rec *r = &c.tup[0];
	ck_assert_int_eq(r->time_ms, 1487282421000LL);
	ck_assert_uint_eq(r->proto, 6);
	ck_assert_uint_eq(r->dir, 'I');
	ck_assert_uint_eq(r->action, 'D');
	ck_assert_uint_eq(r->state, 'B');
	ck_assert_uint_eq(r->flags, 0);
	ck_assert_uint_eq(r->kind, FLT_KIND_NSG2);
	ck_assert_uint_eq(r->version, 2);
	ck_assert_uint_eq(r->enc, FLT_ENC_NONE);
	ck_assert_str_eq(S(&c, r->rule), "UserRule_default-allow-rdp");
	ck_assert_uint_eq(r->acl, 0);
	ck_assert_str_eq(S(&c, r->mac), "000D3AF87857");
	ck_assert_str_eq(S(&c, r->flowlog), "/SUBSCRIPTIONS/S/NSG/N");
	ck_assert_uint_eq(r->target, 0);
	r = &c.tup[1];
	ck_assert_uint_eq(r->action, 'A');
	ck_assert_uint_eq(r->state, 'E');
	ck_assert_uint_eq(r->flags, FLT_F_COUNTERS);
	ck_assert_uint_eq(r->bytes_ds, 12891);
	ck_assert_uint_eq(c.tup[2].proto, 17);
	ck_assert_uint_eq(c.tup[2].flags, FLT_F_COUNTERS);
	r = &c.tup[3];
	ck_assert_uint_eq(r->kind, FLT_KIND_NSG1);
	ck_assert_uint_eq(r->version, 1);
	ck_assert_uint_eq(r->state, 0);
	ck_assert_uint_eq(r->flags, 0);
	ck_assert_uint_eq(r->action, 'D');
	ck_assert_uint_eq(r->ordinal, 4);
	ck_assert_uint_eq(c.tup[5].proto, 47);
	/* a 13-field tuple in a Version 1 record is bad */
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_BAD_TUPLE);
	ck_assert_uint_eq(c.pr[0].off, off_of(j, "\"1487282507", 0));
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(nsg_top_level_mac_and_version_absent)
{
	char *j = J("{'records':[{'time':'2020-07-08T20:04:43Z','macAddress':'00-0d-3a-d5-3b-86',"
	            "'category':'NetworkSecurityGroupFlowEvent','resourceid':'/NSG/X',"
	            "'properties':{'flows':[{'rule':'r','flows':[{'flowTuples':["
	            "'1594238683,10.0.0.4,10.0.0.5,1,2,T,O,A','1594238683,10.0.0.4,10.0.0.5,1,2,T,O,A,E,1,2,3,4']}]}]}}]}");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 2);
	ck_assert_int_eq(c.rec[0].version, 0);
	ck_assert_str_eq(S(&c, c.tup[0].mac), "000D3AD53B86");
	ck_assert_str_eq(S(&c, c.tup[0].flowlog), "/NSG/X");
	ck_assert_uint_eq(c.tup[0].kind, FLT_KIND_NSG1);
	ck_assert_uint_eq(c.tup[1].kind, FLT_KIND_NSG2);
	ck_assert_uint_eq(c.tup[1].version, 2);
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(ipv6_spellings_give_identical_bytes)
{
	static const char *const sp[] = {"2001:db8::1", "2001:DB8::1", "2001:0db8:0:0:0:0:0:1",
		"[2001:db8::1]", "2001:db8:0000::0001", "2001:db8::0.0.0.1"};
	flt_rec first;
	for (int k = 0; k < 6; k++) {
		char t[2048];
		snprintf(t, sizeof t, VNET("'1663146003599,%s,fe80::1,1,2,6,O,B,NX,0,0,0,0'"), sp[k]);
		char *j = J(t);
		coll c;
		scan_str(j, &c);
		ck_assert_uint_eq(c.ntup, 1);
		char buf[IP_STRLEN];
		ip_format(c.tup[0].src, buf);
		ck_assert_str_eq(buf, "2001:db8::1");
		if (k == 0)
			first = c.tup[0];
		ck_assert_mem_eq(first.src, c.tup[0].src, 16);
		ck_assert_mem_eq(first.dst, c.tup[0].dst, 16);
		coll_free(&c);
		free(j);
	}
}
END_TEST

START_TEST(mac_spellings)
{
	static const char *const in[][2] = {
		{"00224871C205", "00224871C205"}, {"0022487bC205", "0022487BC205"},
		{"00-22-48-71-C2-05", "00224871C205"}, {"00:22:48:71:c2:05", "00224871C205"},
		{"0022.4871.c205", "00224871C205"}, {"unknown", "unknown"}, {"00224871C2", "00224871C2"},
		{"00224871C205FF", "00224871C205FF"}, {"", ""},
	};
	for (int k = 0; k < 9; k++) {
		char t[1024];
		snprintf(t, sizeof t, "{'macAddress':'%s','flowRecords':{'flows':[{'flowGroups':[{'flowTuples':"
		         "['1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0']}]}]}}", in[k][0]);
		char *j = J(t);
		coll c;
		scan_str(j, &c);
		ck_assert_uint_eq(c.ntup, 1);
		ck_assert_str_eq(S(&c, c.tup[0].mac), in[k][1]);
		ck_assert_uint_eq(c.tup[0].rule, 0);
		ck_assert_uint_eq(c.tup[0].acl, 0);
		ck_assert_uint_eq(c.tup[0].version, 4); /* flowLogVersion absent */
		coll_free(&c);
		free(j);
	}
}
END_TEST

/* One record spelled in many container shapes: same tuples every time. */
START_TEST(container_shapes)
{
	const char *rec = VNET("'1663146003599,10.0.0.6,192.0.2.180,23956,443,6,O,B,NX,0,0,0,0',"
	                       "'1663146003606,10.0.0.6,192.0.2.180,23956,443,6,O,E,NX,3,767,2,1580'");
	char *r = J(rec);
	char *shp[12];
	size_t len = strlen(r);
	char *b;
	int ns = 0;
	b = fl_xmalloc(len + 64); sprintf(b, "{\"records\":[%s]}", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "%s", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "\xEF\xBB\xBF{\"records\":[%s]}", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "[%s]", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "{\"records\":[{\"records\":[%s]}]}", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "\r\n\t {\r\n\t\"records\"\t:\r\n[\r\n%s\r\n]\r\n}\r\n", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "%s\n", r); shp[ns++] = b;
	b = fl_xmalloc(len + 64); sprintf(b, "{\"records\":[%s],\"extra\":{\"a\":[1,{\"time\":2}]}}", r); shp[ns++] = b;
	for (int k = 0; k < ns; k++) {
		coll c;
		scan_str(shp[k], &c);
		ck_assert_msg(c.ntup == 2 && c.nrec == 1 && c.npr == 0 && c.nforeign == 0,
		              "shape %d: %zu tuples %zu records %zu problems", k, c.ntup, c.nrec, c.npr);
		ck_assert_uint_eq(c.tup[1].bytes_ds, 1580);
		coll_free(&c);
		free(shp[k]);
	}
	/* JSON Lines and concatenated objects: ordinals keep counting */
	b = fl_xmalloc(3 * len + 8);
	sprintf(b, "%s\n%s%s", r, r, r);
	coll c;
	scan_str(b, &c);
	ck_assert_uint_eq(c.ntup, 6);
	ck_assert_uint_eq(c.nrec, 3);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_uint_eq(c.tup[5].ordinal, 6);
	ck_assert_uint_eq(c.rec[1].offset, len + 1);
	coll_free(&c);
	free(b);
	free(r);
}
END_TEST

START_TEST(key_orders_and_tutorial_shape)
{
	/* the Microsoft tutorial: resourceId with '//', no targetResourceID, tabs, seconds */
	char *j = J("{\n\t'records': [\n\t\t{\n\t\t\t'time': '2025-08-06T20:40:01.123Z',\n"
	            "\t\t\t'flowLogGUID': '00000000-0000-0000-0000-000000000000',\n"
	            "\t\t\t'macAddress': '000D3A1B2C3D',\n\t\t\t'category': 'FlowLogFlowEvent',\n"
	            "\t\t\t'resourceId': '/SUBSCRIPTIONS/X//FLOWLOGS/MYFL',\n"
	            "\t\t\t'flowRecords': {\n\t\t\t\t'flows': [ {\n\t\t\t\t\t'flowGroups': [ {\n"
	            "\t\t\t\t\t\t'flowTuples': [ '1754512773,10.0.0.4,203.0.113.5,50000,443,6,O,B,NX,0,0,0,0'  ,\n"
	            "\t\t\t\t\t\t\t'1754512774,10.0.0.4,203.0.113.5,50000,443,6,O,E,NX,5,500,4,4000' \t ],\n"
	            "\t\t\t\t\t\t'rule': 'DefaultRule_AllowInternetOutBound' } ],\n"
	            "\t\t\t\t\t'aclID': '00000000-0000-0000-0000-000000000000' } ]\n\t\t\t},\n"
	            "\t\t\t'flowLogVersion': 4, 'operationName': 'FlowLogFlowEvent'\n\t\t}\n\t]\n}\n");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 2);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_str_eq(S(&c, c.tup[0].flowlog), "/SUBSCRIPTIONS/X//FLOWLOGS/MYFL");
	ck_assert_uint_eq(c.tup[0].target, 0);
	ck_assert_str_eq(S(&c, c.tup[1].rule), "DefaultRule_AllowInternetOutBound");
	ck_assert_str_eq(S(&c, c.tup[1].acl), "00000000-0000-0000-0000-000000000000");
	ck_assert_int_eq(c.tup[0].time_ms, 1754512773000LL);
	ck_assert_uint_eq(c.tup[1].bytes_ds, 4000);
	coll_free(&c);
	free(j);

	/* escapes in strings are decoded; unknown keys of every type are skipped */
	j = J("{'zz':{'a':[1,2,{'b':null}],'c':true},'flowRecords':{'x':-1.5e3,'flows':[{'flowGroups':"
	      "[{'flowTuples':['1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0'],'rule':'caf\\u00e9\\/\\\"x\\\"'}],"
	      "'aclID':'a\\\\b'}]},'macAddress':'00224871C205','targetResourceID':'t','flowLogResourceID':'f'}");
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 1);
	ck_assert_str_eq(S(&c, c.tup[0].rule), "caf\xC3\xA9/\"x\"");
	ck_assert_str_eq(S(&c, c.tup[0].acl), "a\\b");
	ck_assert_str_eq(S(&c, c.tup[0].target), "t");
	ck_assert_str_eq(S(&c, c.tup[0].flowlog), "f");
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(foreign_objects)
{
	char *j = J("{'time':'2024-01-01T00:00:00Z','resourceId':'/X','category':'AppServiceHTTPLogs','properties':{'a':1}}\n"
	            "{'time':'2024-01-01T00:00:01Z','category':'AuditEvent','properties':{'flows':'no'}}\n"
	            "[{'__criblEventType':'event','__raw':'{\\\"time\\\":\\\"x\\\",\\\"flowRecords\\\":{}}'}]\n");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 0);
	ck_assert_uint_eq(c.nrec, 0);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_uint_eq(c.nforeign, 3);
	ck_assert_str_eq(c.foreign[0], "AppServiceHTTPLogs");
	ck_assert_str_eq(c.foreign[1], "AuditEvent");
	ck_assert_str_eq(c.foreign[2], "no category");
	coll_free(&c);
	free(j);

	/* other logs may nest {"time":"..."}: that is not a seam outside flow-log records */
	j = J("{'time':'2024-01-01T00:00:00Z','category':'AuditEvent','properties':{'x':{'time':'2024'}}}");
	scan_str(j, &c);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_uint_eq(c.nforeign, 1);
	coll_free(&c);
	free(j);
}
END_TEST

/* ---- damage -------------------------------------------------------------- */

#define T1 "'1663146003599,10.0.0.6,192.0.2.180,23956,443,6,O,B,NX,0,0,0,0'"
#define T2 "'1663146003606,10.0.0.6,192.0.2.180,23956,443,6,O,E,NX,3,767,2,1580'"
#define T3 "'1663146003700,10.0.0.6,192.0.2.181,23957,443,6,O,B,NX,0,0,0,0'"

START_TEST(damage_truncated_wrapper)
{
	char *j = J("{'records':[" VNET(T1) "," VNET(T2) "\n");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 2);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_TRUNCATED);
	ck_assert_uint_eq(c.pr[0].off, strlen(j));
	ck_assert_int_eq(c.rec[1].complete, 1);
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(damage_record_cut_at_eof)
{
	/* cut inside the third tuple string: two complete tuples come out */
	char *full = J("{'records':[" VNET(T1 "," T2) "," VNET(T1 "," T2 "," T3) "]}");
	size_t cut = off_of(full, "1663146003700", 0) + 5;
	char *j = fl_xmalloc(cut + 1);
	memcpy(j, full, cut);
	j[cut] = 0;
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.nrec, 2);
	ck_assert_uint_eq(c.ntup, 4);
	ck_assert_int_eq(c.rec[0].complete, 1);
	ck_assert_int_eq(c.rec[1].complete, 0);
	ck_assert_uint_eq(c.rec[1].ntuples, 2);
	ck_assert_str_eq(S(&c, c.tup[3].rule), "R1");
	ck_assert_str_eq(S(&c, c.tup[3].mac), "00224871C205");
	ck_assert_uint_eq(c.tup[3].ordinal, 4);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_TRUNCATED);
	ck_assert_uint_eq(c.pr[0].off, cut);
	coll_free(&c);

	/* cut right after a complete tuple string */
	cut = off_of(full, "1663146003700", 0) - 2;
	j[cut] = 0;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 4);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_uint_eq(c.pr[0].off, cut);
	coll_free(&c);
	free(j);
	free(full);
}
END_TEST

START_TEST(damage_seam_inside_record)
{
	/* a range read: record 2 stops mid-string, record 3 follows directly */
	char *a = J("{'records':[" VNET(T1) "," VNET(T2 "," T3));
	size_t cut = off_of(a, "1663146003700", 0) + 7;
	char *b = J(VNET(T3) "]}");
	char *j = fl_xmalloc(cut + strlen(b) + 2);
	memcpy(j, a, cut);
	j[cut] = ',';
	strcpy(j + cut + 1, b);
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.nrec, 3);
	ck_assert_uint_eq(c.ntup, 3);
	ck_assert_int_eq(c.rec[1].complete, 0);
	ck_assert_int_eq(c.rec[2].complete, 1);
	ck_assert_uint_eq(c.rec[2].offset, cut + 1);
	ck_assert_uint_eq(c.tup[1].ordinal, 2);
	ck_assert_uint_eq(c.tup[2].ordinal, 3);
	ck_assert_int_eq(c.tup[2].time_ms, 1663146003700LL);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SEAM);
	ck_assert_uint_eq(c.pr[0].off, cut + 1);
	coll_free(&c);

	/* the same, cut between tokens (outside any string), pretty spacing */
	cut = off_of(a, "\"1663146003700", 0);
	free(j);
	j = fl_xmalloc(cut + strlen(b) + 8);
	memcpy(j, a, cut);
	strcpy(j + cut, "\n  ");
	strcat(j, b);
	scan_str(j, &c);
	ck_assert_uint_eq(c.nrec, 3);
	ck_assert_uint_eq(c.ntup, 3);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SEAM);
	ck_assert_uint_eq(c.pr[0].off, cut + 3);
	coll_free(&c);
	free(a);
	free(b);
	free(j);
}
END_TEST

START_TEST(damage_comma_seams)
{
	/* a block read from the middle of a blob */
	char *j = J("," VNET(T1) "," VNET(T2) "]}");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 2);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SEAM);
	ck_assert_uint_eq(c.pr[0].off, 0);
	coll_free(&c);
	free(j);

	j = J("{'records':[" VNET(T1) ",," VNET(T2) "]}");
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 2);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SEAM);
	ck_assert_uint_eq(c.pr[0].off, off_of(j, ",,", 0) + 1);
	coll_free(&c);
	free(j);

	j = J("{'records':[," VNET(T1) "]}");
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 1);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SEAM);
	ck_assert_uint_eq(c.pr[0].off, 12);
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(damage_trailing_commas)
{
	char *j = J("{'records':[" VNET(T1 "," T2 ",\n ") "," VNET(T3) ",\n]}");
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 3);
	ck_assert_uint_eq(c.npr, 2);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SYNTAX);
	ck_assert_uint_eq(c.pr[0].off, off_of(j, "\",\n ]", 0) + 1);
	ck_assert_int_eq(c.pr[1].kind, FJ_PROB_SYNTAX);
	ck_assert_uint_eq(c.pr[1].off, off_of(j, ",\n]}", 0));
	coll_free(&c);
	free(j);

	j = J("{'records':[{'time':'x','flowRecords':{'flows':[{'flowGroups':[{'flowTuples':[" T1 "],},],},],},},]}");
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 1);
	ck_assert_uint_eq(c.npr, 2); /* one per record, one for the wrapper */
	ck_assert_uint_eq(c.pr[0].off, off_of(j, "],}", 0) + 1);
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(damage_bad_tuples)
{
	static const char *const bad[] = {
		"xxx.xxx.xxx.xxx,10.0.0.1,1,2,6,O,B,NX,0,0,0,0",
		"10.0.0.1,10.0.0.1,1,2,6,O,B,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,x",
		"1,10.0.0.1,10.0.0.2,1,65536,6,O,B,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,256,O,B,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,,B,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,O,BB,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,O,1,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,6,O,B,,0,0,0,0",
		"-1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0",
		"1,10.0.0.1 ,10.0.0.2,1,2,6,O,B,NX,0,0,0,0",
		"1,10.0.0.1,10.0.0.2,1,2,X,O,B,NX,0,0,0,0",
		"",
		"99999999999999999999,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0",
		"1,fe80::1%eth0,10.0.0.2,1,2,6,O,B,NX,0,0,0,0",
	};
	char t[8192] = "{'records':[" VNET_HEAD "'1,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0'";
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		strcat(t, ",'");
		strcat(t, bad[k]);
		strcat(t, "'");
	}
	strcat(t, ",5,'2,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0'" VNET_TAIL "]}");
	char *j = J(t);
	coll c;
	scan_str(j, &c);
	ck_assert_uint_eq(c.ntup, 2);
	ck_assert_uint_eq(c.tup[1].ordinal, sizeof bad / sizeof bad[0] + 3);
	ck_assert_uint_eq(c.npr, sizeof bad / sizeof bad[0] + 1);
	for (size_t k = 0; k < c.npr; k++)
		ck_assert_int_eq(c.pr[k].kind, FJ_PROB_BAD_TUPLE);
	ck_assert_uint_eq(c.pr[0].off, off_of(j, "\"xxx", 0));
	ck_assert_uint_eq(c.pr[c.npr - 1].off, off_of(j, ",5,", 0) + 1);
	coll_free(&c);
	free(j);
}
END_TEST

START_TEST(damage_garbage_never_hangs)
{
	static const char *const inputs[] = {
		"", "]", "}", "]}", "{", "[", "\"", "{\"records\":[", "{\"records\":", "{\"a\":\"\\",
		"}}}]]]{{{", "nul", "{\"time\":{\"time\":{\"time\":", "{\"records\":[{\"records\":[{\"records\":[",
		"\xEF\xBB", "\xEF\xBB\xBF", "{\"records\":[1,\"x\",[{}],null]}", "[[[[[[[[[[[[[[[[[[[[",
	};
	for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
		coll c;
		scan_str(inputs[k], &c);
		ck_assert_uint_eq(c.ntup, 0);
		coll_free(&c);
	}
	/* deep nesting inside a record */
	char *deep = fl_xmalloc(200020);
	strcpy(deep, "{\"a\":");
	for (int i = 0; i < 100000; i++)
		strcat(deep + 5 + i, "[");
	coll c;
	scan_str(deep, &c);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_TRUNCATED);
	coll_free(&c);
	free(deep);
}
END_TEST

/* fj_finish ends a member: the next one starts at offset 0 and ordinal 1,
 * damage does not leak across, stats keep adding up. */
START_TEST(scanner_reuse_across_members)
{
	char *a = J("{'records':[" VNET(T1 "," T2));
	char *b = J("{'records':[" VNET(T3) "]}");
	coll c;
	coll_init(&c, 1);
	fj_callbacks cb = callbacks(&c);
	fj_scanner *s = fj_new(&cb);
	fj_feed(s, a, strlen(a));
	fj_finish(s);
	fj_feed(s, b, 5);
	fj_feed(s, b + 5, strlen(b) - 5);
	fj_finish(s);
	ck_assert_uint_eq(c.ntup, 3);
	ck_assert_uint_eq(c.tup[2].ordinal, 1);
	ck_assert_uint_eq(c.rec[1].offset, 12);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_TRUNCATED);
	const fj_stats *st = fj_get_stats(s);
	ck_assert_uint_eq(st->records, 2);
	ck_assert_uint_eq(st->tuples, 3);
	ck_assert_uint_eq(st->problems, 1);
	fj_free(s);
	fj_free(NULL);
	coll_free(&c);
	free(a);
	free(b);
}
END_TEST

/* ---- hashing and duplicates ---------------------------------------------- */

START_TEST(hash_ignores_whitespace_and_drops_duplicates)
{
	char *a = J("{'records':[" VNET(T1 "," T2) "]}");
	char *b = J("{ 'records' : [ {\n 'time' : '2022-09-14T09:00:52.5625085Z' ,\r\n\t'flowLogVersion':4,"
	            "'flowLogGUID':'66aa66aa-6666-4c4c-8b8b-666666666666','macAddress':'00224871C205',"
	            "'category':'FlowLogFlowEvent','flowLogResourceID':'/SUBSCRIPTIONS/S/FLOWLOGS/FL',"
	            "'targetResourceID':'/subscriptions/s/virtualNetworks/v','operationName':'FlowLogFlowEvent',"
	            "'flowRecords' : { 'flows' : [ { 'aclID' : 'acl-1' , 'flowGroups' : [ { 'rule' : 'R1' ,"
	            " 'flowTuples' : [\n  " T1 " ,\n  " T2 "\n ] } ] } ] } }\n ] }");
	char *d = J("{'records':[" VNET(T1 "," T3) "]}");
	coll ca, cb, cd;
	scan_str(a, &ca);
	scan_str(b, &cb);
	scan_str(d, &cd);
	ck_assert_uint_eq(cb.ntup, 2);
	ck_assert_mem_eq(ca.rec[0].hash, cb.rec[0].hash, 16);
	ck_assert(memcmp(ca.rec[0].hash, cd.rec[0].hash, 16) != 0);
	coll_free(&ca);
	coll_free(&cb);
	coll_free(&cd);

	/* pinned: callers may compare hashes across runs, so the function must not drift */
	char *g = J("{ 'time' : 't',\n 'flowRecords' : { 'flows' : [ ] } }");
	scan_str(g, &ca);
	ck_assert_uint_eq(ca.nrec, 1);
	ck_assert_uint_eq(ca.rec[0].hash[0], 0xbf0caf71c9e4b037ULL);
	ck_assert_uint_eq(ca.rec[0].hash[1], 0xfef1f6a2d385bdc8ULL);
	coll_free(&ca);
	free(g);

	/* the same record twice (overlapping exports): the caller drops the copy,
	 * ordinals still count its tuples */
	char *two = J("{'records':[" VNET(T1 "," T2) "," VNET(T1 "," T2) "," VNET(T3) "]}");
	coll c;
	coll_init(&c, 1);
	c.drop_dups = 1;
	scan(two, strlen(two), CHUNK_RANDOM, &c);
	ck_assert_uint_eq(c.nrec, 3);
	ck_assert_mem_eq(c.rec[0].hash, c.rec[1].hash, 16);
	ck_assert_uint_eq(c.ntup, 3);
	ck_assert_uint_eq(c.tup[2].ordinal, 5);
	coll_free(&c);
	free(a);
	free(b);
	free(d);
	free(two);
}
END_TEST

/* ---- the public samples, read in place ----------------------------------- */

static char *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *b = fl_xmalloc(cap);
	size_t k;
	while ((k = fread(b + len, 1, cap - len, fp)) > 0) {
		len += k;
		if (len == cap)
			b = fl_xrealloc(b, cap *= 2);
	}
	fclose(fp);
	*n = len;
	return b;
}

static char *sample(const char *name, size_t *n)
{
	const char *dir = getenv("SAMPLES");
	char path[4096];
	if (!dir || !*dir)
		return NULL;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return slurp(path, n);
}

#define SAMPLE_OR_SKIP(var, n, name)                                          \
	size_t n;                                                            \
	char *var = sample(name, &n);                                         \
	if (!var) {                                                          \
		fprintf(stderr, "test_flowjson: samples absent, skipped %s\n", name); \
		return;                                                      \
	}

static size_t count_kind(const coll *c, int kind)
{
	size_t k = 0;
	for (size_t i = 0; i < c->npr; i++)
		k += c->pr[i].kind == kind;
	return k;
}

START_TEST(sample_s1_vnet_chshin9)
{
	SAMPLE_OR_SKIP(b, n, "vnet-v4-real-canadaeast-chshin9-PT1H.json");
	coll c;
	scan_all_ways(b, n, &c);
	size_t st[256] = {0}, pr[256] = {0};
	for (size_t i = 0; i < c.ntup; i++) {
		st[c.tup[i].state]++;
		pr[c.tup[i].proto]++;
		ck_assert_uint_eq(c.tup[i].enc, FLT_ENC_NX);
		ck_assert_uint_eq(c.tup[i].ordinal, i + 1);
		ck_assert_int_gt(c.tup[i].time_ms, 1000000000000LL);
	}
	ck_assert_uint_eq(c.ntup, 76);
	ck_assert_uint_eq(c.nrec, 5);
	ck_assert_uint_eq(st['B'], 5);
	ck_assert_uint_eq(st['E'], 5);
	ck_assert_uint_eq(st['D'], 66);
	ck_assert_uint_eq(pr[6], 75);
	ck_assert_uint_eq(pr[17], 1);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_str_eq(S(&c, c.tup[0].mac), "0022486DBA37");
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s2_cribl_envelope)
{
	SAMPLE_OR_SKIP(b, n, "vnet-v4-real-cribl-event-jpederson-YkNkNQ.json");
	coll c;
	scan_all_ways(b, n, &c);
	ck_assert_uint_eq(c.ntup, 0);
	ck_assert_uint_eq(c.nrec, 0);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_uint_eq(c.nforeign, 1);
	ck_assert_str_eq(c.foreign[0], "no category");
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s3_nsg_danifitz)
{
	SAMPLE_OR_SKIP(b, n, "nsg-v2-real-danifitz-PT1H.json");
	coll c;
	scan_all_ways(b, n, &c);
	size_t ab = 0, ae = 0, db = 0, empty_b = 0;
	for (size_t i = 0; i < c.ntup; i++) {
		const flt_rec *r = &c.tup[i];
		ab += r->action == 'A' && r->state == 'B';
		ae += r->action == 'A' && r->state == 'E';
		db += r->action == 'D' && r->state == 'B';
		empty_b += r->state == 'B' && !(r->flags & FLT_F_COUNTERS);
		ck_assert_uint_eq(r->kind, FLT_KIND_NSG2);
	}
	ck_assert_uint_eq(c.ntup, 8203);
	ck_assert_uint_eq(c.nrec, 15);
	ck_assert_uint_eq(ab, 5054);
	ck_assert_uint_eq(ae, 3142);
	ck_assert_uint_eq(db, 7);
	ck_assert_uint_eq(empty_b, 5061);
	ck_assert_uint_eq(c.npr, 0);
	for (size_t i = 1; i < c.nrec; i++) {
		ck_assert_int_eq(c.rec[i].time_ms, c.rec[0].time_ms);
		ck_assert(memcmp(c.rec[i].hash, c.rec[i - 1].hash, 16) != 0);
	}
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s4_nsg_version_switch)
{
	SAMPLE_OR_SKIP(b, n, "nsg-v2-real-abhishekg-PT1H.json");
	coll c;
	scan_all_ways(b, n, &c);
	size_t v2 = 0, v1 = 0;
	uint64_t maxc = 0;
	for (size_t i = 0; i < c.ntup; i++) {
		v2 += c.tup[i].kind == FLT_KIND_NSG2;
		v1 += c.tup[i].kind == FLT_KIND_NSG1;
		if (c.tup[i].bytes_sd > maxc)
			maxc = c.tup[i].bytes_sd;
		if (c.tup[i].bytes_ds > maxc)
			maxc = c.tup[i].bytes_ds;
	}
	ck_assert_uint_eq(c.ntup, 2637);
	ck_assert_uint_eq(v2, 227);
	ck_assert_uint_eq(v1, 2410);
	ck_assert_uint_eq(maxc, 647481);
	ck_assert_uint_eq(c.nrec, 15);
	ck_assert_uint_eq(c.npr, 0);
	/* Version 2 first, then Version 1, never back */
	int seen1 = 0;
	for (size_t i = 0; i < c.nrec; i++) {
		if (c.rec[i].kind == FLT_KIND_NSG1)
			seen1 = 1;
		else
			ck_assert(!seen1);
	}
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s5_redacted)
{
	SAMPLE_OR_SKIP(b, n, "nsg-v1-real-redacted-kongou-PT1H.jsona");
	coll c;
	scan_all_ways(b, n, &c);
	ck_assert_uint_eq(c.ntup, 138);
	ck_assert_uint_eq(c.nrec, 7);
	ck_assert_uint_eq(c.npr, 7);
	ck_assert_uint_eq(count_kind(&c, FJ_PROB_BAD_TUPLE), 7);
	for (size_t i = 0; i < c.npr; i++)
		ck_assert(b[c.pr[i].off] == '"' && !memcmp(b + c.pr[i].off + 12, "xxx.xxx.xxx.xxx,", 16));
	size_t t = 0, u = 0;
	for (size_t i = 0; i < c.ntup; i++) {
		t += c.tup[i].proto == 6;
		u += c.tup[i].proto == 17;
		ck_assert_str_eq(S(&c, c.tup[i].mac), S(&c, c.tup[0].mac));
	}
	ck_assert_uint_eq(t + u, 138);
	ck_assert_uint_eq(c.tup[c.ntup - 1].ordinal, 145);
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s6_s7_msconnector)
{
	SAMPLE_OR_SKIP(b, n, "nsg-v1-real-msconnector-sampleJsonInput.json");
	coll c;
	scan_all_ways(b, n, &c);
	ck_assert_uint_eq(c.ntup, 38);
	ck_assert_uint_eq(c.nrec, 3);
	ck_assert_uint_eq(c.npr, 0);
	coll_free(&c);
	free(b);
	b = sample("nsg-v1-real-msconnector-sampleOfInputV1.json", &n);
	ck_assert_ptr_nonnull(b);
	scan_all_ways(b, n, &c);
	ck_assert_uint_eq(c.ntup, 1187);
	ck_assert_uint_eq(c.nrec, 24);
	ck_assert_uint_eq(c.npr, 0);
	ck_assert_str_eq(S(&c, c.tup[0].mac), "00224803051B");
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s8_trailing_comma)
{
	SAMPLE_OR_SKIP(b, n, "nsg-v2-real-msconnector-AzureNSGFlowLogsv1-INVALID.json");
	coll c;
	scan_all_ways(b, n, &c);
	ck_assert_uint_eq(c.nrec, 1);
	ck_assert_uint_eq(c.ntup, 8);
	ck_assert_uint_eq(c.npr, 1);
	ck_assert_int_eq(c.pr[0].kind, FJ_PROB_SYNTAX);
	ck_assert_int_eq(b[c.pr[0].off], ',');
	ck_assert(!memcmp(b + c.pr[0].off - 7, ",2,126\"", 7));
	ck_assert_uint_eq(c.tup[7].bytes_ds, 126);
	ck_assert_uint_eq(c.tup[0].kind, FLT_KIND_NSG2);
	coll_free(&c);
	free(b);
}
END_TEST

START_TEST(sample_s9_bom_three_records)
{
	SAMPLE_OR_SKIP(b, n, "nsg-v1-synthetic-sebastus-nsgFlowLogsSample.json");
	coll c;
	scan_all_ways(b, n, &c);
	ck_assert_uint_eq(c.nrec, 3);
	ck_assert_uint_eq(c.ntup, 3 * 586);
	ck_assert_uint_eq(c.npr, 0);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(c.rec[i].ntuples, 586);
	/* the tuples are identical, the records are not (their times differ) */
	for (size_t i = 1; i < c.ntup; i++) {
		ck_assert_int_eq(c.tup[i].time_ms, c.tup[0].time_ms);
		ck_assert_mem_eq(c.tup[i].src, c.tup[0].src, 16);
	}
	ck_assert(c.rec[0].time_ms != c.rec[1].time_ms);
	ck_assert(memcmp(c.rec[0].hash, c.rec[1].hash, 16) != 0);
	ck_assert(memcmp(c.rec[1].hash, c.rec[2].hash, 16) != 0);
	coll_free(&c);
	free(b);
}
END_TEST

/* ---- differential: scanner against the jansson reference ----------------- */

static void differential(const char *buf, size_t n, const char *what)
{
	coll s, r;
	coll_init(&s, 0);
	coll_init(&r, 0);
	scan(buf, n, CHUNK_RANDOM, &s);
	fj_callbacks cb = callbacks(&r);
	ck_assert_msg(ref_read(buf, n, &cb) == 0, "%s: not valid JSON for jansson", what);
	if (strcmp(s.log, r.log)) {
		FILE *fp = fopen("build/flowjson-diff.txt", "w");
		if (fp) {
			fprintf(fp, "== scanner\n%s== jansson\n%s", s.log, r.log);
			fclose(fp);
		}
	}
	ck_assert_msg(!strcmp(s.log, r.log), "%s: scanner and jansson disagree", what);
	coll_free(&s);
	coll_free(&r);
}

START_TEST(differential_samples)
{
	const char *dir = getenv("SAMPLES");
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		fprintf(stderr, "test_flowjson: samples absent, differential on samples skipped\n");
		return;
	}
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".json") || strstr(e->d_name, "INVALID"))
			continue;
		char path[4096];
		size_t n;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *b = slurp(path, &n);
		ck_assert_ptr_nonnull(b);
		differential(b, n, e->d_name);
		free(b);
		files++;
	}
	closedir(d);
	ck_assert_int_ge(files, 8);
}
END_TEST

/* A small deterministic generator of valid blobs in many shapes. */
typedef struct gen {
	char *b;
	size_t n, cap;
	int pretty;
	uint64_t ws_rng;
} gen;

static void put(gen *g, const char *s)
{
	size_t k = strlen(s);
	if (g->n + k + 1 > g->cap) {
		g->cap = (g->n + k + 1) * 2;
		g->b = fl_xrealloc(g->b, g->cap);
	}
	memcpy(g->b + g->n, s, k + 1);
	g->n += k;
}

/* Whitespace from its own generator, so pretty and compact hold the same content. */
static void ws(gen *g)
{
	static const char *const w[] = {"", " ", "\n  ", "\r\n\t", "\t", "\n"};
	if (!g->pretty)
		return;
	g->ws_rng = g->ws_rng * 6364136223846793005ULL + 1442695040888963407ULL;
	put(g, w[(g->ws_rng >> 33) % 6]);
}

static void tok(gen *g, const char *s)
{
	ws(g);
	put(g, s);
	ws(g);
}

static void kv(gen *g, const char *k, const char *v)
{
	char t[512];
	snprintf(t, sizeof t, "\"%s\"", k);
	tok(g, t);
	tok(g, ":");
	tok(g, v);
}

static void addr(char *o, size_t cap)
{
	switch (rn(6)) {
	case 0:
		snprintf(o, cap, "2001:db8::%x", rn(65536));
		break;
	case 1:
		snprintf(o, cap, "[FE80::%X:1]", rn(65536));
		break;
	case 2:
		snprintf(o, cap, "::ffff:10.%u.%u.%u", rn(256), rn(256), rn(256));
		break;
	default:
		snprintf(o, cap, "%u.%u.%u.%u", rn(256), rn(256), rn(256), rn(256));
	}
}

static void gen_tuple(gen *g, int nsg, int version)
{
	char s[64], d[64], t[400], cnt[128];
	static const char *const enc[] = {"NX", "NX", "NX", "X", "NX_HW_NOT_SUPPORTED", "NX_FALLBACK", "NX_ODD"};
	addr(s, sizeof s);
	addr(d, sizeof d);
	if (rn(50) == 0)
		strcpy(s, "xxx.xxx.xxx.xxx");
	if (rn(3) == 0)
		strcpy(cnt, ",,,");
	else
		snprintf(cnt, sizeof cnt, "%u,%u,%u,%llu", rn(1000), rn(100000), rn(1000),
		         (unsigned long long)rnd() >> rn(64));
	unsigned long long ts = rn(2) ? 1663146003599ULL + rn(100000) : 1487282421ULL + rn(10000);
	if (!nsg)
		snprintf(t, sizeof t, "\"%llu,%s,%s,%u,%u,%u,%c,%c,%s,%s\"", ts, s, d, rn(65536), rn(65536),
		         rn(4) ? 6 : rn(256), "IOIOX"[rn(5)], "BCEDBCEDQ"[rn(9)], enc[rn(7)], cnt);
	else if (version == 1 || (version == 0 && rn(2)))
		snprintf(t, sizeof t, "\"%llu,%s,%s,%u,%u,%c,%c,%c\"", ts, s, d, rn(65536), rn(65536),
		         "TUTU7"[rn(5)], "IO"[rn(2)], "ADAZ"[rn(4)]);
	else
		snprintf(t, sizeof t, "\"%llu,%s,%s,%u,%u,%c,%c,%c,%c,%s\"", ts, s, d, rn(65536), rn(65536),
		         "TU"[rn(2)], "IO"[rn(2)], "AD"[rn(2)], "BCE"[rn(3)], cnt);
	if (rn(60) == 0)
		strcpy(t, rn(2) ? "\"1,2,3\"" : "42");
	tok(g, t);
}

static void gen_unknown(gen *g)
{
	kv(g, rn(2) ? "operationName" : "systemId", rn(2) ? "\"FlowLogFlowEvent\"" : "[1,2.5e3,{\"time\":null},true,\"a\\\"b\\\\\"]");
}

static void gen_str(char *o, size_t cap, const char *base)
{
	static const char *const tails[] = {"", "_\\u00e9", "\\/x", "_\\\"q\\\"", "", ""};
	snprintf(o, cap, "\"%s%u%s\"", base, rn(5), tails[rn(6)]);
}

static void gen_record(gen *g, int *keys_done)
{
	int nsg = rn(2), version = nsg ? (int)rn(3) : 4;
	char v[128];
	int order[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	for (int i = 7; i > 0; i--) {
		int k = (int)rn((unsigned)i + 1), t = order[i];
		order[i] = order[k];
		order[k] = t;
	}
	tok(g, "{");
	/* real records start with "time"; keep it first most of the time */
	int first = 1;
	if (rn(4)) {
		kv(g, "time", "\"2022-09-14T09:00:52.5625085Z\"");
		first = 0;
	}
	for (int i = 0; i < 8; i++) {
		if (!first)
			tok(g, ",");
		first = 0;
		switch (order[i]) {
		case 0:
			kv(g, "category", nsg ? "\"NetworkSecurityGroupFlowEvent\"" : "\"FlowLogFlowEvent\"");
			break;
		case 1:
			snprintf(v, sizeof v, "\"%s\"", (const char *[]){"00224871C205", "00-0d-3a-12-34-56", "0022487bC205", "zz"}[rn(4)]);
			kv(g, rn(5) ? "macAddress" : "MACADDRESS", v);
			break;
		case 2:
			gen_str(v, sizeof v, "/SUBSCRIPTIONS/X/FL");
			kv(g, nsg || rn(3) == 0 ? (rn(2) ? "resourceId" : "resourceid") : "flowLogResourceID", v);
			break;
		case 3:
			gen_str(v, sizeof v, "/subscriptions/x/vnet");
			kv(g, "targetResourceID", v);
			break;
		case 4:
			if (!nsg && rn(4))
				kv(g, "flowLogVersion", rn(8) ? "4" : "5");
			else
				gen_unknown(g);
			break;
		case 5:
		case 6:
			gen_unknown(g);
			break;
		case 7:
			tok(g, nsg ? "\"properties\"" : "\"flowRecords\"");
			tok(g, ":");
			tok(g, "{");
			if (nsg && version) {
				snprintf(v, sizeof v, "%d", version);
				kv(g, "Version", v);
				tok(g, ",");
			}
			tok(g, "\"flows\"");
			tok(g, ":");
			tok(g, "[");
			for (unsigned f = 0, nf = rn(3) + (rn(8) != 0); f < nf; f++) {
				if (f)
					tok(g, ",");
				tok(g, "{");
				gen_str(v, sizeof v, nsg ? "UserRule_" : "acl-");
				kv(g, nsg ? "rule" : "aclID", v);
				tok(g, ",");
				tok(g, nsg ? "\"flows\"" : "\"flowGroups\"");
				tok(g, ":");
				tok(g, "[");
				for (unsigned k = 0, ng = rn(3); k < ng; k++) {
					if (k)
						tok(g, ",");
					tok(g, "{");
					if (rn(4)) {
						gen_str(v, sizeof v, nsg ? "000D3A00000" : "Rule_");
						kv(g, nsg ? "mac" : "rule", v);
						tok(g, ",");
					}
					tok(g, "\"flowTuples\"");
					tok(g, ":");
					tok(g, "[");
					for (unsigned t = 0, nt = rn(6); t < nt; t++) {
						if (t)
							tok(g, ",");
						gen_tuple(g, nsg, version);
					}
					tok(g, "]");
					tok(g, "}");
				}
				tok(g, "]");
				tok(g, "}");
			}
			tok(g, "]");
			tok(g, "}");
			break;
		}
	}
	tok(g, "}");
	(*keys_done)++;
}

static void gen_foreign(gen *g)
{
	tok(g, "{");
	kv(g, "time", "\"2024-01-01T00:00:00Z\"");
	tok(g, ",");
	kv(g, "category", rn(2) ? "\"AuditEvent\"" : "\"AppServiceHTTPLogs\"");
	tok(g, ",");
	kv(g, "properties", "{\"a\":[1,{\"b\":\"c\"}]}");
	tok(g, "}");
}

static void gen_blob(gen *g, unsigned shape)
{
	int nrec = 0;
	unsigned n = 1 + rn(6);
	switch (shape % 5) {
	case 0: /* the Azure wrapper */
	case 1: /* wrapper with a nested wrapper element (the doc-sample quirk) */
		tok(g, "{\"records\":[");
		for (unsigned i = 0; i < n; i++) {
			if (i)
				tok(g, ",");
			if (shape % 5 == 1 && i == 1) {
				tok(g, "{\"records\":[");
				gen_record(g, &nrec);
				tok(g, "]}");
			} else {
				gen_record(g, &nrec);
			}
		}
		tok(g, "]}");
		break;
	case 2: /* JSON Lines, with foreign lines mixed in */
		for (unsigned i = 0; i < n; i++) {
			if (rn(4) == 0)
				gen_foreign(g);
			else
				gen_record(g, &nrec);
			put(g, "\n");
		}
		break;
	case 3: /* a top-level array */
		tok(g, "[");
		for (unsigned i = 0; i < n; i++) {
			if (i)
				tok(g, ",");
			gen_record(g, &nrec);
		}
		tok(g, "]");
		break;
	default: /* a bare record */
		gen_record(g, &nrec);
		break;
	}
}

START_TEST(differential_generated)
{
	for (unsigned seed = 1; seed <= 600; seed++) {
		gen g = {0}, h = {0};
		char what[64];
		rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
		g.pretty = seed % 2;
		g.ws_rng = seed;
		gen_blob(&g, seed);
		snprintf(what, sizeof what, "generated blob %u", seed);
		differential(g.b, g.n, what);

		/* the same content compact: every record hash must match */
		rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
		h.pretty = 0;
		gen_blob(&h, seed);
		coll a, b;
		coll_init(&a, 1);
		coll_init(&b, 1);
		scan(g.b, g.n, CHUNK_RANDOM, &a);
		scan(h.b, h.n, 1, &b);
		ck_assert_uint_eq(a.nrec, b.nrec);
		ck_assert_uint_eq(a.ntup, b.ntup);
		for (size_t i = 0; i < a.nrec; i++)
			ck_assert_mem_eq(a.rec[i].hash, b.rec[i].hash, 16);
		coll_free(&a);
		coll_free(&b);
		free(g.b);
		free(h.b);
	}
}
END_TEST

/* ---- the tuple parser against an independent one ------------------------ */

/* Deliberately different code: split, strtoull, inet_pton. */
static int ref_num(const char *f, size_t maxlen, unsigned long long max, unsigned long long *v)
{
	size_t n = strlen(f);
	if (n == 0 || n > maxlen || strspn(f, "0123456789") != n)
		return -1;
	errno = 0;
	*v = strtoull(f, NULL, 10);
	return errno || *v > max ? -1 : 0;
}

static int ref_addr(const char *f, uint8_t out[16])
{
	char b[80];
	size_t n = strlen(f);
	if (n >= sizeof b)
		return -1;
	if (inet_pton(AF_INET, f, out + 12) == 1) {
		memcpy(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		return 0;
	}
	if (n >= 2 && f[0] == '[' && f[n - 1] == ']') {
		memcpy(b, f + 1, n - 2);
		b[n - 2] = 0;
	} else {
		strcpy(b, f);
	}
	return inet_pton(AF_INET6, b, out) == 1 ? 0 : -1;
}

static int ref_letter(const char *f)
{
	return strlen(f) == 1 && ((f[0] >= 'A' && f[0] <= 'Z') || (f[0] >= 'a' && f[0] <= 'z')) ? f[0] : -1;
}

static int ref_counters(char **f, flt_rec *r)
{
	unsigned long long v[4];
	int empty = 0;
	for (int k = 0; k < 4; k++)
		empty += f[k][0] == 0;
	if (empty == 4) {
		r->flags = 0;
		r->pkts_sd = r->bytes_sd = r->pkts_ds = r->bytes_ds = 0;
		return 0;
	}
	for (int k = 0; k < 4; k++)
		if (ref_num(f[k], 20, UINT64_MAX, &v[k]))
			return -1;
	r->pkts_sd = v[0];
	r->bytes_sd = v[1];
	r->pkts_ds = v[2];
	r->bytes_ds = v[3];
	r->flags = FLT_F_COUNTERS;
	return 0;
}

static int ref_tuple(const char *in, int kind, flt_rec *r)
{
	static const char *const enc[] = {"X", "NX", "NX_HW_NOT_SUPPORTED", "NX_SW_NOT_READY",
		"NX_NOT_ACCEPTED", "NX_NOT_SUPPORTED", "NX_LOCAL_DST", "NX_FALLBACK"};
	char buf[600], *f[32];
	int nf = 0;
	unsigned long long ts, sp, dp, pr;
	if (strlen(in) >= sizeof buf)
		return -1;
	strcpy(buf, in);
	for (char *p = buf;; p++) {
		if (nf == 32)
			return -1;
		f[nf++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p = 0;
	}
	if (kind == FJ_KIND_NSG_AUTO)
		kind = nf == 8 ? FLT_KIND_NSG1 : FLT_KIND_NSG2;
	if (nf != (kind == FLT_KIND_NSG1 ? 8 : 13))
		return -1;
	if (ref_num(f[0], 20, (unsigned long long)INT64_MAX / 1000 * 1000, &ts) ||
	    ref_addr(f[1], r->src) || ref_addr(f[2], r->dst) || ref_num(f[3], 5, 65535, &sp) ||
	    ref_num(f[4], 5, 65535, &dp) || ref_letter(f[6]) < 0)
		return -1;
	if (!strcmp(f[5], "T"))
		pr = 6;
	else if (!strcmp(f[5], "U"))
		pr = 17;
	else if (ref_num(f[5], 5, 255, &pr))
		return -1;
	r->time_ms = ts >= 100000000000ULL ? (int64_t)ts : (int64_t)ts * 1000;
	r->sport = (uint16_t)sp;
	r->dport = (uint16_t)dp;
	r->proto = (uint8_t)pr;
	r->dir = (uint8_t)f[6][0];
	r->kind = (uint8_t)kind;
	r->enc = FLT_ENC_NONE;
	if (kind == FLT_KIND_VNET) {
		if (ref_letter(f[7]) < 0 || !f[8][0])
			return -1;
		r->state = (uint8_t)f[7][0];
		r->action = r->state == 'D' ? 'D' : 'A';
		r->enc = FLT_ENC_OTHER;
		for (int k = 0; k < 8; k++)
			if (!strcmp(f[8], enc[k]))
				r->enc = (uint8_t)(FLT_ENC_X + k);
		return ref_counters(f + 9, r);
	}
	if (ref_letter(f[7]) < 0)
		return -1;
	r->action = (uint8_t)f[7][0];
	if (kind == FLT_KIND_NSG1) {
		r->state = 0;
		r->flags = 0;
		r->pkts_sd = r->bytes_sd = r->pkts_ds = r->bytes_ds = 0;
		return 0;
	}
	if (ref_letter(f[8]) < 0)
		return -1;
	r->state = (uint8_t)f[8][0];
	return ref_counters(f + 9, r);
}

START_TEST(tuple_parser_matches_independent_reference)
{
	static const char *const tmpl[] = {
		"1663146003599,10.0.0.6,192.0.2.180,23956,443,6,O,B,NX,0,0,0,0",
		"1663146003606,10.0.0.6,192.0.2.180,23956,443,6,O,E,NX,3,767,2,1580",
		"1708978215,203.0.113.105,10.0.0.5,35370,23,6,I,B,NX,,,,",
		"1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D,B,,,,",
		"1487282370,10.1.0.4,40.83.2.2,49675,443,U,O,A,E,22,8932,29,12891",
		"1487282492,175.182.69.29,10.1.0.4,28918,5358,T,I,D",
		"1,2001:db8::1,[::ffff:1.2.3.4],1,2,17,I,C,NX_LOCAL_DST,1,2,3,4",
		"99999999999,::,fe80::1:2,65535,0,255,O,D,X,18446744073709551615,0,0,0",
	};
	static const char alphabet[] = ",.:0123456789TUABCDEIOXNx[]f -_";
	rng_state = 12345;
	for (int it = 0; it < 200000; it++) {
		char t[600];
		strcpy(t, tmpl[rn(8)]);
		for (unsigned m = rn(4); m > 0; m--) {
			size_t n = strlen(t), at = rn((unsigned)n + 1);
			switch (rn(4)) {
			case 0: /* replace */
				if (at < n)
					t[at] = alphabet[rn(sizeof alphabet - 1)];
				break;
			case 1: /* delete */
				if (at < n)
					memmove(t + at, t + at + 1, n - at);
				break;
			case 2: /* insert */
				if (n + 2 < sizeof t) {
					memmove(t + at + 1, t + at, n - at + 1);
					t[at] = alphabet[rn(sizeof alphabet - 1)];
				}
				break;
			default: /* digits grow */
				if (n + 8 < sizeof t) {
					memmove(t + at + 6, t + at, n - at + 1);
					memcpy(t + at, "999999", 6);
				}
			}
		}
		for (int kind = 1; kind <= 4; kind++) {
			flt_rec a, b;
			memset(&a, 0, sizeof a);
			memset(&b, 0, sizeof b);
			int ra = fj_parse_tuple(t, strlen(t), kind, &a, NULL);
			int rb = ref_tuple(t, kind, &b);
			ck_assert_msg(ra == rb, "'%s' kind %d: scanner %d reference %d", t, kind, ra, rb);
			if (ra)
				continue;
			ck_assert_msg(a.time_ms == b.time_ms && !memcmp(a.src, b.src, 16) &&
			              !memcmp(a.dst, b.dst, 16) && a.sport == b.sport && a.dport == b.dport &&
			              a.proto == b.proto && a.dir == b.dir && a.state == b.state &&
			              a.action == b.action && a.enc == b.enc && a.kind == b.kind &&
			              a.flags == b.flags && a.pkts_sd == b.pkts_sd && a.bytes_sd == b.bytes_sd &&
			              a.pkts_ds == b.pkts_ds && a.bytes_ds == b.bytes_ds,
			              "'%s' kind %d: fields differ", t, kind);
		}
	}
}
END_TEST

/* ---- fuzz regressions ------------------------------------------------------ */

START_TEST(fuzz_regressions)
{
	const char *dir = "tests/fuzz/regress-flowjson";
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "test_flowjson: %s absent, skipped\n", dir);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		size_t n;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *b = slurp(path, &n);
		if (!b)
			continue;
		coll c;
		scan_all_ways(b, n, &c);
		coll_free(&c);
		free(b);
	}
	closedir(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flowjson");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, vnet_every_field);
	tcase_add_test(tc, vnet_seconds_empty_counters_and_encryption);
	tcase_add_test(tc, vnet_stats);
	tcase_add_test(tc, nsg_v1_v2_and_switch);
	tcase_add_test(tc, nsg_top_level_mac_and_version_absent);
	tcase_add_test(tc, ipv6_spellings_give_identical_bytes);
	tcase_add_test(tc, mac_spellings);
	tcase_add_test(tc, container_shapes);
	tcase_add_test(tc, key_orders_and_tutorial_shape);
	tcase_add_test(tc, foreign_objects);
	tcase_add_test(tc, damage_truncated_wrapper);
	tcase_add_test(tc, damage_record_cut_at_eof);
	tcase_add_test(tc, damage_seam_inside_record);
	tcase_add_test(tc, damage_comma_seams);
	tcase_add_test(tc, damage_trailing_commas);
	tcase_add_test(tc, damage_bad_tuples);
	tcase_add_test(tc, damage_garbage_never_hangs);
	tcase_add_test(tc, scanner_reuse_across_members);
	tcase_add_test(tc, hash_ignores_whitespace_and_drops_duplicates);
	tcase_add_test(tc, sample_s1_vnet_chshin9);
	tcase_add_test(tc, sample_s2_cribl_envelope);
	tcase_add_test(tc, sample_s3_nsg_danifitz);
	tcase_add_test(tc, sample_s4_nsg_version_switch);
	tcase_add_test(tc, sample_s5_redacted);
	tcase_add_test(tc, sample_s6_s7_msconnector);
	tcase_add_test(tc, sample_s8_trailing_comma);
	tcase_add_test(tc, sample_s9_bom_three_records);
	tcase_add_test(tc, differential_samples);
	tcase_add_test(tc, differential_generated);
	tcase_add_test(tc, tuple_parser_matches_independent_reference);
	tcase_add_test(tc, fuzz_regressions);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
