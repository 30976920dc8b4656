/*
 * zipdir.c - the end records and the central directory, walked by hand.
 *
 * The end of central directory record is searched for in the last 64 KiB +
 * 22 bytes; a ZIP64 locator just before it, when present, leads to the
 * ZIP64 end record, whose counts and offsets then win. The directory must
 * lie before its end record and hold at least 46 bytes per declared entry,
 * so a lying count cannot make us allocate more than the file justifies.
 * pt_zipdir_guess_pickle reads the same end records but only the first
 * entry and its local header: a guess for checkpoint.c to start the pickle
 * with, which the full walk then confirms or overrules.
 */
#define _GNU_SOURCE /* memmem */
#include "zipdir.h"

#include <stdlib.h>
#include <string.h>

#include "pages.h"

#define CD_MAX (1ULL << 30) /* central directory bytes */
#define EOCD_LEN 22
#define EOCD_SEARCH (EOCD_LEN + 65535)
#define LOC64_LEN 20
#define EOCD64_LEN 56
#define CDH_LEN 46
#define LFH_LEN 30
/*
 * data.pkl bytes worth a guess: the guess is a second copy while the open
 * runs, so a bigger pickle (millions of tensors) is read once, in order.
 */
#define GUESS_MAX (256ULL << 20)
#define U32_MAX 0xffffffffULL
#define U16_MAX 0xffffULL
#define GPBF_DESCRIPTOR 0x0008
#define GPBF_UTF8 0x0800
#define TEXT_MAX PT_ZIPDIR_TEXT_MAX

/* Finds the central directory: fills d->off, d->size and d->n from the end records. */
static int cd_locate(struct pt_source *src, struct pt_zipdir *d, struct pt_error *err)
{
	unsigned char *tail, loc[LOC64_LEN], e64[EOCD64_LEN];
	size_t tlen = src->size < EOCD_SEARCH ? (size_t)src->size : EOCD_SEARCH;
	uint64_t eocd, z64, end;
	const unsigned char *e;
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
	e = tail + i;
	eocd = src->size - tlen + i;
	d->n = pt_le16(e + 10);
	d->size = pt_le32(e + 12);
	d->off = pt_le32(e + 16);
	/*
	 * libzip takes the first end record of the tail that reads well, we the
	 * last: plain when there is one, with no comment after it.
	 */
	d->plain = pt_le16(e + 4) == 0 && pt_le16(e + 6) == 0 && pt_le16(e + 8) == d->n &&
		   pt_le16(e + 20) == 0 && i == tlen - EOCD_LEN &&
		   !memmem(tail, i + 3, "PK\5\6", 4);
	end = eocd;
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
			/* the classic record's fields are each 0xffff... or the same value */
			d->plain = d->plain && pt_le32(loc + 4) == 0 && pt_le32(loc + 16) == 1 &&
				   z64 + EOCD64_LEN + LOC64_LEN == eocd &&
				   pt_le64(e64 + 4) == EOCD64_LEN - 12 && pt_le32(e64 + 16) == 0 &&
				   pt_le32(e64 + 20) == 0 && pt_le64(e64 + 24) == pt_le64(e64 + 32) &&
				   (d->n == U16_MAX || d->n == pt_le64(e64 + 32)) &&
				   (d->size == U32_MAX || d->size == pt_le64(e64 + 40)) &&
				   (d->off == U32_MAX || d->off == pt_le64(e64 + 48));
			d->n = pt_le64(e64 + 32);
			d->size = pt_le64(e64 + 40);
			d->off = pt_le64(e64 + 48);
			end = z64;
		}
	}
	if (d->off > eocd || d->size > eocd - d->off) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "central directory (%llu bytes at offset %llu) extends past its end record",
			     (unsigned long long)d->size, (unsigned long long)d->off);
		goto out_free;
	}
	if (d->n > d->size / CDH_LEN) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "central directory declares %llu entries in %llu bytes",
			     (unsigned long long)d->n, (unsigned long long)d->size);
		goto out_free;
	}
	d->plain = d->plain && d->off + d->size == end;
	ret = 0;
out_free:
	free(tail);
	return ret;
}

