/*
 * flowjson.c - owns the streaming flow-log scanner (see flowjson.h).
 *
 * Two layers.  The splitter walks every byte once with a tiny state
 * machine (string, escape, bracket depth) to find where each record object
 * starts and ends, whatever the chunking; it also recognises wrappers
 * ({"records":[ ... ]}, nested or not) by their first key, commas where a
 * block seam left them, and a record restarting inside a record (a range-
 * read seam: {"time":" appearing inside a record that already named itself
 * a flow log -- other Azure logs may nest such objects legitimately).  A
 * record lying inside one chunk is parsed in place; otherwise its bytes are
 * carried over in one buffer, so memory is bounded by the largest record.
 *
 * The record parser then reads the complete (or cut) record text with a
 * strict but forgiving recursive descent that only looks at the keys it
 * knows (case-insensitively), collects tuple strings with their
 * rule/aclID/MAC context, hashes the record text minus the whitespace
 * between tokens, and hands each tuple to the tuple parser: a one-pass fast
 * path for the usual spellings, the general parser for everything else.
 * Nothing is allocated per record or tuple once the reusable buffers have
 * grown.
 *
 * Problem offsets (bytes from the start of the member):
 *   TRUNCATED  the end of the member (once, whether a record or only the
 *              wrapper's "]}" is missing);
 *   SEAM       the '{' of the record that restarts inside another, or the
 *              comma that stands where a record should start;
 *   SYNTAX     the offending byte; for a trailing comma, the comma (once
 *              per record, once per wrapper array);
 *   BAD_TUPLE  the opening quote of the tuple string (or the first byte of
 *              a non-string element of flowTuples);
 *   TOO_BIG    the record's '{'.
 * The hash has no seed and loads words little-endian on every host, so the
 * same record hashes the same across runs, files and machines.
 */
#include "flowjson.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cli.h"
#include "ip.h"

/* ---- tuple parsing ----------------------------------------------------- */

#define MAXF 14

