/*
 * test_checkpoint.c - opening whole checkpoints (pt_checkpoint_open) and
 * reading tensors out of them (pt_tensor_read), on the generated fixtures
 * and on the hostile corpus.
 *
 * Usage: test_checkpoint [SHARED [FIXTURES]]. SHARED is the folder holding
 * hostile/synth/ (e.g. /work/shared); FIXTURES the folder of generated .pt
 * files (tests/fixtures). Checks that need either are skipped when absent.
 *
 * Every fixture must open and every tensor in it must read the same whole
 * as in pieces; 17_demo.pt and 04_views.pt are checked element by element.
 * Every hostile .pt must be refused with its exact code and message (the
 * part after "PATH: "), or open when it is a benign control; nothing here
 * ever hands those files to Python.
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
#include "checkpoint.h"

static const char *path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_dir(const char *path)
{
	DIR *d = opendir(path);

	if (d)
		closedir(d);
	return d != NULL;
}

/* The sorted .pt names in dir (at most cap); returns the count. */
static size_t list_pt(const char *dir, char names[][256], size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0, i, j;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < cap) {
		if (!ends_with(e->d_name, ".pt"))
			continue;
		snprintf(names[n++], 256, "%s", e->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char tmp[256];

			memcpy(tmp, names[j], 256);
			memcpy(names[j], names[j - 1], 256);
			memcpy(names[j - 1], tmp, 256);
		}
	return n;
}

static struct pt_node *node_at(const struct pt_checkpoint *ck, const char *path)
{
	struct pt_node *n = pt_tree_node(ck->tree, 1);
	char buf[512], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, "/", &save); part && n; part = strtok_r(NULL, "/", &save))
		n = pt_tree_lookup(ck->tree, n, part);
	return n;
}

static const struct pt_tensor *tensor_at(const struct pt_checkpoint *ck, const char *path)
{
	struct pt_node *n = node_at(ck, path);

	CHECK(n != NULL && n->kind == PT_NODE_TENSOR);
	if (!n || n->kind != PT_NODE_TENSOR) {
		fprintf(stderr, "  no tensor %s\n", path);
		return NULL;
	}
	return n->u.tensor;
}

/* The whole content of t in a malloc'd buffer (NULL for an empty tensor). */
static unsigned char *read_all(const struct pt_checkpoint *ck, const struct pt_tensor *t)
{
	struct pt_error err = { 0 };
	unsigned char *buf = malloc(t->nbytes + 1);
	int64_t got;

	if (!buf)
		return NULL;
	got = pt_tensor_read(ck, t, buf, t->nbytes, 0, &err);
	CHECK_INT(got, t->nbytes);
	if (got != (int64_t)t->nbytes)
		fprintf(stderr, "  read: %s\n", err.msg);
	return buf;
}

static struct pt_checkpoint *open_ok(const char *path)
{
	struct pt_error err = { 0 };
	struct pt_checkpoint *ck = pt_checkpoint_open(path, NULL, &err);

	CHECK(ck != NULL);
	if (!ck)
		fprintf(stderr, "  %s\n", err.msg);
	return ck;
}

/* Every tensor reads the same in 7-byte pieces as in one call. */
static void check_pieces(const struct pt_checkpoint *ck)
{
	size_t i;

	for (i = 0; i < ck->tree->nnodes; i++) {
		const struct pt_node *n = ck->tree->nodes[i];
		const struct pt_tensor *t;
		unsigned char *whole, piece[7];
		struct pt_error err = { 0 };
		uint64_t off;
		bool same = true;

		if (n->kind != PT_NODE_TENSOR)
			continue;
		t = n->u.tensor;
		CHECK_INT(pt_node_size(n), t->nbytes);
		if (t->nbytes > (1 << 20))
			continue;
		whole = read_all(ck, t);
		if (!whole)
			continue;
		for (off = 0; off < t->nbytes; off += sizeof(piece)) {
			uint64_t want = t->nbytes - off < sizeof(piece) ? t->nbytes - off : sizeof(piece);
			int64_t got = pt_tensor_read(ck, t, piece, sizeof(piece), off, &err);

			same = same && got == (int64_t)want && !memcmp(piece, whole + off, want);
		}
		CHECK(same);
		if (!same)
			fprintf(stderr, "  pieces of %s differ\n", n->name);
		CHECK_INT(pt_tensor_read(ck, t, piece, sizeof(piece), t->nbytes, &err), 0);
		CHECK_INT(pt_tensor_read(ck, t, piece, sizeof(piece), t->nbytes + 100, &err), 0);
		free(whole);
	}
}

