/*
 * scan-speed.c - throughput of the flow-log scanner alone (callbacks that
 * only count), so regressions on the hot path show up as MB/s.
 *   scan-speed [-c chunk] [-r repeats] file...
 * With -r the best run is reported: on a shared machine that is the figure
 * closest to an idle core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "flowjson.h"

static uint64_t n_tup, n_rec, n_prob, n_foreign;

static uint32_t cb_intern(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	(void)s;
	return (uint32_t)n + 1;
}
static int cb_record(void *ctx, const fj_record *r)
{
	(void)ctx;
	(void)r;
	n_rec++;
	return 1;
}
static void cb_tuple(void *ctx, flt_rec *r)
{
	(void)ctx;
	(void)r;
	n_tup++;
}
static void cb_problem(void *ctx, enum fj_problem k, uint64_t off, const char *d)
{
	(void)ctx;
	n_prob++;
	fprintf(stderr, "problem %d at %llu: %s\n", (int)k, (unsigned long long)off, d);
}
static void cb_foreign(void *ctx, uint64_t off, const char *what)
{
	(void)ctx;
	n_foreign++;
	fprintf(stderr, "foreign at %llu: %s\n", (unsigned long long)off, what);
}

int main(int argc, char **argv)
{
	size_t chunk = 1 << 20;
	int a = 1, repeats = 1;
	while (a + 1 < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "-c"))
			chunk = (size_t)atol(argv[a + 1]);
		else if (!strcmp(argv[a], "-r"))
			repeats = atoi(argv[a + 1]);
		a += 2;
	}
	if (repeats < 1)
		repeats = 1;
	if (chunk == 0)
		chunk = 1;
	fj_callbacks cb = {NULL, cb_intern, cb_record, cb_tuple, cb_problem, cb_foreign};
	fj_scanner *s = fj_new(&cb);
	for (; a < argc; a++) {
		FILE *fp = fopen(argv[a], "rb");
		if (!fp) {
			perror(argv[a]);
			return 1;
		}
		struct stat st;
		if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "%s: not a regular file\n", argv[a]);
			return 1;
		}
		long sz = (long)st.st_size;
		char *buf = fl_xmalloc((size_t)sz + 1);
		if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz)
			return 1;
		fclose(fp);
		double secs = 1e30;
		for (int r = 0; r < repeats; r++) {
			n_tup = n_rec = n_prob = n_foreign = 0;
			struct timespec t0, t1;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
			for (size_t off = 0; off < (size_t)sz; off += chunk)
				fj_feed(s, buf + off, (size_t)sz - off < chunk ? (size_t)sz - off : chunk);
			fj_finish(s);
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
			double t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (t < secs)
				secs = t;
		}
		printf("%s: %llu records, %llu tuples, %llu problems, %llu foreign, %.1f MB/s of CPU time\n", argv[a],
		       (unsigned long long)n_rec, (unsigned long long)n_tup, (unsigned long long)n_prob,
		       (unsigned long long)n_foreign, (double)sz / 1e6 / secs);
		free(buf);
	}
	fj_free(s);
	return 0;
}
