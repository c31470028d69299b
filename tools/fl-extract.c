/*
 * fl-extract - Azure flow logs (files, directories, archives, stdin) to the
 * binary tuple stream.  See man/fl-extract.1.
 *
 * Flow: input.c walks the operands and hands over each JSON member in
 * chunks; flowjson.c turns them into records and tuples; this file keeps
 * the per-input accounting, drops records already seen (same blob in two
 * exports), applies the time range and writes through stream.c.
 */
#include "cli.h"
#include "flowjson.h"
#include "flt.h"
#include "input.h"
#include "sha256.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
#define MAX_PROBLEMS_SHOWN 10 /* per member; the rest are counted */

static const fl_option options[] = {
	{ "output", 'o', "FILE", "write the stream to FILE (default: standard output)" },
	{ "force", 'f', NULL, "overwrite FILE if it exists" },
	{ "since", 256, "TIME", "keep tuples at or after TIME (RFC 3339 or epoch s/ms)" },
	{ "until", 257, "TIME", "keep tuples before TIME (exclusive)" },
	{ "hash", 258, NULL, "record each member's SHA-256 in the source table" },
	{ "stats", 's', NULL, "print per-input counts on standard error" },
	{ "quiet", 'q', NULL, "do not list skipped files (problems are still reported)" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] INPUT...\n"
	"Reads Azure VNet and NSG flow logs (JSON files, directories, zip/tar/7z archives,\n"
	".json.gz, '-' for standard input) and writes the binary tuple stream.";

/* Counts for one command-line input. */
typedef struct counts {
	uint64_t members, records, tuples, skipped, pruned, dup_records, dup_tuples;
	uint64_t bad_tuples, problems, errors, out_of_range;
} counts;

/* Records already seen, by content hash: open addressing over 128-bit keys. */
typedef struct seen_set {
	uint64_t *keys; /* pairs; (0,0) = empty */
	size_t cap, n;
} seen_set;

typedef struct extract {
	flt_writer *w;
	fj_scanner *scan;
	seen_set seen;
	int quiet, hash;
	int64_t since, until; /* [since, until) in ms */
	counts *cur;          /* counts of the current input */
	/* current member */
	const in_member *m;
	uint32_t source;      /* 0 until the member's first tuple */
	in_blobpath bp;
	int has_sha;
	uint8_t sha[32];
	uint64_t member_bytes;
	unsigned shown[FJ_PROB_COUNT], hidden;
	uint64_t foreign, member_records;
	char foreign_what[96];
	sha256_ctx sc;
	FILE *spool;
	int damaged;
} extract;

/* ---- duplicate records ------------------------------------------------ */

static int seen_insert(seen_set *s, const uint64_t h[2])
{
	uint64_t a = h[0] | (h[0] == 0 && h[1] == 0); /* keep (0,0) free as "empty" */
	if (s->n * 2 >= s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		uint64_t *nk = fl_xcalloc(ncap * 2, sizeof *nk);
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->keys[2 * i] && !s->keys[2 * i + 1])
				continue;
			size_t j = s->keys[2 * i + 1] & (ncap - 1);
			while (nk[2 * j] || nk[2 * j + 1])
				j = (j + 1) & (ncap - 1);
			nk[2 * j] = s->keys[2 * i];
			nk[2 * j + 1] = s->keys[2 * i + 1];
		}
		free(s->keys);
		s->keys = nk;
		s->cap = ncap;
	}
	size_t j = h[1] & (s->cap - 1);
	for (;; j = (j + 1) & (s->cap - 1)) {
		uint64_t *k = s->keys + 2 * j;
		if (!k[0] && !k[1]) {
			k[0] = a;
			k[1] = h[1];
			s->n++;
			return 1;
		}
		if (k[0] == a && k[1] == h[1])
			return 0;
	}
}

/* ---- messages --------------------------------------------------------- */

static void where(const in_member *m, char *buf, size_t n)
{
	if (m->member && m->member[0])
		snprintf(buf, n, "%s: %s", m->archive, m->member);
	else
		snprintf(buf, n, "%s", m->archive);
}

static const char *const problem_names[FJ_PROB_COUNT] = {
	"JSON syntax error", "truncated", "block seam", "bad tuple", "record too large",
};

/* ---- scanner callbacks ------------------------------------------------ */

static uint32_t cb_intern(void *ctx, const char *s, size_t n)
{
	extract *x = ctx;
	return flt_writer_intern(x->w, s, n);
}

static int cb_record(void *ctx, const fj_record *r)
{
	extract *x = ctx;
	x->member_records++;
	if (!seen_insert(&x->seen, r->hash)) {
		x->cur->dup_records++;
		x->cur->dup_tuples += r->ntuples;
		return 0;
	}
	x->cur->records++;
	return 1;
}