static void test_fixtures_open(const char *fixtures)
{
	static char names[64][256];
	size_t n = list_pt(fixtures, names, 64), i;
	char path[1024];

	CHECK(n >= 18);
	for (i = 0; i < n; i++) {
		struct pt_checkpoint *ck = open_ok(path_in(path, sizeof(path), fixtures, names[i]));

		if (!ck)
			continue;
		CHECK(ck->tree != NULL);
		CHECK(pt_tree_ctl_dir(ck->tree)->ino == 2);
		check_pieces(ck);
		pt_checkpoint_close(ck);
	}
}

static void test_demo(const char *fixtures)
{
	char path[1024];
	struct pt_checkpoint *ck = open_ok(path_in(path, sizeof(path), fixtures, "17_demo.pt"));
	const struct pt_tensor *w, *b;
	const struct pt_node *n;
	float f[12];
	struct pt_error err = { 0 };
	uint64_t src;
	int i;

	if (!ck)
		return;
	w = tensor_at(ck, "layer1/weight");
	b = tensor_at(ck, "layer1/bias");
	if (w) {
		CHECK_INT(w->dtype, PT_DT_FLOAT32);
		CHECK_INT(w->ndim, 2);
		CHECK_INT(w->shape[0], 3);
		CHECK_INT(w->shape[1], 4);
		CHECK_INT(w->nbytes, 48);
		CHECK_STR(pt_tensor_location(w), "cuda:1");
		CHECK_INT(pt_tensor_read(ck, w, f, sizeof(f), 0, &err), 48);
		for (i = 0; i < 12; i++)
			CHECK(f[i] == (float)i);
		/* a read in the middle, and one running past the end */
		CHECK_INT(pt_tensor_read(ck, w, f, 8, 20, &err), 8);
		CHECK(f[0] == 5.0f && f[1] == 6.0f);
		CHECK_INT(pt_tensor_read(ck, w, f, sizeof(f), 40, &err), 8);
		CHECK(f[0] == 10.0f && f[1] == 11.0f);
		CHECK_INT(pt_tensor_span(ck, w, 4, &src, &err), 1);
	}
	if (b) {
		CHECK_INT(b->nbytes, 12);
		CHECK_INT(pt_tensor_read(ck, b, f, sizeof(f), 0, &err), 12);
		CHECK(f[0] == 0.5f && f[1] == -0.5f && f[2] == 1.5f);
	}
	n = node_at(ck, "epoch");
	CHECK(n && n->kind == PT_NODE_DATA && n->u.data.len == 3 &&
	      !memcmp(n->u.data.p, "12\n", 3));
	n = node_at(ck, "layer1");
	CHECK(n && n->kind == PT_NODE_DIR && !strcmp(n->type, "ptfs.prefix"));
	pt_checkpoint_close(ck);
}

