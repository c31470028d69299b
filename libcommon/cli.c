/* cli.c - messages, exit codes, options, output files, time. See cli.h. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const char *fl_progname = "fl";

void fl_set_progname(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	fl_progname = slash ? slash + 1 : (argv0 ? argv0 : "fl");
}

/* Messages name files and members, which come from the input: control
 * bytes are shown as \xNN so a hostile name cannot drive the terminal or
 * forge a line of its own. */
#define MSG_KEEP 3000 /* bytes kept at each end of an overlong message */

static void vmsg(const char *fmt, va_list ap)
{
	char buf[2 * MSG_KEEP + 64], out[4 * sizeof buf];
	size_t k = 0;
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n >= (int)sizeof buf) {
		/* A huge member name must not push the reason off the line: keep
		 * both ends and say how much of the middle went. */
		char *all = malloc((size_t)n + 1);
		if (all) {
			vsnprintf(all, (size_t)n + 1, fmt, again);
			int m = snprintf(buf, sizeof buf, "%.*s[... %d bytes ...]", MSG_KEEP, all,
			                 n - 2 * MSG_KEEP);
			memcpy(buf + m, all + n - MSG_KEEP, MSG_KEEP + 1);
			free(all);
		}
	}
	va_end(again);
	for (const unsigned char *c = (const unsigned char *)buf; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			k += (size_t)snprintf(out + k, sizeof out - k, "\\x%02x", *c);
		else
			out[k++] = (char)*c;
	}
	out[k] = 0;
	fprintf(stderr, "%s: %s\n", fl_progname, out);
}

void fl_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void fl_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}

void *fl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		fl_die(FL_EXIT_FATAL, "out of memory (%zu bytes)", n);
	return p;
}

void *fl_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		fl_die(FL_EXIT_FATAL, "out of memory (%zu x %zu bytes)", n, m);
	return p;
}

void *fl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		fl_die(FL_EXIT_FATAL, "out of memory (%zu bytes)", n);
	return q;
}

void *fl_grow_zeroed(void *p, size_t *cap, size_t index, size_t elem)
{
	if (index < *cap)
		return p;
	size_t n = *cap ? *cap : 256;
	while (n <= index)
		n *= 2;
	p = fl_xrealloc(p, n * elem);
	memset((char *)p + *cap * elem, 0, (n - *cap) * elem);
	*cap = n;
	return p;
}

char **fl_inputs(int argc, char **argv, int first, int *n)
{
	static char *stdin_only[] = { "-" };
	if (first < argc) {
		*n = argc - first;
		return argv + first;
	}
	if (isatty(STDIN_FILENO))
		fl_die(FL_EXIT_USAGE, "no input: give stream files or pipe one in (see --help)");
	*n = 1;
	return stdin_only;
}

char *fl_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(fl_xmalloc(n), s, n);
}

void fl_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			FILE *fp = fopen("/dev/urandom", "rb");
			if (!fp || fread(p, 1, n, fp) != n)
				fl_die(FL_EXIT_FATAL, "no random source for a hash seed: %s", strerror(errno));
			fclose(fp);
			return;
		}
		got += (size_t)r;
	}
}

/* ---- options --------------------------------------------------------- */

#define FL_OPT_HELP 0x7001
#define FL_OPT_VERSION 0x7002

void fl_usage(FILE *fp, const fl_option *opts, const char *usage)
{
	fprintf(fp, "usage: %s %s\n\noptions:\n", fl_progname, usage);
	for (const fl_option *o = opts; o->name; o++) {
		char left[64];
		int n;
		if (o->key < 256)
			n = snprintf(left, sizeof left, "-%c, --%s", o->key, o->name);
		else
			n = snprintf(left, sizeof left, "    --%s", o->name);
		if (o->arg && n > 0 && (size_t)n < sizeof left)
			snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
		fprintf(fp, "  %-28s %s\n", left, o->help);
	}
	fprintf(fp, "  %-28s %s\n  %-28s %s\n", "-h, --help", "show this help and exit",
	        "    --version", "show the version and exit");
}

