/*
 * fl-geo - annotate the source and destination of every tuple with the
 * address class, country, city, ASN, AS organisation and Azure service tag.
 * See man/fl-geo.1.
 *
 * Records are copied by hand rather than with flt_writer_copy(): that puts
 * the record itself, and the annotation columns have to be set between the
 * remapping and the put.  The remapping is the same (dictionary and source
 * ids, columns by name), cached per reader segment.
 */
#include "cli.h"
#include "flowgraph.h"
#include "flt.h"
#include "geo.h"
#include "ip.h"

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FL_DATADIR
#define FL_DATADIR "/usr/local/share/fl-tools"
#endif

#define MAX_DBS 16

static const fl_option options[] = {
	{ "output", 'o', "FILE", "write the stream to FILE (default: standard output)" },
	{ "force", 'f', NULL, "overwrite FILE if it exists" },
	{ "db", 'd', "FILE", "MaxMind DB file (repeatable; earlier files win field by field)" },
	{ "service-tags", 't', "FILE", "Azure service tags JSON (ServiceTags_Public_*.json)" },
	{ "classify-only", 'c', NULL, "use no geolocation database: classes (and service tags)" },
	{ "no-cache", 256, NULL, "look every address up again (to check the cache)" },
	{ "stats", 's', NULL, "print the data used and lookup counts on standard error" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] [FILE...]\n"
	"Annotates the source and destination of every tuple of a binary tuple stream (files,\n"
	"or standard input) with address class, country, city, ASN, AS organisation and Azure\n"
	"service tag.\nDatabases: --db, else $FL_GEO_DB (colon-separated), else "
	FL_DATADIR "/geo/*.mmdb.";

/* Output columns: src_X at 2*i, dst_X at 2*i+1. */
enum { C_CLASS, C_COUNTRY, C_CITY, C_ASN, C_ASORG, C_TAG, C_N };
static const char *const col_names[C_N] = { "class", "country", "city", "asn", "asorg",
                                            "service_tag" };

typedef struct job {
	geo *g;
	flt_writer *wr;
	FILE *out;
	const char *out_name;
	flt_header wh;          /* the writer's header, for remapping columns by name */
	int col[2 * C_N];
	/* fl-join-subs may have run first: its ExternalPublic becomes AzurePublic
	 * where a service tag now says the public end is Azure's */
	int flow_type;          /* writer column, -1 when absent */
	uint32_t external_public, azure_public;
	uint32_t cls_id[IP_CLASS_COUNT];
	uint32_t *gmap;         /* geo string id -> writer id + 1 */
	size_t gmap_cap;
	uint32_t (*rvals)[C_N]; /* geo result id -> column values, [0][0] = 0 when not yet */
	size_t rvals_cap;
	uint64_t rvals_epoch;
	uint64_t epoch;         /* flt_reader_epoch of the current segment */
	/* Tuples of one flow log come in runs from one VM: the last address
	 * of each side and its column values skip the cache and the mapping. */
	uint8_t last[2][16];
	uint32_t last_id[2];    /* 0: none */
	uint64_t last_epoch[2]; /* geo_results_epoch() of last_id */
	int argc;
	char **argv;
	uint64_t tuples;
} job;

/* ---- databases ---------------------------------------------------------- */

static void add_db(geo *g, const char *path)
{
	char err[600];
	if (geo_add_db(g, path, err, sizeof err) != 0)
		fl_die(FL_EXIT_USAGE, "%s", err);
}

static int discover(geo *g, const char *const *dbs, int ndb, char *where, size_t wsize)
{
	for (int i = 0; i < ndb; i++)
		add_db(g, dbs[i]);
	if (ndb)
		return ndb;
	const char *env = getenv("FL_GEO_DB");
	if (env && *env) {
		int n = 0;
		char *copy = fl_xstrdup(env), *save = NULL;
		for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save), n++)
			add_db(g, p);
		free(copy);
		if (n)
			return n;
	}
	glob_t gl;
	const char *pattern = FL_DATADIR "/geo/*.mmdb";
	int n = 0;
	if (glob(pattern, 0, NULL, &gl) == 0) {
		for (size_t i = 0; i < gl.gl_pathc; i++, n++)
			add_db(g, gl.gl_pathv[i]);
		globfree(&gl);
	}
	snprintf(where, wsize, "--db (none given), FL_GEO_DB (%s), %s (no files)",
	         env ? "empty" : "unset", pattern);
	return n;
}

/* ---- writer ------------------------------------------------------------- */

/* Provenance of an earlier fl-geo run would describe values this run
 * overwrites, so it goes. */
