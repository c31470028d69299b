/*
 * fl-gen - generates a realistic export of Azure flow logs (VNet flow logs
 * v4, optionally some NICs as NSG flow logs v2) in the blob layout a
 * responder downloads, plus the ground truth of every edge.
 *
 * Model: an estate of subscriptions, VNets (a hub with domain controllers
 * and monitoring, peered production spokes, isolated dev VNets that reuse
 * 10.0.0.0/16 in every subscription), subnets with NSGs and VMs with one
 * NIC each.  Connections are simulated from their true start; each end
 * that is a monitored NIC logs its own tuples (O at the initiator, I at the
 * responder, the responder's clock skewed), B/C/E with delta counters or
 * D retries.  A tuple lands in the record of its NIC that follows it (0 to
 * 65 s later), the record in the blob of the record's hour.
 *
 * Time is cut into slices (one hour; one minute with --single).  The
 * connections starting in a slice are simulated completely at once and
 * their tuples kept in per-slice buckets; a tuple is never earlier than its
 * connection's start, so when slice s is written no later connection can
 * add to it.  The same seed and parameters give the same bytes: one
 * xoshiro256** stream, no libm, no hash order.
 *
 * The truth (--truth) is accumulated from the model while tuples are
 * written, never by reading the JSON back.  Per edge (initiator, responder,
 * dport, proto), following fl-graph's documented rule: per 5-tuple and per
 * end (the initiator's NIC, the responder's NIC; NICs sharing an address in
 * overlapping address spaces add up), the connections with an allowed tuple
 * written and the C and E deltas written; flows and each counter are the
 * larger of the two ends' figures (one end's log may be cut by the export's
 * edges); denied = written D tuples (only the denying side logs them);
 * first/last_seen = min/max logged tuple time
 * (NSG observers log whole seconds); observers = distinct NICs with a
 * written tuple of the edge.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ip.h"

#include <jansson.h>

/* ---- random numbers: splitmix64 seeding xoshiro256** ------------------ */

static uint64_t rs[4];

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rnd(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

static double u01(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }
/* uniform in [lo, hi] */
static int64_t urange(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1)); }
static int chance(double p) { return u01() < p; }

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL + b;
	return splitmix64(&x);
}

/* ---- parameters ------------------------------------------------------- */

static struct {
	uint64_t seed;
	int64_t start;
	int hours, vms, subs;
	double rate, nsg_share;
	int64_t size;
	const char *out, *single, *truth;
	int force, long_paths, enc_mix, ipv6, have_rate;
	int64_t truth_since, truth_until; /* the truth of a window of tuple time [since, until) */
} P = { 1, 0, 3, 12, 2, 1.0, 0.0, 0, NULL, NULL, NULL, 0, 0, 0, 0, 0, INT64_MIN, INT64_MAX };

/* ---- addresses --------------------------------------------------------- */

typedef struct {
	uint8_t a[16];
	char s[IP_STRLEN];
	uint8_t len;
} addr_t;
static addr_t *addrs;
static uint32_t naddrs, capaddrs;

/* Interned: one id per distinct address (overlapping VNets share addresses,
 * and the truth is keyed by address, not by VM). */
static uint32_t *addr_tab;
static size_t addr_tabcap;

static size_t addr_hash(const uint8_t a[16])
{
	uint64_t x, y;
	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	return (size_t)mix(x, y);
}

static uint32_t addr_add(const uint8_t a[16])
{
	if ((naddrs + 1) * 2 > addr_tabcap) {
		size_t nc = addr_tabcap ? addr_tabcap * 2 : 4096;
		free(addr_tab);
		addr_tab = fl_xmalloc(nc * sizeof *addr_tab);
		memset(addr_tab, 0xff, nc * sizeof *addr_tab);
		addr_tabcap = nc;
		for (uint32_t i = 0; i < naddrs; i++) {
			size_t h = addr_hash(addrs[i].a) & (nc - 1);
			while (addr_tab[h] != UINT32_MAX)
				h = (h + 1) & (nc - 1);
			addr_tab[h] = i;
		}
	}
	size_t h = addr_hash(a) & (addr_tabcap - 1);
	while (addr_tab[h] != UINT32_MAX) {
		if (memcmp(addrs[addr_tab[h]].a, a, 16) == 0)
			return addr_tab[h];
		h = (h + 1) & (addr_tabcap - 1);
	}
	addr_tab[h] = naddrs;
	if (naddrs == capaddrs) {
		capaddrs = capaddrs ? capaddrs * 2 : 1024;
		addrs = fl_xrealloc(addrs, capaddrs * sizeof *addrs);
	}
	addr_t *x = &addrs[naddrs];
	memcpy(x->a, a, 16);
	x->len = (uint8_t)ip_format(a, x->s);
	return naddrs++;
}

static uint32_t addr4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	uint8_t x[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	x[12] = (uint8_t)a, x[13] = (uint8_t)b, x[14] = (uint8_t)c, x[15] = (uint8_t)d;
	return addr_add(x);
}

static uint32_t addr6(const uint16_t g[8])
{
	uint8_t x[16];
	for (int i = 0; i < 8; i++)
		x[2 * i] = (uint8_t)(g[i] >> 8), x[2 * i + 1] = (uint8_t)g[i];
	return addr_add(x);
}

/* A public unicast IPv4 address outside private, shared, reserved,
 * documentation and multicast space. */
static uint32_t addr_public4(void)
{
	for (;;) {
		uint32_t v = (uint32_t)rnd();
		unsigned a = v >> 24, b = (v >> 16) & 255, c = (v >> 8) & 255, d = v & 255;
		if (a == 0 || a == 10 || a == 127 || a >= 224 || (a == 100 && b >= 64 && b < 128) ||
		    (a == 169 && b == 254) || (a == 172 && b >= 16 && b < 32) || (a == 192 && b == 168) ||
		    (a == 192 && b == 0) || (a == 198 && (b == 18 || b == 19 || b == 51)) ||
		    (a == 203 && b == 0 && c == 113) || d == 0 || d == 255)
			continue;
		return addr4(a, b, c, d);
	}
}

static uint32_t addr_public6(void)
{
	static const uint16_t pfx[] = { 0x2a02, 0x2a01, 0x2001, 0x2600, 0x2a00, 0x2804, 0x2405 };
	uint16_t g[8] = { 0 };
	g[0] = pfx[rnd() % 7];
	g[1] = (uint16_t)rnd();
	if (g[0] == 0x2001 && g[1] == 0x0db8)
		g[1] = 0x0db9;
	g[2] = (uint16_t)rnd();
	g[3] = (uint16_t)(rnd() & 0xff00);
	if (chance(0.5))
		g[7] = (uint16_t)rnd();
	else
		g[4] = (uint16_t)rnd(), g[5] = (uint16_t)rnd(), g[6] = (uint16_t)rnd(), g[7] = (uint16_t)rnd();
	return addr6(g);
}

/* ---- string dictionaries (aclIDs, rule names) ------------------------- */

typedef struct {
	char **s;
	int n, cap;
} dict_t;
static dict_t acls, rules;

static int dict_id(dict_t *d, const char *s)
{
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->s[i], s) == 0)
			return i;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->s = fl_xrealloc(d->s, (size_t)d->cap * sizeof *d->s);
	}
	d->s[d->n] = fl_xstrdup(s);
	return d->n++;
}

static void dict_free(dict_t *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->s[i]);
	free(d->s);
	memset(d, 0, sizeof *d);
}

/* ---- the estate --------------------------------------------------------- */

enum role { R_DC, R_MON, R_WEB, R_API, R_DB, R_CACHE, R_QUEUE, R_DEV };

typedef struct {
	char guid[37], up[37];
	const char *region;
} sub_t;

typedef struct {
	int sub, isolated, encrypted, dual;
	char name[48], rg[48];
	char target[256];          /* targetResourceID, original case */
	char flowlog_id[320];      /* flowLogResourceID, upper case */
	char flowlog_dir[400];     /* the blob folder down to the flow log */
	char flowlog_guid[37];
	uint16_t v6[3];
	unsigned o2;               /* second octet of 10.o2.0.0/16 */
} vnet_t;

typedef struct {
	int vnet, acl;
	unsigned o3;
	char nsg[96], nsg_guid[37];
	char nsg_id[320];          /* upper case, NSG flow log resourceId */
	char nsg_dir[400];
} subnet_t;

typedef struct {
	int subnet, role, app, windows, nsglog, monitored;
	uint32_t a4;
	int32_t a6;                /* -1: none */
	char mac[13];
	int64_t phase, clk;        /* record phase in the minute; clock offset ms */
	char *hdr;                 /* record text after the time value */
	size_t hdrlen;
} vm_t;

#define TIER_MAX 8
typedef struct {
	int sub;
	int web[TIER_MAX], api[TIER_MAX], nweb, napi, db, cache, queue;
} app_t;

static sub_t *subs;
static vnet_t *vnets;
static int nvnets;
static subnet_t *subnets;
static int nsubnets;
static vm_t *vms;
static int nvms;
static app_t *apps;
static int napps;
static int dcs[2], mon = -1;

/* public address pools */
static uint32_t *clients4, *clients6, *scanners, *storage, *updates;
static int nclients4, nclients6, nscanners, nstorage, nupdates;
static uint32_t a_admin, a_azdns, a_platform[3], a_timesrv;

/* rule ids */
static int r_https_in, r_deny_in, r_vnet_out, r_vnet_in, r_inet_out, r_web_api, r_api_db, r_domain,
    r_partner, r_ssh, r_platform, a_zero;

static const char *const regions[] = { "westeurope", "northeurope", "eastus", "eastus2",
	                               "canadaeast", "uksouth", "westus2", "southeastasia" };

static void guid(char *out)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t a = rnd(), b = rnd();
	int k = 0;
	for (int i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[k++] = '-';
		uint64_t v = i < 16 ? a >> (4 * i) : b >> (4 * (i - 16));
		out[k++] = hx[v & 15];
	}
	out[14] = '4';
	out[k] = 0;
}

