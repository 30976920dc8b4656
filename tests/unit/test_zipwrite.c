/*
 * test_zipwrite.c - the streaming zip writer (lib/zipwrite.c).
 *
 * Writes torch-shaped archives (data.pkl, byteorder, data/0 copied from
 * another file, an empty data/1, a 100 KB data/2 that bypasses the header
 * buffer, version) to temporary files, then walks every byte of the result
 * independently of the writer: local headers (flags, zero CRC and sizes, the
 * ZIP64 and 'FB' extras, data alignment), data descriptors, the central
 * directory, the ZIP64 end record, its locator and the end record. The same
 * files are read back with libzip, with normal and forced (zip64_above = 1)
 * ZIP64 settings and with 4096 alignment. Error paths: a short source, a
 * read-only output fd, bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "check.h"
#include "zipwrite.h"

#define NREC	 7
#define SRC_LEN	 5000
#define SRC_OFF	 13
#define REC0_LEN 1000
#define BIG_LEN	 100000

struct rec {
	const char *name;
	const unsigned char *data;
	size_t len;
};

struct fixture {
	unsigned char src[SRC_LEN]; /* the file data/0 is copied from */
	unsigned char pkl[300];
	unsigned char big[BIG_LEN];
	struct rec recs[NREC];
};

struct prog {
	int calls;
	uint64_t last;
};

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
	return n ? (uint32_t)crc32(0, p, (uInt)n) : 0;
}

static void fixture_init(struct fixture *f)
{
	size_t i;

	for (i = 0; i < SRC_LEN; i++)
		f->src[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < sizeof(f->pkl); i++)
		f->pkl[i] = (unsigned char)(0x80 + i);
	for (i = 0; i < BIG_LEN; i++)
		f->big[i] = (unsigned char)(i ^ (i >> 8));
	f->recs[0] = (struct rec){"data.pkl", f->pkl, sizeof(f->pkl)};
	f->recs[1] = (struct rec){"byteorder", (const unsigned char *)"little", 6};
	f->recs[2] = (struct rec){"data/0", f->src + SRC_OFF, REC0_LEN};
	f->recs[3] = (struct rec){"data/1", NULL, 0};
	f->recs[4] = (struct rec){"data/2", f->big, BIG_LEN};
	f->recs[5] = (struct rec){"version", (const unsigned char *)"3\n", 2};
	f->recs[6] = (struct rec){"data/3", f->src, 1}; /* one byte, from the file */
}

static int temp_file(char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/test_zipwrite.XXXXXX");
	return mkstemp(path);
}

static void on_progress(void *ctx, uint64_t done)
{
	struct prog *p = ctx;

	CHECK(done > p->last);
	p->last = done;
	p->calls++;
}