static void drop_geo_prov(flt_header *h)
{
	size_t k = 0;
	for (size_t i = 0; i < h->nprov; i++) {
		if (strncmp(h->prov[i].key, "fl-geo.", 7) == 0) {
			free(h->prov[i].key);
			free(h->prov[i].value);
			continue;
		}
		h->prov[k++] = h->prov[i];
	}
	h->nprov = k;
}

static void start_writer(job *j, const flt_header *first)
{
	flt_header_init(&j->wh);
	if (first)
		flt_header_copy(&j->wh, first);
	drop_geo_prov(&j->wh);
	flt_header_add_invocation(&j->wh, j->argc, j->argv);
	for (size_t i = 0; i < geo_db_count(j->g); i++)
		flt_header_add_prov(&j->wh, "fl-geo.db", geo_db_desc(j->g, i));
	if (geo_tags_desc(j->g))
		flt_header_add_prov(&j->wh, "fl-geo.service-tags", geo_tags_desc(j->g));
	for (int c = 0; c < C_N; c++) {
		for (int side = 0; side < 2; side++) {
			char name[32];
			snprintf(name, sizeof name, "%s_%s", side ? "dst" : "src", col_names[c]);
			int k = flt_header_column(&j->wh, name, FLT_COL_STR, 1);
			if (k < 0)
				fl_die(FL_EXIT_FATAL, "cannot add column %s: the stream already has %d columns",
				       name, FLT_MAX_COLS);
			if (j->wh.cols[k].type != FLT_COL_STR)
				fl_die(FL_EXIT_FATAL, "the input has a column %s that is not text", name);
			j->col[2 * c + side] = k;
		}
	}
	j->wr = flt_writer_new(j->out, j->out_name, &j->wh);
	j->flow_type = flt_header_column(&j->wh, "flow_type", FLT_COL_STR, 0);
	j->external_public = flt_writer_intern(j->wr, "ExternalPublic", 14);
	j->azure_public = flt_writer_intern(j->wr, "AzurePublic", 11);
	for (int c = 0; c < IP_CLASS_COUNT; c++) {
		const char *s = ip_class_name((enum ip_class)c);
		j->cls_id[c] = flt_writer_intern(j->wr, s, strlen(s));
	}
}

/* ---- copying ------------------------------------------------------------ */

static inline uint32_t map_geo(job *j, uint32_t id)
{
	if (!id)
		return 0;
	if (id >= j->gmap_cap)
		j->gmap = fl_grow_zeroed(j->gmap, &j->gmap_cap, id, sizeof *j->gmap);
	if (!j->gmap[id]) {
		const char *s = geo_str(j->g, id);
		j->gmap[id] = flt_writer_intern(j->wr, s, strlen(s)) + 1;
	}
	return j->gmap[id] - 1;
}

/* Column values of a geo result, in writer ids. */
static const uint32_t *result_values(job *j, uint32_t id)
{
	if (geo_results_epoch(j->g) != j->rvals_epoch) {
		j->rvals_epoch = geo_results_epoch(j->g);
		if (j->rvals)
			memset(j->rvals, 0, j->rvals_cap * sizeof *j->rvals);
	}
	if (id >= j->rvals_cap)
		j->rvals = fl_grow_zeroed(j->rvals, &j->rvals_cap, id, sizeof *j->rvals);
	uint32_t *v = j->rvals[id];
	if (!v[C_CLASS]) { /* every class has a nonzero id, so 0 means not mapped yet */
		const geo_result *g = geo_result_of(j->g, id);
		v[C_COUNTRY] = map_geo(j, g->country);
		v[C_CITY] = map_geo(j, g->city);
		v[C_ASN] = map_geo(j, g->asn);
		v[C_ASORG] = map_geo(j, g->asorg);
		v[C_TAG] = map_geo(j, g->tag);
		v[C_CLASS] = j->cls_id[g->cls];
	}
	return v;
}

static void annotate(job *j, flt_rec *o, const uint8_t a[16], int side)
{
	uint32_t id = j->last_id[side];
	if (!id || memcmp(j->last[side], a, 16) != 0 ||
	    geo_results_epoch(j->g) != j->last_epoch[side]) {
		if (!(id = geo_lookup_id(j->g, a)))
			fl_die(FL_EXIT_USAGE, "%s", geo_error(j->g));
		memcpy(j->last[side], a, 16);
		j->last_id[side] = id;
		j->last_epoch[side] = geo_results_epoch(j->g);
	}
	const uint32_t *v = result_values(j, id);
	for (int c = 0; c < C_N; c++)
		o->col[j->col[2 * c + side]] = v[c];
}