static int get_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9)
			return -1;
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int get_small(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int is_letter(const char *s, size_t n)
{
	return n == 1 && (unsigned)((s[0] | 0x20) - 'a') < 26;
}

static int enc_code(const char *s, size_t n)
{
	if (n == 2 && s[0] == 'N' && s[1] == 'X')
		return FLT_ENC_NX;
	if (n == 1 && s[0] == 'X')
		return FLT_ENC_X;
	static const char *const names[] = {
		"NX_HW_NOT_SUPPORTED", "NX_SW_NOT_READY", "NX_NOT_ACCEPTED",
		"NX_NOT_SUPPORTED", "NX_LOCAL_DST", "NX_FALLBACK",
	};
	for (int k = 0; k < 6; k++)
		if (strlen(names[k]) == n && memcmp(names[k], s, n) == 0)
			return FLT_ENC_NX_HW_NOT_SUPPORTED + k;
	return FLT_ENC_OTHER;
}

/* Counters: all four empty (unmeasured) or all four numbers. */
static int get_counters(const char *const *f, const size_t *fl, flt_rec *r)
{
	int empty = (fl[0] == 0) + (fl[1] == 0) + (fl[2] == 0) + (fl[3] == 0);
	if (empty == 4) {
		r->pkts_sd = r->bytes_sd = r->pkts_ds = r->bytes_ds = 0;
		r->flags = 0;
		return 0;
	}
	if (empty || get_u64(f[0], fl[0], &r->pkts_sd) || get_u64(f[1], fl[1], &r->bytes_sd) ||
	    get_u64(f[2], fl[2], &r->pkts_ds) || get_u64(f[3], fl[3], &r->bytes_ds))
		return -1;
	r->flags = FLT_F_COUNTERS;
	return 0;
}

/* The fields every layout shares: ts,src,dst,sport,dport,proto,dir. */
static int common_fields(const char *const *f, const size_t *fl, flt_rec *r, const char **why)
{
	uint64_t ts;
	unsigned sp, dp, pr;
	if (get_u64(f[0], fl[0], &ts) || ts > (uint64_t)INT64_MAX / 1000 * 1000)
		return *why = "bad timestamp", -1;
	r->time_ms = ts >= 100000000000ULL ? (int64_t)ts : (int64_t)ts * 1000;
	if (ip_parse(f[1], fl[1], r->src) || ip_parse(f[2], fl[2], r->dst))
		return *why = "bad address", -1;
	if (get_small(f[3], fl[3], 65535, &sp) || get_small(f[4], fl[4], 65535, &dp))
		return *why = "bad port", -1;
	r->sport = (uint16_t)sp;
	r->dport = (uint16_t)dp;
	if (fl[5] == 1 && f[5][0] == 'T')
		pr = 6;
	else if (fl[5] == 1 && f[5][0] == 'U')
		pr = 17;
	else if (get_small(f[5], fl[5], 255, &pr))
		return *why = "bad protocol", -1;
	r->proto = (uint8_t)pr;
	if (!is_letter(f[6], fl[6]))
		return *why = "bad direction", -1;
	r->dir = (uint8_t)f[6][0];
	return 0;
}

/* ---- fast path: one pass over the usual spellings ----------------------
 * Accepts only what parse_tuple also accepts, with the same result; on
 * anything else (IPv6, odd letters, errors) it returns NULL and the general
 * parser decides, so the two can never disagree. */

/* Eight ASCII digits at once (little-endian load), or -1 when they are not all digits. */
static inline int64_t digits8(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t lo = v - 0x3030303030303030ULL;
	if (((v & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL) ||
	    ((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL)
		return -1;
	lo = (lo * 10 + (lo >> 8)) & 0x00FF00FF00FF00FFULL;
	lo = (lo * 100 + (lo >> 16)) & 0x0000FFFF0000FFFFULL;
	lo = (lo * 10000 + (lo >> 32)) & 0xFFFFFFFFULL;
	return (int64_t)lo;
#else
	(void)v;
	return -1;
#endif
}

static inline const char *fast_uint(const char *p, const char *e, int maxdig, uint64_t max,
                                    uint64_t *out)
{
	uint64_t v = 0;
	const char *q = p;
	if (maxdig == 19 && e - p >= 8) { /* timestamps: 10 or 13 digits */
		int64_t d = digits8(p);
		if (d >= 0) {
			v = (uint64_t)d;
			p += 8;
		}
	}
	while (p < e && (unsigned)(*p - '0') <= 9) {
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p == q || p - q > (maxdig == 19 ? 18 : maxdig) || v > max)
		return NULL;
	*out = v;
	return p;
}

static inline const char *fast_v4(const char *p, const char *e, uint8_t *out)
{
	memcpy(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
	for (int k = 0; k < 4; k++) {
		if (k) {
			if (p >= e || *p != '.')
				return NULL;
			p++;
		}
		if (p >= e || (unsigned)(*p - '0') > 9)
			return NULL;
		unsigned v = (unsigned)(*p++ - '0');
		if (v && p < e && (unsigned)(*p - '0') <= 9) {
			v = v * 10 + (unsigned)(*p++ - '0');
			if (p < e && (unsigned)(*p - '0') <= 9)
				v = v * 10 + (unsigned)(*p++ - '0');
		}
		if (v > 255)
			return NULL;
		out[12 + k] = (uint8_t)v;
	}
	return p;
}

#define COMMA(p) do { if ((p) >= e || *(p) != ',') return -1; (p)++; } while (0)

static inline const char *fast_letter(const char *p, const char *e, const char *ok, uint8_t *out)
{
	if (p >= e || !(*p == ok[0] || *p == ok[1] || (ok[2] && (*p == ok[2] || *p == ok[3]))))
		return NULL;
	*out = (uint8_t)*p;
	return p + 1;
}

static inline const char *fast_counter(const char *p, const char *e, uint64_t *v, int *empty)
{
	if (p >= e || *p == ',') {
		*v = 0;
		(*empty)++;
		return p;
	}
	if (*p == '0' && (p + 1 == e || p[1] == ',')) { /* B and D tuples: 0,0,0,0 */
		*v = 0;
		return p + 1;
	}
	return fast_uint(p, e, 18, UINT64_MAX / 100, v);
}

static inline int fast_counters(const char *p, const char *e, flt_rec *r)
{
	int empty = 0;
	if (!(p = fast_counter(p, e, &r->pkts_sd, &empty)))
		return -1;
	COMMA(p);
	if (!(p = fast_counter(p, e, &r->bytes_sd, &empty)))
		return -1;
	COMMA(p);
	if (!(p = fast_counter(p, e, &r->pkts_ds, &empty)))
		return -1;
	COMMA(p);
	if (!(p = fast_counter(p, e, &r->bytes_ds, &empty)))
		return -1;
	if (p != e || (empty && empty != 4))
		return -1;
	r->flags = empty ? 0 : FLT_F_COUNTERS;
	return 0;
}

static int fast_tuple(const char *p, size_t n, int kind, flt_rec *r, const char **enc, size_t *encn)
{
	const char *e = p + n;
	uint64_t ts, sp, dp, pr;
	if (!(p = fast_uint(p, e, 19, 999999999999999ULL, &ts)))
		return -1;
	COMMA(p);
	if (!(p = fast_v4(p, e, r->src)))
		return -1;
	COMMA(p);
	if (!(p = fast_v4(p, e, r->dst)))
		return -1;
	COMMA(p);
	if (!(p = fast_uint(p, e, 5, 65535, &sp)))
		return -1;
	COMMA(p);
	if (!(p = fast_uint(p, e, 5, 65535, &dp)))
		return -1;
	COMMA(p);
	if (p < e && (*p == 'T' || *p == 'U')) {
		pr = *p++ == 'T' ? 6 : 17;
	} else if (!(p = fast_uint(p, e, 5, 255, &pr))) {
		return -1;
	}
	COMMA(p);
	if (!(p = fast_letter(p, e, "IO", &r->dir)))
		return -1;
	COMMA(p);
	r->time_ms = ts >= 100000000000ULL ? (int64_t)ts : (int64_t)ts * 1000;
	r->sport = (uint16_t)sp;
	r->dport = (uint16_t)dp;
	r->proto = (uint8_t)pr;
	r->enc = FLT_ENC_NONE;
	r->enc_text = 0;
	if (kind == FLT_KIND_VNET) {
		if (!(p = fast_letter(p, e, "BCED", &r->state)))
			return -1;
		COMMA(p);
		const char *q = p;
		while (p < e && *p != ',')
			p++;
		if (p == q)
			return -1;
		r->enc = (uint8_t)enc_code(q, (size_t)(p - q));
		*enc = q;
		*encn = (size_t)(p - q);
		COMMA(p);
		r->action = r->state == 'D' ? 'D' : 'A';
		r->kind = FLT_KIND_VNET;
		return fast_counters(p, e, r);
	}
	if (!(p = fast_letter(p, e, "AD", &r->action)))
		return -1;
	if (p == e && kind != FLT_KIND_NSG2) {
		r->kind = FLT_KIND_NSG1;
		r->state = 0;
		r->flags = 0;
		r->pkts_sd = r->bytes_sd = r->pkts_ds = r->bytes_ds = 0;
		return 0;
	}
	if (kind == FLT_KIND_NSG1)
		return -1;
	COMMA(p);
	if (!(p = fast_letter(p, e, "BCEE", &r->state)))
		return -1;
	COMMA(p);
	r->kind = FLT_KIND_NSG2;
	return fast_counters(p, e, r);
}

/* Internal form: also returns the encryption text for FLT_ENC_OTHER. */
static int parse_tuple(const char *s, size_t n, int kind, flt_rec *r, const char **why,
                       const char **enc, size_t *encn)
{
	if (fast_tuple(s, n, kind, r, enc, encn) == 0)
		return 0;
	const char *f[MAXF];
	size_t fl[MAXF];
	int nf = 0;
	const char *p = s, *e = s + n;
	for (;;) {
		const char *c = memchr(p, ',', (size_t)(e - p));
		if (nf == MAXF)
			return *why = "too many fields", -1;
		f[nf] = p;
		fl[nf++] = (size_t)((c ? c : e) - p);
		if (!c)
			break;
		p = c + 1;
	}
	if (kind == FJ_KIND_NSG_AUTO)
		kind = nf == 8 ? FLT_KIND_NSG1 : FLT_KIND_NSG2;
	int want = kind == FLT_KIND_NSG1 ? 8 : 13;
	if (nf != want)
		return *why = nf < want ? "too few fields" : "too many fields", -1;
	if (common_fields(f, fl, r, why))
		return -1;
	r->kind = (uint8_t)kind;
	r->enc = FLT_ENC_NONE;
	r->enc_text = 0;
	if (kind == FLT_KIND_VNET) {
		if (!is_letter(f[7], fl[7]))
			return *why = "bad state", -1;
		r->state = (uint8_t)f[7][0];
		r->action = r->state == 'D' ? 'D' : 'A';
		if (fl[8] == 0)
			return *why = "empty encryption", -1;
		r->enc = (uint8_t)enc_code(f[8], fl[8]);
		*enc = f[8];
		*encn = fl[8];
		if (get_counters(f + 9, fl + 9, r))
			return *why = "bad counters", -1;
		return 0;
	}
	if (!is_letter(f[7], fl[7]))
		return *why = "bad decision", -1;
	r->action = (uint8_t)f[7][0];
	if (kind == FLT_KIND_NSG1) {
		r->state = 0;
		r->flags = 0;
		r->pkts_sd = r->bytes_sd = r->pkts_ds = r->bytes_ds = 0;
		return 0;
	}
	if (!is_letter(f[8], fl[8]))
		return *why = "bad state", -1;
	r->state = (uint8_t)f[8][0];
	if (get_counters(f + 9, fl + 9, r))
		return *why = "bad counters", -1;
	return 0;
}

int fj_parse_tuple(const char *s, size_t n, int kind, flt_rec *rec, const char **why)
{
	const char *enc = NULL, *dummy;
	size_t encn = 0;
	if (!why)
		why = &dummy;
	if (kind != FLT_KIND_VNET && kind != FLT_KIND_NSG1 && kind != FLT_KIND_NSG2 &&
	    kind != FJ_KIND_NSG_AUTO)
		return *why = "unknown kind", -1;
	return parse_tuple(s, n, kind, rec, why, &enc, &encn);
}

/* ---- helpers shared with the reference reader ------------------------- */

size_t fj_norm_mac(const char *s, size_t n, char out[12])
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-' || c == ':' || c == '.')
			continue;
		if (k == 12)
			return 0;
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 32);
		else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return 0;
		out[k++] = c;
	}
	return k == 12 ? 12 : 0;
}

/* ---- content hash ------------------------------------------------------ */

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL
#define K3 0x165667B19E3779F9ULL

/* A streaming hash over the record text minus the whitespace between
 * tokens, fed in pieces: a compact record is hashed in one call. */
typedef struct hash2 {
	uint64_t a, b, c, d, total; /* four independent lanes keep the multipliers busy */
	unsigned char buf[32];
	size_t blen;
} hash2;

static inline uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/* Little-endian word loads everywhere, so hashes match across machines. */
static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void hblock(hash2 *h, const unsigned char *p)
{
	h->a = rotl(h->a ^ (load_le64(p) * K1), 29) * K2;
	h->b = rotl(h->b ^ (load_le64(p + 8) * K3), 37) * K1;
	h->c = rotl(h->c ^ (load_le64(p + 16) * K2), 31) * K3;
	h->d = rotl(h->d ^ (load_le64(p + 24) * K1), 27) * K2;
}

static void hinit(hash2 *h)
{
	h->a = 0x243F6A8885A308D3ULL;
	h->b = 0x13198A2E03707344ULL;
	h->c = 0xA4093822299F31D0ULL;
	h->d = 0x082EFA98EC4E6C89ULL;
	h->total = h->blen = 0;
}

static void hfeed(hash2 *h, const char *cp, size_t n)
{
	const unsigned char *p = (const unsigned char *)cp;
	h->total += n;
	if (h->blen) {
		size_t take = 32 - h->blen < n ? 32 - h->blen : n;
		memcpy(h->buf + h->blen, p, take);
		h->blen += take;
		p += take;
		n -= take;
		if (h->blen < 32)
			return;
		hblock(h, h->buf);
		h->blen = 0;
	}
	for (; n >= 32; p += 32, n -= 32)
		hblock(h, p);
	memcpy(h->buf, p, n);
	h->blen = n;
}

static uint64_t fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* ---- record parser ----------------------------------------------------- */

typedef struct span {
	const char *p;
	uint32_t n;
	uint8_t set;
} span;

typedef struct fl_ent {   /* flowRecords.flows[i] (VNet) / properties.flows[i] (NSG) */
	span a;           /* aclID (VNet) or rule (NSG) */
	uint8_t nsg;
} fl_ent;

typedef struct grp_ent {  /* flowGroups[j] (VNet) / flows[i].flows[j] (NSG) */
	uint32_t fl;
	span b;           /* rule (VNet) or mac (NSG) */
	uint32_t rule, acl, mac;
	uint8_t interned;
} grp_ent;

typedef struct tup_ent {
	const char *p;
	uint32_t n, grp;
	uint64_t off;     /* member offset of the tuple's opening quote */
	uint8_t nonstr;
} tup_ent;

enum { H_DONE = 0, H_KEY0, H_KEY, H_COLON, H_VAL };
enum { EV_NONE = 0, EV_END, EV_SEAM, EV_WRAP };
#define STK_MAX 64

struct fj_scanner {
	fj_callbacks cb;
	fj_stats st;
	uint64_t off;           /* member offset of the current chunk's first byte */
	uint32_t ordinal;       /* tuple strings seen in this member */
	int bom, truncated_told, garbage_told;

	/* containers around records: 'a' array, 'w' wrapper object */
	char stk[STK_MAX];
	uint8_t est[STK_MAX + 1]; /* element state per level: 0 first, 1 after element, 2 after comma */
	int nstk;
	uint64_t last_comma;
	int tstr, tesc;         /* inside a string outside any record */

	/* the record (or skipped value) being captured */
	int cap, skip, carrying;
	uint64_t cap_off;
	size_t cap_at;          /* its start in the current chunk when not carrying */
	size_t app_from;        /* chunk bytes not yet appended to carry */
	int depth, in_str, esc, str_brace, head;
	uint64_t brace_off;
	char hkey[8];
	int hlen;
	const char *mpat;       /* seam matcher: pattern ('_' = optional whitespace) and progress */
	int mpos;
	int flowish;            /* the capture so far names a flow-log record */
	size_t flow_scanned;    /* bytes of the capture already searched for that */
	uint64_t moff;
	char *carry;
	size_t carry_len, carry_cap;

	/* record parser state and reusable buffers */
	const char *rp, *re, *rbase, *hmark;
	uint64_t roff;
	int rstop, rcomplete, rsyntax_told;
	hash2 h;
	char *arena;
	size_t arena_len, arena_cap;
	fl_ent *fl;
	size_t nfl, capfl;
	grp_ent *grp;
	size_t ngrp, capgrp;
	tup_ent *tup;
	size_t ntup, captup;
	flt_rec rec;
};

static void problem(fj_scanner *s, enum fj_problem k, uint64_t off, const char *detail)
{
	s->st.problems++;
	if (s->cb.problem)
		s->cb.problem(s->cb.ctx, k, off, detail);
}

static uint32_t intern(fj_scanner *s, const char *p, size_t n)
{
	return s->cb.intern ? s->cb.intern(s->cb.ctx, p, n) : 0;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	*cap = c;
	return fl_xrealloc(p, c * elem);
}

static inline int is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void rp_ws_slow(fj_scanner *s)
{
	const char *p = s->rp;
	hfeed(&s->h, s->hmark, (size_t)(p - s->hmark));
	while (p < s->re && is_ws((unsigned char)*p))
		p++;
	s->rp = s->hmark = p;
}

static inline void rp_ws(fj_scanner *s)
{
	if (s->rp < s->re && is_ws((unsigned char)*s->rp))
		rp_ws_slow(s);
}

/* A syntax error stops the record; a cut record just runs out of text. */
static void rp_fail(fj_scanner *s, const char *why)
{
	if (s->rstop)
		return;
	s->rstop = 1;
	if (s->rcomplete && !s->rsyntax_told) {
		s->rsyntax_told = 1;
		problem(s, FJ_PROB_SYNTAX, s->roff + (uint64_t)(s->rp - s->rbase), why);
	}
}

static void rp_trailing_comma(fj_scanner *s, const char *comma)
{
	if (!s->rsyntax_told) {
		s->rsyntax_told = 1;
		problem(s, FJ_PROB_SYNTAX, s->roff + (uint64_t)(comma - s->rbase), "trailing comma");
	}
}

static int hexd(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80)
		return o[0] = (char)cp, 1;
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 63));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 63));
		o[2] = (char)(0x80 | (cp & 63));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 63));
	o[2] = (char)(0x80 | (cp >> 6 & 63));
	o[3] = (char)(0x80 | (cp & 63));
	return 4;
}

