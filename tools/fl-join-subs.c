/*
 * fl-join-subs - place both ends of every tuple in the estate an az CLI
 * (or Resource Graph) inventory describes: tenant, subscription, resource
 * group, VNet, subnet, NIC, VM, and a Traffic Analytics style flow type.
 * See man/fl-join-subs.1; the placement rules live in libcommon/inventory.c.
 *
 * Records are copied with their dictionary and source ids remapped here,
 * not through flt_writer_copy(), because the annotation values are set on
 * the way: values come from the inventory, whose strings never move, so
 * their writer ids are cached by address.
 */
#include "cli.h"
#include "textin.h"
#include "textfmt.h"
#include "edgeagg.h"
#include "flowagg.h"
#include "flowgraph.h"
#include "flt.h"
#include "inventory.h"
#include "sha256.h"
#include "strpool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const fl_option options[] = {
	{ "inventory", 'i', "PATH", "az CLI / Resource Graph JSON or ranges CSV; a folder is read whole (repeatable)" },
	{ "output", 'o', "FILE", "write the stream (or the summary) to FILE (default: standard output)" },
	{ "force", 'f', NULL, "overwrite FILE if it exists" },
	{ "summary", 'S', NULL, "print the cross-subscription and cross-tenant paths instead of the stream" },
	{ "summary-format", 256, "FMT", "text (default) or csv" },
	{ "stats", 's', NULL, "print what was loaded and resolved on standard error" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "--inventory PATH... [options] [FILE...]\n"
	"Annotates each tuple of a binary tuple stream (files, or standard input) with the\n"
	"tenant, subscription, resource group, VNet, subnet, NIC and VM of both ends and a\n"
	"flow type, from an inventory exported with the az CLI.";

/* Output columns: one per end and inventory field, then the flow type. */
static const char *const col_names[2][INV_NFIELDS] = {
	{ "src_tenant", "src_sub", "src_rg", "src_vnet", "src_subnet", "src_nic", "src_vm", "src_site" },
	{ "dst_tenant", "dst_sub", "dst_rg", "dst_vnet", "dst_subnet", "dst_nic", "dst_vm", "dst_site" },
};
static const char *const flow_types[] = {
	"IntraVNet", "InterVNet", "CrossSubscription", "CrossTenant", "S2S", "P2S",
	"AzurePublic", "ExternalPublic", "UnknownPrivate", "Unknown", INV_AMBIGUOUS
};
#define NTYPES (sizeof flow_types / sizeof flow_types[0])

typedef struct stats {
	uint64_t tuples, by_mac, by_ids, src_known, dst_known, ambiguous;
	uint64_t type[NTYPES];
} stats;

typedef struct job {
	inv *inv;
	flt_header prov;        /* provenance entries to add to the output header */
	int argc;
	char **argv;
	/* stream output */
	flt_writer *wr;
	FILE *out;
	const char *out_name;
	int my_col[2][INV_NFIELDS], type_col;
	/* per input segment */
	uint64_t epoch;
	int tag_col[2];
	/* writer ids of inventory strings, by address */
	const char **vkeys;
	uint32_t *vids;
	size_t vcap, vn;
	/* --summary */
	int summary;
	strpool *paths;
	strpool *unknown_macs;    /* observers the inventory lacks, for --stats */
	agg *conns;
	stats st;
} job;

/* ---- inventory -------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_file(job *j, const char *path)
{
	char *buf;
	size_t n;
	if (fl_read_file(path, &buf, &n) != 0) {
		fl_warn("cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	char why[256] = "";
	int rc = inv_load(j->inv, buf, n, why, sizeof why);
	if (rc >= 0) {
		sha256_ctx c;
		uint8_t d[32];
		char val[64 + 2 + FLT_STR_MAX / 16];
		sha256_init(&c);
		sha256_update(&c, buf, n);
		sha256_final(&c, d);
		for (int i = 0; i < 32; i++)
			snprintf(val + 2 * i, 3, "%02x", d[i]);
		/* sha256sum's format, so the files can be checked with it. */
		snprintf(val + 64, sizeof val - 64, "  %s", path);
		flt_header_add_prov(&j->prov, "fl-join-subs", val);
	} else if (rc == INV_UNKNOWN) {
		fl_warn("%s: skipped: %s", path, why);
	} else {
		fl_warn("%s: %s; file skipped", path, why);
	}
	free(buf);
	return rc == INV_BAD ? -1 : 0;
}

