/* strpool.c - interned strings.  See strpool.h. */
#include "strpool.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct strpool {
	char **strs;       /* by id; strs[0] = "" */
	size_t *lens;
	uint32_t n, cap;
	uint32_t *slots;   /* open addressing: id, 0 = empty */
	size_t nslots;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

strpool *strpool_new(void)
{
	strpool *p = fl_xcalloc(1, sizeof *p);
	p->cap = 64;
	p->strs = fl_xcalloc(p->cap, sizeof *p->strs);
	p->lens = fl_xcalloc(p->cap, sizeof *p->lens);
	p->strs[0] = fl_xstrdup("");
	p->n = 1;
	p->nslots = 128;
	p->slots = fl_xcalloc(p->nslots, sizeof *p->slots);
	return p;
}

static void grow_slots(strpool *p)
{
	size_t ns = p->nslots * 2;
	uint32_t *s = fl_xcalloc(ns, sizeof *s);
	for (uint32_t id = 1; id < p->n; id++) {
		size_t j = hash(p->strs[id], p->lens[id]) & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = id;
	}
	free(p->slots);
	p->slots = s;
	p->nslots = ns;
}

uint32_t strpool_intern(strpool *p, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if ((size_t)p->n * 2 >= p->nslots)
		grow_slots(p);
	size_t j = hash(s, n) & (p->nslots - 1);
	for (; p->slots[j]; j = (j + 1) & (p->nslots - 1)) {
		uint32_t id = p->slots[j];
		if (p->lens[id] == n && memcmp(p->strs[id], s, n) == 0)
			return id;
	}
	if (p->n == p->cap) {
		p->cap *= 2;
		p->strs = fl_xrealloc(p->strs, p->cap * sizeof *p->strs);
		p->lens = fl_xrealloc(p->lens, p->cap * sizeof *p->lens);
	}
	char *copy = fl_xmalloc(n + 1);
	memcpy(copy, s, n);
	copy[n] = 0;
	p->strs[p->n] = copy;
	p->lens[p->n] = n;
	p->slots[j] = p->n;
	return p->n++;
}

const char *strpool_get(const strpool *p, uint32_t id)
{
	return id < p->n ? p->strs[id] : "";
}

uint32_t strpool_count(const strpool *p)
{
	return p->n;
}

void strpool_free(strpool *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->n; i++)
		free(p->strs[i]);
	free(p->strs);
	free(p->lens);
	free(p->slots);
	free(p);
}
