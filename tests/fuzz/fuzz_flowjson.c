/*
 * fuzz_flowjson.c - libFuzzer harness for the flow-log scanner: any input
 * must be scanned without a crash or a hang, and feeding it in one chunk or
 * in small uneven chunks must give exactly the same events.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowjson.h"
#include "ip.h"

typedef struct evlog {
	char *b;
	size_t n, cap;
} evlog;

static void add(evlog *l, const void *p, size_t n)
{
	if (l->n + n > l->cap) {
		l->cap = (l->n + n) * 2 + 256;
		l->b = realloc(l->b, l->cap);
		if (!l->b)
			abort();
	}
	memcpy(l->b + l->n, p, n);
	l->n += n;
}

static uint32_t on_intern(void *ctx, const char *s, size_t n)
{
	evlog *l = ctx;
	add(l, "I", 1);
	add(l, &n, sizeof n);
	add(l, s, n);
	return (uint32_t)n + 1;
}

static int on_record(void *ctx, const fj_record *r)
{
	add(ctx, "R", 1);
	add(ctx, r, sizeof *r);
	return (r->hash[0] & 7) != 0; /* drop some records, as a deduplicating caller would */
}

static void on_tuple(void *ctx, flt_rec *r)
{
	char a[IP_STRLEN];
	if (ip_format(r->src, a) >= IP_STRLEN || ip_format(r->dst, a) >= IP_STRLEN)
		abort();
	if (r->ordinal == 0 || (r->kind < FLT_KIND_VNET || r->kind > FLT_KIND_NSG2))
		abort();
	add(ctx, "T", 1);
	add(ctx, r, sizeof *r);
}

static void on_problem(void *ctx, enum fj_problem k, uint64_t off, const char *d)
{
	if ((unsigned)k >= FJ_PROB_COUNT || !d)
		abort();
	add(ctx, "P", 1);
	add(ctx, &k, sizeof k);
	add(ctx, &off, sizeof off);
	add(ctx, d, strlen(d));
}

static void on_foreign(void *ctx, uint64_t off, const char *what)
{
	add(ctx, "F", 1);
	add(ctx, &off, sizeof off);
	add(ctx, what, strlen(what));
}

static void run(const uint8_t *data, size_t size, int chunked, evlog *l)
{
	fj_callbacks cb = {l, on_intern, on_record, on_tuple, on_problem, on_foreign};
	fj_scanner *s = fj_new(&cb);
	size_t off = 0, k = 1;
	while (off < size) {
		size_t n = chunked ? k : size - off;
		if (n > size - off)
			n = size - off;
		fj_feed(s, (const char *)data + off, n);
		off += n;
		k = k % 13 + 1;
	}
	fj_finish(s);
	const fj_stats *st = fj_get_stats(s);
	add(l, st, sizeof *st);
	fj_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	evlog a = {0}, b = {0};
	run(data, size, 0, &a);
	run(data, size, 1, &b);
	if (a.n != b.n || memcmp(a.b, b.b, a.n)) {
		fprintf(stderr, "fuzz_flowjson: chunking changed the result\n");
		abort();
	}
	free(a.b);
	free(b.b);

	/* the tuple parser on its own, in every layout */
	flt_rec r;
	const char *why;
	for (int kind = 1; kind <= 4; kind++)
		if (fj_parse_tuple((const char *)data, size < 512 ? size : 512, kind, &r, &why) && !why)
			abort();
	uint8_t ad[16];
	char buf[IP_STRLEN];
	if (ip_parse((const char *)data, size < 80 ? size : 80, ad) == 0) {
		size_t n = ip_format(ad, buf);
		uint8_t again[16];
		if (ip_parse(buf, n, again) || memcmp(ad, again, 16))
			abort();
	}
	return 0;
}
