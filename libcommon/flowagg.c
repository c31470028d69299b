/* flowagg.c - connection counting and the fold into edges. See flowagg.h. */
#include "flowagg.h"
#include "cli.h"
#include "edgeagg.h"

#include <stdlib.h>
#include <string.h>

uint32_t fa_observer_id(const char *s, size_t n)
{
	/* FNV-1a: observer ids must be equal across streams and runs, so no seed;
	 * they are only compared, never used to index a table. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h ? h : 1;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A fixed mix of the edge's 35 bytes: src, dst, dport, proto (see FA_K_HASH).
 * Loads are in host byte order: the hash orders keys, it is never stored,
 * so only hosts of the other byte order write aggregates in another order. */
static uint32_t hash_edge(const uint8_t *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	const uint64_t w[5] = { fa_ld64(k), fa_ld64(k + 8), fa_ld64(k + 16), fa_ld64(k + 24),
	                        (uint64_t)k[32] << 16 | (uint64_t)k[33] << 8 | k[34] };
	for (int i = 0; i < 5; i++) {
		h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	return (uint32_t)(h >> 32);
}

void fa_conn_key(const flt_rec *r, uint32_t observer, uint8_t key[FA_CONN_KEY])
{
	memcpy(key + FA_K_SRC, r->src, 16);
	memcpy(key + FA_K_DST, r->dst, 16);
	put_be16(key + FA_K_DPORT, r->dport);
	key[FA_K_PROTO] = r->proto;
	put_be32(key + FA_K_HASH, hash_edge(key + FA_K_SRC));
	put_be16(key + FA_K_SPORT, r->sport);
	key[FA_K_DIR] = r->dir;
	put_be32(key + FA_K_OBS, observer);
	key[FA_K_KIND] = r->kind;
}

uint32_t fa_key_observer(const uint8_t key[FA_CONN_KEY])
{
	return get_be32(key + FA_K_OBS);
}

void fa_key_fields(const uint8_t key[FA_CONN_KEY], flt_rec *r)
{
	memcpy(r->src, key + FA_K_SRC, 16);
	memcpy(r->dst, key + FA_K_DST, 16);
	r->dport = (uint16_t)(key[FA_K_DPORT] << 8 | key[FA_K_DPORT + 1]);
	r->proto = key[FA_K_PROTO];
	r->sport = (uint16_t)(key[FA_K_SPORT] << 8 | key[FA_K_SPORT + 1]);
	r->dir = key[FA_K_DIR];
	r->kind = key[FA_K_KIND];
}

int fa_same_5tuple(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, FA_K_DIR) == 0;
}

int fa_same_edge(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, FA_K_SPORT) == 0 && memcmp(a + FA_K_SRC, b + FA_K_SRC, FA_K_DIR - FA_K_SRC) == 0;
}

/* Calls fn on the group of n keys (ks bytes apart) and summaries. */
static int call_group(fa_group_fn fn, void *ctx, const uint8_t *kbuf, size_t ks, size_t prefix,
                      const fa_conn *vbuf, size_t n, const uint8_t **kp, const fa_conn **vp)
{
	for (size_t i = 0; i < n; i++)
		kp[i] = kbuf + i * ks + prefix, vp[i] = &vbuf[i];
	return fn(ctx, kp, vp, n);
}

int fa_walk(agg *a, size_t prefix, fa_group_fn fn, void *ctx)
{
	/* The group is copied: agg_next's pointers last until its next call. */
	size_t ks = prefix + FA_CONN_KEY, n = 0, cap = 8;
	uint8_t *kbuf = fl_xmalloc(cap * ks);
	fa_conn *vbuf = fl_xmalloc(cap * sizeof *vbuf);
	const uint8_t **kp = fl_xmalloc(cap * sizeof *kp);
	const fa_conn **vp = fl_xmalloc(cap * sizeof *vp);
	const void *k, *v;
	int rc, stop = 0;
	while ((rc = agg_next(a, &k, &v)) > 0) {
		if (n && (memcmp(kbuf, k, prefix) != 0 ||
		          !fa_same_5tuple(kbuf + prefix, (const uint8_t *)k + prefix))) {
			if ((stop = call_group(fn, ctx, kbuf, ks, prefix, vbuf, n, kp, vp)) != 0)
				break;
			n = 0;
		}
		if (n == cap) {
			cap *= 2;
			kbuf = fl_xrealloc(kbuf, cap * ks);
			vbuf = fl_xrealloc(vbuf, cap * sizeof *vbuf);
			kp = fl_xrealloc(kp, cap * sizeof *kp);
			vp = fl_xrealloc(vp, cap * sizeof *vp);
		}
		memcpy(kbuf + n * ks, k, ks);
		vbuf[n++] = *(const fa_conn *)v;
	}
	if (!stop && rc == 0 && n)
		stop = call_group(fn, ctx, kbuf, ks, prefix, vbuf, n, kp, vp);
	free(kbuf), free(vbuf), free(kp), free(vp);
	return stop ? stop : rc < 0 ? -1 : 0;
}

