/* input.c - files, directories, stdin and archives, detected by content.
 * See input.h.  Plain JSON files are read with read(2) directly (the common
 * case of an unpacked blob tree, and the fastest); anything that starts with
 * an archive or compression signature goes through libarchive, recursively
 * for archives inside archives. */
#include "input.h"
#include "cli.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define PEEK 512

/* ---- blob paths ------------------------------------------------------ */

/* Copies the path segment starting at p (up to '/' or end) into out. */
static const char *segment(const char *p, char *out, size_t cap)
{
	size_t n = strcspn(p, "/");
	if (out) {
		size_t k = n < cap - 1 ? n : cap - 1;
		memcpy(out, p, k);
		out[k] = 0;
	}
	return p[n] ? p + n + 1 : p + n;
}

static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static int two_digits(const char *p, int *v)
{
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return -1;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return 0;
}

static void parse_hour(const char *p, in_blobpath *bp)
{
	const char *y = strncmp(p, "y=", 2) == 0 ? p - 1 : strstr(p, "/y=");
	int year = 0, mo, d, h;
	if (!y)
		return;
	y += 3;
	for (int i = 0; i < 4; i++, y++) {
		if (!isdigit((unsigned char)*y))
			return;
		year = year * 10 + (*y - '0');
	}
	if (strncmp(y, "/m=", 3) || two_digits(y + 3, &mo) || strncmp(y + 5, "/d=", 3) ||
	    two_digits(y + 8, &d) || strncmp(y + 10, "/h=", 3) || two_digits(y + 13, &h))
		return;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23)
		return;
	bp->hour_ms = (fl_days_from_civil(year, (unsigned)mo, (unsigned)d) * 24 + h) * 3600000LL;
}

static void parse_mac(const char *p, in_blobpath *bp)
{
	const char *m = find_ci(p, "macAddress=");
	char raw[32];
	size_t k = 0;
	if (!m)
		return;
	segment(m + 11, raw, sizeof raw);
	for (const char *c = raw; *c && k < 12; c++) {
		if (isxdigit((unsigned char)*c))
			bp->mac[k++] = (char)toupper((unsigned char)*c);
		else if (*c != '-' && *c != ':')
			return;
	}
	bp->mac[k == 12 ? 12 : 0] = 0;
}

int in_blobpath_parse(const char *path, in_blobpath *bp)
{
	memset(bp, 0, sizeof *bp);
	bp->hour_ms = -1;
	const char *p = find_ci(path, "flowLogResourceID=/");
	if (p) {
		bp->kind = 1;
		p += 19;
	} else if ((p = find_ci(path, "resourceId=/"))) {
		bp->kind = 2;
		p += 12;
	}
	if (p) {
		char seg[256];
		if (strncasecmp(p, "SUBSCRIPTIONS/", 14) == 0) {
			/* long form: /SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/{rg}/PROVIDERS/{ns}/{type}/{name}[/FLOWLOGS/{name}] */
			const char *q = segment(p + 14, bp->sub, sizeof bp->sub);
			const char *t = find_ci(q, "/FLOWLOGS/");
			if (!t)
				t = find_ci(q, "/NETWORKSECURITYGROUPS/");
			if (t)
				segment(strchr(t + 1, '/') + 1, bp->name, sizeof bp->name);
		} else {
			/* short form: /{SUB}_NETWORKWATCHERRG/NETWORKWATCHER_{REGION}_{NAME} */
			const char *q = segment(p, seg, sizeof seg);
			char *us = strchr(seg, '_');
			if (us) {
				*us = 0;
				snprintf(bp->sub, sizeof bp->sub, "%.63s", seg);
			}
			segment(q, seg, sizeof seg);
			if (strncasecmp(seg, "NETWORKWATCHER_", 15) == 0) {
				char *name = strchr(seg + 15, '_');
				if (name)
					snprintf(bp->name, sizeof bp->name, "%s", name + 1);
			}
		}
	}
	parse_hour(p ? p : path, bp);
	parse_mac(p ? p : path, bp);
	return bp->kind || bp->hour_ms >= 0 || bp->mac[0];
}

/* ---- content detection ----------------------------------------------- */

enum content { C_EMPTY, C_JSON, C_ARCHIVE, C_OTHER };