/* The fixed fields of the central header h; ZIP64 values come after (cd_entry_zip64). */
static void cd_entry_fields(const unsigned char *h, struct pt_zipdir_entry *e)
{
	e->flags = pt_le16(h + 8);
	e->method = pt_le16(h + 10);
	e->crc = pt_le32(h + 16);
	e->csize = pt_le32(h + 20);
	e->size = pt_le32(h + 24);
	e->lho = pt_le32(h + 42);
}

/*
 * Reads the ZIP64 0x0001 extra of a central entry: its fields are present
 * only for the 32-bit ones that hold 0xffffffff, in the order size,
 * compressed size, local header offset. Returns -1 when the offset is
 * 0xffffffff and no extra supplies it; clears *plain for any other extra,
 * a malformed or inexact one, or a size left at 0xffffffff.
 */
static int cd_entry_zip64(const unsigned char *x, size_t xlen, struct pt_zipdir_entry *e,
			  bool *plain)
{
	uint64_t *field[3] = { &e->size, &e->csize, &e->lho };
	size_t at = 0, want = 0, k, nz64 = 0;
	bool lho_known = e->lho != U32_MAX;

	for (k = 0; k < 3; k++)
		want += *field[k] == U32_MAX ? 8 : 0;
	while (at + 4 <= xlen) {
		uint16_t id = pt_le16(x + at), len = pt_le16(x + at + 2);
		const unsigned char *v = x + at + 4;

		if (len > xlen - at - 4)
			break;
		at += 4 + (size_t)len;
		if (id != 0x0001) {
			*plain = false;
			continue;
		}
		if (nz64++ || len < want) {
			*plain = false;
			continue;
		}
		*plain = *plain && len == want;
		for (k = 0; k < 3; k++)
			if (*field[k] == U32_MAX) {
				*field[k] = pt_le64(v);
				v += 8;
			}
		lho_known = true;
	}
	if (at != xlen || (want && !nz64))
		*plain = false;
	return lho_known ? 0 : -1;
}

/*
 * Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF) with no control character: libzip refuses a name
 * flagged UTF-8 that holds one of 0x00-0x1f other than tab, CR and LF.
 */
static bool name_plain(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x20)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, cp = s[i] & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
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
	size_t at = 0;
	uint64_t i;

	if (cd_locate(src, cd, err) < 0)
		return -1;
	if (cd->size > CD_MAX)
		return pt_error_set(err, PT_ERR_LIMIT,
				    "central directory of %llu bytes exceeds the 1 GiB limit",
				    (unsigned long long)cd->size);
	/* n <= size / 46 and size <= 1 GiB: no product overflows */
	cd->buf = pt_pages_alloc((size_t)cd->size);
	cd->e = pt_pages_alloc((size_t)cd->n * sizeof(*cd->e));
	if (!cd->buf || !cd->e)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	if (pt_source_read(src, cd->buf, (size_t)cd->size, cd->off, "zip central directory",
			   err) < 0)
		return -1;
	for (i = 0; i < cd->n; i++) {
		const unsigned char *h = cd->buf + at;
		struct pt_zipdir_entry *e = &cd->e[i];
		size_t nlen, xlen, clen;

		if (cd->size - at < CDH_LEN || memcmp(h, "PK\1\2", 4) != 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "central directory entry %llu is malformed",
					    (unsigned long long)i);
		nlen = pt_le16(h + 28);
		xlen = pt_le16(h + 30);
		clen = pt_le16(h + 32);
		if (cd->size - at - CDH_LEN < nlen + xlen + clen)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "central directory entry %llu extends past the directory",
					    (unsigned long long)i);
		e->name = (const char *)h + CDH_LEN;
		e->nlen = nlen;
		if (memchr(e->name, '\0', nlen)) {
			char show[TEXT_MAX + 1];

			pt_zipdir_text_show(show, sizeof(show), h + CDH_LEN, nlen);
			return pt_error_set(err, PT_ERR_FORMAT,
					    "zip member '%s' has a NUL byte in its name",
					    show);
		}
		cd_entry_fields(h, e);
		if (cd_entry_zip64(h + CDH_LEN + nlen, xlen, e, &cd->plain) < 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "zip member %.*s: no local header offset in its ZIP64 extra field",
					    (int)nlen, e->name);
		/* bit 3 (sizes in a data descriptor) and 11 (UTF-8 names) are torch's */
		cd->plain = cd->plain && !(e->flags & ~(GPBF_DESCRIPTOR | GPBF_UTF8)) &&
			    e->method == 0 && e->csize == e->size && pt_le16(h + 34) == 0 &&
			    clen == 0 && e->lho < cd->off &&
			    name_plain(h + CDH_LEN, nlen);
		at += CDH_LEN + nlen + xlen + clen;
	}
	cd->plain = cd->plain && at == cd->size;
	return 0;
}

