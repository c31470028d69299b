/* flowgraph.c - tuples to edges.  See flowgraph.h. */
#include "flowgraph.h"
#include "cli.h"
#include "edgeagg.h"
#include "ip.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMBIGUOUS UINT32_MAX
#define FG_BATCH 32 /* tuples per batched upsert (at most AGG_BATCH_MAX) */
#define EDGE_KEY 37 /* src node 17, dst node 17, dport (big-endian) 2, proto 1 */
enum { FG_XLABEL = 3 }; /* a label standing for external addresses */

/* Columns of an aggregate stream (fg_write_aggregate), all u32. */
static const char *const agg_cols[] = {
	"fa_nb", "fa_nd", "fa_nce", "fa_measured", "fa_minb_lo", "fa_minb_hi",
	"fa_mince_lo", "fa_mince_hi", "fa_last_lo", "fa_last_hi",
};
#define N_AGG_COLS 10

struct flowgraph {
	fg_map map;
	agg *conns;               /* level 1: fa_conn by (5-tuple, observer) */
	agg *edges;               /* level 2: fa_edge by edge key */
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
	/* Tuples wait in a batch so their table slots are fetched together. */
	fg_stats st;
	uint8_t batch_keys[FG_BATCH][FA_CONN_KEY];
	flt_rec batch_recs[FG_BATCH];
	size_t nbatch;
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
static const agg_ops edge_ops = { EDGE_KEY, sizeof(fa_edge), fa_edge_init, fa_edge_merge };
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

/* Observer of a tuple: the NIC's MAC, else the flow-log resource. */
static uint32_t observer(flowgraph *g, flt_reader *r, const flt_rec *rec)
{
	uint32_t id = rec->mac ? rec->mac : rec->flowlog;
	if (id >= g->obs_cache_n) {
		size_t n = g->obs_cache_n ? g->obs_cache_n : 256;
		while (n <= id)
			n *= 2;
		g->obs_cache = fl_xrealloc(g->obs_cache, n * sizeof *g->obs_cache);
		memset(g->obs_cache + g->obs_cache_n, 0, (n - g->obs_cache_n) * sizeof *g->obs_cache);
		g->obs_cache_n = n;
	}
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

static void flush_batch(flowgraph *g);

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
		fa_conn_add(vals[i], &g->batch_recs[i]);
	g->nbatch = 0;
}

int fg_add(flowgraph *g, flt_reader *r, const flt_rec *rec)
{
	if (g->seg != flt_reader_epoch(r))
		if (new_segment(g, r) != 0)
			return -1;
	uint32_t obs = observer(g, r, rec);
	g->tuples++;
	if (g->is_agg) {
		add_aggregate(g, r, rec, obs);
	} else {
		/* fa_conn_add reads only the core fields: the columns are not copied */
		fa_conn_key(rec, obs, g->batch_keys[g->nbatch]);
		memcpy(&g->batch_recs[g->nbatch], rec, offsetof(flt_rec, col));
		if (++g->nbatch == FG_BATCH)
			flush_batch(g);
	}
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

int fg_write_aggregate(flowgraph *g, flt_writer *w)
{
	const void *kp, *vp;
	int rc;
	flush_batch(g);
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

static void edge_key(const fg_node *s, const fg_node *d, const uint8_t *k5, uint8_t key[EDGE_KEY])
{
	memcpy(key, s, 17);
	memcpy(key + 17, d, 17);
	key[34] = k5[FA_K_DPORT];
	key[35] = k5[FA_K_DPORT + 1];
	key[36] = k5[FA_K_PROTO];
}

static int fold_group(flowgraph *g, uint8_t **keys, fa_conn **vals, size_t n)
{
	fg_node s, d;
	uint8_t key[EDGE_KEY];
	map_node(g, keys[0] + FA_K_SRC, &s);
	map_node(g, keys[0] + FA_K_DST, &d);
	edge_key(&s, &d, keys[0], key);
	fa_edge_fold(agg_upsert(g->edges, key), (const uint8_t *const *)keys,
	             (const fa_conn *const *)vals, n);
	return 0;
}

static const flowgraph *sort_graph; /* qsort has no context argument */

static int edge_cmp(const void *pa, const void *pb)
{
	const fg_edge *a = pa, *b = pb;
	int c = fg_node_cmp(sort_graph, &a->src, &b->src);
	if (!c)
		c = fg_node_cmp(sort_graph, &a->dst, &b->dst);
	if (!c)
		c = (a->dport > b->dport) - (a->dport < b->dport);
	if (!c)
		c = (a->proto > b->proto) - (a->proto < b->proto);
	return c;
}

int fg_edges(flowgraph *g, fg_edge **edges, size_t *n)
{
	const void *kp, *vp;
	int rc;
	size_t ng = 0, capg = 8;
	uint8_t **keys = fl_xmalloc(capg * sizeof *keys);
	fa_conn **vals = fl_xmalloc(capg * sizeof *vals);
	for (size_t i = 0; i < capg; i++) {
		keys[i] = fl_xmalloc(FA_CONN_KEY);
		vals[i] = fl_xmalloc(sizeof(fa_conn));
	}
	flush_batch(g);
	g->st.conn_keys = agg_size(g->conns);
	g->st.conn_runs = agg_runs(g->conns);
	g->st.conn_bytes = agg_memory(g->conns);
	g->edges = agg_new(&edge_ops, 0, NULL);
	/* Observers of one 5-tuple are adjacent in key order. */
	while ((rc = agg_next(g->conns, &kp, &vp)) > 0) {
		if (ng && !fa_same_5tuple(keys[0], kp)) {
			fold_group(g, keys, vals, ng);
			ng = 0;
		}
		if (ng == capg) {
			keys = fl_xrealloc(keys, 2 * capg * sizeof *keys);
			vals = fl_xrealloc(vals, 2 * capg * sizeof *vals);
			for (size_t i = capg; i < 2 * capg; i++) {
				keys[i] = fl_xmalloc(FA_CONN_KEY);
				vals[i] = fl_xmalloc(sizeof(fa_conn));
			}
			capg *= 2;
		}
		memcpy(keys[ng], kp, FA_CONN_KEY);
		memcpy(vals[ng], vp, sizeof(fa_conn));
		ng++;
	}
	if (ng && rc == 0)
		fold_group(g, keys, vals, ng);
	for (size_t i = 0; i < capg; i++)
		free(keys[i]), free(vals[i]);
	free(keys);
	free(vals);
	if (rc < 0) {
		snprintf(g->err, sizeof g->err, "%s", agg_error(g->conns));
		return -1;
	}
	g->st.edges = agg_size(g->edges);
	g->st.edge_bytes = agg_memory(g->edges);
	size_t cap = agg_size(g->edges) + 1;
	g->out = fl_xmalloc(cap * sizeof *g->out);
	g->nout = 0;
	while ((rc = agg_next(g->edges, &kp, &vp)) > 0) {
		const uint8_t *k = kp;
		fg_edge *e = &g->out[g->nout++];
		memcpy(&e->src, k, 17);
		memcpy(&e->dst, k + 17, 17);
		e->dport = (uint16_t)(k[34] << 8 | k[35]);
		e->proto = k[36];
		memcpy(&e->val, vp, sizeof e->val);
	}
	if (rc < 0) {
		snprintf(g->err, sizeof g->err, "%s", agg_error(g->edges));
		return -1;
	}
	sort_graph = g;
	qsort(g->out, g->nout, sizeof *g->out, edge_cmp);
	*edges = g->out;
	*n = g->nout;
	return 0;
}

void fg_label_node(flowgraph *g, const char *label, fg_node *n)
{
	label_node(n, FG_LABEL, strpool_intern(g->labels, label, strlen(label)));
}

size_t fg_merge_edges(flowgraph *g, fg_edge *e, size_t n)
{
	size_t k = 0;
	sort_graph = g;
	qsort(e, n, sizeof *e, edge_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && edge_cmp(&e[k - 1], &e[i]) == 0)
			fa_edge_merge(&e[k - 1].val, &e[i].val);
		else
			e[k++] = e[i];
	}
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
	if (n->type == FG_PREFIX)
		snprintf(tmp + len, sizeof tmp - len, "/%d", ip_is_v4(n->v) ? 24 : 48);
	return (size_t)snprintf(buf, cap, "%s", tmp);
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
	if (g->edges)
		agg_free(g->edges);
	agg_free(g->learned);
	agg_free(g->obs_names);
	strpool_free(g->labels);
	free(g->out);
	free(g->obs_cache);
	free(g);
}
