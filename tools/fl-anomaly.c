/*
 * fl-anomaly - findings worth a look, each with its evidence.  It never
 * says traffic is good or bad: it says which rule fired, with which
 * numbers, and which tuples (archive, member, ordinal) are behind it.  See
 * man/fl-anomaly.1 for the rules, thresholds and the policy format.
 *
 * Two passes over the input.  The first feeds the edge aggregation of
 * flowgraph.h (bounded by --max-memory, spilling to disk) and three
 * edgeagg tables of our own, each capped the same way: the country of each
 * public source, the sample of connection start times of each edge from a
 * workload to the outside (beaconing), and the subscriptions/tenants of
 * each cross-boundary edge.  The detectors run on the folded edges.  The
 * second pass reads the input again (a pipe was spooled to a self-deleting
 * temporary file by spool.c) and keeps the top tuples of every finding.
 * What stays in memory besides the edges: one small entry per internal
 * address (its VM, subscription and tenant names) and the findings.
 */
#include "anomaly.h"
#include "apps.h"
#include "cli.h"
#include "textin.h"
#include "textfmt.h"
#include "edgeagg.h"
#include "flowgraph.h"
#include "flt.h"
#include "ip.h"
#include "spool.h"
#include "strpool.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum sev { SEV_HIGH, SEV_MEDIUM, SEV_LOW };
static const char *const sev_names[] = { "high", "medium", "low" };

/* How the second pass recognises a finding's tuples. */
enum match { M_INBOUND, M_EDGE, M_PAIR, M_SRC, M_DST };
/* Evidence order: the heaviest tuples, or the first ones. */
enum evorder { EV_BYTES, EV_FIRST };

#define EV_MAX 20

typedef struct ev {
	int64_t time;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto, dir, state, action;
	uint64_t bytes_sd, bytes_ds;
	uint32_t archive, member, ordinal; /* archive/member: ids in the string pool */
} ev;

typedef struct finding {
	int kind, sev;
	char rule[48];
	char headline[600];
	char why[1024];
	uint8_t src[16], dst[16];
	int has_src, has_dst;
	int dport, proto;        /* -1 when they do not apply */
	char country[4];
	int match, order;
	int beacon_only;         /* evidence: connection starts (B) only */
	json_t *subject, *metrics;
	int64_t first, last;
	ev ev[EV_MAX];
	size_t nev;
	size_t chain[2];         /* next finding under the same key, +1 (0 = none) */
} finding;

/* One internal address: names learned from fl-join-subs columns. */
typedef struct addrinfo {
	uint8_t addr[16];
	uint32_t vm, sub, tenant;  /* string pool ids */
	int used;
} addrinfo;

/* Column indexes of the current segment, -1 when absent. */
enum { C_SRC_COUNTRY, C_SRC_VM, C_DST_VM, C_SRC_SUB, C_DST_SUB, C_SRC_TENANT, C_DST_TENANT,
       C_FLOW_TYPE, C_N };
static const char *const col_names[C_N] = { "src_country", "src_vm", "dst_vm", "src_sub", "dst_sub",
	                                    "src_tenant", "dst_tenant", "flow_type" };

/* Value of the cross-boundary table: string pool ids, stable per edge. */
typedef struct xval {
	uint32_t src_sub, dst_sub, src_tenant, dst_tenant, type;
} xval;

#define EDGE_KEY 35 /* src, dst, dport (big-endian), proto */

typedef struct state {
	/* options */
	unsigned on;
	double th[TH_COUNT];
	an_policy pol;
	int have_policy;
	const char *baseline_path;
	int jsonl;
	size_t nevidence;
	size_t max_memory;
	apps_opts shared;
	/* pass 1 */
	flowgraph *g;
	agg *countries, *beacons, *cross;
	strpool *pool;
	addrinfo *ai;
	size_t ai_cap, ai_n;
	int col[C_N];
	uint32_t *cache;         /* dictionary id -> pool id + 1 for the current segment */
	size_t cache_n;
	uint64_t cache_epoch;
	int seen_country, seen_subs;
	uint32_t rule_id;        /* last rule id checked, and whether it is PlatformRule */
	uint64_t rule_epoch;
	int rule_platform;
	uint64_t platform;       /* tuples of Azure's own probes, skipped */
	int64_t tmin, tmax;
	uint64_t tuples;
	/* baseline */
	uint8_t *base;           /* sorted EDGE_KEY keys */
	size_t nbase;
	/* public-facing workloads, sorted (found by the inbound detectors) */
	uint8_t *pf;
	size_t npf;
	/* findings */
	finding *f;
	size_t nf, fcap;
} state;