static void upcase(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; src[i] && i + 1 < n; i++)
		dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (char)(src[i] - 32) : src[i];
	dst[i] = 0;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = fl_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static int add_vnet(int sub, const char *kind, unsigned o2, int isolated)
{
	vnet_t *v = &vnets[nvnets];
	memset(v, 0, sizeof *v);
	v->sub = sub;
	v->isolated = isolated;
	v->o2 = o2;
	const char *reg = subs[sub].region;
	snprintf(v->name, sizeof v->name, "vnet-%s-%s-%02d", kind, reg, nvnets + 1);
	snprintf(v->rg, sizeof v->rg, "rg-%s-network-%02d", kind, sub + 1);
	snprintf(v->target, sizeof v->target,
	         "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s",
	         subs[sub].guid, v->rg, v->name);
	char name[128], up[128], reg_up[32];
	snprintf(name, sizeof name, "%s-%s-flowlog", v->name, v->rg);
	upcase(up, name, sizeof up);
	upcase(reg_up, reg, sizeof reg_up);
	snprintf(v->flowlog_id, sizeof v->flowlog_id,
	         "/SUBSCRIPTIONS/%s/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/"
	         "NETWORKWATCHERS/NETWORKWATCHER_%s/FLOWLOGS/%s", subs[sub].up, reg_up, up);
	if (P.long_paths)
		snprintf(v->flowlog_dir, sizeof v->flowlog_dir, "insights-logs-flowlogflowevent/flowLogResourceID=%s",
		         v->flowlog_id);
	else
		snprintf(v->flowlog_dir, sizeof v->flowlog_dir,
		         "insights-logs-flowlogflowevent/flowLogResourceID=/%s_NETWORKWATCHERRG/NETWORKWATCHER_%s_%s",
		         subs[sub].up, reg_up, up);
	guid(v->flowlog_guid);
	v->dual = P.ipv6 && !isolated && chance(0.7);
	v->v6[0] = (uint16_t)(0xfd00 | (rnd() & 0xff));
	v->v6[1] = (uint16_t)rnd();
	v->v6[2] = (uint16_t)rnd();
	v->encrypted = P.enc_mix && !isolated && chance(0.6);
	return nvnets++;
}

static int add_subnet(int vnet, const char *name, unsigned o3)
{
	subnet_t *s = &subnets[nsubnets];
	vnet_t *v = &vnets[vnet];
	memset(s, 0, sizeof *s);
	s->vnet = vnet;
	s->o3 = o3;
	snprintf(s->nsg, sizeof s->nsg, "%s-%s-nsg", v->name, name);
	guid(s->nsg_guid);
	char id[320];
	snprintf(id, sizeof id, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkSecurityGroups/%s",
	         subs[v->sub].guid, v->rg, s->nsg);
	s->acl = dict_id(&acls, id);
	upcase(s->nsg_id, id, sizeof s->nsg_id);
	snprintf(s->nsg_dir, sizeof s->nsg_dir, "insights-logs-networksecuritygroupflowevent/resourceId=%s", s->nsg_id);
	return nsubnets++;
}

static int add_vm(int subnet, int role, int app)
{
	static const char *const oui[] = { "000D3A", "000D3A", "000D3A", "002248", "6045BD", "7C1E52" };
	vm_t *m = &vms[nvms];
	subnet_t *s = &subnets[subnet];
	vnet_t *v = &vnets[s->vnet];
	memset(m, 0, sizeof *m);
	m->subnet = subnet;
	m->role = role;
	m->app = app;
	m->windows = role == R_DC ? 1 : chance(role == R_DB ? 0.5 : 0.2);
	int host = 4;
	for (int i = 0; i < nvms; i++)
		if (vms[i].subnet == subnet)
			host++;
	m->a4 = addr4(10, v->o2, s->o3, (unsigned)host);
	m->a6 = -1;
	if (v->dual) {
		uint16_t g[8] = { v->v6[0], v->v6[1], v->v6[2], (uint16_t)s->o3, 0, 0, 0, (uint16_t)host };
		m->a6 = (int32_t)addr6(g);
	}
	for (;;) {
		snprintf(m->mac, sizeof m->mac, "%s%06llX", oui[rnd() % 6], (unsigned long long)(rnd() & 0xffffff));
		int dup = 0;
		for (int i = 0; i < nvms; i++)
			dup |= strcmp(vms[i].mac, m->mac) == 0;
		if (!dup)
			break;
	}
	m->nsglog = P.nsg_share > 0 && chance(P.nsg_share);
	m->monitored = 1;
	m->phase = urange(0, 59999);
	m->clk = urange(0, 1999);
	if (m->nsglog)
		m->hdr = xasprintf("\",\"systemId\":\"%s\",\"macAddress\":\"%s\",\"category\":\"NetworkSecurityGroupFlowEvent\","
		                   "\"resourceId\":\"%s\",\"operationName\":\"NetworkSecurityGroupFlowEvents\","
		                   "\"properties\":{\"Version\":2,\"flows\":[",
		                   s->nsg_guid, m->mac, s->nsg_id);
	else
		m->hdr = xasprintf("\",\"flowLogGUID\":\"%s\",\"macAddress\":\"%s\",\"category\":\"FlowLogFlowEvent\","
		                   "\"flowLogResourceID\":\"%s\",\"targetResourceID\":\"%s\",\"flowLogVersion\":4,"
		                   "\"operationName\":\"FlowLogFlowEvent\",\"flowRecords\":{\"flows\":[",
		                   v->flowlog_guid, m->mac, v->flowlog_id, v->target);
	m->hdrlen = strlen(m->hdr);
	return nvms++;
}

static void build_estate(void)
{
	int nv = P.vms, ns = P.subs;
	subs = fl_xcalloc((size_t)ns, sizeof *subs);
	vnets = fl_xcalloc((size_t)ns * 2 + 1, sizeof *vnets);
	subnets = fl_xcalloc((size_t)ns * 2 * 3 + 3, sizeof *subnets);
	vms = fl_xcalloc((size_t)nv, sizeof *vms);
	apps = fl_xcalloc((size_t)nv, sizeof *apps);
	for (int s = 0; s < ns; s++) {
		guid(subs[s].guid);
		upcase(subs[s].up, subs[s].guid, sizeof subs[s].up);
		subs[s].region = regions[(s * 3 + (int)(rnd() % 2)) % 8];
	}
	a_zero = dict_id(&acls, "00000000-0000-0000-0000-000000000000");
	r_https_in = dict_id(&rules, "UserRule_AllowHttpsInbound");
	r_deny_in = dict_id(&rules, "DefaultRule_DenyAllInBound");
	r_vnet_out = dict_id(&rules, "DefaultRule_AllowVnetOutBound");
	r_vnet_in = dict_id(&rules, "DefaultRule_AllowVnetInBound");
	r_inet_out = dict_id(&rules, "DefaultRule_AllowInternetOutBound");
	r_web_api = dict_id(&rules, "UserRule_AllowWebToApi");
	r_api_db = dict_id(&rules, "UserRule_AllowApiToData");
	r_domain = dict_id(&rules, "UserRule_AllowDomainServices");
	r_partner = dict_id(&rules, "UserRule_AllowPartnerApi");
	r_ssh = dict_id(&rules, "UserRule_AllowSshFromAdmin");
	r_platform = dict_id(&rules, "PlatformRule");

	/* hub: two domain controllers (DNS, Kerberos, LDAP, SMB, NTP) and monitoring */
	int hub = add_vnet(0, "hub", 255, 0);
	int sn_id = add_subnet(hub, "identity", 1), sn_mgmt = add_subnet(hub, "mgmt", 2);
	dcs[0] = add_vm(sn_id, R_DC, -1);
	dcs[1] = add_vm(sn_id, R_DC, -1);
	mon = add_vm(sn_mgmt, R_MON, -1);

	int left = nv - 3;
	int ndev = left >= 4 * ns ? ns : 0;
	if (left >= 40 * ns)
		ndev = left / 20;
	int sn_web[64], sn_app[64], sn_data[64], sn_dev[64];
	for (int s = 0; s < ns; s++) {
		int pv = add_vnet(s, "prod", (unsigned)(16 + s), 0);
		sn_web[s] = add_subnet(pv, "web", 1);
		sn_app[s] = add_subnet(pv, "app", 2);
		sn_data[s] = add_subnet(pv, "data", 3);
		sn_dev[s] = -1;
		if (ndev) {
			int dv = add_vnet(s, "dev", 0, 1); /* 10.0.0.0/16 in every subscription */
			sn_dev[s] = add_subnet(dv, "default", 1);
		}
	}
	for (int i = 0; i < ndev; i++)
		add_vm(sn_dev[i % ns], R_DEV, -1);
	left -= ndev;
	int na = left / 7 + (left % 7 ? 1 : 0);
	if (na < ns)
		na = ns < left ? ns : left;
	static const int pattern[] = { R_WEB, R_API, R_DB, R_CACHE, R_WEB, R_API, R_QUEUE };
	for (int a = 0; a < na; a++) {
		app_t *ap = &apps[napps++];
		ap->sub = a % ns;
		ap->db = ap->cache = ap->queue = -1;
		int size = left / na + (a < left % na ? 1 : 0);
		for (int k = 0; k < size; k++) {
			int role = k < 7 ? pattern[k] : (k % 2 ? R_API : R_WEB);
			if ((role == R_WEB && ap->nweb == TIER_MAX) || (role == R_API && ap->napi == TIER_MAX))
				role = R_CACHE;
			int sn = role == R_WEB ? sn_web[ap->sub] : role == R_API ? sn_app[ap->sub] : sn_data[ap->sub];
			int v = add_vm(sn, role, a);
			if (role == R_WEB)
				ap->web[ap->nweb++] = v;
			else if (role == R_API)
				ap->api[ap->napi++] = v;
			else if (role == R_DB)
				ap->db = v;
			else if (role == R_CACHE)
				ap->cache = v;
			else
				ap->queue = v;
		}
	}

	nclients4 = 20000, nclients6 = P.ipv6 ? 3000 : 0, nscanners = 3000, nstorage = 24, nupdates = 4;
	clients4 = fl_xmalloc(sizeof *clients4 * (size_t)nclients4);
	clients6 = fl_xmalloc(sizeof *clients6 * (size_t)(nclients6 + 1));
	scanners = fl_xmalloc(sizeof *scanners * (size_t)nscanners);
	storage = fl_xmalloc(sizeof *storage * (size_t)nstorage);
	updates = fl_xmalloc(sizeof *updates * (size_t)nupdates);
	for (int i = 0; i < nclients4; i++)
		clients4[i] = addr_public4();
	for (int i = 0; i < nclients6; i++)
		clients6[i] = addr_public6();
	for (int i = 0; i < nscanners; i++)
		scanners[i] = addr_public4();
	static const unsigned stp[][2] = { { 20, 150 }, { 20, 38 }, { 52, 239 }, { 20, 60 } };
	for (int i = 0; i < nstorage; i++)
		storage[i] = addr4(stp[i % 4][0], stp[i % 4][1], (unsigned)urange(0, 255), (unsigned)urange(1, 254));
	updates[0] = addr4(91, 189, 91, 81);
	updates[1] = addr4(91, 189, 91, 83);
	updates[2] = addr4(185, 125, 190, 36);
	updates[3] = addr4(185, 125, 190, 39);
	a_admin = addr_public4();
	a_azdns = addr4(168, 63, 129, 16);
	a_platform[0] = addr4(40, 87, 164, 0);
	a_platform[1] = addr4(40, 87, 172, 0);
	a_platform[2] = addr4(40, 80, 44, 0);
	a_timesrv = addr4(51, 145, 123, 29);
}

