/*
 * geo.c - address annotation: class, MaxMind DB lookups, service tags,
 * and the cache in front of them.  See geo.h.
 *
 * Schemas.  Each field is read by the first path that gives a value:
 *   country  country.iso_code | country_code | registered_country.iso_code
 *   city     city.names.en    | city (a string in the flat schema)
 *   asn      autonomous_system_number (any unsigned width, or a string)
 *   asorg    autonomous_system_organization
 * so MaxMind's GeoLite2/GeoIP2 files and ip-location-db's flat files both
 * work without being told which is which, and a City database that lacks a
 * country for an anycast network still gives its registered country.
 *
 * Cache.  Keys are addresses chosen by whoever sends the packets, so the
 * set index comes from a hash seeded from getrandom(): nobody can aim
 * collisions at one set.  A set is one 64-byte cache line: three keys and
 * three ids of distinct results (the full results, 24 bytes, would not fit;
 * there are far fewer distinct results than addresses).  Ways are kept
 * most recent first, so hot addresses sharing a set do not evict each other.
 */
#include "geo.h"

#include <errno.h>
#include <jansson.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli.h"
#include "textin.h"
#include "ip.h"
#include "prefixes.h"
#include "strpool.h"

#define GEO_CACHE_BITS_DEFAULT 15 /* 32768 sets of 3: 98304 addresses, 2 MiB */
#define GEO_RESULTS_MAX (1u << 20)

typedef struct geo_db {
	MMDB_s mmdb;
	char *desc;
} geo_db;

typedef struct cache_set {
	uint8_t key[3][16];
	uint32_t id[3]; /* result ids, 0 = empty way */
	uint32_t pad;
} cache_set;

struct geo {
	geo_db *db;
	size_t ndb;
	prefix_table *tags;
	char *tags_desc;
	strpool *pool;
	cache_set *cache;
	uint64_t cache_mask; /* sets - 1 */
	/* distinct results, interned: res[id], id >= 1 */
	geo_result *res;
	uint32_t nres, res_cap;
	uint32_t *rindex;    /* open addressing over ids, 0 = free */
	uint32_t rindex_mask;
	uint64_t res_epoch;
	uint64_t seed0, seed1;
	geo_stats st;
	char err[512];
};

/* ---- strings ------------------------------------------------------------ */

static uint32_t intern(geo *g, const char *s, size_t n)
{
	return n ? strpool_intern(g->pool, s, n) : 0;
}

const char *geo_str(const geo *g, uint32_t id)
{
	return id ? strpool_get(g->pool, id) : "";
}

uint32_t geo_str_count(const geo *g)
{
	return strpool_count(g->pool);
}

/* ---- setup -------------------------------------------------------------- */

static void seed(geo *g)
{
	uint64_t s[2];
	fl_random_bytes(s, sizeof s);
	g->seed0 = s[0];
	g->seed1 = s[1] | 1;
}

geo *geo_new(void)
{
	geo *g = fl_xcalloc(1, sizeof *g);
	g->pool = strpool_new();
	seed(g);
	geo_set_cache(g, GEO_CACHE_BITS_DEFAULT);
	return g;
}

void geo_free(geo *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->ndb; i++) {
		MMDB_close(&g->db[i].mmdb);
		free(g->db[i].desc);
	}
	free(g->db);
	prefix_table_free(g->tags);
	free(g->tags_desc);
	strpool_free(g->pool);
	free(g->cache);
	free(g->res);
	free(g->rindex);
	free(g);
}

void geo_set_cache(geo *g, unsigned bits)
{
	free(g->cache);
	g->cache = NULL;
	g->cache_mask = 0;
	if (bits == 0)
		return;
	if (bits > 24)
		bits = 24;
	size_t n = (size_t)1 << bits;
	g->cache = aligned_alloc(64, n * sizeof *g->cache);
	if (!g->cache)
		fl_die(FL_EXIT_FATAL, "out of memory");
	memset(g->cache, 0, n * sizeof *g->cache);
	g->cache_mask = n - 1;
}

/* Results depend on the data loaded, so loading more forgets them. */
static void cache_clear(geo *g)
{
	if (g->cache)
		memset(g->cache, 0, (size_t)(g->cache_mask + 1) * sizeof *g->cache);
}

const char *geo_error(const geo *g)
{
	return g->err;
}

size_t geo_db_count(const geo *g)
{
	return g->ndb;
}

const char *geo_db_desc(const geo *g, size_t i)
{
	return i < g->ndb ? g->db[i].desc : NULL;
}

const char *geo_tags_desc(const geo *g)
{
	return g->tags_desc;
}

size_t geo_tags_prefixes(const geo *g)
{
	return g->tags ? prefix_table_count(g->tags) : 0;
}

void geo_get_stats(const geo *g, geo_stats *st)
{
	*st = g->st;
}

