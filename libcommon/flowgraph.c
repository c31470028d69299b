/* flowgraph.c - tuples to edges.  See flowgraph.h. */
#include "flowgraph.h"
#include "cli.h"
#include "edgeagg.h"
#include "ip.h"
#include "keysort.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMBIGUOUS UINT32_MAX
#define FG_BATCH 32 /* summaries per batched upsert (at most AGG_BATCH_MAX) */
#define FG_RECENT_BITS 10 /* 1024 recent keys, 128 KiB: measured faster than 256 to 16384 */
enum { FG_XLABEL = 3 }; /* a label standing for external addresses */

typedef struct fg_slot {
	uint8_t key[FA_CONN_KEY];
	uint8_t used;
	fa_conn v;
} fg_slot;

/* Columns of an aggregate stream (fg_write_aggregate), all u32. */
static const char *const agg_cols[] = {
	"fa_nb", "fa_nd", "fa_nce", "fa_measured", "fa_minb_lo", "fa_minb_hi",
	"fa_mince_lo", "fa_mince_hi", "fa_last_lo", "fa_last_hi",
};
#define N_AGG_COLS 10

struct flowgraph {
	fg_map map;
	agg *conns;               /* level 1: fa_conn by (5-tuple, observer) */
	agg *learned;             /* address -> label id (or observer id for --by mac) */
	agg *obs_names;           /* observer id -> label id of its MAC text */
	strpool *labels;
	fg_edge *out;
	size_t nout;
	uint64_t tuples;
	/* per segment of the current reader */
	uint64_t seg;             /* flt_reader_epoch */
	uint32_t *obs_cache;      /* dictionary id -> observer id, 0 = not yet */
	size_t obs_cache_n;
	int col_src, col_dst, xcol_src, xcol_dst;
	int agg_col[N_AGG_COLS];
	int is_agg;
	fg_stats st;
	/* Tuples first meet a small direct-mapped table of recent connection
	 * keys that stays in cache: an observer logs a connection's B, C and E
	 * within minutes, so most tuples end there, and only one summary per
	 * key and stretch of stream goes on to the big table.  Summaries merge
	 * exactly, so this changes nothing but speed. */
	fg_slot *recent;
	/* Summaries leaving it wait in a batch so their table slots are
	 * fetched together. */
	uint8_t batch_keys[FG_BATCH][FA_CONN_KEY];
	fa_conn batch_vals[FG_BATCH];
	size_t nbatch;
	size_t outcap;
	char err[256];
};

static void u32_init(void *v) { *(uint32_t *)v = 0; }
static void learned_merge(void *dst, const void *src)
{
	uint32_t *d = dst, s = *(const uint32_t *)src;
	if (*d == 0)
		*d = s;
	else if (s && s != *d)
		*d = AMBIGUOUS;
}
static const agg_ops conn_ops = { FA_CONN_KEY, sizeof(fa_conn), fa_conn_init, fa_conn_merge };
static const agg_ops learned_ops = { 17, sizeof(uint32_t), u32_init, learned_merge };
static const agg_ops names_ops = { 4, sizeof(uint32_t), u32_init, learned_merge };

flowgraph *fg_new(const fg_map *map, size_t max_memory, const char *tmpdir)
{
	flowgraph *g = fl_xcalloc(1, sizeof *g);
	g->map = *map;
	g->conns = agg_new(&conn_ops, max_memory, tmpdir);
	g->learned = agg_new(&learned_ops, 0, tmpdir);
	g->obs_names = agg_new(&names_ops, 0, tmpdir);
	g->labels = strpool_new();
	g->seg = UINT64_MAX;
	g->recent = fl_xcalloc((size_t)1 << FG_RECENT_BITS, sizeof *g->recent);
	return g;
}

static int column(const flt_header *h, const char *prefix, const char *name)
{
	char full[40];
	snprintf(full, sizeof full, "%s%s", prefix, name ? name : "");
	for (uint32_t i = 0; i < h->ncols; i++)
		if (strcmp(h->cols[i].name, full) == 0)
			return (int)i;
	return -1;
}