static enum content classify(const unsigned char *b, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return C_EMPTY;
	if (n >= 2 && ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 'P' && b[1] == 'K') ||
	               (b[0] == 'B' && b[1] == 'Z')))
		return C_ARCHIVE; /* gzip, zip, bzip2 */
	if (n >= 4 && ((b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) ||
	               (b[0] == 0xfd && b[1] == '7' && b[2] == 'z' && b[3] == 'X') ||
	               (b[0] == '7' && b[1] == 'z' && b[2] == 0xbc && b[3] == 0xaf) ||
	               (b[0] == 0x04 && b[1] == 0x22 && b[2] == 0x4d && b[3] == 0x18) ||
	               memcmp(b, "Rar!", 4) == 0))
		return C_ARCHIVE; /* zstd, xz, 7z, lz4, rar */
	if (n >= 262 && memcmp(b + 257, "ustar", 5) == 0)
		return C_ARCHIVE;
	if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		i = 3;
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i < n && (b[i] == '{' || b[i] == '[' || b[i] == ','))
		return C_JSON;
	if (i == n)
		return n < PEEK ? C_EMPTY : C_OTHER;
	return C_OTHER;
}

int in_json_prefix(const void *buf, size_t n)
{
	switch (classify(buf, n)) {
	case C_JSON: return 1;
	case C_EMPTY: return n < PEEK ? 0 : -1;
	default: return 0;
	}
}

/* A source of bytes: a plain fd, or the current entry of a libarchive. */
typedef struct pull {
	int fd;
	struct archive *a;      /* when set, read the current entry */
	char *buf;              /* fd reads land here */
	uint64_t off;           /* bytes delivered so far */
	int failed;
	char err[256];
} pull;

/* Next chunk: 1 with data, 0 at the end, -1 on error (p->err). */
static int pull_next(pull *p, const char **buf, size_t *n)
{
	if (p->failed)
		return -1;
	if (p->a) {
		const void *b;
		size_t len;
		la_int64_t o;
		int r = archive_read_data_block(p->a, &b, &len, &o);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			snprintf(p->err, sizeof p->err, "%s", archive_error_string(p->a) ?
			         archive_error_string(p->a) : "read error");
			p->failed = 1;
			return -1;
		}
		*buf = b;
		*n = len;
		p->off += len;
		return 1;
	}
	for (;;) {
		ssize_t r = read(p->fd, p->buf, CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(p->err, sizeof p->err, "%s", strerror(errno));
			p->failed = 1;
			return -1;
		}
		*buf = p->buf;
		*n = (size_t)r;
		p->off += (size_t)r;
		return r > 0;
	}
}

typedef struct walker {
	const in_callbacks *cb;
	unsigned errors;
} walker;

static void report(walker *w, const in_member *m, uint64_t off, const char *msg)
{
	w->errors++;
	w->cb->error(w->cb->ctx, m, off, msg);
}

/* Reads at least PEEK bytes (or to the end) into peek; returns the count or -1. */
static ssize_t fill_peek(pull *p, char *peek, const char **rest, size_t *restn)
{
	size_t have = 0;
	*rest = NULL;
	*restn = 0;
	while (have < PEEK) {
		const char *b;
		size_t n;
		int r = pull_next(p, &b, &n);
		if (r < 0 && have == 0)
			return -1;
		if (r <= 0)
			break; /* on an error, what was read is still read; the next pull reports it */
		size_t take = n < PEEK - have ? n : PEEK - have;
		if (take)
			memcpy(peek + have, b, take);
		have += take;
		if (take < n) {
			*rest = b + take;
			*restn = n - take;
		}
	}
	return (ssize_t)have;
}

static void walk_archive(walker *w, struct archive *a, const in_member *outer, int depth);

/* Streams a JSON member to the callbacks: the peeked bytes, the rest of the
 * current chunk, then everything else. */
static void stream_json(walker *w, const in_member *m, pull *p, const char *peek, size_t npeek,
                        const char *rest, size_t restn)
{
	const char *b;
	size_t n;
	int r;
	w->cb->begin(w->cb->ctx, m);
	w->cb->data(w->cb->ctx, peek, npeek);
	if (restn)
		w->cb->data(w->cb->ctx, rest, restn);
	while ((r = pull_next(p, &b, &n)) > 0)
		w->cb->data(w->cb->ctx, b, n);
	if (r < 0)
		report(w, m, p->off, p->err);
	w->cb->end(w->cb->ctx, m);
}

/* libarchive read callback for an archive nested in another one: the bytes
 * already peeked first, then the outer entry's data. */
typedef struct nested {
	pull *outer;
	const char *peek, *rest;
	size_t npeek, nrest;
	int stage;
} nested;