void fa_conn_init(void *v)
{
	fa_conn *c = v;
	memset(c, 0, sizeof *c);
	c->min_b = c->min_ce = c->first = FA_NONE;
	c->last = INT64_MIN;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static uint32_t sat_add32(uint32_t a, uint32_t b) { return a + b < a ? UINT32_MAX : a + b; }

void fa_conn_merge(void *dst, const void *src)
{
	fa_conn *d = dst;
	const fa_conn *s = src;
	d->nb = sat_add32(d->nb, s->nb);
	d->nd = sat_add32(d->nd, s->nd);
	d->nce = sat_add32(d->nce, s->nce);
	d->measured = sat_add32(d->measured, s->measured);
	d->min_b = min64(d->min_b, s->min_b);
	d->min_ce = min64(d->min_ce, s->min_ce);
	d->first = min64(d->first, s->first);
	d->last = max64(d->last, s->last);
	d->pkts_sd += s->pkts_sd;
	d->bytes_sd += s->bytes_sd;
	d->pkts_ds += s->pkts_ds;
	d->bytes_ds += s->bytes_ds;
}

void fa_conn_add(fa_conn *c, const flt_rec *r)
{
	int64_t t = r->time_ms;
	c->first = min64(c->first, t);
	c->last = max64(c->last, t);
	if (r->action == 'D' || r->state == 'D') {
		c->nd = sat_add32(c->nd, 1);
		return;
	}
	if (r->state == 'B') {
		c->nb = sat_add32(c->nb, 1);
		c->min_b = min64(c->min_b, t);
		return;
	}
	/* C, E, and NSG v1 (no state: one allowed flow seen that minute). */
	c->nce = sat_add32(c->nce, 1);
	c->min_ce = min64(c->min_ce, t);
	if (r->flags & FLT_F_COUNTERS) {
		c->measured = sat_add32(c->measured, 1);
		c->pkts_sd += r->pkts_sd;
		c->bytes_sd += r->bytes_sd;
		c->pkts_ds += r->pkts_ds;
		c->bytes_ds += r->bytes_ds;
	}
}

uint32_t fa_conn_count(const fa_conn *c)
{
	/* A C/E before the first B (or with no B at all) is a connection that
	 * began before the window. */
	return sat_add32(c->nb, c->nce && c->min_ce < c->min_b);
}

void fa_edge_init(void *v)
{
	fa_edge *e = v;
	memset(e, 0, sizeof *e);
	e->first = FA_NONE;
	e->last = INT64_MIN;
}

static void add_observer(fa_edge *e, uint32_t id)
{
	for (int i = 0; i < FA_MAX_OBS; i++) {
		if (e->obs[i] == id)
			return;
		if (!e->obs[i]) {
			e->obs[i] = id;
			return;
		}
	}
}

void fa_edge_merge(void *dst, const void *src)
{
	fa_edge *d = dst;
	const fa_edge *s = src;
	d->flows += s->flows;
	d->pkts_sd += s->pkts_sd;
	d->bytes_sd += s->bytes_sd;
	d->pkts_ds += s->pkts_ds;
	d->bytes_ds += s->bytes_ds;
	d->denied = sat_add32(d->denied, s->denied);
	d->unmeasured = sat_add32(d->unmeasured, s->unmeasured);
	d->first = min64(d->first, s->first);
	d->last = max64(d->last, s->last);
	for (int i = 0; i < FA_MAX_OBS && s->obs[i]; i++)
		add_observer(d, s->obs[i]);
}

/* What one view of a 5-tuple says: connections, denied, counters. */
typedef struct view {
	uint64_t conns, denied, c[4];
	uint32_t measured;
} view;

static void view_max(view *d, const view *s)
{
	d->conns = s->conns > d->conns ? s->conns : d->conns;
	d->denied = s->denied > d->denied ? s->denied : d->denied;
	for (int j = 0; j < 4; j++)
		d->c[j] = s->c[j] > d->c[j] ? s->c[j] : d->c[j];
	d->measured |= s->measured;
}

static void view_add(view *d, const view *s)
{
	d->conns += s->conns;
	d->denied += s->denied;
	for (int j = 0; j < 4; j++)
		d->c[j] += s->c[j];
	d->measured |= s->measured;
}

void fa_edge_fold(fa_edge *e, const uint8_t *const *keys, const fa_conn *const *lanes, size_t n)
{
	/* Lanes come in key order: by direction, then observer, then kind. */
	view total = { 0 }, end = { 0 }, nic = { 0 };
	for (size_t i = 0; i < n; i++) {
		const fa_conn *l = lanes[i];
		view v = { fa_conn_count(l), l->nd, { l->pkts_sd, l->bytes_sd, l->pkts_ds, l->bytes_ds },
		           l->measured };
		int same_nic = i && memcmp(keys[i] + FA_K_DIR, keys[i - 1] + FA_K_DIR, 5) == 0;
		int same_end = i && keys[i][FA_K_DIR] == keys[i - 1][FA_K_DIR];
		if (!same_nic && i) {
			view_add(&end, &nic);
			memset(&nic, 0, sizeof nic);
		}
		if (!same_end && i) {
			view_max(&total, &end);
			memset(&end, 0, sizeof end);
		}
		view_max(&nic, &v);
		e->first = min64(e->first, l->first);
		e->last = max64(e->last, l->last);
		add_observer(e, fa_key_observer(keys[i]));
	}
	view_add(&end, &nic);
	view_max(&total, &end);
	e->flows += total.conns;
	e->pkts_sd += total.c[0];
	e->bytes_sd += total.c[1];
	e->pkts_ds += total.c[2];
	e->bytes_ds += total.c[3];
	e->denied = sat_add32(e->denied, total.denied > UINT32_MAX ? UINT32_MAX : (uint32_t)total.denied);
	if (!total.measured)
		e->unmeasured = sat_add32(e->unmeasured, total.conns > UINT32_MAX ? UINT32_MAX :
		                          (uint32_t)total.conns);
}

unsigned fa_edge_observers(const fa_edge *e)
{
	unsigned n = 0;
	while (n < FA_MAX_OBS && e->obs[n])
		n++;
	return n;
}
