/*
 * anomaly.c - thresholds, policy and the beacon sample of fl-anomaly.
 */
#include "anomaly.h"
#include "ip.h"
#include "textin.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[AN_KINDS] = {
	"exposure", "geography", "open-port", "exfiltration",
	"new-edge", "scan", "cross-boundary", "beaconing"
};

const char *an_kind_name(int kind)
{
	return kind >= 0 && kind < AN_KINDS ? kind_names[kind] : "?";
}

int an_kind_parse(const char *s)
{
	for (int i = 0; i < AN_KINDS; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

const an_threshold an_thresholds[TH_COUNT] = {
	[TH_EXPOSURE_PUBLIC_SOURCES] = { AN_EXPOSURE, "public_min_sources", AN_INT, 20,
		"a workload serving 80/443/8443 to this many distinct public sources is public-facing" },
	[TH_EXPOSURE_PUBLIC_COUNTRIES] = { AN_EXPOSURE, "public_min_countries", AN_INT, 5,
		"... or to sources in this many countries" },
	[TH_OPEN_SOURCES] = { AN_OPEN_PORT, "min_sources", AN_INT, 50,
		"distinct public sources reaching one workload port" },
	[TH_OPEN_NETWORKS] = { AN_OPEN_PORT, "min_networks", AN_INT, 20,
		"distinct public /24 (IPv6 /48) networks reaching it" },
	[TH_OPEN_COUNTRIES] = { AN_OPEN_PORT, "min_countries", AN_INT, 5,
		"distinct countries reaching it (with fl-geo annotations)" },
	[TH_EXFIL_FACTOR] = { AN_EXFILTRATION, "factor", AN_NUM, 10,
		"outbound bytes to one destination above this many times the median of the others" },
	[TH_EXFIL_MIN_BYTES] = { AN_EXFILTRATION, "min_bytes", AN_INT, 100e6,
		"and at least this many bytes" },
	[TH_EXFIL_HIGH_BYTES] = { AN_EXFILTRATION, "high_bytes", AN_INT, 1e9,
		"this many bytes rank high" },
	[TH_EXFIL_NEW_AFTER] = { AN_EXFILTRATION, "new_after", AN_RATIO, 0.25,
		"a destination first seen after this fraction of the window is new" },
	[TH_EXFIL_LONG] = { AN_EXFILTRATION, "long_seconds", AN_INT, 3600,
		"an upload to a new destination lasting this long ranks high" },
	[TH_SCAN_PORTS] = { AN_SCAN, "min_ports", AN_INT, 20,
		"distinct ports one source tries on one host" },
	[TH_SCAN_HOSTS] = { AN_SCAN, "min_hosts", AN_INT, 20,
		"distinct hosts one source tries on one port" },
	[TH_SCAN_DENIED] = { AN_SCAN, "min_denied_ratio", AN_RATIO, 0.8,
		"share of the attempts that were denied" },
	[TH_BEACON_CONNS] = { AN_BEACONING, "min_connections", AN_INT, 8,
		"connection starts to one external destination" },
	[TH_BEACON_CV] = { AN_BEACONING, "max_cv", AN_RATIO, 0.1,
		"coefficient of variation of the intervals between starts below this" },
	[TH_BEACON_PERIOD] = { AN_BEACONING, "min_period_seconds", AN_NUM, 10,
		"mean interval at least this (faster is a burst, not a beacon)" },
};

static int find_threshold(const char *det, size_t dn, const char *name)
{
	for (int i = 0; i < TH_COUNT; i++) {
		const char *k = an_kind_name(an_thresholds[i].kind);
		if (strlen(k) == dn && memcmp(k, det, dn) == 0 && strcmp(an_thresholds[i].name, name) == 0)
			return i;
	}
	return -1;
}

static const char *type_text(int type)
{
	return type == AN_INT ? "a positive integer" : type == AN_RATIO ? "a number from 0 to 1"
	                                                                : "a positive number";
}

static int valid_value(int type, double v)
{
	if (!isfinite(v))
		return 0;
	if (type == AN_INT)
		return v >= 1 && v == floor(v) && v < 9e18;
	if (type == AN_RATIO)
		return v >= 0 && v <= 1;
	return v > 0;
}

int an_set_threshold(double th[TH_COUNT], const char *a, char *err, size_t errlen)
{
	const char *dot = strchr(a, '.'), *eq = strchr(a, '=');
	if (!dot || !eq || eq < dot) {
		snprintf(err, errlen, "'%s': expected DETECTOR.NAME=VALUE (e.g. scan.min_ports=50)", a);
		return -1;
	}
	char name[64];
	size_t nl = (size_t)(eq - dot - 1);
	if (nl >= sizeof name)
		nl = sizeof name - 1;
	memcpy(name, dot + 1, nl);
	name[nl] = 0;
	int i = find_threshold(a, (size_t)(dot - a), name);
	if (i < 0) {
		snprintf(err, errlen, "'%.*s': no such threshold (see --help)", (int)(eq - a), a);
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(eq + 1, &end);
	if (errno || end == eq + 1 || *end || !valid_value(an_thresholds[i].type, v)) {
		snprintf(err, errlen, "'%s': expected %s", a, type_text(an_thresholds[i].type));
		return -1;
	}
	th[i] = v;
	return 0;
}

/* ---- selectors ----------------------------------------------------------- */

int an_sel_parse(const char *s, an_sel *sel)
{
	memset(sel, 0, sizeof *sel);
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (ip_parse(s, n, sel->addr) == 0) {
		unsigned max = ip_is_v4(sel->addr) ? 32 : 128;
		unsigned bits = max;
		if (slash) {
			char *end;
			unsigned long b = strtoul(slash + 1, &end, 10);
			if (end == slash + 1 || *end || b > max)
				return -1;
			bits = (unsigned)b;
		}
		sel->kind = AN_SEL_PREFIX;
		sel->bits = bits + (max == 32 ? 96 : 0);
		return 0;
	}
	if (slash || !*s)
		return -1;
	sel->kind = AN_SEL_NAME;
	sel->name = strdup(s);
	return sel->name ? 0 : -1;
}

int an_sel_match(const an_sel *sel, const uint8_t addr[16], const char *vm)
{
	if (sel->kind == AN_SEL_NAME)
		return vm && strcmp(sel->name, vm) == 0;
	unsigned full = sel->bits / 8, rest = sel->bits % 8;
	if (memcmp(sel->addr, addr, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		return (sel->addr[full] & mask) == (addr[full] & mask);
	}
	return 1;
}

/* ---- policy ---------------------------------------------------------------- */

typedef struct pctx {
	const char *file;
	char *err;
	size_t errlen;
} pctx;

static int perr(pctx *c, const char *path, const char *why, const json_t *got)
{
	char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	if (g && strlen(g) > 60)
		strcpy(g + 57, "...");
	snprintf(c->err, c->errlen, "%s: %s: %s%s%s", c->file, path, why, g ? ", got " : "", g ? g : "");
	free(g);
	return -1;
}

static char *pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *pathf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return buf;
}

static int get_sel(pctx *c, const char *path, const json_t *v, an_sel *sel)
{
	if (!json_is_string(v) || an_sel_parse(json_string_value(v), sel) != 0)
		return perr(c, path, "expected an address, a prefix (10.1.0.0/24) or a VM name", v);
	return 0;
}

static int get_countries(pctx *c, const char *path, const json_t *v, char ***out, size_t *n)
{
	char p[256];
	if (!json_is_array(v))
		return perr(c, path, "expected an array of two-letter country codes", v);
	*n = json_array_size(v);
	*out = calloc(*n ? *n : 1, sizeof **out);
	for (size_t i = 0; i < *n; i++) {
		const json_t *e = json_array_get(v, i);
		const char *s = json_string_value(e);
		if (!s || strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
			return perr(c, pathf(p, sizeof p, "%s[%zu]", path, i),
			            "expected a two-letter upper-case country code", e);
		(*out)[i] = strdup(s);
	}
	return 0;
}

static int get_proto(pctx *c, const char *path, const json_t *v, int *proto)
{
	const char *s = json_string_value(v);
	if (s && strcmp(s, "tcp") == 0)
		*proto = 6;
	else if (s && strcmp(s, "udp") == 0)
		*proto = 17;
	else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255)
		*proto = (int)json_integer_value(v);
	else
		return perr(c, path, "expected \"tcp\", \"udp\" or a protocol number", v);
	return 0;
}

static int get_edge(pctx *c, const char *path, const json_t *v, an_edge_decl *e)
{
	char p[256];
	const char *k;
	json_t *x;
	e->dport = e->proto = -1;
	if (!json_is_object(v))
		return perr(c, path, "expected an object {\"src\", \"dst\", \"dport\", \"proto\"}", v);
	if (!json_object_get(v, "src") || !json_object_get(v, "dst"))
		return perr(c, path, "an edge needs \"src\" and \"dst\"", NULL);
	json_object_foreach((json_t *)v, k, x) {
		pathf(p, sizeof p, "%s.%s", path, k);
		if (strcmp(k, "src") == 0) {
			if (get_sel(c, p, x, &e->src))
				return -1;
		} else if (strcmp(k, "dst") == 0) {
			if (get_sel(c, p, x, &e->dst))
				return -1;
		} else if (strcmp(k, "dport") == 0) {
			if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 65535)
				return perr(c, p, "expected a port number (0-65535)", x);
			e->dport = (int)json_integer_value(x);
		} else if (strcmp(k, "proto") == 0) {
			if (get_proto(c, p, x, &e->proto))
				return -1;
		} else
			return perr(c, p, "unknown key (src, dst, dport, proto)", NULL);
	}
	return 0;
}

static int get_path(pctx *c, const char *path, const json_t *v, an_path_decl *d)
{
	static const char *const keys[] = { "src_sub", "dst_sub", "src_tenant", "dst_tenant" };
	char p[256];
	const char *k;
	json_t *x;
	if (!json_is_object(v) || json_object_size(v) == 0)
		return perr(c, path, "expected an object with src_sub, dst_sub, src_tenant and/or dst_tenant", v);
	json_object_foreach((json_t *)v, k, x) {
		char **slot[] = { &d->src_sub, &d->dst_sub, &d->src_tenant, &d->dst_tenant };
		size_t i = 0;
		while (i < 4 && strcmp(k, keys[i]) != 0)
			i++;
		pathf(p, sizeof p, "%s.%s", path, k);
		if (i == 4)
			return perr(c, p, "unknown key (src_sub, dst_sub, src_tenant, dst_tenant)", NULL);
		if (!json_is_string(x) || !*json_string_value(x))
			return perr(c, p, "expected a subscription or tenant id (a string)", x);
		*slot[i] = strdup(json_string_value(x));
	}
	return 0;
}

static int get_thresholds(pctx *c, const json_t *v, double th[TH_COUNT])
{
	char p[256];
	const char *det, *name;
	json_t *o, *x;
	if (!json_is_object(v))
		return perr(c, "thresholds", "expected an object {\"scan\": {\"min_ports\": 50}, ...}", v);
	json_object_foreach((json_t *)v, det, o) {
		pathf(p, sizeof p, "thresholds.%s", det);
		if (an_kind_parse(det) < 0)
			return perr(c, p, "unknown detector", NULL);
		if (!json_is_object(o))
			return perr(c, p, "expected an object of threshold: value", o);
		json_object_foreach(o, name, x) {
			pathf(p, sizeof p, "thresholds.%s.%s", det, name);
			int i = find_threshold(det, strlen(det), name);
			if (i < 0)
				return perr(c, p, "unknown threshold", NULL);
			if (!json_is_number(x) || !valid_value(an_thresholds[i].type, json_number_value(x))) {
				char why[64];
				snprintf(why, sizeof why, "expected %s", type_text(an_thresholds[i].type));
				return perr(c, p, why, x);
			}
			th[i] = json_number_value(x);
		}
	}
	return 0;
}

static int load_root(pctx *c, json_t *root, an_policy *p, double th[TH_COUNT])
{
	char path[256];
	const char *k;
	json_t *v;
	if (!json_is_object(root))
		return perr(c, "(top level)", "expected an object", NULL);
	json_object_foreach(root, k, v) {
		if (strcmp(k, "public_facing") == 0) {
			if (!json_is_array(v))
				return perr(c, k, "expected an array of addresses, prefixes or VM names", v);
			p->npublic = json_array_size(v);
			p->public_facing = calloc(p->npublic + 1, sizeof *p->public_facing);
			for (size_t i = 0; i < p->npublic; i++)
				if (get_sel(c, pathf(path, sizeof path, "%s[%zu]", k, i), json_array_get(v, i),
				            &p->public_facing[i]))
					return -1;
		} else if (strcmp(k, "expected_countries") == 0) {
			if (get_countries(c, k, v, &p->countries, &p->ncountries))
				return -1;
			p->have_countries = 1;
		} else if (strcmp(k, "workload_countries") == 0) {
			const char *w;
			json_t *x;
			if (!json_is_object(v))
				return perr(c, k, "expected an object {\"SELECTOR\": [\"DE\", ...]}", v);
			p->wcountries = calloc(json_object_size(v) + 1, sizeof *p->wcountries);
			json_object_foreach(v, w, x) {
				an_country_rule *r = &p->wcountries[p->nwcountries++];
				json_t *ws = json_string(w);
				int bad = get_sel(c, pathf(path, sizeof path, "%s.%s", k, w), ws, &r->sel);
				json_decref(ws);
				if (bad || get_countries(c, path, x, &r->countries, &r->n))
					return -1;
			}
			p->have_countries = 1;
		} else if (strcmp(k, "edges") == 0) {
			if (!json_is_array(v))
				return perr(c, k, "expected an array of edges", v);
			p->edges = calloc(json_array_size(v) + 1, sizeof *p->edges);
			/* counted up front: a failure half-way is freed like the rest */
			p->nedges = json_array_size(v);
			for (size_t i = 0; i < json_array_size(v); i++)
				if (get_edge(c, pathf(path, sizeof path, "edges[%zu]", i), json_array_get(v, i),
				             &p->edges[i]))
					return -1;
		} else if (strcmp(k, "cross_boundary") == 0) {
			if (!json_is_array(v))
				return perr(c, k, "expected an array of declared paths", v);
			p->paths = calloc(json_array_size(v) + 1, sizeof *p->paths);
			p->npaths = json_array_size(v);
			for (size_t i = 0; i < json_array_size(v); i++)
				if (get_path(c, pathf(path, sizeof path, "cross_boundary[%zu]", i),
				             json_array_get(v, i), &p->paths[i]))
					return -1;
		} else if (strcmp(k, "off") == 0) {
			if (!json_is_array(v))
				return perr(c, k, "expected an array of detector names", v);
			for (size_t i = 0; i < json_array_size(v); i++) {
				const char *s = json_string_value(json_array_get(v, i));
				int kd = s ? an_kind_parse(s) : -1;
				if (kd < 0)
					return perr(c, pathf(path, sizeof path, "off[%zu]", i), "unknown detector",
					            json_array_get(v, i));
				p->off |= 1u << kd;
			}
		} else if (strcmp(k, "thresholds") == 0) {
			if (get_thresholds(c, v, th))
				return -1;
		} else {
			return perr(c, k, "unknown key (public_facing, expected_countries, "
			            "workload_countries, edges, cross_boundary, off, thresholds)", NULL);
		}
	}
	return 0;
}

int an_policy_load(const char *path, an_policy *p, double th[TH_COUNT], char *err, size_t errlen)
{
	json_error_t je;
	pctx c = { path, err, errlen };
	memset(p, 0, sizeof *p);
	json_t *root = fl_json_load_path(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		else
			snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	int rc = load_root(&c, root, p, th);
	json_decref(root);
	if (rc)
		an_policy_free(p);
	return rc;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void an_policy_free(an_policy *p)
{
	for (size_t i = 0; i < p->npublic; i++)
		free(p->public_facing[i].name);
	free(p->public_facing);
	free_list(p->countries, p->ncountries);
	for (size_t i = 0; i < p->nwcountries; i++) {
		free(p->wcountries[i].sel.name);
		free_list(p->wcountries[i].countries, p->wcountries[i].n);
	}
	free(p->wcountries);
	for (size_t i = 0; i < p->nedges; i++)
		free(p->edges[i].src.name), free(p->edges[i].dst.name);
	free(p->edges);
	for (size_t i = 0; i < p->npaths; i++) {
		free(p->paths[i].src_sub), free(p->paths[i].dst_sub);
		free(p->paths[i].src_tenant), free(p->paths[i].dst_tenant);
	}
	free(p->paths);
	memset(p, 0, sizeof *p);
}

int an_policy_public(const an_policy *p, const uint8_t addr[16], const char *vm)
{
	for (size_t i = 0; i < p->npublic; i++)
		if (an_sel_match(&p->public_facing[i], addr, vm))
			return 1;
	return 0;
}

char **an_policy_wcountries(const an_policy *p, const uint8_t addr[16], const char *vm, size_t *n)
{
	for (size_t i = 0; i < p->nwcountries; i++)
		if (an_sel_match(&p->wcountries[i].sel, addr, vm)) {
			*n = p->wcountries[i].n;
			return p->wcountries[i].countries;
		}
	*n = 0;
	return NULL;
}

int an_country_in(char **list, size_t n, const char *cc)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], cc) == 0)
			return 1;
	return 0;
}

