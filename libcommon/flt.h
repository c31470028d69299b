/*
 * flt.h - the binary tuple stream (FLT): the in-memory record and the
 * reader/writer API.  stream.c is the only code that reads or writes FLT
 * bytes; the layout on disk is documented in man/flt.5.
 *
 * A stream is one or more segments (so `cat a.flt b.flt` is a stream).  A
 * segment is: magic, HEAD block, then DICT / SRCS / DATA blocks, then END.
 * Records reference strings (rule, aclID, MAC, resource IDs, annotation
 * values) by dictionary id and their origin by source id; ids are local to a
 * segment, so a tool that copies records from a reader to a writer goes
 * through flt_writer_copy(), which remaps them.
 */
#ifndef FL_FLT_H
#define FL_FLT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLT_MAJOR 1
#define FLT_MINOR 0
#define FLT_CORE_SIZE 116      /* bytes of the core record on disk */
#define FLT_MAX_COLS 40        /* annotation columns a record may carry */
#define FLT_BLOCK_MAX (1u << 20)
#define FLT_STR_MAX 65536      /* longest dictionary string / source path, bytes */

/* Flow-log kind, from the record that held the tuple. */
enum flt_kind { FLT_KIND_VNET = 1, FLT_KIND_NSG1 = 2, FLT_KIND_NSG2 = 3 };

/* Encryption status (VNet field 9).  NSG tuples have none (FLT_ENC_NONE);
 * a value Microsoft has not documented is FLT_ENC_OTHER and its text is kept
 * verbatim in the dictionary (flt_rec.enc_text). */
enum flt_enc {
	FLT_ENC_NONE = 0,
	FLT_ENC_X,
	FLT_ENC_NX,
	FLT_ENC_NX_HW_NOT_SUPPORTED,
	FLT_ENC_NX_SW_NOT_READY,
	FLT_ENC_NX_NOT_ACCEPTED,
	FLT_ENC_NX_NOT_SUPPORTED,
	FLT_ENC_NX_LOCAL_DST,
	FLT_ENC_NX_FALLBACK,
	FLT_ENC_OTHER,
	FLT_ENC_COUNT
};

/* flt_rec.flags */
#define FLT_F_COUNTERS 0x01 /* the four counters were present (may be 0); absent = unmeasured */

/* One flow tuple.  Addresses are 16 bytes, IPv4 mapped into IPv6
 * (::ffff:a.b.c.d).  String fields are dictionary ids; 0 means "none". */
typedef struct flt_rec {
	int64_t time_ms;          /* tuple time, Unix epoch milliseconds */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto;            /* IANA number; NSG T/U mapped to 6/17 */
	uint8_t dir;              /* 'I' or 'O' */
	uint8_t state;            /* 'B','C','E','D' (NSG v1: 0, it has none) */
	uint8_t action;           /* 'A' or 'D' */
	uint8_t enc;              /* enum flt_enc */
	uint8_t kind;             /* enum flt_kind */
	uint8_t version;          /* flowLogVersion (4) or NSG properties.Version (1, 2) */
	uint8_t flags;            /* FLT_F_* */
	uint64_t pkts_sd, bytes_sd, pkts_ds, bytes_ds; /* deltas; see FLT_F_COUNTERS */
	uint32_t rule, acl, mac, target, flowlog, enc_text; /* dictionary ids */
	uint32_t source;          /* source table id (archive + member) */
	uint32_t ordinal;         /* 1-based tuple number within the source member */
	uint32_t col[FLT_MAX_COLS]; /* annotation columns declared in the header */
} flt_rec;

/* Annotation column declared in a segment header. */
enum flt_coltype { FLT_COL_STR = 1, FLT_COL_U32 = 2 };
typedef struct flt_column {
	char name[32];
	uint8_t type;            /* enum flt_coltype; STR values are dictionary ids */
} flt_column;

/* Where tuples came from: one archive member (or plain file), plus what its
 * blob path says.  Strings are owned by the reader/writer that returns them. */
typedef struct flt_source {
	const char *archive;     /* the file named on the command line ("-" = stdin) */
	const char *member;      /* path inside the archive, "" for a plain file */
	uint64_t size;           /* uncompressed member size in bytes */
	int has_sha256;
	uint8_t sha256[32];
	/* From the blob path, "" when absent. */
	const char *path_sub;     /* subscription id */
	const char *path_flowlog; /* flow-log (VNet) or NSG name */
	const char *path_mac;     /* 12 upper-case hex digits */
	int64_t path_hour_ms;     /* y=/m=/d=/h= as epoch ms, or -1 */
} flt_source;

/* Header entries travel from tool to tool: each tool appends its own. */
typedef struct flt_kv {
	char *key, *value;
} flt_kv;

typedef struct flt_header {
	uint16_t major, minor;
	uint32_t ncols;
	flt_column cols[FLT_MAX_COLS];
	size_t ninvocations;
	char **invocations;      /* "tool version time argv..." one line each */
	size_t nprov;
	flt_kv *prov;            /* provenance of annotation data (mmdb epoch, ...) */
} flt_header;

