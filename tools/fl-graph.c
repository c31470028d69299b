/*
 * fl-graph - the runtime topology: which workloads talk to which, on which
 * ports, how much and how often, unified into applications.  Reads tuple
 * streams (or its own aggregates with --merge) and writes Graphviz, CSV,
 * JSON, an aggregate stream, or the applications table.  See
 * man/fl-graph.1 for the counting rules.
 */
#include "apps.h"
#include "cli.h"
#include "textfmt.h"
#include "flowgraph.h"
#include "flt.h"
#include "ip.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum fmt { F_DOT, F_CSV, F_JSON, F_FLT };

static const fl_option options[] = {
	{ "format", 'f', "FMT", "dot (default), csv, json or flt (mergeable aggregate)" },
	{ "output", 'o', "FILE", "write to FILE instead of standard output" },
	{ "force", 260, NULL, "overwrite FILE if it exists" },
	{ "by", 'b', "WHAT", "internal nodes: ip (default), mac, subnet, vnet, subscription, app" },
	{ "external", 'x', "WHAT", "public nodes: ip (default), prefix24, country, asn" },
	{ "top", 't', "N", "keep the N edges with the most bytes" },
	{ "min-bytes", 261, "N", "keep edges with at least N bytes (both directions)" },
	{ "proto", 262, "P", "only protocol P (tcp, udp, icmp, ipv6-icmp or 0-255)" },
	{ "port", 263, "LIST", "only these service ports (comma-separated)" },
	{ "apps", 'a', NULL, "print the applications table" },
	{ "shared-port", 264, "LIST", "ports of shared infrastructure (default " APPS_DEFAULT_SHARED ")" },
	{ "hub-fan-in", 265, "N", "a node with N or more internal clients is a shared hub (default 10)" },
	{ "merge", 'm', NULL, "inputs are aggregates written with --format flt" },
	{ "max-memory", 266, "SIZE", "memory for the aggregation before spilling to disk (default 1G)" },
	{ "stats", 's', NULL, "print what the aggregation held on standard error" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] [FILE...]\n"
	"Aggregates tuple streams into the edges of the runtime topology.";

typedef struct opts {
	enum fmt fmt;
	const char *out;
	int force, apps_table, merge, by_app, stats;
	size_t top;
	uint64_t min_bytes;
	int proto;              /* -1: any */
	uint16_t ports[64];
	size_t nports;
	const char *by_name;      /* --by as given */
	size_t max_memory;
	fg_map map;
	apps_opts ao;
} opts;

/* ---- option parsing ---------------------------------------------------- */

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		fl_die(FL_EXIT_USAGE, "bad %s '%s' (a whole number)", what, s);
	return v;
}

static size_t parse_size(const char *s)
{
	uint64_t v;
	if (fl_parse_size(s, &v) != 0 || v > SIZE_MAX)
		fl_die(FL_EXIT_USAGE, "bad size '%s' (e.g. 64M, 2G)", s);
	return (size_t)v;
}

static void parse_by(opts *o, const char *s)
{
	static const char *const cols[][2] = { { "subnet", "subnet" }, { "vnet", "vnet" },
	                                       { "subscription", "sub" } };
	if (strcmp(s, "ip") == 0)
		o->map.by = FG_BY_IP;
	else if (strcmp(s, "mac") == 0)
		o->map.by = FG_BY_MAC;
	else if (strcmp(s, "app") == 0)
		o->by_app = 1, o->map.by = FG_BY_IP;
	else {
		for (size_t i = 0; i < 3; i++)
			if (strcmp(s, cols[i][0]) == 0) {
				o->by_name = cols[i][0];
				o->map.by = FG_BY_COLUMN;
				o->map.by_column = cols[i][1];
				return;
			}
		fl_die(FL_EXIT_USAGE, "bad --by '%s' (ip, mac, subnet, vnet, subscription, app)", s);
	}
}