/* A folder is read whole, in name order so the provenance is stable. */
static int load_path(job *j, const char *path, int top)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fl_warn("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* a device or FIFO (/dev/zero) would be read forever */
		if (!S_ISREG(st.st_mode)) {
			fl_warn("'%s' is not a regular file or folder: skipped", path);
			return top ? -1 : 0;
		}
		return load_file(j, path);
	}
	DIR *d = opendir(path);
	if (!d) {
		fl_warn("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap)
			names = fl_xrealloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		names[n] = fl_xmalloc(l);
		snprintf(names[n++], l, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (load_path(j, names[i], 0) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* ---- copying records -------------------------------------------------- */

static void start_writer(job *j, const flt_header *first)
{
	flt_header h;
	flt_header_init(&h);
	if (first)
		flt_header_copy(&h, first);
	flt_header_add_invocation(&h, j->argc, j->argv);
	for (size_t i = 0; i < j->prov.nprov; i++)
		flt_header_add_prov(&h, j->prov.prov[i].key, j->prov.prov[i].value);
	/* src and dst side by side, as Traffic Analytics lists them */
	for (int f = 0; f < INV_NFIELDS; f++)
		for (int e = 0; e < 2; e++)
			j->my_col[e][f] = flt_header_column(&h, col_names[e][f], FLT_COL_STR, 1);
	j->type_col = flt_header_column(&h, "flow_type", FLT_COL_STR, 1);
	if (j->my_col[0][0] < 0 || j->type_col < 0 || j->my_col[1][INV_SITE] < 0)
		fl_die(FL_EXIT_FATAL, "the input has too many annotation columns to add %d more "
		       "(at most %d)", 2 * INV_NFIELDS + 1, FLT_MAX_COLS);
	j->wr = flt_writer_new(j->out, j->out_name, &h);
	flt_header_free(&h);
}

static int find_col(const flt_header *h, const char *name, int type)
{
	for (uint32_t c = 0; c < h->ncols; c++)
		if (!strcmp(h->cols[c].name, name) && h->cols[c].type == type)
			return (int)c;
	return -1;
}

/* A new input segment: its ids mean something else. */
static void new_segment(job *j, flt_reader *r)
{
	const flt_header *rh = flt_reader_header(r);
	j->epoch = flt_reader_epoch(r);
	j->tag_col[0] = find_col(rh, "src_service_tag", FLT_COL_STR);
	j->tag_col[1] = find_col(rh, "dst_service_tag", FLT_COL_STR);
}

/* Writer id of an inventory string (stable address): an open-addressing
 * table keyed by the pointer. */
static uint32_t value_id(job *j, const char *s)
{
	if (!s || !*s)
		return 0;
	if (j->vn * 2 >= j->vcap) {
		size_t cap = j->vcap ? 2 * j->vcap : 256;
		const char **k = fl_xcalloc(cap, sizeof *k);
		uint32_t *ids = fl_xcalloc(cap, sizeof *ids);
		for (size_t i = 0; i < j->vcap; i++) {
			if (!j->vkeys[i])
				continue;
			size_t h = ((uintptr_t)j->vkeys[i] * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
			while (k[h])
				h = (h + 1) & (cap - 1);
			k[h] = j->vkeys[i], ids[h] = j->vids[i];
		}
		free(j->vkeys), free(j->vids);
		j->vkeys = k, j->vids = ids, j->vcap = cap;
	}
	size_t h = ((uintptr_t)s * 0x9E3779B97F4A7C15ULL >> 20) & (j->vcap - 1);
	while (j->vkeys[h] && j->vkeys[h] != s)
		h = (h + 1) & (j->vcap - 1);
	if (!j->vkeys[h]) {
		j->vkeys[h] = s;
		j->vids[h] = flt_writer_intern(j->wr, s, strlen(s));
		j->vn++;
	}
	return j->vids[h];
}

static void put_annotated(job *j, flt_reader *r, const flt_rec *rec, const inv_result *res)
{
	/* this tool's columns are copied too, then all overwritten: a second
	 * run over its own output annotates afresh */
	flt_rec o;
	flt_writer_remap(j->wr, r, rec, &o);
	for (int f = 0; f < INV_NFIELDS; f++) {
		o.col[j->my_col[0][f]] = value_id(j, res->src.f[f]);
		o.col[j->my_col[1][f]] = value_id(j, res->dst.f[f]);
	}
	o.col[j->type_col] = value_id(j, res->flow_type);
	if (flt_writer_put(j->wr, &o) != 0)
		fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(j->wr));
}

/* ---- summary ---------------------------------------------------------- */

/* Level-1 keys are prefixed with the summary row they belong to (path id,
 * destination port, protocol), so the flowagg key layout stays opaque. */
#define SUM_KEY 7
#define PATH_KEY (SUM_KEY + FA_CONN_KEY)

static void conn_init(void *v) { fa_conn_init(v); }
static void conn_merge(void *d, const void *s) { fa_conn_merge(d, s); }
static const agg_ops conn_ops = { PATH_KEY, sizeof(fa_conn), conn_init, conn_merge };
static const agg_ops edge_ops = { SUM_KEY, sizeof(fa_edge), fa_edge_init, fa_edge_merge };

static void summary_add(job *j, flt_reader *r, const flt_rec *rec, const inv_result *res)
{
	const char *t = res->flow_type;
	if (strcmp(t, "CrossSubscription") && strcmp(t, "CrossTenant"))
		return;
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%s\t%s\t%s\t%s\t%s", t,
	                 res->src.f[INV_SUB] ? res->src.f[INV_SUB] : "",
	                 res->src.f[INV_TENANT] ? res->src.f[INV_TENANT] : "",
	                 res->dst.f[INV_SUB] ? res->dst.f[INV_SUB] : "",
	                 res->dst.f[INV_TENANT] ? res->dst.f[INV_TENANT] : "");
	if (n < 0 || (size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	uint32_t path = strpool_intern(j->paths, buf, (size_t)n);
	size_t len;
	const char *obs = flt_reader_str(r, rec->mac ? rec->mac : rec->flowlog, &len);
	if (!len)
		obs = "unknown", len = 7;
	uint8_t key[PATH_KEY];
	key[0] = (uint8_t)(path >> 24), key[1] = (uint8_t)(path >> 16);
	key[2] = (uint8_t)(path >> 8), key[3] = (uint8_t)path;
	key[4] = (uint8_t)(rec->dport >> 8), key[5] = (uint8_t)rec->dport, key[6] = rec->proto;
	fa_conn_key(rec, fa_observer_id(obs, len), key + SUM_KEY);
	fa_conn_add(agg_upsert(j->conns, key), rec);
}

typedef struct row {
	const char *f[5];   /* flow type, src sub, src tenant, dst sub, dst tenant */
	uint16_t port;
	uint8_t proto;
	fa_edge e;
} row;

static int row_cmp(const void *pa, const void *pb)
{
	const row *a = pa, *b = pb;
	static const int order[5] = { 1, 2, 3, 4, 0 };
	for (int i = 0; i < 5; i++) {
		int c = strcmp(a->f[order[i]], b->f[order[i]]);
		if (c)
			return c;
	}
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (a->proto > b->proto) - (a->proto < b->proto);
}

#define NSUMCOLS 11
static const char *const sum_head[NSUMCOLS] = {
	"flow_type", "src_sub", "src_tenant", "dst_sub", "dst_tenant", "port",
	"connections", "denied", "bytes", "first_seen", "last_seen"
};

static void summary_cells(const row *w, char cells[NSUMCOLS][80], const char *p[NSUMCOLS], int text)
{
	char pb[8];
	for (int i = 0; i < 5; i++)
		p[i] = *w->f[i] || !text ? w->f[i] : "-";
	snprintf(cells[5], 80, "%u/%s", w->port, fl_proto_name(w->proto, pb));
	snprintf(cells[6], 80, "%" PRIu64, w->e.flows);
	snprintf(cells[7], 80, "%" PRIu32, w->e.denied);
	snprintf(cells[8], 80, "%" PRIu64, w->e.bytes_sd + w->e.bytes_ds);
	fl_format_time(w->e.first, cells[9]);
	fl_format_time(w->e.last, cells[10]);
	for (int i = 5; i < NSUMCOLS; i++)
		p[i] = cells[i];
}

/* The observers of one connection (same path, same 5-tuple) into its edge. */
static int fold_group(void *edges, const uint8_t *const *keys, const fa_conn *const *lanes, size_t n)
{
	fa_edge_fold(agg_upsert(edges, keys[0] - SUM_KEY), keys, lanes, n);
	return 0;
}

static void print_summary(job *j, FILE *fp, int csv)
{
	agg *edges = agg_new(&edge_ops, 0, NULL);
	const void *kp, *vp;
	int rc;
	if (fa_walk(j->conns, SUM_KEY, fold_group, edges) < 0)
		fl_die(FL_EXIT_FATAL, "%s", agg_error(j->conns));

	size_t nrows = 0, rcap = agg_size(edges) + 1;
	row *rows = fl_xmalloc(rcap * sizeof *rows);
	char *split = NULL;
	while ((rc = agg_next(edges, &kp, &vp)) > 0) {
		const uint8_t *k = kp;
		uint32_t path = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
		row *w = &rows[nrows++];
		const char *s = strpool_get(j->paths, path);
		/* split a copy of "type\tsrc_sub\tsrc_tenant\tdst_sub\tdst_tenant" */
		split = fl_xstrdup(s);
		char *p = split;
		for (int i = 0; i < 5; i++) {
			w->f[i] = p;
			char *t = strchr(p, '\t');
			if (t)
				*t = 0, p = t + 1;
			else
				p += strlen(p);
		}
		w->port = (uint16_t)(k[4] << 8 | k[5]);
		w->proto = k[6];
		memcpy(&w->e, vp, sizeof w->e);
	}
	if (rc < 0)
		fl_die(FL_EXIT_FATAL, "%s", agg_error(edges));
	qsort(rows, nrows, sizeof *rows, row_cmp);

	char cells[NSUMCOLS][80];
	const char *p[NSUMCOLS];
	if (csv) {
		for (int i = 0; i < NSUMCOLS; i++)
			fprintf(fp, "%s%s", i ? "," : "", sum_head[i]);
		fputc('\n', fp);
		for (size_t r = 0; r < nrows; r++) {
			summary_cells(&rows[r], cells, p, 0);
			for (int i = 0; i < NSUMCOLS; i++) {
				if (i)
					fputc(',', fp);
				fl_csv_cell(fp, p[i]);
			}
			fputc('\n', fp);
		}
	} else {
		size_t wd[NSUMCOLS];
		for (int i = 0; i < NSUMCOLS; i++)
			wd[i] = strlen(sum_head[i]);
		for (size_t r = 0; r < nrows; r++) {
			summary_cells(&rows[r], cells, p, 1);
			for (int i = 0; i < NSUMCOLS; i++)
				if (strlen(p[i]) > wd[i])
					wd[i] = strlen(p[i]);
		}
		/* Counts are right-aligned; names and times left. */
		for (size_t r = 0; r <= nrows; r++) {
			if (r)
				summary_cells(&rows[r - 1], cells, p, 1);
			for (int i = 0; i < NSUMCOLS; i++) {
				const char *s = r ? p[i] : sum_head[i];
				int right = i >= 6 && i <= 8;
				int last = i == NSUMCOLS - 1;
				if (right)
					fprintf(fp, "%*s", (int)wd[i], s);
				else if (last)
					fputs(s, fp);
				else
					fprintf(fp, "%-*s", (int)wd[i], s);
				if (!last)
					fputs("  ", fp);
			}
			fputc('\n', fp);
		}
		if (!nrows)
			fputs("(no cross-subscription or cross-tenant traffic)\n", fp);
	}
	for (size_t r = 0; r < nrows; r++)
		free((char *)rows[r].f[0]);
	free(rows);
	agg_free(edges);
}

/* ---- main ------------------------------------------------------------- */

static int process(job *j, flt_reader *r)
{
	const flt_rec *rec;
	const char *last_type = NULL;
	size_t last_i = NTYPES;
	uint32_t last_unknown = 0; /* dictionary id: only within one segment */
	int rc = flt_reader_start(r);
	if (rc == 0 && !j->wr && !j->summary)
		start_writer(j, flt_reader_header(r));
	while (rc >= 0 && (rc = flt_reader_next(r, &rec)) > 0) {
		if (flt_reader_epoch(r) != j->epoch) {
			fg_need_tuples(r);
			new_segment(j, r);
			last_unknown = 0;
		}
		inv_flow f;
		inv_result res;
		f.src = rec->src;
		f.dst = rec->dst;
		f.dir = rec->dir;
		f.mac = flt_reader_str(r, rec->mac, NULL);
		f.target = flt_reader_str(r, rec->target, NULL);
		f.flowlog = flt_reader_str(r, rec->flowlog, NULL);
		f.src_tagged = j->tag_col[0] >= 0 && rec->col[j->tag_col[0]];
		f.dst_tagged = j->tag_col[1] >= 0 && rec->col[j->tag_col[1]];
		inv_resolve(j->inv, &f, &res);
		stats *s = &j->st;
		s->tuples++;
		if (res.observer_known)
			s->by_mac++;
		else if ((rec->dir == 'I' ? res.dst.ncand : res.src.ncand) > 0)
			s->by_ids++;
		if (!res.observer_known && rec->mac && rec->mac != last_unknown) {
			size_t ml;
			const char *m = flt_reader_str(r, rec->mac, &ml);
			strpool_intern(j->unknown_macs, m, ml);
			last_unknown = rec->mac;
		}
		s->src_known += res.src.ncand > 0;
		s->dst_known += res.dst.ncand > 0;
		s->ambiguous += res.remote_ambiguous;
		/* the library returns the same few pointers: remember the last */
		if (res.flow_type != last_type) {
			last_type = res.flow_type;
			for (last_i = 0; last_i < NTYPES && strcmp(last_type, flow_types[last_i]); last_i++)
				;
		}
		if (last_i < NTYPES)
			s->type[last_i]++;
		if (j->summary)
			summary_add(j, r, rec, &res);
		else
			put_annotated(j, r, rec, &res);
	}
	if (rc < 0)
		fl_warn("%s", flt_reader_error(r));
	return rc < 0 ? -1 : 0;
}

static void print_stats(const job *j)
{
	inv_counts c;
	inv_get_counts(j->inv, &c);
	fprintf(stderr, "inventory   %zu subscriptions, %zu VNets, %zu subnets, %zu NICs, "
	        "%zu public IPs, %zu ranges, %zu peerings, %zu other resources skipped\n",
	        c.subs, c.vnets, c.subnets, c.nics, c.pips, c.ranges, c.peerings, c.skipped);
	const stats *s = &j->st;
	fprintf(stderr, "tuples      %" PRIu64 "\n", s->tuples);
	fprintf(stderr, "observer    %" PRIu64 " by MAC, %" PRIu64 " by the record's IDs only, %"
	        PRIu64 " unknown\n", s->by_mac, s->by_ids, s->tuples - s->by_mac - s->by_ids);
	/* id 0 of a string pool is "" */
	uint32_t nu = strpool_count(j->unknown_macs);
	nu = nu ? nu - 1 : 0;
	if (nu) {
		/* which NICs the inventory lacks: the next thing to export */
		const char **m = fl_xmalloc(nu * sizeof *m);
		for (uint32_t i = 0; i < nu; i++)
			m[i] = strpool_get(j->unknown_macs, i + 1);
		qsort(m, nu, sizeof *m, name_cmp);
		fprintf(stderr, "unknown MAC %" PRIu32 ":", nu);
		for (uint32_t i = 0; i < nu && i < 8; i++)
			fprintf(stderr, " %s", m[i]);
		fprintf(stderr, "%s\n", nu > 8 ? " ..." : "");
		free(m);
	}
	fprintf(stderr, "src placed  %" PRIu64 "\n", s->src_known);
	fprintf(stderr, "dst placed  %" PRIu64 "\n", s->dst_known);
	fprintf(stderr, "ambiguous   %" PRIu64 "\n", s->ambiguous);
	for (size_t t = 0; t < NTYPES; t++)
		if (s->type[t])
			fprintf(stderr, "flow_type   %-17s %" PRIu64 "\n", flow_types[t], s->type[t]);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *arg;
	int force = 0, stats_opt = 0, csv = 0, c, first;
	const char **invs = NULL;
	size_t ninv = 0;
	job j;
	memset(&j, 0, sizeof j);
	fl_set_progname(argv[0]);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'i':
			invs = fl_xrealloc(invs, (ninv + 1) * sizeof *invs);
			invs[ninv++] = arg;
			break;
		case 'o': out = arg; break;
		case 'f': force = 1; break;
		case 's': stats_opt = 1; break;
		case 'S': j.summary = 1; break;
		case 256:
			if (!strcmp(arg, "csv"))
				csv = 1;
			else if (strcmp(arg, "text"))
				fl_die(FL_EXIT_USAGE, "bad --summary-format '%s' (text or csv)", arg);
			break;
		}
	}
	if (!ninv)
		fl_die(FL_EXIT_USAGE, "no inventory: give --inventory PATH (az CLI JSON, Resource Graph "
		       "results, a ranges CSV, or a folder of them; see --help)");
	int n;
	char **names = fl_inputs(argc, argv, first, &n);

	int status = FL_EXIT_OK;
	j.inv = inv_new();
	j.unknown_macs = strpool_new();
	j.argc = argc;
	j.argv = argv;
	flt_header_init(&j.prov);
	for (size_t i = 0; i < ninv; i++)
		if (load_path(&j, invs[i], 1) != 0)
			status = FL_EXIT_DAMAGED;
	inv_finish(j.inv);
	free(invs);
	inv_counts ic;
	inv_get_counts(j.inv, &ic);
	/* nothing at all and nothing damaged: the wrong folder, most likely */
	if (!ic.subs && !ic.vnets && !ic.nics && !ic.pips && !ic.ranges && status == FL_EXIT_OK)
		fl_die(FL_EXIT_USAGE, "no inventory found in what --inventory named (az account, vnet, "
		       "nic or public-ip lists, Resource Graph results, or a cidr,label,kind CSV)");

	fl_output o;
	fl_output_open(&o, out, force, !j.summary);
	j.out = o.fp;
	j.out_name = out ? out : "standard output";
	if (j.summary) {
		j.paths = strpool_new();
		j.conns = agg_new(&conn_ops, 0, NULL);
	}
	for (int i = 0; i < n; i++) {
		int is_stdin = !strcmp(names[i], "-");
		const char *name = is_stdin ? "standard input" : names[i];
		FILE *fp = is_stdin ? stdin : fopen(names[i], "rb");
		if (!fp) {
			fl_warn("cannot open '%s': %s", names[i], strerror(errno));
			status = FL_EXIT_DAMAGED;
			continue;
		}
		flt_reader *r = flt_reader_new(fp, name);
		int bad = process(&j, r) != 0;
		flt_reader_free(r);
		if (!is_stdin)
			fclose(fp);
		if (bad)
			flt_writer_abandon(j.wr, &o);
	}
	if (j.summary) {
		print_summary(&j, o.fp, csv);
		agg_free(j.conns);
		strpool_free(j.paths);
		fl_output_commit(&o);
	} else {
		if (!j.wr)
			start_writer(&j, NULL);
		flt_writer_finish(j.wr, &o);
	}
	if (stats_opt)
		print_stats(&j);
	flt_header_free(&j.prov);
	free(j.vkeys), free(j.vids);
	inv_free(j.inv);
	strpool_free(j.unknown_macs);
	return status;
}
