/*
 * ip.h - addresses as 16 bytes (IPv4 mapped into IPv6, ::ffff:a.b.c.d):
 * parsing in any spelling, canonical formatting (dotted quad for mapped
 * IPv4, RFC 5952 for IPv6) and classification of the address ranges that
 * matter in Azure (private, shared, loopback, link-local, multicast,
 * documentation, Azure platform, public).
 */
#ifndef FL_IP_H
#define FL_IP_H

#include <stddef.h>
#include <stdint.h>

#define IP_STRLEN 46 /* enough for any formatted address plus NUL */

/* Parses s[0..n) (no NUL needed): dotted IPv4 or IPv6 in any RFC 4291
 * spelling, optionally in brackets, with an embedded IPv4 tail.  Returns 0
 * and fills out[16], or -1 when it is not an address. */
int ip_parse(const char *s, size_t n, uint8_t out[16]);
/* Formats into buf (IP_STRLEN bytes); returns the length. */
size_t ip_format(const uint8_t a[16], char *buf);
int ip_is_v4(const uint8_t a[16]);

enum ip_class {
	IP_CLASS_PUBLIC = 0,
	IP_CLASS_PRIVATE,       /* RFC 1918, IPv6 ULA fc00::/7 */
	IP_CLASS_SHARED,        /* 100.64.0.0/10 (RFC 6598) */
	IP_CLASS_LOOPBACK,
	IP_CLASS_LINKLOCAL,     /* 169.254/16 except 169.254.169.254, fe80::/10 */
	IP_CLASS_MULTICAST,
	IP_CLASS_DOCUMENTATION, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 */
	IP_CLASS_AZURE_PLATFORM,/* 168.63.129.16, 169.254.169.254 */
	IP_CLASS_UNSPECIFIED,   /* 0.0.0.0/8, :: , broadcast, reserved */
	IP_CLASS_COUNT
};
enum ip_class ip_classify(const uint8_t a[16]);
const char *ip_class_name(enum ip_class c); /* "public", "private", ... */

#endif
