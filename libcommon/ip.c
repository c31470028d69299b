/*
 * ip.c - owns address parsing, formatting and classification (see ip.h).
 *
 * ip_parse runs twice per tuple, so it allocates nothing and works on the
 * byte span directly.  IPv4 is strict: four decimal octets 0-255, no sign,
 * no leading zeros ("010" is octal to inet_aton and decimal to others, so
 * an ambiguous spelling is refused rather than guessed).  IPv6 accepts
 * every RFC 4291 text form (upper/lower hex, "::", embedded IPv4) and
 * optional [brackets]; zone ids ("%eth0") are refused because a flow-log
 * address is never link-scoped text.
 */
#include "ip.h"

#include <string.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Dotted quad s[0..n) into out[0..4); 0 or -1. */
static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;
	for (int k = 0; k < 4; k++) {
		if (k > 0) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
		if (i >= n || (unsigned)(s[i] - '0') > 9)
			return -1;
		unsigned v = (unsigned)(s[i++] - '0');
		if (v == 0 && i < n && (unsigned)(s[i] - '0') <= 9)
			return -1; /* leading zero */
		for (int d = 0; d < 2 && i < n && (unsigned)(s[i] - '0') <= 9; d++)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (v > 255)
			return -1;
		out[k] = (uint8_t)v;
	}
	return i == n ? 0 : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
		if (i == n)
			goto done;
	} else if (n >= 1 && s[0] == ':') {
		return -1;
	}
	for (;;) {
		/* One group, or the embedded IPv4 tail. */
		size_t j = i;
		unsigned v = 0;
		while (j < n && j - i < 5 && hexval(s[j]) >= 0)
			v = v * 16 + (unsigned)hexval(s[j++]);
		if (j < n && s[j] == '.') {
			if (ng > 6)
				return -1;
			uint8_t q[4];
			if (parse_v4(s + i, n - i, q) < 0)
				return -1;
			g[ng++] = (uint16_t)(q[0] << 8 | q[1]);
			g[ng++] = (uint16_t)(q[2] << 8 | q[3]);
			break;
		}
		if (j == i || j - i > 4 || ng >= 8)
			return -1;
		g[ng++] = (uint16_t)v;
		i = j;
		if (i == n)
			break;
		if (s[i] != ':')
			return -1;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return -1;
			gap = ng;
			i++;
			if (i == n)
				break;
		} else if (i == n) {
			return -1; /* trailing single ':' */
		}
	}
done:
	if (gap < 0 && ng != 8)
		return -1;
	if (gap >= 0 && ng > 7)
		return -1; /* "::" must stand for at least one group */
	memset(out, 0, 16);
	int tail = gap < 0 ? 0 : ng - gap;
	int head = ng - tail;
	for (int k = 0; k < head; k++) {
		out[2 * k] = (uint8_t)(g[k] >> 8);
		out[2 * k + 1] = (uint8_t)g[k];
	}
	for (int k = 0; k < tail; k++) {
		int pos = 8 - tail + k;
		out[2 * pos] = (uint8_t)(g[head + k] >> 8);
		out[2 * pos + 1] = (uint8_t)g[head + k];
	}
	return 0;
}

int ip_parse(const char *s, size_t n, uint8_t out[16])
{
	if (n == 0 || n > 64)
		return -1;
	if ((unsigned)(s[0] - '0') <= 9) {
		/* Nearly every address in a flow log is IPv4: try that first. */
		if (parse_v4(s, n, out + 12) == 0) {
			memcpy(out, v4_prefix, 12);
			return 0;
		}
		if (!memchr(s, ':', n))
			return -1;
	}
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		s++;
		n -= 2;
	}
	return parse_v6(s, n, out);
}

int ip_is_v4(const uint8_t a[16])
{
	return memcmp(a, v4_prefix, 12) == 0;
}

static size_t put_u8(char *p, unsigned v)
{
	size_t n = 0;
	if (v >= 100)
		p[n++] = (char)('0' + v / 100);
	if (v >= 10)
		p[n++] = (char)('0' + v / 10 % 10);
	p[n++] = (char)('0' + v % 10);
	return n;
}

