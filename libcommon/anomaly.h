/*
 * anomaly.h - what fl-anomaly's detectors share and the unit tests check
 * apart: the thresholds table (names, defaults, validation), the policy
 * file (parsed with jansson, rejected with the key's path and the reason),
 * workload selectors (address, prefix, inventory name), and the bounded
 * sample of connection start times behind the beaconing rule.
 */
#ifndef FL_ANOMALY_H
#define FL_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

enum an_kind {
	AN_EXPOSURE, AN_GEOGRAPHY, AN_OPEN_PORT, AN_EXFILTRATION,
	AN_NEW_EDGE, AN_SCAN, AN_CROSS_BOUNDARY, AN_BEACONING, AN_KINDS
};
const char *an_kind_name(int kind);
int an_kind_parse(const char *s); /* -1 when unknown */

/* Thresholds: "detector.name", in one table so --set, the policy, --help
 * and the man page all agree. */
enum an_th {
	TH_EXPOSURE_PUBLIC_SOURCES, TH_EXPOSURE_PUBLIC_COUNTRIES,
	TH_OPEN_SOURCES, TH_OPEN_NETWORKS, TH_OPEN_COUNTRIES,
	TH_EXFIL_FACTOR, TH_EXFIL_MIN_BYTES, TH_EXFIL_HIGH_BYTES, TH_EXFIL_NEW_AFTER,
	TH_EXFIL_LONG,
	TH_SCAN_PORTS, TH_SCAN_HOSTS, TH_SCAN_DENIED,
	TH_BEACON_CONNS, TH_BEACON_CV, TH_BEACON_PERIOD,
	TH_COUNT
};
enum an_thtype { AN_INT, AN_NUM, AN_RATIO };
typedef struct an_threshold {
	int kind;             /* enum an_kind */
	const char *name;     /* "min_ports" */
	int type;             /* enum an_thtype */
	double def;
	const char *help;
} an_threshold;
extern const an_threshold an_thresholds[TH_COUNT];

/* Sets "detector.name=value" (from --set): 0, or -1 with a message in err. */
int an_set_threshold(double th[TH_COUNT], const char *assignment, char *err, size_t errlen);

/* A workload selector: an address, a prefix, or an inventory name (VM). */
enum an_selkind { AN_SEL_PREFIX, AN_SEL_NAME };
typedef struct an_sel {
	int kind;
	uint8_t addr[16];
	unsigned bits;        /* prefix length over the 16-byte (IPv4-mapped) form */
	char *name;
} an_sel;
/* Parses "10.0.0.4", "10.1.0.0/24", "2001:db8::/64" or a name: 0 or -1. */
int an_sel_parse(const char *s, an_sel *sel);
/* 1 when addr (whose VM name is vm, "" when unknown) is selected. */
int an_sel_match(const an_sel *sel, const uint8_t addr[16], const char *vm);

typedef struct an_country_rule {
	an_sel sel;
	char **countries;
	size_t n;
} an_country_rule;

typedef struct an_edge_decl {
	an_sel src, dst;
	int dport;            /* -1: any */
	int proto;            /* -1: any */
} an_edge_decl;

typedef struct an_path_decl {
	char *src_sub, *dst_sub, *src_tenant, *dst_tenant; /* NULL: any */
} an_path_decl;

typedef struct an_policy {
	an_sel *public_facing;
	size_t npublic;
	char **countries;     /* estate-wide expected countries */
	size_t ncountries;
	an_country_rule *wcountries;
	size_t nwcountries;
	an_edge_decl *edges;
	size_t nedges;
	an_path_decl *paths;
	size_t npaths;
	unsigned off;         /* detectors switched off by the policy (bit per kind) */
	int have_countries;   /* any expected-country list at all */
} an_policy;

/* Reads a policy file: 0, or -1 with "FILE: path: reason" in err.
 * Thresholds found in it are written into th. */
int an_policy_load(const char *path, an_policy *p, double th[TH_COUNT], char *err, size_t errlen);
void an_policy_free(an_policy *p);
int an_policy_public(const an_policy *p, const uint8_t addr[16], const char *vm);
/* Expected countries for a workload: the first workload rule that selects
 * it, else NULL (*n = 0).  */
char **an_policy_wcountries(const an_policy *p, const uint8_t addr[16], const char *vm, size_t *n);
int an_country_in(char **list, size_t n, const char *cc);
int an_policy_edge(const an_policy *p, const uint8_t src[16], const char *src_vm,
                   const uint8_t dst[16], const char *dst_vm, uint16_t dport, uint8_t proto);
int an_policy_path(const an_policy *p, const char *src_sub, const char *dst_sub,
                   const char *src_tenant, const char *dst_tenant);

/* Beaconing: the earliest AN_BEACON_SAMPLE distinct connection start times
 * of an edge (B tuples) plus the count of all of them.  Keeping the
 * earliest (not a random reservoir) makes the sample mergeable and the same
 * whatever the input order; a regular beacon is regular from its start. */
#define AN_BEACON_SAMPLE 32
typedef struct an_beacon {
	uint32_t total;       /* B tuples seen (saturates) */
	uint32_t n;           /* times kept, ascending, distinct */
	int64_t t[AN_BEACON_SAMPLE];
} an_beacon;
void an_beacon_init(void *v);
void an_beacon_merge(void *dst, const void *src);
void an_beacon_add(an_beacon *b, int64_t t);
/* Coefficient of variation (stddev / mean) of the intervals between the
 * kept times, and their mean in ms; -1 when fewer than 3 times. */
double an_beacon_cv(const an_beacon *b, double *mean_ms);

/* Median of n values (sorted in place); 0 for n == 0. */
uint64_t an_median_u64(uint64_t *v, size_t n);

#endif
