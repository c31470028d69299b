/*
 * cli.h - what every tool shares: messages, exit codes, options that also
 * generate --help, output files that refuse terminals and clobbering, and
 * time parsing/formatting.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

enum {
	FL_EXIT_OK = 0,
	FL_EXIT_DAMAGED = 1, /* damaged or partial input; everything readable was processed */
	FL_EXIT_USAGE = 2,
	FL_EXIT_FATAL = 3    /* output I/O error, corrupt binary stream, out of memory */
};

extern const char *fl_progname;
void fl_set_progname(const char *argv0);

/* "prog: message" on stderr; fl_die exits with code. */
void fl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fl_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that dies with exit 3 instead of returning NULL. */
void *fl_xmalloc(size_t n);
void *fl_xcalloc(size_t n, size_t m);
void *fl_xrealloc(void *p, size_t n);
char *fl_xstrdup(const char *s);
/* An array of elem-byte items, indexed by an id from the input (a
 * dictionary id): grows p, of *cap items, to hold item index, doubling
 * from 256, the new items zeroed.  Returns the (maybe moved) array. */
void *fl_grow_zeroed(void *p, size_t *cap, size_t index, size_t elem);

/* The stream inputs named from argv[first] on, or standard input ("-")
 * when there are none; *n gets their count.  With none and a terminal on
 * standard input, dies with a usage error rather than wait for a stream. */
char **fl_inputs(int argc, char **argv, int first, int *n);

/* Unpredictable bytes (getrandom, else /dev/urandom) for hash seeds: keys
 * built from addresses are chosen by whoever sends traffic.  Dies (exit 3)
 * without a random source. */
void fl_random_bytes(void *buf, size_t n);

/* Options: one table gives getopt_long and --help. */
typedef struct fl_option {
	const char *name;   /* long name without "--" */
	int key;            /* short letter or a value >= 256 */
	const char *arg;    /* NULL: no argument; otherwise the placeholder shown in --help */
	const char *help;
} fl_option;
/* Iterates argv: returns the key of the next option (optarg in *arg), -1
 * at the end (first operand index in *optind_out).  --help and --version
 * are handled here (usage printed, exit 0); bad options exit 2. */
int fl_getopt(int argc, char **argv, const fl_option *opts, const char *usage,
              const char **arg, int *optind_out);
void fl_usage(FILE *fp, const fl_option *opts, const char *usage);

/* Binary output: path "-" or NULL means stdout, which must not be a
 * terminal.  A named file is written to a temporary beside it and renamed
 * on fl_output_commit(); it is refused if it exists, unless force. */
typedef struct fl_output {
	FILE *fp;
	char *path, *tmp;
} fl_output;
void fl_output_open(fl_output *o, const char *path, int force, int binary);
/* Flushes and renames; dies with exit 3 on an I/O error. */
void fl_output_commit(fl_output *o);
/* Removes the temporary (on failure paths). */
void fl_output_abort(fl_output *o);

/* Time: RFC 3339 ("2022-09-14T09:00:03.599Z", offsets allowed, date-only
 * allowed) or epoch seconds / milliseconds (by magnitude) -> epoch ms.
 * Returns 0 or -1. */
int fl_parse_time(const char *s, int64_t *ms);
/* "2022-09-14T09:00:03.599Z" into buf (at least 32 bytes); returns length. */
size_t fl_format_time(int64_t ms, char *buf);
/* Durations: "7d", "36h", "90m", "45s", "500ms", combinations ("1d12h"). */
int fl_parse_duration(const char *s, int64_t *ms);
/* Sizes: "500M", "64K", "2G", "1T", an optional B; -1 when not a positive
 * size of at most 1 TiB. */
int fl_parse_size(const char *s, uint64_t *bytes);
/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t fl_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
