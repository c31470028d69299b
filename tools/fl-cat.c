/*
 * fl-cat - print a tuple stream as aligned text, CSV or JSON lines.
 * See man/fl-cat.1.  Every string that came from the input is escaped for
 * the output it goes to: CSV quoting plus neutralised formula prefixes,
 * JSON escapes with invalid UTF-8 replaced, control bytes in text.
 */
#include "cli.h"
#include "flt.h"
#include "ip.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum fmt { FMT_TEXT, FMT_CSV, FMT_JSONL };

/* Fields: the core ones, then blob-path ones, provenance, then annotation
 * columns (looked up by name in each segment's header). */
enum fid {
	F_TIME, F_SRC, F_DST, F_SPORT, F_DPORT, F_PROTO, F_DIR, F_STATE, F_ACTION, F_ENC,
	F_PKTS_SD, F_BYTES_SD, F_PKTS_DS, F_BYTES_DS,
	F_KIND, F_VERSION, F_RULE, F_ACL, F_MAC, F_TARGET, F_FLOWLOG,
	F_ARCHIVE, F_MEMBER, F_ORDINAL, F_SHA256, F_BLOB_SUB, F_BLOB_FLOWLOG, F_BLOB_MAC, F_BLOB_HOUR,
	F_COLUMN /* an annotation column */
};
static const char *const core_names[] = {
	"time", "src", "dst", "sport", "dport", "proto", "dir", "state", "action", "enc",
	"pkts_sd", "bytes_sd", "pkts_ds", "bytes_ds",
	"kind", "version", "rule", "acl", "mac", "target", "flowlog",
	"archive", "member", "ordinal", "sha256", "blob_sub", "blob_flowlog", "blob_mac", "blob_hour",
};
#define N_CORE (sizeof core_names / sizeof core_names[0])
/* Text column widths; wider values push the row, never get cut. */
static const int text_width[] = { 24, 15, 15, 5, 5, 3, 1, 1, 1, 3, 6, 9, 6, 9 };

typedef struct field {
	int id;
	char name[32];
	int col; /* index in the current segment's columns, -1 if absent */
} field;

static const fl_option options[] = {
	{ "csv", 'c', NULL, "comma-separated values with a header line" },
	{ "jsonl", 'j', NULL, "one JSON object per line" },
	{ "fields", 'F', "LIST", "columns to print, comma-separated (see --list-fields)" },
	{ "provenance", 'p', NULL, "add archive, member and ordinal columns" },
	{ "no-header", 'H', NULL, "omit the header line (text and CSV)" },
	{ "list-fields", 256, NULL, "list the field names of the input and exit" },
	{ NULL, 0, NULL, NULL }
};
static const char usage_line[] = "[options] [FILE...]\n"
	"Prints a binary tuple stream (files, or standard input) as text, CSV or JSON lines.";

/* ---- output buffer ---------------------------------------------------- */

static char obuf[1 << 16];
static size_t olen;

static void oflush(void)
{
	if (olen && fwrite(obuf, 1, olen, stdout) != olen)
		fl_die(FL_EXIT_FATAL, "write error on standard output");
	olen = 0;
}

static void oput(const char *s, size_t n)
{
	if (olen + n > sizeof obuf)
		oflush();
	if (n > sizeof obuf) {
		if (fwrite(s, 1, n, stdout) != n)
			fl_die(FL_EXIT_FATAL, "write error on standard output");
		return;
	}
	memcpy(obuf + olen, s, n);
	olen += n;
}

static void oputc(char c)
{
	if (olen == sizeof obuf)
		oflush();
	obuf[olen++] = c;
}

static void oputs(const char *s) { oput(s, strlen(s)); }

static size_t fmt_u64(uint64_t v, char *buf)
{
	char t[24];
	size_t n = 0, i = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		buf[i++] = t[--n];
	buf[i] = 0;
	return i;
}

/* ---- escaping ---------------------------------------------------------- */

