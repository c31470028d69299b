/*
 * ref_jansson.c - the reference reader (see ref_jansson.h).  Deliberately
 * plain: DOM, lookups by name, one loop per level.  It shares only the
 * tuple-string parser (fj_parse_tuple) with the scanner.
 */
#include "ref_jansson.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The value of key, compared case-insensitively; the last match wins. */
static json_t *get(json_t *obj, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;
	if (!json_is_object(obj))
		return NULL;
	json_object_foreach(obj, k, v) {
		if (strcasecmp(k, key) == 0)
			found = v;
	}
	return found;
}

static uint32_t intern_str(const fj_callbacks *cb, json_t *s)
{
	if (!json_is_string(s) || !cb->intern)
		return 0;
	return cb->intern(cb->ctx, json_string_value(s), json_string_length(s));
}

static uint32_t intern_mac(const fj_callbacks *cb, json_t *s)
{
	char m[13];
	size_t k = 0, bad = 0;
	if (!json_is_string(s) || !cb->intern)
		return 0;
	const char *p = json_string_value(s);
	size_t n = json_string_length(s);
	for (size_t i = 0; i < n; i++) {
		if (strchr("-:.", p[i]) && p[i])
			continue;
		if (!isxdigit((unsigned char)p[i]) || k == 12) {
			bad = 1;
			break;
		}
		m[k++] = (char)toupper((unsigned char)p[i]);
	}
	if (!bad && k == 12)
		return cb->intern(cb->ctx, m, 12);
	return cb->intern(cb->ctx, p, n);
}

static int small_int(json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
		return -1;
	return (int)json_integer_value(v);
}

/* One tuple to collect: its string (or NULL) and its context. */
typedef struct rtup {
	json_t *str;
	int nsg;
	json_t *rule, *acl, *mac;
} rtup;

typedef struct rlist {
	rtup *v;
	size_t n, cap;
} rlist;

static void add(rlist *l, json_t *str, int nsg, json_t *rule, json_t *acl, json_t *mac)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = fl_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = (rtup){str, nsg, rule, acl, mac};
}

/* The tuples of flowRecords (nsg 0) or properties (nsg 1), in file order. */
static int collect(json_t *section, int nsg, rlist *l)
{
	json_t *flows = get(section, "flows");
	size_t i, j, k;
	json_t *f, *g, *t;
	if (!json_is_array(flows))
		return 0;
	json_array_foreach(flows, i, f) {
		json_t *outer = get(f, nsg ? "rule" : "aclID");
		json_t *groups = get(f, nsg ? "flows" : "flowGroups");
		if (!json_is_object(f) || !json_is_array(groups))
			continue;
		json_array_foreach(groups, j, g) {
			json_t *inner = get(g, nsg ? "mac" : "rule");
			json_t *tuples = get(g, "flowTuples");
			if (!json_is_object(g) || !json_is_array(tuples))
				continue;
			json_array_foreach(tuples, k, t) {
				if (nsg)
					add(l, t, 1, outer, NULL, inner);
				else
					add(l, t, 0, inner, outer, NULL);
			}
		}
	}
	return 1;
}

static void enc_field(const char *s, const char **p, size_t *n)
{
	for (int k = 0; k < 8 && s; k++) {
		s = strchr(s, ',');
		if (s)
			s++;
	}
	const char *e = s ? strchr(s, ',') : NULL;
	*p = s ? s : "";
	*n = s ? (e ? (size_t)(e - s) : strlen(s)) : 0;
}

