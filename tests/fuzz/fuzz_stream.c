/*
 * fuzz_stream.c - libFuzzer harness for the FLT reader and the copy path.
 * Each input is read twice: as is (exercising framing and CRC checks) and
 * with its block CRCs recomputed, so mutations reach the block parsers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink;

static void drain(uint8_t *buf, size_t size)
{
	FILE *fp = size ? fmemopen(buf, size, "r") : fopen("/dev/null", "r");
	if (!fp)
		return;
	flt_reader *r = flt_reader_new(fp, "fuzz.flt");
	flt_writer *w = NULL;
	const flt_rec *rec;
	int rc;
	while ((rc = flt_reader_next(r, &rec)) == 1) {
		/* Every id a record carries must resolve: the reader vouched for it. */
		size_t n;
		const char *s = flt_reader_str(r, rec->rule, &n);
		if (strlen(s) > n || (rec->source && !flt_reader_source(r, rec->source)))
			abort();
		if (!w)
			w = flt_writer_new(sink, "sink", flt_reader_header(r));
		if (flt_writer_copy(w, r, rec) < 0)
			abort(); /* a record the reader accepted must be copyable */
	}
	if (rc < 0 && !*flt_reader_error(r))
		abort(); /* every failure explains itself */
	if (w && flt_writer_close(w) < 0)
		flt_writer_free(w);
	flt_reader_free(r);
	fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sink)
		sink = fopen("/dev/null", "w");
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	drain(buf, size);
	if (flt_reseal(buf, size))
		drain(buf, size);
	free(buf);
	return 0;
}