static void put_csv(const char *s, size_t n, int from_input)
{
	int quote = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	/* A cell a spreadsheet would run as a formula is prefixed with a quote. */
	int neutral = from_input && n &&
	              (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
	               s[0] == '\t' || s[0] == '\r');
	if (!quote && !neutral) {
		oput(s, n);
		return;
	}
	oputc('"');
	if (neutral)
		oputc('\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			oputc('"');
		oputc(s[i]);
	}
	oputc('"');
}

/* Length of a valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n || (s[0] >= 0xf8))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

static void put_json_str(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	oputc('"');
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			oputc('\\');
			oputc((char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[8];
			snprintf(e, sizeof e, "\\u%04x", c);
			oputs(e);
			i++;
		} else {
			size_t l = utf8_len(s + i, n - i);
			if (l)
				oput(str + i, l);
			else
				oputs("\\ufffd");
			i += l ? l : 1;
		}
	}
	oputc('"');
}

/* Text: control bytes (C0, DEL, C1), backslashes and invalid UTF-8 are
 * shown as \xNN, so a hostile string cannot drive the terminal. */
static size_t put_text(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(u + i, n - i);
		int c1 = l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0;
		if (l == 0 || c1 || u[i] < 0x20 || u[i] == 0x7f || u[i] == '\\') {
			char e[8];
			snprintf(e, sizeof e, "\\x%02x", u[i]);
			oputs(e);
			w += 4;
			i++;
		} else {
			oput(s + i, l);
			w++;
			i += l;
		}
	}
	return w;
}

/* ---- values ------------------------------------------------------------ */

typedef struct value {
	const char *s;
	size_t n;
	int kind; /* 0 empty, 1 number, 2 string from input, 3 our own string */
	char buf[80];
} value;

static void set_num(value *v, uint64_t n)
{
	v->n = fmt_u64(n, v->buf);
	v->s = v->buf;
	v->kind = 1;
}

static void set_own(value *v, const char *s, size_t n)
{
	v->s = s;
	v->n = n;
	v->kind = n ? 3 : 0;
}

static void set_chr(value *v, uint8_t c)
{
	v->buf[0] = (char)c;
	set_own(v, v->buf, c ? 1 : 0);
}

static void set_dict(value *v, const flt_reader *r, uint32_t id)
{
	size_t n = 0;
	const char *s = flt_reader_str(r, id, &n);
	v->s = s;
	v->n = n;
	v->kind = n ? 2 : 0;
}

