/*
 * fl-window - keep the tuples of a time window of tuple time.  See
 * man/fl-window.1.
 *
 * The window is on tuple time only: the blob hour says when Azure received
 * a record and the record time when it was flushed, and a tuple can precede
 * both by about a minute (and sit in the previous hour's blob).
 *
 * The default window ends at the newest tuple of the input, so the input is
 * read twice: a regular file is simply read again; anything else (a pipe, a
 * FIFO) is copied, while the first pass reads it, to a temporary file that
 * is unlinked as soon as it exists, so no exit path, signals included, can
 * leave it behind (spool.c).  Records are never held in memory.
 */
#include "cli.h"
#include "flowgraph.h"
#include "flt.h"
#include "spool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_MS 86400000LL

static const fl_option options[] = {
	{ "output", 'o', "FILE", "write the stream to FILE (default: standard output)" },
	{ "force", 'f', NULL, "overwrite FILE if it exists" },
	{ "last", 'l', "DURATION", "length of the window (default 7d; e.g. 36h, 1d12h)" },
	{ "now", 'n', "TIME", "end the window at TIME, included (default: the newest tuple)" },
	{ "since", 256, "TIME", "keep tuples at or after TIME (RFC 3339 or epoch s/ms)" },
	{ "until", 257, "TIME", "keep tuples before TIME (exclusive)" },
	{ "stats", 's', NULL, "print the window and the kept/dropped counts on standard error" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] [FILE...]\n"
	"Keeps the tuples of a time window (tuple time; by default the 7 days ending at the\n"
	"newest tuple, inclusive) from a binary tuple stream (files, or standard input).";

/* [lo, hi) in ms; an inclusive end T is stored as T + 1 (times are whole ms). */
typedef struct window {
	int64_t lo, hi;
	int hi_inclusive; /* only for display: the end was given as inclusive */
	int unbounded;    /* --since alone: no end */
} window;

typedef struct input {
	const char *name; /* for messages */
	FILE *fp;
	fl_spool sp;      /* the second pass: the file again, or its spooled copy */
} input;

typedef struct tally {
	uint64_t kept, before, after;
	int64_t oldest, newest;
	uint64_t seen;
} tally;

/* ---- window ------------------------------------------------------------ */

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static int in_window(const window *w, int64_t t)
{
	return t >= w->lo && t < w->hi;
}

/* "[2026-10-27T09:00:00.000Z,2026-11-03T09:00:00.000Z]": brackets say which
 * ends are included, as in interval notation. */
static void window_text(const window *w, char *buf, size_t n)
{
	char a[40], b[40];
	fl_format_time(w->lo, a);
	if (w->unbounded) {
		snprintf(buf, n, "[%s,+inf)", a);
		return;
	}
	fl_format_time(w->hi_inclusive ? w->hi - 1 : w->hi, b);
	snprintf(buf, n, "[%s,%s%c", a, b, w->hi_inclusive ? ']' : ')');
}

static void parse_time_opt(const char *opt, const char *arg, int64_t *ms)
{
	if (fl_parse_time(arg, ms) != 0)
		fl_die(FL_EXIT_USAGE, "bad %s time '%s' (use RFC 3339, e.g. 2026-11-02T09:00:00Z, "
		       "or epoch seconds/milliseconds)", opt, arg);
}

/* ---- inputs ------------------------------------------------------------ */

/* Opens an operand; NULL (and a warning) when it cannot be opened. */
static FILE *open_input(const char *arg, const char **name)
{
	int is_stdin = strcmp(arg, "-") == 0;
	*name = is_stdin ? "standard input" : arg;
	FILE *fp = is_stdin ? stdin : fopen(arg, "rb");
	if (!fp)
		fl_warn("cannot open '%s': %s", arg, strerror(errno));
	return fp;
}

/* First pass: the newest tuple.  Damage is found here, before any output. */
static int scan_newest(const input *in, FILE *fp, int64_t *newest, uint64_t *n)
{
	flt_reader *r = flt_reader_new(fp, in->name);
	const flt_rec *rec;
	int rc;
	uint64_t seg = UINT64_MAX;
	while ((rc = flt_reader_next(r, &rec)) > 0) {
		if (flt_reader_segment(r) != seg) {
			seg = flt_reader_segment(r);
			fg_need_tuples(r);
		}
		if (rec->time_ms > *newest)
			*newest = rec->time_ms;
		(*n)++;
	}
	if (rc < 0)
		fl_warn("%s", flt_reader_error(r));
	flt_reader_free(r);
	return rc;
}

/* ---- copy --------------------------------------------------------------- */

typedef struct job {
	window w;
	const char *out_name;
	FILE *out;
	flt_writer *wr;
	int argc;
	char **argv;
	char wtext[128];
	tally t;
} job;

static void start_writer(job *j, const flt_header *first)
{
	flt_header h;
	flt_header_init(&h);
	if (first)
		flt_header_copy(&h, first);
	flt_header_add_invocation(&h, j->argc, j->argv);
	flt_header_add_prov(&h, "fl-window", j->wtext);
	j->wr = flt_writer_new(j->out, j->out_name, &h);
	flt_header_free(&h);
}

/* Second (or only) pass over one input: 0, or -1 on a damaged stream. */
static int copy_window(job *j, const input *in)
{
	flt_reader *r = flt_reader_new(in->fp, in->name);
	const flt_rec *rec;
	int rc = flt_reader_start(r);
	if (rc == 0 && !j->wr)
		start_writer(j, flt_reader_header(r));
	const window w = j->w;
	tally t = j->t;
	uint64_t seg = UINT64_MAX;
	while (rc >= 0 && (rc = flt_reader_next(r, &rec)) > 0) {
		if (__builtin_expect(flt_reader_segment(r) != seg, 0)) {
			seg = flt_reader_segment(r);
			fg_need_tuples(r);
		}
		int64_t tm = rec->time_ms;
		t.seen++;
		if (tm < t.oldest)
			t.oldest = tm;
		if (tm > t.newest)
			t.newest = tm;
		if (__builtin_expect(!in_window(&w, tm), 0)) {
			if (tm < w.lo)
				t.before++;
			else
				t.after++;
			continue;
		}
		if (flt_writer_copy(j->wr, r, rec) != 0)
			fl_die(FL_EXIT_FATAL, "%s", flt_writer_error(j->wr));
		t.kept++;
	}
	j->t = t;
	if (rc < 0)
		fl_warn("%s", flt_reader_error(r));
	flt_reader_free(r);
	return rc < 0 ? -1 : 0;
}

static void print_stats(const job *j, const char *how, const input *ins, int n)
{
	char a[40], b[40];
	fprintf(stderr, "window   %s  (%s)\n", j->wtext, how);
	fprintf(stderr, "kept     %" PRIu64 "\n", j->t.kept);
	fprintf(stderr, "before   %" PRIu64 "\n", j->t.before);
	fprintf(stderr, "after    %" PRIu64 "\n", j->t.after);
	if (j->t.seen) {
		fl_format_time(j->t.oldest, a);
		fl_format_time(j->t.newest, b);
	} else {
		strcpy(a, "-");
		strcpy(b, "-");
	}
	fprintf(stderr, "oldest   %s\n", a);
	fprintf(stderr, "newest   %s\n", b);
	for (int i = 0; i < n; i++)
		if (ins[i].sp.spooled)
			fprintf(stderr, "spooled  %" PRIu64 " bytes of %s\n", ins[i].sp.spooled, ins[i].name);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *out = NULL, *arg;
	int force = 0, stats = 0, c, first;
	int has_last = 0, has_now = 0, has_since = 0, has_until = 0;
	int64_t last = 7 * DAY_MS, now = 0, since = 0, until = 0;
	const char *last_arg = "7d";
	char how[96];
	fl_set_progname(argv[0]);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'o': out = arg; break;
		case 'f': force = 1; break;
		case 's': stats = 1; break;
		case 'l':
			if (fl_parse_duration(arg, &last) != 0 || last <= 0)
				fl_die(FL_EXIT_USAGE, "bad --last duration '%s' (e.g. 7d, 36h, 1d12h, 90m)", arg);
			has_last = 1;
			last_arg = arg;
			break;
		case 'n': parse_time_opt("--now", arg, &now); has_now = 1; break;
		case 256: parse_time_opt("--since", arg, &since); has_since = 1; break;
		case 257: parse_time_opt("--until", arg, &until); has_until = 1; break;
		}
	}
	if (has_now && (has_since || has_until))
		fl_die(FL_EXIT_USAGE, "--now cannot be combined with --%s: --now ends the window "
		       "itself (use --since/--until for explicit bounds)", has_since ? "since" : "until");
	if (has_since && has_until && has_last)
		fl_die(FL_EXIT_USAGE, "--since, --until and --last together over-determine the window; "
		       "give two of them");
	if (has_since && has_until && since >= until)
		fl_die(FL_EXIT_USAGE, "--since must be before --until");

	job j;
	memset(&j, 0, sizeof j);
	j.argc = argc;
	j.argv = argv;
	j.t.oldest = INT64_MAX;
	j.t.newest = INT64_MIN;
	int need_newest = !has_now && !has_since && !has_until;
	if (has_since) {
		j.w.lo = since;
		j.w.hi = has_until ? until : has_last ? sat_add(since, last) : INT64_MAX;
		j.w.unbounded = !has_until && !has_last;
		if (has_until)
			snprintf(how, sizeof how, "from --since to --until, exclusive");
		else if (has_last)
			snprintf(how, sizeof how, "%s from --since, end exclusive", last_arg);
		else
			snprintf(how, sizeof how, "from --since on, no end");
	} else if (has_until) {
		j.w.lo = sat_add(until, -last);
		j.w.hi = until;
		snprintf(how, sizeof how, "%s ending at --until, exclusive", last_arg);
	} else if (has_now) {
		j.w.lo = sat_add(now, -last);
		j.w.hi = sat_add(now, 1);
		j.w.hi_inclusive = 1;
		snprintf(how, sizeof how, "%s ending at --now, inclusive", last_arg);
	}

	int n;
	char **names = fl_inputs(argc, argv, first, &n);

	fl_output o;
	fl_output_open(&o, out, force, 1);
	j.out = o.fp;
	j.out_name = out ? out : "standard output";

	input *ins = fl_xcalloc((size_t)n, sizeof *ins);
	int status = FL_EXIT_OK, empty = 0;
	if (need_newest) {
		int64_t newest = INT64_MIN;
		uint64_t count = 0;
		for (int i = 0; i < n; i++) {
			if (!(ins[i].fp = open_input(names[i], &ins[i].name))) {
				status = FL_EXIT_DAMAGED;
				continue;
			}
			FILE *fp = fl_spool_begin(&ins[i].sp, ins[i].fp, ins[i].name);
			if (scan_newest(&ins[i], fp, &newest, &count) < 0)
				flt_writer_abandon(j.wr, &o);
			fl_spool_rewind(&ins[i].sp);
			ins[i].fp = ins[i].sp.fp;
		}
		empty = count == 0;
		j.w.lo = sat_add(newest, -last);
		j.w.hi = sat_add(newest, 1);
		j.w.hi_inclusive = 1;
		snprintf(how, sizeof how, "%s ending at the newest tuple, inclusive", last_arg);
	}
	if (empty)
		snprintf(j.wtext, sizeof j.wtext, "none: no tuples in the input");
	else
		window_text(&j.w, j.wtext, sizeof j.wtext);

	for (int i = 0; i < n; i++) {
		if (!need_newest && !(ins[i].fp = open_input(names[i], &ins[i].name))) {
			status = FL_EXIT_DAMAGED;
			continue;
		}
		if (!ins[i].fp)
			continue;
		if (copy_window(&j, &ins[i]) < 0)
			flt_writer_abandon(j.wr, &o);
		if (ins[i].fp != stdin)
			fclose(ins[i].fp);
		ins[i].fp = NULL;
	}
	if (!j.wr)
		start_writer(&j, NULL); /* nothing readable: still a valid, empty stream */
	flt_writer_finish(j.wr, &o);
	if (stats)
		print_stats(&j, how, ins, n);
	free(ins);
	return status;
}
