/*
 * zipwrite.c - the streaming zip writer (torch.save layout, see zipwrite.h).
 *
 * Format facts relied on (research/format.md §1.4, §1.5; miniz.c 6389-6637;
 * inline_container.cc 253-282, 700-746), all integers little-endian:
 *  - local header: PK\3\4, version needed 0 (45 when the entry carries a
 *    ZIP64 extra), flags 0x0808 (bit 3 data descriptor, bit 11 UTF-8) or
 *    0x0800 for an empty record, method 0, DOS time and date 0, CRC 0 and
 *    sizes 0, name "<prefix>/<name>", then the extra field;
 *  - local extra: a ZIP64 field (id 0x0001) with both sizes (16 bytes, 0:
 *    the descriptor holds them) when the size is >= zip64_above and the
 *    header offset (8 bytes) when that is >= zip64_above; then always torch's
 *    'FB' field (id 0x4246) of 'Z' padding so that the data starts at a
 *    multiple of the alignment, its 4-byte header present even for 0 padding;
 *  - after each non-empty record a descriptor PK\7\8, CRC, csize, usize with
 *    4-byte sizes, or 8-byte sizes when the entry carried a ZIP64 extra;
 *  - central entry: PK\1\2, made by 0 (as miniz writes: MS-DOS, no
 *    attributes), needed 0/45, the local flags, real CRC, sizes and offset,
 *    each of usize, csize, offset >= zip64_above being 0xFFFFFFFF and moved,
 *    in that order, to a ZIP64 extra; no 'FB' field here;
 *  - the end: ZIP64 end record (PK\6\6, size 44, made by 0x031E, needed 45),
 *    its locator (PK\6\7), then the classic end record (PK\5\6) whose count,
 *    size and offset are clamped to 0xFFFF / 0xFFFFFFFF when they do not fit
 *    (or, for size and offset, are >= zip64_above).
 *
 * Headers go through a 64 KiB buffer flushed with pwrite at the position the
 * writer tracks; record data larger than the buffer bypasses it. fd's own
 * file offset is never used. After an I/O error the file's tail is unknown,
 * so the writer refuses further work.
 */
#define _GNU_SOURCE
#include "zipwrite.h"
#include "zipdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define ZW_BUF	     (64u * 1024)
#define ZW_CHUNK     ((uint64_t)64 << 20) /* copy_file_range chunk, progress step */
#define ZW_RBUF	     ((size_t)4 << 20)	  /* pread/pwrite fallback buffer */
#define ZW_MAX_ALIGN 32768u
#define ZW_U32	     0xFFFFFFFFull

struct zw_entry {
	char *name; /* full name, prefix included */
	uint64_t offset, size;
	uint32_t crc;
};

struct pt_zipw {
	int fd;
	char *prefix;
	size_t prefix_len;
	unsigned alignment;
	uint64_t zip64_above;
	uint64_t buf_off; /* file offset of buf[0]; buf_off + buf_len is the end */
	size_t buf_len;
	uint64_t done; /* record bytes written over all add calls */
	struct zw_entry *ents;
	size_t n_ents, cap_ents;
	bool broken, finished;
	unsigned char buf[ZW_BUF];
};

static uint64_t zw_pos(const struct pt_zipw *w)
{
	return w->buf_off + w->buf_len;
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;

		crc = (uint32_t)crc32(crc, p, k);
		p += k;
		n -= k;
	}
	return crc;
}

