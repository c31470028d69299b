/*
 * keysort.h - sorting fixed-size records by a byte-string key (memcmp
 * order of the first ks bytes), for result arrays too large for qsort's
 * comparisons to be cheap: a million edges sort in a few passes over
 * memory instead of twenty rounds of scattered comparisons.
 */
#ifndef FL_KEYSORT_H
#define FL_KEYSORT_H

#include <stddef.h>
#include <stdint.h>

/* Sorts the n records of `size` bytes at recs by their first ks bytes
 * (memcmp order), stably.  tmp is scratch space of n * size bytes.  The
 * result is in recs.  A least-significant-digit radix sort: one pass over
 * the records per key byte, skipping key bytes every record shares. */
void fl_keysort(uint8_t *recs, uint8_t *tmp, size_t n, size_t size, size_t ks);

#endif