static int u4(const char *p, unsigned *v)
{
	unsigned x = 0;
	for (int k = 0; k < 4; k++) {
		int d = hexd(p[k]);
		if (d < 0)
			return -1;
		x = x << 4 | (unsigned)d;
	}
	*v = x;
	return 0;
}

/* Decodes the escapes of raw[0..n) into the arena (sized for the record). */
static int unescape(fj_scanner *s, const char *raw, size_t n, span *out)
{
	char *o = s->arena + s->arena_len, *o0 = o;
	const char *p = raw, *e = raw + n;
	while (p < e) {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		if (e - p < 2)
			return -1;
		char c = p[1];
		p += 2;
		switch (c) {
		case '"': case '\\': case '/': *o++ = c; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (e - p < 4 || u4(p, &cp))
				return -1;
			p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			    !u4(p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
			o += put_utf8(o, cp);
			break;
		}
		default:
			return -1;
		}
	}
	out->p = o0;
	out->n = (uint32_t)(o - o0);
	out->set = 1;
	s->arena_len += (size_t)(o - o0);
	return 0;
}

#if !defined(__SSE2__)
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero when a byte of v equals the byte c (exact as a yes/no answer). */
static inline uint64_t has_byte(uint64_t v, unsigned char c)
{
	uint64_t x = v ^ (ONES * c);
	return (x - ONES) & ~x & HIGHS;
}
#endif