/* pwrite all of p at off; on failure fills err and returns -1. */
static int write_at(int fd, const void *p, size_t n, uint64_t off, struct pt_error *err)
{
	const unsigned char *c = p;

	while (n) {
		ssize_t k = pwrite(fd, c, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return pt_error_sys(err, errno, "writing the zip");
		if (k == 0)
			return pt_error_sys(err, EIO, "writing the zip");
		c += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int zw_flush(struct pt_zipw *w, struct pt_error *err)
{
	if (w->buf_len && write_at(w->fd, w->buf, w->buf_len, w->buf_off, err) < 0)
		return -1;
	w->buf_off += w->buf_len;
	w->buf_len = 0;
	return 0;
}

/* Appends n bytes at the end of the output, buffered when small. */
static int zw_put(struct pt_zipw *w, const void *p, size_t n, struct pt_error *err)
{
	if (n > ZW_BUF - w->buf_len && zw_flush(w, err) < 0)
		return -1;
	if (n >= ZW_BUF) {
		if (write_at(w->fd, p, n, w->buf_off, err) < 0)
			return -1;
		w->buf_off += n;
		return 0;
	}
	memcpy(w->buf + w->buf_len, p, n);
	w->buf_len += n;
	return 0;
}

static bool zw_usable(struct pt_zipw *w, struct pt_error *err)
{
	if (w->broken)
		pt_error_set(err, PT_ERR_INVAL, "zip writer unusable after an earlier error");
	else if (w->finished)
		pt_error_set(err, PT_ERR_INVAL, "zip writer already finished");
	return !w->broken && !w->finished;
}

struct pt_zipw *pt_zipw_open(int fd, const char *prefix, const struct pt_zipw_opts *opts,
			     struct pt_error *err)
{
	struct pt_zipw *w;
	unsigned align = opts && opts->alignment ? opts->alignment : 64;
	uint64_t above = opts && opts->zip64_above ? opts->zip64_above : ZW_U32;

	if (fd < 0 || !prefix || !*prefix || strlen(prefix) > 0xFFF0) {
		pt_error_set(err, PT_ERR_INVAL, "zip writer: bad fd or archive prefix");
		return NULL;
	}
	if (align > ZW_MAX_ALIGN) {
		pt_error_set(err, PT_ERR_INVAL, "zip alignment %u exceeds %u", align, ZW_MAX_ALIGN);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out_nomem;
	w->prefix = strdup(prefix);
	if (!w->prefix)
		goto out_free_w;
	w->fd = fd;
	w->prefix_len = strlen(prefix);
	w->alignment = align;
	w->zip64_above = above > ZW_U32 ? ZW_U32 : above;
	return w;

out_free_w:
	free(w);
out_nomem:
	pt_error_set(err, PT_ERR_NOMEM, "out of memory opening the zip writer");
	return NULL;
}

/*
 * Checks name, reserves its directory entry and writes the local header of a
 * record of size bytes. The entry is counted only by zw_end_record().
 */
static int zw_begin_record(struct pt_zipw *w, const char *name, uint64_t size, struct pt_error *err)
{
	unsigned char h[30 + 4 + 24 + 4];
	size_t nlen = name ? strlen(name) : 0, flen = w->prefix_len + 1 + nlen;
	uint64_t off = zw_pos(w), start;
	bool z_size = size >= w->zip64_above, z_off = off >= w->zip64_above;
	unsigned z_len = (z_size ? 16 : 0) + (z_off ? 8 : 0), pad, zx = 0, n = 30;
	struct zw_entry *e;
	char *full;

	if (!zw_usable(w, err))
		return -1;
	if (!nlen || flen > 0xFFFF)
		return pt_error_set(err, PT_ERR_INVAL, "bad zip record name \"%s\"",
				    name ? name : "");
	if (w->n_ents == w->cap_ents) {
		size_t cap = w->cap_ents ? 2 * w->cap_ents : 16;

		e = reallocarray(w->ents, cap, sizeof(*e));
		if (!e)
			return pt_error_set(err, PT_ERR_NOMEM, "out of memory adding %s", name);
		w->ents = e;
		w->cap_ents = cap;
	}
	full = malloc(flen + 1);
	if (!full)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory adding %s", name);
	memcpy(full, w->prefix, w->prefix_len);
	full[w->prefix_len] = '/';
	memcpy(full + w->prefix_len + 1, name, nlen + 1);
	e = &w->ents[w->n_ents];
	*e = (struct zw_entry){.name = full, .offset = off, .size = size};

	if (z_len)
		zx = 4 + z_len;
	start = off + 30 + flen + 4 + zx;
	pad = (unsigned)((w->alignment - start % w->alignment) % w->alignment);

	memset(h, 0, sizeof(h));
	pt_put_le32(h, 0x04034b50);
	pt_put_le16(h + 4, z_len ? 45 : 0);
	pt_put_le16(h + 6, size ? 0x0808 : 0x0800);
	/* method, time, date, CRC and sizes stay 0 */
	pt_put_le16(h + 26, (unsigned)flen);
	pt_put_le16(h + 28, zx + 4 + pad);
	if (zw_put(w, h, 30, err) < 0 || zw_put(w, full, flen, err) < 0)
		goto out_broken;
	memset(h, 0, sizeof(h));
	if (z_len) {
		pt_put_le16(h, 0x0001);
		pt_put_le16(h + 2, z_len);
		n = 4 + z_len; /* sizes are 0, the offset follows them */
		if (z_off)
			pt_put_le64(h + n - 8, off);
	} else {
		n = 0;
	}
	pt_put_le16(h + n, 0x4246);
	pt_put_le16(h + n + 2, pad);
	n += 4;
	if (zw_put(w, h, n, err) < 0)
		goto out_broken;
	while (pad) {
		unsigned k = pad > sizeof(h) ? (unsigned)sizeof(h) : pad;

		memset(h, 'Z', k);
		if (zw_put(w, h, k, err) < 0)
			goto out_broken;
		pad -= k;
	}
	return 0;

out_broken:
	free(full);
	e->name = NULL;
	w->broken = true;
	return -1;
}

/* Writes the descriptor of the record begun last and counts its entry. */
static int zw_end_record(struct pt_zipw *w, uint32_t crc, struct pt_error *err)
{
	struct zw_entry *e = &w->ents[w->n_ents];
	unsigned char d[24];
	bool z = e->size >= w->zip64_above || e->offset >= w->zip64_above;

	e->crc = crc;
	w->n_ents++;
	if (!e->size)
		return 0;
	pt_put_le32(d, 0x08074b50);
	pt_put_le32(d + 4, crc);
	if (z) {
		pt_put_le64(d + 8, e->size);
		pt_put_le64(d + 16, e->size);
	} else {
		pt_put_le32(d + 8, (uint32_t)e->size);
		pt_put_le32(d + 12, (uint32_t)e->size);
	}
	if (zw_put(w, d, z ? 24 : 16, err) < 0) {
		w->broken = true;
		return -1;
	}
	return 0;
}

/* Gives up on the record begun last (its local header is already out). */
static int zw_abort_record(struct pt_zipw *w)
{
	free(w->ents[w->n_ents].name);
	w->ents[w->n_ents].name = NULL;
	w->broken = true;
	return -1;
}

int pt_zipw_add_mem(struct pt_zipw *w, const char *name, const void *data, size_t n,
		    struct pt_error *err)
{
	if (zw_begin_record(w, name, n, err) < 0)
		return -1;
	if (n && zw_put(w, data, n, err) < 0)
		return zw_abort_record(w);
	w->done += n;
	return zw_end_record(w, n ? crc_update(0, data, n) : 0, err);
}

/*
 * Copies up to n bytes with pread/pwrite, summing them into *crc when crc is
 * not NULL; progress after each buffer. The output buffer must be flushed.
 */
static int copy_rw(struct pt_zipw *w, int src, uint64_t *soff, uint64_t n, uint32_t *crc,
		   pt_zipw_progress progress, void *ctx, struct pt_error *err)
{
	unsigned char *b = malloc(ZW_RBUF);
	int ret = -1;

	if (!b)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory copying a record");
	while (n) {
		size_t want = n > ZW_RBUF ? ZW_RBUF : (size_t)n;
		ssize_t k = pread(src, b, want, (off_t)*soff);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			pt_error_sys(err, errno, "reading the record source");
			goto out_free;
		}
		if (k == 0) {
			pt_error_set(err, PT_ERR_IO, "source ends early");
			goto out_free;
		}
		if (crc)
			*crc = crc_update(*crc, b, (size_t)k);
		if (write_at(w->fd, b, (size_t)k, w->buf_off, err) < 0)
			goto out_free;
		w->buf_off += (uint64_t)k;
		*soff += (uint64_t)k;
		n -= (uint64_t)k;
		w->done += (uint64_t)k;
		if (progress)
			progress(ctx, w->done);
	}
	ret = 0;
out_free:
	free(b);
	return ret;
}

static bool cfr_refused(int e)
{
	return e == EXDEV || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

/*
 * Copies n bytes with copy_file_range, 64 MiB at a time; switches to
 * copy_rw for the rest when the kernel refuses. The output must be flushed.
 */
static int copy_kernel(struct pt_zipw *w, int src, uint64_t soff, uint64_t n,
		       pt_zipw_progress progress, void *ctx, struct pt_error *err)
{
	while (n) {
		uint64_t chunk = n > ZW_CHUNK ? ZW_CHUNK : n, left = chunk;

		while (left) {
			loff_t in = (loff_t)soff, out = (loff_t)w->buf_off;
			ssize_t k = copy_file_range(src, &in, w->fd, &out, (size_t)left, 0);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && cfr_refused(errno)) {
				if (chunk != left) {
					w->done += chunk - left;
					if (progress)
						progress(ctx, w->done);
				}
				return copy_rw(w, src, &soff, n - (chunk - left), NULL, progress,
					       ctx, err);
			}
			if (k < 0)
				return pt_error_sys(err, errno, "copying the record");
			if (k == 0)
				return pt_error_set(err, PT_ERR_IO, "source ends early");
			soff += (uint64_t)k;
			w->buf_off += (uint64_t)k;
			left -= (uint64_t)k;
		}
		n -= chunk;
		w->done += chunk;
		if (progress)
			progress(ctx, w->done);
	}
	return 0;
}

int pt_zipw_add_fd(struct pt_zipw *w, const char *name, int src_fd, uint64_t src_off, uint64_t n,
		   bool crc_known, uint32_t crc, pt_zipw_progress progress, void *ctx,
		   struct pt_error *err)
{
	uint32_t sum = 0;
	int r;

	if (zw_begin_record(w, name, n, err) < 0)
		return -1;
	if (!n)
		return zw_end_record(w, 0, err);
	if (zw_flush(w, err) < 0)
		return zw_abort_record(w);
	if (crc_known) {
		r = copy_kernel(w, src_fd, src_off, n, progress, ctx, err);
		sum = crc;
	} else {
		r = copy_rw(w, src_fd, &src_off, n, &sum, progress, ctx, err);
	}
	if (r < 0)
		return zw_abort_record(w);
	return zw_end_record(w, sum, err);
}

/* Appends the central directory entry of e. */
static int zw_central(struct pt_zipw *w, const struct zw_entry *e, struct pt_error *err)
{
	unsigned char h[46 + 4 + 24];
	size_t flen = strlen(e->name);
	bool zs = e->size >= w->zip64_above, zo = e->offset >= w->zip64_above;
	bool zlocal = zs || zo;
	unsigned x = 0;

	memset(h, 0, sizeof(h));
	pt_put_le32(h, 0x02014b50);
	pt_put_le16(h + 4, 0);
	pt_put_le16(h + 6, zlocal ? 45 : 0);
	pt_put_le16(h + 8, e->size ? 0x0808 : 0x0800);
	pt_put_le32(h + 16, e->crc);
	pt_put_le32(h + 20, zs ? (uint32_t)ZW_U32 : (uint32_t)e->size);
	pt_put_le32(h + 24, zs ? (uint32_t)ZW_U32 : (uint32_t)e->size);
	pt_put_le16(h + 28, (unsigned)flen);
	pt_put_le32(h + 42, zo ? (uint32_t)ZW_U32 : (uint32_t)e->offset);
	if (zs || zo) {
		unsigned char *p = h + 46;

		x = 4 + (zs ? 16 : 0) + (zo ? 8 : 0);
		pt_put_le16(p, 0x0001);
		pt_put_le16(p + 2, x - 4);
		p += 4;
		if (zs) {
			pt_put_le64(p, e->size);
			pt_put_le64(p + 8, e->size);
			p += 16;
		}
		if (zo)
			pt_put_le64(p, e->offset);
	}
	pt_put_le16(h + 30, x);
	if (zw_put(w, h, 46, err) < 0 || zw_put(w, e->name, flen, err) < 0)
		return -1;
	return x ? zw_put(w, h + 46, x, err) : 0;
}

int pt_zipw_finish(struct pt_zipw *w, struct pt_error *err)
{
	unsigned char t[56 + 20 + 22];
	uint64_t cd_off, cd_size, eocd64;
	uint64_t cnt = w->n_ents;
	size_t i;

	if (!zw_usable(w, err))
		return -1;
	w->finished = true;
	cd_off = zw_pos(w);
	for (i = 0; i < w->n_ents; i++)
		if (zw_central(w, &w->ents[i], err) < 0)
			goto out_broken;
	eocd64 = zw_pos(w);
	cd_size = eocd64 - cd_off;

	memset(t, 0, sizeof(t));
	pt_put_le32(t, 0x06064b50);
	pt_put_le64(t + 4, 44);
	pt_put_le16(t + 12, 0x031E);
	pt_put_le16(t + 14, 45);
	/* disk numbers 0 */
	pt_put_le64(t + 24, cnt);
	pt_put_le64(t + 32, cnt);
	pt_put_le64(t + 40, cd_size);
	pt_put_le64(t + 48, cd_off);

	pt_put_le32(t + 56, 0x07064b50);
	pt_put_le64(t + 64, eocd64);
	pt_put_le32(t + 72, 1);

	pt_put_le32(t + 76, 0x06054b50);
	pt_put_le16(t + 84, cnt >= 0xFFFF ? 0xFFFF : (unsigned)cnt);
	pt_put_le16(t + 86, cnt >= 0xFFFF ? 0xFFFF : (unsigned)cnt);
	pt_put_le32(t + 88, cd_size >= w->zip64_above ? (uint32_t)ZW_U32 : (uint32_t)cd_size);
	pt_put_le32(t + 92, cd_off >= w->zip64_above ? (uint32_t)ZW_U32 : (uint32_t)cd_off);
	if (zw_put(w, t, sizeof(t), err) < 0 || zw_flush(w, err) < 0)
		goto out_broken;
	return 0;

out_broken:
	w->broken = true;
	return -1;
}

void pt_zipw_free(struct pt_zipw *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->n_ents; i++)
		free(w->ents[i].name);
	free(w->ents);
	free(w->prefix);
	free(w);
}