/* 04_views.pt: t is base.T; every (offset, length) read of t matches. */
static void test_views(const char *fixtures)
{
	static const size_t lens[] = { 1, 3, 7, 48, 100 };
	char path[1024];
	struct pt_checkpoint *ck = open_ok(path_in(path, sizeof(path), fixtures, "04_views.pt"));
	const struct pt_tensor *base, *t;
	struct pt_error err = { 0 };
	float bv[24], tv[24];
	unsigned char got[128];
	uint64_t src;
	size_t off, li;
	int i, j, bad = 0;

	if (!ck)
		return;
	base = tensor_at(ck, "base");
	t = tensor_at(ck, "t");
	if (!base || !t)
		goto out;
	CHECK_INT(base->ndim, 2);
	CHECK_INT(base->shape[0], 4);
	CHECK_INT(base->shape[1], 6);
	CHECK_INT(t->shape[0], 6);
	CHECK_INT(t->shape[1], 4);
	CHECK_INT(t->dtype, PT_DT_FLOAT32);
	CHECK(base->contiguous);
	CHECK(!t->contiguous);
	CHECK(t->storage == base->storage);
	CHECK_INT(pt_tensor_span(ck, t, 0, &src, &err), 0);
	CHECK_INT(pt_tensor_span(ck, base, 0, &src, &err), 1);
	CHECK_INT(pt_tensor_read(ck, base, bv, sizeof(bv), 0, &err), 96);
	for (i = 0; i < 6; i++)
		for (j = 0; j < 4; j++)
			tv[i * 4 + j] = bv[j * 6 + i];
	/* the whole transpose at once */
	CHECK_INT(pt_tensor_read(ck, t, got, 96, 0, &err), 96);
	CHECK(!memcmp(got, tv, 96));
	/* every offset (in bytes, unaligned too) and length */
	for (off = 0; off <= 96; off++) {
		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			size_t want = 96 - off < lens[li] ? 96 - off : lens[li];
			int64_t n;

			memset(got, 0xAA, sizeof(got));
			n = pt_tensor_read(ck, t, got, lens[li], off, &err);
			if (n != (int64_t)want || memcmp(got, (unsigned char *)tv + off, want) ||
			    (want < sizeof(got) && got[want] != 0xAA)) {
				if (bad++ < 5)
					fprintf(stderr, "  t: read(%zu, off %zu) = %lld\n", lens[li],
						off, (long long)n);
			}
		}
	}
	CHECK_INT(bad, 0);
out:
	pt_checkpoint_close(ck);
}

/* ---- the hostile corpus ---- */

struct expect {
	const char *name;
	enum pt_err code; /* PT_OK: opens */
	const char *msg;  /* after "PATH: " */
};

static const struct expect hostile[] = {
	{ "benign_tiny_state_dict.pt", PT_OK, NULL },
	{ "legacy_benign.pt", PT_OK, NULL },
	{ "legacy_huge_numel.pt", PT_ERR_FORMAT,
	  "legacy storage '0': record holds 18446744073709551615 elements, the pickle declares 12" },
	{ "legacy_keys_mismatch.pt", PT_ERR_FORMAT, "legacy storage key list names '0' twice" },
	{ "setitem_on_list.pt", PT_ERR_PICKLE,
	  "data.pkl: offset 7: SETITEM: target is list, not a dict" },
	{ "tensor_key_two_dtypes.pt", PT_ERR_FORMAT,
	  "data.pkl: offset 252: BINPERSID: storage '0' is declared as 12 x float32 and as 12 x float64" },
	{ "tensor_negative_shape.pt", PT_ERR_FORMAT,
	  "data.pkl: offset 167: REDUCE: _rebuild_tensor_v2: negative dimension -1" },
	{ "tensor_negative_stride.pt", PT_ERR_FORMAT,
	  "data.pkl: offset 167: REDUCE: _rebuild_tensor_v2: negative stride -4" },
	{ "tensor_numel_overflow.pt", PT_ERR_FORMAT,
	  "data.pkl: offset 188: REDUCE: _rebuild_tensor_v2: the element count overflows" },
	{ "tensor_offset_past_end.pt", PT_ERR_RANGE,
	  "data.pkl: offset 165: REDUCE: _rebuild_tensor_v2: the view (offset 1000) reaches element "
	  "1011 of storage '0', which holds 12 elements of float32" },
	{ "tensor_storage_missing_and_traversal.pt", PT_ERR_FORMAT,
	  "storage '7': no record data/7 in the archive" },
	{ "tensor_storage_short.pt", PT_ERR_FORMAT,
	  "storage '0': record data/0 holds 48 bytes, the pickle declares 4000000 (1000000 x float32)" },
	{ "tensor_storage_type_is_dangerous_global.pt", PT_ERR_FORMAT,
	  "data.pkl: offset 114: BINPERSID: storage persistent id: type is posix.system, not a torch "
	  "storage class" },
	/* TorchScript-shaped: its data.pkl is a plain state dict; nothing is run */
	{ "torchscript_archive.pt", PT_OK, NULL },
	{ "zip64_locator_bogus.pt", PT_ERR_FORMAT,
	  "zip64 end of central directory locator points past the end of the file" },
	{ "zip_cd_huge_sizes.pt", PT_ERR_FORMAT,
	  "zip member archive/data.pkl: data extends past the end of the file" },
	{ "zip_deflate_bomb.pt", PT_ERR_UNSUPPORTED,
	  "storage '0': record data/0 is compressed (method 8); torch.save never compresses storages" },
	{ "zip_duplicate_data_pkl.pt", PT_ERR_FORMAT, "duplicate zip member archive/data.pkl" },
	{ "zip_eocd_lies.pt", PT_ERR_FORMAT,
	  "central directory (4294967280 bytes at offset 2147483647) extends past its end record" },
	{ "zip_hostile_names.pt", PT_ERR_FORMAT,
	  "zip member 'archive/data.pkl?.txt' has a NUL byte in its name" },
	{ "zip_lfh_cd_name_mismatch.pt", PT_ERR_FORMAT,
	  "zip member archive/data.pkl: local header names archive/notes.txt" },
	{ "zip_overlap.pt", PT_ERR_FORMAT,
	  "storage '0': record data/0 holds 300 bytes, the pickle declares 48 (12 x float32)" },
	/* torch takes the first member's folder as the prefix: evil/data.pkl, shown, not run */
	{ "zip_prefix_mismatch.pt", PT_OK, NULL },
	{ "zip_truncated.pt", PT_ERR_FORMAT, "truncated zip: no end of central directory record" },
};