static const fl_option options[] = {
	{ "output", 'o', "FILE", "write the report to FILE instead of standard output" },
	{ "force", 260, NULL, "overwrite FILE if it exists" },
	{ "jsonl", 'j', NULL, "one finding per line as JSON, with its evidence" },
	{ "policy", 'p', "FILE", "policy: public-facing workloads, expected countries, declared edges..." },
	{ "baseline", 'b', "FILE", "known edges: a previous fl-graph --format csv or json output" },
	{ "off", 261, "LIST", "switch detectors off (e.g. scan,beaconing)" },
	{ "set", 's', "DET.NAME=V", "set a threshold (e.g. scan.min_ports=50); repeatable" },
	{ "evidence", 'e', "N", "tuples of evidence per finding (default 5, at most 20)" },
	{ "max-memory", 262, "SIZE", "memory for each aggregation before spilling to disk (default 512M)" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] [FILE...]\n"
	"Points at flows worth a look in a tuple stream (files or standard input), each with\n"
	"the rule that fired, its numbers and the tuples behind it.\n"
	"Detectors: exposure geography open-port exfiltration new-edge scan cross-boundary beaconing.\n"
	"Thresholds (--set or the policy's \"thresholds\"), defaults in brackets:\n"
	"  exposure.public_min_sources [20]  exposure.public_min_countries [5]\n"
	"  open-port.min_sources [50]  open-port.min_networks [20]  open-port.min_countries [5]\n"
	"  exfiltration.factor [10]  exfiltration.min_bytes [100000000]\n"
	"  exfiltration.high_bytes [1000000000]  exfiltration.new_after [0.25]\n"
	"  exfiltration.long_seconds [3600]  scan.min_ports [20]  scan.min_hosts [20]\n"
	"  scan.min_denied_ratio [0.8]  beaconing.min_connections [8]  beaconing.max_cv [0.1]\n"
	"  beaconing.min_period_seconds [10]";

/* ---- small helpers -------------------------------------------------------- */

static int is_public(const uint8_t a[16])
{
	enum ip_class c = ip_classify(a);
	return c == IP_CLASS_PUBLIC || c == IP_CLASS_DOCUMENTATION;
}

static int is_internal(const uint8_t a[16])
{
	enum ip_class c = ip_classify(a);
	return c == IP_CLASS_PRIVATE || c == IP_CLASS_SHARED;
}

static int is_web_port(unsigned p)
{
	return p == 80 || p == 443 || p == 8443;
}

static int is_admin_port(unsigned p)
{
	return p == 22 || p == 23 || p == 3389 || p == 5900;
}

static int is_shared_port(const state *s, unsigned p)
{
	for (size_t i = 0; i < s->shared.nshared; i++)
		if (s->shared.shared[i] == p)
			return 1;
	return 0;
}

static void edge_key(uint8_t k[EDGE_KEY], const uint8_t src[16], const uint8_t dst[16], uint16_t dport,
                     uint8_t proto)
{
	memcpy(k, src, 16);
	memcpy(k + 16, dst, 16);
	k[32] = (uint8_t)(dport >> 8);
	k[33] = (uint8_t)dport;
	k[34] = proto;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/* ---- internal addresses: names from fl-join-subs ---------------------------- */

static addrinfo *ai_find(state *s, const uint8_t a[16], int add)
{
	if (add && (s->ai_n + 1) * 2 > s->ai_cap) {
		size_t ncap = s->ai_cap ? s->ai_cap * 2 : 1024;
		addrinfo *n = fl_xcalloc(ncap, sizeof *n);
		for (size_t i = 0; i < s->ai_cap; i++) {
			if (!s->ai[i].used)
				continue;
			size_t j = hash_bytes(s->ai[i].addr, 16) & (ncap - 1);
			while (n[j].used)
				j = (j + 1) & (ncap - 1);
			n[j] = s->ai[i];
		}
		free(s->ai);
		s->ai = n;
		s->ai_cap = ncap;
	}
	if (!s->ai_cap)
		return NULL;
	size_t j = hash_bytes(a, 16) & (s->ai_cap - 1);
	while (s->ai[j].used) {
		if (memcmp(s->ai[j].addr, a, 16) == 0)
			return &s->ai[j];
		j = (j + 1) & (s->ai_cap - 1);
	}
	if (!add)
		return NULL;
	s->ai[j].used = 1;
	memcpy(s->ai[j].addr, a, 16);
	s->ai_n++;
	return &s->ai[j];
}

static const char *ai_str(const state *s, const uint8_t a[16], int which)
{
	addrinfo *i = ai_find((state *)s, a, 0);
	if (!i)
		return "";
	return strpool_get(s->pool, which == 0 ? i->vm : which == 1 ? i->sub : i->tenant);
}

/* ---- pass 1 ------------------------------------------------------------------ */

static void country_init(void *v) { memset(v, 0, 4); }
static void country_merge(void *d, const void *s)
{
	uint32_t a, b;
	memcpy(&a, d, 4);
	memcpy(&b, s, 4);
	if (b > a)
		memcpy(d, &b, 4);
}
static void xval_init(void *v) { memset(v, 0, sizeof(xval)); }
static void xval_merge(void *d, const void *s)
{
	uint32_t *a = d;
	const uint32_t *b = s;
	for (size_t i = 0; i < sizeof(xval) / 4; i++)
		if (b[i] > a[i])
			a[i] = b[i];
}

/* Pool id of a column value of the current segment (0 when absent). */
static uint32_t col_value(state *s, flt_reader *r, const flt_rec *rec, int c)
{
	if (s->col[c] < 0)
		return 0;
	uint32_t id = rec->col[s->col[c]];
	if (!id)
		return 0;
	if (flt_reader_epoch(r) != s->cache_epoch) {
		if (s->cache)
			memset(s->cache, 0, s->cache_n * sizeof *s->cache);
		s->cache_epoch = flt_reader_epoch(r);
	}
	if (id >= s->cache_n)
		s->cache = fl_grow_zeroed(s->cache, &s->cache_n, id, sizeof *s->cache);
	if (!s->cache[id]) {
		size_t len;
		const char *str = flt_reader_str(r, id, &len);
		s->cache[id] = strpool_intern(s->pool, str, len) + 1;
	}
	return s->cache[id] - 1;
}

static void new_segment(state *s, flt_reader *r)
{
	const flt_header *h = flt_reader_header(r);
	for (int c = 0; c < C_N; c++) {
		s->col[c] = -1;
		for (uint32_t i = 0; i < h->ncols; i++)
			if (strcmp(h->cols[i].name, col_names[c]) == 0 && h->cols[i].type == FLT_COL_STR)
				s->col[c] = (int)i;
	}
	if (s->col[C_SRC_COUNTRY] >= 0)
		s->seen_country = 1;
	if ((s->col[C_SRC_SUB] >= 0 && s->col[C_DST_SUB] >= 0) || s->col[C_FLOW_TYPE] >= 0)
		s->seen_subs = 1;
}

static void learn_names(state *s, flt_reader *r, const flt_rec *rec)
{
	static const int cols[2][3] = { { C_SRC_VM, C_SRC_SUB, C_SRC_TENANT },
	                                { C_DST_VM, C_DST_SUB, C_DST_TENANT } };
	for (int end = 0; end < 2; end++) {
		const uint8_t *a = end ? rec->dst : rec->src;
		if (!is_internal(a))
			continue;
		uint32_t v[3];
		for (int k = 0; k < 3; k++)
			v[k] = col_value(s, r, rec, cols[end][k]);
		if (!v[0] && !v[1] && !v[2])
			continue;
		addrinfo *i = ai_find(s, a, 1);
		/* the largest id wins, so the result does not depend on tuple order */
		if (v[0] > i->vm) i->vm = v[0];
		if (v[1] > i->sub) i->sub = v[1];
		if (v[2] > i->tenant) i->tenant = v[2];
	}
}

static int is_cross(state *s, const xval *x)
{
	const char *t = strpool_get(s->pool, x->type);
	if (strcmp(t, "CrossSubscription") == 0 || strcmp(t, "CrossTenant") == 0)
		return 1;
	if (x->src_sub && x->dst_sub && x->src_sub != x->dst_sub)
		return 1;
	return x->src_tenant && x->dst_tenant && x->src_tenant != x->dst_tenant;
}

/* Azure's own probes (from 40.87.164.0 and the like, source port 23456,
 * allowed by PlatformRule) reach every VM: not the estate's traffic, and
 * they would make every workload look exposed on random ports. */
static int platform_tuple(state *s, flt_reader *r, const flt_rec *rec)
{
	if (!rec->rule)
		return 0;
	if (rec->rule != s->rule_id || flt_reader_epoch(r) != s->rule_epoch) {
		s->rule_id = rec->rule;
		s->rule_epoch = flt_reader_epoch(r);
		s->rule_platform = strcmp(flt_reader_str(r, rec->rule, NULL), "PlatformRule") == 0;
	}
	return s->rule_platform;
}

static void add_tuple(state *s, flt_reader *r, const flt_rec *rec)
{
	if (platform_tuple(s, r, rec)) {
		s->platform++;
		return;
	}
	if (fg_add(s->g, r, rec) != 0)
		fl_die(FL_EXIT_USAGE, "%s", fg_error(s->g));
	s->tuples++;
	if (rec->time_ms < s->tmin)
		s->tmin = rec->time_ms;
	if (rec->time_ms > s->tmax)
		s->tmax = rec->time_ms;
	if (s->col[C_SRC_VM] >= 0 || s->col[C_SRC_SUB] >= 0 || s->col[C_SRC_TENANT] >= 0 ||
	    s->col[C_DST_VM] >= 0)
		learn_names(s, r, rec);
	if (s->countries && s->col[C_SRC_COUNTRY] >= 0 && is_public(rec->src)) {
		uint32_t c = col_value(s, r, rec, C_SRC_COUNTRY);
		if (c)
			country_merge(agg_upsert(s->countries, rec->src), &c);
	}
	if (s->beacons && rec->state == 'B' && rec->action == 'A' && is_internal(rec->src) &&
	    is_public(rec->dst)) {
		uint8_t k[EDGE_KEY];
		edge_key(k, rec->src, rec->dst, rec->dport, rec->proto);
		an_beacon_add(agg_upsert(s->beacons, k), rec->time_ms);
	}
	if (s->cross && rec->action == 'A' && is_internal(rec->src) && is_internal(rec->dst)) {
		xval x = { col_value(s, r, rec, C_SRC_SUB), col_value(s, r, rec, C_DST_SUB),
		           col_value(s, r, rec, C_SRC_TENANT), col_value(s, r, rec, C_DST_TENANT),
		           col_value(s, r, rec, C_FLOW_TYPE) };
		if (is_cross(s, &x)) {
			uint8_t k[EDGE_KEY];
			edge_key(k, rec->src, rec->dst, rec->dport, rec->proto);
			xval_merge(agg_upsert(s->cross, k), &x);
		}
	}
}

/* ---- baseline ------------------------------------------------------------------ */

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, EDGE_KEY);
}

/* A decimal number in [0, max], all of s; -1 otherwise. */
static long strict_number(const char *s, long max)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > max)
			return -1;
	}
	return v;
}

static void base_add(state *s, size_t *cap, const char *src, const char *dst, long dport, const char *proto,
                     size_t *skipped)
{
	uint8_t a[16], b[16];
	int p = fl_proto_parse(proto);
	if (ip_parse(src, strlen(src), a) || ip_parse(dst, strlen(dst), b) || dport < 0 || p < 0) {
		(*skipped)++;
		return;
	}
	if (s->nbase == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		s->base = fl_xrealloc(s->base, *cap * EDGE_KEY);
	}
	edge_key(s->base + s->nbase++ * EDGE_KEY, a, b, (uint16_t)dport, (uint8_t)p);
}

#define CSV_CELL 512 /* longer cells are cut: they are labels, and labels match nothing */

/* Reads one CSV record at *p: returns its number of cells, the first four
 * (quotes undone, cut to CSV_CELL - 1 bytes) in f, *complete = 1 when it
 * ended with a line break (CR LF or LF) rather than with the text; *ln
 * counts line breaks, quoted ones included. */
static size_t csv_record(const char **p, const char *end, char f[4][CSV_CELL], int *complete,
                         unsigned long *ln)
{
	const char *q = *p;
	size_t cells = 0;
	*complete = 0;
	for (int i = 0; i < 4; i++)
		f[i][0] = 0;
	for (;;) {
		size_t k = 0;
		char *cell = cells < 4 ? f[cells] : NULL;
		int quoted = q < end && *q == '"';
		if (quoted) {
			for (q++; q < end; q++) {
				if (*q == '"' && (q + 1 >= end || q[1] != '"'))
					break;
				if (*q == '"')
					q++; /* "" is one quote */
				*ln += *q == '\n';
				if (cell && k + 1 < CSV_CELL)
					cell[k++] = *q;
			}
			q += q < end; /* the closing quote */
		}
		for (; q < end && *q != ',' && *q != '\n'; q++)
			if (cell && k + 1 < CSV_CELL && !(*q == '\r' && (q + 1 >= end || q[1] == '\n')))
				cell[k++] = *q;
		if (cell)
			cell[k] = 0;
		cells++;
		if (q >= end)
			break;
		if (*q++ == '\n') {
			*complete = 1;
			(*ln)++;
			break;
		}
	}
	*p = q;
	return cells;
}

/* Returns the number of CSV rows cut short (a truncated file), which are
 * ignored: a cut "443" reads as port 44, and an edge must not be known by
 * accident. */
