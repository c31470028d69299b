/*
 * flowjson.h - the flow-log JSON reader: a strict streaming scanner for the
 * tuple path.  It accepts a member's bytes in chunks of any size and calls
 * back once per record and once per tuple; memory is bounded by the
 * largest record (FJ_MAX_RECORD).  jansson is not used here: it stays the
 * reference implementation in the tests.
 *
 * Shapes accepted per member: {"records":[...]} (nested wrappers too), a
 * bare record, a top-level array of records, JSON Lines of records,
 * pretty-printed, CRLF, UTF-8 BOM.  VNet (flowLogVersion 4) and NSG v1/v2
 * records are told apart per record.  Damage (a missing "]}", a record cut
 * in half, a seam starting with a comma, trailing commas, bad addresses,
 * tuples with the wrong field count) is reported through the problem
 * callback with the byte offset in the member; everything complete is still
 * delivered.
 */
#ifndef FL_FLOWJSON_H
#define FL_FLOWJSON_H

#include <stddef.h>
#include <stdint.h>
#include "flt.h"

#define FJ_MAX_RECORD (256u << 20)

enum fj_problem {
	FJ_PROB_SYNTAX = 0,     /* JSON syntax error (including trailing commas) */
	FJ_PROB_TRUNCATED,      /* member ends inside a record or wrapper */
	FJ_PROB_SEAM,           /* a block seam: record text begins with ',' or a record restarts mid-record */
	FJ_PROB_BAD_TUPLE,      /* wrong field count, bad address, bad number, bad enum */
	FJ_PROB_TOO_BIG,        /* record larger than FJ_MAX_RECORD: skipped */
	FJ_PROB_COUNT
};

typedef struct fj_record {
	uint64_t offset;        /* byte offset of the record's '{' in the member */
	uint64_t hash[2];       /* content hash: the same record text (whitespace outside strings ignored) gives the same hash */
	int kind;               /* enum flt_kind */
	int version;            /* flowLogVersion / properties.Version */
	int64_t time_ms;        /* the record's "time", -1 when absent or unparseable */
	uint32_t ntuples;       /* tuple strings in the record */
	int complete;           /* 0 when the record was cut short (truncated member) */
} fj_record;

typedef struct fj_callbacks {
	void *ctx;
	/* Dictionary id for a string (rule, aclID, MAC, resource IDs, unknown enc). */
	uint32_t (*intern)(void *ctx, const char *s, size_t n);
	/* Once per flow-log record, before its tuples: return 1 to deliver them, 0 to drop
	 * the record (duplicate). */
	int (*record)(void *ctx, const fj_record *rec);
	/* One tuple.  All core fields are set, source is 0, ordinal is the tuple's 1-based
	 * position among all tuple strings of the member.  The callee may change the record
	 * (set its source, say): it is rebuilt for every tuple, and copying it costs. */
	void (*tuple)(void *ctx, flt_rec *rec);
	/* A problem at a byte offset of the member; detail is a short phrase. */
	void (*problem)(void *ctx, enum fj_problem kind, uint64_t offset, const char *detail);
	/* A top-level JSON object that is not a flow-log record (other Azure diagnostic logs,
	 * log-shipper envelopes): what names it, e.g. its "category". */
	void (*foreign)(void *ctx, uint64_t offset, const char *what);
} fj_callbacks;

typedef struct fj_stats {
	uint64_t records, tuples, bad_tuples, foreign, problems;
	uint64_t enc_other;     /* tuples with an undocumented encryption value */
	uint64_t odd_letters;   /* tuples kept with an undocumented direction/state/decision letter */
} fj_stats;

typedef struct fj_scanner fj_scanner;

fj_scanner *fj_new(const fj_callbacks *cb);
/* Feeds the next chunk of the current member. */
void fj_feed(fj_scanner *s, const char *buf, size_t n);
/* Ends the current member (reports a truncated record or wrapper) and
 * resets the scanner for the next one; stats are kept. */
void fj_finish(fj_scanner *s);
const fj_stats *fj_get_stats(const fj_scanner *s);
void fj_free(fj_scanner *s);

/* Parses one tuple string (VNet 13 fields, NSG v1 8, v2 13) into rec's
 * tuple fields; kind selects the layout.  Returns 0, or -1 with a short
 * reason in *why.  Exposed for tests and the reference reader. */
int fj_parse_tuple(const char *s, size_t n, int kind, flt_rec *rec, const char **why);
/* kind for fj_parse_tuple: an NSG record without a usable properties.Version;
 * the layout (v1 8 fields, v2 13) follows the field count. */
#define FJ_KIND_NSG_AUTO 4

/* MAC spelled with or without '-', ':' or '.' separators, any case, into 12
 * upper-case hex digits: returns 12, or 0 when it is not such a MAC. */
size_t fj_norm_mac(const char *s, size_t n, char out[12]);

#endif
