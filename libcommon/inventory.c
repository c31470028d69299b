/*
 * inventory.c - the estate an az CLI / Resource Graph export describes, and
 * where the two ends of a tuple sit in it.  See inventory.h.
 *
 * Everything is loaded first and indexed once (inv_finish): sorted arrays
 * searched by bisection, and a linear scan over VNet address spaces, which
 * are few (hundreds) next to the tuples; two caches keep the per-tuple cost
 * to a hash probe: observers by (MAC, target, flow log) and remote addresses
 * by (address, observer VNet).
 */
#include "inventory.h"
#include "cli.h"
#include "ip.h"
#include "textin.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAXC 8          /* candidates kept per end; more are only counted */
#define RCACHE 2048     /* remote-address cache entries (direct mapped) */

typedef struct pfx {
	uint8_t a[16];
	uint8_t len;    /* bits of the 128-bit form (IPv4 /n is 96 + n) */
} pfx;

typedef struct pfxlist {
	pfx *p;
	size_t n, cap;
} pfxlist;

typedef struct sub_t { char *key, *name, *tenant; int dead; } sub_t;
typedef struct vnet_t {
	char *key, *sub, *rg, *name;
	pfxlist sp;
	size_t sn0, snn;       /* its subnets: vnet_subnets[sn0 .. sn0+snn) */
	size_t pr0, prn;       /* its peers: peers[pr0 .. pr0+prn) */
	int dead;
} vnet_t;
typedef struct subnet_t { char *key, *vkey, *name; pfxlist sp; int vnet, dead; } subnet_t;
typedef struct nic_t {
	char *key, *sub, *rg, *name, *vm;
	char mac[13];
	size_t ip0, ipn;   /* its ipConfigurations: nicips[ip0 .. ip0+ipn) */
	int dead;
} nic_t;
typedef struct nicip_t { uint8_t a[16]; int nic, has_addr; char *skey; int subnet; } nicip_t;
typedef struct pip_t { uint8_t a[16]; char *key, *sub, *rg, *nic_key; int nic, dead; } pip_t;
typedef struct piplink_t { char *pip_key; int nic; } piplink_t;
typedef struct peer_t { char *from, *to; } peer_t;
typedef struct pair_t { int a, b; } pair_t;
typedef struct range_t { pfx p; char *label; const char *kind; } range_t;
typedef struct kent { const char *key; int i; } kent;

/* One place an address may be: the fields, plus what comparisons need. */
typedef struct cand {
	const char *f[INV_NFIELDS];
	const char *kind;  /* "S2S"/"P2S" for a CSV range, else NULL */
	const char *vkey;  /* folded VNet id, NULL if unknown */
	int vnet;          /* index, -1 if not in the inventory */
} cand;

typedef struct cset {
	cand c[MAXC];
	unsigned n;        /* matches, may exceed MAXC */
} cset;

typedef struct rslot {
	uint8_t a[16];
	int scope, used;
	cset s;
} rslot;

typedef struct oslot {
	char *k;           /* observer_key(), kn bytes */
	size_t kn;
	cset s;
	int mac_known;
} oslot;

#define ARR(T, name) T *name; size_t n_##name, cap_##name
#define PUSH(v, name) (((v)->n_##name == (v)->cap_##name ? \
	((v)->cap_##name = (v)->cap_##name ? 2 * (v)->cap_##name : 16, \
	 (v)->name = fl_xrealloc((v)->name, (v)->cap_##name * sizeof *(v)->name)) : 0), \
	memset(&(v)->name[(v)->n_##name], 0, sizeof *(v)->name), &(v)->name[(v)->n_##name++])

typedef struct arena_blk { struct arena_blk *next; size_t used, cap; char data[]; } arena_blk;

struct inv {
	arena_blk *arena;
	ARR(sub_t, subs);
	ARR(vnet_t, vnets);
	ARR(subnet_t, subnets);
	ARR(nic_t, nics);
	ARR(nicip_t, nicips);
	ARR(pip_t, pips);
	ARR(piplink_t, piplinks);
	ARR(peer_t, peerings);
	ARR(range_t, ranges);
	ARR(pair_t, peers);
	size_t skipped;
	/* indexes, built by inv_finish */
	kent *sub_ix, *vnet_ix, *subnet_ix, *nic_ix, *mac_ix;
	size_t n_sub_ix, n_vnet_ix, n_subnet_ix, n_nic_ix, n_mac_ix;
	int *vnet_subnets;
	int *nicip_ix; /* nicips sorted by address */
	int *pip_ix;       /* live public IPs sorted by address */
	size_t n_pip_live;
	kent *pip_ix_k;
	size_t n_pip_ix_k;
	rslot *rcache;
	oslot *ocache;
	char *memo_k;      /* the last observer looked up */
	size_t memo_n, memo_cap;
	cset memo_s;
	int memo_known;
	size_t ocache_cap, ocache_n;
};

/* ---- small helpers -------------------------------------------------- */

static char *adup(inv *v, const char *s, size_t n)
{
	arena_blk *b = v->arena;
	if (!b || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > 65536 ? n + 1 : 65536;
		b = fl_xmalloc(sizeof *b + cap);
		b->used = 0, b->cap = cap, b->next = v->arena;
		v->arena = b;
	}
	char *p = b->data + b->used;
	memcpy(p, s, n);
	p[n] = 0;
	b->used += n + 1;
	return p;
}

static char *adups(inv *v, const char *s)
{
	return s ? adup(v, s, strlen(s)) : NULL;
}

/* ARM compares IDs without case; flow logs upper-case some of them.  The
 * Latin-1 letters are folded too (C3 80..9E -> C3 A0..BE, not U+00D7)
 * because resource group names may hold them. */
static void fold(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (unsigned char)(*p + 32);
		else if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97)
			p[1] = (unsigned char)(p[1] + 32), p++;
	}
}

static char *afold(inv *v, const char *s)
{
	if (!s || !*s)
		return NULL;
	char *k = adups(v, s);
	fold(k);
	/* A trailing slash is not part of an ID. */
	size_t n = strlen(k);
	while (n > 1 && k[n - 1] == '/')
		k[--n] = 0;
	return k;
}

/* The value of "/seg/VALUE/" in an ID (case-insensitive seg), original case. */
static char *id_part(inv *v, const char *id, const char *seg)
{
	if (!id)
		return NULL;
	size_t sl = strlen(seg);
	for (const char *p = id; (p = strchr(p, '/')); p++) {
		if (strncasecmp(p + 1, seg, sl) == 0 && p[1 + sl] == '/') {
			const char *s = p + 2 + sl, *e = strchr(s, '/');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			return n ? adup(v, s, n) : NULL;
		}
	}
	return NULL;
}

static char *id_sub(inv *v, const char *id)
{
	char *s = id_part(v, id, "subscriptions");
	if (s)
		fold(s);
	return s;
}

/* The folded ID up to (not including) "/seg/" ; NULL when absent. */
static char *id_prefix(inv *v, const char *id, const char *seg)
{
	if (!id)
		return NULL;
	char *k = afold(v, id);
	if (!k)
		return NULL;
	char pat[64];
	snprintf(pat, sizeof pat, "/%s/", seg);
	fold(pat);
	char *p = strstr(k, pat);
	if (!p)
		return NULL;
	*p = 0;
	return k;
}

static const char *last_seg(inv *v, const char *id)
{
	if (!id || !*id)
		return NULL;
	size_t n = strlen(id);
	while (n && id[n - 1] == '/')
		n--;
	size_t s = n;
	while (s && id[s - 1] != '/')
		s--;
	return n > s ? adup(v, id + s, n - s) : NULL;
}

static int pfx_parse(const char *s, pfx *out)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t a[16];
	if (ip_parse(s, n, a) != 0)
		return -1;
	int v4 = ip_is_v4(a), max = v4 ? 32 : 128;
	long len = max;
	if (slash) {
		char *end;
		len = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || len < 0 || len > max)
			return -1;
	}
	out->len = (uint8_t)(v4 ? 96 + len : len);
	memset(out->a, 0, 16);
	for (int i = 0; i < out->len; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			out->a[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return 0;
}

static int pfx_match(const pfx *p, const uint8_t a[16])
{
	int full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->a, a, (size_t)full) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == p->a[full];
}

/* Length of the longest prefix of l containing a, or -1. */
static int pfx_best(const pfxlist *l, const uint8_t a[16])
{
	int best = -1;
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].len > best && pfx_match(&l->p[i], a))
			best = l->p[i].len;
	return best;
}