static void free_estate(void)
{
	for (int i = 0; i < nvms; i++)
		free(vms[i].hdr);
	free(subs), free(vnets), free(subnets), free(vms), free(apps);
	free(clients4), free(clients6), free(scanners), free(storage), free(updates), free(addrs), free(addr_tab);
	addrs = NULL;
	addr_tab = NULL;
	naddrs = capaddrs = 0;
	addr_tabcap = 0;
	nvnets = nsubnets = nvms = napps = 0;
	dict_free(&acls);
	dict_free(&rules);
}

/* ---- tuples (events) and their buckets ---------------------------------- */

enum { S_B, S_C, S_E, S_D };
static const char state_ch[] = "BCED";
static const char *const enc_name[] = { "NX", "X", "NX_LOCAL_DST", "NX_FALLBACK", "NX_SW_NOT_READY",
	                                "NX_HW_NOT_SUPPORTED", "NX_PENDING_KEYS" };

typedef struct {
	uint64_t key;      /* vm:16 | record:24 | acl:12 | rule:12 */
	int64_t t;         /* logged tuple time, ms */
	uint32_t seq, conn, src, dst;
	uint32_t pk[2], by[2];
	uint16_t sport, dport;
	uint8_t proto, dir, state, enc, primary;
} ev_t;

typedef struct {
	ev_t *v;
	size_t n, cap;
} evvec_t;
static evvec_t *buckets;
static int nslices;
static int64_t slice_ms, t_start, t_end;
static uint32_t ev_seq, nconn;

static void ev_push(const ev_t *e, int vm)
{
	const vm_t *m = &vms[vm];
	int64_t rel = e->t - t_start;
	/* the record that follows the tuple: k*60s + phase (+ up to 5 s of jitter) */
	int64_t k = rel - m->phase <= 0 ? -((m->phase - rel) / 60000) : (rel - m->phase + 59999) / 60000;
	int64_t rt = k * 60000 + m->phase + (int64_t)(mix((uint64_t)vm, (uint64_t)k) % 5000);
	if (k < 0 || rt < 0 || t_start + rt >= t_end)
		return;
	int b = (int)(rt / slice_ms);
	evvec_t *vec = &buckets[b];
	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 4096;
		vec->v = fl_xrealloc(vec->v, vec->cap * sizeof *vec->v);
	}
	ev_t *x = &vec->v[vec->n++];
	*x = *e;
	x->seq = ev_seq++;
	x->key |= (uint64_t)vm << 48 | (uint64_t)k << 24;
}

/* ---- connections ---------------------------------------------------------- */

typedef struct {
	int64_t t0, dur;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto, enc;
	int vi, vr;               /* VM at each end, -1 if outside the estate */
	int acl_i, rule_i, acl_r, rule_r;
	int denied, tries;        /* denied: only the responder logs D tuples */
	double pk_sd, pk_ds, sz_sd, sz_ds; /* expected packets over the flow, bytes per packet */
} conn_t;

static int observes(int vm, int acl)
{
	return vm >= 0 && vms[vm].monitored && !(vms[vm].nsglog && acl == a_zero);
}

static void conn_emit(const conn_t *c)
{
	int oi = !c->denied && observes(c->vi, c->acl_i);
	int or_ = observes(c->vr, c->acl_r);
	if (!oi && !or_)
		return;
	uint32_t id = nconn++;
	ev_t e;
	memset(&e, 0, sizeof e);
	e.conn = id;
	e.src = c->src, e.dst = c->dst, e.sport = c->sport, e.dport = c->dport;
	e.proto = c->proto, e.enc = c->enc;
	int64_t lat = urange(1, 40);
	int64_t off_i = oi ? vms[c->vi].clk : 0, off_r = or_ ? vms[c->vr].clk + lat : 0;

#define LOG_BOTH(T)                                                                               \
	do {                                                                                      \
		if (oi) {                                                                         \
			e.t = (T) + off_i, e.dir = 'O', e.primary = 1;                            \
			e.key = (uint64_t)c->acl_i << 12 | (uint64_t)c->rule_i;                   \
			ev_push(&e, c->vi);                                                       \
		}                                                                                 \
		if (or_) {                                                                        \
			e.t = (T) + off_r, e.dir = 'I', e.primary = !oi;                          \
			e.key = (uint64_t)c->acl_r << 12 | (uint64_t)c->rule_r;                   \
			ev_push(&e, c->vr);                                                       \
		}                                                                                 \
	} while (0)

	if (c->denied) {
		static const int64_t backoff[] = { 0, 1000, 3000, 7000 };
		e.state = S_D;
		for (int i = 0; i < c->tries && i < 4; i++)
			LOG_BOTH(c->t0 + backoff[i] + (i ? urange(0, 30) : 0));
		return;
	}
	e.state = S_B;
	LOG_BOTH(c->t0);
	int64_t prev = c->t0, end = c->t0 + c->dur;
	for (int64_t t = c->t0 + 300000;; t += 300000) {
		int last = t >= end;
		int64_t tt = last ? end : t + urange(0, 800);
		if (tt >= end)
			last = 1, tt = end;
		double f = (double)(tt - prev) / (double)(c->dur > 0 ? c->dur : 1);
		double n1 = c->pk_sd * f * (0.6 + 0.8 * u01()), n2 = c->pk_ds * f * (0.6 + 0.8 * u01());
		e.pk[0] = (uint32_t)(n1 < 1e8 ? n1 : 1e8) + 1; /* 32-bit deltas even at absurd rates */
		e.pk[1] = (uint32_t)(n2 < 1e8 ? n2 : 1e8) + 1;
		double b1 = (double)e.pk[0] * c->sz_sd * (0.9 + 0.2 * u01());
		double b2 = (double)e.pk[1] * c->sz_ds * (0.9 + 0.2 * u01());
		e.by[0] = (uint32_t)(b1 < 4e9 ? b1 : 4e9) + (c->proto == 6 ? 40 : 28);
		e.by[1] = (uint32_t)(b2 < 4e9 ? b2 : 4e9) + (c->proto == 6 ? 40 : 28);
		e.state = last ? S_E : S_C;
		LOG_BOTH(tt);
		prev = tt;
		if (last)
			break;
	}
#undef LOG_BOTH
}

static uint16_t eph(int vm)
{
	if (vm >= 0 && vms[vm].windows)
		return (uint16_t)urange(49152, 65535);
	return (uint16_t)urange(32768, 60999);
}

static uint8_t enc_for(int a, int b)
{
	if (!P.enc_mix || a < 0 || b < 0)
		return 0;
	int va = subnets[vms[a].subnet].vnet, vb = subnets[vms[b].subnet].vnet;
	if (!vnets[va].encrypted || !vnets[vb].encrypted) {
		return chance(0.02) ? 3 : 0;
	}
	double u = u01();
	if (u < 0.80)
		return 1;
	if (u < 0.90)
		return 2;
	if (u < 0.95)
		return 3;
	if (u < 0.98)
		return 4;
	if (u < 0.99)
		return 5;
	return 6; /* a value Microsoft does not document */
}

static int acl_of(int vm) { return subnets[vms[vm].subnet].acl; }

/* A connection between two VMs of the estate (IPv6 when both have it and v6 is set). */
static void vm_conn(int64_t t0, int64_t dur, int a, int b, uint16_t dport, uint8_t proto, int rule_r, int v6,
                    double pk_sd, double sz_sd, double pk_ds, double sz_ds)
{
	if (!vms[a].monitored && !vms[b].monitored)
		return;
	conn_t c = { 0 };
	c.t0 = t0, c.dur = dur;
	int six = v6 && vms[a].a6 >= 0 && vms[b].a6 >= 0;
	c.src = six ? (uint32_t)vms[a].a6 : vms[a].a4;
	c.dst = six ? (uint32_t)vms[b].a6 : vms[b].a4;
	c.sport = eph(a), c.dport = dport, c.proto = proto;
	c.vi = a, c.vr = b;
	c.acl_i = acl_of(a), c.rule_i = r_vnet_out;
	c.acl_r = acl_of(b), c.rule_r = rule_r;
	c.enc = enc_for(a, b);
	c.pk_sd = pk_sd, c.sz_sd = sz_sd, c.pk_ds = pk_ds, c.sz_ds = sz_ds;
	conn_emit(&c);
}