static la_ssize_t nested_read(struct archive *a, void *ud, const void **buf)
{
	nested *nd = ud;
	(void)a;
	if (nd->stage == 0) {
		nd->stage = 1;
		if (nd->npeek) {
			*buf = nd->peek;
			return (la_ssize_t)nd->npeek;
		}
	}
	if (nd->stage == 1) {
		nd->stage = 2;
		if (nd->nrest) {
			*buf = nd->rest;
			return (la_ssize_t)nd->nrest;
		}
	}
	const char *b;
	size_t n;
	int r = pull_next(nd->outer, &b, &n);
	if (r < 0) {
		archive_set_error(a, EIO, "%s", nd->outer->err);
		return -1;
	}
	*buf = b;
	return r ? (la_ssize_t)n : 0;
}

static struct archive *new_reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		fl_die(FL_EXIT_FATAL, "out of memory (libarchive)");
	archive_read_support_filter_all(a);
	/* Formats a responder may be handed; not mtree/ar, whose detection can
	 * claim plain text.  raw covers a single compressed file (.json.gz). */
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_7zip(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_rar(a);
	archive_read_support_format_rar5(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_format_xar(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_raw(a);
	return a;
}

/* Dispatches one member (or file) by its content. */
static void process(walker *w, const in_member *m, pull *p, int depth)
{
	char peek[PEEK];
	const char *rest;
	size_t restn;
	ssize_t np = fill_peek(p, peek, &rest, &restn);
	if (np < 0) {
		report(w, m, p->off, p->err);
		return;
	}
	switch (classify((const unsigned char *)peek, (size_t)np)) {
	case C_EMPTY:
		w->cb->skipped(w->cb->ctx, m, np ? "only whitespace" : "empty");
		return;
	case C_OTHER:
		w->cb->skipped(w->cb->ctx, m, "neither JSON nor an archive");
		return;
	case C_JSON:
		stream_json(w, m, p, peek, (size_t)np, rest, restn);
		return;
	case C_ARCHIVE:
		break;
	}
	if (depth >= IN_MAX_DEPTH) {
		report(w, m, 0, "archives nested too deep; member skipped");
		return;
	}
	struct archive *a = new_reader();
	nested nd = { p, peek, rest, (size_t)np, restn, 0 };
	if (archive_read_open(a, &nd, NULL, nested_read, NULL) != ARCHIVE_OK)
		report(w, m, 0, archive_error_string(a) ? archive_error_string(a) : "cannot open archive");
	else
		walk_archive(w, a, m, depth + 1);
	archive_read_free(a);
}

static void walk_archive(walker *w, struct archive *a, const in_member *outer, int depth)
{
	struct archive_entry *e;
	char *name = fl_xmalloc(IN_NAME_MAX + 1);
	int r, retries = 0, data_failed = 0;
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY && retries++ < 8)
			continue;
		if (r < ARCHIVE_WARN) {
			/* After a member's data failed, the archive usually cannot go on:
			 * that is the same damage, already reported. */
			if (!data_failed) {
				const char *msg = archive_error_string(a);
				report(w, outer, (uint64_t)archive_filter_bytes(a, 0),
				       msg ? msg : "damaged archive");
			}
			break;
		}
		retries = 0;
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		/* The UTF-8 name first: a zip that flags its names as UTF-8
		 * (Python's, .NET's) has no name in the C locale otherwise. */
		const char *path = archive_entry_pathname_utf8(e);
		if (!path)
			path = archive_entry_pathname(e);
		int raw = archive_format(a) == ARCHIVE_FORMAT_RAW, len;
		if (raw && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
			/* raw takes anything: with no decompressor either, libarchive
			 * recognised nothing in bytes that began like an archive */
			report(w, outer, 0, "begins like an archive, but no archive or compression format "
			       "is recognised: cut short or damaged");
			break;
		}
		/* A raw entry is the outer member itself, decompressed (x.json.gz). */
		if (raw)
			len = snprintf(name, IN_NAME_MAX + 1, "%s", outer->member);
		else if (outer->member[0])
			len = snprintf(name, IN_NAME_MAX + 1, "%s!%s", outer->member, path ? path : "?");
		else
			len = snprintf(name, IN_NAME_MAX + 1, "%s", path ? path : "?");
		in_member m = { outer->archive, name,
		                archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) :
		                IN_SIZE_UNKNOWN };
		if (len > IN_NAME_MAX)
			report(w, &m, 0, "member name longer than the 64 KiB a stream can record: cut");
		if (!raw && !w->cb->want(w->cb->ctx, &m))
			continue; /* libarchive skips the data on the next header */
		if (archive_entry_is_encrypted(e)) {
			report(w, &m, 0, "member is encrypted; skipped");
			continue;
		}
		pull p = { -1, a, NULL, 0, 0, { 0 } };
		process(w, &m, &p, depth);
		data_failed = p.failed;
	}
	free(name);
}