static void pfx_add(pfxlist *l, const char *s)
{
	pfx p;
	if (!s || pfx_parse(s, &p) != 0)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].len == p.len && !memcmp(l->p[i].a, p.a, 16))
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->p = fl_xrealloc(l->p, l->cap * sizeof *l->p);
	}
	l->p[l->n++] = p;
}

int inv_mac_norm(const char *s, char out[13])
{
	size_t n = 0;
	if (!s)
		return -1;
	for (; *s; s++) {
		char c = *s;
		if (c == '-' || c == ':' || c == '.' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 32);
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) || n == 12)
			return -1;
		out[n++] = c;
	}
	out[n] = 0;
	return n == 12 ? 0 : -1;
}

/* ---- JSON: both the az shape and the Resource Graph shape ------------ */

/* az flattens some properties to the top level, Resource Graph (and ARM)
 * keep them under "properties": look in both. */
static json_t *field(json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	if (x && !json_is_null(x))
		return x;
	json_t *p = json_object_get(o, "properties");
	return json_is_object(p) ? json_object_get(p, k) : NULL;
}

static const char *sfield(json_t *o, const char *k)
{
	json_t *x = field(o, k);
	return json_is_string(x) ? json_string_value(x) : NULL;
}

static const char *sub_id(json_t *o, const char *k)
{
	return sfield(field(o, k), "id");
}

static sub_t *sub_put(inv *v, const char *id, const char *name, const char *tenant)
{
	sub_t *s = PUSH(v, subs);
	s->key = afold(v, id);
	s->name = adups(v, name);
	s->tenant = afold(v, tenant);
	return s;
}

/* A subnet, listed inside its VNet (az network vnet list) or on its own. */
static void add_subnet(inv *v, json_t *x, const char *id, char *vkey)
{
	subnet_t *s = PUSH(v, subnets);
	s->key = afold(v, id);
	s->vkey = vkey;
	s->name = adups(v, sfield(x, "name"));
	if (!s->name)
		s->name = (char *)last_seg(v, id);
	pfx_add(&s->sp, sfield(x, "addressPrefix"));
	json_t *y;
	size_t j;
	json_array_foreach(field(x, "addressPrefixes"), j, y)
		pfx_add(&s->sp, json_string_value(y));
}

static void load_vnet(inv *v, json_t *o)
{
	const char *id = sfield(o, "id");
	if (!id)
		return;
	vnet_t *n = PUSH(v, vnets);
	n->key = afold(v, id);
	n->sub = id_sub(v, id);
	n->rg = id_part(v, id, "resourceGroups");
	n->name = adups(v, sfield(o, "name"));
	if (!n->name)
		n->name = (char *)last_seg(v, id);
	json_t *as = field(field(o, "addressSpace"), "addressPrefixes"), *x;
	size_t i;
	json_array_foreach(as, i, x)
		pfx_add(&n->sp, json_string_value(x));
	json_t *sns = field(o, "subnets");
	json_array_foreach(sns, i, x) {
		const char *sid = sfield(x, "id");
		if (!sid)
			continue;
		add_subnet(v, x, sid, n->key);
	}
	json_t *ps = field(o, "virtualNetworkPeerings");
	json_array_foreach(ps, i, x) {
		const char *rid = sub_id(x, "remoteVirtualNetwork"), *st = sfield(x, "peeringState");
		/* Initiated or Disconnected peerings carry no traffic. */
		if (!rid || (st && strcasecmp(st, "Connected") != 0))
			continue;
		peer_t *p = PUSH(v, peerings);
		p->from = n->key;
		p->to = afold(v, rid);
	}
}

static void load_subnet(inv *v, json_t *o)
{
	const char *id = sfield(o, "id");
	char *vk = id_prefix(v, id, "subnets");
	if (vk)
		add_subnet(v, o, id, vk);
}