static uint32_t member_source(extract *x)
{
	if (!x->source) {
		flt_source s = { 0 };
		s.archive = x->m->archive;
		s.member = x->m->member;
		s.size = x->m->size;
		if (x->hash || s.size == IN_SIZE_UNKNOWN)
			s.size = x->hash ? x->member_bytes : s.size;
		s.has_sha256 = x->has_sha;
		memcpy(s.sha256, x->sha, 32);
		s.path_sub = x->bp.sub;
		s.path_flowlog = x->bp.name;
		s.path_mac = x->bp.mac;
		s.path_hour_ms = x->bp.hour_ms;
		x->source = flt_writer_add_source(x->w, &s);
	}
	return x->source;
}

static void cb_tuple(void *ctx, flt_rec *r)
{
	extract *x = ctx;
	if (r->time_ms < x->since || r->time_ms >= x->until) {
		x->cur->out_of_range++;
		return;
	}
	r->source = member_source(x);
	x->cur->tuples++;
	if (flt_writer_put(x->w, r) != 0)
		fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(x->w));
}

static void cb_problem(void *ctx, enum fj_problem kind, uint64_t off, const char *detail)
{
	extract *x = ctx;
	char loc[8192];
	x->damaged = 1;
	if (kind == FJ_PROB_BAD_TUPLE)
		x->cur->bad_tuples++;
	else
		x->cur->problems++;
	if (x->shown[kind] >= MAX_PROBLEMS_SHOWN) {
		x->hidden++;
		return;
	}
	x->shown[kind]++;
	where(x->m, loc, sizeof loc);
	fl_warn("%s: byte %" PRIu64 ": %s: %s", loc, off, problem_names[kind], detail);
}

static void cb_foreign(void *ctx, uint64_t off, const char *what)
{
	extract *x = ctx;
	(void)off;
	if (!x->foreign++)
		snprintf(x->foreign_what, sizeof x->foreign_what, "%s", what);
}

/* ---- input callbacks -------------------------------------------------- */

static int in_want(void *ctx, const in_member *m)
{
	extract *x = ctx;
	in_blobpath bp;
	const char *path = m->member[0] ? m->member : m->archive;
	/* A blob's hour says when records were received; its tuples may precede it
	 * by about a minute, so one hour of margin on each side. */
	if ((x->since > INT64_MIN || x->until < INT64_MAX) && in_blobpath_parse(path, &bp) &&
	    bp.hour_ms >= 0 &&
	    (bp.hour_ms + 2 * HOUR_MS <= x->since || bp.hour_ms - HOUR_MS >= x->until)) {
		x->cur->pruned++;
		return 0;
	}
	return 1;
}

static void feed_spool(extract *x)
{
	char *buf = fl_xmalloc(1u << 20);
	size_t n;
	rewind(x->spool);
	while ((n = fread(buf, 1, 1u << 20, x->spool)) > 0)
		fj_feed(x->scan, buf, n);
	free(buf);
	fclose(x->spool);
	x->spool = NULL;
}

static void in_begin(void *ctx, const in_member *m)
{
	extract *x = ctx;
	x->m = m;
	x->source = 0;
	x->member_bytes = 0;
	x->has_sha = 0;
	x->foreign = x->member_records = 0;
	x->damaged = 0;
	x->hidden = 0;
	memset(x->shown, 0, sizeof x->shown);
	in_blobpath_parse(m->member[0] ? m->member : m->archive, &x->bp);
	x->cur->members++;
	if (x->hash) {
		/* The hash must be in the source entry before the member's tuples, so
		 * the member is spooled to an unlinked temporary file first. */
		sha256_init(&x->sc);
		x->spool = tmpfile();
		if (!x->spool)
			fl_die(FL_EXIT_FATAL, "cannot create a temporary file for --hash");
	}
}

static void in_data(void *ctx, const char *buf, size_t n)
{
	extract *x = ctx;
	x->member_bytes += n;
	if (x->spool) {
		sha256_update(&x->sc, buf, n);
		if (fwrite(buf, 1, n, x->spool) != n)
			fl_die(FL_EXIT_FATAL, "write error on the --hash temporary file");
	} else {
		fj_feed(x->scan, buf, n);
	}
}

static void in_end(void *ctx, const in_member *m)
{
	extract *x = ctx;
	char loc[8192];
	if (x->spool) {
		sha256_final(&x->sc, x->sha);
		x->has_sha = 1;
		feed_spool(x);
	}
	fj_finish(x->scan);
	where(m, loc, sizeof loc);
	if (x->hidden)
		fl_warn("%s: %u more problems of the same kinds in this member", loc, x->hidden);
	if (x->foreign && !x->member_records) {
		x->cur->skipped++;
		if (!x->quiet)
			fl_warn("%s: skipped: not a flow log (%s)", loc, x->foreign_what);
	} else if (x->foreign && !x->quiet) {
		fl_warn("%s: %" PRIu64 " objects that are not flow-log records ignored (%s)", loc,
		        x->foreign, x->foreign_what);
	} else if (!x->member_records && !x->damaged) {
		x->cur->skipped++;
		if (!x->quiet)
			fl_warn("%s: skipped: no flow-log records", loc);
	}
	x->m = NULL;
}

