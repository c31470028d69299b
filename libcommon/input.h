/*
 * input.h - walking what a responder was handed: plain files, directories
 * (recursively, in sorted order), stdin, and anything libarchive reads
 * (zip, tar, tar.gz/.zst/.xz/.bz2, 7z, .json.gz, nested archives), always
 * detected by content, never by name.  Each member's bytes are passed on in
 * chunks; nothing is held whole in memory.  Also parses what an Azure blob
 * path says (subscription, flow-log or NSG name, hour, MAC).
 */
#ifndef FL_INPUT_H
#define FL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#define IN_SIZE_UNKNOWN UINT64_MAX
#define IN_MAX_DEPTH 4 /* archives inside archives */
#define IN_NAME_MAX 65535 /* bytes of a member name (nested: outer!inner), as FLT_STR_MAX allows */

typedef struct in_member {
	const char *archive;  /* the file as found on disk or named on the command line */
	const char *member;   /* path inside the archive ("a.zip!b/c.json" nests), "" for a plain file */
	uint64_t size;        /* uncompressed size, IN_SIZE_UNKNOWN when the container does not say */
} in_member;

typedef struct in_callbacks {
	void *ctx;
	/* Every file or archive member, before any of its bytes are read: return 1 to
	 * read it, 0 to skip it unread (time-window pruning by its blob path). */
	int (*want)(void *ctx, const in_member *m);
	/* Optional: a regular file that want() accepted, before it is opened: return 1
	 * to take it over (read it elsewhere, e.g. in a worker thread), 0 to let the
	 * walk read it.  Archives inside it are then the taker's business. */
	int (*defer)(void *ctx, const in_member *m);
	/* A member whose content is JSON starts; data() follows in chunks, then end(). */
	void (*begin)(void *ctx, const in_member *m);
	void (*data)(void *ctx, const char *buf, size_t n);
	/* End of a JSON member (also after a read error inside it). */
	void (*end)(void *ctx, const in_member *m);
	/* A member or file that is not JSON and not an archive (README, image): skipped. */
	void (*skipped)(void *ctx, const in_member *m, const char *why);
	/* Input that could not be read (missing file, damaged archive): offset is the byte
	 * offset reached in the member (or archive), IN_SIZE_UNKNOWN if not known. */
	void (*error)(void *ctx, const in_member *m, uint64_t offset, const char *msg);
} in_callbacks;

/* 1 when the first n bytes of a file (n >= 512, or the whole file) say JSON,
 * 0 when they say something else (an archive, text, empty). */
int in_json_prefix(const void *buf, size_t n);

/* Walks one operand ("-" = stdin).  Returns the number of errors reported. */
unsigned in_walk(const char *path, const in_callbacks *cb);

/* What an Azure blob path says.  Strings are "" when absent. */
typedef struct in_blobpath {
	char sub[64];        /* subscription id, as written (upper case in Azure paths) */
	char name[256];      /* flow-log name (VNet) or NSG name */
	char mac[16];        /* 12 upper-case hex digits */
	int64_t hour_ms;     /* y=/m=/d=/h= as epoch ms, -1 when absent */
	int kind;            /* 1 VNet flow-log container/path, 2 NSG, 0 unknown */
} in_blobpath;

/* Parses the flowLogResourceID=/... or resourceId=/... part of a path, in
 * the long (/SUBSCRIPTIONS/.../FLOWLOGS/NAME), short
 * (/{SUB}_NETWORKWATCHERRG/NETWORKWATCHER_{REGION}_{NAME}) and NSG forms.
 * Returns 1 when anything was recognised, 0 otherwise. */
int in_blobpath_parse(const char *path, in_blobpath *bp);

#endif