static void load_nic(inv *v, json_t *o)
{
	const char *id = sfield(o, "id");
	if (!id)
		return;
	int ni = (int)v->n_nics;
	nic_t *n = PUSH(v, nics);
	n->key = afold(v, id);
	n->sub = id_sub(v, id);
	n->rg = id_part(v, id, "resourceGroups");
	n->name = adups(v, sfield(o, "name"));
	if (!n->name)
		n->name = (char *)last_seg(v, id);
	n->vm = (char *)last_seg(v, sub_id(o, "virtualMachine"));
	n->ip0 = v->n_nicips;
	if (inv_mac_norm(sfield(o, "macAddress"), n->mac) != 0)
		n->mac[0] = 0;
	json_t *x;
	size_t i;
	json_array_foreach(field(o, "ipConfigurations"), i, x) {
		nicip_t *c = PUSH(v, nicips);
		const char *ip = sfield(x, "privateIPAddress");
		c->nic = ni;
		c->has_addr = ip && ip_parse(ip, strlen(ip), c->a) == 0;
		c->skey = afold(v, sub_id(x, "subnet"));
		c->subnet = -1;
		const char *pid = sub_id(x, "publicIPAddress");
		if (pid) {
			piplink_t *l = PUSH(v, piplinks);
			l->pip_key = afold(v, pid);
			l->nic = ni;
		}
	}
	v->nics[ni].ipn = v->n_nicips - v->nics[ni].ip0;
}

static void load_pip(inv *v, json_t *o)
{
	const char *id = sfield(o, "id"), *ip = sfield(o, "ipAddress");
	uint8_t a[16];
	if (!id || !ip || ip_parse(ip, strlen(ip), a) != 0)
		return;
	pip_t *p = PUSH(v, pips);
	memcpy(p->a, a, 16);
	p->key = afold(v, id);
	p->sub = id_sub(v, id);
	p->rg = id_part(v, id, "resourceGroups");
	p->nic_key = id_prefix(v, sub_id(o, "ipConfiguration"), "ipConfigurations");
	p->nic = -1;
}

/* 1 when the element was taken. */
static int load_element(inv *v, json_t *o)
{
	if (!json_is_object(o))
		return 0;
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *tenant = json_string_value(json_object_get(o, "tenantId"));
	const char *id = json_string_value(json_object_get(o, "id"));
	if (!type) {
		/* az account list: {"id": "<guid>", "name", "tenantId", ...} */
		if (tenant && id && id[0] != '/') {
			sub_put(v, id, json_string_value(json_object_get(o, "name")), tenant);
			return 1;
		}
		return 0;
	}
	/* Resource Graph rows carry their tenant: as good as an account list. */
	const char *sid = json_string_value(json_object_get(o, "subscriptionId"));
	if (tenant && (sid || id))
		sub_put(v, sid ? sid : id_sub(v, id), NULL, tenant);
	if (!strcasecmp(type, "Microsoft.Network/virtualNetworks"))
		load_vnet(v, o);
	else if (!strcasecmp(type, "Microsoft.Network/virtualNetworks/subnets"))
		load_subnet(v, o);
	else if (!strcasecmp(type, "Microsoft.Network/networkInterfaces"))
		load_nic(v, o);
	else if (!strcasecmp(type, "Microsoft.Network/publicIPAddresses"))
		load_pip(v, o);
	else if (!strcasecmp(type, "Microsoft.Resources/subscriptions") && sid && tenant)
		sub_put(v, sid, json_string_value(json_object_get(o, "name")), tenant);
	else {
		v->skipped++;
		return 0;
	}
	return 1;
}

static int load_json(inv *v, const char *buf, size_t n, char *why, size_t whyn)
{
	json_error_t je;
	json_t *root = json_loadb(buf, n, 0, &je);
	if (!root) {
		snprintf(why, whyn, "line %d, column %d: %s", je.line, je.column, je.text);
		return INV_BAD;
	}
	json_t *list = root;
	if (json_is_object(root)) {
		/* az graph query: {"data": [...]} or {"count", "data", ...};
		 * ARM REST: {"value": [...]}; az ... show: one resource. */
		json_t *d = json_object_get(root, "data");
		if (!d)
			d = json_object_get(root, "value");
		list = d;
	}
	int taken = 0;
	if (json_is_array(list)) {
		size_t i, before = v->skipped;
		json_t *o;
		json_array_foreach(list, i, o)
			taken += load_element(v, o);
		if (!taken && json_array_size(list)) {
			snprintf(why, whyn, "no account, VNet, subnet, NIC or public IP entries%s",
			         v->skipped > before ? " (other resource types only)" : "");
			taken = INV_UNKNOWN;
		}
	} else if (json_is_object(root) && load_element(v, root)) {
		taken = 1;
	} else {
		snprintf(why, whyn, "not an az CLI list or Resource Graph result");
		taken = INV_UNKNOWN;
	}
	json_decref(root);
	return taken;
}

/* ---- CSV of on-premises ranges -------------------------------------- */

/* Next field of a CSV line (RFC 4180 quotes); *p advances past the comma. */
static char *csv_field(inv *v, const char **p, const char *end)
{
	const char *s = *p;
	char tmp[1024];
	size_t n = 0;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s < end && *s == '"') {
		for (s++; s < end; s++) {
			if (*s == '"' && s + 1 < end && s[1] == '"')
				s++;
			else if (*s == '"') {
				s++;
				break;
			}
			if (n < sizeof tmp - 1)
				tmp[n++] = *s;
		}
		while (s < end && *s != ',')
			s++;
	} else {
		while (s < end && *s != ',' && n < sizeof tmp - 1)
			tmp[n++] = *s++;
		while (n && (tmp[n - 1] == ' ' || tmp[n - 1] == '\t'))
			n--;
		while (s < end && *s != ',')
			s++;
	}
	*p = s < end ? s + 1 : end;
	return adup(v, tmp, n);
}