static size_t load_baseline(state *s, const char *path)
{
	size_t cut = 0, cap = 0, skipped = 0, n;
	char *raw, *owned;
	if (fl_read_file(path, &raw, &n) != 0)
		fl_die(FL_EXIT_USAGE, "cannot read baseline '%s': %s", path, strerror(errno));
	/* a CSV saved by Excel starts with a byte-order mark */
	const char *buf = fl_text_utf8(raw, n, &n, &owned), *end = buf + n, *p = buf;
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	if (p < end && *p == '{') {
		json_error_t je;
		json_t *root = json_loadb(buf, n, 0, &je), *edges = json_object_get(root, "edges"), *e;
		size_t i;
		if (!root || !json_is_array(edges))
			fl_die(FL_EXIT_USAGE, "%s: not an fl-graph --format json output (%s)", path,
			       root ? "no \"edges\" array" : je.text);
		json_array_foreach(edges, i, e) {
			const char *a = json_string_value(json_object_get(e, "src"));
			const char *b = json_string_value(json_object_get(e, "dst"));
			const char *pr = json_string_value(json_object_get(e, "proto"));
			json_t *dp = json_object_get(e, "dport");
			if (!a || !b || !pr || !json_is_integer(dp))
				fl_die(FL_EXIT_USAGE, "%s: edges[%zu]: expected src, dst, dport and proto", path, i);
			base_add(s, &cap, a, b, (long)json_integer_value(dp), pr, &skipped);
		}
		json_decref(root);
	} else {
		/* RFC 4180 records: a label cell (made with --by) may be quoted and
		 * hold commas, quotes and line breaks. */
		char f[4][CSV_CELL];
		int complete;
		unsigned long ln = 1;
		p = buf;
		size_t fields = csv_record(&p, end, f, &complete, &ln);
		if (fields < 4 || strcmp(f[0], "src") || strcmp(f[1], "dst") || strcmp(f[2], "dport") ||
		    strcmp(f[3], "proto"))
			fl_die(FL_EXIT_USAGE, "%s: not an fl-graph --format csv or json output "
			       "(the CSV header starts with src,dst,dport,proto)", path);
		if (!complete && fields > 4) {
			fl_warn("%s: the header is cut short (a truncated file?)", path);
			cut++;
		}
		while (p < end) {
			unsigned long at = ln;
			size_t cells = csv_record(&p, end, f, &complete, &ln);
			if (cells == 1 && !f[0][0])
				continue; /* a blank line */
			/* Without its line break, the last record may be cut: its key
			 * (the first four cells) is whole only if a fifth cell began;
			 * a cut "443" would read as port 44. */
			if (!complete && cells <= 4) {
				fl_warn("%s: line %lu is cut short (a truncated file?): ignored", path, at);
				cut++;
				break;
			}
			if (cells < fields && complete)
				fl_die(FL_EXIT_USAGE, "%s:%lu: expected the %zu cells of the header", path, at,
				       fields);
			base_add(s, &cap, f[0], f[1], strict_number(f[2], 65535), f[3], &skipped);
		}
	}
	free(owned);
	free(raw);
	if (skipped)
		fl_warn("%s: %zu baseline edges are not between addresses (made with --by or --external?); "
		        "they match nothing", path, skipped);
	if (s->nbase > 1)
		qsort(s->base, s->nbase, EDGE_KEY, key_cmp);
	return cut;
}

static int in_baseline(const state *s, const uint8_t k[EDGE_KEY])
{
	return s->nbase && bsearch(k, s->base, s->nbase, EDGE_KEY, key_cmp) != NULL;
}

/* ---- findings -------------------------------------------------------------------- */

static finding *new_finding(state *s, int kind, int sev, const char *rule)
{
	if (s->nf == s->fcap) {
		s->fcap = s->fcap ? s->fcap * 2 : 64;
		s->f = fl_xrealloc(s->f, s->fcap * sizeof *s->f);
	}
	finding *f = &s->f[s->nf++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->sev = sev;
	snprintf(f->rule, sizeof f->rule, "%s", rule);
	f->dport = f->proto = -1;
	f->subject = json_object();
	f->metrics = json_object();
	return f;
}

static void subject_addr(state *s, finding *f, const char *role, const uint8_t a[16])
{
	char buf[IP_STRLEN], key[16];
	ip_format(a, buf);
	json_object_set_new(f->subject, role, json_string(buf));
	static const char *const names[3] = { "vm", "sub", "tenant" };
	for (int w = 0; w < 3; w++) {
		const char *v = ai_str(s, a, w);
		if (*v) {
			snprintf(key, sizeof key, "%s_%s", role, names[w]);
			json_object_set_new(f->subject, key, json_string(v));
		}
	}
	if (strcmp(role, "src") == 0)
		memcpy(f->src, a, 16), f->has_src = 1;
	else
		memcpy(f->dst, a, 16), f->has_dst = 1;
}

static void subject_port(finding *f, int dport, int proto)
{
	char pb[8];
	f->dport = dport;
	f->proto = proto;
	if (dport >= 0)
		json_object_set_new(f->subject, "dport", json_integer(dport));
	if (proto >= 0)
		json_object_set_new(f->subject, "proto", json_string(fl_proto_name(proto, pb)));
}

static void metric_int(finding *f, const char *k, uint64_t v)
{
	json_object_set_new(f->metrics, k, json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v)));
}

static void metric_real(finding *f, const char *k, double v)
{
	json_object_set_new(f->metrics, k, json_real(round(v * 1e4) / 1e4));
}

/* "10.2.0.5 (vm-db, sub-a)" for the text report. */
static void addr_label(const state *s, const uint8_t a[16], char *buf, size_t n)
{
	char ip[IP_STRLEN];
	ip_format(a, ip);
	const char *vm = ai_str(s, a, 0), *sub = ai_str(s, a, 1);
	if (*vm && *sub)
		snprintf(buf, n, "%s (%s, %s)", ip, vm, sub);
	else if (*vm || *sub)
		snprintf(buf, n, "%s (%s)", ip, *vm ? vm : sub);
	else
		snprintf(buf, n, "%s", ip);
}

/* ---- detectors on edges ------------------------------------------------------------ */

/* An inbound edge from a public source, with the source's country. */
typedef struct inb {
	const fg_edge *e;
	uint32_t country;
} inb;

static int inb_cmp(const void *pa, const void *pb)
{
	const inb *a = pa, *b = pb;
	int c = memcmp(a->e->dst.v, b->e->dst.v, 16);
	if (c)
		return c;
	if (a->e->dport != b->e->dport)
		return a->e->dport < b->e->dport ? -1 : 1;
	if (a->e->proto != b->e->proto)
		return a->e->proto < b->e->proto ? -1 : 1;
	return memcmp(a->e->src.v, b->e->src.v, 16);
}

/* Allowed inbound edges from public sources to internal workloads, with
 * their countries: the edges are in source order, so is the country table. */
static inb *inbound_edges(state *s, const fg_edge *e, size_t n, size_t *nin)
{
	inb *v = fl_xmalloc((n + 1) * sizeof *v);
	const void *ck = NULL, *cv = NULL;
	int crc = s->countries ? agg_next(s->countries, &ck, &cv) : 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].val.flows == 0 || !is_public(e[i].src.v) || !is_internal(e[i].dst.v))
			continue;
		while (crc > 0 && memcmp(ck, e[i].src.v, 16) < 0)
			crc = agg_next(s->countries, &ck, &cv);
		if (crc < 0)
			fl_die(FL_EXIT_FATAL, "%s", agg_error(s->countries));
		v[k].e = &e[i];
		v[k].country = 0;
		if (crc > 0 && memcmp(ck, e[i].src.v, 16) == 0)
			memcpy(&v[k].country, cv, 4);
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof *v, inb_cmp);
	*nin = k;
	return v;
}

/* Countries of a group with their distinct source counts. */
typedef struct cc {
	uint32_t id;
	uint32_t sources;
	uint64_t flows;
	int64_t first, last;
} cc;

typedef struct group {
	size_t lo, hi;            /* range in the inbound array */
	uint64_t sources, networks, flows, bytes, denied;
	int64_t first, last;
	cc *cc;
	size_t ncc;
} group;

static int same_net(const uint8_t *a, const uint8_t *b)
{
	return ip_is_v4(a) ? memcmp(a, b, 15) == 0 : memcmp(a, b, 6) == 0;
}

static void cc_add(cc **v, size_t *n, uint32_t id, const fa_edge *x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].id == id) {
			(*v)[i].sources++;
			(*v)[i].flows += x->flows;
			if (x->first < (*v)[i].first) (*v)[i].first = x->first;
			if (x->last > (*v)[i].last) (*v)[i].last = x->last;
			return;
		}
	*v = fl_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = (cc){ id, 1, x->flows, x->first, x->last };
}

static const strpool *cc_pool;
static int cc_cmp(const void *pa, const void *pb)
{
	const cc *a = pa, *b = pb;
	return strcmp(strpool_get(cc_pool, a->id), strpool_get(cc_pool, b->id));
}

static void group_stats(state *s, const inb *v, group *gr)
{
	memset(&gr->sources, 0, sizeof *gr - offsetof(group, sources));
	gr->first = INT64_MAX;
	gr->last = INT64_MIN;
	for (size_t i = gr->lo; i < gr->hi; i++) {
		const fa_edge *x = &v[i].e->val;
		gr->sources++;
		if (i == gr->lo || !same_net(v[i].e->src.v, v[i - 1].e->src.v))
			gr->networks++;
		gr->flows += x->flows;
		gr->bytes += x->bytes_sd + x->bytes_ds;
		gr->denied += x->denied;
		if (x->first < gr->first) gr->first = x->first;
		if (x->last > gr->last) gr->last = x->last;
		if (v[i].country)
			cc_add(&gr->cc, &gr->ncc, v[i].country, x);
	}
	cc_pool = s->pool;
	if (gr->ncc > 1)
		qsort(gr->cc, gr->ncc, sizeof *gr->cc, cc_cmp);
}

/* "DE 3, FR 1" and a JSON object of the same. */
static void cc_text(const state *s, const cc *v, size_t n, char *buf, size_t cap, json_t **obj)
{
	size_t at = 0;
	buf[0] = 0;
	if (obj)
		*obj = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *name = strpool_get(s->pool, v[i].id);
		if (at < cap)
			at += (size_t)snprintf(buf + at, cap - at, "%s%s %u", i ? ", " : "", name, v[i].sources);
		if (obj)
			json_object_set_new(*obj, name, json_integer(v[i].sources));
	}
}

static void times(finding *f, int64_t first, int64_t last)
{
	f->first = first;
	f->last = last;
}