/* First byte in [p, e) equal to a, b or c (c may repeat a); e if none.
 * String contents are most of the input, so this is the inner loop. */
static inline const char *find3(const char *p, const char *e, char a, char b, char c)
{
#if defined(__SSE2__)
	const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
	while (e - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
		                         _mm_cmpeq_epi8(x, vc));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits)
			return p + __builtin_ctz(bits);
		p += 16;
	}
#else
	uint64_t v;
	while (e - p >= 8) {
		memcpy(&v, p, 8);
		if (has_byte(v, (unsigned char)a) | has_byte(v, (unsigned char)b) |
		    has_byte(v, (unsigned char)c))
			break;
		p += 8;
	}
#endif
	while (p < e && *p != a && *p != b && *p != c)
		p++;
	return p;
}

/* A string at rp; out (may be NULL) gets its decoded text. */
static int rp_str(fj_scanner *s, span *out)
{
	const char *p = s->rp + 1, *e = s->re;
	int esc = 0;
	for (;;) {
		p = find3(p, e, '"', '\\', '"');
		if (p >= e)
			return s->rp = e, rp_fail(s, "unterminated string"), -1;
		if (*p == '"')
			break;
		esc = 1;
		p += 2;
	}
	const char *raw = s->rp + 1;
	size_t n = (size_t)(p - raw);
	if (out) {
		if (!esc) {
			out->p = raw;
			out->n = (uint32_t)n;
			out->set = 1;
		} else if (unescape(s, raw, n, out)) {
			return rp_fail(s, "bad escape"), -1;
		}
	}
	s->rp = p + 1;
	return 0;
}

static int rp_lit(fj_scanner *s, span *out)
{
	const char *p = s->rp;
	while (p < s->re && !is_ws((unsigned char)*p) && *p != ',' && *p != ':' && *p != ']' &&
	       *p != '}' && *p != '[' && *p != '{' && *p != '"')
		p++;
	if (p == s->rp)
		return rp_fail(s, "unexpected character"), -1;
	if (out) {
		out->p = s->rp;
		out->n = (uint32_t)(p - s->rp);
		out->set = 1;
	}
	s->rp = p;
	return 0;
}

/* Skips any value; brackets are balanced, contents only tokenised. */
static int rp_skip(fj_scanner *s)
{
	int depth = 0;
	do {
		rp_ws(s);
		if (s->rp >= s->re)
			return rp_fail(s, "unexpected end"), -1;
		char c = *s->rp;
		if (c == '"') {
			if (rp_str(s, NULL))
				return -1;
		} else if (c == '{' || c == '[') {
			depth++;
			s->rp++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return rp_fail(s, "unexpected bracket"), -1;
			depth--;
			s->rp++;
		} else if (c == ',' || c == ':') {
			if (depth == 0)
				return rp_fail(s, "unexpected separator"), -1;
			s->rp++;
		} else if (rp_lit(s, NULL)) {
			return -1;
		}
	} while (depth > 0);
	return 0;
}

/* Opens '{' or '['; 0 when it is there, -1 otherwise (value skipped). */
static int rp_open(fj_scanner *s, char c)
{
	rp_ws(s);
	if (s->rp < s->re && *s->rp == c) {
		s->rp++;
		return 0;
	}
	rp_skip(s);
	return -1;
}

/* Next member or element: 1 with rp at it, 0 after the closing bracket, -1 on error. */
static int rp_next(fj_scanner *s, int *first, char close)
{
	if (s->rstop)
		return -1;
	rp_ws(s);
	if (s->rp >= s->re)
		return rp_fail(s, "unexpected end"), -1;
	if (*s->rp == close) {
		s->rp++;
		return 0;
	}
	if (!*first) {
		if (*s->rp != ',')
			return rp_fail(s, "missing comma"), -1;
		const char *comma = s->rp++;
		rp_ws(s);
		if (s->rp < s->re && *s->rp == close) {
			rp_trailing_comma(s, comma);
			s->rp++;
			return 0;
		}
	}
	*first = 0;
	rp_ws(s);
	if (s->rp >= s->re)
		return rp_fail(s, "unexpected end"), -1;
	return 1;
}

/* Next object key (lower-cased into key, truncated) with the ':' consumed. */
static int rp_key(fj_scanner *s, int *first, char *key, size_t keycap)
{
	int r = rp_next(s, first, '}');
	if (r <= 0)
		return r;
	span k = {0};
	if (*s->rp != '"')
		return rp_fail(s, "expected a key"), -1;
	if (rp_str(s, &k))
		return -1;
	size_t n = k.n < keycap - 1 ? k.n : keycap - 1;
	for (size_t i = 0; i < n; i++)
		key[i] = (char)((unsigned)(k.p[i] - 'A') < 26 ? k.p[i] + 32 : k.p[i]);
	key[n] = 0;
	if (k.n >= keycap)
		key[0] = '~'; /* too long to be a key we know */
	rp_ws(s);
	if (s->rp >= s->re || *s->rp != ':')
		return rp_fail(s, "expected ':'"), -1;
	s->rp++;
	rp_ws(s);
	if (s->rp >= s->re)
		return rp_fail(s, "unexpected end"), -1;
	return 1;
}