/* A zip ends with its end-of-central-directory record (22 bytes and a
 * comment of at most 65535).  When a zip is cut, libarchive still reads
 * its members one by one and says nothing: 1 when that record is missing. */
static int zip_cut(int fd, uint64_t size)
{
	enum { EOCD = 22, TAIL = EOCD + 65535 };
	uint64_t from = size > TAIL ? size - TAIL : 0;
	size_t n = (size_t)(size - from);
	unsigned char *b = fl_xmalloc(n ? n : 1);
	int cut = pread(fd, b, n, (off_t)from) != (ssize_t)n;
	if (!cut) {
		cut = 1;
		for (size_t i = n >= EOCD ? n - EOCD + 1 : 0; cut && i-- > 0;)
			cut = !(b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 5 && b[i + 3] == 6);
	}
	free(b);
	return cut;
}

static void walk_file(walker *w, const char *path, int fd, uint64_t size, int regular)
{
	in_member m = { path, "", size };
	pull p = { fd, NULL, fl_xmalloc(CHUNK), 0, 0, { 0 } };
	char peek[PEEK];
	ssize_t np = 0;
	if (regular) {
		/* A regular file that is an archive is opened by name, so libarchive can
		 * seek (zip central directory, 7z). */
		np = pread(fd, peek, sizeof peek, 0);
		if (np > 0 && classify((const unsigned char *)peek, (size_t)np) == C_ARCHIVE) {
			struct archive *a = new_reader();
			unsigned errors = w->errors;
			if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
				report(w, &m, 0, archive_error_string(a) ? archive_error_string(a) :
				       "cannot open archive");
			else
				walk_archive(w, a, &m, 1);
			archive_read_free(a);
			/* a cut that fell in the central directory left every member whole */
			if (w->errors == errors && np >= 4 && memcmp(peek, "PK\3\4", 4) == 0 && zip_cut(fd, size))
				report(w, &m, size, "the zip ends without its central directory (cut short?); "
				       "the members before the cut were read");
			free(p.buf);
			return;
		}
#ifdef POSIX_FADV_SEQUENTIAL
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	}
	process(w, &m, &p, 0);
	free(p.buf);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void walk_path(walker *w, const char *path, int top)
{
	in_member m = { path, "", IN_SIZE_UNKNOWN };
	struct stat st;
	if (strcmp(path, "-") == 0 && top) {
		m.archive = "-";
		if (w->cb->want(w->cb->ctx, &m))
			walk_file(w, "-", STDIN_FILENO, IN_SIZE_UNKNOWN, 0);
		return;
	}
	/* Below the top, symbolic links to directories are not followed (loops). */
	if ((top ? stat(path, &st) : lstat(path, &st)) != 0) {
		report(w, &m, IN_SIZE_UNKNOWN, strerror(errno));
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) != 0 || S_ISDIR(st.st_mode))
			return;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent **list;
		int n = scandir(path, &list, NULL, name_cmp);
		if (n < 0) {
			report(w, &m, IN_SIZE_UNKNOWN, strerror(errno));
			return;
		}
		size_t plen = strlen(path);
		for (int i = 0; i < n; i++) {
			const char *d = list[i]->d_name;
			if (strcmp(d, ".") && strcmp(d, "..")) {
				char *child = fl_xmalloc(plen + strlen(d) + 2);
				sprintf(child, "%s%s%s", path, plen && path[plen - 1] == '/' ? "" : "/", d);
				walk_path(w, child, 0);
				free(child);
			}
			free(list[i]);
		}
		free(list);
		return;
	}
	if (!S_ISREG(st.st_mode) && !top)
		return; /* sockets, devices found while walking */
	m.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : IN_SIZE_UNKNOWN;
	if (!w->cb->want(w->cb->ctx, &m))
		return;
	if (S_ISREG(st.st_mode) && w->cb->defer && w->cb->defer(w->cb->ctx, &m))
		return;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		report(w, &m, IN_SIZE_UNKNOWN, strerror(errno));
		return;
	}
	walk_file(w, path, fd, m.size, S_ISREG(st.st_mode));
	close(fd);
}

unsigned in_walk(const char *path, const in_callbacks *cb)
{
	walker w = { cb, 0 };
	walk_path(&w, path, 1);
	return w.errors;
}