static void get_value(const flt_reader *r, const flt_rec *rec, const field *f, value *v)
{
	const flt_source *src = NULL;
	v->kind = 0;
	v->n = 0;
	v->s = "";
	if (f->id >= F_ARCHIVE && f->id <= F_BLOB_HOUR)
		src = flt_reader_source(r, rec->source);
	switch (f->id) {
	case F_TIME: set_own(v, v->buf, fl_format_time(rec->time_ms, v->buf)); break;
	case F_SRC: set_own(v, v->buf, ip_format(rec->src, v->buf)); break;
	case F_DST: set_own(v, v->buf, ip_format(rec->dst, v->buf)); break;
	case F_SPORT: set_num(v, rec->sport); break;
	case F_DPORT: set_num(v, rec->dport); break;
	case F_PROTO: set_num(v, rec->proto); break;
	case F_DIR: set_chr(v, rec->dir); break;
	case F_STATE: set_chr(v, rec->state); break;
	case F_ACTION: set_chr(v, rec->action); break;
	case F_ENC:
		if (rec->enc == FLT_ENC_OTHER)
			set_dict(v, r, rec->enc_text);
		else if (flt_enc_name(rec->enc))
			set_own(v, flt_enc_name(rec->enc), strlen(flt_enc_name(rec->enc)));
		break;
	case F_PKTS_SD: case F_BYTES_SD: case F_PKTS_DS: case F_BYTES_DS:
		if (rec->flags & FLT_F_COUNTERS) {
			const uint64_t c[4] = { rec->pkts_sd, rec->bytes_sd, rec->pkts_ds, rec->bytes_ds };
			set_num(v, c[f->id - F_PKTS_SD]);
		}
		break;
	case F_KIND: {
		static const char *const k[] = { "", "vnet", "nsg", "nsg" };
		const char *s = rec->kind < 4 ? k[rec->kind] : "";
		set_own(v, s, strlen(s));
		break;
	}
	case F_VERSION: set_num(v, rec->version); break;
	case F_RULE: set_dict(v, r, rec->rule); break;
	case F_ACL: set_dict(v, r, rec->acl); break;
	case F_MAC: set_dict(v, r, rec->mac); break;
	case F_TARGET: set_dict(v, r, rec->target); break;
	case F_FLOWLOG: set_dict(v, r, rec->flowlog); break;
	case F_ORDINAL: set_num(v, rec->ordinal); break;
	case F_ARCHIVE: case F_MEMBER: case F_BLOB_SUB: case F_BLOB_FLOWLOG: case F_BLOB_MAC: {
		if (!src)
			break;
		const char *s = f->id == F_ARCHIVE ? src->archive : f->id == F_MEMBER ? src->member :
		                f->id == F_BLOB_SUB ? src->path_sub :
		                f->id == F_BLOB_FLOWLOG ? src->path_flowlog : src->path_mac;
		v->s = s ? s : "";
		v->n = strlen(v->s);
		v->kind = v->n ? 2 : 0;
		break;
	}
	case F_SHA256:
		if (src && src->has_sha256) {
			for (int i = 0; i < 32; i++)
				snprintf(v->buf + 2 * i, 3, "%02x", src->sha256[i]);
			set_own(v, v->buf, 64);
		}
		break;
	case F_BLOB_HOUR:
		if (src && src->path_hour_ms >= 0)
			set_own(v, v->buf, fl_format_time(src->path_hour_ms, v->buf));
		break;
	case F_COLUMN: {
		if (f->col < 0)
			break;
		const flt_header *h = flt_reader_header((flt_reader *)r);
		if (h->cols[f->col].type == FLT_COL_STR)
			set_dict(v, r, rec->col[f->col]);
		else
			set_num(v, rec->col[f->col]);
		break;
	}
	}
}

/* ---- fields ------------------------------------------------------------ */

static int add_field(field *fs, int n, const char *name, size_t len)
{
	if (n >= 96)
		fl_die(FL_EXIT_USAGE, "too many fields");
	if (len == 0 || len >= sizeof fs[n].name)
		fl_die(FL_EXIT_USAGE, "bad field name '%.*s' (see --list-fields)", (int)len, name);
	memcpy(fs[n].name, name, len);
	fs[n].name[len] = 0;
	fs[n].id = F_COLUMN;
	fs[n].col = -1;
	for (size_t i = 0; i < N_CORE; i++)
		if (strcmp(core_names[i], fs[n].name) == 0)
			fs[n].id = (int)i;
	return n + 1;
}

/* Columns of a segment are matched by name; an unknown name is an error only
 * if no segment of the input declares it (checked on the first segment). */
static void resolve(field *fs, int n, const flt_header *h)
{
	for (int i = 0; i < n; i++) {
		if (fs[i].id != F_COLUMN)
			continue;
		fs[i].col = -1;
		for (uint32_t c = 0; c < h->ncols; c++)
			if (strcmp(h->cols[c].name, fs[i].name) == 0)
				fs[i].col = (int)c;
	}
}