/* ---- MaxMind DB --------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void to_sockaddr(const uint8_t a[16], struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (ip_is_v4(a)) {
		/* AF_INET makes libmaxminddb start from the IPv4 subtree of an
		 * IPv6 database (::/96), where both schemas keep IPv4 networks */
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a + 12, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
	}
}

/* A value at path as text: strings as they are, unsigned numbers in decimal.
 * 0 when absent or of another type, -1 on a damaged data section. */
static int get_text(MMDB_entry_s *e, const char *const *path, char *buf, size_t size, size_t *len)
{
	MMDB_entry_data_s d;
	int rc = MMDB_aget_value(e, &d, path);
	if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || rc == MMDB_INVALID_LOOKUP_PATH_ERROR)
		return 0;
	if (rc != MMDB_SUCCESS)
		return -1;
	if (!d.has_data)
		return 0;
	unsigned long long v;
	switch (d.type) {
	case MMDB_DATA_TYPE_UTF8_STRING:
		if (d.data_size == 0)
			return 0;
		*len = d.data_size < size ? d.data_size : size;
		memcpy(buf, d.utf8_string, *len);
		return 1;
	case MMDB_DATA_TYPE_UINT16: v = d.uint16; break;
	case MMDB_DATA_TYPE_UINT32: v = d.uint32; break;
	case MMDB_DATA_TYPE_UINT64: v = d.uint64; break;
	case MMDB_DATA_TYPE_INT32:
		if (d.int32 < 0)
			return 0;
		v = (unsigned long long)d.int32;
		break;
	default:
		return 0;
	}
	int n = snprintf(buf, size, "%llu", v);
	*len = (size_t)n < size ? (size_t)n : size - 1;
	return 1;
}

static const char *const p_country[] = { "country", "iso_code", NULL };
static const char *const p_country_flat[] = { "country_code", NULL };
static const char *const p_country_reg[] = { "registered_country", "iso_code", NULL };
static const char *const p_city[] = { "city", "names", "en", NULL };
static const char *const p_city_flat[] = { "city", NULL };
static const char *const p_asn[] = { "autonomous_system_number", NULL };
static const char *const p_asorg[] = { "autonomous_system_organization", NULL };

static const char *const *const field_paths[4][3] = {
	{ p_country, p_country_flat, p_country_reg },
	{ p_city, p_city_flat, NULL },
	{ p_asn, NULL, NULL },
	{ p_asorg, NULL, NULL },
};

static int dfail(geo *g, const geo_db *d, const uint8_t a[16], int rc)
{
	char ip[IP_STRLEN];
	ip_format(a, ip);
	snprintf(g->err, sizeof g->err, "%s: lookup of %s failed: %s (the database is damaged)",
	         d->desc, ip, MMDB_strerror(rc));
	return -1;
}

/* Fills the fields still unknown in r from database d.  0 or -1. */
static int db_fill(geo *g, geo_db *d, const uint8_t a[16], geo_result *r)
{
	struct sockaddr_storage ss;
	to_sockaddr(a, &ss);
	int rc;
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&d->mmdb, (struct sockaddr *)&ss, &rc);
	if (rc == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return 0; /* an IPv4-only database knows nothing of IPv6 */
	if (rc != MMDB_SUCCESS)
		return dfail(g, d, a, rc);
	if (!res.found_entry)
		return 0;
	uint32_t *out[4] = { &r->country, &r->city, &r->asn, &r->asorg };
	char buf[512];
	for (int f = 0; f < 4; f++) {
		for (int p = 0; !*out[f] && p < 3 && field_paths[f][p]; p++) {
			size_t len = 0;
			int got = get_text(&res.entry, field_paths[f][p], buf, sizeof buf, &len);
			if (got < 0)
				return dfail(g, d, a, MMDB_INVALID_DATA_ERROR);
			if (got)
				*out[f] = intern(g, buf, len);
		}
	}
	return 0;
}

static void format_epoch(uint64_t epoch, char *buf, size_t size)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%llu", (unsigned long long)epoch);
}