static int is_csv_header(const char *s, const char *end)
{
	char h[64];
	size_t n = 0;
	for (; s < end && *s != '\n' && n < sizeof h - 1; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '"')
			h[n++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
	h[n] = 0;
	return strcmp(h, "cidr,label,kind") == 0;
}

static int load_csv(inv *v, const char *buf, size_t n, char *why, size_t whyn)
{
	const char *p = buf, *end = buf + n;
	int line = 0, taken = 0;
	size_t n0 = v->n_ranges; /* a file with a bad row is refused whole */
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		const char *le = e > p && e[-1] == '\r' ? e - 1 : e;
		line++;
		if (line > 1 && le > p && *p != '#') {
			const char *q = p;
			char *cidr = csv_field(v, &q, le), *label = csv_field(v, &q, le),
			     *kind = csv_field(v, &q, le);
			const char *k = !strcasecmp(kind, "S2S") || !strcasecmp(kind, "ExpressRoute") ? "S2S"
			              : !strcasecmp(kind, "P2S") ? "P2S" : NULL;
			pfx pf;
			if (!*cidr && !*label && !*kind) {
				/* blank line */
			} else if (pfx_parse(cidr, &pf) != 0 || !k) {
				snprintf(why, whyn, "line %d: %s", line, !k && pfx_parse(cidr, &pf) == 0 ?
				         "kind must be S2S, P2S or ExpressRoute" : "bad CIDR");
				v->n_ranges = n0;
				return INV_BAD;
			} else {
				range_t *r = PUSH(v, ranges);
				r->p = pf;
				r->label = label;
				r->kind = k;
				taken++;
			}
		}
		p = e < end ? e + 1 : end;
	}
	return taken;
}

int inv_load(inv *v, const char *buf, size_t n, char *why, size_t whyn)
{
	char *conv; /* PowerShell 5 redirects az output as UTF-16LE with a BOM */
	buf = fl_text_utf8(buf, n, &n, &conv);
	size_t i = 0;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	int rc;
	if (i < n && (buf[i] == '{' || buf[i] == '['))
		rc = load_json(v, buf, n, why, whyn);
	else if (is_csv_header(buf + i, buf + n))
		rc = load_csv(v, buf + i, n - i, why, whyn);
	else {
		snprintf(why, whyn, "neither JSON nor a CSV with the header cidr,label,kind");
		rc = INV_UNKNOWN;
	}
	free(conv);
	return rc;
}

/* ---- indexes --------------------------------------------------------- */

