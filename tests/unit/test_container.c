/*
 * test_container.c - the container readers (zip, legacy), sniffing and the
 * dtype table.
 *
 * Usage: test_container [SHARED [FIXTURES]]. SHARED is the folder holding
 * realworld/ and hostile/ (e.g. /work/shared); FIXTURES the folder of
 * generated .pt files. Checks that need them are skipped when absent. The
 * rest runs on small files made here: zips written with libzip, and a few
 * byte strings (empty file, bare pickle, "PYTORCH1", ...).
 *
 * bind() is tested with hand-made struct pt_torch values whose storages
 * match what the pickles declare (keys, dtypes and numels read off with
 * pickletools); the expected offsets are where the records' bytes start,
 * as Python's zipfile and a byte count of the legacy pickles give them.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "check.h"
#include "container.h"
#include "dtype.h"
#include "torch.h"

static char tmpdir[] = "/tmp/test_container.XXXXXX";

/* ---- helpers ---- */

static const char *path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
	return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_INT(fwrite(data, 1, len, f), len);
	fclose(f);
}

struct member {
	const char *name;
	const void *data;
	size_t len;
	bool deflate;
};

/* Writes a zip of the members, in order, with libzip. */
static void write_zip(const char *path, const struct member *m, size_t n)
{
	zip_t *za;
	int ze;
	size_t i;

	unlink(path);
	za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
	CHECK(za != NULL);
	if (!za)
		return;
	for (i = 0; i < n; i++) {
		zip_source_t *s = zip_source_buffer(za, m[i].data, m[i].len, 0);
		zip_int64_t idx = zip_file_add(za, m[i].name, s, ZIP_FL_ENC_RAW);

		CHECK(idx >= 0);
		zip_set_file_compression(za, (zip_uint64_t)idx,
					 m[i].deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 9);
	}
	CHECK_INT(zip_close(za), 0);
}

struct opened {
	struct pt_source *src;
	struct pt_container *c;
	struct pt_error err;
};

static bool open_ckpt(struct opened *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->src = pt_source_open_file(path, &o->err);
	CHECK(o->src != NULL);
	if (!o->src) {
		fprintf(stderr, "%s: %s\n", path, o->err.msg);
		return false;
	}
	o->c = pt_container_open(o->src, &o->err);
	return o->c != NULL;
}

static void close_ckpt(struct opened *o)
{
	pt_container_close(o->c);
	pt_source_close(o->src);
}

static void expect_open_error(const char *path, enum pt_err code, const char *msg)
{
	struct opened o;

	CHECK(!open_ckpt(&o, path));
	CHECK_INT(o.err.code, code);
	CHECK_STR(o.err.msg, msg);
	close_ckpt(&o);
}

static void expect_open_ok(struct opened *o, const char *path)
{
	bool ok = open_ckpt(o, path);

	CHECK(ok);
	if (!ok)
		fprintf(stderr, "%s: %s\n", path, o->err.msg);
}

/* A hand-made load: one storage per key, as the torch layer would make. */
static struct pt_torch *make_torch(size_t n, const char *const *keys,
				   const enum pt_dtype *dt, const uint64_t *numel)
{
	struct pt_torch *t = calloc(1, sizeof(*t));
	size_t i;

	t->storages = calloc(n, sizeof(*t->storages));
	t->nstorages = t->cap = n;
	for (i = 0; i < n; i++) {
		struct pt_storage *s = calloc(1, sizeof(*s));

		s->key = strdup(keys[i]);
		s->dtype = dt[i];
		s->numel = numel[i];
		s->nbytes = numel[i] * pt_dtype_size(dt[i]);
		s->index = (unsigned)i;
		t->storages[i] = s;
	}
	return t;
}

static void free_torch(struct pt_torch *t)
{
	size_t i;

	for (i = 0; i < t->nstorages; i++) {
		free(t->storages[i]->key);
		free(t->storages[i]);
	}
	free(t->storages);
	free(t);
}

/* Binds a one-storage load against path and checks the error. */
static void expect_bind_error(const char *path, const char *key, enum pt_dtype dt,
			      uint64_t numel, bool ts, enum pt_err code,
			      const char *msg)
{
	struct opened o;
	struct pt_torch *t = make_torch(1, &key, &dt, &numel);
	struct pt_error err = { 0 };

	t->torchscript = ts;
	expect_open_ok(&o, path);
	if (o.c) {
		CHECK_INT(pt_container_bind(o.c, t, &err), -1);
		CHECK_INT(err.code, code);
		CHECK_STR(err.msg, msg);
	}
	close_ckpt(&o);
	free_torch(t);
}