static const struct expect *expect_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		if (!strcmp(hostile[i].name, name))
			return &hostile[i];
	return NULL;
}

/* Opens path; checks it fails with code and "PATH: msg", or opens (PT_OK). */
static void expect_open(const char *path, enum pt_err code, const char *msg)
{
	struct pt_error err = { 0 };
	struct pt_checkpoint *ck = pt_checkpoint_open(path, NULL, &err);
	size_t pl = strlen(path);

	if (code == PT_OK) {
		CHECK(ck != NULL);
		if (!ck)
			fprintf(stderr, "  %s\n", err.msg);
		else
			check_pieces(ck);
		pt_checkpoint_close(ck);
		return;
	}
	CHECK(ck == NULL);
	pt_checkpoint_close(ck);
	if (ck) {
		fprintf(stderr, "  %s opened, expected: %s\n", path, msg);
		return;
	}
	CHECK_INT(err.code, code);
	CHECK(strncmp(err.msg, path, pl) == 0 && !strncmp(err.msg + pl, ": ", 2));
	if (strncmp(err.msg, path, pl) == 0 && !strncmp(err.msg + pl, ": ", 2))
		CHECK_STR(err.msg + pl + 2, msg);
	else
		CHECK_STR(err.msg, msg);
}

static void test_hostile(const char *shared)
{
	static char names[128][256];
	char dir[1024], path[1400];
	size_t n, i, seen = 0;

	snprintf(dir, sizeof(dir), "%s/hostile/synth", shared);
	if (!is_dir(dir)) {
		printf("test_checkpoint: %s absent, hostile checks skipped\n", dir);
		return;
	}
	n = list_pt(dir, names, 128);
	for (i = 0; i < n; i++) {
		const struct expect *e = expect_of(names[i]);

		path_in(path, sizeof(path), dir, names[i]);
		if (!e) {
			/* a file added to the corpus later: at least no crash, and a path prefix */
			struct pt_error err = { 0 };
			struct pt_checkpoint *ck = pt_checkpoint_open(path, NULL, &err);

			fprintf(stderr, "test_checkpoint: note: no expectation for %s (%s)\n", names[i],
				ck ? "opens" : err.msg);
			CHECK(ck || !strncmp(err.msg, path, strlen(path)));
			pt_checkpoint_close(ck);
			continue;
		}
		seen++;
		expect_open(path, e->code, e->msg);
	}
	CHECK_INT(seen, sizeof(hostile) / sizeof(hostile[0]));

	/* not checkpoints at all: the message names the path and what it is */
	expect_open("/nonexistent/ptfs/x.pt", PT_ERR_IO, "No such file or directory");
	expect_open(dir, PT_ERR_FORMAT, "not a regular file");
	snprintf(path, sizeof(path), "%s/hostile/R29_picklescan_malicious1.7z", shared);
	if (access(path, R_OK) == 0)
		expect_open(path, PT_ERR_FORMAT, "not a PyTorch checkpoint (7z archive)");
}

