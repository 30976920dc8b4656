/*
 * zipdir.h - a zip file's end records and central directory, walked by ptfs.
 *
 * This walk gives each entry's name, sizes, method, CRC and local header
 * offset (honouring the ZIP64 0x0001 extra); libzip does not expose local
 * header offsets. Every length is checked against what holds it before it
 * is used. It also says whether the archive is plain: the shape torch.save
 * writes and nothing else (one disk, one end record, every entry stored and
 * unencrypted, no extra field but an exact ZIP64 one, the directory exactly
 * filled). zip.c trusts the walk alone for a plain archive and asks libzip
 * to judge every other one, so anything unusual is read by the same code as
 * before; a differential test and the zip fuzzer check that whatever is
 * plain libzip reads the same way.
 */
#ifndef PT_ZIPDIR_H
#define PT_ZIPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "source.h"

#define PT_ZIPDIR_TEXT_MAX 64 /* bytes of a name or short record shown in a message */

struct pt_zipdir_entry {
	const char *name; /* into buf, not NUL-terminated */
	size_t nlen;
	uint64_t lho;   /* local header offset */
	uint64_t size;  /* uncompressed */
	uint64_t csize; /* stored */
	uint32_t crc;
	uint16_t method;
	uint16_t flags; /* general purpose bits */
};

struct pt_zipdir {
	unsigned char *buf; /* the whole directory */
	uint64_t off, size;
	struct pt_zipdir_entry *e;
	uint64_t n;
	bool plain; /* torch.save's shape, nothing unusual: see above */
};

/*
 * Finds the end records of src, reads its central directory (1 GiB at most)
 * and walks every entry into d, setting d->plain. Returns 0, or -1 with err
 * naming what is wrong (what is merely unusual only clears d->plain). d's buffers may be allocated in either case: free them with
 * pt_zipdir_free().
 */
int pt_zipdir_read(struct pt_source *src, struct pt_zipdir *d, struct pt_error *err);

/*
 * pt_container_guess_pickle for a zip: when the first directory entry is
 * "<prefix>/data.pkl", stored, with a local header of the same name, reads
 * its bytes into *buf (a pages.h buffer of *len bytes, 256 MiB at most) and
 * returns 1; else 0, for any failure too.
 */
int pt_zipdir_guess_pickle(struct pt_source *src, unsigned char **buf, size_t *len);

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

/* ... and their writers (zipwrite.c, the tests' hand-made archives). */
static inline void pt_put_le16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static inline void pt_put_le32(unsigned char *p, uint32_t v)
{
	pt_put_le16(p, v & 0xffff);
	pt_put_le16(p + 2, v >> 16);
}

static inline void pt_put_le64(unsigned char *p, uint64_t v)
{
	pt_put_le32(p, (uint32_t)v);
	pt_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