/* Reads n bytes at off from src and compares them with want. */
static void check_bytes(struct pt_source *src, uint64_t off, const void *want,
			size_t n)
{
	unsigned char buf[256];
	struct pt_error err;

	CHECK(n <= sizeof(buf));
	CHECK_INT(pt_source_read(src, buf, n, off, "test", &err), 0);
	CHECK(memcmp(buf, want, n) == 0);
}

/* ---- dtype table ---- */

static void test_dtype(void)
{
	static const struct {
		const char *storage;
		enum pt_dtype dt;
	} classes[] = {
		{ "DoubleStorage", PT_DT_FLOAT64 }, { "FloatStorage", PT_DT_FLOAT32 },
		{ "HalfStorage", PT_DT_FLOAT16 }, { "BFloat16Storage", PT_DT_BFLOAT16 },
		{ "LongStorage", PT_DT_INT64 }, { "IntStorage", PT_DT_INT32 },
		{ "ShortStorage", PT_DT_INT16 }, { "CharStorage", PT_DT_INT8 },
		{ "ByteStorage", PT_DT_UINT8 }, { "BoolStorage", PT_DT_BOOL },
		{ "ComplexFloatStorage", PT_DT_COMPLEX64 },
		{ "ComplexDoubleStorage", PT_DT_COMPLEX128 },
		{ "QInt8Storage", PT_DT_QINT8 }, { "QUInt8Storage", PT_DT_QUINT8 },
		{ "QInt32Storage", PT_DT_QINT32 }, { "QUInt4x2Storage", PT_DT_QUINT4X2 },
		{ "QUInt2x4Storage", PT_DT_QUINT2X4 }, { "UntypedStorage", PT_DT_UINT8 },
		{ "Float8_e4m3fnStorage", PT_DT_FLOAT8_E4M3FN },
		{ "Float8_e5m2Storage", PT_DT_FLOAT8_E5M2 },
		{ "Float8_e5m2fnuzStorage", PT_DT_FLOAT8_E5M2FNUZ },
		{ "Float8_e4m3fnuzStorage", PT_DT_FLOAT8_E4M3FNUZ },
		{ "Float8_e8m0fnuStorage", PT_DT_FLOAT8_E8M0FNU },
		{ "Float4_e2m1fn_x2Storage", PT_DT_FLOAT4_E2M1FN_X2 },
		{ "ComplexHalfStorage", PT_DT_COMPLEX32 }, { "UInt16Storage", PT_DT_UINT16 },
		{ "UInt32Storage", PT_DT_UINT32 }, { "UInt64Storage", PT_DT_UINT64 },
		{ "Bits8Storage", PT_DT_BITS8 }, { "Bits16Storage", PT_DT_BITS16 },
		{ "Bits1x8Storage", PT_DT_BITS1X8 }, { "Bits2x4Storage", PT_DT_BITS2X4 },
		{ "Bits4x2Storage", PT_DT_BITS4X2 },
	};
	static const size_t sizes[PT_DT_COUNT] = {
		[PT_DT_FLOAT64] = 8, [PT_DT_FLOAT32] = 4, [PT_DT_FLOAT16] = 2,
		[PT_DT_BFLOAT16] = 2, [PT_DT_INT64] = 8, [PT_DT_INT32] = 4,
		[PT_DT_INT16] = 2, [PT_DT_INT8] = 1, [PT_DT_UINT8] = 1, [PT_DT_BOOL] = 1,
		[PT_DT_COMPLEX32] = 4, [PT_DT_COMPLEX64] = 8, [PT_DT_COMPLEX128] = 16,
		[PT_DT_QINT8] = 1, [PT_DT_QUINT8] = 1, [PT_DT_QINT32] = 4,
		[PT_DT_QUINT4X2] = 1, [PT_DT_QUINT2X4] = 1, [PT_DT_FLOAT8_E5M2] = 1,
		[PT_DT_FLOAT8_E4M3FN] = 1, [PT_DT_FLOAT8_E5M2FNUZ] = 1,
		[PT_DT_FLOAT8_E4M3FNUZ] = 1, [PT_DT_FLOAT8_E8M0FNU] = 1,
		[PT_DT_FLOAT4_E2M1FN_X2] = 1, [PT_DT_UINT16] = 2, [PT_DT_UINT32] = 4,
		[PT_DT_UINT64] = 8, [PT_DT_BITS8] = 1, [PT_DT_BITS16] = 2,
		[PT_DT_BITS1X8] = 1, [PT_DT_BITS2X4] = 1, [PT_DT_BITS4X2] = 1,
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		CHECK_INT(pt_dtype_from_storage_class(classes[i].storage), classes[i].dt);
	for (i = PT_DT_INVALID + 1; i < PT_DT_COUNT; i++) {
		CHECK_INT(pt_dtype_size((enum pt_dtype)i), sizes[i]);
		CHECK_INT(pt_dtype_from_name(pt_dtype_name((enum pt_dtype)i)), i);
	}
	CHECK_INT(pt_dtype_size(PT_DT_INVALID), 0);
	CHECK_INT(pt_dtype_size(PT_DT_COUNT), 0);
	CHECK_STR(pt_dtype_name(PT_DT_INVALID), "invalid");
	CHECK_STR(pt_dtype_name(PT_DT_FLOAT8_E4M3FN), "float8_e4m3fn");
	CHECK_STR(pt_dtype_name(PT_DT_FLOAT4_E2M1FN_X2), "float4_e2m1fn_x2");
	CHECK_INT(pt_dtype_from_name("float"), PT_DT_FLOAT32);
	CHECK_INT(pt_dtype_from_name("double"), PT_DT_FLOAT64);
	CHECK_INT(pt_dtype_from_name("half"), PT_DT_FLOAT16);
	CHECK_INT(pt_dtype_from_name("long"), PT_DT_INT64);
	CHECK_INT(pt_dtype_from_name("int"), PT_DT_INT32);
	CHECK_INT(pt_dtype_from_name("short"), PT_DT_INT16);
	CHECK_INT(pt_dtype_from_name("cfloat"), PT_DT_COMPLEX64);
	CHECK_INT(pt_dtype_from_name("cdouble"), PT_DT_COMPLEX128);
	CHECK_INT(pt_dtype_from_name("chalf"), PT_DT_COMPLEX32);
	CHECK_INT(pt_dtype_from_name("invalid"), PT_DT_INVALID);
	CHECK_INT(pt_dtype_from_name("float31"), PT_DT_INVALID);
	CHECK_INT(pt_dtype_from_name(""), PT_DT_INVALID);
	CHECK_INT(pt_dtype_from_storage_class("Storage"), PT_DT_INVALID);
	CHECK_INT(pt_dtype_from_storage_class("TypedStorage"), PT_DT_INVALID);
	CHECK_INT(pt_dtype_from_storage_class("FloatStorag"), PT_DT_INVALID);
	CHECK_INT(pt_dtype_from_storage_class("float32Storage"), PT_DT_INVALID);
	CHECK_STR(pt_dtype_storage_class(PT_DT_INT8), "CharStorage");
	CHECK_STR(pt_dtype_storage_class(PT_DT_UINT8), "ByteStorage");
	CHECK(pt_dtype_storage_class(PT_DT_FLOAT8_E5M2) == NULL);
	CHECK(pt_dtype_storage_class(PT_DT_COMPLEX32) == NULL);
	CHECK(pt_dtype_storage_class(PT_DT_INVALID) == NULL);
}

/* ---- sniffing, on byte strings ---- */

static void test_sniff(void)
{
	static const unsigned char bare[] = { 0x80, 0x02, 'K', 0x01, '.' };
	unsigned char tar[512];
	char p[256];

	write_file(path_in(p, sizeof(p), tmpdir, "empty"), "", 0);
	expect_open_error(p, PT_ERR_FORMAT, "empty file");
	write_file(path_in(p, sizeof(p), tmpdir, "three"), "abc", 3);
	expect_open_error(p, PT_ERR_FORMAT,
			  "not a PyTorch checkpoint (unknown format, first bytes 61 62 63)");
	write_file(path_in(p, sizeof(p), tmpdir, "pk3"), "PK\3", 3);
	expect_open_error(p, PT_ERR_FORMAT,
			  "not a PyTorch checkpoint (unknown format, first bytes 50 4b 03)");
	write_file(path_in(p, sizeof(p), tmpdir, "bare"), bare, sizeof(bare));
	expect_open_error(p, PT_ERR_FORMAT,
			  "not a PyTorch checkpoint (a bare pickle, not torch.save output)");
	write_file(path_in(p, sizeof(p), tmpdir, "preview"), "PYTORCH1\0\0\0\0", 12);
	expect_open_error(p, PT_ERR_UNSUPPORTED,
			  "unsupported archive format from the preview release");
	write_file(path_in(p, sizeof(p), tmpdir, "sevenz"), "7z\xbc\xaf\x27\x1c\0\4", 8);
	expect_open_error(p, PT_ERR_FORMAT, "not a PyTorch checkpoint (7z archive)");
	memset(tar, 0, sizeof(tar));
	memcpy(tar, "storages", 8);
	memcpy(tar + 257, "ustar", 5);
	write_file(path_in(p, sizeof(p), tmpdir, "tar"), tar, sizeof(tar));
	expect_open_error(p, PT_ERR_UNSUPPORTED,
			  "tar checkpoints of torch 0.1 are not supported");
	/* Only the magic decides: a zip signature with nothing after it. */
	write_file(path_in(p, sizeof(p), tmpdir, "pkonly"), "PK\3\4", 4);
	expect_open_error(p, PT_ERR_FORMAT,
			  "truncated zip: no end of central directory record");
	/* The legacy magic's first 8 bytes, then a wrong LONG1 tail. */
	write_file(path_in(p, sizeof(p), tmpdir, "badmagic"),
		   "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\0\0\0\0\0\0.", 15);
	expect_open_error(p, PT_ERR_FORMAT,
			  "invalid magic number; not a legacy torch checkpoint");
}

/* ---- zip files written here ---- */

static const char pkl[] = "\x80\x02}q\x00.";
static const char data0[16] = "0123456789abcdef";
static const char const0[8] = "constant";

static void test_zip_made(void)
{
	static char big[4096];
	struct member m[8];
	struct opened o;
	const struct pt_record *r;
	struct pt_torch *t;
	struct pt_error err = { 0 };
	const char *keys[] = { "0", "c0" };
	enum pt_dtype dts[] = { PT_DT_UINT8, PT_DT_INT64 };
	uint64_t numels[] = { 16, 1 };
	char p[256];

	memset(big, 'x', sizeof(big));
	memcpy(big, pkl, sizeof(pkl) - 1);
	/* A TorchScript-like archive: deflated data.pkl, big-endian, .data/version. */
	m[0] = (struct member){ "ts/data.pkl", big, sizeof(big), true };
	m[1] = (struct member){ "ts/byteorder", "big", 3, false };
	m[2] = (struct member){ "ts/version", "3\n", 2, false };
	m[3] = (struct member){ "ts/.data/version", "7\n", 2, false };
	m[4] = (struct member){ "ts/constants.pkl", pkl, sizeof(pkl) - 1, false };
	m[5] = (struct member){ "ts/data/0", data0, sizeof(data0), false };
	m[6] = (struct member){ "ts/constants/c0", const0, sizeof(const0), false };
	m[7] = (struct member){ "elsewhere/data.pkl", pkl, sizeof(pkl) - 1, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "ts.pt"), m, 8);
	expect_open_ok(&o, p);
	if (o.c) {
		CHECK_INT(o.c->format, PT_FORMAT_ZIP);
		CHECK_STR(o.c->prefix, "ts");
		CHECK_INT(o.c->nrecords, 7);
		CHECK_STR(o.c->records[0].name, "data.pkl");
		CHECK_STR(o.c->records[6].name, "constants/c0");
		CHECK_INT(o.c->pickle_len, sizeof(big));
		CHECK(o.c->pickle && memcmp(o.c->pickle, big, sizeof(big)) == 0);
		CHECK(o.c->big_endian);
		CHECK(o.c->torchscript);
		CHECK_INT(o.c->version, 7);
		r = pt_container_find(o.c, "data.pkl");
		CHECK(r && r->method == 8 && r->size == sizeof(big) && r->csize < r->size);
		CHECK(pt_container_find(o.c, "elsewhere/data.pkl") == NULL);
		CHECK(pt_container_find(o.c, "data") == NULL);
		r = pt_container_find(o.c, "data/0");
		CHECK(r && r->offset == 0); /* not located before bind */
		t = make_torch(2, keys, dts, numels);
		t->torchscript = true;
		CHECK_INT(pt_container_bind(o.c, t, &err), 0);
		/* zip storages are located lazily, on first use */
		CHECK(!t->storages[0]->bound && !t->storages[1]->bound);
		CHECK_INT(pt_container_locate(o.c, t->storages[0], &err), 0);
		CHECK_INT(pt_container_locate(o.c, t->storages[1], &err), 0);
		CHECK(t->storages[0]->bound && t->storages[1]->bound);
		check_bytes(o.src, t->storages[0]->data_offset, data0, sizeof(data0));
		check_bytes(o.src, t->storages[1]->data_offset, const0, sizeof(const0));
		CHECK(r && r->offset == t->storages[0]->data_offset);
		free_torch(t);
	}
	close_ckpt(&o);
	/* Not TorchScript: constants/ is not searched. */
	expect_bind_error(p, "c0", PT_DT_INT64, 1, false, PT_ERR_FORMAT,
			  "storage 'c0': no record data/c0 in the archive");
	expect_bind_error(p, "c1", PT_DT_INT64, 1, true, PT_ERR_FORMAT,
			  "storage 'c1': no record data/c1 in the archive");
	expect_bind_error(p, "../x", PT_DT_INT64, 1, false, PT_ERR_FORMAT,
			  "storage key '../x' is not a valid record name");
	expect_bind_error(p, "", PT_DT_INT64, 1, false, PT_ERR_FORMAT,
			  "storage key '' is not a valid record name");
	expect_bind_error(p, "a/b", PT_DT_INT64, 1, false, PT_ERR_FORMAT,
			  "storage key 'a/b' is not a valid record name");
	expect_bind_error(p, "0", PT_DT_FLOAT32, 1000000, false, PT_ERR_FORMAT,
			  "storage '0': record data/0 holds 16 bytes, the pickle declares 4000000 (1000000 x float32)");

	/* A compressed storage. */
	m[0] = (struct member){ "archive/data.pkl", pkl, sizeof(pkl) - 1, false };
	m[1] = (struct member){ "archive/data/0", big, sizeof(big), true };
	m[2] = (struct member){ "archive/version", "3", 1, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "deflated.pt"), m, 3);
	expect_bind_error(p, "0", PT_DT_UINT8, sizeof(big), false, PT_ERR_UNSUPPORTED,
			  "storage '0': record data/0 is compressed (method 8); torch.save never compresses storages");
	expect_open_ok(&o, p);
	if (o.c) {
		CHECK_INT(o.c->version, 3);
		CHECK(!o.c->big_endian && !o.c->torchscript);
		CHECK_INT(o.c->pickle_len, sizeof(pkl) - 1);
	}
	close_ckpt(&o);

	/* Records the reader refuses. */
	m[0] = (struct member){ "archive/data.pkl", pkl, sizeof(pkl) - 1, false };
	m[1] = (struct member){ "archive/byteorder", "xyz", 3, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "byteorder.pt"), m, 2);
	expect_open_error(p, PT_ERR_FORMAT, "byteorder record says 'xyz'");
	m[1] = (struct member){ "archive/version", "3x\n", 3, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "version.pt"), m, 2);
	expect_open_error(p, PT_ERR_FORMAT, "version record says '3x?'");
	m[1] = (struct member){ "archive/version", "", 0, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "version0.pt"), m, 2);
	expect_open_error(p, PT_ERR_FORMAT, "version record says ''");
	m[1] = (struct member){ "archive/version", "99999999999", 11, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "version1.pt"), m, 2);
	expect_open_error(p, PT_ERR_FORMAT, "version record says '99999999999'");
	m[0] = (struct member){ "readme", "hi", 2, false };
	m[1] = (struct member){ "archive/data.pkl", pkl, sizeof(pkl) - 1, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "readme.pt"), m, 2);
	expect_open_error(p, PT_ERR_FORMAT,
			  "zip member 'readme' is not in a subdirectory (torch requires an archive directory)");
	m[0] = (struct member){ "archive/version", "3", 1, false };
	m[1] = (struct member){ "other/data.pkl", pkl, sizeof(pkl) - 1, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "nopkl.pt"), m, 2);
	expect_open_error(p, PT_ERR_FORMAT, "zip archive has no archive/data.pkl");
	/* No version record: allowed, version 0; empty data.pkl is the pickle layer's problem. */
	m[0] = (struct member){ "x/data.pkl", "", 0, false };
	write_zip(path_in(p, sizeof(p), tmpdir, "noversion.pt"), m, 1);
	expect_open_ok(&o, p);
	if (o.c) {
		CHECK_INT(o.c->version, 0);
		CHECK_INT(o.c->pickle_len, 0);
		CHECK_INT(o.c->nrecords, 1);
	}
	close_ckpt(&o);
}