static void parse_external(opts *o, const char *s)
{
	if (strcmp(s, "ip") == 0)
		o->map.ext = FG_EXT_IP;
	else if (strcmp(s, "prefix24") == 0)
		o->map.ext = FG_EXT_PREFIX;
	else if (strcmp(s, "country") == 0 || strcmp(s, "asn") == 0)
		o->map.ext = FG_EXT_COLUMN, o->map.ext_column = s;
	else
		fl_die(FL_EXIT_USAGE, "bad --external '%s' (ip, prefix24, country, asn)", s);
}

static void parse_options(int argc, char **argv, opts *o, int *first)
{
	const char *arg;
	int c;
	memset(o, 0, sizeof *o);
	o->proto = -1;
	o->max_memory = (size_t)1 << 30;
	o->ao.hub_fan_in = APPS_DEFAULT_HUB_FAN_IN;
	apps_parse_ports(APPS_DEFAULT_SHARED, &o->ao);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, first)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(arg, "dot") == 0) o->fmt = F_DOT;
			else if (strcmp(arg, "csv") == 0) o->fmt = F_CSV;
			else if (strcmp(arg, "json") == 0) o->fmt = F_JSON;
			else if (strcmp(arg, "flt") == 0) o->fmt = F_FLT;
			else fl_die(FL_EXIT_USAGE, "bad --format '%s' (dot, csv, json, flt)", arg);
			break;
		case 'o': o->out = arg; break;
		case 260: o->force = 1; break;
		case 'b': parse_by(o, arg); break;
		case 'x': parse_external(o, arg); break;
		case 't':
			if ((o->top = (size_t)parse_u64(arg, "--top")) == 0)
				fl_die(FL_EXIT_USAGE, "--top must be at least 1");
			break;
		case 261: o->min_bytes = parse_u64(arg, "--min-bytes"); break;
		case 262:
			if ((o->proto = fl_proto_parse(arg)) < 0)
				fl_die(FL_EXIT_USAGE, "bad --proto '%s' (tcp, udp, icmp, ipv6-icmp or 0-255)", arg);
			break;
		case 263: {
			apps_opts tmp;
			if (!*arg || apps_parse_ports(arg, &tmp) != 0)
				fl_die(FL_EXIT_USAGE, "bad --port list '%s' (e.g. 22,443)", arg);
			memcpy(o->ports, tmp.shared, tmp.nshared * sizeof *o->ports);
			o->nports = tmp.nshared;
			break;
		}
		case 'a': o->apps_table = 1; break;
		case 264:
			if (apps_parse_ports(arg, &o->ao) != 0)
				fl_die(FL_EXIT_USAGE, "bad --shared-port list '%s' (e.g. 53,123)", arg);
			break;
		case 265: o->ao.hub_fan_in = (unsigned)parse_u64(arg, "--hub-fan-in"); break;
		case 'm': o->merge = 1; break;
		case 266: o->max_memory = parse_size(arg); break;
		case 's': o->stats = 1; break;
		}
	}
	/* An aggregate keeps addresses and observers, not the tuples'
	 * annotations: grouping by them needs the tuples. */
	if ((o->fmt == F_FLT || o->merge) && (o->map.by == FG_BY_COLUMN || o->map.ext == FG_EXT_COLUMN))
		fl_die(FL_EXIT_USAGE, "%s %s needs the tuples' annotations, which an aggregate "
		       "(--format flt, --merge) does not keep: group the tuples instead",
		       o->map.by == FG_BY_COLUMN ? "--by" : "--external",
		       o->map.by == FG_BY_COLUMN ? o->by_name : o->map.ext_column);
	if (o->fmt == F_FLT && (o->top || o->min_bytes || o->apps_table || o->by_app ||
	                        o->map.by != FG_BY_IP || o->map.ext != FG_EXT_IP))
		fl_die(FL_EXIT_USAGE, "--format flt writes the whole mergeable aggregate: "
		       "--top, --min-bytes, --apps, --by and --external apply when it is read back");
	if (o->ao.hub_fan_in == 0)
		fl_die(FL_EXIT_USAGE, "--hub-fan-in must be at least 1");
}

