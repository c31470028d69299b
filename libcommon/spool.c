/*
 * spool.c - two passes over any input; see spool.h.
 */
#include "spool.h"
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Unlinked before any signal can be delivered, so it vanishes with the
 * process however that ends. */
static int spool_create(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	size_t n = strlen(dir) + 32;
	char *path = fl_xmalloc(n);
	snprintf(path, n, "%s/fl-spool.XXXXXX", dir);
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	int fd = mkstemp(path);
	int e = errno;
	if (fd >= 0)
		unlink(path);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(path);
	if (fd < 0)
		fl_die(FL_EXIT_FATAL, "cannot create a temporary file in %s: %s", dir, strerror(e));
	return fd;
}

/* The first pass parses what it copies instead of copying, then reading. */
static ssize_t tee_read(void *cookie, char *buf, size_t size)
{
	fl_spool *s = cookie;
	ssize_t got;
	do
		got = read(s->src_fd, buf, size);
	while (got < 0 && errno == EINTR);
	for (ssize_t done = 0; got > 0 && done < got;) {
		ssize_t put = write(s->spool_fd, buf + done, (size_t)(got - done));
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			fl_die(FL_EXIT_FATAL, "cannot copy %s to a temporary file: %s "
			       "(set TMPDIR to a roomier directory)", s->name, strerror(errno));
		done += put;
	}
	if (got > 0)
		s->spooled += (uint64_t)got;
	return got;
}

FILE *fl_spool_begin(fl_spool *s, FILE *fp, const char *name)
{
	struct stat st;
	s->name = name;
	s->fp = fp;
	s->tee = NULL;
	s->spooled = 0;
	s->spool_fd = -1;
	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
		s->start = ftello(fp);
		if (s->start >= 0)
			return fp;
	}
	cookie_io_functions_t io = { .read = tee_read };
	s->src_fd = fileno(fp);
	s->spool_fd = spool_create();
	if (!(s->tee = fopencookie(s, "r", io)))
		fl_die(FL_EXIT_FATAL, "cannot read %s: %s", name, strerror(errno));
	setvbuf(s->tee, s->vbuf, _IOFBF, sizeof s->vbuf);
	return s->tee;
}

void fl_spool_rewind(fl_spool *s)
{
	if (s->tee) {
		fclose(s->tee);
		s->tee = NULL;
		if (s->fp != stdin)
			fclose(s->fp);
		if (lseek(s->spool_fd, 0, SEEK_SET) != 0 || !(s->fp = fdopen(s->spool_fd, "rb")))
			fl_die(FL_EXIT_FATAL, "cannot read back the temporary file: %s", strerror(errno));
		s->start = 0;
	}
	if (fseeko(s->fp, s->start, SEEK_SET) != 0)
		fl_die(FL_EXIT_FATAL, "%s: cannot read it a second time: %s", s->name, strerror(errno));
}

void fl_spool_close(fl_spool *s)
{
	if (s->tee)
		fclose(s->tee);
	if (s->fp && s->fp != stdin)
		fclose(s->fp);
	s->fp = s->tee = NULL;
}