/*
 * A hand-made zip whose central entry stores its local header offset
 * (0) in a ZIP64 extra field, the 32-bit field saying 0xffffffff.
 */
static void test_zip64_extra(void)
{
	static const unsigned char z[136] = {
		0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0xf2, 0x91, 0x02, 0xc5, 0x06, 0x00, 0x00, 0x00, 0x06, 0x00,
		0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x61, 0x2f, 0x64, 0x61, 0x74, 0x61,
		0x2e, 0x70, 0x6b, 0x6c, 0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e, 0x50, 0x4b,
		0x01, 0x02, 0x2d, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0xf2, 0x91, 0x02, 0xc5, 0x06, 0x00, 0x00, 0x00, 0x06, 0x00,
		0x00, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x61, 0x2f, 0x64, 0x61,
		0x74, 0x61, 0x2e, 0x70, 0x6b, 0x6c, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00,
		0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x44, 0x00, 0x00, 0x00, 0x2e, 0x00,
		0x00, 0x00, 0x00, 0x00,
	};
	unsigned char bad[sizeof(z)];
	struct opened o;
	char p[256];

	write_file(path_in(p, sizeof(p), tmpdir, "z64x.pt"), z, sizeof(z));
	expect_open_ok(&o, p);
	if (o.c) {
		CHECK_STR(o.c->prefix, "a");
		CHECK_INT(o.c->pickle_len, 6);
		CHECK_INT(o.c->records[0].offset, 40);
	}
	close_ckpt(&o);
	memcpy(bad, z, sizeof(z));
	bad[102] = 0x99; /* the extra field's id: no longer ZIP64 */
	write_file(p, bad, sizeof(bad));
	expect_open_error(p, PT_ERR_FORMAT,
			  "zip member a/data.pkl: no local header offset in its ZIP64 extra field");
}