void flt_header_init(flt_header *h);
void flt_header_free(flt_header *h);
/* Copy src's columns, invocations and provenance into dst (dst initialised). */
void flt_header_copy(flt_header *dst, const flt_header *src);
/* Append "tool version time argv" to the invocation list. */
void flt_header_add_invocation(flt_header *h, int argc, char **argv);
void flt_header_add_prov(flt_header *h, const char *key, const char *value);
/* Index of a column by name, or -1. Adds it when add != 0 and absent. */
int flt_header_column(flt_header *h, const char *name, int type, int add);

/* ---- writer ---------------------------------------------------------- */
typedef struct flt_writer flt_writer;

/* Writes to fp (not closed by the writer).  name is used in error messages.
 * The header is copied; it is written with the first block. */
flt_writer *flt_writer_new(FILE *fp, const char *name, const flt_header *h);
/* Dictionary id of a string (interned; 0 for an empty string).  A string
 * longer than FLT_STR_MAX fails the writer (the next put returns -1). */
uint32_t flt_writer_intern(flt_writer *w, const char *s, size_t n);
/* Adds a source table entry and returns its id (1-based). */
uint32_t flt_writer_add_source(flt_writer *w, const flt_source *src);
int flt_writer_put(flt_writer *w, const flt_rec *rec);
/* Finishes the segment (END block with totals) and flushes.  0 on success
 * (the writer is freed), -1 on an I/O error: the writer is then kept so
 * flt_writer_error() can be read; release it with flt_writer_free(). */
int flt_writer_close(flt_writer *w);
/* Frees without finishing the segment (error paths). */
void flt_writer_free(flt_writer *w);
/* The two endings of a tool that writes a stream to an fl_output (cli.h).
 * Finish: closes w and commits the output; on an I/O error says so, removes
 * the output and exits 3.  Abandon, when an input turned out damaged: frees
 * w without an END block, so the next tool in the pipe sees the stream cut
 * short too, removes a named output and exits 3 (w may be NULL). */
struct fl_output;
void flt_writer_finish(flt_writer *w, struct fl_output *o);
_Noreturn void flt_writer_abandon(flt_writer *w, struct fl_output *o);
const char *flt_writer_error(const flt_writer *w);
uint64_t flt_writer_count(const flt_writer *w);

/* ---- reader ---------------------------------------------------------- */
typedef struct flt_reader flt_reader;

/* Reads from fp (not closed).  name is used in error messages. */
flt_reader *flt_reader_new(FILE *fp, const char *name);
/* 1: *rec points at the next record (valid until the next call);
 * 0: clean end of stream; -1: error, see flt_reader_error() (exit 3). */
int flt_reader_next(flt_reader *r, const flt_rec **rec);
/* The header of the current segment (read at open / at each new segment). */
const flt_header *flt_reader_header(flt_reader *r);
/* Opens the stream and reads the first header: 0, or -1 on error. */
int flt_reader_start(flt_reader *r);
/* String for a dictionary id of the current segment ("" for 0 / unknown);
 * NUL-terminated, valid until the next segment starts or the reader is freed. */
const char *flt_reader_str(const flt_reader *r, uint32_t id, size_t *len);
/* Source entry for an id of the current segment, NULL if unknown; valid
 * until the next segment starts. */
const flt_source *flt_reader_source(const flt_reader *r, uint32_t id);
/* Incremented each time a new segment starts (ids change meaning). */
uint64_t flt_reader_segment(const flt_reader *r);
/* A number for the current segment that is unique across all readers of the
 * process: the key for caches of dictionary ids. */
uint64_t flt_reader_epoch(const flt_reader *r);
const char *flt_reader_error(const flt_reader *r);
/* The name given to flt_reader_new (for messages). */
const char *flt_reader_name(const flt_reader *r);
void flt_reader_free(flt_reader *r);

/* Copies rec (read from r) to w, remapping dictionary and source ids and
 * annotation columns by name.  Returns flt_writer_put()'s result. */
int flt_writer_copy(flt_writer *w, flt_reader *r, const flt_rec *rec);
/* What flt_writer_copy would write, into *out instead: for tools that set
 * columns of their own before flt_writer_put(w, out).  Columns w declares
 * and r's segment lacks are 0.  The id caches live in r, for one writer at
 * a time, and are reset when the segment or the writer changes. */
void flt_writer_remap(flt_writer *w, flt_reader *r, const flt_rec *rec, flt_rec *out);

/* ---- field names ----------------------------------------------------- */
const char *flt_enc_name(int enc);  /* "NX", ... ; "" for NONE, NULL for OTHER */
int flt_enc_parse(const char *s, size_t n); /* enum value, FLT_ENC_OTHER if unknown */

/* Tests and fuzzing only: recomputes the CRC of every whole block in an
 * in-memory stream so mutated bytes reach the checks behind the CRC.
 * Returns the number of blocks resealed. */
size_t flt_reseal(void *buf, size_t n);

#endif