/*
 * zip_overlap.pt with the central directory entry of archive/data/0 patched
 * to 48 bytes, so that its size agrees with the pickle: the entry's local
 * header (offset 0, shared with data.pkl) names archive/data.pkl. Its bytes
 * must never be served as the tensor: refused at open, or at the first read
 * (the local headers of storage records are checked lazily).
 */
static void test_overlap_patched(const char *shared)
{
	char path[1024], out[] = "/tmp/test_checkpoint.XXXXXX";
	unsigned char buf[4096];
	struct pt_error err = { 0 };
	struct pt_checkpoint *ck;
	size_t len, i;
	FILE *f;
	int fd, patched = 0;

	snprintf(path, sizeof(path), "%s/hostile/synth/zip_overlap.pt", shared);
	f = fopen(path, "rb");
	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i + 60 < len; i++) {
		if (memcmp(buf + i, "PK\1\2", 4) || buf[i + 28] != 14 || buf[i + 29] != 0 ||
		    memcmp(buf + i + 46, "archive/data/0", 14))
			continue;
		/* compressed and uncompressed sizes: 300 -> 48 */
		memcpy(buf + i + 20, "\x30\0\0\0\x30\0\0\0", 8);
		patched++;
	}
	CHECK_INT(patched, 1);
	fd = mkstemp(out);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, buf, len), len);
	close(fd);
	ck = pt_checkpoint_open(out, NULL, &err);
	if (ck) {
		/* refusing at open or at the first read are both fine; serving is not */
		for (i = 0; i < ck->tree->nnodes; i++) {
			const struct pt_node *n = ck->tree->nodes[i];

			if (n->kind != PT_NODE_TENSOR)
				continue;
			pt_error_clear(&err);
			CHECK_INT(pt_tensor_read(ck, n->u.tensor, buf, 48, 0, &err), -1);
			if (err.code == PT_OK)
				fprintf(stderr, "  %s served data.pkl's bytes as a tensor\n", n->name);
			CHECK_INT(err.code, PT_ERR_FORMAT);
			CHECK_STR(err.msg, "zip member archive/data/0: local header names "
					   "archive/data.pkl");
		}
	} else {
		CHECK_INT(err.code, PT_ERR_FORMAT);
	}
	pt_checkpoint_close(ck);
	unlink(out);
}

/* One member of a zip written by write_zip: name and bytes (stored). */
struct member {
	char name[64];
	void *data;
	size_t len;
};

/* The members of a zip, in directory order, read with libzip; returns how many. */
static size_t read_members(const char *path, struct member *m, size_t cap)
{
	zip_t *za = zip_open(path, ZIP_RDONLY, NULL);
	size_t n = 0;

	CHECK(za != NULL);
	for (zip_int64_t i = 0; za && i < zip_get_num_entries(za, 0) && n < cap; i++) {
		zip_stat_t st;
		zip_file_t *f;

		if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0)
			break;
		snprintf(m[n].name, sizeof(m[n].name), "%s", st.name);
		m[n].len = (size_t)st.size;
		m[n].data = malloc(m[n].len + 1);
		f = zip_fopen_index(za, (zip_uint64_t)i, 0);
		CHECK(f && zip_fread(f, m[n].data, st.size) == (zip_int64_t)st.size);
		if (f)
			zip_fclose(f);
		n++;
	}
	if (za)
		zip_discard(za);
	return n;
}