/* From the estate to the internet (allowed by DefaultRule_AllowInternetOutBound). */
static void out_conn(int64_t t0, int64_t dur, int a, uint32_t dst, uint16_t dport, uint8_t proto, int rule,
                     double pk_sd, double sz_sd, double pk_ds, double sz_ds)
{
	if (!vms[a].monitored)
		return;
	conn_t c = { 0 };
	c.t0 = t0, c.dur = dur;
	c.src = vms[a].a4, c.dst = dst, c.sport = eph(a), c.dport = dport, c.proto = proto;
	c.vi = a, c.vr = -1;
	c.acl_i = acl_of(a), c.rule_i = rule;
	c.pk_sd = pk_sd, c.sz_sd = sz_sd, c.pk_ds = pk_ds, c.sz_ds = sz_ds;
	conn_emit(&c);
}

/* From outside to a VM: allowed (rule) or denied (tries D tuples). */
static conn_t in_conn(int64_t t0, int64_t dur, uint32_t src, uint16_t sport, int b, int to6, uint16_t dport,
                      uint8_t proto, int acl, int rule)
{
	conn_t c = { 0 };
	c.t0 = t0, c.dur = dur;
	c.src = src, c.dst = to6 ? (uint32_t)vms[b].a6 : vms[b].a4;
	c.sport = sport, c.dport = dport, c.proto = proto;
	c.vi = -1, c.vr = b;
	c.acl_r = acl, c.rule_r = rule;
	return c;
}

/* Number of arrivals of a process with `per_min` events per minute in [s0, s1). */
static int64_t arrivals(double per_min, int64_t s0, int64_t s1)
{
	double x = per_min * (double)(s1 - s0) / 60000.0;
	int64_t n = (int64_t)x;
	return n + chance(x - (double)n);
}

static int64_t at(int64_t s0, int64_t s1) { return urange(s0, s1 - 1); }

/* ---- long-lived connections (pools) ------------------------------------- */

typedef struct {
	int a, b, rule, v6;
	uint16_t dport;
	int64_t next;
	int minlife, maxlife; /* minutes */
	double ppm_sd, sz_sd, ppm_ds, sz_ds; /* packets per minute each way */
} pool_t;
static pool_t *pools;
static int npools, cappools;

static void add_pool(int a, int b, uint16_t dport, int rule, int minlife, int maxlife, double ppm_sd, double sz_sd,
                     double ppm_ds, double sz_ds)
{
	if (a < 0 || b < 0)
		return;
	if (npools == cappools) {
		cappools = cappools ? cappools * 2 : 64;
		pools = fl_xrealloc(pools, (size_t)cappools * sizeof *pools);
	}
	pool_t *p = &pools[npools++];
	p->a = a, p->b = b, p->dport = dport, p->rule = rule;
	p->minlife = minlife, p->maxlife = maxlife;
	p->ppm_sd = ppm_sd, p->sz_sd = sz_sd, p->ppm_ds = ppm_ds, p->sz_ds = sz_ds;
	p->v6 = chance(0.3);
	/* already open when the export starts */
	p->next = t_start - urange(0, (int64_t)maxlife * 60000);
}

static void build_pools(void)
{
	npools = 0;
	int conns = 2 + (int)(P.rate > 4 ? 4 : P.rate);
	for (int i = 0; i < napps; i++) {
		app_t *ap = &apps[i];
		for (int k = 0; k < ap->napi; k++) {
			for (int j = 0; j < conns; j++)
				add_pool(ap->api[k], ap->db, vms[ap->db < 0 ? 0 : ap->db].windows ? 1433 : 5432, r_api_db,
				         20, 240, 30 * P.rate, 300, 40 * P.rate, 700);
			add_pool(ap->api[k], ap->cache, 6379, r_vnet_in, 30, 300, 50 * P.rate, 120, 50 * P.rate, 400);
			add_pool(ap->api[k], ap->queue, 5672, r_vnet_in, 60, 600, 6, 200, 6, 150);
		}
	}
	for (int v = 0; v < nvms; v++)
		if (v != mon && !vnets[subnets[vms[v].subnet].vnet].isolated)
			add_pool(mon, v, 9100, r_vnet_in, 60, 360, 4, 90, 6, 1300);
	if (nvms > 1)
		add_pool(dcs[0], dcs[1], 135, r_domain, 30, 120, 3, 200, 3, 220);
}

static void run_pools(int64_t s1)
{
	for (int i = 0; i < npools; i++) {
		pool_t *p = &pools[i];
		while (p->next < s1) {
			int64_t life = urange((int64_t)p->minlife * 60000, (int64_t)p->maxlife * 60000);
			double mins = (double)life / 60000.0;
			vm_conn(p->next, life, p->a, p->b, p->dport, 6, p->rule, p->v6, p->ppm_sd * mins, p->sz_sd,
			        p->ppm_ds * mins, p->sz_ds);
			p->next += life + urange(50, 5000);
		}
	}
}

/* ---- the traffic of one slice --------------------------------------------- */

static uint32_t pick_client(void)
{
	double u = u01();
	return clients4[(int)(u * u * u * nclients4)]; /* a few heavy clients, a long tail */
}

static void gen_vm(int v, int64_t s0, int64_t s1)
{
	vm_t *m = &vms[v];
	int vn = subnets[m->subnet].vnet;
	int isolated = vnets[vn].isolated;
	double R = P.rate;
	int64_t n;

	if (m->monitored) {
		/* name resolution: hub DCs, or Azure DNS in isolated VNets */
		n = arrivals(0.8, s0, s1);
		for (int64_t i = 0; i < n; i++) {
			int64_t t = at(s0, s1), dur = urange(200, 30000);
			if (m->role == R_DC)
				out_conn(t, dur, v, a_azdns, 53, 17, r_inet_out, 1, 60, 1, 150);
			else if (isolated)
				out_conn(t, dur, v, a_azdns, 53, 17, r_vnet_out, 1, 60, 1, 150);
			else
				vm_conn(t, dur, v, dcs[rnd() % 2], 53, 17, r_domain, 0, 1, 60, 1, 150);
		}
		/* Kerberos, LDAP, SMB (group policy), LDAPS; NTP */
		if (!isolated && m->role != R_DC) {
			static const uint16_t ports[] = { 88, 389, 445, 636, 389 };
			n = arrivals(m->windows ? 0.3 : 0.1, s0, s1);
			for (int64_t i = 0; i < n; i++) {
				int k = (int)(rnd() % 5);
				vm_conn(at(s0, s1), urange(50, 20000), v, dcs[rnd() % 2], ports[k], k == 4 ? 17 : 6, r_domain,
				        0, 8, 180, 8, 700);
			}
			n = arrivals(1.0 / 17, s0, s1);
			for (int64_t i = 0; i < n; i++)
				vm_conn(at(s0, s1), urange(100, 2000), v, dcs[rnd() % 2], 123, 17, r_domain, 0, 0, 76, 0, 76);
		}
		/* Azure platform probes (VNet flow logs only) */
		n = arrivals(2.0 / 60, s0, s1);
		for (int64_t i = 0; i < n; i++) {
			conn_t c = in_conn(at(s0, s1), urange(4000, 8000), a_platform[rnd() % 3], 23456, v, 0,
			                   (uint16_t)urange(20000, 30000), 6, a_zero, r_platform);
			c.pk_sd = 0, c.sz_sd = 88, c.pk_ds = 0, c.sz_ds = 14;
			conn_emit(&c);
		}
	}

	switch (m->role) {
	case R_WEB:
		if (m->monitored) {
			/* the public web tier: clients on 443 */
			n = arrivals(4 * R, s0, s1);
			for (int64_t i = 0; i < n; i++) {
				int six = m->a6 >= 0 && chance(0.2);
				uint32_t cl = six ? clients6[rnd() % (uint64_t)nclients6] : pick_client();
				int64_t t = at(s0, s1), dur = urange(200, 90000);
				conn_t c = in_conn(t, dur, cl, (uint16_t)urange(1024, 65535), v, six, 443, 6, acl_of(v),
				                   r_https_in);
				c.pk_sd = (double)urange(6, 40), c.sz_sd = (double)urange(90, 500);
				c.pk_ds = (double)urange(8, 600), c.sz_ds = (double)urange(900, 1400);
				conn_emit(&c);
				if (chance(0.03)) { /* the client reuses its source port: the same 5-tuple again */
					c.t0 = t + dur + urange(10, 3000);
					c.dur = urange(200, 20000);
					conn_emit(&c);
				}
			}
		}
		/* web servers are scanned too */
		goto scanned;
	case R_DEV:
	scanned:
		if (m->monitored) {
			static const uint16_t sp[] = { 22, 23, 80, 443, 445, 1433, 3306, 3389, 5900, 6379, 8080, 8443, 9200 };
			n = arrivals(2 + R, s0, s1);
			for (int64_t i = 0; i < n; i++) {
				uint16_t port = chance(0.6) ? sp[rnd() % 13] : (uint16_t)urange(1, 65535);
				if ((m->role == R_WEB && port == 443) || (m->role == R_DEV && port == 22))
					port = 3389;
				conn_t c = in_conn(at(s0, s1), 0, scanners[(int)(u01() * u01() * nscanners)],
				                   (uint16_t)urange(1024, 65535), v, 0, port, chance(0.1) ? 17 : 6, acl_of(v),
				                   r_deny_in);
				c.denied = 1;
				c.tries = c.proto == 6 ? (int)urange(1, 3) : 1;
				conn_emit(&c);
			}
		}
		if (m->role == R_DEV && m->monitored) {
			n = arrivals(1.0 / 30, s0, s1);
			for (int64_t i = 0; i < n; i++)
				out_conn(at(s0, s1), urange(2000, 120000), v, updates[rnd() % (uint64_t)nupdates],
				         chance(0.5) ? 80 : 443, 6, r_inet_out, 400, 80, 3000, 1400);
			n = arrivals(1.0 / 150, s0, s1);
			for (int64_t i = 0; i < n; i++) {
				conn_t c = in_conn(at(s0, s1), urange(300000, 3600000), a_admin, (uint16_t)urange(49152, 65535),
				                   v, 0, 22, 6, acl_of(v), r_ssh);
				c.pk_sd = (double)urange(500, 5000), c.sz_sd = 90, c.pk_ds = (double)urange(500, 8000),
				c.sz_ds = 160;
				conn_emit(&c);
			}
		}
		if (m->role == R_WEB) {
			app_t *ap = &apps[m->app];
			n = arrivals(2 * R, s0, s1);
			for (int64_t i = 0; i < n && ap->napi; i++)
				vm_conn(at(s0, s1), urange(20, 5000), v, ap->api[rnd() % (uint64_t)ap->napi], 8080, 6,
				        r_web_api, chance(0.3), 8, 400, 10, 1100);
		}
		break;
	case R_API: {
		app_t *ap = &apps[m->app];
		n = arrivals(0.5 * R, s0, s1);
		for (int64_t i = 0; i < n; i++)
			out_conn(at(s0, s1), urange(300, 60000), v, storage[rnd() % (uint64_t)nstorage], 443, 6, r_inet_out,
			         (double)urange(10, 400), 1200, (double)urange(10, 200), 300);
		n = arrivals(0.3 * R, s0, s1);
		for (int64_t i = 0; i < n && napps > 1; i++) {
			/* a partner application, often in another subscription, over peering */
			app_t *o = &apps[(m->app + 1 + (int)(rnd() % (uint64_t)(napps - 1))) % napps];
			if (o->napi)
				vm_conn(at(s0, s1), urange(50, 8000), v, o->api[rnd() % (uint64_t)o->napi], 443, 6, r_partner,
				        0, 12, 500, 14, 1000);
		}
		if (ap->cache >= 0) {
			n = arrivals(1 * R, s0, s1);
			for (int64_t i = 0; i < n; i++)
				vm_conn(at(s0, s1), urange(5, 500), v, ap->cache, 6379, 6, r_vnet_in, 0, 4, 120, 4, 600);
		}
		break;
	}
	case R_DB:
		n = arrivals(0.05 * R + 0.02, s0, s1);
		for (int64_t i = 0; i < n; i++)
			out_conn(at(s0, s1), urange(60000, 1800000), v, storage[rnd() % (uint64_t)nstorage], 443, 6,
			         r_inet_out, (double)urange(20000, 200000), 1400, (double)urange(5000, 50000), 80);
		break;
	case R_DC:
		n = arrivals(1.0 / 60, s0, s1);
		for (int64_t i = 0; i < n; i++)
			out_conn(at(s0, s1), urange(100, 1500), v, a_timesrv, 123, 17, r_inet_out, 0, 76, 0, 76);
		break;
	default:
		break;
	}
}