int fl_getopt(int argc, char **argv, const fl_option *opts, const char *usage,
              const char **arg, int *optind_out)
{
	struct option lo[80];
	char so[200];
	size_t nl = 0, ns = 0;
	so[ns++] = ':'; /* options may follow the files, as in GNU tools; "--" ends them */
	for (const fl_option *o = opts; o->name && nl < 77; o++) {
		lo[nl].name = o->name;
		lo[nl].has_arg = o->arg ? required_argument : no_argument;
		lo[nl].flag = NULL;
		lo[nl].val = o->key;
		nl++;
		if (o->key < 256 && ns + 3 < sizeof so) {
			so[ns++] = (char)o->key;
			if (o->arg)
				so[ns++] = ':';
		}
	}
	lo[nl++] = (struct option){ "help", no_argument, NULL, FL_OPT_HELP };
	lo[nl++] = (struct option){ "version", no_argument, NULL, FL_OPT_VERSION };
	lo[nl] = (struct option){ 0, 0, 0, 0 };
	so[ns++] = 'h';
	so[ns] = 0;

	opterr = 0;
	int c = getopt_long(argc, argv, so, lo, NULL);
	*optind_out = optind;
	*arg = optarg;
	switch (c) {
	case -1:
		return -1;
	case 'h':
	case FL_OPT_HELP:
		fl_usage(stdout, opts, usage);
		exit(FL_EXIT_OK);
	case FL_OPT_VERSION:
		printf("%s (fl-tools) %s\n", fl_progname, FL_VERSION);
		exit(FL_EXIT_OK);
	case ':':
		fl_warn("option '%s' needs a value", argv[optind - 1]);
		fprintf(stderr, "Try '%s --help'.\n", fl_progname);
		exit(FL_EXIT_USAGE);
	case '?':
		if (optopt && optopt < 256)
			fl_warn("unknown option '-%c'", optopt);
		else
			fl_warn("unknown option '%s'", argv[optind - 1]);
		fprintf(stderr, "Try '%s --help'.\n", fl_progname);
		exit(FL_EXIT_USAGE);
	default:
		return c;
	}
}

/* ---- output ---------------------------------------------------------- */

/* The temporary of an output not yet committed is removed on every exit
 * path: fl_die (atexit) and SIGINT/SIGTERM/SIGHUP/SIGPIPE (handler). */
static char *pending_tmp;

static void remove_pending(void)
{
	if (pending_tmp)
		unlink(pending_tmp);
}

static void remove_pending_signal(int sig)
{
	remove_pending();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track_pending(char *tmp)
{
	static int installed;
	pending_tmp = tmp;
	if (tmp && !installed) {
		installed = 1;
		atexit(remove_pending);
		const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], remove_pending_signal);
	}
}