static void exposure_finding(state *s, const fg_edge *e, const group *gr, int pf, const char *ccs,
                             json_t *ccobj)
{
	char w[256], b[32], pb[8];
	int web = is_web_port(e->dport);
	int sev = !pf ? SEV_HIGH : web ? SEV_LOW : SEV_MEDIUM;
	finding *f = new_finding(s, AN_EXPOSURE, sev, !pf ? "exposure.private" : web ?
	                         "exposure.public-facing" : "exposure.public-facing-other-port");
	subject_addr(s, f, "dst", e->dst.v);
	subject_port(f, e->dport, e->proto);
	f->match = M_INBOUND;
	addr_label(s, e->dst.v, w, sizeof w);
	fl_human_bytes(gr->bytes, b, sizeof b);
	snprintf(f->headline, sizeof f->headline, "%s %s/%u reached from %" PRIu64 " public source%s",
	         w, fl_proto_name(e->proto, pb), e->dport, gr->sources, gr->sources == 1 ? "" : "s");
	snprintf(f->why, sizeof f->why, "%s: allowed inbound connections from public addresses to a %s; "
	         "%" PRIu64 " sources in %" PRIu64 " networks%s%s%s, %" PRIu64 " connections, %s",
	         f->rule, !pf ? "workload that is not public-facing" : web ?
	         "public-facing workload on a web port" : "public-facing workload on a port other than 80/443/8443",
	         gr->sources, gr->networks, *ccs ? ", countries " : "", ccs, "", gr->flows, b);
	metric_int(f, "sources", gr->sources);
	metric_int(f, "networks", gr->networks);
	metric_int(f, "connections", gr->flows);
	metric_int(f, "bytes", gr->bytes);
	metric_int(f, "denied", gr->denied);
	json_object_set_new(f->metrics, "public_facing", json_boolean(pf));
	if (ccobj)
		json_object_set_new(f->metrics, "countries", json_incref(ccobj));
	times(f, gr->first, gr->last);
}

static void open_port_finding(state *s, const fg_edge *e, const group *gr, int pf, json_t *ccobj)
{
	const double *th = s->th;
	char w[256], met[160] = "", pb[8];
	size_t at = 0;
	if (gr->sources >= th[TH_OPEN_SOURCES])
		at += (size_t)snprintf(met + at, sizeof met - at, "%s%" PRIu64 " sources >= %.0f", at ? ", " : "",
		                       gr->sources, th[TH_OPEN_SOURCES]);
	if (gr->networks >= th[TH_OPEN_NETWORKS])
		at += (size_t)snprintf(met + at, sizeof met - at, "%s%" PRIu64 " networks >= %.0f", at ? ", " : "",
		                       gr->networks, th[TH_OPEN_NETWORKS]);
	if (s->seen_country && gr->ncc >= th[TH_OPEN_COUNTRIES])
		at += (size_t)snprintf(met + at, sizeof met - at, "%s%zu countries >= %.0f", at ? ", " : "",
		                       gr->ncc, th[TH_OPEN_COUNTRIES]);
	if (!at || (pf && is_web_port(e->dport)))
		return;
	finding *f = new_finding(s, AN_OPEN_PORT, pf ? SEV_MEDIUM : SEV_HIGH, "open-port.any-source");
	subject_addr(s, f, "dst", e->dst.v);
	subject_port(f, e->dport, e->proto);
	f->match = M_INBOUND;
	addr_label(s, e->dst.v, w, sizeof w);
	snprintf(f->headline, sizeof f->headline, "%s %s/%u open to the internet (%" PRIu64 " sources)", w,
	         fl_proto_name(e->proto, pb), e->dport, gr->sources);
	snprintf(f->why, sizeof f->why, "%s: one port reached by many public sources, the signature of an "
	         "Any-source rule: %s", f->rule, met);
	metric_int(f, "sources", gr->sources);
	metric_int(f, "networks", gr->networks);
	metric_int(f, "countries", gr->ncc);
	metric_int(f, "connections", gr->flows);
	json_object_set_new(f->metrics, "public_facing", json_boolean(pf));
	if (ccobj)
		json_object_set_new(f->metrics, "country_sources", json_incref(ccobj));
	times(f, gr->first, gr->last);
}

/* Per workload: its groups (one per port), whether it faces the internet,
 * and its country mix over all ports. */
typedef struct workload {
	const uint8_t *addr;
	size_t g0, g1;            /* its groups */
	int pf;
	cc *cc;
	size_t ncc;
} workload;

static void geo_finding(state *s, const workload *w, const cc *c, const char *rule, int sev,
                        const char *why, const char *mix, json_t *mixobj)
{
	char lb[256];
	const char *name = strpool_get(s->pool, c->id);
	finding *f = new_finding(s, AN_GEOGRAPHY, sev, rule);
	subject_addr(s, f, "dst", w->addr);
	snprintf(f->country, sizeof f->country, "%s", name);
	json_object_set_new(f->subject, "country", json_string(name));
	f->match = M_DST;
	addr_label(s, w->addr, lb, sizeof lb);
	snprintf(f->headline, sizeof f->headline, "%s reached from %s (%u source%s)", lb, name, c->sources,
	         c->sources == 1 ? "" : "s");
	snprintf(f->why, sizeof f->why, "%s: %s; %u sources, %" PRIu64 " connections from %s; "
	         "country mix of the workload: %s", rule, why, c->sources, c->flows, name, mix);
	metric_int(f, "sources", c->sources);
	metric_int(f, "connections", c->flows);
	json_object_set_new(f->metrics, "public_facing", json_boolean(w->pf));
	json_object_set_new(f->metrics, "country_mix", json_incref(mixobj));
	times(f, c->first, c->last);
}

static void geography(state *s, workload *ws, size_t nw, uint32_t *pf_countries, size_t npfc)
{
	const an_policy *p = &s->pol;
	for (size_t i = 0; i < nw; i++) {
		workload *w = &ws[i];
		char mix[200];
		json_t *mixobj;
		cc_pool = s->pool;
		if (w->ncc > 1)
			qsort(w->cc, w->ncc, sizeof *w->cc, cc_cmp);
		cc_text(s, w->cc, w->ncc, mix, sizeof mix, &mixobj);
		const char *vm = ai_str(s, w->addr, 0);
		size_t nexp = 0;
		char **exp = p->have_countries ? an_policy_wcountries(p, w->addr, vm, &nexp) : NULL;
		int own = exp != NULL;
		if (!own && !w->pf && p->ncountries)
			exp = p->countries, nexp = p->ncountries;
		for (size_t k = 0; k < w->ncc; k++) {
			const char *name = strpool_get(s->pool, w->cc[k].id);
			char why[200];
			if (p->have_countries) {
				if (!exp || an_country_in(exp, nexp, name))
					continue;
				snprintf(why, sizeof why, "%s is outside the %s expected countries (%s)", name,
				         own ? "workload's" : "estate's", own ? "policy workload_countries" :
				         "policy expected_countries");
				geo_finding(s, w, &w->cc[k], "geography.unexpected-country",
				            w->pf ? SEV_MEDIUM : SEV_HIGH, why, mix, mixobj);
			} else if (!w->pf) {
				size_t j = 0;
				while (j < npfc && pf_countries[j] != w->cc[k].id)
					j++;
				if (j < npfc)
					continue;
				snprintf(why, sizeof why, "%s reaches private workloads only, no public-facing one "
				         "(no policy: give expected countries to judge against)", name);
				geo_finding(s, w, &w->cc[k], "geography.private-only-country", SEV_MEDIUM, why, mix,
				            mixobj);
			}
		}
		json_decref(mixobj);
	}
}

static void inbound_detectors(state *s, const fg_edge *e, size_t n)
{
	size_t nin, ng = 0, nw = 0;
	inb *v = inbound_edges(s, e, n, &nin);
	group *gs = fl_xcalloc(nin + 1, sizeof *gs);
	workload *ws = fl_xcalloc(nin + 1, sizeof *ws);
	for (size_t i = 0; i < nin;) {
		size_t j;
		j = i + 1;
		while (j < nin && memcmp(v[j].e->dst.v, v[i].e->dst.v, 16) == 0 && v[j].e->dport == v[i].e->dport &&
		       v[j].e->proto == v[i].e->proto)
			j++;
		gs[ng].lo = i;
		gs[ng].hi = j;
		group_stats(s, v, &gs[ng]);
		if (!nw || memcmp(ws[nw - 1].addr, v[i].e->dst.v, 16) != 0) {
			ws[nw].addr = v[i].e->dst.v;
			ws[nw].g0 = ng;
			nw++;
		}
		ws[nw - 1].g1 = ng + 1;
		ng++;
		i = j;
	}
	uint32_t *pfc = NULL;
	size_t npfc = 0;
	for (size_t i = 0; i < nw; i++) {
		workload *w = &ws[i];
		w->pf = an_policy_public(&s->pol, w->addr, ai_str(s, w->addr, 0));
		for (size_t k = w->g0; k < w->g1 && !w->pf; k++)
			w->pf = is_web_port(v[gs[k].lo].e->dport) &&
			        (gs[k].sources >= s->th[TH_EXPOSURE_PUBLIC_SOURCES] ||
			         (s->seen_country && gs[k].ncc >= s->th[TH_EXPOSURE_PUBLIC_COUNTRIES]));
		if (w->pf) {
			s->pf = fl_xrealloc(s->pf, (s->npf + 1) * 16);
			memcpy(s->pf + 16 * s->npf++, w->addr, 16);
		}
		for (size_t k = w->g0; k < w->g1; k++) {
			const fg_edge *ge = v[gs[k].lo].e;
			char ccs[200];
			json_t *ccobj = NULL;
			cc_text(s, gs[k].cc, gs[k].ncc, ccs, sizeof ccs, s->seen_country ? &ccobj : NULL);
			if (s->on & (1u << AN_EXPOSURE))
				exposure_finding(s, ge, &gs[k], w->pf, ccs, ccobj);
			if (s->on & (1u << AN_OPEN_PORT))
				open_port_finding(s, ge, &gs[k], w->pf, ccobj);
			if (ccobj)
				json_decref(ccobj);
			for (size_t c = 0; c < gs[k].ncc; c++) {
				const cc *x = &gs[k].cc[c];
				size_t m = 0;
				while (m < w->ncc && w->cc[m].id != x->id)
					m++;
				if (m == w->ncc) {
					w->cc = fl_xrealloc(w->cc, (w->ncc + 1) * sizeof *w->cc);
					w->cc[w->ncc++] = (cc){ x->id, 0, 0, INT64_MAX, INT64_MIN };
				}
				/* a source reaching two ports counts twice here: the mix is by port reach */
				w->cc[m].sources += x->sources;
				w->cc[m].flows += x->flows;
				if (x->first < w->cc[m].first) w->cc[m].first = x->first;
				if (x->last > w->cc[m].last) w->cc[m].last = x->last;
				if (w->pf) {
					size_t j = 0;
					while (j < npfc && pfc[j] != x->id)
						j++;
					if (j == npfc) {
						pfc = fl_xrealloc(pfc, (npfc + 1) * sizeof *pfc);
						pfc[npfc++] = x->id;
					}
				}
			}
		}
	}
	if ((s->on & (1u << AN_GEOGRAPHY)) && s->seen_country)
		geography(s, ws, nw, pfc, npfc);
	for (size_t i = 0; i < ng; i++)
		free(gs[i].cc);
	for (size_t i = 0; i < nw; i++)
		free(ws[i].cc);
	free(pfc);
	free(gs);
	free(ws);
	free(v);
}