/*
 * Reads only the end records and the directory's first entry into e, its
 * name (without a NUL) into name[0..cap); e->name points into name.
 * Returns 1, 0 when the archive has no entries or the entry does not fit,
 * -1 with err for what pt_zipdir_read would also refuse.
 */
static int cd_first(struct pt_source *src, struct pt_zipdir_entry *e, char *name, size_t cap,
		    struct pt_error *err)
{
	struct pt_zipdir d = { 0 };
	unsigned char h[CDH_LEN], x[256]; /* torch's extra is a ZIP64 one of 28 bytes at most */
	size_t nlen, xlen;
	bool plain = true;

	if (cd_locate(src, &d, err) < 0)
		return -1;
	if (d.n == 0 || d.size < CDH_LEN)
		return 0;
	if (pt_source_read(src, h, CDH_LEN, d.off, "zip central directory", err) < 0)
		return -1;
	nlen = pt_le16(h + 28);
	xlen = pt_le16(h + 30);
	if (memcmp(h, "PK\1\2", 4) != 0 || nlen > cap || xlen > sizeof(x) ||
	    d.size - CDH_LEN < nlen + xlen)
		return 0;
	if (pt_source_read(src, name, nlen, d.off + CDH_LEN, "zip central directory", err) < 0 ||
	    pt_source_read(src, x, xlen, d.off + CDH_LEN + nlen, "zip central directory", err) < 0)
		return -1;
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->nlen = nlen;
	cd_entry_fields(h, e);
	return cd_entry_zip64(x, xlen, e, &plain) < 0 ? 0 : 1;
}

int pt_zipdir_guess_pickle(struct pt_source *src, unsigned char **buf, size_t *len)
{
	struct pt_zipdir_entry e;
	struct pt_error err;
	char name[1024], lname[sizeof(name)];
	unsigned char h[LFH_LEN], *b;
	const char *slash;
	uint64_t off;

	if (cd_first(src, &e, name, sizeof(name), &err) != 1)
		return 0;
	slash = memchr(name, '/', e.nlen);
	if (!slash || slash == name || (size_t)(name + e.nlen - slash) != sizeof("/data.pkl") - 1 ||
	    memcmp(slash, "/data.pkl", sizeof("/data.pkl") - 1) != 0)
		return 0;
	if (e.method != 0 || e.csize != e.size || e.size > GUESS_MAX || e.size > src->size ||
	    e.lho > src->size || pt_source_read(src, h, LFH_LEN, e.lho, "", &err) < 0 ||
	    memcmp(h, "PK\3\4", 4) != 0 ||
	    pt_le16(h + 26) != e.nlen ||
	    pt_source_read(src, lname, e.nlen, e.lho + LFH_LEN, "", &err) < 0 ||
	    memcmp(lname, name, e.nlen) != 0)
		return 0;
	off = e.lho + LFH_LEN + e.nlen + pt_le16(h + 28);
	if (off > src->size || e.size > src->size - off)
		return 0;
	b = pt_pages_alloc((size_t)e.size);
	if (!b)
		return 0;
	if (pt_source_read(src, b, (size_t)e.size, off, "", &err) < 0) {
		pt_pages_free(b, (size_t)e.size);
		return 0;
	}
	*buf = b;
	*len = (size_t)e.size;
	return 1;
}

void pt_zipdir_free(struct pt_zipdir *d)
{
	pt_pages_free(d->e, (size_t)d->n * sizeof(*d->e));
	pt_pages_free(d->buf, (size_t)d->size);
	d->e = NULL;
	d->buf = NULL;
}