/* Looks up the columns and resets the per-segment caches. */
static int new_segment(flowgraph *g, flt_reader *r)
{
	const flt_header *h = flt_reader_header(r);
	g->seg = flt_reader_epoch(r);
	if (g->obs_cache)
		memset(g->obs_cache, 0, g->obs_cache_n * sizeof *g->obs_cache);
	g->is_agg = 1;
	for (int i = 0; i < N_AGG_COLS; i++)
		if ((g->agg_col[i] = column(h, agg_cols[i], NULL)) < 0)
			g->is_agg = 0;
	g->col_src = g->col_dst = g->xcol_src = g->xcol_dst = -1;
	if (g->map.by == FG_BY_COLUMN) {
		g->col_src = column(h, "src_", g->map.by_column);
		g->col_dst = column(h, "dst_", g->map.by_column);
		if (g->col_src < 0 || g->col_dst < 0) {
			snprintf(g->err, sizeof g->err, "the stream has no src_%s/dst_%s columns "
			         "(add them with fl-join-subs first)", g->map.by_column, g->map.by_column);
			return -1;
		}
	}
	if (g->map.ext == FG_EXT_COLUMN) {
		g->xcol_src = column(h, "src_", g->map.ext_column);
		g->xcol_dst = column(h, "dst_", g->map.ext_column);
		if (g->xcol_src < 0 || g->xcol_dst < 0) {
			snprintf(g->err, sizeof g->err, "the stream has no src_%s/dst_%s columns "
			         "(add them with fl-geo first)", g->map.ext_column, g->map.ext_column);
			return -1;
		}
	}
	return 0;
}

void fg_expect(flowgraph *g, uint64_t tuples)
{
	/* about two tuples per connection key in realistic traffic */
	agg_expect(g->conns, (size_t)(tuples / 2));
}

int fg_is_aggregate(flt_reader *r)
{
	return column(flt_reader_header(r), "fa_nb", NULL) >= 0;
}

void fg_need_tuples(flt_reader *r)
{
	if (fg_is_aggregate(r))
		fl_die(FL_EXIT_USAGE, "%s: an aggregate stream (fl-graph --format flt): %s needs the "
		       "tuples", flt_reader_name(r), fl_progname);
}

/* Observer of a tuple: the NIC's MAC, else the flow-log resource. */
static uint32_t observer(flowgraph *g, flt_reader *r, const flt_rec *rec)
{
	uint32_t id = rec->mac ? rec->mac : rec->flowlog;
	if (id >= g->obs_cache_n) /* per tuple: no call when it fits */
		g->obs_cache = fl_grow_zeroed(g->obs_cache, &g->obs_cache_n, id, sizeof *g->obs_cache);
	if (!g->obs_cache[id]) {
		size_t len;
		const char *s = flt_reader_str(r, id, &len);
		if (!len)
			s = "unknown", len = 7;
		uint32_t o = fa_observer_id(s, len);
		uint8_t k[4] = { (uint8_t)(o >> 24), (uint8_t)(o >> 16), (uint8_t)(o >> 8), (uint8_t)o };
		uint32_t name = strpool_intern(g->labels, s, len);
		agg_merge_in(g->obs_names, k, &name);
		g->obs_cache[id] = o;
	}
	return g->obs_cache[id];
}

static void learn(flowgraph *g, const uint8_t addr[16], uint8_t ext, uint32_t label)
{
	uint8_t k[17];
	memcpy(k, addr, 16);
	k[16] = ext;
	agg_merge_in(g->learned, k, &label);
}

static uint32_t column_label(flowgraph *g, flt_reader *r, const flt_rec *rec, int col)
{
	const flt_header *h = flt_reader_header(r);
	if (h->cols[col].type == FLT_COL_U32) {
		char buf[16];
		int n = snprintf(buf, sizeof buf, "%u", rec->col[col]);
		return rec->col[col] ? strpool_intern(g->labels, buf, (size_t)n) : 0;
	}
	size_t len;
	const char *s = flt_reader_str(r, rec->col[col], &len);
	if (len == 9 && memcmp(s, "ambiguous", 9) == 0)
		return AMBIGUOUS;
	return strpool_intern(g->labels, s, len);
}

static void learn_labels(flowgraph *g, flt_reader *r, const flt_rec *rec, uint32_t obs)
{
	if (g->map.by == FG_BY_MAC) {
		/* The observer is the NIC at the tuple's own end: the source of an
		 * outbound tuple, the destination of an inbound one. */
		learn(g, rec->dir == 'O' ? rec->src : rec->dst, 0, obs);
	} else if (g->map.by == FG_BY_COLUMN) {
		learn(g, rec->src, 0, column_label(g, r, rec, g->col_src));
		learn(g, rec->dst, 0, column_label(g, r, rec, g->col_dst));
	}
	if (g->map.ext == FG_EXT_COLUMN) {
		learn(g, rec->src, 1, column_label(g, r, rec, g->xcol_src));
		learn(g, rec->dst, 1, column_label(g, r, rec, g->xcol_dst));
	}
}

