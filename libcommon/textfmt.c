/* textfmt.c - shared text conventions.  See textfmt.h. */
#include "textfmt.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

const char *fl_proto_name(unsigned proto, char buf[8])
{
	if (proto == 6)
		return "tcp";
	if (proto == 17)
		return "udp";
	if (proto == 1)
		return "icmp";
	if (proto == 58)
		return "ipv6-icmp";
	snprintf(buf, 8, "%u", proto);
	return buf;
}

int fl_proto_parse(const char *s)
{
	static const char *const names[] = { "icmp", "tcp", "udp", "ipv6-icmp" };
	static const int numbers[] = { 1, 6, 17, 58 };
	int v = 0;
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return numbers[i];
	if (!*s)
		return -1;
	for (; *s; s++)
		if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > 255)
			return -1;
	return v;
}

void fl_human_bytes(uint64_t b, char *buf, size_t n)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)b;
	int u = 0;
	while (v >= 1000 && u < 5)
		v /= 1000, u++;
	if (u == 0)
		snprintf(buf, n, "%" PRIu64 " B", b);
	else
		snprintf(buf, n, "%.1f %s", v, unit[u]);
}

void fl_csv_cell(FILE *fp, const char *s)
{
	int quote = strpbrk(s, ",\"\r\n") != NULL;
	int neutral = s[0] && strchr("=+-@\t\r", s[0]);
	if (!quote && !neutral) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	if (neutral)
		fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

char *fl_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = tmp[--n];
	return p;
}
