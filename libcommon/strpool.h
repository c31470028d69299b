/*
 * strpool.h - interned strings with dense ids (1, 2, ...; 0 is ""), for
 * tools that label nodes with annotation values (subnet, country,
 * application) gathered from several streams whose dictionary ids differ.
 */
#ifndef FL_STRPOOL_H
#define FL_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct strpool strpool;

strpool *strpool_new(void);
uint32_t strpool_intern(strpool *p, const char *s, size_t n);
const char *strpool_get(const strpool *p, uint32_t id);
uint32_t strpool_count(const strpool *p);
void strpool_free(strpool *p);

#endif
