/* textin.c - whole files and Windows encodings.  See textin.h. */
#include "textin.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int fl_read_file(const char *path, char **buf, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	if (!fp)
		return -1;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		errno = EINVAL;
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0, got;
	char *b = fl_xmalloc(cap);
	/* the size is a hint: a file may still grow while it is read */
	while ((got = fread(b + len, 1, cap - len - 1, fp)) > 0) {
		len += got;
		if (len + 1 == cap)
			b = fl_xrealloc(b, cap *= 2);
	}
	int err = ferror(fp) ? errno : 0;
	fclose(fp);
	if (err) {
		free(b);
		errno = err;
		return -1;
	}
	b[len] = 0;
	*buf = b;
	*n = len;
	return 0;
}

static char *utf16_to_utf8(const unsigned char *s, size_t n, int be, size_t *out_n)
{
	char *o = fl_xmalloc(n / 2 * 3 + 4);
	size_t k = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = be ? (uint32_t)(s[i] << 8 | s[i + 1]) : (uint32_t)(s[i] | s[i + 1] << 8);
		if (c >= 0xD800 && c < 0xDC00 && i + 3 < n) {
			uint32_t d = be ? (uint32_t)(s[i + 2] << 8 | s[i + 3]) : (uint32_t)(s[i + 2] | s[i + 3] << 8);
			if (d >= 0xDC00 && d < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
				i += 2;
			}
		}
		if (c < 0x80) {
			o[k++] = (char)c;
		} else if (c < 0x800) {
			o[k++] = (char)(0xC0 | c >> 6), o[k++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			o[k++] = (char)(0xE0 | c >> 12), o[k++] = (char)(0x80 | (c >> 6 & 0x3F));
			o[k++] = (char)(0x80 | (c & 0x3F));
		} else {
			o[k++] = (char)(0xF0 | c >> 18), o[k++] = (char)(0x80 | (c >> 12 & 0x3F));
			o[k++] = (char)(0x80 | (c >> 6 & 0x3F)), o[k++] = (char)(0x80 | (c & 0x3F));
		}
	}
	o[k] = 0;
	*out_n = k;
	return o;
}

const char *fl_text_utf8(const char *buf, size_t n, size_t *out_n, char **owned)
{
	const unsigned char *u = (const unsigned char *)buf;
	*owned = NULL;
	*out_n = n;
	if (n >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
		*owned = utf16_to_utf8(u + 2, n - 2, u[0] == 0xFE, out_n);
		return *owned;
	}
	if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		*out_n = n - 3;
		return buf + 3;
	}
	return buf;
}

json_t *fl_json_load_path(const char *path, size_t flags, json_error_t *je)
{
	char *buf, *owned;
	size_t n, len;
	if (fl_read_file(path, &buf, &n) != 0) {
		memset(je, 0, sizeof *je);
		je->line = je->column = -1;
		snprintf(je->text, sizeof je->text, "%s", errno == EINVAL ? "not a regular file" :
		         strerror(errno));
		snprintf(je->source, sizeof je->source, "%s", path);
		return NULL;
	}
	const char *text = fl_text_utf8(buf, n, &len, &owned);
	json_t *root = json_loadb(text, len, flags, je);
	free(owned);
	free(buf);
	return root;
}