/* Exfiltration: bytes each workload sent to each peer, whoever initiated. */
typedef struct peer {
	uint8_t w[16], p[16];
	uint64_t out, in;
	int64_t first, last;
	uint64_t flows;
} peer;

static int peer_cmp(const void *pa, const void *pb)
{
	const peer *a = pa, *b = pb;
	int c = memcmp(a->w, b->w, 16);
	return c ? c : memcmp(a->p, b->p, 16);
}

static void exfil_finding(state *s, const peer *x, uint64_t median, size_t npeers)
{
	const double *th = s->th;
	int64_t span = s->tmax - s->tmin;
	int isnew = x->first > s->tmin + (int64_t)(th[TH_EXFIL_NEW_AFTER] * (double)span);
	int64_t dur = x->last - x->first;
	int high = x->out >= th[TH_EXFIL_HIGH_BYTES] || (isnew && dur >= th[TH_EXFIL_LONG] * 1000);
	char w[256], d[IP_STRLEN], ob[32], mb[32], ib[32];
	finding *f = new_finding(s, AN_EXFILTRATION, high ? SEV_HIGH : SEV_MEDIUM, "exfiltration.volume");
	subject_addr(s, f, "src", x->w);
	subject_addr(s, f, "dst", x->p);
	f->match = M_PAIR;
	addr_label(s, x->w, w, sizeof w);
	ip_format(x->p, d);
	fl_human_bytes(x->out, ob, sizeof ob);
	fl_human_bytes(median, mb, sizeof mb);
	fl_human_bytes(x->in, ib, sizeof ib);
	double ratio = x->in ? (double)x->out / (double)x->in : (double)x->out;
	snprintf(f->headline, sizeof f->headline, "%s sent %s to %s%s", w, ob, d, isnew ? " (new destination)" : "");
	snprintf(f->why, sizeof f->why, "%s: %s out >= %.0f bytes and > %g x the median %s of its %zu other "
	         "destinations; %s in (out/in %.1f); %s destination, over %.1f h", f->rule, ob,
	         th[TH_EXFIL_MIN_BYTES], th[TH_EXFIL_FACTOR], mb, npeers, ib, ratio,
	         isnew ? "new" : "known", (double)dur / 3.6e6);
	metric_int(f, "bytes_out", x->out);
	metric_int(f, "bytes_in", x->in);
	metric_real(f, "out_in_ratio", ratio);
	metric_int(f, "median_bytes_out", median);
	metric_int(f, "other_destinations", npeers);
	metric_int(f, "connections", x->flows);
	json_object_set_new(f->metrics, "new_destination", json_boolean(isnew));
	metric_int(f, "duration_seconds", (uint64_t)(dur / 1000));
	times(f, x->first, x->last);
}

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static int public_facing(const state *s, const uint8_t a[16])
{
	return s->npf && bsearch(a, s->pf, s->npf, 16, addr_cmp) != NULL;
}

static void exfiltration(state *s, const fg_edge *e, size_t n)
{
	peer *v = fl_xmalloc((2 * n + 1) * sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const fa_edge *x = &e[i].val;
		for (int end = 0; end < 2; end++) {
			const uint8_t *w = end ? e[i].dst.v : e[i].src.v, *p = end ? e[i].src.v : e[i].dst.v;
			if (!is_internal(w) || memcmp(w, p, 16) == 0)
				continue;
			/* what a public-facing workload serves on its web ports is its job,
			 * not an upload: a heavy client is not exfiltration */
			if (end && is_web_port(e[i].dport) && public_facing(s, w))
				continue;
			memcpy(v[k].w, w, 16);
			memcpy(v[k].p, p, 16);
			v[k].out = end ? x->bytes_ds : x->bytes_sd;
			v[k].in = end ? x->bytes_sd : x->bytes_ds;
			v[k].first = x->first;
			v[k].last = x->last;
			v[k].flows = x->flows;
			k++;
		}
	}
	if (k > 1)
		qsort(v, k, sizeof *v, peer_cmp);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && peer_cmp(&v[m - 1], &v[i]) == 0) {
			peer *a = &v[m - 1];
			a->out += v[i].out, a->in += v[i].in, a->flows += v[i].flows;
			if (v[i].first < a->first) a->first = v[i].first;
			if (v[i].last > a->last) a->last = v[i].last;
		} else
			v[m++] = v[i];
	}
	uint64_t *tmp = fl_xmalloc((m + 1) * sizeof *tmp);
	for (size_t i = 0; i < m;) {
		size_t j = i;
		while (j < m && memcmp(v[j].w, v[i].w, 16) == 0)
			j++;
		for (size_t c = i; c < j; c++) {
			if (!is_public(v[c].p) || v[c].out < s->th[TH_EXFIL_MIN_BYTES])
				continue;
			size_t t = 0;
			for (size_t o = i; o < j; o++)
				if (o != c)
					tmp[t++] = v[o].out;
			uint64_t med = an_median_u64(tmp, t);
			if ((double)v[c].out > s->th[TH_EXFIL_FACTOR] * (double)med)
				exfil_finding(s, &v[c], med, t);
		}
		i = j;
	}
	free(tmp);
	free(v);
}

static void new_edges(state *s, const fg_edge *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const fg_edge *x = &e[i];
		uint8_t k[EDGE_KEY];
		if (!x->val.flows || !is_internal(x->src.v) || !is_internal(x->dst.v) || is_shared_port(s, x->dport))
			continue;
		edge_key(k, x->src.v, x->dst.v, x->dport, x->proto);
		if (in_baseline(s, k) || an_policy_edge(&s->pol, x->src.v, ai_str(s, x->src.v, 0), x->dst.v,
		                                        ai_str(s, x->dst.v, 0), x->dport, x->proto))
			continue;
		char a[256], b[256], pb[8], by[32];
		int adm = is_admin_port(x->dport);
		finding *f = new_finding(s, AN_NEW_EDGE, adm ? SEV_HIGH : SEV_MEDIUM,
		                         adm ? "new-edge.admin-port" : "new-edge.absent");
		subject_addr(s, f, "src", x->src.v);
		subject_addr(s, f, "dst", x->dst.v);
		subject_port(f, x->dport, x->proto);
		f->match = M_EDGE;
		addr_label(s, x->src.v, a, sizeof a);
		addr_label(s, x->dst.v, b, sizeof b);
		fl_human_bytes(x->val.bytes_sd + x->val.bytes_ds, by, sizeof by);
		snprintf(f->headline, sizeof f->headline, "%s -> %s %s/%u, not in the baseline", a, b,
		         fl_proto_name(x->proto, pb), x->dport);
		snprintf(f->why, sizeof f->why, "%s: internal edge absent from %s%s%s; %" PRIu64 " connections, %s",
		         f->rule, s->nbase ? "the baseline" : "", s->nbase && s->pol.nedges ? " and " : "",
		         s->pol.nedges ? "the policy's declared edges" : "", x->val.flows, by);
		if (adm)
			strncat(f->why, "; a remote administration port", sizeof f->why - strlen(f->why) - 1);
		metric_int(f, "connections", x->val.flows);
		metric_int(f, "bytes", x->val.bytes_sd + x->val.bytes_ds);
		metric_int(f, "denied", x->val.denied);
		times(f, x->val.first, x->val.last);
	}
}

/* Scans: per source, ports on one host (edges are in (src, dst) order) and
 * hosts on one port (sorted apart). */
static int sp_cmp(const void *pa, const void *pb)
{
	const fg_edge *a = *(const fg_edge *const *)pa, *b = *(const fg_edge *const *)pb;
	int c = memcmp(a->src.v, b->src.v, 16);
	if (c)
		return c;
	if (a->dport != b->dport)
		return a->dport < b->dport ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return memcmp(a->dst.v, b->dst.v, 16);
}

/* What one source did: hosts and ports it touched, its widest sweeps. */
typedef struct sweep {
	uint64_t hosts, ports;       /* distinct */
	uint64_t max_ports;          /* on one host: best_host */
	uint64_t max_hosts;          /* on one port: best_port/best_proto */
	const uint8_t *best_host;
	uint16_t best_port;
	uint8_t best_proto;
	uint64_t denied, allowed;
	int64_t first, last;
} sweep;