static void write_zip(const char *path, const struct member *m, size_t n)
{
	zip_t *za;

	unlink(path);
	za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, NULL);
	CHECK(za != NULL);
	for (size_t i = 0; za && i < n; i++) {
		zip_source_t *zs = zip_source_buffer(za, m[i].data, m[i].len, 0);
		zip_int64_t idx = zip_file_add(za, m[i].name, zs, ZIP_FL_ENC_RAW);

		CHECK(idx >= 0);
		if (idx < 0)
			zip_source_free(zs);
		else
			zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	}
	if (za)
		CHECK_INT(zip_close(za), 0);
}

/* Rewrites every occurrence of from (local header and directory names) as to, of the same length. */
static void rename_member(const char *path, const char *from, const char *to)
{
	FILE *f = fopen(path, "r+b");
	size_t len = strlen(from), n = 0, got;
	char *buf = NULL;

	CHECK(f != NULL && strlen(to) == len);
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	got = (size_t)ftell(f);
	buf = malloc(got);
	rewind(f);
	if (buf && fread(buf, 1, got, f) == got) {
		for (size_t i = 0; i + len <= got; i++)
			if (memcmp(buf + i, from, len) == 0) {
				memcpy(buf + i, to, len);
				n++;
			}
		rewind(f);
		CHECK_INT(fwrite(buf, 1, got, f), got);
	}
	CHECK_INT(n, 2);
	free(buf);
	fclose(f);
}

/*
 * The open guesses data.pkl from the first directory entry and runs it
 * while another thread opens the container (checkpoint.c). A guess that
 * does not stand (here: a TorchScript archive, whose pickle is run again)
 * must leave the same checkpoint as no guess, and a container error must
 * win over the guessed pickle's success.
 */
static void test_guess(const char *fixtures)
{
	char src[4096], dst[] = "/tmp/test_checkpoint_guess.XXXXXX", p[4200];
	struct member m[64], w[66];
	struct pt_error err = { 0 };
	struct pt_checkpoint *ref, *ck;
	size_t n, k = 0, i;
	int fd = mkstemp(dst);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	n = read_members(path_in(src, sizeof(src), fixtures, "17_demo.pt"), m, 64);
	CHECK(n > 3 && strcmp(m[0].name, "17_demo/data.pkl") == 0);
	ref = pt_checkpoint_open(src, NULL, &err);
	CHECK(ref != NULL);
	if (!ref || n < 3)
		goto out;
	/* TorchScript: constants.pkl present, and data/0 only as constants/0 */
	for (i = 0; i < n; i++) {
		w[k] = m[i];
		if (strcmp(m[i].name, "17_demo/data/0") == 0)
			snprintf(w[k].name, sizeof(w[k].name), "17_demo/constants/0");
		k++;
	}
	w[k] = m[0];
	snprintf(w[k++].name, sizeof(w[k].name), "17_demo/constants.pkl");
	write_zip(dst, w, k);
	ck = pt_checkpoint_open(dst, NULL, &err);
	CHECK(ck != NULL);
	if (!ck)
		fprintf(stderr, "  %s\n", err.msg);
	if (ck) {
		CHECK(ck->c->torchscript);
		CHECK_INT(ck->tree->nnodes, ref->tree->nnodes);
		CHECK_INT(ck->tree->ntensors, ref->tree->ntensors);
		CHECK_INT(ck->torch.nstorages, ref->torch.nstorages);
		for (i = 0; i < ck->tree->nnodes && i < ref->tree->nnodes; i++) {
			const struct pt_node *a = ck->tree->nodes[i], *b = ref->tree->nodes[i];

			CHECK_STR(a->name, b->name);
			CHECK_INT(pt_node_size(a), pt_node_size(b));
		}
		check_pieces(ck);
	}
	pt_checkpoint_close(ck);
	/* the same without constants.pkl is no TorchScript: data/0 is missing */
	write_zip(dst, w, k - 1);
	snprintf(p, sizeof(p), "%s: storage '0': no record data/0 in the archive", dst);
	ck = pt_checkpoint_open(dst, NULL, &err);
	CHECK(ck == NULL);
	pt_checkpoint_close(ck);
	CHECK_STR(err.msg, p);
	/* a second data.pkl (libzip writes it as data.pkX, renamed in place): the
	   container's refusal, though the guess loads */
	k = 0;
	for (i = 0; i < n; i++)
		w[k++] = m[i];
	w[k] = m[0];
	snprintf(w[k++].name, sizeof(w[k].name), "17_demo/data.pkX");
	write_zip(dst, w, k);
	rename_member(dst, "17_demo/data.pkX", "17_demo/data.pkl");
	ck = pt_checkpoint_open(dst, NULL, &err);
	CHECK(ck == NULL);
	pt_checkpoint_close(ck);
	snprintf(p, sizeof(p), "%s: duplicate zip member 17_demo/data.pkl", dst);
	CHECK_STR(err.msg, p);
out:
	pt_checkpoint_close(ref);
	for (i = 0; i < n; i++)
		free(m[i].data);
	unlink(dst);
}