/* ---- real-world files ---- */

struct zip_truth {
	const char *file, *prefix;
	size_t nrecords, pickle_len;
	bool torchscript;
};

static void test_realworld(const char *shared)
{
	static const struct zip_truth zips[] = {
		{ "zip21_candle_test.pt", "test", 5, 171, false },
		{ "zip1x_allennlp_best.th", "archive", 11, 1320, false },
		{ "zip1x_allennlp_training_state.th", "archive", 20, 1776, false },
		{ "zip1x_mlverse_ordered_dict.pt", "ordered_dict", 4, 290, false },
		{ "zip27_burn_checkpoint.pt", "checkpoint", 11, 570, false },
		{ "ts_21_mlverse_linear.pt", "linear", 9, 271, true },
		{ "ts_v3_tchrs_foo.pt", "foo", 6, 225, true },
	};
	static const struct {
		const char *file;
		size_t pickle_len;
	} legacies[] = {
		{ "legacy_allennlp_best_gpu.th", 964 },
		{ "legacy_allennlp_training_state_epoch_0.th", 3141 },
		{ "legacy_burn_shared_storage.pt", 334 },
		{ "legacy_burn_with_offsets.pt", 340 },
		{ "legacy_picklejl_linear_state.bin", 306 },
		{ "legacy_picklejl_offset_strides.bin", 266 },
	};
	char dir[256], p[512];
	struct opened o;
	struct dirent *de;
	DIR *d;
	size_t i;
	int seen = 0;

	snprintf(dir, sizeof(dir), "%s/realworld", shared);
	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (de = readdir(d))) {
		const char *n = de->d_name;

		if (n[0] == '.' || strstr(n, ".md"))
			continue;
		seen++;
		path_in(p, sizeof(p), dir, n);
		if (strcmp(n, "ts_v1_tchrs_foo_modeljson.pt") == 0) {
			/* no data.pkl: model.json and attributes.pkl instead */
			expect_open_ok(&o, p);
			if (o.c) {
				CHECK(o.c->torchscript);
				CHECK_INT(o.c->model_json_len, 349);
				CHECK(strncmp(o.c->model_json, "{\"protoVersion\":\"3\"", 19) == 0);
				CHECK_INT(o.c->pickle_len, 52);
				CHECK_INT(o.c->version, 1);
				close_ckpt(&o);
			}
			continue;
		}
		expect_open_ok(&o, p);
		if (o.c) {
			CHECK_INT(o.c->format, strncmp(n, "legacy_", 7) == 0 ?
						       PT_FORMAT_LEGACY : PT_FORMAT_ZIP);
			CHECK(o.c->pickle_len > 0);
			CHECK(!o.c->big_endian);
			CHECK_INT(o.c->version, o.c->format == PT_FORMAT_ZIP ? 3 : 1001);
		}
		close_ckpt(&o);
	}
	if (d)
		closedir(d);
	CHECK_INT(seen, 19);
	for (i = 0; i < sizeof(zips) / sizeof(zips[0]); i++) {
		expect_open_ok(&o, path_in(p, sizeof(p), dir, zips[i].file));
		if (o.c) {
			CHECK_STR(o.c->prefix, zips[i].prefix);
			CHECK_INT(o.c->nrecords, zips[i].nrecords);
			CHECK_INT(o.c->pickle_len, zips[i].pickle_len);
			CHECK_INT(o.c->torchscript, zips[i].torchscript);
			CHECK(o.c->pickle[0] == 0x80 &&
			      o.c->pickle[o.c->pickle_len - 1] == '.');
		}
		close_ckpt(&o);
	}
	for (i = 0; i < sizeof(legacies) / sizeof(legacies[0]); i++) {
		expect_open_ok(&o, path_in(p, sizeof(p), dir, legacies[i].file));
		if (o.c) {
			CHECK(o.c->prefix == NULL && o.c->nrecords == 0);
			CHECK_INT(o.c->pickle_len, legacies[i].pickle_len);
			CHECK(o.c->pickle[0] == 0x80 &&
			      o.c->pickle[o.c->pickle_len - 1] == '.');
			CHECK(pt_container_find(o.c, "data.pkl") == NULL);
		}
		close_ckpt(&o);
	}
	/* zip21_candle_test.pt: records in directory order, one LongStorage[8]. */
	expect_open_ok(&o, path_in(p, sizeof(p), dir, "zip21_candle_test.pt"));
	if (o.c) {
		static const char *const names[] = { "data.pkl", "byteorder", "data/0",
						     "version", ".data/serialization_id" };
		const char *key = "0";
		enum pt_dtype dt = PT_DT_INT64;
		uint64_t numel = 8;
		struct pt_torch *t = make_torch(1, &key, &dt, &numel);
		struct pt_error err = { 0 };
		const struct pt_record *r;

		for (i = 0; i < 5; i++)
			CHECK_STR(o.c->records[i].name, names[i]);
		r = pt_container_find(o.c, "data.pkl");
		CHECK(r && r->offset == 64 && r->size == 171 && r->method == 0);
		r = pt_container_find(o.c, ".data/serialization_id");
		CHECK(r && r->size == 40);
		CHECK_INT(pt_container_bind(o.c, t, &err), 0);
		CHECK(!t->storages[0]->bound);
		CHECK_INT(pt_container_locate(o.c, t->storages[0], &err), 0);
		CHECK(t->storages[0]->bound);
		CHECK_INT(t->storages[0]->data_offset, 448);
		CHECK_INT(pt_container_locate(o.c, t->storages[0], &err), 0); /* idempotent */
		CHECK_INT(t->storages[0]->data_offset, 448);
		free_torch(t);
	}
	close_ckpt(&o);
	expect_bind_error(p, "0", PT_DT_FLOAT32, 1000000, false, PT_ERR_FORMAT,
			  "storage '0': record data/0 holds 64 bytes, the pickle declares 4000000 (1000000 x float32)");
	expect_bind_error(p, "7", PT_DT_FLOAT32, 1, false, PT_ERR_FORMAT,
			  "storage '7': no record data/7 in the archive");

	/* legacy_burn_with_offsets.pt: three FloatStorages, keys sorted as strings. */
	path_in(p, sizeof(p), dir, "legacy_burn_with_offsets.pt");
	{
		const char *keys[] = { "105553175854464", "105553175854272",
				       "105553175854368" };
		enum pt_dtype dts[] = { PT_DT_FLOAT32, PT_DT_FLOAT32, PT_DT_FLOAT32 };
		uint64_t numels[] = { 5, 10, 5 };
		struct pt_torch *t = make_torch(3, keys, dts, numels);
		struct pt_error err = { 0 };

		expect_open_ok(&o, p);
		if (o.c) {
			CHECK_INT(o.c->format, PT_FORMAT_LEGACY);
			CHECK_INT(pt_container_bind(o.c, t, &err), 0);
			CHECK_INT(t->storages[0]->data_offset, 635);
			CHECK_INT(t->storages[1]->data_offset, 559);
			CHECK_INT(t->storages[2]->data_offset, 607);
			CHECK(t->storages[0]->bound && t->storages[1]->bound &&
			      t->storages[2]->bound);
		}
		close_ckpt(&o);
		free_torch(t);
		/* A key the pickle lacks. */
		keys[0] = "zz";
		t = make_torch(3, keys, dts, numels);
		expect_open_ok(&o, p);
		if (o.c) {
			CHECK_INT(pt_container_bind(o.c, t, &err), -1);
			CHECK_INT(err.code, PT_ERR_FORMAT);
			CHECK_STR(err.msg, "legacy storage key '105553175854464' is not used by the pickle");
		}
		close_ckpt(&o);
		free_torch(t);
	}
	{
		const char *keys[] = { "105553175854272", "105553175854368",
				       "105553175854464", "extra" };
		enum pt_dtype dts[] = { PT_DT_FLOAT32, PT_DT_FLOAT32, PT_DT_FLOAT32,
					PT_DT_FLOAT32 };
		uint64_t numels[] = { 10, 5, 5, 1 };
		struct pt_torch *t = make_torch(4, keys, dts, numels);
		struct pt_error err = { 0 };

		expect_open_ok(&o, p);
		if (o.c) {
			CHECK_INT(pt_container_bind(o.c, t, &err), -1);
			CHECK_INT(err.code, PT_ERR_FORMAT);
			CHECK_STR(err.msg, "storage 'extra' is missing from the legacy key list");
		}
		close_ckpt(&o);
		free_torch(t);
		numels[1] = 15;
		t = make_torch(3, keys, dts, numels);
		expect_open_ok(&o, p);
		if (o.c) {
			CHECK_INT(pt_container_bind(o.c, t, &err), -1);
			CHECK_INT(err.code, PT_ERR_FORMAT);
			CHECK_STR(err.msg, "legacy storage '105553175854368': record holds 5 elements, the pickle declares 15");
		}
		close_ckpt(&o);
		free_torch(t);
	}
}