static int64_t join64(uint32_t lo, uint32_t hi)
{
	return (int64_t)((uint64_t)hi << 32 | lo);
}

static void add_aggregate(flowgraph *g, flt_reader *r, const flt_rec *rec, uint32_t obs)
{
	const int *c = g->agg_col;
	fa_conn v;
	uint8_t key[FA_CONN_KEY];
	fa_conn_key(rec, obs, key);
	v.nb = rec->col[c[0]];
	v.nd = rec->col[c[1]];
	v.nce = rec->col[c[2]];
	v.measured = rec->col[c[3]];
	v.min_b = join64(rec->col[c[4]], rec->col[c[5]]);
	v.min_ce = join64(rec->col[c[6]], rec->col[c[7]]);
	v.first = rec->time_ms;
	v.last = join64(rec->col[c[8]], rec->col[c[9]]);
	v.pkts_sd = rec->pkts_sd, v.bytes_sd = rec->bytes_sd;
	v.pkts_ds = rec->pkts_ds, v.bytes_ds = rec->bytes_ds;
	(void)r;
	agg_merge_in(g->conns, key, &v);
}

static void flush_batch(flowgraph *g)
{
	void *vals[FG_BATCH];
	agg_upsert_batch(g->conns, g->batch_keys, g->nbatch, vals);
	for (size_t i = 0; i < g->nbatch; i++)
		fa_conn_merge(vals[i], &g->batch_vals[i]);
	g->nbatch = 0;
}

static void evict(flowgraph *g, fg_slot *s)
{
	memcpy(g->batch_keys[g->nbatch], s->key, FA_CONN_KEY);
	g->batch_vals[g->nbatch] = s->v;
	s->used = 0;
	if (++g->nbatch == FG_BATCH)
		flush_batch(g);
}

/* Everything still in the recent table and the batch goes to the big table. */
static void flush_recent(flowgraph *g)
{
	for (size_t i = 0; i < (size_t)1 << FG_RECENT_BITS; i++)
		if (g->recent[i].used)
			evict(g, &g->recent[i]);
	flush_batch(g);
}

static void add_tuple(flowgraph *g, const flt_rec *rec, uint32_t obs)
{
	uint8_t key[FA_CONN_KEY];
	fa_conn_key(rec, obs, key);
	/* the key's leading edge hash, mixed with what tells its connections apart */
	uint64_t x = ((uint64_t)key[0] << 56 | (uint64_t)key[1] << 48 | (uint64_t)key[2] << 40 |
	              (uint64_t)key[3] << 32 | (uint64_t)rec->sport << 16 | (uint64_t)rec->dir << 8 |
	              rec->kind) ^ (uint64_t)obs * 0x9E3779B97F4A7C15ULL;
	x *= 0xBF58476D1CE4E5B9ULL;
	fg_slot *s = &g->recent[x >> (64 - FG_RECENT_BITS)];
	if (!s->used || !fa_key_eq(s->key, key)) {
		if (s->used)
			evict(g, s);
		memcpy(s->key, key, FA_CONN_KEY);
		fa_conn_init(&s->v);
		s->used = 1;
	}
	fa_conn_add(&s->v, rec);
}

int fg_add(flowgraph *g, flt_reader *r, const flt_rec *rec)
{
	if (g->seg != flt_reader_epoch(r))
		if (new_segment(g, r) != 0)
			return -1;
	uint32_t obs = observer(g, r, rec);
	g->tuples++;
	if (g->is_agg)
		add_aggregate(g, r, rec, obs);
	else
		add_tuple(g, rec, obs);
	if (g->map.by != FG_BY_IP || g->map.ext == FG_EXT_COLUMN)
		learn_labels(g, r, rec, obs);
	return 0;
}

static void split64(int64_t v, uint32_t *lo, uint32_t *hi)
{
	*lo = (uint32_t)(uint64_t)v;
	*hi = (uint32_t)((uint64_t)v >> 32);
}

static uint32_t name_of_observer(flowgraph *g, uint32_t obs)
{
	uint8_t k[4] = { (uint8_t)(obs >> 24), (uint8_t)(obs >> 16), (uint8_t)(obs >> 8), (uint8_t)obs };
	return *(uint32_t *)agg_upsert(g->obs_names, k);
}