static void record(json_t *rec, const fj_callbacks *cb, uint32_t *ordinal)
{
	rlist l = {0};
	const char *k;
	json_t *v;
	int has_vnet = 0, has_nsg = 0, nsg_version = -1;
	/* Walk the keys in order so tuples keep file order. */
	json_object_foreach(rec, k, v) {
		if (!strcasecmp(k, "flowRecords") && json_is_array(get(v, "flows"))) {
			has_vnet = 1;
			collect(v, 0, &l);
		} else if (!strcasecmp(k, "properties") && json_is_array(get(v, "flows"))) {
			has_nsg = 1;
			collect(v, 1, &l);
		}
		if (!strcasecmp(k, "properties") && json_is_object(v) && get(v, "Version"))
			nsg_version = small_int(get(v, "Version"));
	}
	if (!has_vnet && !has_nsg) {
		json_t *cat = get(rec, "category");
		if (cb->foreign)
			cb->foreign(cb->ctx, 0, json_is_string(cat) ? json_string_value(cat) : "no category");
		free(l.v);
		return;
	}
	fj_record fr;
	memset(&fr, 0, sizeof fr);
	int vv = small_int(get(rec, "flowLogVersion"));
	fr.kind = has_vnet ? FLT_KIND_VNET : nsg_version == 1 ? FLT_KIND_NSG1 : FLT_KIND_NSG2;
	fr.version = has_vnet ? (vv >= 0 ? vv : 4) : (nsg_version >= 0 ? nsg_version : 0);
	json_t *tm = get(rec, "time");
	fr.time_ms = -1;
	if (json_is_string(tm) && json_string_length(tm) < 64 &&
	    fl_parse_time(json_string_value(tm), &fr.time_ms))
		fr.time_ms = -1;
	fr.ntuples = (uint32_t)l.n;
	fr.complete = 1;
	uint32_t base = *ordinal;
	*ordinal += (uint32_t)l.n;
	if (cb->record && cb->record(cb->ctx, &fr) != 1) {
		free(l.v);
		return;
	}
	json_t *flowlog = get(rec, "flowLogResourceID");
	if (!json_is_string(flowlog))
		flowlog = get(rec, "resourceId");
	for (size_t i = 0; i < l.n; i++) {
		flt_rec r;
		const char *why;
		memset(&r, 0, sizeof r);
		rtup *t = &l.v[i];
		int kind = !t->nsg ? FLT_KIND_VNET : nsg_version == 1 ? FLT_KIND_NSG1
		         : nsg_version == 2 ? FLT_KIND_NSG2 : FJ_KIND_NSG_AUTO;
		if (!json_is_string(t->str) ||
		    fj_parse_tuple(json_string_value(t->str), json_string_length(t->str), kind, &r, &why)) {
			if (cb->problem)
				cb->problem(cb->ctx, FJ_PROB_BAD_TUPLE, 0, "bad tuple");
			continue;
		}
		r.version = (uint8_t)(r.kind == FLT_KIND_VNET ? fr.version : r.kind == FLT_KIND_NSG1 ? 1 : 2);
		if (r.enc == FLT_ENC_OTHER && cb->intern) {
			const char *ep;
			size_t en;
			enc_field(json_string_value(t->str), &ep, &en);
			r.enc_text = cb->intern(cb->ctx, ep, en);
		}
		r.rule = intern_str(cb, t->rule);
		r.acl = intern_str(cb, t->acl);
		r.mac = intern_mac(cb, json_is_string(t->mac) ? t->mac : get(rec, "macAddress"));
		r.target = intern_str(cb, get(rec, "targetResourceID"));
		r.flowlog = intern_str(cb, flowlog);
		r.ordinal = base + (uint32_t)i + 1;
		if (cb->tuple)
			cb->tuple(cb->ctx, &r);
	}
	free(l.v);
}

static void element(json_t *v, const fj_callbacks *cb, uint32_t *ordinal)
{
	size_t i;
	json_t *e;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			element(e, cb, ordinal);
		return;
	}
	if (!json_is_object(v))
		return;
	void *it = json_object_iter(v);
	if (it && !strcmp(json_object_iter_key(it), "records") &&
	    json_is_array(json_object_iter_value(it))) {
		json_array_foreach(json_object_iter_value(it), i, e)
			element(e, cb, ordinal);
		return;
	}
	record(v, cb, ordinal);
}

int ref_read(const char *buf, size_t n, const fj_callbacks *cb)
{
	size_t pos = 0;
	uint32_t ordinal = 0;
	if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		pos = 3;
	for (;;) {
		while (pos < n && strchr(" \t\r\n", buf[pos]) && buf[pos])
			pos++;
		if (pos >= n)
			return 0;
		json_error_t err;
		json_t *v = json_loadb(buf + pos, n - pos, JSON_DISABLE_EOF_CHECK, &err);
		if (!v)
			return -1;
		element(v, cb, &ordinal);
		json_decref(v);
		if (err.position <= 0)
			return -1;
		pos += (size_t)err.position;
	}
}