/* One input: 0, or -1 on a damaged stream. */
static int copy_input(job *j, FILE *fp, const char *name)
{
	flt_reader *r = flt_reader_new(fp, name);
	const flt_rec *rec;
	int rc = flt_reader_start(r);
	if (rc == 0 && !j->wr)
		start_writer(j, flt_reader_header(r));
	while (rc >= 0 && (rc = flt_reader_next(r, &rec)) > 0) {
		if (__builtin_expect(flt_reader_epoch(r) != j->epoch, 0)) {
			fg_need_tuples(r);
			j->epoch = flt_reader_epoch(r);
		}
		/* the cache lines load while the record is remapped */
		if (memcmp(j->last[0], rec->src, 16) != 0)
			geo_prefetch(j->g, rec->src);
		if (memcmp(j->last[1], rec->dst, 16) != 0)
			geo_prefetch(j->g, rec->dst);
		/* this tool's columns are copied too, then all overwritten */
		flt_rec o;
		flt_writer_remap(j->wr, r, rec, &o);
		annotate(j, &o, rec->src, 0);
		annotate(j, &o, rec->dst, 1);
		if (j->flow_type >= 0 && o.col[j->flow_type] == j->external_public &&
		    (o.col[j->col[2 * C_TAG]] || o.col[j->col[2 * C_TAG + 1]]))
			o.col[j->flow_type] = j->azure_public;
		if (flt_writer_put(j->wr, &o) != 0)
			fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(j->wr));
		j->tuples++;
	}
	if (rc < 0)
		fl_warn("%s", flt_reader_error(r));
	flt_reader_free(r);
	return rc < 0 ? -1 : 0;
}

static void print_stats(const job *j)
{
	geo_stats st;
	geo_get_stats(j->g, &st);
	for (size_t i = 0; i < geo_db_count(j->g); i++)
		fprintf(stderr, "db        %s\n", geo_db_desc(j->g, i));
	if (geo_tags_desc(j->g))
		fprintf(stderr, "tags      %s\n", geo_tags_desc(j->g));
	fprintf(stderr, "tuples    %" PRIu64 "\n", j->tuples);
	fprintf(stderr, "lookups   %" PRIu64 "\n", st.lookups);
	fprintf(stderr, "cached    %" PRIu64 "\n", st.cache_hits);
	fprintf(stderr, "db-reads  %" PRIu64 "\n", st.db_lookups);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *tags = NULL, *arg;
	const char *dbs[MAX_DBS];
	int ndb = 0, force = 0, stats = 0, classify_only = 0, no_cache = 0, c, first;
	fl_set_progname(argv[0]);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'o': out = arg; break;
		case 'f': force = 1; break;
		case 's': stats = 1; break;
		case 'c': classify_only = 1; break;
		case 't': tags = arg; break;
		case 256: no_cache = 1; break;
		case 'd':
			if (ndb == MAX_DBS)
				fl_die(FL_EXIT_USAGE, "at most %d --db files", MAX_DBS);
			dbs[ndb++] = arg;
			break;
		}
	}
	if (classify_only && ndb)
		fl_die(FL_EXIT_USAGE, "--classify-only uses no database: drop --db or --classify-only");

	int n;
	char **names = fl_inputs(argc, argv, first, &n);

	job j;
	memset(&j, 0, sizeof j);
	j.argc = argc;
	j.argv = argv;
	j.epoch = UINT64_MAX;
	j.g = geo_new();
	if (no_cache)
		geo_set_cache(j.g, 0);
	if (tags) {
		char err[600];
		if (geo_load_service_tags(j.g, tags, err, sizeof err) != 0)
			fl_die(FL_EXIT_USAGE, "%s", err);
	}
	if (!classify_only) {
		char where[512];
		if (discover(j.g, dbs, ndb, where, sizeof where) == 0) {
			if (!tags)
				fl_die(FL_EXIT_USAGE, "no geolocation database found; looked in %s.  Give --db "
				       "FILE, install one with `make geo-db`, or use --classify-only", where);
			fl_warn("no geolocation database found (looked in %s): classes and service "
			        "tags only", where);
		}
	}

	fl_output o;
	fl_output_open(&o, out, force, 1);
	j.out = o.fp;
	j.out_name = out ? out : "standard output";
	int status = FL_EXIT_OK;
	for (int i = 0; i < n; i++) {
		int is_stdin = strcmp(names[i], "-") == 0;
		FILE *fp = is_stdin ? stdin : fopen(names[i], "rb");
		if (!fp) {
			fl_warn("cannot open '%s': %s", names[i], strerror(errno));
			status = FL_EXIT_DAMAGED;
			continue;
		}
		if (copy_input(&j, fp, is_stdin ? "standard input" : names[i]) < 0)
			flt_writer_abandon(j.wr, &o);
		if (!is_stdin)
			fclose(fp);
	}
	if (!j.wr)
		start_writer(&j, NULL);
	flt_writer_finish(j.wr, &o);
	if (stats)
		print_stats(&j);
	flt_header_free(&j.wh);
	free(j.gmap);
	free(j.rvals);
	geo_free(j.g);
	return status;
}