static size_t put_hex16(char *p, unsigned v)
{
	static const char hx[] = "0123456789abcdef";
	size_t n = 0;
	int started = 0;
	for (int sh = 12; sh >= 0; sh -= 4) {
		unsigned d = (v >> sh) & 15;
		if (d || started || sh == 0) {
			p[n++] = hx[d];
			started = 1;
		}
	}
	return n;
}

size_t ip_format(const uint8_t a[16], char *buf)
{
	size_t n = 0;
	if (ip_is_v4(a)) {
		for (int k = 0; k < 4; k++) {
			if (k)
				buf[n++] = '.';
			n += put_u8(buf + n, a[12 + k]);
		}
		buf[n] = 0;
		return n;
	}
	/* RFC 5952: compress the longest run (>= 2) of zero groups, the first on a tie. */
	int best = -1, bestlen = 1;
	for (int k = 0; k < 8;) {
		if (a[2 * k] | a[2 * k + 1]) {
			k++;
			continue;
		}
		int e = k;
		while (e < 8 && !(a[2 * e] | a[2 * e + 1]))
			e++;
		if (e - k > bestlen) {
			best = k;
			bestlen = e - k;
		}
		k = e;
	}
	for (int k = 0; k < 8; k++) {
		if (k == best) {
			buf[n++] = ':';
			buf[n++] = ':';
			k += bestlen - 1;
			continue;
		}
		if (k && k != best + bestlen)
			buf[n++] = ':';
		n += put_hex16(buf + n, (unsigned)(a[2 * k] << 8 | a[2 * k + 1]));
	}
	buf[n] = 0;
	return n;
}

static enum ip_class classify_v4(const uint8_t *q)
{
	uint8_t a = q[0], b = q[1], c = q[2];
	if (a == 168 && b == 63 && c == 129 && q[3] == 16)
		return IP_CLASS_AZURE_PLATFORM;
	if (a == 169 && b == 254)
		return (c == 169 && q[3] == 254) ? IP_CLASS_AZURE_PLATFORM : IP_CLASS_LINKLOCAL;
	if (a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168))
		return IP_CLASS_PRIVATE;
	if (a == 100 && (b & 0xc0) == 64)
		return IP_CLASS_SHARED;
	if (a == 127)
		return IP_CLASS_LOOPBACK;
	if ((a & 0xf0) == 224)
		return IP_CLASS_MULTICAST;
	if ((a == 192 && b == 0 && c == 2) || (a == 198 && b == 51 && c == 100) ||
	    (a == 203 && b == 0 && c == 113))
		return IP_CLASS_DOCUMENTATION;
	if (a == 0 || (a & 0xf0) == 240)
		return IP_CLASS_UNSPECIFIED; /* "this network", reserved and broadcast */
	return IP_CLASS_PUBLIC;
}

enum ip_class ip_classify(const uint8_t a[16])
{
	static const uint8_t zero[16];
	if (ip_is_v4(a))
		return classify_v4(a + 12);
	if (memcmp(a, zero, 15) == 0)
		return a[15] == 1 ? IP_CLASS_LOOPBACK : a[15] == 0 ? IP_CLASS_UNSPECIFIED : IP_CLASS_PUBLIC;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return IP_CLASS_LINKLOCAL;
	if (a[0] == 0xff)
		return IP_CLASS_MULTICAST;
	if ((a[0] & 0xfe) == 0xfc)
		return IP_CLASS_PRIVATE;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return IP_CLASS_DOCUMENTATION;
	return IP_CLASS_PUBLIC;
}

const char *ip_class_name(enum ip_class c)
{
	static const char *const names[IP_CLASS_COUNT] = {
		"public", "private", "shared", "loopback", "link-local",
		"multicast", "documentation", "azure-platform", "unspecified",
	};
	return (unsigned)c < IP_CLASS_COUNT ? names[c] : "?";
}
