/*
 * zipdir.h - a zip file's end records and central directory, walked by ptfs.
 *
 * zip.c reads archives with libzip, which does not expose where each local
 * header is; this walk gives names and local header offsets (honouring the
 * ZIP64 0x0001 extra) for zip.c to cross-check against libzip's view. Every
 * length is checked against what holds it before it is used.
 */
#ifndef PT_ZIPDIR_H
#define PT_ZIPDIR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "source.h"

#define PT_ZIPDIR_TEXT_MAX 64 /* bytes of a name or short record shown in a message */

struct pt_zipdir_entry {
	const char *name; /* into buf, not NUL-terminated */
	size_t nlen;
	uint64_t lho; /* local header offset */
};

struct pt_zipdir {
	unsigned char *buf; /* the whole directory */
	uint64_t off, size;
	struct pt_zipdir_entry *e;
	uint64_t n;
};

/*
 * Finds the end records of src, reads its central directory (1 GiB at most)
 * and walks every entry into d. Returns 0, or -1 with err naming what is
 * wrong. d's buffers may be allocated in either case: free them with
 * pt_zipdir_free().
 */
int pt_zipdir_read(struct pt_source *src, struct pt_zipdir *d, struct pt_error *err);

/* Frees d's buffers (d itself is the caller's). */
void pt_zipdir_free(struct pt_zipdir *d);

/* Copies n bytes of s into dst (cap bytes, NUL-terminated), '?' for unprintable ones. */
void pt_zipdir_text_show(char *dst, size_t cap, const unsigned char *s, size_t n);

/* Little-endian fields. */
static inline uint16_t pt_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t pt_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t pt_le64(const unsigned char *p)
{
	return (uint64_t)pt_le32(p) | (uint64_t)pt_le32(p + 4) << 32;
}

#endif