static unsigned char *slurp(int fd, size_t *len)
{
	struct stat st;
	unsigned char *b;

	if (fstat(fd, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	if (b && pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
		free(b);
		return NULL;
	}
	*len = (size_t)st.st_size;
	return b;
}

/* Writes the fixture's archive to out with opts; returns 0 when every call succeeded. */
static int write_archive(const struct fixture *f, int out, const struct pt_zipw_opts *opts,
			 bool crc_known)
{
	struct pt_error err;
	struct pt_zipw *w;
	struct prog pr = {0, 0};
	char spath[64];
	int src = temp_file(spath, sizeof(spath)), rc = -1;
	uint64_t total = 0;
	size_t i;

	if (src < 0 || write(src, f->src, SRC_LEN) != SRC_LEN)
		goto out;
	w = pt_zipw_open(out, "model", opts, &err);
	CHECK(w != NULL);
	if (!w)
		goto out;
	for (i = 0; i < NREC; i++) {
		const struct rec *r = &f->recs[i];
		int k;

		if (r->data >= f->src && r->data < f->src + SRC_LEN)
			k = pt_zipw_add_fd(w, r->name, src, (uint64_t)(r->data - f->src), r->len,
					   crc_known, crc_of(r->data, r->len), on_progress, &pr,
					   &err);
		else
			k = pt_zipw_add_mem(w, r->name, r->data, r->len, &err);
		CHECK_INT(k, 0);
		if (k < 0) {
			fprintf(stderr, "add %s: %s\n", r->name, err.msg);
			goto out_free;
		}
		total += r->len;
	}
	CHECK_INT(pr.calls, 2);
	CHECK_INT(pr.last, total);
	CHECK_INT(pt_zipw_finish(w, &err), 0);
	/* a finished writer refuses more */
	CHECK_INT(pt_zipw_add_mem(w, "late", "x", 1, &err), -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
	rc = 0;
out_free:
	pt_zipw_free(w);
out:
	if (src >= 0) {
		close(src);
		unlink(spath);
	}
	return rc;
}

/* Walks the archive byte by byte; above is the effective zip64_above. */
static void check_layout(const struct fixture *f, const unsigned char *b, size_t len,
			 uint64_t above, unsigned align)
{
	const unsigned char *e, *loc, *z;
	uint64_t cd_off, cd_size, pos = 0, p;
	size_t i;
	char full[64];

	CHECK(len >= 98);
	if (len < 98)
		return;
	e = b + len - 22;
	loc = e - 20;
	z = loc - 56;
	CHECK_INT(rd32(e), 0x06054b50);
	CHECK_INT(rd32(loc), 0x07064b50);
	CHECK_INT(rd32(z), 0x06064b50);
	CHECK_INT(rd32(loc + 4), 0);
	CHECK_INT(rd64(loc + 8), (uint64_t)(z - b));
	CHECK_INT(rd32(loc + 16), 1);
	CHECK_INT(rd64(z + 4), 44);
	CHECK_INT(rd16(z + 12), 0x031E);
	CHECK_INT(rd16(z + 14), 45);
	CHECK_INT(rd32(z + 16), 0);
	CHECK_INT(rd32(z + 20), 0);
	CHECK_INT(rd64(z + 24), NREC);
	CHECK_INT(rd64(z + 32), NREC);
	cd_size = rd64(z + 40);
	cd_off = rd64(z + 48);
	CHECK_INT(cd_off + cd_size, (uint64_t)(z - b));
	CHECK_INT(rd16(e + 4), 0);
	CHECK_INT(rd16(e + 6), 0);
	CHECK_INT(rd16(e + 8), NREC);
	CHECK_INT(rd16(e + 10), NREC);
	CHECK_INT(rd32(e + 12), cd_size >= above ? 0xFFFFFFFFu : cd_size);
	CHECK_INT(rd32(e + 16), cd_off >= above ? 0xFFFFFFFFu : cd_off);
	CHECK_INT(rd16(e + 20), 0);
	if (cd_off + cd_size > len)
		return;

	p = cd_off;
	for (i = 0; i < NREC; i++) {
		const struct rec *r = &f->recs[i];
		const unsigned char *c = b + p, *l = b + pos, *x;
		bool zs = r->len >= above, zo = pos >= above, zl = zs || zo, allz;
		uint32_t crc = crc_of(r->data, r->len);
		unsigned nlen, xlen, pad, flags = r->len ? 0x0808 : 0x0800;
		uint64_t data, end;

		snprintf(full, sizeof(full), "model/%s", r->name);
		nlen = (unsigned)strlen(full);
		/* central entry */
		CHECK_INT(rd32(c), 0x02014b50);
		CHECK_INT(rd16(c + 4), 0);
		CHECK_INT(rd16(c + 6), zl ? 45 : 0);
		CHECK_INT(rd16(c + 8), flags);
		CHECK_INT(rd16(c + 10), 0);
		CHECK_INT(rd32(c + 12), 0);
		CHECK_INT(rd32(c + 16), crc);
		CHECK_INT(rd32(c + 20), zs ? 0xFFFFFFFFu : r->len);
		CHECK_INT(rd32(c + 24), zs ? 0xFFFFFFFFu : r->len);
		CHECK_INT(rd16(c + 28), nlen);
		xlen = rd16(c + 30);
		CHECK_INT(xlen, zl ? 4 + (zs ? 16 : 0) + (zo ? 8 : 0) : 0);
		CHECK_INT(rd16(c + 32), 0);
		CHECK_INT(rd16(c + 34), 0);
		CHECK_INT(rd16(c + 36), 0);
		CHECK_INT(rd32(c + 38), 0);
		CHECK_INT(rd32(c + 42), zo ? 0xFFFFFFFFu : pos);
		CHECK(memcmp(c + 46, full, nlen) == 0);
		x = c + 46 + nlen;
		if (zl) {
			CHECK_INT(rd16(x), 1);
			CHECK_INT(rd16(x + 2), xlen - 4);
			x += 4;
			if (zs) {
				CHECK_INT(rd64(x), r->len);
				CHECK_INT(rd64(x + 8), r->len);
				x += 16;
			}
			if (zo)
				CHECK_INT(rd64(x), pos);
		}
		p += 46 + nlen + xlen;

		/* local header */
		CHECK_INT(rd32(l), 0x04034b50);
		CHECK_INT(rd16(l + 4), zl ? 45 : 0);
		CHECK_INT(rd16(l + 6), flags);
		CHECK_INT(rd16(l + 8), 0);
		CHECK_INT(rd32(l + 10), 0);
		CHECK_INT(rd32(l + 14), 0);
		CHECK_INT(rd32(l + 18), 0);
		CHECK_INT(rd32(l + 22), 0);
		CHECK_INT(rd16(l + 26), nlen);
		CHECK(memcmp(l + 30, full, nlen) == 0);
		xlen = rd16(l + 28);
		x = l + 30 + nlen;
		if (zl) {
			unsigned zlen = (zs ? 16 : 0) + (zo ? 8 : 0);

			CHECK_INT(rd16(x), 1);
			CHECK_INT(rd16(x + 2), zlen);
			if (zs) {
				CHECK_INT(rd64(x + 4), 0);
				CHECK_INT(rd64(x + 12), 0);
			}
			if (zo)
				CHECK_INT(rd64(x + 4 + zlen - 8), pos);
			x += 4 + zlen;
		}
		CHECK_INT(rd16(x), 0x4246);
		CHECK(x[0] == 'F' && x[1] == 'B');
		pad = rd16(x + 2);
		CHECK(pad < align);
		CHECK_INT((uint64_t)(x + 4 + pad - l), 30 + nlen + xlen);
		for (allz = true; pad; pad--)
			allz = allz && x[3 + pad] == 'Z';
		CHECK(allz);
		data = pos + 30 + nlen + xlen;
		CHECK_INT(data % align, 0);
		CHECK(r->len == 0 || memcmp(b + data, r->data, r->len) == 0);
		end = data + r->len;
		if (r->len) {
			const unsigned char *d = b + end;

			CHECK_INT(rd32(d), 0x08074b50);
			CHECK_INT(rd32(d + 4), crc);
			if (zl) {
				CHECK_INT(rd64(d + 8), r->len);
				CHECK_INT(rd64(d + 16), r->len);
				end += 24;
			} else {
				CHECK_INT(rd32(d + 8), r->len);
				CHECK_INT(rd32(d + 12), r->len);
				end += 16;
			}
		}
		pos = end;
	}
	CHECK_INT(pos, cd_off);
	CHECK_INT(p, cd_off + cd_size);
}

static void check_libzip(const struct fixture *f, const char *path)
{
	zip_t *za;
	int zerr = 0;
	size_t i;
	char full[64];
	unsigned char *buf = malloc(BIG_LEN + 1);

	za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	CHECK(za != NULL);
	if (!za || !buf) {
		fprintf(stderr, "zip_open %s: error %d\n", path, zerr);
		free(buf);
		return;
	}
	CHECK_INT(zip_get_num_entries(za, 0), NREC);
	for (i = 0; i < NREC; i++) {
		const struct rec *r = &f->recs[i];
		zip_stat_t st;
		zip_file_t *zf;

		snprintf(full, sizeof(full), "model/%s", r->name);
		CHECK_INT(zip_stat_index(za, i, 0, &st), 0);
		CHECK_STR(st.name, full);
		CHECK_INT(st.size, r->len);
		CHECK_INT(st.comp_size, r->len);
		CHECK_INT(st.comp_method, ZIP_CM_STORE);
		CHECK_INT(st.crc, crc_of(r->data, r->len));
		zf = zip_fopen_index(za, i, 0);
		CHECK(zf != NULL);
		if (!zf)
			continue;
		CHECK_INT(zip_fread(zf, buf, BIG_LEN + 1), (zip_int64_t)r->len);
		CHECK(r->len == 0 || memcmp(buf, r->data, r->len) == 0);
		CHECK_INT(zip_fclose(zf), 0);
	}
	zip_discard(za);
	free(buf);
}

/* Writes and checks one archive; keeps a copy of its bytes in *out when out is not NULL. */
static void run_case(const struct fixture *f, const struct pt_zipw_opts *opts, bool crc_known,
		     unsigned char **out, size_t *out_len)
{
	char path[64];
	int fd = temp_file(path, sizeof(path));
	unsigned char *b;
	size_t len = 0;
	uint64_t above = opts->zip64_above ? opts->zip64_above : 0xFFFFFFFFu;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	if (write_archive(f, fd, opts, crc_known) == 0) {
		b = slurp(fd, &len);
		CHECK(b != NULL);
		if (b) {
			check_layout(f, b, len, above, opts->alignment ? opts->alignment : 64);
			check_libzip(f, path);
			if (out) {
				*out = b;
				*out_len = len;
			} else {
				free(b);
			}
		}
	}
	close(fd);
	unlink(path);
}

static void test_errors(void)
{
	struct pt_zipw_opts big = {.alignment = 65536};
	struct pt_error err;
	struct pt_zipw *w;
	char path[64], spath[64];
	unsigned char src[5000] = {0};
	int fd = temp_file(path, sizeof(path)), sfd = temp_file(spath, sizeof(spath)), ro;
	int pass;

	CHECK(fd >= 0 && sfd >= 0);
	CHECK_INT(write(sfd, src, sizeof(src)), sizeof(src));

	CHECK(pt_zipw_open(fd, NULL, NULL, &err) == NULL);
	CHECK_INT(err.code, PT_ERR_INVAL);
	CHECK(pt_zipw_open(fd, "model", &big, &err) == NULL);
	CHECK_INT(err.code, PT_ERR_INVAL);
	pt_zipw_free(NULL);

	/* a source too short, through both copy paths */
	for (pass = 0; pass < 2; pass++) {
		w = pt_zipw_open(fd, "model", NULL, &err);
		CHECK(w != NULL);
		if (!w)
			continue;
		CHECK_INT(pt_zipw_add_mem(w, "", "x", 1, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
		CHECK_INT(
		    pt_zipw_add_fd(w, "data/0", sfd, 4500, 1000, pass == 0, 0, NULL, NULL, &err),
		    -1);
		CHECK_INT(err.code, PT_ERR_IO);
		CHECK_STR(err.msg, "source ends early");
		CHECK_INT(pt_zipw_add_mem(w, "version", "3\n", 2, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
		CHECK_INT(pt_zipw_finish(w, &err), -1);
		pt_zipw_free(w);
	}

	/* a read-only output: the first write (a flush) fails with EBADF */
	ro = open(path, O_RDONLY);
	CHECK(ro >= 0);
	w = pt_zipw_open(ro, "model", NULL, &err);
	CHECK(w != NULL);
	if (w) {
		CHECK_INT(pt_zipw_add_mem(w, "data.pkl", "abc", 3, &err), 0);
		CHECK_INT(pt_zipw_add_fd(w, "data/0", sfd, 0, 100, true, 0, NULL, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_IO);
		CHECK_INT(err.sys_errno, EBADF);
		pt_zipw_free(w);
	}
	w = pt_zipw_open(ro, "model", NULL, &err);
	CHECK(w != NULL);
	if (w) {
		CHECK_INT(pt_zipw_add_mem(w, "version", "3\n", 2, &err), 0);
		CHECK_INT(pt_zipw_finish(w, &err), -1);
		CHECK_INT(err.code, PT_ERR_IO);
		CHECK_INT(err.sys_errno, EBADF);
		pt_zipw_free(w);
	}
	close(ro);
	close(fd);
	close(sfd);
	unlink(path);
	unlink(spath);
}

int main(void)
{
	static struct fixture f;
	struct pt_zipw_opts normal = {0, 0}, forced = {.zip64_above = 1};
	struct pt_zipw_opts a4k = {.alignment = 4096}, mid = {.zip64_above = 200};
	unsigned char *known = NULL, *summed = NULL;
	size_t known_len = 0, summed_len = 0;

	fixture_init(&f);
	run_case(&f, &normal, true, &known, &known_len);
	run_case(&f, &normal, false, &summed, &summed_len);
	CHECK(known && summed && known_len == summed_len && memcmp(known, summed, known_len) == 0);
	free(known);
	free(summed);

	known = summed = NULL;
	run_case(&f, &forced, true, &known, &known_len);
	run_case(&f, &forced, false, &summed, &summed_len);
	CHECK(known && summed && known_len == summed_len && memcmp(known, summed, known_len) == 0);
	free(known);
	free(summed);

	run_case(&f, &a4k, true, NULL, NULL);
	run_case(&f, &mid, false, NULL, NULL);
	test_errors();
	return check_report("test_zipwrite");
}