int an_policy_edge(const an_policy *p, const uint8_t src[16], const char *src_vm,
                   const uint8_t dst[16], const char *dst_vm, uint16_t dport, uint8_t proto)
{
	for (size_t i = 0; i < p->nedges; i++) {
		const an_edge_decl *e = &p->edges[i];
		if ((e->dport < 0 || e->dport == dport) && (e->proto < 0 || e->proto == proto) &&
		    an_sel_match(&e->src, src, src_vm) && an_sel_match(&e->dst, dst, dst_vm))
			return 1;
	}
	return 0;
}

static int same_or_any(const char *want, const char *have)
{
	return !want || strcasecmp(want, have) == 0;
}

int an_policy_path(const an_policy *p, const char *src_sub, const char *dst_sub,
                   const char *src_tenant, const char *dst_tenant)
{
	for (size_t i = 0; i < p->npaths; i++) {
		const an_path_decl *d = &p->paths[i];
		if (same_or_any(d->src_sub, src_sub) && same_or_any(d->dst_sub, dst_sub) &&
		    same_or_any(d->src_tenant, src_tenant) && same_or_any(d->dst_tenant, dst_tenant))
			return 1;
	}
	return 0;
}

/* ---- beacon sample ------------------------------------------------------------ */

void an_beacon_init(void *v)
{
	memset(v, 0, sizeof(an_beacon));
}

