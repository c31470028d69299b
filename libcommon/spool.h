/*
 * spool.h - reading an input twice.  A regular file is read again from
 * where it started; anything else (a pipe, a FIFO) is copied, while the
 * first pass reads it, to a temporary file that is unlinked as soon as it
 * exists, so no exit path, signals included, can leave it behind.  The same
 * scheme as fl-window's, for tools whose second pass needs the records again.
 */
#ifndef FL_SPOOL_H
#define FL_SPOOL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct fl_spool {
	const char *name;  /* for messages */
	FILE *fp;          /* the input; after fl_spool_rewind() the one to read again */
	FILE *tee;         /* first-pass reader over a pipe, NULL for a regular file */
	off_t start;
	uint64_t spooled;  /* bytes copied to the temporary file */
	int src_fd, spool_fd;
	char vbuf[1u << 16];
} fl_spool;

/* Prepares fp (named name) for two passes; returns the FILE the first pass
 * reads.  Dies with exit 3 when no temporary file can be made. */
FILE *fl_spool_begin(fl_spool *s, FILE *fp, const char *name);
/* After the first pass: s->fp is positioned at the start of the input. */
void fl_spool_rewind(fl_spool *s);
/* Closes what the spool opened (not stdin). */
void fl_spool_close(fl_spool *s);

#endif