static void scan_finding(state *s, const uint8_t *src, const sweep *w)
{
	const double *th = s->th;
	double ratio = (double)w->denied / (double)(w->denied + w->allowed);
	int by_ports = w->max_ports >= th[TH_SCAN_PORTS], by_hosts = w->max_hosts >= th[TH_SCAN_HOSTS];
	if ((!by_ports && !by_hosts) || ratio < th[TH_SCAN_DENIED])
		return;
	char a[256], b[256], pb[8], what[320];
	int internal = is_internal(src);
	/* from inside: lateral movement; from outside: high only if some got through */
	int sev = internal ? SEV_HIGH : w->allowed ? SEV_MEDIUM : SEV_LOW;
	finding *f = new_finding(s, AN_SCAN, sev, by_ports ? "scan.ports" : "scan.hosts");
	subject_addr(s, f, "src", src);
	if (w->hosts == 1)
		subject_addr(s, f, "dst", w->best_host);
	if (w->ports == 1)
		subject_port(f, w->best_port, w->best_proto);
	f->match = M_SRC;
	f->order = EV_FIRST;
	addr_label(s, src, a, sizeof a);
	addr_label(s, w->best_host, b, sizeof b);
	if (by_ports)
		snprintf(what, sizeof what, "%" PRIu64 " ports on %s", w->max_ports, b);
	else
		snprintf(what, sizeof what, "%" PRIu64 " hosts on %s/%u", w->max_hosts,
		         fl_proto_name(w->best_proto, pb), w->best_port);
	snprintf(f->headline, sizeof f->headline, "%s tried %s%s", a, what,
	         w->hosts > 1 && w->ports > 1 ? " (and more)" : "");
	snprintf(f->why, sizeof f->why, "%s: %" PRIu64 " ports on one host (>= %.0f: %s), %" PRIu64
	         " hosts on one port (>= %.0f: %s); %" PRIu64 " hosts and %" PRIu64 " ports in all; "
	         "%.0f%% of %" PRIu64 " attempts denied (>= %.0f%%)%s", f->rule, w->max_ports, th[TH_SCAN_PORTS],
	         by_ports ? "yes" : "no", w->max_hosts, th[TH_SCAN_HOSTS], by_hosts ? "yes" : "no", w->hosts,
	         w->ports, ratio * 100, w->denied + w->allowed, th[TH_SCAN_DENIED] * 100,
	         internal ? "; from inside the estate" : w->allowed ? "; some were allowed" : "; all denied");
	metric_int(f, "hosts", w->hosts);
	metric_int(f, "ports", w->ports);
	metric_int(f, "max_ports_on_a_host", w->max_ports);
	metric_int(f, "max_hosts_on_a_port", w->max_hosts);
	metric_int(f, "denied", w->denied);
	metric_int(f, "allowed_connections", w->allowed);
	metric_real(f, "denied_ratio", ratio);
	times(f, w->first, w->last);
}

/* One finding per source: edges in (src, dst) order give the ports per
 * host, a copy in (src, port, dst) order the hosts per port; both walk the
 * sources in the same order. */