/* A string value, or the value skipped (out stays unset). */
static void rp_get_str(fj_scanner *s, span *out)
{
	if (*s->rp == '"') {
		span t = {0};
		if (rp_str(s, &t) == 0)
			*out = t;
	} else {
		rp_skip(s);
	}
}

/* An integer value, or the value skipped (-1). */
static int64_t rp_get_int(fj_scanner *s)
{
	span t = {0};
	if (*s->rp == '"' || *s->rp == '{' || *s->rp == '[') {
		rp_skip(s);
		return -1;
	}
	if (rp_lit(s, &t))
		return -1;
	uint64_t v;
	if (get_u64(t.p, t.n, &v) || v > 255)
		return -1;
	return (int64_t)v;
}

static void rp_tuples(fj_scanner *s, uint32_t g)
{
	int first = 1, r;
	if (rp_open(s, '['))
		return;
	while ((r = rp_next(s, &first, ']')) == 1) {
		s->tup = grow(s->tup, &s->captup, s->ntup + 1, sizeof *s->tup);
		tup_ent *t = &s->tup[s->ntup];
		t->off = s->roff + (uint64_t)(s->rp - s->rbase);
		t->grp = g;
		t->nonstr = 0;
		if (*s->rp == '"') {
			span v = {0};
			if (rp_str(s, &v))
				return;
			t->p = v.p;
			t->n = v.n;
		} else {
			if (rp_skip(s))
				return;
			t->nonstr = 1;
		}
		s->ntup++;
	}
}

static uint32_t new_fl(fj_scanner *s, int nsg)
{
	s->fl = grow(s->fl, &s->capfl, s->nfl + 1, sizeof *s->fl);
	memset(&s->fl[s->nfl], 0, sizeof *s->fl);
	s->fl[s->nfl].nsg = (uint8_t)nsg;
	return (uint32_t)s->nfl++;
}

static uint32_t new_grp(fj_scanner *s, uint32_t fl)
{
	s->grp = grow(s->grp, &s->capgrp, s->ngrp + 1, sizeof *s->grp);
	memset(&s->grp[s->ngrp], 0, sizeof *s->grp);
	s->grp[s->ngrp].fl = fl;
	return (uint32_t)s->ngrp++;
}

/* flowGroups[] entry (VNet) or flows[].flows[] entry (NSG). */
static void rp_group(fj_scanner *s, uint32_t fl, int nsg)
{
	char key[24];
	int first = 1, r;
	uint32_t g = new_grp(s, fl);
	if (rp_open(s, '{'))
		return;
	while ((r = rp_key(s, &first, key, sizeof key)) == 1) {
		if (!strcmp(key, nsg ? "mac" : "rule"))
			rp_get_str(s, &s->grp[g].b);
		else if (!strcmp(key, "flowtuples"))
			rp_tuples(s, g);
		else
			rp_skip(s);
	}
}

/* flowRecords.flows[] (VNet) or properties.flows[] (NSG) entry. */
static void rp_flow(fj_scanner *s, int nsg)
{
	char key[24];
	int first = 1, r;
	uint32_t f = new_fl(s, nsg);
	if (rp_open(s, '{'))
		return;
	while ((r = rp_key(s, &first, key, sizeof key)) == 1) {
		if (!strcmp(key, nsg ? "rule" : "aclid")) {
			rp_get_str(s, &s->fl[f].a);
		} else if (!strcmp(key, nsg ? "flows" : "flowgroups")) {
			int f2 = 1;
			if (rp_open(s, '[') == 0)
				while (rp_next(s, &f2, ']') == 1 && !s->rstop)
					rp_group(s, f, nsg);
		} else {
			rp_skip(s);
		}
	}
}

typedef struct rec_ctx {
	span time, category, mac, flowlog_id, resource_id, target;
	int64_t version, nsg_version;
	int has_vnet, has_nsg;
} rec_ctx;

/* flowRecords (VNet) or properties (NSG): an object whose "flows" array holds the flows. */
static void rp_section(fj_scanner *s, rec_ctx *c, int nsg)
{
	char key[24];
	int first = 1, r;
	if (rp_open(s, '{'))
		return;
	while ((r = rp_key(s, &first, key, sizeof key)) == 1) {
		if (!strcmp(key, "flows") && *s->rp == '[') {
			int f2 = 1;
			if (nsg)
				c->has_nsg = 1;
			else
				c->has_vnet = 1;
			rp_open(s, '[');
			while (rp_next(s, &f2, ']') == 1 && !s->rstop)
				rp_flow(s, nsg);
		} else if (nsg && !strcmp(key, "version")) {
			c->nsg_version = rp_get_int(s);
		} else {
			rp_skip(s);
		}
	}
}

static void rp_record(fj_scanner *s, rec_ctx *c)
{
	char key[24];
	int first = 1, r;
	if (rp_open(s, '{'))
		return;
	while ((r = rp_key(s, &first, key, sizeof key)) == 1) {
		if (!strcmp(key, "time"))
			rp_get_str(s, &c->time);
		else if (!strcmp(key, "category"))
			rp_get_str(s, &c->category);
		else if (!strcmp(key, "macaddress"))
			rp_get_str(s, &c->mac);
		else if (!strcmp(key, "flowlogresourceid"))
			rp_get_str(s, &c->flowlog_id);
		else if (!strcmp(key, "resourceid"))
			rp_get_str(s, &c->resource_id);
		else if (!strcmp(key, "targetresourceid"))
			rp_get_str(s, &c->target);
		else if (!strcmp(key, "flowlogversion"))
			c->version = rp_get_int(s);
		else if (!strcmp(key, "flowrecords"))
			rp_section(s, c, 0);
		else if (!strcmp(key, "properties"))
			rp_section(s, c, 1);
		else
			rp_skip(s);
	}
}

static uint32_t intern_span(fj_scanner *s, const span *sp)
{
	return sp->set ? intern(s, sp->p, sp->n) : 0;
}

static uint32_t intern_mac(fj_scanner *s, const span *sp)
{
	char m[12];
	if (!sp->set)
		return 0;
	if (fj_norm_mac(sp->p, sp->n, m))
		return intern(s, m, 12);
	return intern(s, sp->p, sp->n);
}

static int64_t parse_rtime(const span *t)
{
	char buf[64];
	int64_t ms;
	if (!t->set || t->n >= sizeof buf)
		return -1;
	memcpy(buf, t->p, t->n);
	buf[t->n] = 0;
	return fl_parse_time(buf, &ms) == 0 ? ms : -1;
}