static int kent_cmp(const void *pa, const void *pb)
{
	const kent *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* First entry with key, or -1. */
static long kfind(const kent *ix, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	if (!key)
		return -1;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (strcmp(ix[m].key, key) < 0)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < n && !strcmp(ix[lo].key, key) ? (long)lo : -1;
}

/* Sorted (key, index) of the live entries; duplicates after the first
 * loaded are marked dead (an inventory given twice, az and Resource Graph
 * together), so the first file given wins. */
#define BUILD_IX(v, arr, keyf, ix, nix) do { \
	free((v)->ix); \
	(v)->ix = fl_xmalloc(((v)->n_##arr + 1) * sizeof *(v)->ix); \
	(v)->nix = 0; \
	for (size_t i_ = 0; i_ < (v)->n_##arr; i_++) \
		if (!(v)->arr[i_].dead && (v)->arr[i_].keyf) \
			(v)->ix[(v)->nix++] = (kent){ (v)->arr[i_].keyf, (int)i_ }; \
	qsort((v)->ix, (v)->nix, sizeof *(v)->ix, kent_cmp); \
} while (0)

static void dedupe(kent *ix, size_t *n, int *dead, size_t stride)
{
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if (k && !strcmp(ix[k - 1].key, ix[i].key)) {
			*(int *)((char *)dead + (size_t)ix[i].i * stride) = 1;
			continue;
		}
		ix[k++] = ix[i];
	}
	*n = k;
}

static int vnet_by_key(inv *v, const char *key)
{
	long i = kfind(v->vnet_ix, v->n_vnet_ix, key);
	return i < 0 ? -1 : v->vnet_ix[i].i;
}

/* A VNet that is only named (by a subnet, NIC or peering) still has a
 * name, a subscription and a place in comparisons. */
static int vnet_phantom(inv *v, const char *key)
{
	int i = vnet_by_key(v, key);
	if (i >= 0)
		return i;
	vnet_t *n = PUSH(v, vnets);
	n->key = adups(v, key);
	n->sub = id_sub(v, key);
	n->rg = id_part(v, key, "resourceGroups");
	n->name = (char *)last_seg(v, key);
	BUILD_IX(v, vnets, key, vnet_ix, n_vnet_ix);
	return (int)v->n_vnets - 1;
}

static int subnet_by_key(inv *v, const char *key)
{
	long i = kfind(v->subnet_ix, v->n_subnet_ix, key);
	return i < 0 ? -1 : v->subnet_ix[i].i;
}

static int subnet_cmp_vnet(const void *pa, const void *pb, void *ctx)
{
	const inv *v = ctx;
	int a = *(const int *)pa, b = *(const int *)pb;
	int c = (v->subnets[a].vnet > v->subnets[b].vnet) - (v->subnets[a].vnet < v->subnets[b].vnet);
	return c ? c : (a > b) - (a < b);
}

static int addr_cmp_nicip(const void *pa, const void *pb, void *ctx)
{
	const inv *v = ctx;
	int a = *(const int *)pa, b = *(const int *)pb;
	int c = memcmp(v->nicips[a].a, v->nicips[b].a, 16);
	return c ? c : (a > b) - (a < b);
}

static int addr_cmp_pip(const void *pa, const void *pb, void *ctx)
{
	const inv *v = ctx;
	int a = *(const int *)pa, b = *(const int *)pb;
	int c = memcmp(v->pips[a].a, v->pips[b].a, 16);
	return c ? c : (a > b) - (a < b);
}

static int pair_cmp(const void *pa, const void *pb)
{
	const pair_t *a = pa, *b = pb;
	return a->a != b->a ? (a->a > b->a) - (a->a < b->a) : (a->b > b->b) - (a->b < b->b);
}

void inv_finish(inv *v)
{
	/* Subscriptions: the first file given wins; names and tenants fill
	 * each other's gaps. */
	BUILD_IX(v, subs, key, sub_ix, n_sub_ix);
	for (size_t i = 1; i < v->n_sub_ix; i++) {
		sub_t *a = &v->subs[v->sub_ix[i - 1].i], *b = &v->subs[v->sub_ix[i].i];
		if (!strcmp(a->key, b->key)) {
			if (!b->name)
				b->name = a->name;
			if (!b->tenant)
				b->tenant = a->tenant;
		}
	}
	for (size_t i = v->n_sub_ix; i-- > 1;) {
		sub_t *a = &v->subs[v->sub_ix[i - 1].i], *b = &v->subs[v->sub_ix[i].i];
		if (!strcmp(a->key, b->key)) {
			if (!a->name)
				a->name = b->name;
			if (!a->tenant)
				a->tenant = b->tenant;
		}
	}
	if (v->n_subs)
		dedupe(v->sub_ix, &v->n_sub_ix, &v->subs[0].dead, sizeof(sub_t));

	BUILD_IX(v, vnets, key, vnet_ix, n_vnet_ix);
	if (v->n_vnets)
		dedupe(v->vnet_ix, &v->n_vnet_ix, &v->vnets[0].dead, sizeof(vnet_t));
	BUILD_IX(v, subnets, key, subnet_ix, n_subnet_ix);
	if (v->n_subnets)
		dedupe(v->subnet_ix, &v->n_subnet_ix, &v->subnets[0].dead, sizeof(subnet_t));
	BUILD_IX(v, nics, key, nic_ix, n_nic_ix);
	if (v->n_nics)
		dedupe(v->nic_ix, &v->n_nic_ix, &v->nics[0].dead, sizeof(nic_t));
	for (size_t i = 0; i < v->n_nicips; i++)
		if (v->nics[v->nicips[i].nic].dead)
			v->nicips[i].has_addr = 0, v->nicips[i].skey = NULL;

	/* Subnets named by NICs only; then every subnet's VNet. */
	for (size_t i = 0; i < v->n_nicips; i++) {
		const char *sk = v->nicips[i].skey;
		if (!sk || subnet_by_key(v, sk) >= 0)
			continue;
		subnet_t *s = PUSH(v, subnets);
		s->key = (char *)sk;
		s->vkey = id_prefix(v, sk, "subnets");
		s->name = (char *)last_seg(v, sk);
		BUILD_IX(v, subnets, key, subnet_ix, n_subnet_ix);
	}
	for (size_t i = 0; i < v->n_subnets; i++)
		v->subnets[i].vnet = v->subnets[i].dead || !v->subnets[i].vkey ? -1
		                   : vnet_phantom(v, v->subnets[i].vkey);
	for (size_t i = 0; i < v->n_nicips; i++)
		v->nicips[i].subnet = subnet_by_key(v, v->nicips[i].skey);

	/* Peerings, both directions, between VNets (named ones included). */
	v->n_peers = 0;
	for (size_t i = 0; i < v->n_peerings; i++) {
		int a = vnet_phantom(v, v->peerings[i].from), b = vnet_phantom(v, v->peerings[i].to);
		if (a == b)
			continue;
		*PUSH(v, peers) = (pair_t){ a, b };
		*PUSH(v, peers) = (pair_t){ b, a };
	}
	if (v->n_peers)
		qsort(v->peers, v->n_peers, sizeof *v->peers, pair_cmp);
	size_t k = 0;
	for (size_t i = 0; i < v->n_peers; i++)
		if (!k || pair_cmp(&v->peers[k - 1], &v->peers[i]))
			v->peers[k++] = v->peers[i];
	v->n_peers = k;
	for (size_t i = 0; i < v->n_vnets; i++)
		v->vnets[i].prn = 0;
	for (size_t i = 0; i < v->n_peers; i++) {
		vnet_t *n = &v->vnets[v->peers[i].a];
		if (!n->prn++)
			n->pr0 = i;
	}

	int *ord = fl_xmalloc((v->n_subnets + 1) * sizeof *ord);
	for (size_t i = 0; i < v->n_subnets; i++)
		ord[i] = (int)i;
	qsort_r(ord, v->n_subnets, sizeof *ord, subnet_cmp_vnet, v);
	v->vnet_subnets = ord;
	for (size_t i = 0; i < v->n_vnets; i++)
		v->vnets[i].snn = 0;
	for (size_t i = 0; i < v->n_subnets; i++) {
		subnet_t *s = &v->subnets[ord[i]];
		if (s->vnet < 0 || s->dead)
			continue;
		vnet_t *n = &v->vnets[s->vnet];
		if (!n->snn++)
			n->sn0 = i;
	}

	v->nicip_ix = fl_xmalloc((v->n_nicips + 1) * sizeof *v->nicip_ix);
	for (size_t i = 0; i < v->n_nicips; i++)
		v->nicip_ix[i] = (int)i;
	qsort_r(v->nicip_ix, v->n_nicips, sizeof(int), addr_cmp_nicip, v);

	BUILD_IX(v, pips, key, pip_ix_k, n_pip_ix_k);
	if (v->n_pips)
		dedupe(v->pip_ix_k, &v->n_pip_ix_k, &v->pips[0].dead, sizeof(pip_t));
	for (size_t i = 0; i < v->n_pips; i++) {
		pip_t *p = &v->pips[i];
		long j = kfind(v->nic_ix, v->n_nic_ix, p->nic_key);
		p->nic = j < 0 ? -1 : v->nic_ix[j].i;
		for (size_t l = 0; p->nic < 0 && l < v->n_piplinks; l++)
			if (!strcmp(v->piplinks[l].pip_key, p->key) && !v->nics[v->piplinks[l].nic].dead)
				p->nic = v->piplinks[l].nic;
	}
	v->pip_ix = fl_xmalloc((v->n_pips + 1) * sizeof *v->pip_ix);
	k = 0;
	for (size_t i = 0; i < v->n_pips; i++)
		if (!v->pips[i].dead)
			v->pip_ix[k++] = (int)i;
	v->n_pip_live = k;
	qsort_r(v->pip_ix, k, sizeof(int), addr_cmp_pip, v);

	free(v->mac_ix);
	v->mac_ix = fl_xmalloc((v->n_nics + 1) * sizeof *v->mac_ix);
	v->n_mac_ix = 0;
	for (size_t i = 0; i < v->n_nics; i++)
		if (!v->nics[i].dead && v->nics[i].mac[0])
			v->mac_ix[v->n_mac_ix++] = (kent){ v->nics[i].mac, (int)i };
	qsort(v->mac_ix, v->n_mac_ix, sizeof *v->mac_ix, kent_cmp);
}

/* ---- placement ------------------------------------------------------- */

static const char *sub_tenant(const inv *v, const char *sub)
{
	long i = kfind(v->sub_ix, v->n_sub_ix, sub);
	return i < 0 ? NULL : v->subs[v->sub_ix[i].i].tenant;
}

static void cset_add(cset *s, const cand *c)
{
	if (s->n < MAXC)
		s->c[s->n] = *c;
	s->n++;
}

/* The ipConfiguration holding address a inside VNet vn, or NULL. */
static const nicip_t *nic_in_vnet(const inv *v, int vn, const uint8_t a[16])
{
	size_t lo = 0, hi = v->n_nicips;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (memcmp(v->nicips[v->nicip_ix[m]].a, a, 16) < 0)
			lo = m + 1;
		else
			hi = m;
	}
	for (; lo < v->n_nicips; lo++) {
		const nicip_t *c = &v->nicips[v->nicip_ix[lo]];
		if (memcmp(c->a, a, 16))
			break;
		if (c->has_addr && c->subnet >= 0 && v->subnets[c->subnet].vnet == vn)
			return c;
	}
	return NULL;
}

static void cand_vnet(const inv *v, cand *c, int vn, const uint8_t *a)
{
	const vnet_t *n = &v->vnets[vn];
	memset(c, 0, sizeof *c);
	c->vnet = vn;
	c->vkey = n->key;
	c->f[INV_SUB] = n->sub;
	c->f[INV_TENANT] = sub_tenant(v, n->sub);
	c->f[INV_RG] = n->rg;
	c->f[INV_VNET] = n->name;
	if (!a)
		return;
	int best = -1;
	for (size_t i = n->sn0; i < n->sn0 + n->snn; i++) {
		const subnet_t *s = &v->subnets[v->vnet_subnets[i]];
		int l = pfx_best(&s->sp, a);
		if (l > best)
			best = l, c->f[INV_SUBNET] = s->name;
	}
	const nicip_t *ip = nic_in_vnet(v, vn, a);
	if (ip) {
		/* the NIC's own subnet: the VNet's subnet list may be incomplete */
		const nic_t *nic = &v->nics[ip->nic];
		c->f[INV_SUBNET] = v->subnets[ip->subnet].name;
		c->f[INV_RG] = nic->rg;
		c->f[INV_NIC] = nic->name;
		c->f[INV_VM] = nic->vm;
	}
}

/* A NIC: its subnet and VNet from the ipConfiguration holding a (or the
 * first one with a subnet), its own subscription and resource group. */
static void cand_nic(const inv *v, cand *c, int ni, const uint8_t *a)
{
	const nic_t *nic = &v->nics[ni];
	const nicip_t *pick = NULL;
	for (size_t i = nic->ip0; i < nic->ip0 + nic->ipn; i++) {
		const nicip_t *ip = &v->nicips[i];
		if (ip->subnet < 0)
			continue;
		if (!pick || (a && ip->has_addr && !memcmp(ip->a, a, 16)))
			pick = ip;
	}
	memset(c, 0, sizeof *c);
	c->vnet = -1;
	if (pick && v->subnets[pick->subnet].vnet >= 0) {
		cand_vnet(v, c, v->subnets[pick->subnet].vnet, NULL);
		c->f[INV_SUBNET] = v->subnets[pick->subnet].name;
	}
	c->f[INV_SUB] = nic->sub;
	c->f[INV_TENANT] = sub_tenant(v, nic->sub);
	c->f[INV_RG] = nic->rg;
	c->f[INV_NIC] = nic->name;
	c->f[INV_VM] = nic->vm;
}

/* The observer from the record's IDs alone: the target (VNet, subnet or
 * NIC) when it names one, else the flow log's subscription. */
static void cand_ids(inv *v, cand *c, const char *target, const char *flowlog, const uint8_t *a)
{
	char *tk = afold(v, target);
	long j;
	int i;
	memset(c, 0, sizeof *c);
	c->vnet = -1;
	if (tk && (j = kfind(v->nic_ix, v->n_nic_ix, tk)) >= 0) {
		cand_nic(v, c, v->nic_ix[j].i, a);
		return;
	}
	if (tk && (i = subnet_by_key(v, tk)) >= 0 && v->subnets[i].vnet >= 0) {
		cand_vnet(v, c, v->subnets[i].vnet, a);
		c->f[INV_SUBNET] = v->subnets[i].name;
		return;
	}
	if (tk && (i = vnet_by_key(v, tk)) >= 0) {
		cand_vnet(v, c, i, a);
		return;
	}
	if (tk) {
		c->f[INV_SUB] = id_sub(v, target);
		c->f[INV_RG] = id_part(v, target, "resourceGroups");
		c->f[INV_VNET] = id_part(v, target, "virtualNetworks");
		c->f[INV_SUBNET] = id_part(v, target, "subnets");
		c->f[INV_NIC] = id_part(v, target, "networkInterfaces");
		char *p = strstr(tk, "/virtualnetworks/");
		if (p) {
			char *e = strchr(p + 17, '/');
			if (e)
				*e = 0;
			c->vkey = tk;
		}
	}
	if (!c->f[INV_SUB])
		c->f[INV_SUB] = id_sub(v, flowlog);
	c->f[INV_TENANT] = sub_tenant(v, c->f[INV_SUB]);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

static oslot *ocache_slot(inv *v, const char *k, size_t kn)
{
	if (v->ocache_n * 2 >= v->ocache_cap) {
		size_t cap = v->ocache_cap ? 2 * v->ocache_cap : 64;
		oslot *t = fl_xcalloc(cap, sizeof *t);
		for (size_t i = 0; i < v->ocache_cap; i++) {
			oslot *o = &v->ocache[i];
			if (!o->k)
				continue;
			size_t h = (size_t)hash_bytes(0xcbf29ce484222325ULL, o->k, o->kn) & (cap - 1);
			while (t[h].k)
				h = (h + 1) & (cap - 1);
			t[h] = *o;
		}
		free(v->ocache);
		v->ocache = t;
		v->ocache_cap = cap;
	}
	size_t h = (size_t)hash_bytes(0xcbf29ce484222325ULL, k, kn) & (v->ocache_cap - 1);
	while (v->ocache[h].k && (v->ocache[h].kn != kn || memcmp(v->ocache[h].k, k, kn)))
		h = (h + 1) & (v->ocache_cap - 1);
	return &v->ocache[h];
}

/* Copies the used part of a candidate set only: most have one entry. */
static void cset_copy(cset *dst, const cset *src)
{
	dst->n = src->n;
	memcpy(dst->c, src->c, (src->n < MAXC ? src->n : MAXC) * sizeof *src->c);
}

/* "mac\ntarget\nflowlog\n" and the 16 address bytes: the observer cache key.
 * 0 when it does not fit. */
static size_t observer_key(const inv_flow *f, const uint8_t *a, char *key, size_t cap)
{
	const char *part[3] = { f->mac, f->target, f->flowlog };
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		size_t l = part[i] ? strlen(part[i]) : 0;
		if (n + l + 1 + 16 >= cap)
			return 0;
		memcpy(key + n, part[i] ? part[i] : "", l);
		n += l;
		key[n++] = '\n';
	}
	memcpy(key + n, a, 16);
	return n + 16;
}

static void observer(inv *v, const inv_flow *f, const uint8_t *a, cset *out, int *known)
{
	char key[4096];
	size_t kn = observer_key(f, a, key, sizeof key);
	/* Consecutive tuples mostly come from one record: one comparison. */
	if (kn && kn == v->memo_n && !memcmp(key, v->memo_k, kn)) {
		cset_copy(out, &v->memo_s);
		*known = v->memo_known;
		return;
	}
	oslot *o = kn ? ocache_slot(v, key, kn) : NULL;
	if (o && o->k) {
		cset_copy(out, &o->s);
		*known = o->mac_known;
		goto memo;
	}
	cset s;
	memset(&s, 0, sizeof s);
	cand c;
	char mac[13];
	*known = 0;
	if (inv_mac_norm(f->mac, mac) == 0) {
		long j = kfind(v->mac_ix, v->n_mac_ix, mac);
		size_t first = j < 0 ? v->n_mac_ix : (size_t)j, end = first;
		while (end < v->n_mac_ix && !strcmp(v->mac_ix[end].key, mac))
			end++;
		/* A MAC seen in two places: the one in the record's subscription. */
		const char *want = NULL;
		if (end - first > 1) {
			cand ids;
			cand_ids(v, &ids, f->target, f->flowlog, a);
			want = ids.f[INV_SUB];
		}
		size_t matching = 0;
		for (size_t i = first; want && i < end; i++)
			matching += v->nics[v->mac_ix[i].i].sub && !strcmp(v->nics[v->mac_ix[i].i].sub, want);
		for (size_t i = first; i < end; i++) {
			const nic_t *nic = &v->nics[v->mac_ix[i].i];
			if (matching && (!nic->sub || strcmp(nic->sub, want)))
				continue;
			cand_nic(v, &c, v->mac_ix[i].i, a);
			if (!c.vkey) {
				/* a NIC listed without its subnet: the target says where it is */
				cand ids;
				cand_ids(v, &ids, f->target, f->flowlog, a);
				if (ids.vkey && (!ids.f[INV_SUB] || !c.f[INV_SUB] || !strcmp(ids.f[INV_SUB], c.f[INV_SUB]))) {
					c.vkey = ids.vkey, c.vnet = ids.vnet;
					c.f[INV_VNET] = ids.f[INV_VNET], c.f[INV_SUBNET] = ids.f[INV_SUBNET];
				}
			}
			cset_add(&s, &c);
		}
		*known = s.n > 0;
	}
	if (!s.n) {
		cand_ids(v, &c, f->target, f->flowlog, a);
		if (c.f[INV_SUB] || c.vkey)
			cset_add(&s, &c);
	}
	cset_copy(out, &s);
	if (o) {
		o->k = adup(v, key, kn);
		o->kn = kn;
		cset_copy(&o->s, &s);
		o->mac_known = *known;
		v->ocache_n++;
	}
memo:
	if (kn) {
		if (kn > v->memo_cap)
			v->memo_k = fl_xrealloc(v->memo_k, v->memo_cap = kn);
		memcpy(v->memo_k, key, kn);
		v->memo_n = kn;
		cset_copy(&v->memo_s, out);
		v->memo_known = *known;
	}
}

static void remote(inv *v, int ov, const uint8_t a[16], cset *s)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325ULL, a, 16);
	h = hash_bytes(h, &ov, sizeof ov);
	rslot *slot = &v->rcache[h % RCACHE];
	if (slot->used && slot->scope == ov && !memcmp(slot->a, a, 16)) {
		cset_copy(s, &slot->s);
		return;
	}
	cand c;
	memset(s, 0, sizeof *s);
	/* 1. the observer's own VNet; 2. the VNets peered with it */
	if (ov >= 0 && pfx_best(&v->vnets[ov].sp, a) >= 0) {
		cand_vnet(v, &c, ov, a);
		cset_add(s, &c);
	}
	for (size_t i = 0; !s->n && ov >= 0 && i < v->vnets[ov].prn; i++) {
		int p = v->peers[v->vnets[ov].pr0 + i].b;
		if (pfx_best(&v->vnets[p].sp, a) >= 0) {
			cand_vnet(v, &c, p, a);
			cset_add(s, &c);
		}
	}
	/* 3. public IPs of the estate */
	if (!s->n) {
		size_t lo = 0, hi = v->n_pip_live;
		while (lo < hi) {
			size_t m = (lo + hi) / 2;
			if (memcmp(v->pips[v->pip_ix[m]].a, a, 16) < 0)
				lo = m + 1;
			else
				hi = m;
		}
		for (; lo < v->n_pip_live && !memcmp(v->pips[v->pip_ix[lo]].a, a, 16); lo++) {
			const pip_t *p = &v->pips[v->pip_ix[lo]];
			if (p->nic >= 0) {
				cand_nic(v, &c, p->nic, NULL);
			} else {
				memset(&c, 0, sizeof c);
				c.vnet = -1;
				c.f[INV_SUB] = p->sub;
				c.f[INV_TENANT] = sub_tenant(v, p->sub);
				c.f[INV_RG] = p->rg;
			}
			cset_add(s, &c);
		}
	}
	/* 4. on-premises ranges, longest prefix */
	if (!s->n) {
		int best = -1;
		for (size_t i = 0; i < v->n_ranges; i++)
			if (v->ranges[i].p.len > best && pfx_match(&v->ranges[i].p, a))
				best = v->ranges[i].p.len;
		for (size_t i = 0; best >= 0 && i < v->n_ranges; i++) {
			const range_t *r = &v->ranges[i];
			if (r->p.len != best || !pfx_match(&r->p, a))
				continue;
			memset(&c, 0, sizeof c);
			c.vnet = -1;
			c.f[INV_SITE] = r->label;
			c.kind = r->kind;
			cset_add(s, &c);
		}
	}
	/* 5. anywhere else: every VNet holding it is a candidate */
	int found = s->n > 0;
	for (size_t i = 0; !found && i < v->n_vnet_ix; i++) {
		int vn = v->vnet_ix[i].i;
		if (vn != ov && pfx_best(&v->vnets[vn].sp, a) >= 0) {
			cand_vnet(v, &c, vn, a);
			cset_add(s, &c);
		}
	}
	slot->used = 1;
	slot->scope = ov;
	memcpy(slot->a, a, 16);
	cset_copy(&slot->s, s);
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void merge_end(const cset *s, inv_end *e)
{
	unsigned m = s->n < MAXC ? s->n : MAXC;
	e->ncand = s->n;
	for (int f = 0; f < INV_NFIELDS; f++) {
		e->f[f] = m ? s->c[0].f[f] : NULL;
		for (unsigned j = 1; j < m; j++)
			if (!same(e->f[f], s->c[j].f[f]))
				e->f[f] = INV_AMBIGUOUS;
		if (s->n > MAXC)
			e->f[f] = INV_AMBIGUOUS;
	}
}