static void scans(state *s, const fg_edge *e, size_t n)
{
	const fg_edge **v = fl_xmalloc((n + 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = &e[i];
	if (n > 1)
		qsort(v, n, sizeof *v, sp_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		sweep w;
		memset(&w, 0, sizeof w);
		w.first = INT64_MAX;
		w.last = INT64_MIN;
		while (j < n && memcmp(e[j].src.v, e[i].src.v, 16) == 0)
			j++;
		for (size_t k = i, run = 0; k < j; k++) {
			const fa_edge *x = &e[k].val;
			int new_host = k == i || memcmp(e[k].dst.v, e[k - 1].dst.v, 16) != 0;
			run = new_host ? 1 : run + (e[k].dport != e[k - 1].dport);
			w.hosts += new_host;
			if (run > w.max_ports)
				w.max_ports = run, w.best_host = e[k].dst.v;
			w.denied += x->denied;
			w.allowed += x->flows;
			if (x->first < w.first) w.first = x->first;
			if (x->last > w.last) w.last = x->last;
		}
		for (size_t k = i, run = 0; k < j; k++) {
			int new_port = k == i || v[k]->dport != v[k - 1]->dport || v[k]->proto != v[k - 1]->proto;
			run = new_port ? 1 : run + 1;
			w.ports += new_port;
			if (run > w.max_hosts)
				w.max_hosts = run, w.best_port = v[k]->dport, w.best_proto = v[k]->proto;
		}
		if (w.denied + w.allowed)
			scan_finding(s, e[i].src.v, &w);
		i = j;
	}
	free(v);
}

static const fg_edge *find_edge(const fg_edge *e, size_t n, const uint8_t k[EDGE_KEY])
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint8_t m[EDGE_KEY];
		edge_key(m, e[mid].src.v, e[mid].dst.v, e[mid].dport, e[mid].proto);
		int c = memcmp(m, k, EDGE_KEY);
		if (c == 0)
			return &e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void cross_boundary(state *s, const fg_edge *e, size_t n)
{
	const void *kp, *vp;
	int rc;
	while ((rc = agg_next(s->cross, &kp, &vp)) > 0) {
		const uint8_t *k = kp;
		xval x;
		memcpy(&x, vp, sizeof x);
		const fg_edge *ed = find_edge(e, n, k);
		const char *ss = strpool_get(s->pool, x.src_sub), *ds = strpool_get(s->pool, x.dst_sub);
		const char *st = strpool_get(s->pool, x.src_tenant), *dt = strpool_get(s->pool, x.dst_tenant);
		/* a spoke using the hub's DNS or directory is how estates are built */
		if (!ed || !ed->val.flows || is_shared_port(s, ed->dport) || in_baseline(s, k) ||
		    an_policy_path(&s->pol, ss, ds, st, dt))
			continue;
		int tenant = strcmp(strpool_get(s->pool, x.type), "CrossTenant") == 0 ||
		             (x.src_tenant && x.dst_tenant && x.src_tenant != x.dst_tenant);
		char a[256], b[256], pb[8], by[32];
		finding *f = new_finding(s, AN_CROSS_BOUNDARY, tenant ? SEV_HIGH : SEV_MEDIUM,
		                         tenant ? "cross-boundary.tenant" : "cross-boundary.subscription");
		subject_addr(s, f, "src", ed->src.v);
		subject_addr(s, f, "dst", ed->dst.v);
		subject_port(f, ed->dport, ed->proto);
		/* the tuple's own columns, in case the address table holds another name */
		if (*ss) json_object_set_new(f->subject, "src_sub", json_string(ss));
		if (*ds) json_object_set_new(f->subject, "dst_sub", json_string(ds));
		if (*st) json_object_set_new(f->subject, "src_tenant", json_string(st));
		if (*dt) json_object_set_new(f->subject, "dst_tenant", json_string(dt));
		f->match = M_EDGE;
		ip_format(ed->src.v, a);
		ip_format(ed->dst.v, b);
		fl_human_bytes(ed->val.bytes_sd + ed->val.bytes_ds, by, sizeof by);
		snprintf(f->headline, sizeof f->headline, "%s (%s) -> %s (%s) %s/%u crosses %s", a,
		         tenant ? (*st ? st : "?") : (*ss ? ss : "?"), b, tenant ? (*dt ? dt : "?") : (*ds ? ds : "?"),
		         fl_proto_name(ed->proto, pb), ed->dport, tenant ? "tenants" : "subscriptions");
		snprintf(f->why, sizeof f->why, "%s: a %s path%s%s%s; %" PRIu64 " connections, %s", f->rule,
		         tenant ? "cross-tenant" : "cross-subscription",
		         s->nbase ? " absent from the baseline" : "",
		         s->nbase ? " and" : "", " not declared in the policy", ed->val.flows, by);
		metric_int(f, "connections", ed->val.flows);
		metric_int(f, "bytes", ed->val.bytes_sd + ed->val.bytes_ds);
		if (x.type)
			json_object_set_new(f->metrics, "flow_type", json_string(strpool_get(s->pool, x.type)));
		times(f, ed->val.first, ed->val.last);
	}
	if (rc < 0)
		fl_die(FL_EXIT_FATAL, "%s", agg_error(s->cross));
}

static void beaconing(state *s, const fg_edge *e, size_t n)
{
	const void *kp, *vp;
	int rc;
	const double *th = s->th;
	while ((rc = agg_next(s->beacons, &kp, &vp)) > 0) {
		const an_beacon *b = vp;
		double mean = 0, cv;
		if (b->n < th[TH_BEACON_CONNS] || (cv = an_beacon_cv(b, &mean)) < 0 || cv >= th[TH_BEACON_CV] ||
		    mean < th[TH_BEACON_PERIOD] * 1000)
			continue;
		const uint8_t *k = kp;
		const fg_edge *ed = find_edge(e, n, k);
		char a[256], d[IP_STRLEN], pb[8];
		finding *f = new_finding(s, AN_BEACONING, SEV_MEDIUM, "beaconing.regular");
		subject_addr(s, f, "src", k);
		subject_addr(s, f, "dst", k + 16);
		uint16_t dport = (uint16_t)(k[32] << 8 | k[33]);
		subject_port(f, dport, k[34]);
		f->match = M_EDGE;
		f->order = EV_FIRST;
		f->beacon_only = 1;
		addr_label(s, k, a, sizeof a);
		ip_format(k + 16, d);
		snprintf(f->headline, sizeof f->headline, "%s -> %s %s/%u every %.0f s", a, d,
		         fl_proto_name(k[34], pb), dport, mean / 1000);
		snprintf(f->why, sizeof f->why, "%s: %u connection starts (%u sampled) >= %.0f, intervals of "
		         "%.1f s with a coefficient of variation %.3f < %g", f->rule, b->total, b->n,
		         th[TH_BEACON_CONNS], mean / 1000, cv, th[TH_BEACON_CV]);
		metric_int(f, "connections", b->total);
		metric_int(f, "sampled", b->n);
		metric_real(f, "interval_seconds", mean / 1000);
		metric_real(f, "cv", cv);
		if (ed)
			metric_int(f, "bytes", ed->val.bytes_sd + ed->val.bytes_ds);
		times(f, b->t[0], ed && ed->val.last > b->t[b->n - 1] ? ed->val.last : b->t[b->n - 1]);
	}
	if (rc < 0)
		fl_die(FL_EXIT_FATAL, "%s", agg_error(s->beacons));
}

/* ---- evidence: the second pass ---------------------------------------------------------- */

#define HKEY 36
typedef struct hslot {
	uint8_t key[HKEY];
	size_t head;      /* finding index + 1, 0 = empty */
} hslot;

typedef struct htab {
	hslot *v;
	size_t cap;
} htab;

static void hkey(uint8_t k[HKEY], int tag, const uint8_t *a, const uint8_t *b, int dport, int proto)
{
	memset(k, 0, HKEY);
	k[0] = (uint8_t)tag;
	if (a)
		memcpy(k + 1, a, 16);
	if (b)
		memcpy(k + 17, b, 16);
	k[33] = (uint8_t)(dport >> 8);
	k[34] = (uint8_t)dport;
	k[35] = (uint8_t)proto;
}

static hslot *hfind(htab *h, const uint8_t k[HKEY])
{
	size_t j = hash_bytes(k, HKEY) & (h->cap - 1);
	while (h->v[j].head && memcmp(h->v[j].key, k, HKEY) != 0)
		j = (j + 1) & (h->cap - 1);
	return &h->v[j];
}

static void hput(htab *h, finding *fs, size_t idx, int which, const uint8_t k[HKEY])
{
	hslot *sl = hfind(h, k);
	if (!sl->head)
		memcpy(sl->key, k, HKEY);
	fs[idx].chain[which] = sl->head;
	sl->head = idx + 1;
}

static void index_findings(state *s, htab *h)
{
	h->cap = 16;
	while (h->cap < 4 * s->nf + 16)
		h->cap *= 2;
	h->v = fl_xcalloc(h->cap, sizeof *h->v);
	for (size_t i = 0; i < s->nf; i++) {
		finding *f = &s->f[i];
		uint8_t k[HKEY];
		switch (f->match) {
		case M_INBOUND: hkey(k, 1, NULL, f->dst, f->dport, f->proto); break;
		case M_EDGE: hkey(k, 2, f->src, f->dst, f->dport, f->proto); break;
		case M_PAIR:
			/* under both directions: the workload may have initiated or answered */
			hkey(k, 3, f->dst, f->src, 0, 0);
			hput(h, s->f, i, 1, k);
			hkey(k, 3, f->src, f->dst, 0, 0);
			break;
		case M_SRC: hkey(k, 4, f->src, NULL, 0, 0); break;
		default: hkey(k, 5, NULL, f->dst, 0, 0); break;
		}
		hput(h, s->f, i, 0, k);
	}
}

/* 1 when a ranks before b as evidence. */
static int ev_before(const state *s, int order, const ev *a, const ev *b)
{
	uint64_t x = a->bytes_sd + a->bytes_ds, y = b->bytes_sd + b->bytes_ds;
	if (order == EV_BYTES && x != y)
		return x > y;
	if (a->time != b->time)
		return a->time < b->time;
	int c = strcmp(strpool_get(s->pool, a->archive), strpool_get(s->pool, b->archive));
	if (!c)
		c = strcmp(strpool_get(s->pool, a->member), strpool_get(s->pool, b->member));
	if (c)
		return c < 0;
	return a->ordinal < b->ordinal;
}

static void offer(const state *s, finding *f, const ev *x)
{
	size_t n = f->nev;
	if (n == s->nevidence && !ev_before(s, f->order, x, &f->ev[n - 1]))
		return;
	if (n < s->nevidence)
		f->nev++;
	else
		n--;
	while (n > 0 && ev_before(s, f->order, x, &f->ev[n - 1])) {
		f->ev[n] = f->ev[n - 1];
		n--;
	}
	f->ev[n] = *x;
}

static void make_ev(state *s, flt_reader *r, const flt_rec *rec, ev *x)
{
	const flt_source *src = flt_reader_source(r, rec->source);
	x->time = rec->time_ms;
	memcpy(x->src, rec->src, 16);
	memcpy(x->dst, rec->dst, 16);
	x->sport = rec->sport;
	x->dport = rec->dport;
	x->proto = rec->proto;
	x->dir = rec->dir;
	x->state = rec->state;
	x->action = rec->action;
	x->bytes_sd = rec->bytes_sd;
	x->bytes_ds = rec->bytes_ds;
	x->archive = src ? strpool_intern(s->pool, src->archive, strlen(src->archive)) : 0;
	x->member = src ? strpool_intern(s->pool, src->member, strlen(src->member)) : 0;
	x->ordinal = rec->ordinal;
}

static int accepts(state *s, flt_reader *r, const flt_rec *rec, const finding *f, int tag)
{
	if (f->beacon_only && rec->state != 'B')
		return 0;
	switch (f->match) {
	case M_INBOUND:
	case M_DST:
		if (tag != (f->match == M_DST ? 5 : 1) || rec->action != 'A' || !is_public(rec->src))
			return 0;
		if (f->country[0]) {
			uint32_t c = col_value(s, r, rec, C_SRC_COUNTRY);
			return strcmp(strpool_get(s->pool, c), f->country) == 0;
		}
		return 1;
	case M_EDGE: return tag == 2;
	case M_PAIR: return tag == 3;
	default: return tag == 4;
	}
}

static void evidence_tuple(state *s, htab *h, flt_reader *r, const flt_rec *rec)
{
	uint8_t k[5][HKEY];
	hkey(k[4], 5, NULL, rec->dst, 0, 0);
	hkey(k[0], 1, NULL, rec->dst, rec->dport, rec->proto);
	hkey(k[1], 2, rec->src, rec->dst, rec->dport, rec->proto);
	hkey(k[2], 3, rec->src, rec->dst, 0, 0);
	hkey(k[3], 4, rec->src, NULL, 0, 0);
	ev x;
	int made = 0;
	for (int t = 0; t < 5; t++) {
		hslot *sl = hfind(h, k[t]);
		for (size_t i = sl->head; i;) {
			finding *f = &s->f[i - 1];
			/* an exfiltration finding sits under two keys: follow the chain of this one */
			int which = f->match == M_PAIR && memcmp(rec->src, f->src, 16) != 0;
			if (accepts(s, r, rec, f, t + 1)) {
				if (!made)
					make_ev(s, r, rec, &x), made = 1;
				offer(s, f, &x);
			}
			i = f->chain[which];
		}
	}
}

/* ---- reading --------------------------------------------------------------------------- */

typedef struct input {
	const char *arg;
	FILE *fp;
	fl_spool sp;
	int ok;
} input;

static void read_pass(state *s, input *in, int pass, htab *h)
{
	FILE *fp = pass == 1 ? fl_spool_begin(&in->sp, in->fp, in->sp.name) : in->sp.fp;
	flt_reader *r = flt_reader_new(fp, in->sp.name);
	const flt_rec *rec;
	uint64_t seg = UINT64_MAX;
	int rc = flt_reader_start(r);
	while (rc == 0 && (rc = flt_reader_next(r, &rec)) > 0) {
		rc = 0;
		if (flt_reader_segment(r) != seg) {
			seg = flt_reader_segment(r);
			fg_need_tuples(r);
			new_segment(s, r);
		}
		if (pass == 1)
			add_tuple(s, r, rec);
		else if (!platform_tuple(s, r, rec))
			evidence_tuple(s, h, r, rec);
	}
	if (rc < 0)
		fl_die(FL_EXIT_FATAL, "%s", flt_reader_error(r));
	flt_reader_free(r);
	if (pass == 1)
		fl_spool_rewind(&in->sp);
}

/* ---- output ------------------------------------------------------------------------------- */

static int finding_cmp(const void *pa, const void *pb)
{
	const finding *a = pa, *b = pb;
	if (a->sev != b->sev)
		return a->sev - b->sev;
	int c = strcmp(an_kind_name(a->kind), an_kind_name(b->kind));
	if (c)
		return c;
	if ((c = memcmp(a->src, b->src, 16)) || (c = memcmp(a->dst, b->dst, 16)))
		return c;
	if (a->dport != b->dport)
		return a->dport < b->dport ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if ((c = strcmp(a->country, b->country)))
		return c;
	return strcmp(a->rule, b->rule);
}

static json_t *ev_json(const state *s, const ev *x)
{
	char a[IP_STRLEN], b[IP_STRLEN], t[32], pb[8];
	ip_format(x->src, a);
	ip_format(x->dst, b);
	fl_format_time(x->time, t);
	char st[2] = { (char)x->state, 0 }, ac[2] = { (char)x->action, 0 }, dr[2] = { (char)x->dir, 0 };
	const char *mb = strpool_get(s->pool, x->member);
	/* null for a plain file, as fl-cat --provenance writes it */
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:I}",
	                 "time", t, "src", a, "dst", b, "sport", (int)x->sport, "dport", (int)x->dport,
	                 "proto", fl_proto_name(x->proto, pb), "dir", dr, "state", st, "action", ac,
	                 "bytes_sd", (json_int_t)x->bytes_sd, "bytes_ds", (json_int_t)x->bytes_ds,
	                 "archive", strpool_get(s->pool, x->archive), "member", *mb ? json_string(mb) : json_null(),
	                 "ordinal", (json_int_t)x->ordinal);
}

static void write_jsonl(FILE *fp, const state *s)
{
	for (size_t i = 0; i < s->nf; i++) {
		const finding *f = &s->f[i];
		char t1[32], t2[32];
		json_t *evs = json_array();
		for (size_t k = 0; k < f->nev; k++)
			json_array_append_new(evs, ev_json(s, &f->ev[k]));
		fl_format_time(f->first, t1);
		fl_format_time(f->last, t2);
		json_t *o = json_pack("{s:s, s:s, s:s, s:O, s:O, s:s, s:s, s:s, s:o}", "kind", an_kind_name(f->kind),
		                      "severity", sev_names[f->sev], "rule", f->rule, "subject", f->subject,
		                      "metrics", f->metrics, "reason", f->why, "first_seen", t1, "last_seen", t2,
		                      "evidence", evs);
		char *line = json_dumps(o, JSON_COMPACT);
		fprintf(fp, "%s\n", line);
		free(line);
		json_decref(o);
	}
}