static int odd_letters(const flt_rec *r)
{
	int st = r->state;
	if (r->dir != 'I' && r->dir != 'O')
		return 1;
	if (r->kind == FLT_KIND_VNET)
		return st != 'B' && st != 'C' && st != 'E' && st != 'D';
	if (r->action != 'A' && r->action != 'D')
		return 1;
	return r->kind == FLT_KIND_NSG2 && st != 'B' && st != 'C' && st != 'E';
}

/* A bad tuple is reported with its text, so the responder sees what was
 * wrong without opening the blob: at most 120 bytes, control bytes and
 * non-ASCII shown as \xNN. */
static void bad_tuple(fj_scanner *s, const tup_ent *t, const char *why)
{
	char msg[600];
	size_t n = (size_t)snprintf(msg, sizeof msg, "%s", why);
	if (!t->nonstr) {
		n += (size_t)snprintf(msg + n, sizeof msg - n, ": \"");
		for (size_t i = 0; i < t->n && i < 120; i++) {
			unsigned char c = (unsigned char)t->p[i];
			if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
				n += (size_t)snprintf(msg + n, sizeof msg - n, "\\x%02x", c);
			else
				msg[n++] = (char)c;
		}
		n += (size_t)snprintf(msg + n, sizeof msg - n, "%s\"", t->n > 120 ? "..." : "");
	}
	problem(s, FJ_PROB_BAD_TUPLE, t->off, msg);
}

static void deliver(fj_scanner *s, const rec_ctx *c, int kind, int version, uint32_t base)
{
	flt_rec *r = &s->rec;
	uint32_t rmac = intern_mac(s, &c->mac);
	uint32_t target = intern_span(s, &c->target);
	uint32_t flowlog = intern_span(s, c->flowlog_id.set ? &c->flowlog_id : &c->resource_id);
	(void)kind;
	for (size_t i = 0; i < s->ntup; i++) {
		tup_ent *t = &s->tup[i];
		grp_ent *g = &s->grp[t->grp];
		fl_ent *f = &s->fl[g->fl];
		const char *why = "not a string", *enc = NULL;
		size_t encn = 0;
		int tk = f->nsg ? (c->nsg_version == 1 ? FLT_KIND_NSG1 :
		                   c->nsg_version == 2 ? FLT_KIND_NSG2 : FJ_KIND_NSG_AUTO)
		                : FLT_KIND_VNET;
		if (t->nonstr || parse_tuple(t->p, t->n, tk, r, &why, &enc, &encn)) {
			s->st.bad_tuples++;
			bad_tuple(s, t, why);
			continue;
		}
		if (!g->interned) {
			g->interned = 1;
			if (f->nsg) {
				g->rule = intern_span(s, &f->a);
				g->acl = 0;
				g->mac = g->b.set ? intern_mac(s, &g->b) : rmac;
			} else {
				g->rule = intern_span(s, &g->b);
				g->acl = intern_span(s, &f->a);
				g->mac = rmac;
			}
		}
		if (odd_letters(r))
			s->st.odd_letters++;
		r->version = (uint8_t)(r->kind == FLT_KIND_VNET ? version : r->kind == FLT_KIND_NSG1 ? 1 : 2);
		if (r->enc == FLT_ENC_OTHER) {
			r->enc_text = intern(s, enc, encn);
			s->st.enc_other++;
		}
		r->rule = g->rule;
		r->acl = g->acl;
		r->mac = g->mac;
		r->target = target;
		r->flowlog = flowlog;
		r->source = 0;
		r->ordinal = base + (uint32_t)i + 1;
		s->st.tuples++;
		if (s->cb.tuple)
			s->cb.tuple(s->cb.ctx, r);
	}
}

static void hash_final(fj_scanner *s, uint64_t out[2])
{
	hash2 *h = &s->h;
	const char *end = s->rp < s->re ? s->rp : s->re;
	if (end > s->hmark)
		hfeed(h, s->hmark, (size_t)(end - s->hmark));
	unsigned char last[32] = {0};
	memcpy(last, h->buf, h->blen);
	hblock(h, last);
	uint64_t a = h->a ^ fmix(h->total) ^ rotl(h->c * K3, 17);
	uint64_t b = (h->b + h->total) ^ rotl(h->d * K1, 43);
	out[0] = fmix(a ^ rotl(b, 23));
	out[1] = fmix(b ^ rotl(a, 41) ^ 0x9E3779B97F4A7C15ULL);
}

/* One captured object: a flow-log record, or a foreign object. */
static void do_record(fj_scanner *s, const char *p, size_t n, uint64_t off, int complete, int top)
{
	rec_ctx c;
	memset(&c, 0, sizeof c);
	c.version = c.nsg_version = -1;
	s->rp = s->rbase = p;
	s->re = p + n;
	s->roff = off;
	s->rstop = 0;
	s->rcomplete = complete;
	s->rsyntax_told = 0;
	hinit(&s->h);
	s->hmark = p;
	s->nfl = s->ngrp = s->ntup = 0;
	s->arena = grow(s->arena, &s->arena_cap, n + 1, 1);
	s->arena_len = 0;
	rp_record(s, &c);
	if (!s->rstop) {
		rp_ws(s);
		if (s->rp < s->re)
			rp_fail(s, "text after the record");
	}

	if (!c.has_vnet && !c.has_nsg) {
		if (!top || !complete)
			return; /* a cut object was already reported as damage */
		char what[128] = "no category";
		if (c.category.set) {
			size_t k = c.category.n < sizeof what - 1 ? c.category.n : sizeof what - 1;
			memcpy(what, c.category.p, k);
			what[k] = 0;
		}
		s->st.foreign++;
		if (s->cb.foreign)
			s->cb.foreign(s->cb.ctx, off, what);
		return;
	}
	fj_record fr;
	memset(&fr, 0, sizeof fr);
	fr.offset = off;
	hash_final(s, fr.hash);
	if (c.has_vnet) {
		fr.kind = FLT_KIND_VNET;
		fr.version = c.version >= 0 ? (int)c.version : 4;
	} else {
		fr.kind = c.nsg_version == 1 ? FLT_KIND_NSG1 : FLT_KIND_NSG2;
		fr.version = c.nsg_version >= 0 ? (int)c.nsg_version : 0;
	}
	fr.time_ms = parse_rtime(&c.time);
	fr.ntuples = (uint32_t)s->ntup;
	fr.complete = complete;
	s->st.records++;
	uint32_t base = s->ordinal;
	s->ordinal += (uint32_t)s->ntup;
	if (s->cb.record && s->cb.record(s->cb.ctx, &fr) != 1)
		return;
	deliver(s, &c, fr.kind, fr.version, base);
}

/* ---- splitter ---------------------------------------------------------- */

static unsigned char k_str[256], k_out[256];

static void init_tables(void)
{
	if (k_str['"'])
		return;
	k_str['\\'] = k_str['{'] = 1;
	k_out['{'] = k_out['}'] = k_out['['] = k_out[']'] = 1;
	k_out['"'] = 1;
	k_str['"'] = 1;
}