/* ---- malformed files ---- */

static void test_hostile(const char *shared)
{
	static const struct {
		const char *file;
		enum pt_err code;
		const char *msg;
	} cases[] = {
		{ "synth/zip_truncated.pt", PT_ERR_FORMAT,
		  "truncated zip: no end of central directory record" },
		{ "synth/zip_eocd_lies.pt", PT_ERR_FORMAT,
		  "central directory (4294967280 bytes at offset 2147483647) extends past its end record" },
		{ "synth/zip64_locator_bogus.pt", PT_ERR_FORMAT,
		  "zip64 end of central directory locator points past the end of the file" },
		{ "synth/zip_cd_huge_sizes.pt", PT_ERR_FORMAT,
		  "zip member archive/data.pkl: data extends past the end of the file" },
		{ "synth/zip_duplicate_data_pkl.pt", PT_ERR_FORMAT,
		  "duplicate zip member archive/data.pkl" },
		{ "synth/zip_lfh_cd_name_mismatch.pt", PT_ERR_FORMAT,
		  "zip member archive/data.pkl: local header names archive/notes.txt" },
		{ "synth/zip_hostile_names.pt", PT_ERR_FORMAT,
		  "zip member 'archive/data.pkl?.txt' has a NUL byte in its name" },
		{ "synth/legacy_keys_mismatch.pt", PT_ERR_FORMAT,
		  "legacy storage key list names '0' twice" },
		{ "R29_picklescan_malicious1.7z", PT_ERR_FORMAT,
		  "not a PyTorch checkpoint (7z archive)" },
		{ "R22_picklescan_not_a_pickle.bin", PT_ERR_FORMAT,
		  "not a PyTorch checkpoint (unknown format, first bytes 63 6d 6f 64)" },
		{ "R23_picklescan_malicious1.zip", PT_ERR_FORMAT,
		  "zip member 'data.pkl' is not in a subdirectory (torch requires an archive directory)" },
		{ "R24_picklescan_malicious1_0x1.zip", PT_ERR_UNSUPPORTED,
		  "zip member model/config.pkl is encrypted" },
	};
	char p[512];
	struct opened o;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(p, sizeof(p), "%s/hostile/%s", shared, cases[i].file);
		expect_open_error(p, cases[i].code, cases[i].msg);
	}
	/* torch reads the prefix of entry 0: evil/, not the benign archive/. */
	snprintf(p, sizeof(p), "%s/hostile/synth/zip_prefix_mismatch.pt", shared);
	expect_open_ok(&o, p);
	if (o.c) {
		CHECK_STR(o.c->prefix, "evil");
		CHECK_INT(o.c->nrecords, 2);
		CHECK_INT(o.c->pickle_len, 46);
	}
	close_ckpt(&o);
	/* Opens (data.pkl is stored); the deflated storage is refused at bind. */
	snprintf(p, sizeof(p), "%s/hostile/synth/zip_deflate_bomb.pt", shared);
	expect_bind_error(p, "0", PT_DT_FLOAT32, 64 << 20, false, PT_ERR_UNSUPPORTED,
			  "storage '0': record data/0 is compressed (method 8); torch.save never compresses storages");
	/* The count says 2^64-1 elements. */
	snprintf(p, sizeof(p), "%s/hostile/synth/legacy_huge_numel.pt", shared);
	expect_bind_error(p, "0", PT_DT_FLOAT32, 12, false, PT_ERR_FORMAT,
			  "legacy storage '0': record holds 18446744073709551615 elements, the pickle declares 12");
	expect_bind_error(p, "0", PT_DT_FLOAT32, UINT64_MAX, false, PT_ERR_FORMAT,
			  "legacy storage '0': 18446744073709551615 x float32 overflows");
	expect_bind_error(p, "0", PT_DT_UINT8, UINT64_MAX, false, PT_ERR_FORMAT,
			  "legacy storage '0': 18446744073709551615 bytes at offset 269 extend past the end of the file");
	snprintf(p, sizeof(p), "%s/hostile/synth/legacy_benign.pt", shared);
	expect_open_ok(&o, p);
	close_ckpt(&o);
}