static void print_header(const field *fs, int n, enum fmt fmt)
{
	for (int i = 0; i < n; i++) {
		if (i)
			oputc(fmt == FMT_CSV ? ',' : ' ');
		if (fmt == FMT_TEXT && i + 1 < n) {
			int w = fs[i].id < (int)(sizeof text_width / sizeof text_width[0]) ?
			        text_width[fs[i].id] : 0;
			size_t l = strlen(fs[i].name);
			oputs(fs[i].name);
			for (int p = (int)l; p < w; p++)
				oputc(' ');
		} else {
			oputs(fs[i].name);
		}
	}
	oputc('\n');
}

static void print_row(const flt_reader *r, const flt_rec *rec, const field *fs, int n, enum fmt fmt)
{
	value v;
	if (fmt == FMT_JSONL)
		oputc('{');
	for (int i = 0; i < n; i++) {
		get_value(r, rec, &fs[i], &v);
		if (fmt == FMT_CSV) {
			if (i)
				oputc(',');
			put_csv(v.s, v.n, v.kind == 2);
		} else if (fmt == FMT_JSONL) {
			if (i)
				oputc(',');
			put_json_str(fs[i].name, strlen(fs[i].name));
			oputc(':');
			if (v.kind == 0 && fs[i].id != F_ENC && fs[i].id != F_STATE)
				oputs("null");
			else if (v.kind == 1)
				oput(v.s, v.n);
			else
				put_json_str(v.s, v.n);
		} else {
			if (i)
				oputc(' ');
			size_t w = v.n ? put_text(v.s, v.n) : (oputc('-'), 1);
			int want = fs[i].id < (int)(sizeof text_width / sizeof text_width[0]) && i + 1 < n ?
			           text_width[fs[i].id] : 0;
			for (int p = (int)w; p < want; p++)
				oputc(' ');
		}
	}
	oputs(fmt == FMT_JSONL ? "}\n" : "\n");
}

static void default_fields(field *fs, int *n, enum fmt fmt, const flt_header *h, int prov)
{
	static const char *const text_set[] = { "time", "src", "dst", "sport", "dport", "proto",
	                                        "dir", "state", "action", "enc", "pkts_sd",
	                                        "bytes_sd", "pkts_ds", "bytes_ds", "rule" };
	if (fmt == FMT_TEXT) {
		for (size_t i = 0; i < sizeof text_set / sizeof text_set[0]; i++)
			*n = add_field(fs, *n, text_set[i], strlen(text_set[i]));
	} else {
		for (int i = F_TIME; i <= F_FLOWLOG; i++)
			*n = add_field(fs, *n, core_names[i], strlen(core_names[i]));
		for (uint32_t c = 0; c < h->ncols; c++)
			*n = add_field(fs, *n, h->cols[c].name, strlen(h->cols[c].name));
	}
	if (prov) {
		*n = add_field(fs, *n, "archive", 7);
		*n = add_field(fs, *n, "member", 6);
		*n = add_field(fs, *n, "ordinal", 7);
	}
}

/* Columns are fixed by the first segment; a later segment (concatenated
 * streams) may declare others, which are not printed: say so once. */
static int warn_columns; /* CSV/JSON with the default fields: all columns were meant */

static void warn_unshown(const field *fs, int nf, const flt_header *h)
{
	static int warned;
	if (!warn_columns)
		return;
	for (uint32_t c = 0; c < h->ncols && !warned; c++) {
		int shown = 0;
		for (int k = 0; k < nf; k++)
			shown |= fs[k].id == F_COLUMN && strcmp(fs[k].name, h->cols[c].name) == 0;
		if (!shown) {
			fl_warn("a later stream segment has column '%s', which is not printed "
			        "(the columns are those of the first segment; use --fields)", h->cols[c].name);
			warned = 1;
		}
	}
}

/* Prints every record of r; columns are matched again at each new segment.
 * Returns 0 at the end of the stream, -1 on a read error. */