fj_scanner *fj_new(const fj_callbacks *cb)
{
	fj_scanner *s = fl_xcalloc(1, sizeof *s);
	init_tables();
	if (cb)
		s->cb = *cb;
	s->bom = 1;
	return s;
}

const fj_stats *fj_get_stats(const fj_scanner *s)
{
	return &s->st;
}

void fj_free(fj_scanner *s)
{
	if (!s)
		return;
	free(s->carry);
	free(s->arena);
	free(s->fl);
	free(s->grp);
	free(s->tup);
	free(s);
}

static void carry_add(fj_scanner *s, const char *p, size_t n)
{
	if (s->skip || n == 0)
		return;
	if (s->carry_len + n > FJ_MAX_RECORD) {
		problem(s, FJ_PROB_TOO_BIG, s->cap_off, "record larger than the limit: skipped");
		s->skip = 1;
		s->carry_len = 0;
		return;
	}
	s->carry = grow(s->carry, &s->carry_cap, s->carry_len + n, 1);
	memcpy(s->carry + s->carry_len, p, n);
	s->carry_len += n;
}

static void start_capture(fj_scanner *s, uint64_t abs, size_t at, int skip)
{
	s->cap = 1;
	s->skip = skip;
	s->carrying = 0;
	s->carry_len = 0;
	s->cap_off = abs;
	s->cap_at = at;
	s->depth = 0;
	s->in_str = s->esc = s->str_brace = 0;
	s->mpat = NULL;
	s->flowish = 0;
	s->flow_scanned = 0;
	s->head = skip ? H_DONE : H_KEY0;
	s->hlen = 0;
}

/* One byte of a captured value, the slow and complete way. */
static int step(fj_scanner *s, unsigned char c, uint64_t abs)
{
	if (s->mpat) {
		/* Matched bytes are only letters, ':', '"' and whitespace, so the
		 * ordinary state needs just the quote toggles to stay right. */
		if (s->mpat[s->mpos] == '_') {
			if (is_ws(c))
				return EV_NONE;
			s->mpos++;
		}
		if (c == (unsigned char)s->mpat[s->mpos]) {
			s->mpos++;
			if (c == '"')
				s->in_str ^= 1;
			if (!s->mpat[s->mpos]) {
				s->mpat = NULL;
				return EV_SEAM;
			}
			return EV_NONE;
		}
		s->mpat = NULL;
	}
	if (s->in_str) {
		if (s->esc) {
			s->esc = s->str_brace = 0;
		} else if (c == '\\') {
			s->esc = 1;
			s->str_brace = 0;
			if (s->head == H_KEY)
				s->head = H_DONE;
		} else if (c == '"') {
			s->in_str = 0;
			if (s->str_brace && !s->skip) {
				s->mpat = "time\"_:_\"";
				s->mpos = 0;
				s->moff = s->brace_off;
			}
			s->str_brace = 0;
			if (s->head == H_KEY)
				s->head = H_COLON;
		} else {
			s->str_brace = c == '{';
			s->brace_off = abs;
			if (s->head == H_KEY) {
				if (s->hlen < (int)sizeof s->hkey)
					s->hkey[s->hlen++] = (char)c;
				else
					s->head = H_DONE;
			}
		}
		return EV_NONE;
	}
	if (s->head != H_DONE && s->depth == 1) {
		if (is_ws(c))
			return EV_NONE;
		switch (s->head) {
		case H_KEY0: s->head = c == '"' ? H_KEY : H_DONE; break;
		case H_COLON: s->head = c == ':' ? H_VAL : H_DONE; break;
		case H_VAL:
			s->head = H_DONE;
			/* Past the nesting limit a wrapper is just an object (foreign). */
			if (c == '[' && s->hlen == 7 && !memcmp(s->hkey, "records", 7) &&
			    s->nstk + 2 <= STK_MAX)
				return EV_WRAP;
			break;
		default: s->head = H_DONE; break;
		}
	}
	switch (c) {
	case '"':
		s->in_str = 1;
		s->str_brace = 0;
		break;
	case '{':
		if (s->depth >= 1 && !s->skip) {
			s->mpat = "_\"time\"_:_\"";
			s->mpos = 0;
			s->moff = abs;
		}
		s->depth++;
		break;
	case '[':
		s->depth++;
		break;
	case '}':
	case ']':
		if (--s->depth <= 0)
			return EV_END;
		break;
	}
	return EV_NONE;
}

/* Runs the capture over b[*i..n); returns an event with *i just past its byte. */
static int cap_scan(fj_scanner *s, const unsigned char *b, size_t *pi, size_t n)
{
	size_t i = *pi;
	int ev;
	while (i < n) {
		if (s->mpat || s->head != H_DONE || s->esc || s->str_brace) {
			ev = step(s, b[i], s->off + i);
			i++;
			if (ev)
				goto out;
			continue;
		}
		if (s->in_str) {
			i = (size_t)((const unsigned char *)find3((const char *)b + i, (const char *)b + n,
			                                          '"', '\\', '{') - b);
			if (i == n)
				break;
			if (b[i] == '"') {
				s->in_str = 0;
				i++;
				continue;
			}
		} else {
			while (i < n && !k_out[b[i]])
				i++;
			if (i == n)
				break;
			if (b[i] == '"') {
				s->in_str = 1;
				i++;
				continue;
			}
		}
		ev = step(s, b[i], s->off + i);
		i++;
		if (ev)
			goto out;
	}
	ev = EV_NONE;
out:
	*pi = i;
	return ev;
}

static uint8_t *cur_est(fj_scanner *s)
{
	return &s->est[s->nstk];
}

/* The captured value ended at chunk index i (exclusive). */
static void cap_end(fj_scanner *s, const char *buf, size_t i)
{
	int top = s->nstk == 0 || s->stk[s->nstk - 1] == 'a';
	s->cap = 0;
	*cur_est(s) = 1;
	if (s->skip)
		return;
	if (s->carrying) {
		carry_add(s, buf + s->app_from, i - s->app_from);
		if (!s->skip)
			do_record(s, s->carry, s->carry_len, s->cap_off, 1, top);
	} else {
		do_record(s, buf + s->cap_at, i - s->cap_at, s->cap_off, 1, top);
	}
}

/* Does the capture up to len bytes name a flow-log record?  A nested
 * {"time":"..."} only means a seam inside flow-log records: other Azure logs
 * may nest such objects legitimately. */
static int flowish(fj_scanner *s, const char *p, size_t len)
{
	static const char *const needles[] = {"FlowEvent\"", "\"flowRecords\""};
	if (s->flowish)
		return 1;
	size_t from = s->flow_scanned > 16 ? s->flow_scanned - 16 : 0;
	for (int k = 0; k < 2 && from < len; k++)
		if (memmem(p + from, len - from, needles[k], strlen(needles[k])))
			return s->flowish = 1;
	s->flow_scanned = len;
	return 0;
}