/* Flow type between the observer o (NULL: unknown) and the remote end r
 * (NULL: not in the inventory) at address ra. */
static const char *pair_type(const cand *o, const cand *r, const uint8_t *ra, int tagged)
{
	if (r && r->kind)
		return r->kind;
	if (r) {
		if (!o)
			return "Unknown";
		if (o->f[INV_TENANT] && r->f[INV_TENANT] && strcmp(o->f[INV_TENANT], r->f[INV_TENANT]))
			return "CrossTenant";
		if (o->f[INV_SUB] && r->f[INV_SUB] && strcmp(o->f[INV_SUB], r->f[INV_SUB]))
			return "CrossSubscription";
		if (o->vkey && r->vkey)
			return strcmp(o->vkey, r->vkey) ? "InterVNet" : "IntraVNet";
		return "Unknown";
	}
	switch (ip_classify(ra)) {
	case IP_CLASS_PUBLIC:
		return tagged ? "AzurePublic" : "ExternalPublic";
	case IP_CLASS_AZURE_PLATFORM:
		return "AzurePublic";
	case IP_CLASS_PRIVATE:
	case IP_CLASS_SHARED:
		return o ? "UnknownPrivate" : "Unknown";
	default:
		return "Unknown";
	}
}

void inv_resolve(inv *v, const inv_flow *f, inv_result *out)
{
	int in = f->dir == 'I';
	const uint8_t *oa = in ? f->dst : f->src, *ra = in ? f->src : f->dst;
	int tagged = in ? f->src_tagged : f->dst_tagged;
	cset os, rs;
	int known;
	observer(v, f, oa, &os, &known);
	int ov = os.n ? os.c[0].vnet : -1;
	for (unsigned i = 1; i < os.n && i < MAXC; i++)
		if (os.c[i].vnet != ov)
			ov = -1;
	if (os.n > MAXC)
		ov = -1;
	remote(v, ov, ra, &rs);
	merge_end(&os, in ? &out->dst : &out->src);
	merge_end(&rs, in ? &out->src : &out->dst);
	out->observer_known = known;
	out->remote_ambiguous = rs.n > 1;
	const char *t = NULL;
	unsigned no = os.n < MAXC ? os.n : MAXC, nr = rs.n < MAXC ? rs.n : MAXC;
	for (unsigned i = 0; i < (no ? no : 1); i++)
		for (unsigned j = 0; j < (nr ? nr : 1); j++) {
			const char *x = pair_type(no ? &os.c[i] : NULL, nr ? &rs.c[j] : NULL, ra, tagged);
			t = !t || !strcmp(t, x) ? x : INV_AMBIGUOUS;
		}
	if (os.n > MAXC || rs.n > MAXC)
		t = INV_AMBIGUOUS;
	out->flow_type = t;
}

