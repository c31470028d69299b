/*
 * edgeagg.h - the hashed aggregation core: fixed-width keys chosen by the
 * caller, fixed-width values with a caller-supplied merge, open addressing
 * over flat arrays, a seeded hash (keys hold addresses chosen by whoever
 * sends traffic), power-of-two growth, and a memory cap: when the table
 * would exceed it, its entries are sorted by key and spilled to a temporary
 * run file; the runs and what is left in memory are merged at the end.
 * Output is always in key order (memcmp of the key bytes), so it is
 * deterministic whatever the input order, the cap or the hash seed.
 *
 * Partial aggregates are mergeable by construction: merge() must be
 * associative and commutative, so aggregating A and B apart and merging
 * gives exactly the aggregate of A+B.
 */
#ifndef FL_EDGEAGG_H
#define FL_EDGEAGG_H

#include <stddef.h>
#include <stdint.h>

typedef struct agg_ops {
	size_t key_size;   /* bytes, compared with memcmp */
	size_t val_size;   /* bytes */
	/* A fresh value for a new key. */
	void (*init)(void *val);
	/* dst := dst (+) src; associative and commutative. */
	void (*merge)(void *dst, const void *src);
} agg_ops;

typedef struct agg agg;

/* max_memory: bytes the table may use before spilling (0 = no cap).
 * tmpdir: where spill runs go (NULL: $TMPDIR or /tmp); runs are unlinked
 * as soon as they are created, so nothing is left behind on any exit. */
agg *agg_new(const agg_ops *ops, size_t max_memory, const char *tmpdir);
/* The value for key, created with init() when absent.  The pointer is valid
 * until the next call that can insert (agg_upsert, agg_merge_in). */
void *agg_upsert(agg *a, const void *key);
/* The same as n agg_upsert() calls on keys stored back to back (key_size
 * apart), vals[i] receiving key i's value, but faster on tables bigger than
 * the cache: hashes are computed and slots and entries prefetched a group
 * at a time.  Every vals[i] stays valid until the next call that can insert
 * (a spill, if one is due, happens before the batch).  n <= AGG_BATCH_MAX. */
#define AGG_BATCH_MAX 1024
void agg_upsert_batch(agg *a, const void *keys, size_t n, void **vals);
/* A hint that about n distinct keys are coming: sizes the index once instead
 * of rebuilding it at every doubling (ignored when it would crowd the cap). */
void agg_expect(agg *a, size_t n);
/* Merges val into key's value (for combining partial aggregates). */
void agg_merge_in(agg *a, const void *key, const void *val);
/* Distinct keys currently in memory, spill runs written so far. */
size_t agg_size(const agg *a);
unsigned agg_runs(const agg *a);
/* Bytes of memory the table holds now (for measurements). */
size_t agg_memory(const agg *a);

/* Ends insertion and iterates every key once, in key order, merged across
 * spill runs.  1 with *key and *val set (valid until the next call), 0 at the
 * end, -1 on a spill I/O error (message in agg_error()). */
int agg_next(agg *a, const void **key, const void **val);
const char *agg_error(const agg *a);
void agg_free(agg *a);

#endif