static void write_report(FILE *fp, const state *s)
{
	size_t n[3] = { 0, 0, 0 };
	char t1[32], t2[32];
	for (size_t i = 0; i < s->nf; i++)
		n[s->f[i].sev]++;
	if (s->tuples) {
		fl_format_time(s->tmin, t1);
		fl_format_time(s->tmax, t2);
	} else
		strcpy(t1, "-"), strcpy(t2, "-");
	fprintf(fp, "%zu finding%s (%zu high, %zu medium, %zu low) in %" PRIu64 " tuples from %s to %s",
	        s->nf, s->nf == 1 ? "" : "s", n[0], n[1], n[2], s->tuples, t1, t2);
	if (s->platform)
		fprintf(fp, " (and %" PRIu64 " of Azure platform probes, skipped)", s->platform);
	fputc('\n', fp);
	int cur = -1;
	for (size_t i = 0; i < s->nf; i++) {
		const finding *f = &s->f[i];
		if (f->sev != cur) {
			cur = f->sev;
			fprintf(fp, "\n== %s\n", sev_names[cur]);
		}
		fl_format_time(f->first, t1);
		fl_format_time(f->last, t2);
		fprintf(fp, "\n[%s] %s\n  %s\n  first seen %s, last seen %s\n", an_kind_name(f->kind), f->headline,
		        f->why, t1, t2);
		for (size_t k = 0; k < f->nev; k++) {
			const ev *x = &f->ev[k];
			char a[IP_STRLEN], b[IP_STRLEN], t[32], pb[8];
			ip_format(x->src, a);
			ip_format(x->dst, b);
			fl_format_time(x->time, t);
			const char *ar = strpool_get(s->pool, x->archive), *mb = strpool_get(s->pool, x->member);
			fprintf(fp, "  %s %s %s %s:%u -> %s:%u %c %c %c %" PRIu64 "/%" PRIu64 " B\n"
			        "           at %s%s%s #%u\n", k ? "        " : "evidence", t, fl_proto_name(x->proto, pb),
			        a, x->sport, b, x->dport, x->dir, x->state ? x->state : '-', x->action, x->bytes_sd,
			        x->bytes_ds, ar, *mb ? ":" : "", mb, x->ordinal);
		}
	}
}

/* ---- main ---------------------------------------------------------------------------------- */

static size_t parse_size(const char *sz)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(sz, &end, 10), mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1ULL << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1ULL << 20, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1ULL << 30, end++;
	if (errno || end == sz || *end || *sz == '-' || v == 0 || v > (SIZE_MAX >> 30))
		fl_die(FL_EXIT_USAGE, "bad size '%s' (e.g. 64M, 2G)", sz);
	return (size_t)(v * mul);
}

static void parse_off(unsigned *off, const char *list)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = an_kind_parse(t);
		if (k < 0)
			fl_die(FL_EXIT_USAGE, "--off: unknown detector '%s' (exposure, geography, open-port, "
			       "exfiltration, new-edge, scan, cross-boundary, beaconing)", t);
		*off |= 1u << k;
	}
}

int main(int argc, char **argv)
{
	static state st;
	state *s = &st;
	const char *out = NULL, *arg, *policy = NULL;
	const char *sets[64];
	int force = 0, c, first, nsets = 0;
	unsigned off = 0;
	fl_set_progname(argv[0]);
	s->nevidence = 5;
	s->max_memory = (size_t)512 << 20;
	for (int i = 0; i < TH_COUNT; i++)
		s->th[i] = an_thresholds[i].def;
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'o': out = arg; break;
		case 260: force = 1; break;
		case 'j': s->jsonl = 1; break;
		case 'p': policy = arg; break;
		case 'b': s->baseline_path = arg; break;
		case 261: parse_off(&off, arg); break;
		case 's':
			if (nsets == 64)
				fl_die(FL_EXIT_USAGE, "too many --set");
			sets[nsets++] = arg;
			break;
		case 'e': {
			char *end;
			unsigned long v = strtoul(arg, &end, 10);
			if (*end || end == arg || v < 1 || v > EV_MAX)
				fl_die(FL_EXIT_USAGE, "bad --evidence '%s' (1 to %d)", arg, EV_MAX);
			s->nevidence = v;
			break;
		}
		case 262: s->max_memory = parse_size(arg); break;
		}
	}
	char err[512];
	if (policy) {
		if (an_policy_load(policy, &s->pol, s->th, err, sizeof err) != 0)
			fl_die(FL_EXIT_USAGE, "%s", err);
		s->have_policy = 1;
		off |= s->pol.off;
	}
	/* the command line overrides the policy */
	for (int i = 0; i < nsets; i++)
		if (an_set_threshold(s->th, sets[i], err, sizeof err) != 0)
			fl_die(FL_EXIT_USAGE, "--set %s", err);
	s->on = ((1u << AN_KINDS) - 1) & ~off;
	apps_parse_ports(APPS_DEFAULT_SHARED, &s->shared);
	size_t baseline_cut = s->baseline_path ? load_baseline(s, s->baseline_path) : 0;
	if ((s->on & (1u << AN_NEW_EDGE)) && !s->baseline_path && !s->pol.nedges) {
		fl_warn("new-edge needs --baseline FILE or edges declared in the policy: skipped");
		s->on &= ~(1u << AN_NEW_EDGE);
	}

	int n;
	char **names = fl_inputs(argc, argv, first, &n);

	fg_map map = { FG_BY_IP, NULL, FG_EXT_IP, NULL };
	s->g = fg_new(&map, s->max_memory, NULL);
	s->pool = strpool_new();
	static const agg_ops country_ops = { 16, 4, country_init, country_merge };
	static const agg_ops beacon_ops = { EDGE_KEY, sizeof(an_beacon), an_beacon_init, an_beacon_merge };
	static const agg_ops cross_ops = { EDGE_KEY, sizeof(xval), xval_init, xval_merge };
	size_t small = s->max_memory / 4 ? s->max_memory / 4 : 1;
	if (s->on & ((1u << AN_GEOGRAPHY) | (1u << AN_EXPOSURE) | (1u << AN_OPEN_PORT)))
		s->countries = agg_new(&country_ops, small, NULL);
	if (s->on & (1u << AN_BEACONING))
		s->beacons = agg_new(&beacon_ops, small, NULL);
	if (s->on & (1u << AN_CROSS_BOUNDARY))
		s->cross = agg_new(&cross_ops, small, NULL);
	s->tmin = INT64_MAX;
	s->tmax = INT64_MIN;

	int status = baseline_cut ? FL_EXIT_DAMAGED : FL_EXIT_OK;
	input *ins = fl_xcalloc((size_t)n, sizeof *ins);
	for (int i = 0; i < n; i++) {
		int is_stdin = strcmp(names[i], "-") == 0;
		ins[i].fp = is_stdin ? stdin : fopen(names[i], "rb");
		ins[i].sp.name = is_stdin ? "standard input" : names[i];
		if (!ins[i].fp) {
			fl_warn("cannot open '%s': %s", names[i], strerror(errno));
			status = FL_EXIT_DAMAGED;
			continue;
		}
		ins[i].ok = 1;
		read_pass(s, &ins[i], 1, NULL);
	}
	if ((s->on & (1u << AN_GEOGRAPHY)) && !s->seen_country && s->tuples) {
		fl_warn("geography rules need fl-geo annotations (src_country): skipped");
		s->on &= ~(1u << AN_GEOGRAPHY);
	}
	if ((s->on & (1u << AN_CROSS_BOUNDARY)) && !s->seen_subs && s->tuples) {
		fl_warn("cross-boundary needs fl-join-subs annotations (src_sub/dst_sub or flow_type): skipped");
		s->on &= ~(1u << AN_CROSS_BOUNDARY);
	}

	fg_edge *e;
	size_t ne;
	if (fg_edges(s->g, &e, &ne) != 0)
		fl_die(FL_EXIT_FATAL, "%s", fg_error(s->g));
	/* always: it also finds the public-facing workloads exfiltration needs */
	inbound_detectors(s, e, ne);
	if (s->on & (1u << AN_EXFILTRATION))
		exfiltration(s, e, ne);
	if (s->on & (1u << AN_NEW_EDGE))
		new_edges(s, e, ne);
	if (s->on & (1u << AN_SCAN))
		scans(s, e, ne);
	if (s->on & (1u << AN_CROSS_BOUNDARY))
		cross_boundary(s, e, ne);
	if (s->on & (1u << AN_BEACONING))
		beaconing(s, e, ne);

	if (s->nf) {
		htab h;
		index_findings(s, &h);
		for (int i = 0; i < n; i++)
			if (ins[i].ok)
				read_pass(s, &ins[i], 2, &h);
		free(h.v);
	}
	for (int i = 0; i < n; i++)
		if (ins[i].ok)
			fl_spool_close(&ins[i].sp);
	if (s->nf > 1)
		qsort(s->f, s->nf, sizeof *s->f, finding_cmp);

	fl_output o;
	fl_output_open(&o, out, force, 0);
	if (s->jsonl)
		write_jsonl(o.fp, s);
	else
		write_report(o.fp, s);
	fl_output_commit(&o);

	for (size_t i = 0; i < s->nf; i++) {
		json_decref(s->f[i].subject);
		json_decref(s->f[i].metrics);
	}
	free(s->f);
	free(ins);
	free(s->ai);
	free(s->cache);
	free(s->base);
	free(s->pf);
	if (s->countries) agg_free(s->countries);
	if (s->beacons) agg_free(s->beacons);
	if (s->cross) agg_free(s->cross);
	strpool_free(s->pool);
	fg_free(s->g);
	an_policy_free(&s->pol);
	return status;
}