static int print_rows(flt_reader *r, field *fs, int nf, enum fmt fmt)
{
	const flt_rec *rec;
	uint64_t seg = flt_reader_segment(r);
	int rc;
	resolve(fs, nf, flt_reader_header(r));
	while ((rc = flt_reader_next(r, &rec)) > 0) {
		if (flt_reader_segment(r) != seg) {
			resolve(fs, nf, flt_reader_header(r));
			seg = flt_reader_segment(r);
			warn_unshown(fs, nf, flt_reader_header(r));
		}
		print_row(r, rec, fs, nf, fmt);
	}
	return rc;
}

/* Fields of the output, fixed by the first segment's header. */
static void start(field *fs, int *nf, enum fmt fmt, const flt_header *h, int given, int prov,
                  int header)
{
	if (!given) {
		default_fields(fs, nf, fmt, h, prov);
	} else if (prov) {
		*nf = add_field(fs, *nf, "archive", 7);
		*nf = add_field(fs, *nf, "member", 6);
		*nf = add_field(fs, *nf, "ordinal", 7);
	}
	resolve(fs, *nf, h);
	for (int k = 0; k < *nf; k++)
		if (fs[k].id == F_COLUMN && fs[k].col < 0)
			fl_die(FL_EXIT_USAGE, "unknown field '%s' (see --list-fields)", fs[k].name);
	if (header && fmt != FMT_JSONL)
		print_header(fs, *nf, fmt);
}

static void list_fields(const flt_header *h)
{
	for (size_t i = 0; i < N_CORE; i++)
		printf("%s\n", core_names[i]);
	for (uint32_t c = 0; c < h->ncols; c++)
		printf("%s\n", h->cols[c].name);
}

int main(int argc, char **argv)
{
	enum fmt fmt = FMT_TEXT;
	const char *fields = NULL, *arg;
	int prov = 0, header = 1, list = 0, c, first, status = FL_EXIT_OK;
	fl_set_progname(argv[0]);
	while ((c = fl_getopt(argc, argv, options, usage_line, &arg, &first)) != -1) {
		switch (c) {
		case 'c': fmt = FMT_CSV; break;
		case 'j': fmt = FMT_JSONL; break;
		case 'F': fields = arg; break;
		case 'p': prov = 1; break;
		case 'H': header = 0; break;
		case 256: list = 1; break;
		}
	}
	int ninputs;
	char **inputs = fl_inputs(argc, argv, first, &ninputs);

	field fs[96];
	int nf = 0, started = 0;
	warn_columns = fmt != FMT_TEXT && !fields;
	if (fields) {
		if (!*fields)
			fl_die(FL_EXIT_USAGE, "--fields needs at least one field (see --list-fields)");
		for (const char *p = fields; *p;) {
			size_t len = strcspn(p, ",");
			nf = add_field(fs, nf, p, len);
			p += len + (p[len] == ',');
		}
	}
	for (int i = 0; i < ninputs; i++) {
		FILE *fp = strcmp(inputs[i], "-") == 0 ? stdin : fopen(inputs[i], "rb");
		if (!fp) {
			fl_warn("cannot open '%s': %s", inputs[i], strerror(errno));
			status = FL_EXIT_DAMAGED;
			continue;
		}
		flt_reader *r = flt_reader_new(fp, strcmp(inputs[i], "-") ? inputs[i] : "standard input");
		int rc = flt_reader_start(r);
		if (rc == 0 && list) {
			list_fields(flt_reader_header(r));
			exit(FL_EXIT_OK);
		}
		if (rc == 0 && !started) {
			start(fs, &nf, fmt, flt_reader_header(r), fields != NULL, prov, header);
			started = 1;
		}
		if (rc == 0)
			rc = print_rows(r, fs, nf, fmt);
		oflush();
		if (rc < 0) {
			fl_warn("%s", flt_reader_error(r));
			flt_reader_free(r);
			exit(FL_EXIT_FATAL);
		}
		flt_reader_free(r);
		if (fp != stdin)
			fclose(fp);
	}
	oflush();
	if (fflush(stdout) != 0)
		fl_die(FL_EXIT_FATAL, "write error on standard output");
	return status;
}