/*
 * The storages are bound on a thread while the tree is built: when both
 * fail, the binding's error is the one reported, as when it ran first.
 * data.pkl is {'a': a tensor of 4 float32 in storage '0', 'b': a list
 * nested 1100 deep}; data/0 holds 8 bytes (bind fails) or 16 (only the
 * tree's depth limit does).
 */
static void test_bind_error_first(void)
{
	static const char head[] =
		"\x80\x02}q\x00(X\x01\x00\x00\x00" "actorch._utils\n_rebuild_tensor_v2\n"
		"((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0"
		"X\x03\x00\x00\x00" "cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89"
		"ccollections\nOrderedDict\n)RtRX\x01\x00\x00\x00" "b";
	char dst[] = "/tmp/test_checkpoint_bind.XXXXXX", want[4200];
	unsigned char pk[4096], data[16] = { 0 };
	struct member m[3] = { { "t/data.pkl", pk, 0 }, { "t/data/0", data, 8 }, { "t/version", "3\n", 2 } };
	struct pt_error err = { 0 };
	struct pt_checkpoint *ck;
	size_t n = sizeof(head) - 1, i;
	int fd = mkstemp(dst);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	memcpy(pk, head, n);
	for (i = 0; i < 1100; i++)
		pk[n++] = ']';
	for (i = 0; i < 1099; i++)
		pk[n++] = 'a';
	pk[n++] = 'u';
	pk[n++] = '.';
	m[0].len = n;
	write_zip(dst, m, 3);
	ck = pt_checkpoint_open(dst, NULL, &err);
	CHECK(ck == NULL);
	pt_checkpoint_close(ck);
	snprintf(want, sizeof(want),
		 "%s: storage '0': record data/0 holds 8 bytes, the pickle declares 16 (4 x float32)", dst);
	CHECK_STR(err.msg, want);
	m[1].len = 16;
	write_zip(dst, m, 3);
	ck = pt_checkpoint_open(dst, NULL, &err);
	CHECK(ck == NULL);
	pt_checkpoint_close(ck);
	snprintf(want, sizeof(want), "%s: the object nests deeper than 1000 levels", dst);
	CHECK_STR(err.msg, want);
	unlink(dst);
}

int main(int argc, char **argv)
{
	const char *shared = argc > 1 ? argv[1] : NULL;
	const char *fixtures = argc > 2 ? argv[2] : NULL;

	test_bind_error_first();
	if (fixtures && is_dir(fixtures)) {
		test_fixtures_open(fixtures);
		test_demo(fixtures);
		test_views(fixtures);
		test_guess(fixtures);
	} else {
		printf("test_checkpoint: no fixtures folder, fixture checks skipped\n");
	}
	if (shared && is_dir(shared)) {
		test_hostile(shared);
		test_overlap_patched(shared);
	} else {
		printf("test_checkpoint: no shared corpus, hostile checks skipped\n");
	}
	return check_report("test_checkpoint");
}
