/*
 * flowagg.h - counting connections right, from tuples to edges.
 *
 * Azure logs a connection as B (begin, no counters), C every five minutes
 * and E (end) with delta counters, or D for a denied attempt; a connection
 * between two monitored NICs is logged by both (O at the initiator, I at
 * the responder, clocks a little apart), and NSG plus VNet logging of one
 * NIC logs it twice too.  Two levels of aggregation follow from that:
 *
 * 1. Per connection key (5-tuple) and observer (MAC and log kind), an
 *    fa_conn summarises what that observer logged: B tuples and the first
 *    B time, the first C/E time, summed C/E counters, D tuples, first and
 *    last time.  The summary is mergeable (sums, mins, maxes), so it is
 *    the same whatever the order of the tuples or how the input was split.
 *
 * 2. The observers of one 5-tuple are folded into the edge (initiator,
 *    responder, service port, protocol) by fa_edge_fold():
 *      connections(observer) = B tuples + 1 when a C/E tuple precedes the
 *          observer's first B (the connection began before the window);
 *      at one end (direction O: the initiator's NIC, I: the responder's),
 *          one NIC logged twice (NSG and VNet flow logs) counts once: the
 *          largest of its logs; different NICs are different machines that
 *          share an address (overlapping address spaces) and add up;
 *      the two ends saw the same connections: the 5-tuple's connections,
 *          each counter and denied attempts are the larger of the two ends
 *          (the more complete view: one end's log may be cut by the window
 *          or lost), so clock skew between the ends cannot matter;
 *      first/last seen are the min/max over all observers;
 *      observers are the distinct NICs (MACs) that logged the edge.
 */
#ifndef FL_FLOWAGG_H
#define FL_FLOWAGG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "flt.h"

#define FA_NONE INT64_MAX /* "no such time" in min fields */
#define FA_MAX_OBS 4      /* distinct observers kept per edge (more saturate) */

/* Level 1 key: a hash of the edge (src, dst, dport, proto), sport, src, dst,
 * dport, proto, direction, observer, kind (numbers big-endian).  In key
 * order all the observers of one 5-tuple are adjacent, and so are all the
 * 5-tuples of one edge (unless two edges share the 32-bit hash, when they
 * interleave: a consumer must merge edges it meets twice), so one sweep in
 * key order folds observers into connections and connections into edges.
 * The leading hash makes the radix sort of the keys end after a few bytes
 * instead of walking the zeros of IPv4-mapped addresses, and the source
 * port after it spreads the many connections of one busy edge.  The hash
 * is fixed (not seeded) so aggregate streams come out in the same order
 * every run; a crafted collision only costs sort depth, never correctness. */
enum {
	FA_K_HASH = 0, FA_K_SPORT = 4, FA_K_SRC = 6, FA_K_DST = 22, FA_K_DPORT = 38, FA_K_PROTO = 40,
	FA_K_DIR = 41, FA_K_OBS = 42, FA_K_KIND = 46, FA_CONN_KEY = 47
};
typedef struct fa_conn {
	uint32_t nb, nd;         /* B tuples, denied tuples */
	uint32_t nce, measured;  /* C/E (and NSG v1 allowed) tuples; those with counters */
	int64_t min_b, min_ce;   /* FA_NONE when absent */
	int64_t first, last;
	uint64_t pkts_sd, bytes_sd, pkts_ds, bytes_ds;
} fa_conn;

/* Level 2 value: one edge. */
typedef struct fa_edge {
	uint64_t flows;          /* allowed connections */
	uint64_t pkts_sd, bytes_sd, pkts_ds, bytes_ds;
	uint32_t denied;         /* denied attempts (saturates at UINT32_MAX) */
	uint32_t unmeasured;     /* connections without any counted C/E tuple */
	int64_t first, last;
	uint32_t obs[FA_MAX_OBS];/* observer ids, 0 = free */
} fa_edge;

/* A stable 32-bit id for an observer (its MAC, else another string): never 0. */
uint32_t fa_observer_id(const char *s, size_t n);

void fa_conn_key(const flt_rec *r, uint32_t observer, uint8_t key[FA_CONN_KEY]);
void fa_conn_init(void *v);
void fa_conn_merge(void *dst, const void *src);
/* Adds one tuple to its observer's summary. */
void fa_conn_add(fa_conn *c, const flt_rec *r);
/* Connections one observer's summary stands for. */
uint32_t fa_conn_count(const fa_conn *c);

/* Fields of a level-1 key. */
uint32_t fa_key_observer(const uint8_t key[FA_CONN_KEY]);
/* src, dst, ports, proto, dir and kind of a level-1 key into r. */
void fa_key_fields(const uint8_t key[FA_CONN_KEY], flt_rec *r);
/* An 8-byte load in host order. */
static inline uint64_t fa_ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* 1 when two level-1 keys are equal: inline loads, for the per-tuple path. */
static inline int fa_key_eq(const uint8_t *a, const uint8_t *b)
{
	_Static_assert(FA_CONN_KEY > 40 && FA_CONN_KEY <= 48, "fa_key_eq covers 41 to 48 bytes");
	return ((fa_ld64(a) ^ fa_ld64(b)) | (fa_ld64(a + 8) ^ fa_ld64(b + 8)) |
	        (fa_ld64(a + 16) ^ fa_ld64(b + 16)) | (fa_ld64(a + 24) ^ fa_ld64(b + 24)) |
	        (fa_ld64(a + 32) ^ fa_ld64(b + 32)) |
	        (fa_ld64(a + FA_CONN_KEY - 8) ^ fa_ld64(b + FA_CONN_KEY - 8))) == 0;
}
/* 1 when two level-1 keys are the same 5-tuple (differ at most by observer). */
int fa_same_5tuple(const uint8_t *a, const uint8_t *b);
/* 1 when two level-1 keys are the same edge (differ at most by sport and observer). */
int fa_same_edge(const uint8_t *a, const uint8_t *b);

/* Walks an aggregate whose keys are `prefix` caller bytes followed by a
 * level-1 key, in key order, and calls fn once per (prefix, 5-tuple) with
 * the keys (pointing at the level-1 part: keys[0] - prefix is the whole
 * key) and summaries of its observers.
 * Stops at fn's first non-zero return and returns it; -1 on a spill I/O
 * error of the aggregate (agg_error()); 0 at the end. */
struct agg;
typedef int (*fa_group_fn)(void *ctx, const uint8_t *const *keys, const fa_conn *const *lanes,
                           size_t n);
int fa_walk(struct agg *a, size_t prefix, fa_group_fn fn, void *ctx);

void fa_edge_init(void *v);
void fa_edge_merge(void *dst, const void *src);
/* Adds the n observers (keys and summaries) of one 5-tuple to an edge. */
void fa_edge_fold(fa_edge *e, const uint8_t *const *keys, const fa_conn *const *lanes, size_t n);
unsigned fa_edge_observers(const fa_edge *e);

#endif
