/*
 * prefixes.h - longest-prefix match over 16-byte addresses (IPv4 mapped
 * into IPv6, so an IPv4 /n is a /96+n here): add prefixes with a u32 value,
 * build once, then look addresses up.  Used for Azure service tags; meant
 * for any CIDR table (subnets, ranges of an inventory).
 *
 * Built form: one sorted array of network addresses per prefix length that
 * occurs, searched from the longest length down.  Real tables use a few
 * dozen lengths, so a lookup is that many binary searches, with no pointer
 * chasing and 20 bytes per prefix.
 */
#ifndef FL_PREFIXES_H
#define FL_PREFIXES_H

#include <stddef.h>
#include <stdint.h>

typedef struct prefix_table prefix_table;

/* When one prefix is added more than once: nonzero if value a should be
 * kept rather than b.  Without one the smallest value is kept. */
typedef int (*prefix_prefer_fn)(uint32_t a, uint32_t b, void *ctx);

prefix_table *prefix_table_new(void);
void prefix_table_free(prefix_table *t);
/* len counts bits of the 16-byte form (0..128); host bits are ignored.
 * Returns 0, or -1 when len is out of range or the table is built. */
int prefix_table_add(prefix_table *t, const uint8_t addr[16], unsigned len, uint32_t value);
/* Sorts and merges duplicates (prefer may be NULL).  Adding after this fails. */
void prefix_table_build(prefix_table *t, prefix_prefer_fn prefer, void *ctx);
/* 1 and *value (and *len when not NULL) of the longest prefix holding addr,
 * or 0.  The table must be built. */
int prefix_table_lookup(const prefix_table *t, const uint8_t addr[16], uint32_t *value,
                        unsigned *len);
size_t prefix_table_count(const prefix_table *t); /* distinct prefixes once built */

/* "10.0.0.0/8", "2603:1000::/40", a bare address (a /32 or /128): fills addr
 * and len in the 16-byte form.  Returns 0, or -1 when it is not a prefix. */
int prefix_parse(const char *s, size_t n, uint8_t addr[16], unsigned *len);

#endif