void fl_output_open(fl_output *o, const char *path, int force, int binary)
{
	memset(o, 0, sizeof *o);
	if (path && !*path)
		fl_die(FL_EXIT_USAGE, "an empty output file name (use '-' for standard output)");
	if (!path || strcmp(path, "-") == 0) {
		if (binary && isatty(STDOUT_FILENO))
			fl_die(FL_EXIT_USAGE, "refusing to write a binary stream to a terminal "
			       "(redirect it, pipe it into fl-cat, or use -o FILE)");
		o->fp = stdout;
		return;
	}
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		fl_die(FL_EXIT_USAGE, "'%s' is a directory", path);
	if (!force && stat(path, &st) == 0)
		fl_die(FL_EXIT_USAGE, "'%s' exists; use --force to overwrite it", path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* /dev/null, a FIFO: write in place, nothing to rename */
		o->fp = fopen(path, "w");
		if (!o->fp)
			fl_die(FL_EXIT_FATAL, "cannot open '%s': %s", path, strerror(errno));
		o->path = fl_xstrdup(path);
		return;
	}
	size_t n = strlen(path) + 16;
	o->path = fl_xstrdup(path);
	o->tmp = fl_xmalloc(n);
	snprintf(o->tmp, n, "%s.tmpXXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0)
		fl_die(FL_EXIT_FATAL, "cannot create '%s': %s", o->tmp, strerror(errno));
	fchmod(fd, 0644);
	track_pending(o->tmp);
	o->fp = fdopen(fd, "w");
	if (!o->fp)
		fl_die(FL_EXIT_FATAL, "cannot open '%s': %s", o->tmp, strerror(errno));
}

void fl_output_commit(fl_output *o)
{
	const char *name = o->path ? o->path : "standard output";
	if (fflush(o->fp) != 0 || ferror(o->fp)) {
		int e = errno;
		fl_output_abort(o);
		fl_die(FL_EXIT_FATAL, "write error on %s: %s", name, strerror(e));
	}
	if (o->fp != stdout) {
		if (fclose(o->fp) != 0) {
			int e = errno;
			o->fp = NULL;
			fl_output_abort(o);
			fl_die(FL_EXIT_FATAL, "write error on %s: %s", name, strerror(e));
		}
		o->fp = NULL;
		if (o->tmp && rename(o->tmp, o->path) != 0) {
			int e = errno;
			fl_output_abort(o);
			fl_die(FL_EXIT_FATAL, "cannot rename to '%s': %s", o->path, strerror(e));
		}
	}
	if (o->tmp)
		track_pending(NULL);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}

void fl_output_abort(fl_output *o)
{
	if (o->fp && o->fp != stdout)
		fclose(o->fp);
	o->fp = NULL;
	if (o->tmp) {
		unlink(o->tmp);
		track_pending(NULL);
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}

/* ---- time ------------------------------------------------------------ */

int64_t fl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int fl_parse_time(const char *s, int64_t *ms)
{
	const char *p = s;
	if (!*s)
		return -1;
	/* epoch: all digits (optionally negative), seconds or ms by magnitude */
	const char *q = s + (*s == '-');
	if (*q && strspn(q, "0123456789") == strlen(q)) {
		if (strlen(q) > 15)
			return -1;
		long long v = strtoll(s, NULL, 10);
		*ms = (v >= 100000000000LL || v <= -100000000000LL) ? v : v * 1000;
		return 0;
	}
	int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &se))
				return -1;
			if (*p == '.') {
				p++;
				int nd = 0;
				while (*p >= '0' && *p <= '9') {
					if (nd < 3)
						frac = frac * 10 + (*p - '0');
					nd++;
					p++;
				}
				if (nd == 0)
					return -1;
				for (; nd < 3; nd++)
					frac *= 10;
			}
		}
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 60 + om);
	}
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
		return -1;
	if (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)))
		return -1; /* a typo must not move the window silently */
	int64_t days = fl_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ms = ((days * 24 + h) * 60 + mi - off) * 60000LL + se * 1000LL + frac;
	return 0;
}

size_t fl_format_time(int64_t ms, char *buf)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999) {
		/* The common case without snprintf: fl-cat formats every tuple. */
		static const char pat[] = "0000-00-00T00:00:00.000Z";
		unsigned v[7] = { (unsigned)y, m, d, (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
		                  (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000) };
		static const unsigned char end[7] = { 4, 7, 10, 13, 16, 19, 23 }, width[7] = { 4, 2, 2, 2, 2, 2, 3 };
		memcpy(buf, pat, sizeof pat);
		for (int i = 0; i < 7; i++)
			for (unsigned k = 1, x = v[i]; k <= width[i]; k++, x /= 10)
				buf[end[i] - k] = (char)('0' + x % 10);
		return sizeof pat - 1;
	}
	int n = snprintf(buf, 32, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
	                 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
	                 (int)(rem % 1000));
	return n > 0 ? (size_t)n : 0;
}

int fl_parse_duration(const char *s, int64_t *ms)
{
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		return -1;
	while (*p) {
		if (*p < '0' || *p > '9')
			return -1;
		int64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p++ - '0');
			if (v > 1000000000000LL)
				return -1;
		}
		int64_t unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else {
			switch (*p) {
			case 'w': unit = 7 * 86400000LL; break;
			case 'd': unit = 86400000LL; break;
			case 'h': unit = 3600000LL; break;
			case 'm': unit = 60000LL; break;
			case 's': unit = 1000LL; break;
			default: return -1;
			}
			p++;
		}
		if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
			return -1;
		total += v * unit;
	}
	*ms = total;
	return 0;
}

int fl_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10), mul = 1;
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': case 'k': mul = 1ULL << 10; end++; break;
	case 'M': case 'm': mul = 1ULL << 20; end++; break;
	case 'G': case 'g': mul = 1ULL << 30; end++; break;
	case 'T': case 't': mul = 1ULL << 40; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v == 0 || v > (1ULL << 40) / mul)
		return -1;
	*bytes = v * mul;
	return 0;
}
