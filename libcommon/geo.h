/*
 * geo.h - what is known about an address: its class (ip_classify), and for
 * public addresses the country, city, ASN and AS organisation from MaxMind
 * DB files (MaxMind's schema or ip-location-db's flat one) and the Azure
 * service tag from Microsoft's service-tags JSON.  A set-associative cache
 * with a seeded hash sits in front, because flow logs repeat the same few
 * thousand addresses millions of times.
 *
 * Strings in results are ids in the geo's own pool (geo_str); 0 is unknown.
 */
#ifndef FL_GEO_H
#define FL_GEO_H

#include <stddef.h>
#include <stdint.h>

typedef struct geo_result {
	uint32_t country, city, asn, asorg, tag; /* geo_str ids, 0 = unknown */
	uint8_t cls;                             /* enum ip_class */
} geo_result;

typedef struct geo_stats {
	uint64_t lookups, cache_hits, db_lookups, tag_lookups;
} geo_stats;

typedef struct geo geo;

geo *geo_new(void);
void geo_free(geo *g);
/* Opens a MaxMind DB file.  Earlier databases win field by field, so
 * "city db, then ASN db" fills country and city from the first and ASN and
 * organisation from the second.  -1 and a message in err when the file is
 * missing, not an MMDB file, or damaged where a probe lookup reaches. */
int geo_add_db(geo *g, const char *path, char *err, size_t errlen);
/* Loads ServiceTags_Public_*.json.  -1 and a message in err on failure. */
int geo_load_service_tags(geo *g, const char *path, char *err, size_t errlen);
/* Cache of 2^bits three-way sets (64 bytes each); 0 turns the cache off
 * (to check it). */
void geo_set_cache(geo *g, unsigned bits);
/* 0, or -1 when a database lookup fails (damage past the probe; geo_error). */
int geo_lookup(geo *g, const uint8_t addr[16], geo_result *out);
/* The same as a dense id of the distinct result (1, 2, ...), 0 on failure.
 * Callers keep per-result data (their own string ids) indexed by it.  Ids
 * stay valid while geo_results_epoch() is unchanged: when the number of
 * distinct results reaches a cap, the table starts afresh, so memory stays
 * bounded whatever the input. */
uint32_t geo_lookup_id(geo *g, const uint8_t addr[16]);
/* Starts loading the cache line of addr, so a lookup a little later does
 * not wait for memory. */
void geo_prefetch(const geo *g, const uint8_t addr[16]);
const geo_result *geo_result_of(const geo *g, uint32_t id);
uint64_t geo_results_epoch(const geo *g);
const char *geo_error(const geo *g);

const char *geo_str(const geo *g, uint32_t id); /* "" for 0 */
uint32_t geo_str_count(const geo *g);           /* ids run 1..count */

size_t geo_db_count(const geo *g);
/* "GeoLite2-Country 2026-11-25T00:00:00Z file.mmdb": type, build time, file name. */
const char *geo_db_desc(const geo *g, size_t i);
/* "changeNumber 123 cloud Public file.json, N prefixes of M tags", NULL if none loaded. */
const char *geo_tags_desc(const geo *g);
size_t geo_tags_prefixes(const geo *g);
void geo_get_stats(const geo *g, geo_stats *st);

/* The service-tag rule: nonzero when tag a is more specific than tag b. */
int geo_tag_more_specific(const char *a, const char *b);

#endif
