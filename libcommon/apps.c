/* apps.c - applications as connected components.  See apps.h. */
#include "apps.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct apps {
	const flowgraph *g;
	fg_node *nodes;          /* internal nodes, sorted */
	size_t nnodes;
	size_t *app_of;          /* node index -> application index */
	app_info *list;
	size_t n;
};

int apps_parse_ports(const char *list, apps_opts *o)
{
	o->nshared = 0;
	if (!*list)
		return 0; /* no ports */
	for (const char *p = list;;) {
		char *end;
		if (*p < '0' || *p > '9') /* no sign, space or empty item */
			return -1;
		unsigned long v = strtoul(p, &end, 10);
		if (v > 65535 || (*end && *end != ',') || o->nshared == APPS_MAX_SHARED)
			return -1;
		o->shared[o->nshared++] = (uint16_t)v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int is_shared(const apps_opts *o, uint16_t port)
{
	for (size_t i = 0; i < o->nshared; i++)
		if (o->shared[i] == port)
			return 1;
	return 0;
}

static const flowgraph *cmp_graph;
static int node_cmp(const void *a, const void *b)
{
	return fg_node_cmp(cmp_graph, a, b);
}

static long node_index(const apps *a, const fg_node *n)
{
	cmp_graph = a->g;
	const fg_node *f = bsearch(n, a->nodes, a->nnodes, sizeof *n, node_cmp);
	return f ? f - a->nodes : -1;
}

static size_t find(size_t *parent, size_t x)
{
	while (parent[x] != x)
		x = parent[x] = parent[parent[x]];
	return x;
}

static void unite(size_t *parent, size_t x, size_t y)
{
	x = find(parent, x);
	y = find(parent, y);
	/* the smaller index (smaller node) is the root: deterministic */
	if (x < y)
		parent[y] = x;
	else if (y < x)
		parent[x] = y;
}

static void collect_nodes(apps *a, const fg_edge *e, size_t n)
{
	a->nodes = fl_xmalloc((2 * n + 1) * sizeof *a->nodes);
	for (size_t i = 0; i < n; i++) {
		if (!fg_node_external(a->g, &e[i].src))
			a->nodes[a->nnodes++] = e[i].src;
		if (!fg_node_external(a->g, &e[i].dst))
			a->nodes[a->nnodes++] = e[i].dst;
	}
	cmp_graph = a->g;
	qsort(a->nodes, a->nnodes, sizeof *a->nodes, node_cmp);
	size_t u = 0;
	for (size_t i = 0; i < a->nnodes; i++)
		if (!u || fg_node_cmp(a->g, &a->nodes[u - 1], &a->nodes[i]) != 0)
			a->nodes[u++] = a->nodes[i];
	a->nnodes = u;
}

/* Distinct public peers per application, counted from sorted (app, peer) pairs. */
typedef struct peer_pair {
	size_t app;
	int inbound;
	uint32_t port;           /* dport << 8 | proto for allowed inbound; 0 otherwise */
	fg_node peer;
} peer_pair;

static int peer_cmp(const void *pa, const void *pb)
{
	const peer_pair *a = pa, *b = pb;
	if (a->app != b->app)
		return a->app < b->app ? -1 : 1;
	if (a->inbound != b->inbound)
		return a->inbound - b->inbound;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return fg_node_cmp(cmp_graph, &a->peer, &b->peer);
}

typedef struct port_count {
	uint32_t port;
	size_t peers;
} port_count;

static int port_count_cmp(const void *pa, const void *pb)
{
	const port_count *a = pa, *b = pb;
	if (a->peers != b->peers)
		return a->peers < b->peers ? 1 : -1;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* "443/tcp:1200 3389/tcp:2": inbound ports by distinct public peers. */
static void describe_ports(app_info *ai, port_count *pc, size_t n)
{
	size_t len = 0, shown = 0;
	qsort(pc, n, sizeof *pc, port_count_cmp);
	for (size_t i = 0; i < n; i++) {
		char one[40];
		uint16_t port = (uint16_t)(pc[i].port >> 8);
		uint8_t proto = (uint8_t)pc[i].port;
		const char *pn = proto == 6 ? "tcp" : proto == 17 ? "udp" : NULL;
		int k = pn ? snprintf(one, sizeof one, "%u/%s:%zu", port, pn, pc[i].peers)
		           : snprintf(one, sizeof one, "%u/%u:%zu", port, proto, pc[i].peers);
		if (shown == 6 || len + (size_t)k + 16 >= sizeof ai->exposed) {
			snprintf(ai->exposed + len, sizeof ai->exposed - len, " +%zu more", n - i);
			return;
		}
		len += (size_t)snprintf(ai->exposed + len, sizeof ai->exposed - len, "%s%s",
		                        len ? " " : "", one);
		shown++;
	}
}

static void stats(apps *a, const fg_edge *e, size_t n)
{
	peer_pair *pp = fl_xmalloc((3 * n + 1) * sizeof *pp);
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		long s = fg_node_external(a->g, &e[i].src) ? -1 : node_index(a, &e[i].src);
		long d = fg_node_external(a->g, &e[i].dst) ? -1 : node_index(a, &e[i].dst);
		uint64_t bytes = e[i].val.bytes_sd + e[i].val.bytes_ds;
		size_t as = s >= 0 ? a->app_of[s] : SIZE_MAX, ad = d >= 0 ? a->app_of[d] : SIZE_MAX;
		if (as != SIZE_MAX) {
			a->list[as].flows += e[i].val.flows;
			a->list[as].bytes += bytes;
		}
		if (ad != SIZE_MAX && ad != as) {
			a->list[ad].flows += e[i].val.flows;
			a->list[ad].bytes += bytes;
		}
		if (as != SIZE_MAX && as == ad)
			a->list[as].internal_edges++;
		if (s < 0 && ad != SIZE_MAX) {
			pp[np++] = (peer_pair){ ad, 1, 0, e[i].src };
			if (e[i].val.flows)
				pp[np++] = (peer_pair){ ad, 2, (uint32_t)e[i].dport << 8 | e[i].proto, e[i].src };
		}
		if (d < 0 && as != SIZE_MAX)
			pp[np++] = (peer_pair){ as, 0, 0, e[i].dst };
	}
	cmp_graph = a->g;
	qsort(pp, np, sizeof *pp, peer_cmp);
	port_count *pc = fl_xmalloc((np + 1) * sizeof *pc);
	size_t npc = 0;
	for (size_t i = 0; i < np; i++) {
		app_info *ai = &a->list[pp[i].app];
		if (i && peer_cmp(&pp[i - 1], &pp[i]) == 0)
			continue;
		if (pp[i].inbound == 1)
			ai->public_peers_in++;
		else if (pp[i].inbound == 0)
			ai->public_peers_out++;
		else if (npc && pc[npc - 1].port == pp[i].port && pp[i - 1].app == pp[i].app &&
		         pp[i - 1].inbound == 2)
			pc[npc - 1].peers++;
		else
			pc[npc++] = (port_count){ pp[i].port, 1 };
		/* the last port of this application: describe them */
		if (pp[i].inbound == 2 && (i + 1 == np || pp[i + 1].app != pp[i].app)) {
			describe_ports(ai, pc, npc);
			npc = 0;
		}
	}
	free(pc);
	free(pp);
}

apps *apps_build(const flowgraph *g, const fg_edge *e, size_t n, const apps_opts *o)
{
	apps *a = fl_xcalloc(1, sizeof *a);
	a->g = g;
	collect_nodes(a, e, n);
	size_t nn = a->nnodes;
	size_t *parent = fl_xmalloc((nn + 1) * sizeof *parent);
	unsigned *fan_in = fl_xcalloc(nn + 1, sizeof *fan_in);
	unsigned char *bonded = fl_xcalloc(nn + 1, 1), *serves_shared = fl_xcalloc(nn + 1, 1);
	for (size_t i = 0; i < nn; i++)
		parent[i] = i;
	long *si = fl_xmalloc((n + 1) * sizeof *si), *di = fl_xmalloc((n + 1) * sizeof *di);
	for (size_t i = 0; i < n; i++) {
		si[i] = fg_node_external(g, &e[i].src) ? -1 : node_index(a, &e[i].src);
		di[i] = fg_node_external(g, &e[i].dst) ? -1 : node_index(a, &e[i].dst);
	}
	/* Fan-in: distinct internal clients on non-shared ports.  Edges are sorted
	 * by (src, dst, ...), so one (src, dst) pair is a run. */
	long last_s = -1, last_d = -1;
	for (size_t i = 0; i < n; i++) {
		if (si[i] < 0 || di[i] < 0 || si[i] == di[i] || is_shared(o, e[i].dport) || !e[i].val.flows)
			continue;
		if (si[i] != last_s || di[i] != last_d)
			fan_in[di[i]]++;
		last_s = si[i];
		last_d = di[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (si[i] >= 0 && di[i] >= 0 && is_shared(o, e[i].dport))
			serves_shared[di[i]] = 1;
		if (si[i] < 0 || di[i] < 0 || is_shared(o, e[i].dport) || !e[i].val.flows)
			continue;
		if (fan_in[si[i]] >= o->hub_fan_in || fan_in[di[i]] >= o->hub_fan_in)
			continue;
		unite(parent, (size_t)si[i], (size_t)di[i]);
		bonded[si[i]] = bonded[di[i]] = 1;
	}
	/* Components in order of their smallest member. */
	a->app_of = fl_xmalloc((nn + 1) * sizeof *a->app_of);
	size_t *root_app = fl_xmalloc((nn + 1) * sizeof *root_app);
	for (size_t i = 0; i < nn; i++)
		root_app[i] = SIZE_MAX;
	a->list = fl_xcalloc(nn + 1, sizeof *a->list);
	size_t napps = 0, nshared = 0;
	for (size_t i = 0; i < nn; i++) {
		size_t r = find(parent, i);
		if (root_app[r] == SIZE_MAX) {
			app_info *ai = &a->list[napps];
			/* A node bonded to nothing that serves shared ports, or a hub. */
			ai->shared = fan_in[i] >= o->hub_fan_in || (!bonded[i] && serves_shared[i]);
			if (ai->shared)
				snprintf(ai->name, sizeof ai->name, "shared-%zu", ++nshared);
			else
				snprintf(ai->name, sizeof ai->name, "app-%zu", napps + 1 - nshared);
			root_app[r] = napps++;
		}
		a->app_of[i] = root_app[r];
		a->list[root_app[r]].nmembers++;
	}
	for (size_t k = 0; k < napps; k++) {
		a->list[k].members = fl_xmalloc((a->list[k].nmembers + 1) * sizeof(fg_node));
		a->list[k].nmembers = 0;
	}
	for (size_t i = 0; i < nn; i++) {
		app_info *ai = &a->list[a->app_of[i]];
		ai->members[ai->nmembers++] = a->nodes[i];
	}
	a->n = napps;
	stats(a, e, n);
	free(si);
	free(di);
	free(parent);
	free(fan_in);
	free(bonded);
	free(serves_shared);
	free(root_app);
	return a;
}

size_t apps_count(const apps *a)
{
	return a->n;
}

const app_info *apps_get(const apps *a, size_t i)
{
	return i < a->n ? &a->list[i] : NULL;
}

const app_info *apps_of(const apps *a, const fg_node *n)
{
	long i = node_index(a, n);
	return i < 0 ? NULL : &a->list[a->app_of[i]];
}

void apps_free(apps *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->list[i].members);
	free(a->list);
	free(a->nodes);
	free(a->app_of);
	free(a);
}
