/*
 * test_zipdir.c - ptfs's own reading of plain zips against libzip's.
 *
 * A zip whose directory walk (zipdir.c) finds the plain shape torch.save
 * writes is read without libzip; every other one through libzip as before.
 * The property checked here: opening any file the default way and with
 * PT_CONTAINER_LIBZIP gives the same result, the same records and bytes or
 * the same error. Inputs: the generated fixtures, the real-world and hostile
 * corpora, one hand-made mutation per thing that makes an archive unusual
 * (each must read as not plain), and a sweep that rewrites every byte of a
 * fixture's directory and end records five ways.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "container.h"
#include "source.h"
#include "zipdir.h"

static char tmpdir[] = "/tmp/test_zipdir.XXXXXX";
static int nplain, nsame_ok, nsame_err;

struct opened {
	struct pt_source *src;
	struct pt_container *c;
	struct pt_error err;
};

static void open_with(struct opened *o, const char *path, unsigned flags)
{
	memset(o, 0, sizeof(*o));
	o->src = pt_source_open_file(path, &o->err);
	if (o->src)
		o->c = pt_container_open_with(o->src, flags, &o->err);
}

static void close_opened(struct opened *o)
{
	pt_container_close(o->c);
	pt_source_close(o->src);
}

/* Whether the walk finds path plain (false when it fails). */
static bool is_plain(const char *path)
{
	struct pt_zipdir cd = { 0 };
	struct pt_error err;
	struct pt_source *src = pt_source_open_file(path, &err);
	bool plain = false;

	if (!src)
		return false;
	if (pt_zipdir_read(src, &cd, &err) == 0)
		plain = cd.plain;
	pt_zipdir_free(&cd);
	pt_source_close(src);
	return plain;
}

static bool same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Opens path both ways and checks that the results agree; `what` names it in failures. */
static void check_same(const char *path, const char *what)
{
	struct opened a, b;
	size_t i;
	int before = check_failed;

	open_with(&a, path, 0);
	open_with(&b, path, PT_CONTAINER_LIBZIP);
	if (is_plain(path))
		nplain++;
	CHECK_INT(a.c != NULL, b.c != NULL);
	if (!a.c && !b.c) {
		CHECK_INT(a.err.code, b.err.code);
		CHECK_STR(a.err.msg, b.err.msg);
		nsame_err++;
	} else if (a.c && b.c) {
		CHECK_STR(a.c->prefix ? a.c->prefix : "(none)", b.c->prefix ? b.c->prefix : "(none)");
		CHECK_INT(a.c->nrecords, b.c->nrecords);
		for (i = 0; i < a.c->nrecords && i < b.c->nrecords; i++) {
			const struct pt_record *x = &a.c->records[i], *y = &b.c->records[i];

			CHECK_STR(x->name, y->name);
			CHECK_INT(x->size, y->size);
			CHECK_INT(x->csize, y->csize);
			CHECK_INT(x->method, y->method);
			CHECK_INT(x->crc, y->crc);
			CHECK_INT(x->crc_known, y->crc_known);
			CHECK_INT(x->offset, y->offset);
		}
		CHECK(same_bytes(a.c->pickle, a.c->pickle_len, b.c->pickle, b.c->pickle_len));
		CHECK(same_bytes(a.c->model_json, a.c->model_json_len, b.c->model_json,
				 b.c->model_json_len));
		CHECK_INT(a.c->big_endian, b.c->big_endian);
		CHECK_INT(a.c->torchscript, b.c->torchscript);
		CHECK_INT(a.c->version, b.c->version);
		nsame_ok++;
	} else {
		fprintf(stderr, "  default: %s; libzip: %s\n", a.c ? "opens" : a.err.msg,
			b.c ? "opens" : b.err.msg);
	}
	if (check_failed != before)
		fprintf(stderr, "  ^ %s\n", what);
	close_opened(&a);
	close_opened(&b);
}