static void gen_slice(int64_t s0, int64_t s1)
{
	run_pools(s1);
	for (int v = 0; v < nvms; v++)
		gen_vm(v, s0, s1);
}

/* ---- output --------------------------------------------------------------- */

static struct {
	char *buf;
	size_t len, cap;
	int fd, dry;
	char path[4096];
	uint64_t bytes, files, records, tuples;
} W;

static void w_flush(void)
{
	if (!W.dry) {
		size_t off = 0;
		while (off < W.len) {
			ssize_t k = write(W.fd, W.buf + off, W.len - off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				fl_die(FL_EXIT_FATAL, "cannot write '%s': %s", W.path, strerror(errno));
			off += (size_t)k;
		}
	}
	W.len = 0;
}

static inline void w_put(const char *s, size_t n)
{
	if (W.len + n > W.cap) {
		w_flush();
		if (n > W.cap) {
			W.cap = n * 2;
			W.buf = fl_xrealloc(W.buf, W.cap);
		}
	}
	memcpy(W.buf + W.len, s, n);
	W.len += n;
	W.bytes += n;
}
#define W_LIT(s) w_put(s, sizeof(s) - 1)

static inline void w_u64(uint64_t v)
{
	char tmp[24];
	int n = 0;
	do
		tmp[23 - n++] = (char)('0' + v % 10);
	while ((v /= 10));
	w_put(tmp + 24 - n, (size_t)n);
}

static inline void w_ch(char c) { w_put(&c, 1); }

static void mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			fl_die(FL_EXIT_FATAL, "cannot create directory '%s': %s", path, strerror(errno));
		*p = '/';
	}
}