/* ---- reading ------------------------------------------------------------- */

static int wanted(const opts *o, const flt_rec *r)
{
	if (o->proto >= 0 && r->proto != o->proto)
		return 0;
	if (!o->nports)
		return 1;
	for (size_t i = 0; i < o->nports; i++)
		if (o->ports[i] == r->dport)
			return 1;
	return 0;
}

/* The filters an aggregate was made with, as its header records them. */
static void filter_text(const opts *o, char *buf, size_t n)
{
	size_t k = (size_t)snprintf(buf, n, "proto=");
	k += (size_t)(o->proto < 0 ? snprintf(buf + k, n - k, "any") : snprintf(buf + k, n - k, "%d", o->proto));
	k += (size_t)snprintf(buf + k, n - k, " ports=%s", o->nports ? "" : "any");
	for (size_t i = 0; i < o->nports && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%u", i ? "," : "", o->ports[i]);
}

static const char *header_filter(const flt_header *h)
{
	for (size_t i = 0; i < h->nprov; i++)
		if (strcmp(h->prov[i].key, "fl-graph.filter") == 0)
			return h->prov[i].value;
	return "proto=any ports=any";
}

/* Reads every input into g; the first header goes to *first_header. */
static int read_inputs(char **inputs, int n, const opts *o, flowgraph *g, flt_header *first_header)
{
	int status = FL_EXIT_OK, have_header = 0, warned = 0;
	char first_filter[512] = "";
	for (int i = 0; i < n; i++) {
		int is_stdin = strcmp(inputs[i], "-") == 0;
		FILE *fp = is_stdin ? stdin : fopen(inputs[i], "rb");
		if (!fp) {
			fl_warn("cannot open '%s': %s", inputs[i], strerror(errno));
			status = FL_EXIT_DAMAGED;
			continue;
		}
		flt_reader *r = flt_reader_new(fp, is_stdin ? "standard input" : inputs[i]);
		const flt_rec *rec;
		int rc = flt_reader_start(r);
		if (rc == 0 && !have_header) {
			flt_header_copy(first_header, flt_reader_header(r));
			have_header = 1;
		}
		uint64_t seg = UINT64_MAX;
		while (rc == 0 && (rc = flt_reader_next(r, &rec)) > 0) {
			rc = 0;
			if (flt_reader_segment(r) != seg) {
				seg = flt_reader_segment(r);
				if (o->merge != fg_is_aggregate(r))
					fl_die(FL_EXIT_USAGE, "%s: %s", inputs[i], o->merge ?
					       "not an aggregate written by fl-graph --format flt" :
					       "an aggregate stream: read it with --merge");
				const char *f = o->merge ? header_filter(flt_reader_header(r)) : "";
				if (!first_filter[0])
					snprintf(first_filter, sizeof first_filter, "%s", f);
				else if (strcmp(first_filter, f) && !warned++)
					fl_warn("%s: made with other filters (%s) than the first aggregate (%s): "
					        "each part counts only what its filters kept", inputs[i], f,
					        first_filter);
			}
			if (wanted(o, rec) && fg_add(g, r, rec) != 0)
				fl_die(FL_EXIT_USAGE, "%s: %s", inputs[i], fg_error(g));
		}
		if (rc < 0)
			fl_die(FL_EXIT_FATAL, "%s", flt_reader_error(r));
		flt_reader_free(r);
		if (!is_stdin)
			fclose(fp);
	}
	return status;
}

/* ---- edges: filters, applications ---------------------------------------- */

static uint64_t edge_bytes(const fg_edge *e)
{
	return e->val.bytes_sd + e->val.bytes_ds;
}

static int by_bytes_desc(const void *pa, const void *pb)
{
	const fg_edge *a = pa, *b = pb;
	uint64_t x = edge_bytes(a), y = edge_bytes(b);
	if (x != y)
		return x < y ? 1 : -1;
	return a < b ? -1 : a > b; /* stable: the array is in key order */
}

static size_t filter_edges(fg_edge *e, size_t n, const opts *o)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (edge_bytes(&e[i]) >= o->min_bytes)
			e[k++] = e[i];
	if (o->top && k > o->top) {
		/* keep the top N by bytes, then restore key order */
		fg_edge *tmp = fl_xmalloc(k * sizeof *tmp);
		memcpy(tmp, e, k * sizeof *tmp);
		qsort(tmp, k, sizeof *tmp, by_bytes_desc);
		uint64_t cut = edge_bytes(&tmp[o->top - 1]);
		size_t kept = 0, at_cut = 0;
		for (size_t i = 0; i < o->top; i++)
			at_cut += edge_bytes(&tmp[i]) == cut;
		for (size_t i = 0; i < k; i++) {
			uint64_t b = edge_bytes(&e[i]);
			if (b > cut || (b == cut && at_cut && at_cut--))
				e[kept++] = e[i];
		}
		free(tmp);
		k = kept;
	}
	return k;
}

