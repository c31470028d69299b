/*
 * ref_jansson.h - the reference flow-log reader for differential tests:
 * a whole member through jansson's DOM, walked in the simplest way, giving
 * the same callbacks as the streaming scanner for valid JSON.
 */
#ifndef FL_REF_JANSSON_H
#define FL_REF_JANSSON_H

#include <stddef.h>

#include "flowjson.h"

/* Reads buf[0..n) (one member): JSON values one after the other (a
 * {"records":[...]} wrapper, a record, an array, JSON Lines), UTF-8 BOM
 * allowed.  Record offsets and hashes are not known here (0).  Returns 0,
 * or -1 when the text is not valid JSON (callbacks may have run). */
int ref_read(const char *buf, size_t n, const fj_callbacks *cb);

#endif