static void blob_open(int vm, int64_t hour_ms)
{
	W.files++;
	if (!W.dry) {
		if (P.single) {
			snprintf(W.path, sizeof W.path, "%s", P.single);
		} else {
			char ts[40];
			fl_format_time(hour_ms, ts);
			const vm_t *m = &vms[vm];
			const char *dir = m->nsglog ? subnets[m->subnet].nsg_dir : vnets[subnets[m->subnet].vnet].flowlog_dir;
			snprintf(W.path, sizeof W.path, "%s/%s/y=%.4s/m=%.2s/d=%.2s/h=%.2s/m=00/macAddress=%s/PT1H.json", P.out,
			         dir, ts, ts + 5, ts + 8, ts + 11, m->mac);
			mkdirs(W.path);
		}
		W.fd = open(W.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (W.fd < 0)
			fl_die(FL_EXIT_FATAL, "cannot create '%s': %s", W.path, strerror(errno));
	}
	W_LIT("{\"records\":[");
}

static void blob_close(void)
{
	W_LIT("]}");
	w_flush();
	if (!W.dry && close(W.fd) != 0)
		fl_die(FL_EXIT_FATAL, "cannot write '%s': %s", W.path, strerror(errno));
}

/* ---- truth ----------------------------------------------------------------- */

typedef struct {
	uint32_t src, dst;
	uint16_t dport;
	uint8_t proto, used;
	uint64_t flows, pk_sd, by_sd, pk_ds, by_ds, denied;
	int64_t first, last;
	int nobs, capobs;
	int *obs;
} edge_t;
static edge_t *edges;
static size_t nedges, capedges;
/* Per connection, what each end (0: the initiator's NIC, 1: the
 * responder's) wrote of it; folded per 5-tuple in truth_write. */
typedef struct {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto, seen; /* bit per end: an allowed tuple written */
	uint64_t v[2][4];    /* C/E deltas written: pk_sd, by_sd, pk_ds, by_ds */
} conn_truth_t;
static conn_truth_t *conns;
static size_t capconns;

static size_t edge_hash(uint32_t s, uint32_t d, uint16_t p, uint8_t pr)
{
	return (size_t)mix(((uint64_t)s << 32) | d, ((uint64_t)p << 8) | pr);
}

static edge_t *edge_get(uint32_t s, uint32_t d, uint16_t p, uint8_t pr)
{
	if ((nedges + 1) * 2 > capedges) {
		size_t nc = capedges ? capedges * 2 : 4096;
		edge_t *ne = fl_xcalloc(nc, sizeof *ne);
		for (size_t i = 0; i < capedges; i++) {
			if (!edges[i].used)
				continue;
			size_t h = edge_hash(edges[i].src, edges[i].dst, edges[i].dport, edges[i].proto) & (nc - 1);
			while (ne[h].used)
				h = (h + 1) & (nc - 1);
			ne[h] = edges[i];
		}
		free(edges);
		edges = ne;
		capedges = nc;
	}
	size_t h = edge_hash(s, d, p, pr) & (capedges - 1);
	while (edges[h].used) {
		edge_t *e = &edges[h];
		if (e->src == s && e->dst == d && e->dport == p && e->proto == pr)
			return e;
		h = (h + 1) & (capedges - 1);
	}
	edge_t *e = &edges[h];
	e->used = 1;
	e->src = s, e->dst = d, e->dport = p, e->proto = pr;
	e->first = INT64_MAX, e->last = INT64_MIN;
	nedges++;
	return e;
}

static void truth_add(const ev_t *x, int vm, int64_t logged_t)
{
	edge_t *e = edge_get(x->src, x->dst, x->dport, x->proto);
	if (logged_t < e->first)
		e->first = logged_t;
	if (logged_t > e->last)
		e->last = logged_t;
	int seen = 0;
	for (int i = 0; i < e->nobs; i++)
		seen |= e->obs[i] == vm;
	if (!seen) {
		if (e->nobs == e->capobs) {
			e->capobs = e->capobs ? e->capobs * 2 : 2;
			e->obs = fl_xrealloc(e->obs, (size_t)e->capobs * sizeof *e->obs);
		}
		e->obs[e->nobs++] = vm;
	}
	if (x->state == S_D) {
		e->denied++;
		return;
	}
	if (x->conn >= capconns) {
		size_t nc = capconns ? capconns : 4096;
		while (x->conn >= nc)
			nc *= 2;
		conns = fl_xrealloc(conns, nc * sizeof *conns);
		memset(conns + capconns, 0, (nc - capconns) * sizeof *conns);
		capconns = nc;
	}
	conn_truth_t *c = &conns[x->conn];
	int end = x->dir == 'O' ? 0 : 1;
	c->src = x->src, c->dst = x->dst, c->sport = x->sport, c->dport = x->dport, c->proto = x->proto;
	c->seen |= (uint8_t)(1u << end);
	if (x->state != S_B) {
		c->v[end][0] += x->pk[0], c->v[end][1] += x->by[0];
		c->v[end][2] += x->pk[1], c->v[end][3] += x->by[1];
	}
}

static int conn_cmp(const void *pa, const void *pb)
{
	const conn_truth_t *a = pa, *b = pb;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	if (a->dst != b->dst)
		return a->dst < b->dst ? -1 : 1;
	if (a->dport != b->dport)
		return a->dport < b->dport ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return (a->sport > b->sport) - (a->sport < b->sport);
}

/* The documented counting rule (man fl-graph): both ends log the same
 * connections of a 5-tuple, either end's log may be cut by the export's
 * start or end, so each figure is the larger of the two ends' views. */
static void truth_fold(void)
{
	qsort(conns, capconns, sizeof *conns, conn_cmp);
	for (size_t i = 0; i < capconns;) {
		size_t j = i;
		uint64_t n[2] = { 0, 0 }, v[2][4] = { { 0 } };
		for (; j < capconns && conn_cmp(&conns[i], &conns[j]) == 0; j++)
			for (int end = 0; end < 2; end++)
				if (conns[j].seen & (1u << end)) {
					n[end]++;
					for (int k = 0; k < 4; k++)
						v[end][k] += conns[j].v[end][k];
				}
		if (conns[i].seen) {
			edge_t *e = edge_get(conns[i].src, conns[i].dst, conns[i].dport, conns[i].proto);
			uint64_t m[4];
			for (int k = 0; k < 4; k++)
				m[k] = v[0][k] > v[1][k] ? v[0][k] : v[1][k];
			e->flows += n[0] > n[1] ? n[0] : n[1];
			e->pk_sd += m[0], e->by_sd += m[1], e->pk_ds += m[2], e->by_ds += m[3];
		}
		i = j;
	}
}

static int edge_cmp(const void *pa, const void *pb)
{
	const edge_t *a = pa, *b = pb;
	int c = memcmp(addrs[a->src].a, addrs[b->src].a, 16);
	if (!c)
		c = memcmp(addrs[a->dst].a, addrs[b->dst].a, 16);
	if (!c)
		c = (a->dport > b->dport) - (a->dport < b->dport);
	if (!c)
		c = (a->proto > b->proto) - (a->proto < b->proto);
	return c;
}

static void truth_write(void)
{
	truth_fold();
	size_t k = 0;
	for (size_t i = 0; i < capedges; i++)
		if (edges[i].used)
			edges[k++] = edges[i];
	qsort(edges, k, sizeof *edges, edge_cmp);
	fl_output o;
	fl_output_open(&o, P.truth, P.force, 0);
	fputs("src,dst,dport,proto,flows,packets,bytes,packets_sd,bytes_sd,packets_ds,bytes_ds,denied,"
	      "first_seen,last_seen,observers\n", o.fp);
	for (size_t i = 0; i < k; i++) {
		edge_t *e = &edges[i];
		char f[40], l[40];
		fl_format_time(e->first, f);
		fl_format_time(e->last, l);
		fprintf(o.fp, "%s,%s,%u,%u,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%s,%s,%d\n", addrs[e->src].s,
		        addrs[e->dst].s, e->dport, e->proto, (unsigned long long)e->flows,
		        (unsigned long long)(e->pk_sd + e->pk_ds), (unsigned long long)(e->by_sd + e->by_ds),
		        (unsigned long long)e->pk_sd, (unsigned long long)e->by_sd, (unsigned long long)e->pk_ds,
		        (unsigned long long)e->by_ds, (unsigned long long)e->denied, f, l, e->nobs);
		free(e->obs);
	}
	fl_output_commit(&o);
	free(edges);
	edges = NULL;
	nedges = capedges = 0;
}

/* ---- writing one slice ------------------------------------------------------- */

static int ev_cmp(const void *pa, const void *pb)
{
	const ev_t *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

#define RECORD_MAX_TUPLES 2000 /* a busy minute is split into records with the same time */

static int cur_vm = -1;
static int64_t cur_hour = -1;
static uint64_t first_slice_bytes;

static void record_open(const vm_t *m, int vm, int64_t k)
{
	int64_t rt = t_start + k * 60000 + m->phase + (int64_t)(mix((uint64_t)vm, (uint64_t)k) % 5000);
	char ts[40];
	fl_format_time(rt, ts);
	W_LIT("{\"time\":\"");
	w_put(ts, 23); /* without the Z: seven fractional digits as Azure writes them */
	char frac[5];
	uint64_t h = mix((uint64_t)k, (uint64_t)vm + 77) % 10000;
	for (int i = 3; i >= 0; i--, h /= 10)
		frac[i] = (char)('0' + h % 10);
	frac[4] = 'Z';
	w_put(frac, 5);
	w_put(m->hdr, m->hdrlen);
	W.records++;
}

static void group_open(const vm_t *m, int acl, int rule, int first_flow, int first_group)
{
	if (m->nsglog) {
		if (!first_group)
			w_ch(',');
		W_LIT("{\"rule\":\"");
		w_put(rules.s[rule], strlen(rules.s[rule]));
		W_LIT("\",\"flows\":[{\"mac\":\"");
		w_put(m->mac, 12);
		W_LIT("\",\"flowTuples\":[");
		return;
	}
	if (first_group) {
		if (!first_flow)
			w_ch(',');
		W_LIT("{\"aclID\":\"");
		w_put(acls.s[acl], strlen(acls.s[acl]));
		W_LIT("\",\"flowGroups\":[");
	} else {
		w_ch(',');
	}
	W_LIT("{\"rule\":\"");
	w_put(rules.s[rule], strlen(rules.s[rule]));
	W_LIT("\",\"flowTuples\":[");
}

static void group_close(const vm_t *m) { m->nsglog ? W_LIT("]}]}") : W_LIT("]}"); }
static void flow_close(const vm_t *m) { if (!m->nsglog) W_LIT("]}"); }
static void record_close(void) { W_LIT("]}}"); }

static void write_tuple(const vm_t *m, const ev_t *x)
{
	if (m->nsglog) {
		w_u64((uint64_t)(x->t / 1000));
		w_ch(',');
	} else {
		w_u64((uint64_t)x->t);
		w_ch(',');
	}
	w_put(addrs[x->src].s, addrs[x->src].len);
	w_ch(',');
	w_put(addrs[x->dst].s, addrs[x->dst].len);
	w_ch(',');
	w_u64(x->sport);
	w_ch(',');
	w_u64(x->dport);
	w_ch(',');
	if (m->nsglog) {
		w_ch(x->proto == 6 ? 'T' : 'U');
		w_ch(',');
		w_ch((char)x->dir);
		w_ch(',');
		w_ch(x->state == S_D ? 'D' : 'A');
		w_ch(',');
		w_ch(x->state == S_D ? 'B' : state_ch[x->state]);
		if (x->state == S_B || x->state == S_D) {
			W_LIT(",,,,");
			return;
		}
	} else {
		w_u64(x->proto);
		w_ch(',');
		w_ch((char)x->dir);
		w_ch(',');
		w_ch(state_ch[x->state]);
		w_ch(',');
		w_put(enc_name[x->enc], strlen(enc_name[x->enc]));
		if (x->state == S_B || x->state == S_D) {
			W_LIT(",0,0,0,0");
			return;
		}
	}
	w_ch(',');
	w_u64(x->pk[0]);
	w_ch(',');
	w_u64(x->by[0]);
	w_ch(',');
	w_u64(x->pk[1]);
	w_ch(',');
	w_u64(x->by[1]);
}

static void write_slice(int b)
{
	evvec_t *vec = &buckets[b];
	if (vec->n)
		qsort(vec->v, vec->n, sizeof *vec->v, ev_cmp);
	size_t i = 0;
	while (i < vec->n) {
		int vm = (int)(vec->v[i].key >> 48);
		int64_t k = (int64_t)((vec->v[i].key >> 24) & 0xffffff);
		const vm_t *m = &vms[vm];
		int64_t rt = k * 60000 + m->phase + (int64_t)(mix((uint64_t)vm, (uint64_t)k) % 5000);
		int64_t hour = rt / 3600000;
		if (vm != cur_vm || hour != cur_hour) {
			if (cur_vm >= 0)
				blob_close();
			int64_t hour_abs = (t_start + rt) / 3600000 * 3600000;
			blob_open(vm, hour_abs);
			cur_vm = vm, cur_hour = hour;
		} else {
			w_ch(',');
		}
		/* one minute of this NIC: records of at most RECORD_MAX_TUPLES */
		uint64_t rec_key = vec->v[i].key >> 24;
		int ntup = 0, first_flow = 1, first_group = 1, acl = -1, rule = -1;
		record_open(m, vm, k);
		for (; i < vec->n && vec->v[i].key >> 24 == rec_key; i++) {
			const ev_t *x = &vec->v[i];
			int a = (int)((x->key >> 12) & 0xfff), r = (int)(x->key & 0xfff);
			if (m->nsglog)
				a = 0;
			if (ntup == RECORD_MAX_TUPLES) {
				group_close(m);
				flow_close(m);
				record_close();
				w_ch(',');
				record_open(m, vm, k);
				ntup = 0, first_flow = 1, first_group = 1, acl = -1, rule = -1;
			}
			if (a != acl) {
				if (acl >= 0) {
					group_close(m);
					flow_close(m);
					first_flow = 0;
				}
				first_group = 1;
				group_open(m, a, r, first_flow, 1);
				first_group = 0;
			} else if (r != rule) {
				group_close(m);
				group_open(m, a, r, first_flow, 0);
			} else {
				w_ch(',');
			}
			acl = a, rule = r;
			w_ch('"');
			write_tuple(m, x);
			w_ch('"');
			ntup++;
			W.tuples++;
			int64_t logged = m->nsglog ? x->t / 1000 * 1000 : x->t;
			if (P.truth && !W.dry && logged >= P.truth_since && logged < P.truth_until)
				truth_add(x, vm, logged);
		}
		(void)first_group;
		group_close(m);
		flow_close(m);
		record_close();
	}
	free(vec->v);
	memset(vec, 0, sizeof *vec);
}

/* ---- the inventory (--inventory) ---------------------------------------- */

/* What `az account list`, `az network vnet list` and `az network nic list`
 * would print for the modelled estate, for fl-join-subs.  Derived from the
 * model alone and without drawing from the random stream, so asking for it
 * changes no byte of the export. */
static const char *inventory_dir;

static void guid_of(uint64_t a, uint64_t b, char *out)
{
	static const char hx[] = "0123456789abcdef";
	int k = 0;
	for (int i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[k++] = '-';
		uint64_t v = i < 16 ? a >> (4 * i) : b >> (4 * (i - 16));
		out[k++] = hx[v & 15];
	}
	out[14] = '4';
	out[k] = 0;
}

static const char *role_name(int role)
{
	static const char *const n[] = { "dc", "mon", "web", "api", "db", "cache", "queue", "dev" };
	return n[role];
}

static void vm_names(int i, char *vm, size_t n, char *rg, size_t rn)
{
	const vm_t *m = &vms[i];
	const vnet_t *v = &vnets[subnets[m->subnet].vnet];
	snprintf(vm, n, "vm-%s-%02d", role_name(m->role), i + 1);
	if (m->app >= 0)
		snprintf(rg, rn, "rg-app-%02d", m->app + 1);
	else if (m->role == R_DEV)
		snprintf(rg, rn, "rg-dev-%02d", v->sub + 1);
	else
		snprintf(rg, rn, "rg-identity-%02d", v->sub + 1);
}

static void subnet_prefixes(const subnet_t *s, json_t *arr)
{
	const vnet_t *v = &vnets[s->vnet];
	char buf[IP_STRLEN + 8];
	snprintf(buf, sizeof buf, "10.%u.%u.0/24", v->o2, s->o3);
	json_array_append_new(arr, json_string(buf));
	if (v->dual) {
		uint8_t a[16] = { 0 };
		uint16_t g[4] = { v->v6[0], v->v6[1], v->v6[2], (uint16_t)s->o3 };
		for (int k = 0; k < 4; k++)
			a[2 * k] = (uint8_t)(g[k] >> 8), a[2 * k + 1] = (uint8_t)g[k];
		size_t n = ip_format(a, buf);
		snprintf(buf + n, sizeof buf - n, "/64");
		json_array_append_new(arr, json_string(buf));
	}
}

static void write_json(const char *name, json_t *j)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", inventory_dir, name);
	if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		fl_die(FL_EXIT_FATAL, "cannot write '%s'", path);
	FILE *fp = fopen(path, "a");
	if (!fp || fputc('\n', fp) == EOF || fclose(fp) != 0)
		fl_die(FL_EXIT_FATAL, "cannot write '%s'", path);
	json_decref(j);
}

static void write_inventory(void)
{
	char tenant[37], id[1100], buf[512];
	guid_of(mix(P.seed, 0x7e4a47), mix(P.seed, 0x7e4a48), tenant);
	if (mkdir(inventory_dir, 0755) != 0 && errno != EEXIST)
		fl_die(FL_EXIT_FATAL, "cannot create '%s': %s", inventory_dir, strerror(errno));

	json_t *acc = json_array();
	for (int s = 0; s < P.subs; s++) {
		snprintf(buf, sizeof buf, "subscription-%02d", s + 1);
		json_array_append_new(acc, json_pack("{s:s,s:s,s:s,s:b,s:[],s:s,s:s,s:s,s:{s:s,s:s}}",
		    "cloudName", "AzureCloud", "homeTenantId", tenant, "id", subs[s].guid, "isDefault", s == 0,
		    "managedByTenants", "name", buf, "state", "Enabled", "tenantId", tenant,
		    "user", "name", "responder@example.com", "type", "user"));
	}
	write_json("account-list.json", acc);

	json_t *vl = json_array();
	for (int i = 0; i < nvnets; i++) {
		const vnet_t *v = &vnets[i];
		json_t *sp = json_array(), *sns = json_array(), *peers = json_array();
		snprintf(buf, sizeof buf, "10.%u.0.0/16", v->o2);
		json_array_append_new(sp, json_string(buf));
		if (v->dual) {
			uint8_t a[16] = { 0 };
			for (int k = 0; k < 3; k++)
				a[2 * k] = (uint8_t)(v->v6[k] >> 8), a[2 * k + 1] = (uint8_t)v->v6[k];
			size_t n = ip_format(a, buf);
			snprintf(buf + n, sizeof buf - n, "/48");
			json_array_append_new(sp, json_string(buf));
		}
		for (int k = 0; k < nsubnets; k++) {
			const subnet_t *s = &subnets[k];
			if (s->vnet != i)
				continue;
			/* "vnet-prod-westeurope-02-web-nsg" -> "web" */
			const char *sname = s->nsg + strlen(v->name) + 1;
			int sl = (int)(strlen(sname) - 4);
			json_t *pre = json_array();
			subnet_prefixes(s, pre);
			snprintf(id, sizeof id, "%s/subnets/%.*s", v->target, sl, sname);
			snprintf(buf, sizeof buf, "%.*s", sl, sname);
			json_t *sn = json_pack("{s:s,s:o,s:s,s:s,s:s,s:s}", "addressPrefix",
			    json_string_value(json_array_get(pre, 0)), "addressPrefixes", pre, "id", id,
			    "name", buf, "provisioningState", "Succeeded", "resourceGroup", v->rg);
			json_object_set_new(sn, "type", json_string("Microsoft.Network/virtualNetworks/subnets"));
			json_array_append_new(sns, sn);
		}
		/* the hub and the production spokes are peered with each other */
		for (int k = 0; k < nvnets && !v->isolated; k++) {
			const vnet_t *r = &vnets[k];
			if (k == i || r->isolated)
				continue;
			snprintf(id, sizeof id, "%s/virtualNetworkPeerings/peer-to-%s", v->target, r->name);
			snprintf(buf, sizeof buf, "peer-to-%s", r->name);
			json_array_append_new(peers, json_pack("{s:b,s:b,s:b,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:b}",
			    "allowForwardedTraffic", 0, "allowGatewayTransit", 0, "allowVirtualNetworkAccess", 1,
			    "id", id, "name", buf, "peeringState", "Connected", "peeringSyncLevel", "FullyInSync",
			    "remoteVirtualNetwork", "id", r->target, "resourceGroup", r->rg,
			    "resourceGroup", v->rg, "type", "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
			    "useRemoteGateways", 0));
		}
		json_array_append_new(vl, json_pack("{s:{s:o},s:s,s:s,s:s,s:s,s:o,s:s,s:o}",
		    "addressSpace", "addressPrefixes", sp, "id", v->target, "location", subs[v->sub].region,
		    "name", v->name, "resourceGroup", v->rg, "subnets", sns,
		    "type", "Microsoft.Network/virtualNetworks", "virtualNetworkPeerings", peers));
	}
	write_json("vnet-list.json", vl);

	json_t *nl = json_array();
	for (int i = 0; i < nvms; i++) {
		const vm_t *m = &vms[i];
		const subnet_t *s = &subnets[m->subnet];
		const vnet_t *v = &vnets[s->vnet];
		char vm[64], rg[64], nic[80], mac[18], nicid[512], vmid[512], snid[512];
		vm_names(i, vm, sizeof vm, rg, sizeof rg);
		snprintf(nic, sizeof nic, "%s-nic", vm);
		snprintf(mac, sizeof mac, "%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", m->mac, m->mac + 2, m->mac + 4,
		         m->mac + 6, m->mac + 8, m->mac + 10);
		snprintf(nicid, sizeof nicid, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/"
		         "networkInterfaces/%s", subs[v->sub].guid, rg, nic);
		snprintf(vmid, sizeof vmid, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
		         "virtualMachines/%s", subs[v->sub].guid, rg, vm);
		const char *sname = s->nsg + strlen(v->name) + 1;
		snprintf(snid, sizeof snid, "%s/subnets/%.*s", v->target, (int)(strlen(sname) - 4), sname);
		json_t *cfgs = json_array();
		for (int k = 0; k < 2; k++) {
			if (k == 1 && m->a6 < 0)
				continue;
			snprintf(id, sizeof id, "%s/ipConfigurations/ipconfig%d", nicid, k + 1);
			snprintf(buf, sizeof buf, "ipconfig%d", k + 1);
			json_array_append_new(cfgs, json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:{s:s,s:s},s:s}",
			    "id", id, "name", buf, "primary", k == 0,
			    "privateIPAddress", addrs[k ? (uint32_t)m->a6 : m->a4].s,
			    "privateIPAddressVersion", k ? "IPv6" : "IPv4", "privateIPAllocationMethod", "Dynamic",
			    "subnet", "id", snid, "resourceGroup", v->rg,
			    "type", "Microsoft.Network/networkInterfaces/ipConfigurations"));
		}
		json_array_append_new(nl, json_pack("{s:s,s:o,s:s,s:s,s:s,s:b,s:s,s:s,s:{s:s,s:s}}",
		    "id", nicid, "ipConfigurations", cfgs, "location", subs[v->sub].region, "macAddress", mac,
		    "name", nic, "primary", 1, "resourceGroup", rg, "type", "Microsoft.Network/networkInterfaces",
		    "virtualMachine", "id", vmid, "resourceGroup", rg));
	}
	write_json("nic-list.json", nl);
}