/* A record may restart at s->moff inside the captured one: if so, deliver
 * the cut part and carry on with the new record.  Returns 0 when it was not
 * a seam after all. */
static int cap_seam(fj_scanner *s, const char *buf, size_t i)
{
	uint64_t moff = s->moff;
	if (s->carrying) {
		carry_add(s, buf + s->app_from, i - s->app_from);
		s->app_from = i;
		if (s->skip || !flowish(s, s->carry, (size_t)(moff - s->cap_off)))
			return 0;
	} else if (!flowish(s, buf + s->cap_at, (size_t)(moff - s->cap_off))) {
		return 0;
	}
	/* The pattern ended on the opening quote of the new record's time value. */
	s->depth = 1;
	s->in_str = 1;
	s->esc = s->str_brace = 0;
	s->head = H_DONE;
	problem(s, FJ_PROB_SEAM, moff, "a record restarts inside a record");
	if (s->carrying) {
		size_t cut = (size_t)(moff - s->cap_off);
		if (!s->skip && cut <= s->carry_len) {
			do_record(s, s->carry, cut, s->cap_off, 0, 1);
			memmove(s->carry, s->carry + cut, s->carry_len - cut);
			s->carry_len -= cut;
		}
	} else {
		do_record(s, buf + s->cap_at, (size_t)(moff - s->cap_off), s->cap_off, 0, 1);
		s->cap_at = (size_t)(moff - s->off);
	}
	s->cap_off = moff;
	s->flowish = 0;
	s->flow_scanned = 0;
	return 1;
}

static void push(fj_scanner *s, char t)
{
	s->stk[s->nstk++] = t;
	s->est[s->nstk] = 0;
}

static void garbage(fj_scanner *s, uint64_t abs, const char *why)
{
	if (!s->garbage_told) {
		s->garbage_told = 1;
		problem(s, FJ_PROB_SYNTAX, abs, why);
	}
}

/* One byte between records. */
static void top_step(fj_scanner *s, const char *buf, size_t i)
{
	unsigned char c = (unsigned char)buf[i];
	uint64_t abs = s->off + i;
	char top = s->nstk ? s->stk[s->nstk - 1] : 0;
	if (s->tstr) {
		if (s->tesc)
			s->tesc = 0;
		else if (c == '\\')
			s->tesc = 1;
		else if (c == '"')
			s->tstr = 0;
		return;
	}
	if (is_ws(c))
		return;
	uint8_t *est = cur_est(s);
	switch (c) {
	case '{':
	case '[':
		if (top == 'w' || (c == '[' && s->nstk == STK_MAX)) {
			start_capture(s, abs, i, 1);
			step(s, c, abs);
			return;
		}
		if (top == 'a' && *est == 1)
			garbage(s, abs, "missing comma between records");
		s->garbage_told = 0;
		if (c == '[') {
			*est = 1;
			push(s, 'a');
			return;
		}
		start_capture(s, abs, i, 0);
		step(s, c, abs);
		return;
	case ',':
		if (top == 'w')
			return;
		if (top == 0 || *est != 1)
			problem(s, FJ_PROB_SEAM, abs, "a comma where a record should start");
		if (top == 0 && s->nstk + 2 <= STK_MAX) {
			/* A block from inside a records array: expect its "]}" too. */
			push(s, 'w');
			push(s, 'a');
			est = cur_est(s);
		}
		*est = 2;
		s->last_comma = abs;
		return;
	case ']':
		if (top != 'a') {
			garbage(s, abs, "unexpected ']'");
			return;
		}
		if (*est == 2)
			problem(s, FJ_PROB_SYNTAX, s->last_comma, "trailing comma");
		s->nstk--;
		*cur_est(s) = 1;
		return;
	case '}':
		if (top != 'w') {
			garbage(s, abs, "unexpected '}'");
			return;
		}
		s->nstk--;
		*cur_est(s) = 1;
		return;
	case '"':
		s->tstr = 1;
		/* fall through */
	default:
		if (top == 'a')
			*est = 1;
		else if (top == 0)
			garbage(s, abs, "text outside any record");
		return;
	}
}

void fj_feed(fj_scanner *s, const char *buf, size_t n)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0;
	while (s->bom && i < n) {
		uint64_t abs = s->off + i;
		if (abs < 3 && b[i] == bom[abs]) {
			i++;
			if (abs == 2)
				s->bom = 0;
		} else {
			s->bom = 0;
			/* A partial BOM was not one: nothing to re-read, it is just garbage. */
		}
	}
	while (i < n) {
		if (!s->cap) {
			top_step(s, buf, i);
			i++;
			if (s->cap)
				s->app_from = i; /* the '{' itself is at cap_at */
			continue;
		}
		int ev = cap_scan(s, b, &i, n);
		if (ev == EV_END) {
			cap_end(s, buf, i);
		} else if (ev == EV_SEAM) {
			cap_seam(s, buf, i);
		} else if (ev == EV_WRAP) {
			s->cap = 0;
			s->carry_len = 0;
			*cur_est(s) = 1;
			push(s, 'w');
			push(s, 'a');
		}
	}
	if (s->cap && !s->skip) {
		if (s->carrying) {
			carry_add(s, buf + s->app_from, n - s->app_from);
		} else {
			s->carrying = 1;
			s->carry_len = 0;
			carry_add(s, buf + s->cap_at, n - s->cap_at);
		}
	}
	s->app_from = 0;
	s->cap_at = 0;
	s->off += n;
}

void fj_finish(fj_scanner *s)
{
	if (s->cap && !s->skip) {
		problem(s, FJ_PROB_TRUNCATED, s->off, "the member ends inside a record");
		int top = s->nstk == 0 || s->stk[s->nstk - 1] == 'a';
		do_record(s, s->carry, s->carry_len, s->cap_off, 0, top);
	} else if (s->cap || s->nstk > 0 || s->tstr) {
		problem(s, FJ_PROB_TRUNCATED, s->off, "the member ends before its closing brackets");
	}
	fj_stats st = s->st;
	fj_callbacks cb = s->cb;
	char *carry = s->carry, *arena = s->arena;
	size_t cc = s->carry_cap, ac = s->arena_cap;
	fl_ent *fl = s->fl;
	grp_ent *grp = s->grp;
	tup_ent *tup = s->tup;
	size_t cf = s->capfl, cg = s->capgrp, ct = s->captup;
	memset(s, 0, sizeof *s);
	s->st = st;
	s->cb = cb;
	s->carry = carry;
	s->carry_cap = cc;
	s->arena = arena;
	s->arena_cap = ac;
	s->fl = fl;
	s->capfl = cf;
	s->grp = grp;
	s->capgrp = cg;
	s->tup = tup;
	s->captup = ct;
	s->bom = 1;
}
