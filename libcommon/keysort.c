/* keysort.c - LSD radix sort of fixed-size records by a key.  See keysort.h. */
#include "keysort.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void fl_keysort(uint8_t *recs, uint8_t *tmp, size_t n, size_t size, size_t ks)
{
	if (n < 2 || ks == 0)
		return;
	/* Every byte's histogram in one pass, then one scatter per varying byte. */
	size_t (*count)[256] = fl_xcalloc(ks, sizeof *count);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = recs + i * size;
		for (size_t b = 0; b < ks; b++)
			count[b][r[b]]++;
	}
	uint8_t *src = recs, *dst = tmp;
	for (size_t b = ks; b-- > 0;) {
		size_t *c = count[b], sum = 0;
		if (c[src[b]] == n)
			continue; /* the same byte everywhere */
		for (int v = 0; v < 256; v++) {
			size_t k = c[v];
			c[v] = sum;
			sum += k;
		}
		for (size_t i = 0; i < n; i++) {
			const uint8_t *r = src + i * size;
			memcpy(dst + c[r[b]]++ * size, r, size);
		}
		uint8_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != recs)
		memcpy(recs, src, n * size);
	free(count);
}