/* Ends the input: everything goes to the big table, whose size is noted. */
static void end_input(flowgraph *g)
{
	flush_recent(g);
	g->st.conn_keys = agg_size(g->conns);
	g->st.conn_runs = agg_runs(g->conns);
	g->st.conn_bytes = agg_memory(g->conns);
}

int fg_write_aggregate(flowgraph *g, flt_writer *w)
{
	const void *kp, *vp;
	int rc;
	end_input(g);
	while ((rc = agg_next(g->conns, &kp, &vp)) > 0) {
		const uint8_t *k = kp;
		const fa_conn *v = vp;
		flt_rec rec;
		memset(&rec, 0, sizeof rec);
		fa_key_fields(k, &rec);
		rec.action = 'A';
		rec.time_ms = v->first;
		const char *name = strpool_get(g->labels, name_of_observer(g, fa_key_observer(k)));
		rec.mac = flt_writer_intern(w, name, strlen(name));
		rec.pkts_sd = v->pkts_sd, rec.bytes_sd = v->bytes_sd;
		rec.pkts_ds = v->pkts_ds, rec.bytes_ds = v->bytes_ds;
		if (v->measured)
			rec.flags |= FLT_F_COUNTERS;
		rec.col[0] = v->nb, rec.col[1] = v->nd, rec.col[2] = v->nce, rec.col[3] = v->measured;
		split64(v->min_b, &rec.col[4], &rec.col[5]);
		split64(v->min_ce, &rec.col[6], &rec.col[7]);
		split64(v->last, &rec.col[8], &rec.col[9]);
		if (flt_writer_put(w, &rec) != 0) {
			snprintf(g->err, sizeof g->err, "%s", flt_writer_error(w));
			return -1;
		}
	}
	if (rc < 0)
		snprintf(g->err, sizeof g->err, "%s", agg_error(g->conns));
	return rc;
}

void fg_aggregate_header(flt_header *h)
{
	for (int i = 0; i < N_AGG_COLS; i++)
		flt_header_column(h, agg_cols[i], FLT_COL_U32, 1);
	flt_header_add_prov(h, "content", "fl-graph aggregate (connections by observer)");
}

/* ---- folding into edges ------------------------------------------------ */

static uint32_t learned_label(flowgraph *g, const uint8_t addr[16], uint8_t ext)
{
	uint8_t k[17];
	memcpy(k, addr, 16);
	k[16] = ext;
	return *(uint32_t *)agg_upsert(g->learned, k);
}

static void label_node(fg_node *n, uint8_t type, uint32_t id)
{
	memset(n, 0, sizeof *n);
	n->type = type;
	n->v[0] = (uint8_t)(id >> 24), n->v[1] = (uint8_t)(id >> 16);
	n->v[2] = (uint8_t)(id >> 8), n->v[3] = (uint8_t)id;
}

static uint32_t node_label_id(const fg_node *n)
{
	return (uint32_t)n->v[0] << 24 | (uint32_t)n->v[1] << 16 | (uint32_t)n->v[2] << 8 | n->v[3];
}

/* Workloads have private (or shared, link-local, loopback) addresses; the
 * rest (public, Azure platform, multicast, documentation) is the outside. */
static int external_addr(const uint8_t addr[16])
{
	switch (ip_classify(addr)) {
	case IP_CLASS_PRIVATE:
	case IP_CLASS_SHARED:
	case IP_CLASS_LOOPBACK:
	case IP_CLASS_LINKLOCAL:
	case IP_CLASS_UNSPECIFIED:
		return 0;
	default:
		return 1;
	}
}

static void map_node(flowgraph *g, const uint8_t addr[16], fg_node *n)
{
	memset(n, 0, sizeof *n);
	n->type = FG_ADDR;
	memcpy(n->v, addr, 16);
	if (external_addr(addr)) {
		enum ip_class c = ip_classify(addr);
		if (c != IP_CLASS_PUBLIC && c != IP_CLASS_DOCUMENTATION)
			return; /* Azure platform, multicast: always themselves */
		if (g->map.ext == FG_EXT_PREFIX) {
			n->type = FG_PREFIX;
			/* /24 for IPv4, /48 for IPv6 */
			memset(n->v + (ip_is_v4(addr) ? 15 : 6), 0, ip_is_v4(addr) ? 1 : 10);
		} else if (g->map.ext == FG_EXT_COLUMN) {
			uint32_t id = learned_label(g, addr, 1);
			if (id && id != AMBIGUOUS)
				label_node(n, FG_XLABEL, id);
		}
		return;
	}
	if (g->map.by == FG_BY_IP)
		return;
	uint32_t id = learned_label(g, addr, 0);
	if (!id || id == AMBIGUOUS)
		return; /* unknown or ambiguous: the address stands for itself */
	if (g->map.by == FG_BY_MAC)
		id = name_of_observer(g, id);
	label_node(n, FG_LABEL, id);
}