/* --by app: internal addresses become their application's name. */
static size_t collapse_to_apps(flowgraph *g, const apps *a, fg_edge *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const app_info *s = apps_of(a, &e[i].src), *d = apps_of(a, &e[i].dst);
		if (s)
			fg_label_node(g, s->name, &e[i].src);
		if (d)
			fg_label_node(g, d->name, &e[i].dst);
	}
	return fg_merge_edges(g, e, n);
}

/* ---- output --------------------------------------------------------------- */

static void write_csv(FILE *fp, const flowgraph *g, const fg_edge *e, size_t n)
{
	/* One row per edge, a million rows for a big estate: the numbers are
	 * formatted by hand, without a printf per field. */
	char s[512], d[512], row[512];
	fputs("src,dst,dport,proto,flows,packets,bytes,packets_sd,bytes_sd,packets_ds,bytes_ds,"
	      "denied,first_seen,last_seen,observers\n", fp);
	for (size_t i = 0; i < n; i++) {
		const fa_edge *v = &e[i].val;
		const uint64_t num[] = { e[i].dport, e[i].proto, v->flows, v->pkts_sd + v->pkts_ds,
		                         v->bytes_sd + v->bytes_ds, v->pkts_sd, v->bytes_sd, v->pkts_ds,
		                         v->bytes_ds, v->denied };
		char *p = row;
		fg_node_format(g, &e[i].src, s, sizeof s);
		fg_node_format(g, &e[i].dst, d, sizeof d);
		fl_csv_cell(fp, s);
		fputc(',', fp);
		fl_csv_cell(fp, d);
		for (size_t k = 0; k < sizeof num / sizeof num[0]; k++) {
			*p++ = ',';
			p = fl_put_u64(p, num[k]);
		}
		*p++ = ',';
		p += fl_format_time(v->first, p);
		*p++ = ',';
		p += fl_format_time(v->last, p);
		*p++ = ',';
		p = fl_put_u64(p, fa_edge_observers(v));
		*p++ = '\n';
		fwrite(row, 1, (size_t)(p - row), fp);
	}
}

