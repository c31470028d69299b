/*
 * textin.h - text files as responders receive them: whole-file reads, and
 * the encodings Windows tools save in (a UTF-8 byte-order mark from
 * Notepad or Excel, UTF-16 from PowerShell 5 redirection), so a policy, an
 * inventory or a baseline edited on Windows reads like any other.
 */
#ifndef FL_TEXTIN_H
#define FL_TEXTIN_H

#include <jansson.h>
#include <stddef.h>

/* Reads the whole of a regular file into *buf (NUL-terminated; free it).
 * 0, or -1 with errno set (EINVAL: not a regular file, which could be read
 * forever, such as /dev/zero). */
int fl_read_file(const char *path, char **buf, size_t *n);

/* The text of buf as UTF-8: a UTF-8 byte-order mark is skipped, UTF-16 with
 * a byte-order mark (either byte order) is converted.  Returns a pointer
 * into buf, or to a converted copy stored in *owned (to free; NULL when
 * nothing was converted), and its length in *out_n. */
const char *fl_text_utf8(const char *buf, size_t n, size_t *out_n, char **owned);

/* A JSON file, read with fl_read_file and fl_text_utf8, parsed by jansson
 * with flags.  NULL on failure with je filled (je->line is -1 when the file
 * could not be read; je->text then says why). */
json_t *fl_json_load_path(const char *path, size_t flags, json_error_t *je);

#endif