/* Runs the whole model; with dry set nothing is written (bytes counted only).
 * max_slices limits a calibration run. */
static void run(double rate, int dry, int max_slices)
{
	P.rate = rate;
	rng_seed(P.seed);
	build_estate();
	if (!dry && inventory_dir)
		write_inventory();
	if (P.single) {
		/* one NIC: the first web server (busiest), everything else unmonitored */
		int pick = -1;
		for (int v = 0; v < nvms; v++)
			if (pick < 0 && vms[v].role == R_WEB)
				pick = v;
		if (pick < 0)
			pick = 0;
		for (int v = 0; v < nvms; v++)
			vms[v].monitored = v == pick;
		vms[pick].nsglog = 0;
		free(vms[pick].hdr);
		vm_t *m = &vms[pick];
		vnet_t *vn = &vnets[subnets[m->subnet].vnet];
		m->hdr = xasprintf("\",\"flowLogGUID\":\"%s\",\"macAddress\":\"%s\",\"category\":\"FlowLogFlowEvent\","
		                   "\"flowLogResourceID\":\"%s\",\"targetResourceID\":\"%s\",\"flowLogVersion\":4,"
		                   "\"operationName\":\"FlowLogFlowEvent\",\"flowRecords\":{\"flows\":[",
		                   vn->flowlog_guid, m->mac, vn->flowlog_id, vn->target);
		m->hdrlen = strlen(m->hdr);
	}
	t_start = P.start;
	slice_ms = P.single ? 60000 : 3600000;
	nslices = P.single ? 60 : P.hours;
	t_end = t_start + (int64_t)nslices * slice_ms;
	/* a calibration run stops early but keeps the real end, so that its
	 * slices are complete */
	int last = max_slices > 0 && max_slices < nslices ? max_slices : nslices;
	buckets = fl_xcalloc((size_t)nslices, sizeof *buckets);
	build_pools();
	memset(&W, 0, sizeof W);
	W.dry = dry;
	W.cap = 4 << 20;
	W.buf = fl_xmalloc(W.cap);
	ev_seq = nconn = 0;
	cur_vm = -1, cur_hour = -1;
	for (int s = 0; s < last; s++) {
		int64_t s0 = t_start + (int64_t)s * slice_ms;
		gen_slice(s0, s0 + slice_ms);
		write_slice(s);
		if (s == 0)
			first_slice_bytes = W.bytes;
		if (!P.single && cur_vm >= 0) {
			blob_close();
			cur_vm = -1;
		}
	}
	for (int s = last; s < nslices; s++)
		free(buckets[s].v);
	if (cur_vm >= 0)
		blob_close();
	else if (P.single && !dry) {
		blob_open(0, t_start); /* an hour without a tuple is still a valid blob */
		blob_close();
	}
	free(W.buf);
	W.buf = NULL;
	free(buckets);
	free(pools);
	pools = NULL;
	npools = cappools = 0;
	if (!dry && P.truth)
		truth_write();
	free(conns);
	conns = NULL;
	capconns = 0;
	if (!dry)
		return;
	free_estate();
}

