/*
 * prefixes.c - longest-prefix match: per-length sorted arrays.  See
 * prefixes.h.
 */
#include "prefixes.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ip.h"

typedef struct pentry {
	uint64_t hi, lo; /* network address, host bits cleared, big-endian halves */
	uint32_t value;
	uint32_t len;
} pentry;

typedef struct plevel {
	unsigned len;
	size_t start, count; /* a run of t->e, sorted by (hi, lo) */
	uint64_t min_hi, max_hi; /* lets a lookup skip the level without a search */
} plevel;

struct prefix_table {
	pentry *e;
	size_t n, cap;
	plevel level[129];
	unsigned nlevels; /* longest first */
	int built;
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void mask(uint64_t *hi, uint64_t *lo, unsigned len)
{
	if (len == 0) {
		*hi = *lo = 0;
	} else if (len < 64) {
		*hi &= ~0ull << (64 - len);
		*lo = 0;
	} else if (len == 64) {
		*lo = 0;
	} else if (len < 128) {
		*lo &= ~0ull << (128 - len);
	}
}

prefix_table *prefix_table_new(void)
{
	return fl_xcalloc(1, sizeof(prefix_table));
}

void prefix_table_free(prefix_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

int prefix_table_add(prefix_table *t, const uint8_t addr[16], unsigned len, uint32_t value)
{
	if (len > 128 || t->built)
		return -1;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->e = fl_xrealloc(t->e, t->cap * sizeof *t->e);
	}
	pentry *p = &t->e[t->n++];
	p->hi = be64(addr);
	p->lo = be64(addr + 8);
	mask(&p->hi, &p->lo, len);
	p->len = len;
	p->value = value;
	return 0;
}

static int cmp_entry(const void *va, const void *vb)
{
	const pentry *a = va, *b = vb;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

void prefix_table_build(prefix_table *t, prefix_prefer_fn prefer, void *ctx)
{
	if (t->built)
		return;
	if (t->n)
		qsort(t->e, t->n, sizeof *t->e, cmp_entry);
	size_t out = 0;
	for (size_t i = 0; i < t->n; i++) {
		pentry *p = &t->e[i];
		if (out && t->e[out - 1].len == p->len && t->e[out - 1].hi == p->hi &&
		    t->e[out - 1].lo == p->lo) {
			/* the sort put the smallest value first: it stays unless prefer says otherwise */
			if (prefer && prefer(p->value, t->e[out - 1].value, ctx))
				t->e[out - 1].value = p->value;
			continue;
		}
		t->e[out++] = *p;
	}
	t->n = out;
	t->nlevels = 0;
	for (size_t i = 0; i < t->n;) {
		size_t j = i;
		while (j < t->n && t->e[j].len == t->e[i].len)
			j++;
		t->level[t->nlevels++] = (plevel){ t->e[i].len, i, j - i, t->e[i].hi, t->e[j - 1].hi };
		i = j;
	}
	t->built = 1;
}

int prefix_table_lookup(const prefix_table *t, const uint8_t addr[16], uint32_t *value,
                        unsigned *len)
{
	uint64_t ahi = be64(addr), alo = be64(addr + 8);
	for (unsigned l = 0; l < t->nlevels; l++) {
		const plevel *lv = &t->level[l];
		uint64_t hi = ahi, lo = alo;
		mask(&hi, &lo, lv->len);
		/* IPv4 (::ffff:0:0/96) and IPv6 prefixes sit far apart: most levels
		 * hold only the other family */
		if (hi < lv->min_hi || hi > lv->max_hi)
			continue;
		const pentry *e = t->e + lv->start;
		size_t a = 0, b = lv->count;
		while (a < b) {
			size_t m = a + (b - a) / 2;
			if (e[m].hi < hi || (e[m].hi == hi && e[m].lo < lo))
				a = m + 1;
			else
				b = m;
		}
		if (a < lv->count && e[a].hi == hi && e[a].lo == lo) {
			*value = e[a].value;
			if (len)
				*len = lv->len;
			return 1;
		}
	}
	return 0;
}

size_t prefix_table_count(const prefix_table *t)
{
	return t->n;
}

int prefix_parse(const char *s, size_t n, uint8_t addr[16], unsigned *len)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	if (ip_parse(s, alen, addr) != 0)
		return -1;
	/* an IPv4 spelling counts its bits after the ::ffff:0:0/96 mapping */
	int v4 = memchr(s, ':', alen) == NULL;
	unsigned max = v4 ? 32 : 128, bits = max;
	if (slash) {
		const char *p = slash + 1, *end = s + n;
		if (p == end || end - p > 3)
			return -1;
		bits = 0;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > max)
			return -1;
	}
	*len = v4 ? 96 + bits : bits;
	return 0;
}