/* check_same on every regular file under dir, recursively; returns how many. */
static int check_tree(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char p[1024];
	struct stat st;
	int n = 0;

	CHECK(d != NULL);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			n += check_tree(p);
		} else if (S_ISREG(st.st_mode)) {
			check_same(p, p);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_INT(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* The offset of the last occurrence of the 4-byte signature sig in buf, or -1. */
static long find_last(const unsigned char *buf, size_t len, const char *sig)
{
	size_t i;

	for (i = len - 4 + 1; i-- > 0;)
		if (memcmp(buf + i, sig, 4) == 0)
			return (long)i;
	return -1;
}

/*
 * One mutation per thing that makes a fixture unusual: each must be judged
 * not plain by the walk (so libzip reads it), and read as libzip reads it.
 */
static void test_mutations(const char *fixture)
{
	size_t len = 0, i;
	unsigned char *orig = slurp(fixture, &len), *buf;
	long cd, eocd, loc, e64;
	char p[512];

	CHECK(orig != NULL);
	if (!orig)
		return;
	CHECK(is_plain(fixture));
	eocd = find_last(orig, len, "PK\5\6");
	loc = find_last(orig, len, "PK\6\7");
	e64 = find_last(orig, len, "PK\6\6");
	CHECK(eocd > 0 && loc > 0 && e64 > 0);
	if (eocd <= 0 || loc <= 0 || e64 <= 0)
		goto out;
	cd = (long)pt_le64(orig + e64 + 48);
	CHECK(memcmp(orig + cd, "PK\1\2", 4) == 0);
	buf = malloc(len + 64);
	CHECK(buf != NULL);
	if (!buf)
		goto out;
	snprintf(p, sizeof(p), "%s/mutant.pt", tmpdir);
	for (i = 0;; i++) {
		size_t n = len;
		const char *what;

		memcpy(buf, orig, len);
		switch (i) {
		case 0:
			what = "entry 0 encrypted (flag bit 0)";
			buf[cd + 8] |= 1;
			break;
		case 1:
			what = "entry 0 deflated (method 8)";
			buf[cd + 10] = 8;
			break;
		case 2:
			what = "entry 0 with a general purpose bit torch never sets (bit 6)";
			buf[cd + 8] |= 0x40;
			break;
		case 3:
			what = "entry 0's sizes differ";
			buf[cd + 20] ^= 1;
			break;
		case 4:
			what = "entry 0 starts on disk 1";
			buf[cd + 34] = 1;
			break;
		case 5:
			what = "UTF-8 flag with a name that is not UTF-8";
			buf[cd + 46 + 1] = 0xff;
			break;
		case 6:
			what = "an archive comment";
			memcpy(buf + len, "hello", 5);
			pt_put_le16(buf + eocd + 20, 5);
			n = len + 5;
			break;
		case 7:
			what = "the comment length disagrees with the bytes after the end record";
			pt_put_le16(buf + eocd + 20, 1);
			break;
		case 8:
			what = "the classic end record counts another number of entries";
			buf[eocd + 10] ^= 1;
			break;
		case 9:
			what = "the classic end record's entries on this disk differ from the total";
			buf[eocd + 8] ^= 1;
			break;
		case 10:
			what = "the classic end record is on disk 1";
			buf[eocd + 4] = 1;
			break;
		case 11:
			what = "the zip64 record counts 2 disks";
			buf[loc + 16] = 2;
			break;
		case 12:
			what = "the zip64 end record is 1 byte longer than its fields";
			buf[e64 + 4] ^= 1;
			break;
		case 13:
			what = "an earlier end record signature in the tail";
			memcpy(buf + cd + 46, "PK\5\6", 4);
			break;
		case 14:
			what = "the directory is 1 byte longer than its entries";
			buf[e64 + 40] += 1;
			buf[eocd + 12] += 1;
			break;
		case 15:
			what = "a control character in a name flagged UTF-8 (libzip refuses it)";
			buf[cd + 46 + 1] = 0x06;
			break;
		default:
			what = NULL;
			break;
		}
		if (!what)
			break;
		spit(p, buf, n);
		if (is_plain(p)) {
			CHECK(!"the mutant is not plain");
			fprintf(stderr, "  ^ %s\n", what);
		}
		check_same(p, what);
	}
	free(buf);
out:
	free(orig);
}

/*
 * Rewrites each byte of orig from its central directory (at cd) to the end
 * five ways (+1, ^0x80, 0x00, 0xff, 0x1f) and checks that both readers agree on
 * every result.
 */
static void test_sweep(const unsigned char *orig, size_t len, size_t cd, const char *name)
{
	static const int how[5] = { 1, 0x80, 0, 0xff, 0x1f };
	unsigned char *buf = malloc(len);
	size_t i, k;
	char p[512], what[160];

	CHECK(buf != NULL);
	if (!buf)
		return;
	snprintf(p, sizeof(p), "%s/sweep.pt", tmpdir);
	for (i = cd; i < len; i++) {
		for (k = 0; k < 5; k++) {
			memcpy(buf, orig, len);
			if (k == 0)
				buf[i] = (unsigned char)(buf[i] + 1);
			else if (k == 1)
				buf[i] ^= 0x80;
			else
				buf[i] = (unsigned char)how[k];
			if (buf[i] == orig[i])
				continue;
			spit(p, buf, len);
			snprintf(what, sizeof(what), "%s: byte %zu set to 0x%02x", name, i, buf[i]);
			check_same(p, what);
		}
	}
	free(buf);
}

/*
 * A fixture with entry 0's sizes and local header offset moved into a
 * ZIP64 extra field (as torch writes them past 4 GiB); *out is malloc'd,
 * *cdout the directory's offset.
 */
static unsigned char *zip64_variant(const unsigned char *orig, size_t len, size_t *outlen,
				    size_t *cdout)
{
	long e64 = find_last(orig, len, "PK\6\6"), loc = find_last(orig, len, "PK\6\7");
	long eocd = find_last(orig, len, "PK\5\6");
	size_t cd, nlen, xlen, at;
	unsigned char *b, *h, *x;

	if (e64 <= 0 || loc <= 0 || eocd <= 0)
		return NULL;
	cd = (size_t)pt_le64(orig + e64 + 48);
	nlen = pt_le16(orig + cd + 28);
	xlen = pt_le16(orig + cd + 30);
	if (xlen != 0 || !(b = malloc(len + 28)))
		return NULL;
	at = cd + 46 + nlen;
	memcpy(b, orig, at);
	x = b + at;
	memcpy(b + at + 28, orig + at, len - at);
	h = b + cd;
	pt_put_le16(x, 0x0001);
	pt_put_le16(x + 2, 24);
	pt_put_le64(x + 4, pt_le32(h + 24));
	pt_put_le64(x + 12, pt_le32(h + 20));
	pt_put_le64(x + 20, pt_le32(h + 42));
	pt_put_le32(h + 20, 0xffffffff);
	pt_put_le32(h + 24, 0xffffffff);
	pt_put_le32(h + 42, 0xffffffff);
	pt_put_le16(h + 30, 28);
	e64 += 28, loc += 28, eocd += 28;
	pt_put_le64(b + e64 + 40, pt_le64(b + e64 + 40) + 28);
	pt_put_le64(b + loc + 8, pt_le64(b + loc + 8) + 28);
	if (pt_le32(b + eocd + 12) != 0xffffffff)
		pt_put_le32(b + eocd + 12, pt_le32(b + eocd + 12) + 28);
	*outlen = len + 28;
	*cdout = cd;
	return b;
}

/* The sweep over a fixture as it is and over its ZIP64-extra variant (which must be plain). */
static void test_sweeps(const char *fixture)
{
	size_t len = 0, vlen = 0, cd = 0;
	unsigned char *orig = slurp(fixture, &len), *v = NULL;
	long e64;
	char p[512];

	CHECK(orig != NULL);
	e64 = orig ? find_last(orig, len, "PK\6\6") : -1;
	CHECK(e64 > 0);
	if (e64 <= 0)
		goto out;
	test_sweep(orig, len, (size_t)pt_le64(orig + e64 + 48), "fixture");
	v = zip64_variant(orig, len, &vlen, &cd);
	CHECK(v != NULL);
	if (!v)
		goto out;
	snprintf(p, sizeof(p), "%s/sweep.pt", tmpdir);
	spit(p, v, vlen);
	CHECK(is_plain(p));
	check_same(p, "zip64 variant");
	test_sweep(v, vlen, cd, "zip64 variant");
out:
	free(v);
	free(orig);
}

static void remove_tmpdir(void)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/mutant.pt", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sweep.pt", tmpdir);
	unlink(p);
	rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	char p[512], fixture[512];
	int n;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc > 2) {
		n = check_tree(argv[2]);
		CHECK(n > 0);
		/*
		 * every torch.save fixture but the legacy ones is plain, read
		 * without libzip; not counted: MANIFEST.tsv, 11 and 13 (legacy),
		 * 31 and 32 (torch.jit.save deflates their code/ records)
		 */
		CHECK_INT(nplain, n - 5);
		snprintf(fixture, sizeof(fixture), "%s/17_demo.pt", argv[2]);
		test_mutations(fixture);
		test_sweeps(fixture);
	}
	if (argc > 1) {
		nplain = 0;
		snprintf(p, sizeof(p), "%s/realworld", argv[1]);
		CHECK(check_tree(p) > 0);
		/* the zip files but the two TorchScript ones with deflated code */
		CHECK_INT(nplain, 11);
		snprintf(p, sizeof(p), "%s/hostile", argv[1]);
		CHECK(check_tree(p) > 0);
	} else {
		printf("test_zipdir: no shared folder given, skipping real-world and hostile files\n");
	}
	CHECK(nsame_ok > 0 && nsame_err > 0);
	printf("test_zipdir: %d opened alike, %d refused alike\n", nsame_ok, nsame_err);
	remove_tmpdir();
	return check_report("test_zipdir");
}