/* The sweep over the connection keys: the 5-tuples of one edge come
 * together, and the edge is emitted when the next one starts. */
typedef struct sweep {
	flowgraph *g;
	uint8_t key[FA_CONN_KEY]; /* a key of the edge being folded */
	fa_edge e;
	int have;
} sweep;

static void emit_edge(flowgraph *g, const uint8_t *k, const fa_edge *v)
{
	if (g->nout == g->outcap) {
		g->outcap = g->outcap ? 2 * g->outcap : 1024;
		g->out = fl_xrealloc(g->out, g->outcap * sizeof *g->out);
	}
	fg_edge *o = &g->out[g->nout++];
	map_node(g, k + FA_K_SRC, &o->src);
	map_node(g, k + FA_K_DST, &o->dst);
	o->dport = (uint16_t)(k[FA_K_DPORT] << 8 | k[FA_K_DPORT + 1]);
	o->proto = k[FA_K_PROTO];
	o->val = *v;
}

static int sweep_group(void *ctx, const uint8_t *const *keys, const fa_conn *const *lanes, size_t n)
{
	sweep *s = ctx;
	if (s->have && !fa_same_edge(s->key, keys[0])) {
		emit_edge(s->g, s->key, &s->e);
		s->have = 0;
	}
	if (!s->have) {
		memcpy(s->key, keys[0], FA_CONN_KEY);
		fa_edge_init(&s->e);
		s->have = 1;
	}
	fa_edge_fold(&s->e, keys, lanes, n);
	return 0;
}

int fg_edges(flowgraph *g, fg_edge **edges, size_t *n)
{
	end_input(g);
	sweep s = { .g = g };
	if (fa_walk(g->conns, 0, sweep_group, &s) < 0) {
		snprintf(g->err, sizeof g->err, "%s", agg_error(g->conns));
		return -1;
	}
	if (s.have)
		emit_edge(g, s.key, &s.e);
	/* Mapped nodes (--by, --external) and edges sharing a hash arrive in
	 * pieces: the merge makes them one. */
	g->nout = fg_merge_edges(g, g->out, g->nout);
	g->st.edges = g->nout;
	g->st.edge_bytes = g->nout * sizeof *g->out;
	*edges = g->out;
	*n = g->nout;
	return 0;
}

void fg_label_node(flowgraph *g, const char *label, fg_node *n)
{
	label_node(n, FG_LABEL, strpool_intern(g->labels, label, strlen(label)));
}

/* Edges sort by a byte key whose memcmp order is fg_node_cmp's: per node a
 * label flag, then the address (or the label's rank among the label
 * texts), then the node type; then dport and proto; then the edge's index. */
#define NODE_SORT_KEY 18
#define EDGE_SORT_KEY (2 * NODE_SORT_KEY + 3)
#define EDGE_SORT_REC (EDGE_SORT_KEY + 4)

static const strpool *rank_pool; /* qsort has no context argument */

static int label_text_cmp(const void *pa, const void *pb)
{
	return strcmp(strpool_get(rank_pool, *(const uint32_t *)pa),
	              strpool_get(rank_pool, *(const uint32_t *)pb));
}

/* rank[id]: the place of label id in the text order of all labels. */
static uint32_t *label_ranks(const flowgraph *g)
{
	uint32_t n = strpool_count(g->labels) + 1, *ids = fl_xmalloc(n * sizeof *ids);
	uint32_t *rank = fl_xmalloc(n * sizeof *rank);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = i;
	rank_pool = g->labels;
	qsort(ids, n, sizeof *ids, label_text_cmp);
	for (uint32_t i = 0; i < n; i++)
		rank[ids[i]] = i;
	free(ids);
	return rank;
}

static void node_sort_key(const fg_node *n, const uint32_t *rank, uint8_t *k)
{
	memset(k, 0, NODE_SORT_KEY);
	if (n->type == FG_LABEL || n->type == FG_XLABEL) {
		uint32_t r = rank[node_label_id(n)];
		k[0] = 1;
		k[1] = (uint8_t)(r >> 24), k[2] = (uint8_t)(r >> 16), k[3] = (uint8_t)(r >> 8), k[4] = (uint8_t)r;
	} else {
		memcpy(k + 1, n->v, 16);
	}
	k[NODE_SORT_KEY - 1] = n->type;
}