int geo_add_db(geo *g, const char *path, char *err, size_t errlen)
{
	MMDB_s m;
	/* libmaxminddb says only "error opening": the system's reason is clearer */
	FILE *probe = fopen(path, "rb");
	if (!probe) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	fclose(probe);
	int rc = MMDB_open(path, MMDB_MODE_MMAP, &m);
	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "'%s' is not a usable MaxMind DB file: %s", path,
		         MMDB_strerror(rc));
		return -1;
	}
	g->db = fl_xrealloc(g->db, (g->ndb + 1) * sizeof *g->db);
	geo_db *d = &g->db[g->ndb];
	d->mmdb = m;
	char when[40];
	format_epoch(m.metadata.build_epoch, when, sizeof when);
	const char *type = m.metadata.database_type && *m.metadata.database_type
	                   ? m.metadata.database_type : "unknown-type";
	size_t n = strlen(type) + strlen(when) + strlen(base_name(path)) + 3;
	d->desc = fl_xmalloc(n);
	snprintf(d->desc, n, "%s %s %s", type, when, base_name(path));
	/* A damaged file usually opens (the metadata sits at the end); walk a
	 * few lookups now so it is refused before any output is written. */
	static const char *const probes[] = { "1.1.1.1", "8.8.8.8", "13.69.64.1", "81.2.69.160",
	                                      "2001:4860:4860::8888", "2a02:ff0::1" };
	geo_result r;
	for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
		uint8_t a[16];
		ip_parse(probes[i], strlen(probes[i]), a);
		memset(&r, 0, sizeof r);
		if (db_fill(g, d, a, &r) != 0) {
			snprintf(err, errlen, "'%s' is damaged: %s", path, g->err);
			MMDB_close(&d->mmdb);
			free(d->desc);
			return -1;
		}
	}
	g->ndb++;
	cache_clear(g);
	return 0;
}

/* ---- service tags ------------------------------------------------------- */

/* 3: a service with a region or feature ("Storage.WestEurope")
 * 2: a whole service ("Storage")
 * 1: an AzureCloud region ("AzureCloud.westeurope")
 * 0: AzureCloud, every Azure address: it says least. */
static int tag_rank(const char *s)
{
	int cloud = strncmp(s, "AzureCloud", 10) == 0 && (s[10] == '\0' || s[10] == '.');
	int dotted = strchr(s, '.') != NULL;
	return (cloud ? 0 : 2) + dotted;
}

int geo_tag_more_specific(const char *a, const char *b)
{
	int ra = tag_rank(a), rb = tag_rank(b);
	if (ra != rb)
		return ra > rb;
	return strcmp(a, b) < 0;
}

static int prefer_tag(uint32_t a, uint32_t b, void *ctx)
{
	const geo *g = ctx;
	return geo_tag_more_specific(geo_str(g, a), geo_str(g, b));
}