static void in_skipped(void *ctx, const in_member *m, const char *why)
{
	extract *x = ctx;
	char loc[8192];
	x->cur->skipped++;
	if (!x->quiet) {
		where(m, loc, sizeof loc);
		fl_warn("%s: skipped: %s", loc, why);
	}
}

static void in_error(void *ctx, const in_member *m, uint64_t off, const char *msg)
{
	extract *x = ctx;
	char loc[8192];
	x->cur->errors++;
	where(m, loc, sizeof loc);
	if (off == IN_SIZE_UNKNOWN)
		fl_warn("%s: %s", loc, msg);
	else
		fl_warn("%s: byte %" PRIu64 ": %s", loc, off, msg);
}

/* ---- main ------------------------------------------------------------- */

static void print_stats(char **inputs, const counts *c, int n)
{
	counts t = { 0 };
	fprintf(stderr, "%-40s %8s %9s %10s %7s %7s %10s %8s\n", "input", "members", "records",
	        "tuples", "skipped", "pruned", "duplicates", "damaged");
	for (int i = 0; i <= n; i++) {
		const counts *k = i < n ? &c[i] : &t;
		if (i < n) {
			t.members += k->members, t.records += k->records, t.tuples += k->tuples;
			t.skipped += k->skipped, t.pruned += k->pruned;
			t.dup_records += k->dup_records, t.bad_tuples += k->bad_tuples;
			t.problems += k->problems, t.errors += k->errors;
			t.out_of_range += k->out_of_range;
		}
		if (i == n && n < 2)
			break;
		fprintf(stderr, "%-40s %8" PRIu64 " %9" PRIu64 " %10" PRIu64 " %7" PRIu64 " %7" PRIu64
		        " %10" PRIu64 " %8" PRIu64 "\n", i < n ? inputs[i] : "total", k->members,
		        k->records, k->tuples, k->skipped, k->pruned, k->dup_records,
		        k->bad_tuples + k->problems + k->errors);
	}
	if (t.out_of_range)
		fprintf(stderr, "%" PRIu64 " tuples outside --since/--until were not written\n",
		        t.out_of_range);
}

int main(int argc, char **argv)
{
	extract x = { 0 };
	const char *out = NULL, *arg;
	int force = 0, stats = 0, c, first;
	x.since = INT64_MIN;
	x.until = INT64_MAX;
	fl_set_progname(argv[0]);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'o': out = arg; break;
		case 'f': force = 1; break;
		case 's': stats = 1; break;
		case 'q': x.quiet = 1; break;
		case 258: x.hash = 1; break;
		case 256:
		case 257:
			if (fl_parse_time(arg, c == 256 ? &x.since : &x.until) != 0)
				fl_die(FL_EXIT_USAGE, "bad time '%s' (use RFC 3339, e.g. "
				       "2026-11-02T09:00:00Z, or epoch seconds/milliseconds)", arg);
			break;
		}
	}
	if (first >= argc)
		fl_die(FL_EXIT_USAGE, "no input given (use '-' for standard input); see --help");
	if (x.since >= x.until)
		fl_die(FL_EXIT_USAGE, "--since must be before --until");

	fl_output o;
	fl_output_open(&o, out, force, 1);
	flt_header h;
	flt_header_init(&h);
	flt_header_add_invocation(&h, argc, argv);
	x.w = flt_writer_new(o.fp, out ? out : "standard output", &h);
	flt_header_free(&h);
	fj_callbacks cb = { &x, cb_intern, cb_record, cb_tuple, cb_problem, cb_foreign };
	x.scan = fj_new(&cb);
	in_callbacks icb = { &x, in_want, in_begin, in_data, in_end, in_skipped, in_error };

	int n = argc - first;
	counts *all = fl_xcalloc((size_t)n, sizeof *all);
	int status = FL_EXIT_OK;
	for (int i = 0; i < n; i++) {
		x.cur = &all[i];
		in_walk(argv[first + i], &icb);
		if (all[i].errors || all[i].problems || all[i].bad_tuples)
			status = FL_EXIT_DAMAGED;
	}
	if (flt_writer_close(x.w) != 0) {
		fl_output_abort(&o);
		fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(x.w));
	}
	fl_output_commit(&o);

	uint64_t dups = 0, duptuples = 0, tuples = 0, records = 0;
	for (int i = 0; i < n; i++) {
		dups += all[i].dup_records, duptuples += all[i].dup_tuples;
		tuples += all[i].tuples, records += all[i].records;
	}
	if (dups)
		fl_warn("dropped %" PRIu64 " duplicate records (%" PRIu64 " tuples) already read "
		        "from another file or snapshot", dups, duptuples);
	if (!records && !dups && !x.quiet)
		fl_warn("no flow-log records found in the input");
	if (stats)
		print_stats(argv + first, all, n);
	fj_free(x.scan);
	free(x.seen.keys);
	free(all);
	return status;
}