size_t fg_merge_edges(flowgraph *g, fg_edge *e, size_t n)
{
	if (n < 2)
		return n;
	uint32_t *rank = label_ranks(g);
	uint8_t *recs = fl_xmalloc(n * EDGE_SORT_REC), *tmp = fl_xmalloc(n * EDGE_SORT_REC);
	for (size_t i = 0; i < n; i++) {
		uint8_t *r = recs + i * EDGE_SORT_REC;
		uint32_t idx = (uint32_t)i;
		node_sort_key(&e[i].src, rank, r);
		node_sort_key(&e[i].dst, rank, r + NODE_SORT_KEY);
		r[2 * NODE_SORT_KEY] = (uint8_t)(e[i].dport >> 8);
		r[2 * NODE_SORT_KEY + 1] = (uint8_t)e[i].dport;
		r[2 * NODE_SORT_KEY + 2] = e[i].proto;
		memcpy(r + EDGE_SORT_KEY, &idx, 4);
	}
	fl_keysort(recs, tmp, n, EDGE_SORT_REC, EDGE_SORT_KEY);
	free(tmp);
	free(rank);
	/* perm[i]: the edge that belongs at i; applied in place, cycle by cycle */
	uint32_t *perm = fl_xmalloc(n * sizeof *perm);
	for (size_t i = 0; i < n; i++)
		memcpy(&perm[i], recs + i * EDGE_SORT_REC + EDGE_SORT_KEY, 4);
	for (size_t i = 0; i < n; i++) {
		if (perm[i] == i)
			continue;
		fg_edge t = e[i];
		size_t j = i;
		while (perm[j] != i) {
			size_t from = perm[j];
			e[j] = e[from];
			perm[j] = (uint32_t)j;
			j = from;
		}
		e[j] = t;
		perm[j] = (uint32_t)j;
	}
	free(perm);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && memcmp(recs + i * EDGE_SORT_REC, recs + (i - 1) * EDGE_SORT_REC, EDGE_SORT_KEY) == 0)
			fa_edge_merge(&e[k - 1].val, &e[i].val);
		else
			e[k++] = e[i];
	}
	free(recs);
	return k;
}

const strpool *fg_labels(const flowgraph *g)
{
	return g->labels;
}

size_t fg_node_format(const flowgraph *g, const fg_node *n, char *buf, size_t cap)
{
	char tmp[IP_STRLEN + 8];
	size_t len;
	if (n->type == FG_LABEL || n->type == FG_XLABEL)
		return (size_t)snprintf(buf, cap, "%s", strpool_get(g->labels, node_label_id(n)));
	len = ip_format(n->v, tmp);
	if (n->type == FG_PREFIX) {
		memcpy(tmp + len, ip_is_v4(n->v) ? "/24" : "/48", 4);
		len += 3;
	}
	if (len >= cap)
		return (size_t)snprintf(buf, cap, "%s", tmp);
	memcpy(buf, tmp, len + 1);
	return len;
}

int fg_node_cmp(const flowgraph *g, const fg_node *a, const fg_node *b)
{
	int la = a->type == FG_LABEL || a->type == FG_XLABEL;
	int lb = b->type == FG_LABEL || b->type == FG_XLABEL;
	if (la != lb)
		return la - lb; /* addresses first */
	if (la) {
		int c = strcmp(strpool_get(g->labels, node_label_id(a)),
		               strpool_get(g->labels, node_label_id(b)));
		return c ? c : a->type - b->type;
	}
	int c = memcmp(a->v, b->v, 16);
	return c ? c : a->type - b->type;
}

int fg_node_external(const flowgraph *g, const fg_node *n)
{
	(void)g;
	if (n->type == FG_XLABEL)
		return 1;
	if (n->type == FG_LABEL)
		return 0;
	return external_addr(n->v);
}

uint64_t fg_tuples(const flowgraph *g)
{
	return g->tuples;
}

void fg_get_stats(const flowgraph *g, fg_stats *st)
{
	*st = g->st;
	st->tuples = g->tuples;
}

const char *fg_error(const flowgraph *g)
{
	return g->err;
}

void fg_free(flowgraph *g)
{
	if (!g)
		return;
	agg_free(g->conns);
	agg_free(g->learned);
	agg_free(g->obs_names);
	strpool_free(g->labels);
	free(g->out);
	free(g->obs_cache);
	free(g->recent);
	free(g);
}