int geo_load_service_tags(geo *g, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = fl_json_load_path(path, 0, &je);
	if (!root) {
		if (je.line > 0)
			snprintf(err, errlen, "%s: line %d: %s", path, je.line, je.text);
		else
			snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	json_t *values = json_object_get(root, "values");
	if (!json_is_array(values)) {
		snprintf(err, errlen, "%s: no \"values\" array: not an Azure service-tags file", path);
		json_decref(root);
		return -1;
	}
	prefix_table *t = prefix_table_new();
	size_t i, ntags = 0, nprefixes = 0;
	json_t *v;
	json_array_foreach(values, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		json_t *list = json_object_get(json_object_get(v, "properties"), "addressPrefixes");
		if (!name || !*name || !json_is_array(list))
			continue;
		uint32_t id = intern(g, name, strlen(name));
		ntags++;
		size_t k;
		json_t *p;
		json_array_foreach(list, k, p) {
			uint8_t a[16];
			unsigned len;
			const char *s = json_string_value(p);
			if (!s || prefix_parse(s, strlen(s), a, &len) != 0) {
				snprintf(err, errlen, "%s: tag %s: bad address prefix '%s'", path, name,
				         s ? s : "(not a string)");
				prefix_table_free(t);
				json_decref(root);
				return -1;
			}
			prefix_table_add(t, a, len, id);
			nprefixes++;
		}
	}
	prefix_table_build(t, prefer_tag, g);
	json_t *cn = json_object_get(root, "changeNumber");
	const char *cloud = json_string_value(json_object_get(root, "cloud"));
	char desc[512];
	snprintf(desc, sizeof desc, "changeNumber %lld cloud %s %s, %zu prefixes of %zu tags",
	         json_is_integer(cn) ? (long long)json_integer_value(cn) : -1LL,
	         cloud ? cloud : "unknown", base_name(path), nprefixes, ntags);
	json_decref(root);
	prefix_table_free(g->tags);
	free(g->tags_desc);
	g->tags = t;
	g->tags_desc = fl_xstrdup(desc);
	cache_clear(g);
	return 0;
}

/* ---- lookup ------------------------------------------------------------- */

static inline uint64_t fold(uint64_t x, uint64_t y)
{
	__extension__ typedef unsigned __int128 u128;
	u128 r = (u128)x * y;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t addr_hash(const geo *g, const uint8_t a[16])
{
	uint64_t x, y;
	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	uint64_t h = fold(x ^ g->seed0, y ^ g->seed1);
	return fold(h ^ g->seed1, 0x9E3779B97F4A7C15ull);
}

static int resolve(geo *g, const uint8_t a[16], geo_result *r)
{
	memset(r, 0, sizeof *r);
	r->cls = (uint8_t)ip_classify(a);
	if (r->cls != IP_CLASS_PUBLIC)
		return 0;
	for (size_t i = 0; i < g->ndb; i++) {
		g->st.db_lookups++;
		if (db_fill(g, &g->db[i], a, r) != 0)
			return -1;
	}
	if (g->tags) {
		uint32_t v;
		g->st.tag_lookups++;
		if (prefix_table_lookup(g->tags, a, &v, NULL))
			r->tag = v;
	}
	return 0;
}

static uint64_t result_hash(const geo_result *r)
{
	uint64_t h = fold(r->country ^ ((uint64_t)r->city << 32) ^ 0x243F6A8885A308D3ull, r->asn ^
	                  ((uint64_t)r->asorg << 32) ^ 0x9E3779B97F4A7C15ull);
	return fold(h ^ r->tag ^ ((uint64_t)r->cls << 40), 0xC2B2AE3D27D4EB4Full);
}

static int same_result(const geo_result *x, const geo_result *y)
{
	return x->country == y->country && x->city == y->city && x->asn == y->asn &&
	       x->asorg == y->asorg && x->tag == y->tag && x->cls == y->cls;
}

static void results_reset(geo *g)
{
	g->nres = 0;
	if (g->rindex)
		memset(g->rindex, 0, ((size_t)g->rindex_mask + 1) * sizeof *g->rindex);
	cache_clear(g);
	g->res_epoch++;
}

static void rindex_grow(geo *g)
{
	size_t n = g->rindex ? ((size_t)g->rindex_mask + 1) * 2 : 1024;
	free(g->rindex);
	g->rindex = fl_xcalloc(n, sizeof *g->rindex);
	g->rindex_mask = (uint32_t)(n - 1);
	for (uint32_t id = 1; id <= g->nres; id++) {
		size_t k = result_hash(&g->res[id]) & g->rindex_mask;
		while (g->rindex[k])
			k = (k + 1) & g->rindex_mask;
		g->rindex[k] = id;
	}
}

/* The id of a result, added when new. */
static uint32_t intern_result(geo *g, const geo_result *r)
{
	if (g->nres + 1 >= GEO_RESULTS_MAX)
		results_reset(g);
	if (!g->rindex || (size_t)(g->nres + 1) * 2 > (size_t)g->rindex_mask + 1)
		rindex_grow(g);
	size_t k = result_hash(r) & g->rindex_mask;
	for (uint32_t id; (id = g->rindex[k]) != 0; k = (k + 1) & g->rindex_mask)
		if (same_result(&g->res[id], r))
			return id;
	if (g->nres + 2 > g->res_cap) {
		g->res_cap = g->res_cap ? g->res_cap * 2 : 1024;
		g->res = fl_xrealloc(g->res, (size_t)g->res_cap * sizeof *g->res);
	}
	g->res[++g->nres] = *r;
	g->rindex[k] = g->nres;
	return g->nres;
}

const geo_result *geo_result_of(const geo *g, uint32_t id)
{
	return id && id <= g->nres ? &g->res[id] : NULL;
}

uint64_t geo_results_epoch(const geo *g)
{
	return g->res_epoch;
}

void geo_prefetch(const geo *g, const uint8_t a[16])
{
	if (g->cache)
		__builtin_prefetch(&g->cache[addr_hash(g, a) & g->cache_mask]);
}

uint32_t geo_lookup_id(geo *g, const uint8_t a[16])
{
	g->st.lookups++;
	geo_result r;
	if (!g->cache) {
		if (resolve(g, a, &r) != 0)
			return 0;
		return intern_result(g, &r);
	}
	cache_set *set = &g->cache[addr_hash(g, a) & g->cache_mask];
	for (int w = 0; w < 3; w++) {
		if (set->id[w] && memcmp(set->key[w], a, 16) == 0) {
			uint32_t id = set->id[w];
			g->st.cache_hits++;
			/* most recent first */
			for (; w > 0; w--) {
				memcpy(set->key[w], set->key[w - 1], 16);
				set->id[w] = set->id[w - 1];
			}
			memcpy(set->key[0], a, 16);
			set->id[0] = id;
			return id;
		}
	}
	if (resolve(g, a, &r) != 0)
		return 0;
	uint64_t epoch = g->res_epoch;
	uint32_t id = intern_result(g, &r);
	if (epoch == g->res_epoch) {
		memmove(set->key[1], set->key[0], 32);
		set->id[2] = set->id[1];
		set->id[1] = set->id[0];
	}
	memcpy(set->key[0], a, 16);
	set->id[0] = id;
	return id;
}

int geo_lookup(geo *g, const uint8_t a[16], geo_result *out)
{
	uint32_t id = geo_lookup_id(g, a);
	if (!id)
		return -1;
	*out = g->res[id];
	return 0;
}