static void dot_id(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\\\x%02x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

/* Cluster of an internal node: its application, else its private block. */
static void node_group(const flowgraph *g, const fg_node *nd, const apps *a, char *buf, size_t cap)
{
	const app_info *ai = a ? apps_of(a, nd) : NULL;
	if (fg_node_external(g, nd)) {
		snprintf(buf, cap, "external");
	} else if (ai) {
		snprintf(buf, cap, "%s", ai->name);
	} else if (nd->type <= FG_PREFIX && ip_is_v4(nd->v)) {
		snprintf(buf, cap, "%u.%u.0.0/16", nd->v[12], nd->v[13]);
	} else {
		snprintf(buf, cap, "internal");
	}
}

typedef struct gnode {
	fg_node n;
	char group[64];
} gnode;

static const flowgraph *gn_graph;
static int gnode_cmp(const void *pa, const void *pb)
{
	const gnode *a = pa, *b = pb;
	int c = strcmp(a->group, b->group);
	return c ? c : fg_node_cmp(gn_graph, &a->n, &b->n);
}

static gnode *graph_nodes(const flowgraph *g, const fg_edge *e, size_t n, const apps *a, size_t *nn)
{
	gnode *v = fl_xmalloc((2 * n + 1) * sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		v[k].n = e[i].src;
		node_group(g, &e[i].src, a, v[k].group, sizeof v[k].group);
		k++;
		v[k].n = e[i].dst;
		node_group(g, &e[i].dst, a, v[k].group, sizeof v[k].group);
		k++;
	}
	gn_graph = g;
	qsort(v, k, sizeof *v, gnode_cmp);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || gnode_cmp(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	*nn = u;
	return v;
}

static void write_dot(FILE *fp, const flowgraph *g, const fg_edge *e, size_t n, const apps *a)
{
	size_t nn;
	char buf[512], hb[32], pb[8];
	gnode *v = graph_nodes(g, e, n, a, &nn);
	fputs("digraph flows {\n"
	      "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=10];\n"
	      "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
	      "  edge [fontname=\"Helvetica\", fontsize=8];\n", fp);
	for (size_t i = 0; i < nn; i++) {
		if (i == 0 || strcmp(v[i].group, v[i - 1].group)) {
			if (i)
				fputs("  }\n", fp);
			fprintf(fp, "  subgraph \"cluster_%zu\" {\n    label=", i);
			dot_id(fp, v[i].group);
			fputs(strcmp(v[i].group, "external") == 0 ? ";\n    style=dashed;\n" : ";\n", fp);
		}
		fg_node_format(g, &v[i].n, buf, sizeof buf);
		fputs("    ", fp);
		dot_id(fp, buf);
		fputs(";\n", fp);
	}
	if (nn)
		fputs("  }\n", fp);
	/* Every edge here is derived from traffic: dotted. */
	for (size_t i = 0; i < n; i++) {
		const fa_edge *x = &e[i].val;
		fg_node_format(g, &e[i].src, buf, sizeof buf);
		fputs("  ", fp);
		dot_id(fp, buf);
		fputs(" -> ", fp);
		fg_node_format(g, &e[i].dst, buf, sizeof buf);
		dot_id(fp, buf);
		fl_human_bytes(x->bytes_sd + x->bytes_ds, hb, sizeof hb);
		fprintf(fp, " [style=dotted, label=\"%s/%u \xc2\xb7 %s \xc2\xb7 %" PRIu64 " conn%s",
		        fl_proto_name(e[i].proto, pb), e[i].dport, hb, x->flows, x->flows == 1 ? "" : "s");
		if (x->denied)
			fprintf(fp, " \xc2\xb7 %u denied", x->denied);
		fputs(x->flows ? "\"];\n" : "\", color=red];\n", fp);
	}
	fputs("}\n", fp);
	free(v);
}

static json_t *node_json(const flowgraph *g, const fg_node *nd, const apps *a, const char *group)
{
	char buf[512];
	fg_node_format(g, nd, buf, sizeof buf);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(buf));
	json_object_set_new(o, "external", json_boolean(fg_node_external(g, nd)));
	if (nd->type <= FG_PREFIX)
		json_object_set_new(o, "class", json_string(ip_class_name(ip_classify(nd->v))));
	const app_info *ai = a ? apps_of(a, nd) : NULL;
	if (ai)
		json_object_set_new(o, "app", json_string(ai->name));
	json_object_set_new(o, "group", json_string(group));
	return o;
}

static void write_json(FILE *fp, const flowgraph *g, const fg_edge *e, size_t n, const apps *a)
{
	size_t nn;
	char s[512], d[512], t1[32], t2[32], pb[8];
	gnode *v = graph_nodes(g, e, n, a, &nn);
	json_t *root = json_object(), *nodes = json_array(), *edges = json_array(), *al = json_array();
	for (size_t i = 0; i < nn; i++)
		json_array_append_new(nodes, node_json(g, &v[i].n, a, v[i].group));
	for (size_t i = 0; i < n; i++) {
		const fa_edge *x = &e[i].val;
		fg_node_format(g, &e[i].src, s, sizeof s);
		fg_node_format(g, &e[i].dst, d, sizeof d);
		fl_format_time(x->first, t1);
		fl_format_time(x->last, t2);
		json_array_append_new(edges, json_pack(
			"{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:i}",
			"src", s, "dst", d, "dport", (int)e[i].dport, "proto", fl_proto_name(e[i].proto, pb),
			"flows", (json_int_t)x->flows, "packets", (json_int_t)(x->pkts_sd + x->pkts_ds),
			"bytes", (json_int_t)(x->bytes_sd + x->bytes_ds), "packets_sd", (json_int_t)x->pkts_sd,
			"bytes_sd", (json_int_t)x->bytes_sd, "packets_ds", (json_int_t)x->pkts_ds,
			"bytes_ds", (json_int_t)x->bytes_ds, "denied", (json_int_t)x->denied,
			"first_seen", t1, "last_seen", t2, "observers", (int)fa_edge_observers(x)));
	}
	for (size_t i = 0; a && i < apps_count(a); i++) {
		const app_info *ai = apps_get(a, i);
		json_t *m = json_array();
		for (size_t k = 0; k < ai->nmembers; k++) {
			fg_node_format(g, &ai->members[k], s, sizeof s);
			json_array_append_new(m, json_string(s));
		}
		json_array_append_new(al, json_pack("{s:s, s:b, s:o, s:I, s:I, s:I, s:s, s:I, s:I}",
			"name", ai->name, "shared", ai->shared, "members", m,
			"internal_edges", (json_int_t)ai->internal_edges,
			"public_peers_in", (json_int_t)ai->public_peers_in,
			"public_peers_out", (json_int_t)ai->public_peers_out, "exposed_ports", ai->exposed,
			"flows", (json_int_t)ai->flows, "bytes", (json_int_t)ai->bytes));
	}
	json_object_set_new(root, "nodes", nodes);
	json_object_set_new(root, "edges", edges);
	json_object_set_new(root, "applications", al);
	if (json_dumpf(root, fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
		fl_die(FL_EXIT_FATAL, "write error");
	fputc('\n', fp);
	json_decref(root);
	free(v);
}

static void write_apps(FILE *fp, const flowgraph *g, const apps *a)
{
	char hb[32], m[512];
	fprintf(fp, "%-10s %7s %9s %8s %9s %12s %10s  %s\n", "app", "members", "int.edges", "peers_in",
	        "peers_out", "bytes", "flows", "exposed ports / members");
	for (size_t i = 0; i < apps_count(a); i++) {
		const app_info *ai = apps_get(a, i);
		fl_human_bytes(ai->bytes, hb, sizeof hb);
		fprintf(fp, "%-10s %7zu %9zu %8zu %9zu %12s %10" PRIu64 "  %s\n", ai->name, ai->nmembers,
		        ai->internal_edges, ai->public_peers_in, ai->public_peers_out, hb, ai->flows,
		        ai->exposed[0] ? ai->exposed : "-");
		size_t len = 0;
		m[0] = 0;
		for (size_t k = 0; k < ai->nmembers && len + 48 < sizeof m; k++) {
			len += (size_t)snprintf(m + len, sizeof m - len, "%s", k ? " " : "");
			len += fg_node_format(g, &ai->members[k], m + len, sizeof m - len);
		}
		if (len + 48 >= sizeof m)
			snprintf(m + len, sizeof m - len, " ...");
		fprintf(fp, "%-10s %58s  %s\n", "", "", m);
	}
}

/* Records the regular input files hold, roughly (116 bytes each). */
static uint64_t expected_tuples(char **inputs, int n)
{
	uint64_t bytes = 0;
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (strcmp(inputs[i], "-") && stat(inputs[i], &st) == 0 && S_ISREG(st.st_mode))
			bytes += (uint64_t)st.st_size;
	}
	return bytes / FLT_CORE_SIZE;
}

/* edges: 0 after --format flt, which writes connections, not edges. */
static void print_stats(const flowgraph *g, int edges)
{
	fg_stats st;
	fg_get_stats(g, &st);
	fprintf(stderr, "tuples           %" PRIu64 "\n", st.tuples);
	fprintf(stderr, "connection keys  %" PRIu64 " in memory (%.1f MB), %u spill runs\n",
	        st.conn_keys, st.conn_bytes / 1e6, st.conn_runs);
	if (edges)
		fprintf(stderr, "edges            %" PRIu64 " (%.1f MB, %.0f bytes per edge)\n", st.edges,
	        st.edge_bytes / 1e6, st.edges ? (double)st.edge_bytes / (double)st.edges : 0.0);
}

int main(int argc, char **argv)
{
	opts o;
	int first;
	fl_set_progname(argv[0]);
	parse_options(argc, argv, &o, &first);
	int ninputs;
	char **inputs = fl_inputs(argc, argv, first, &ninputs);

	flowgraph *g = fg_new(&o.map, o.max_memory, NULL);
	fg_expect(g, expected_tuples(inputs, ninputs));
	flt_header h;
	flt_header_init(&h);
	int status = read_inputs(inputs, ninputs, &o, g, &h);

	fl_output out;
	fl_output_open(&out, o.out, o.force, o.fmt == F_FLT && !o.apps_table);
	if (o.fmt == F_FLT && !o.apps_table) {
		flt_header wh;
		flt_header_init(&wh);
		flt_header_copy(&wh, &h);
		wh.ncols = 0; /* tuple annotations do not survive aggregation */
		fg_aggregate_header(&wh);
		char filt[512];
		filter_text(&o, filt, sizeof filt);
		flt_header_add_prov(&wh, "fl-graph.filter", filt);
		flt_header_add_invocation(&wh, argc, argv);
		flt_writer *w = flt_writer_new(out.fp, o.out ? o.out : "standard output", &wh);
		if (fg_write_aggregate(g, w) != 0 || flt_writer_close(w) != 0) {
			fl_output_abort(&out);
			fl_die(FL_EXIT_FATAL, "%s", fg_error(g)[0] ? fg_error(g) : flt_writer_error(w));
		}
		flt_header_free(&wh);
		if (o.stats)
			print_stats(g, 0);
	} else {
		fg_edge *e;
		size_t n;
		if (fg_edges(g, &e, &n) != 0) {
			fl_output_abort(&out);
			fl_die(FL_EXIT_FATAL, "%s", fg_error(g));
		}
		/* CSV rows name addresses, not applications: no need to build them */
		int need_apps = o.apps_table || o.by_app || o.fmt == F_DOT || o.fmt == F_JSON;
		apps *a = o.map.by == FG_BY_IP && need_apps ? apps_build(g, e, n, &o.ao) : NULL;
		if (o.by_app)
			n = collapse_to_apps(g, a, e, n);
		n = filter_edges(e, n, &o);
		if (o.apps_table && a)
			write_apps(out.fp, g, a);
		else if (o.apps_table)
			fl_die(FL_EXIT_USAGE, "--apps needs address granularity (--by ip)");
		else if (o.fmt == F_CSV)
			write_csv(out.fp, g, e, n);
		else if (o.fmt == F_JSON)
			write_json(out.fp, g, e, n, a);
		else
			write_dot(out.fp, g, e, n, a);
		apps_free(a);
		if (o.stats)
			print_stats(g, 1);
	}
	fl_output_commit(&out);
	flt_header_free(&h);
	fg_free(g);
	return status;
}