/* ---- generated fixtures ---- */

static void test_fixtures(const char *dir)
{
	char p[512];
	struct opened o;
	struct dirent *de;
	DIR *d = opendir(dir);
	int seen = 0;

	CHECK(d != NULL);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 4 || strcmp(de->d_name + n - 3, ".pt") != 0)
			continue;
		seen++;
		expect_open_ok(&o, path_in(p, sizeof(p), dir, de->d_name));
		if (o.c)
			CHECK_INT(o.c->format, strstr(de->d_name, "legacy") ?
						       PT_FORMAT_LEGACY : PT_FORMAT_ZIP);
		close_ckpt(&o);
	}
	if (d)
		closedir(d);
	CHECK(seen > 0);
}

static void remove_tmpdir(void)
{
	struct dirent *de;
	char p[512];
	DIR *d = opendir(tmpdir);

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		unlink(path_in(p, sizeof(p), tmpdir, de->d_name));
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_dtype();
	test_sniff();
	test_zip_made();
	test_zip64_extra();
	if (argc > 1) {
		test_realworld(argv[1]);
		test_hostile(argv[1]);
	} else {
		printf("test_container: no shared folder given, skipping real-world and hostile files\n");
	}
	if (argc > 2)
		test_fixtures(argv[2]);
	remove_tmpdir();
	return check_report("test_container");
}