/* ---- options ------------------------------------------------------------------ */

enum { O_START = 256, O_HOURS, O_VMS, O_SUBS, O_RATE, O_SIZE, O_SINGLE, O_TRUTH, O_FORCE, O_LONG, O_NSG, O_ENC,
	O_IPV6, O_TSINCE, O_TUNTIL, O_INVENTORY };

static const fl_option options[] = {
	{ "out", 'o', "DIR", "write the blob tree under DIR (must be empty or absent, unless --force)" },
	{ "seed", 's', "N", "seed of the model: same seed and options, same bytes (default 1)" },
	{ "start", O_START, "TIME", "first hour, RFC 3339 (default 2026-11-02T00:00:00Z)" },
	{ "hours", O_HOURS, "H", "hours of logs (default 3)" },
	{ "vms", O_VMS, "N", "VMs (one NIC each), at least 3 + subscriptions (default 12)" },
	{ "subs", O_SUBS, "N", "subscriptions, 1 to 64 (default 2)" },
	{ "rate", O_RATE, "X", "application flows per VM per minute (default 1)" },
	{ "size", O_SIZE, "BYTES", "scale the rate to about BYTES in total (suffix K, M, G)" },
	{ "single", O_SINGLE, "FILE", "write one PT1H.json (one NIC, one hour) of about --size bytes (default 1G)" },
	{ "truth", O_TRUTH, "FILE", "write the ground truth per edge as CSV" },
	{ "truth-since", O_TSINCE, "TIME", "the truth of tuples at or after TIME only" },
	{ "truth-until", O_TUNTIL, "TIME", "the truth of tuples before TIME only" },
	{ "nsg-share", O_NSG, "P", "fraction of NICs logged as NSG flow logs v2 (default 0)" },
	{ "long-paths", O_LONG, NULL, "use the long /SUBSCRIPTIONS/.../FLOWLOGS/NAME blob path form" },
	{ "encryption-mix", O_ENC, NULL, "VNet encryption: X, NX_LOCAL_DST, ... and an undocumented value" },
	{ "ipv6", O_IPV6, NULL, "dual-stack VNets with IPv6 tuples" },
	{ "inventory", O_INVENTORY, "DIR", "also write the estate as az CLI account, vnet and nic lists into DIR" },
	{ "force", 'f', NULL, "write into a non-empty directory (same-named blobs are replaced, others stay) or over an existing file" },
	{ NULL, 0, NULL, NULL }
};

static void bad(const char *opt, const char *val, const char *why)
{
	fl_warn("invalid value '%s' for --%s: %s", val, opt, why);
	fprintf(stderr, "Try '%s --help'.\n", fl_progname);
	exit(FL_EXIT_USAGE);
}

static long long num(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		bad(opt, s, "not an integer");
	if (v < lo || v > hi) {
		char why[96];
		snprintf(why, sizeof why, "must be between %lld and %lld", lo, hi);
		bad(opt, s, why);
	}
	return v;
}

static double fnum(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) {
		char why[96];
		snprintf(why, sizeof why, "must be a number between %g and %g", lo, hi);
		bad(opt, s, why);
	}
	return v;
}

static int64_t size_arg(const char *s)
{
	uint64_t v;
	if (fl_parse_size(s, &v) != 0)
		bad("size", s, "expected a positive size such as 500M or 1G (at most 1T)");
	return (int64_t)v;
}

static int dir_nonempty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n > 0;
}

/* Bytes for a rate, by a dry run over a few slices, extrapolated. */
static double calibrate(int64_t target)
{
	int full = P.single ? 60 : P.hours, few = P.single ? 10 : (P.hours < 2 ? P.hours : 2);
	/* bytes per slice, leaving out the first one when there are others: it
	 * only holds the records of its last seconds' tuples */
#define PER_SLICE() (few > 1 ? (double)(W.bytes - first_slice_bytes) / (few - 1) : (double)W.bytes)
	run(1.0, 1, few);
	double b1 = PER_SLICE() * full;
	run(4.0, 1, few);
	double b4 = PER_SLICE() * full;
	double slope = (b4 - b1) / 3.0, base = b1 - slope;
	if (slope <= 0)
		return 1.0;
	double r = ((double)target - base) / slope;
	if (r < 0.01)
		r = 0.01;
	/* pools grow with the rate up to 4: refine near the answer */
	run(r, 1, few);
	double br = PER_SLICE() * full;
	if (br > 0)
		r *= (double)target / br > 0.5 ? (double)target / br : 0.5;
#undef PER_SLICE
	return r;
}

int main(int argc, char **argv)
{
	fl_set_progname(argv[0]);
	if (fl_parse_time("2026-11-02T00:00:00Z", &P.start) != 0)
		return FL_EXIT_FATAL;
	const char *arg;
	int c, oi;
	while ((c = fl_getopt(argc, argv, options, "[options] --out DIR | --single FILE", &arg, &oi)) != -1) {
		switch (c) {
		case 'o': P.out = arg; break;
		case 's': {
			char *end;
			errno = 0;
			P.seed = strtoull(arg, &end, 0);
			if (errno || end == arg || *end || arg[0] == '-')
				bad("seed", arg, "not an unsigned integer");
			break;
		}
		case O_START:
			if (fl_parse_time(arg, &P.start) != 0)
				bad("start", arg, "not an RFC 3339 time");
			if (P.start % 3600000)
				bad("start", arg, "must be on a whole hour");
			break;
		case O_HOURS: P.hours = (int)num("hours", arg, 1, 24 * 366); break;
		case O_VMS: P.vms = (int)num("vms", arg, 4, 60000); break;
		case O_SUBS: P.subs = (int)num("subs", arg, 1, 64); break;
		case O_RATE: P.rate = fnum("rate", arg, 0.001, 1e6); P.have_rate = 1; break;
		case O_SIZE: P.size = size_arg(arg); break;
		case O_SINGLE: P.single = arg; break;
		case O_TRUTH: P.truth = arg; break;
		case O_TSINCE:
		case O_TUNTIL:
			if (fl_parse_time(arg, c == O_TSINCE ? &P.truth_since : &P.truth_until) != 0)
				bad(c == O_TSINCE ? "truth-since" : "truth-until", arg, "not an RFC 3339 time");
			break;
		case O_NSG: P.nsg_share = fnum("nsg-share", arg, 0, 1); break;
		case O_LONG: P.long_paths = 1; break;
		case O_ENC: P.enc_mix = 1; break;
		case O_IPV6: P.ipv6 = 1; break;
		case O_INVENTORY: inventory_dir = arg; break;
		case 'f': P.force = 1; break;
		default: break;
		}
	}
	if (oi < argc) {
		fl_warn("unexpected operand '%s'", argv[oi]);
		fprintf(stderr, "Try '%s --help'.\n", fl_progname);
		return FL_EXIT_USAGE;
	}
	if (!!P.out == !!P.single) {
		fl_warn(P.out ? "--out and --single exclude each other" : "missing --out DIR or --single FILE");
		fprintf(stderr, "Try '%s --help'.\n", fl_progname);
		return FL_EXIT_USAGE;
	}
	if (P.size && P.have_rate) {
		fl_warn("--size and --rate exclude each other");
		return FL_EXIT_USAGE;
	}
	if (P.vms < 3 + P.subs) {
		fl_warn("--vms %d is too few for %d subscriptions (3 hub VMs + one per subscription)", P.vms, P.subs);
		return FL_EXIT_USAGE;
	}
	if (P.truth && !P.force && access(P.truth, F_OK) == 0)
		fl_die(FL_EXIT_USAGE, "'%s' exists (use --force to overwrite)", P.truth);
	if (P.single) {
		if (!P.size)
			P.size = 1 << 30;
		if (!P.force && access(P.single, F_OK) == 0)
			fl_die(FL_EXIT_USAGE, "'%s' exists (use --force to overwrite)", P.single);
	} else {
		struct stat st;
		if (stat(P.out, &st) == 0 && !S_ISDIR(st.st_mode))
			fl_die(FL_EXIT_USAGE, "'%s' exists and is not a directory", P.out);
		if (!P.force && dir_nonempty(P.out))
			fl_die(FL_EXIT_USAGE, "'%s' is not empty (use --force to write into it)", P.out);
		if (mkdir(P.out, 0755) != 0 && errno != EEXIST)
			fl_die(FL_EXIT_FATAL, "cannot create '%s': %s", P.out, strerror(errno));
	}
	double rate = P.rate;
	if (P.size)
		rate = calibrate(P.size);
	run(rate, 0, 0);
	fprintf(stderr, "%s: %llu files, %llu records, %llu tuples, %llu bytes (rate %.3g)\n", fl_progname,
	        (unsigned long long)W.files, (unsigned long long)W.records, (unsigned long long)W.tuples,
	        (unsigned long long)W.bytes, rate);
	free_estate();
	return FL_EXIT_OK;
}
