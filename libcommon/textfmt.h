/*
 * textfmt.h - the small text conventions the reporting tools share, so a
 * protocol, a volume or a CSV cell reads the same in every tool.
 */
#ifndef FL_TEXTFMT_H
#define FL_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "tcp", "udp", "icmp", "ipv6-icmp", or the number written into buf (8 bytes). */
const char *fl_proto_name(unsigned proto, char buf[8]);
/* The inverse: one of those names (any case) or a number 0-255; -1 otherwise. */
int fl_proto_parse(const char *s);
/* Decimal units: "512 B", "9.9 kB", "1.2 GB". */
void fl_human_bytes(uint64_t bytes, char *buf, size_t n);
/* A CSV cell: quoted when it holds a comma, quote or line break; a cell that
 * a spreadsheet would run as a formula (= + - @, tab, CR first) gets an
 * apostrophe in front. */
void fl_csv_cell(FILE *fp, const char *s);
/* Writes v in decimal at p (no NUL; at most 20 bytes) and returns the end. */
char *fl_put_u64(char *p, uint64_t v);

#endif