/* Merges two ascending distinct lists, keeping the smallest. */
void an_beacon_merge(void *dst, const void *src)
{
	an_beacon *d = dst;
	const an_beacon *s = src;
	int64_t out[AN_BEACON_SAMPLE];
	uint32_t i = 0, j = 0, k = 0;
	while (k < AN_BEACON_SAMPLE && (i < d->n || j < s->n)) {
		int64_t t;
		if (j >= s->n || (i < d->n && d->t[i] <= s->t[j]))
			t = d->t[i++];
		else
			t = s->t[j++];
		if (k == 0 || out[k - 1] != t)
			out[k++] = t;
	}
	memcpy(d->t, out, k * sizeof *out);
	d->n = k;
	d->total = d->total > UINT32_MAX - s->total ? UINT32_MAX : d->total + s->total;
}

void an_beacon_add(an_beacon *b, int64_t t)
{
	an_beacon one;
	an_beacon_init(&one);
	one.total = 1;
	one.n = 1;
	one.t[0] = t;
	an_beacon_merge(b, &one);
}

double an_beacon_cv(const an_beacon *b, double *mean_ms)
{
	if (b->n < 3)
		return -1;
	double sum = 0, sq = 0;
	uint32_t m = b->n - 1;
	for (uint32_t i = 0; i < m; i++)
		sum += (double)(b->t[i + 1] - b->t[i]);
	double mean = sum / m;
	for (uint32_t i = 0; i < m; i++) {
		double d = (double)(b->t[i + 1] - b->t[i]) - mean;
		sq += d * d;
	}
	*mean_ms = mean;
	return mean > 0 ? sqrt(sq / m) / mean : -1;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t an_median_u64(uint64_t *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, u64_cmp);
	return n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2;
}
