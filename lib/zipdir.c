/*
 * zipdir.c - the end records and the central directory, walked by hand.
 *
 * The end of central directory record is searched for in the last 64 KiB +
 * 22 bytes; a ZIP64 locator just before it, when present, leads to the
 * ZIP64 end record, whose counts and offsets then win. The directory must
 * lie before its end record and hold at least 46 bytes per declared entry,
 * so a lying count cannot make us allocate more than the file justifies.
 */
#include "zipdir.h"

#include <stdlib.h>
#include <string.h>

#define CD_MAX (1ULL << 30) /* central directory bytes */
#define EOCD_LEN 22
#define EOCD_SEARCH (EOCD_LEN + 65535)
#define LOC64_LEN 20
#define EOCD64_LEN 56
#define CDH_LEN 46
#define U32_MAX 0xffffffffULL
#define TEXT_MAX PT_ZIPDIR_TEXT_MAX

/* Finds the central directory: fills *off, *size and *n from the end records. */
static int cd_locate(struct pt_source *src, uint64_t *off, uint64_t *size,
		     uint64_t *n, struct pt_error *err)
{
	unsigned char *tail, loc[LOC64_LEN], e64[EOCD64_LEN];
	size_t tlen = src->size < EOCD_SEARCH ? (size_t)src->size : EOCD_SEARCH;
	uint64_t eocd, z64;
	size_t i;
	int ret = -1;

	if (tlen < EOCD_LEN)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "truncated zip: no end of central directory record");
	tail = malloc(tlen);
	if (!tail)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	if (pt_source_read(src, tail, tlen, src->size - tlen,
			   "zip end of central directory", err) < 0)
		goto out_free;
	for (i = tlen - EOCD_LEN + 1; i-- > 0;)
		if (memcmp(tail + i, "PK\5\6", 4) == 0)
			break;
	if (i == (size_t)-1) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "truncated zip: no end of central directory record");
		goto out_free;
	}
	eocd = src->size - tlen + i;
	*n = pt_le16(tail + i + 10);
	*size = pt_le32(tail + i + 12);
	*off = pt_le32(tail + i + 16);
	if (eocd >= LOC64_LEN) {
		if (pt_source_read(src, loc, LOC64_LEN, eocd - LOC64_LEN,
				   "zip64 end of central directory locator", err) < 0)
			goto out_free;
		if (memcmp(loc, "PK\6\7", 4) == 0) {
			z64 = pt_le64(loc + 8);
			if (z64 > src->size || src->size - z64 < EOCD64_LEN) {
				pt_error_set(err, PT_ERR_FORMAT,
					     "zip64 end of central directory locator points past the end of the file");
				goto out_free;
			}
			if (pt_source_read(src, e64, EOCD64_LEN, z64,
					   "zip64 end of central directory", err) < 0)
				goto out_free;
			if (memcmp(e64, "PK\6\6", 4) != 0) {
				pt_error_set(err, PT_ERR_FORMAT,
					     "no zip64 end of central directory record where its locator points");
				goto out_free;
			}
			*n = pt_le64(e64 + 32);
			*size = pt_le64(e64 + 40);
			*off = pt_le64(e64 + 48);
		}
	}
	if (*off > eocd || *size > eocd - *off) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "central directory (%llu bytes at offset %llu) extends past its end record",
			     (unsigned long long)*size, (unsigned long long)*off);
		goto out_free;
	}
	if (*n > *size / CDH_LEN) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "central directory declares %llu entries in %llu bytes",
			     (unsigned long long)*n, (unsigned long long)*size);
		goto out_free;
	}
	ret = 0;
out_free:
	free(tail);
	return ret;
}

/* The local header offset of a central entry, from its ZIP64 extra if needed. */
static int cd_entry_lho(const unsigned char *h, const unsigned char *x,
			size_t xlen, uint64_t *lho)
{
	size_t at = 0, skip = 0;

	*lho = pt_le32(h + 42);
	if (*lho != U32_MAX)
		return 0;
	if (pt_le32(h + 24) == U32_MAX)
		skip += 8;
	if (pt_le32(h + 20) == U32_MAX)
		skip += 8;
	while (at + 4 <= xlen) {
		uint16_t id = pt_le16(x + at), len = pt_le16(x + at + 2);

		if (len > xlen - at - 4)
			return -1;
		if (id == 0x0001) {
			if (skip + 8 > len)
				return -1;
			*lho = pt_le64(x + at + 4 + skip);
			return 0;
		}
		at += 4 + (size_t)len;
	}
	return -1;
}

void pt_zipdir_text_show(char *dst, size_t cap, const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	dst[i] = '\0';
}

int pt_zipdir_read(struct pt_source *src, struct pt_zipdir *cd, struct pt_error *err)
{
	uint64_t off = 0, size = 0, i;
	size_t at = 0;

	if (cd_locate(src, &off, &size, &cd->n, err) < 0)
		return -1;
	cd->off = off;
	cd->size = size;
	if (size > CD_MAX)
		return pt_error_set(err, PT_ERR_LIMIT,
				    "central directory of %llu bytes exceeds the 1 GiB limit",
				    (unsigned long long)size);
	cd->buf = malloc(size ? (size_t)size : 1);
	cd->e = calloc(cd->n ? (size_t)cd->n : 1, sizeof(*cd->e));
	if (!cd->buf || !cd->e)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	if (pt_source_read(src, cd->buf, (size_t)size, off, "zip central directory",
			   err) < 0)
		return -1;
	for (i = 0; i < cd->n; i++) {
		const unsigned char *h = cd->buf + at;
		size_t nlen, xlen, clen;

		if (size - at < CDH_LEN || memcmp(h, "PK\1\2", 4) != 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "central directory entry %llu is malformed",
					    (unsigned long long)i);
		nlen = pt_le16(h + 28);
		xlen = pt_le16(h + 30);
		clen = pt_le16(h + 32);
		if (size - at - CDH_LEN < nlen + xlen + clen)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "central directory entry %llu extends past the directory",
					    (unsigned long long)i);
		cd->e[i].name = (const char *)h + CDH_LEN;
		cd->e[i].nlen = nlen;
		if (memchr(cd->e[i].name, '\0', nlen)) {
			char show[TEXT_MAX + 1];

			pt_zipdir_text_show(show, sizeof(show), h + CDH_LEN, nlen);
			return pt_error_set(err, PT_ERR_FORMAT,
					    "zip member '%s' has a NUL byte in its name",
					    show);
		}
		if (cd_entry_lho(h, h + CDH_LEN + nlen, xlen, &cd->e[i].lho) < 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "zip member %.*s: no local header offset in its ZIP64 extra field",
					    (int)nlen, cd->e[i].name);
		at += CDH_LEN + nlen + xlen + clen;
	}
	return 0;
}

void pt_zipdir_free(struct pt_zipdir *d)
{
	free(d->e);
	free(d->buf);
	d->e = NULL;
	d->buf = NULL;
}