/* ---- life cycle ------------------------------------------------------ */

inv *inv_new(void)
{
	inv *v = fl_xcalloc(1, sizeof *v);
	v->rcache = fl_xcalloc(RCACHE, sizeof *v->rcache);
	return v;
}

void inv_get_counts(const inv *v, inv_counts *c)
{
	memset(c, 0, sizeof *c);
	c->subs = v->n_sub_ix;
	for (size_t i = 0; i < v->n_vnets; i++)
		c->vnets += !v->vnets[i].dead && v->vnets[i].sp.n;
	for (size_t i = 0; i < v->n_subnets; i++)
		c->subnets += !v->subnets[i].dead && v->subnets[i].sp.n;
	c->nics = v->n_nic_ix;
	c->pips = v->n_pip_live;
	c->ranges = v->n_ranges;
	c->peerings = v->n_peers / 2;
	c->skipped = v->skipped;
}

void inv_free(inv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_vnets; i++)
		free(v->vnets[i].sp.p);
	for (size_t i = 0; i < v->n_subnets; i++)
		free(v->subnets[i].sp.p);
	free(v->subs), free(v->vnets), free(v->subnets), free(v->nics), free(v->nicips);
	free(v->pips), free(v->piplinks), free(v->peerings), free(v->ranges), free(v->peers);
	free(v->sub_ix), free(v->vnet_ix), free(v->subnet_ix), free(v->nic_ix), free(v->mac_ix);
	free(v->vnet_subnets), free(v->nicip_ix), free(v->pip_ix), free(v->pip_ix_k);
	free(v->rcache), free(v->ocache), free(v->memo_k);
	while (v->arena) {
		arena_blk *b = v->arena;
		v->arena = b->next;
		free(b);
	}
	free(v);
}
