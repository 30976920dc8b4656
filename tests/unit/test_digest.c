/*
 * test_digest.c - the manifest (manifest.h), the SHA256SUMS listing and
 * file hashes (digest.h), and the tree walk they share (pt_tree_next,
 * pt_node_path), on the fixtures: exact text, reads at every offset equal
 * to one whole read, hashes of known content.
 */
#include <stdlib.h>

#include "check.h"
#include "checkpoint.h"
#include "digest.h"
#include "manifest.h"

static struct pt_checkpoint *open_fixture(const char *fixtures, const char *name)
{
	struct pt_error err;
	char path[4096];
	struct pt_checkpoint *ck;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	ck = pt_checkpoint_open(path, NULL, &err);
	CHECK(ck != NULL);
	if (!ck)
		fprintf(stderr, "  %s: %s\n", name, err.msg);
	return ck;
}

static void test_walk(const char *fixtures)
{
	struct pt_checkpoint *ck = open_fixture(fixtures, "17_demo.pt");
	const struct pt_node *n;
	char all[512] = "", path[64];

	if (!ck)
		return;
	for (n = pt_tree_next(ck->tree, NULL); n; n = pt_tree_next(ck->tree, n)) {
		pt_node_path(n, path, sizeof(path));
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s ", path);
	}
	/* .ptfs is not entered; a directory comes before its entries */
	CHECK_STR(all, "layer1 layer1/weight layer1/bias epoch ");
	n = pt_tree_lookup(ck->tree, ck->tree->nodes[0], "layer1");
	n = n ? pt_tree_lookup(ck->tree, n, "weight") : NULL;
	CHECK(n != NULL);
	if (n) {
		CHECK_INT(pt_node_path(n, path, sizeof(path)), 13);
		CHECK_INT(pt_node_path(n, path, 13), 13); /* no room for the NUL: cut to "" */
		CHECK_STR(path, "");
		CHECK_INT(pt_node_path(n, NULL, 0), 13);
	}
	pt_checkpoint_close(ck);
}

static void test_manifest(const char *fixtures)
{
	struct pt_checkpoint *ck = open_fixture(fixtures, "12_cuda_tags.pt");
	struct pt_error err;
	size_t len = 0;
	char *m;

	if (!ck)
		return;
	m = pt_manifest_text(ck, &len, &err);
	CHECK_STR(m, "path\tdtype\tshape\tstride\tstorage_offset\tsaved_location\tlocation\tbytes\n"
		     "fc1/weight\tfloat32\t[3,4]\t[4,1]\t0\tcuda:1\tcuda:1\t48\n"
		     "fc1/bias\tfloat32\t[3]\t[1]\t0\tcuda:1\tcuda:1\t12\n"
		     "fc2/weight\tfloat32\t[2,3]\t[3,1]\t0\tcuda:0\tcuda:0\t24\n"
		     "fc2/bias\tfloat32\t[2]\t[1]\t0\tcuda:2\tcuda:2\t8\n");
	CHECK_INT(len, m ? strlen(m) : 0);
	free(m);
	pt_checkpoint_close(ck);
}

/* Every read of every size at every offset gives the bytes of one whole read. */
static void check_reads(struct pt_sums *s)
{
	uint64_t size = pt_sums_size(s), off;
	struct pt_error err;
	char *whole = malloc(size + 1), *part = malloc(size + 1);
	size_t step;

	CHECK(whole && part);
	if (!whole || !part)
		goto out;
	CHECK_INT(pt_sums_read(s, whole, size + 10, 0, &err), size);
	for (step = 1; step <= 97; step += 12)
		for (off = 0; off <= size; off += 7) {
			int64_t got = pt_sums_read(s, part, step, off, &err);
			uint64_t want = off + step <= size ? step : size - off;

			CHECK_INT(got, want);
			if (got > 0)
				CHECK(memcmp(part, whole + off, (size_t)got) == 0);
		}
out:
	free(whole);
	free(part);
}

static void test_sums(const char *fixtures)
{
	struct pt_checkpoint *ck = open_fixture(fixtures, "17_demo.pt");
	struct pt_error err;
	unsigned char sum[32];
	struct pt_sums *s;
	char text[400];

	if (!ck)
		return;
	s = pt_sums_new(ck, &err);
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(pt_sums_size(s), 3 * 66 + strlen("layer1/weight\nlayer1/bias\nepoch\n"));
	CHECK_INT(pt_sums_read(s, text, sizeof(text), 0, &err), pt_sums_size(s));
	text[pt_sums_size(s)] = '\0';
	/* sha256 of "12\n", of the 3x4 float32 0..11, of its bias (sha256sum's values) */
	CHECK_STR(text, "29e1889124dc651e7bb488251123910767d042ae6dc47c280ec364655e24ab49  layer1/weight\n"
			"ead642a09ae3633eff7e6c751ab360068d3dad3ec564ebbfa9447491bbac7f9f  layer1/bias\n"
			"a1fb50e6c86fae1679ef3351296fd6713411a08cf8dd1790a4fd05fae8688164  epoch\n");
	check_reads(s);
	CHECK_INT(pt_sums_get(s, ck->tree->nodes[0], sum, &err), -1); /* the root: no file */
	CHECK_INT(err.code, PT_ERR_INVAL);
	pt_sums_free(s);
out:
	pt_checkpoint_close(ck);
}

/* Names holding a backslash: the line starts with one and the name's is doubled. */
static void test_sums_escaped(const char *fixtures)
{
	struct pt_checkpoint *ck = open_fixture(fixtures, "30_ctrl_keys.pt");
	struct pt_error err;
	struct pt_sums *s;
	char *text, *line;
	int escaped = 0;

	if (!ck)
		return;
	s = pt_sums_new(ck, &err);
	text = s ? malloc(pt_sums_size(s) + 1) : NULL;
	CHECK(text != NULL);
	if (text) {
		CHECK_INT(pt_sums_read(s, text, pt_sums_size(s), 0, &err), pt_sums_size(s));
		text[pt_sums_size(s)] = '\0';
		for (line = text; *line; line = strchr(line, '\n') + 1) {
			const char *nl = strchr(line, '\n'), *bs = memchr(line + 1, '\\', (size_t)(nl - line - 1));

			CHECK((line[0] == '\\') == (bs != NULL));
			if (line[0] == '\\') {
				escaped++;
				CHECK(strstr(line, "  %'nl\\\\nkey'\n") == line + 65 || strstr(line, "\\\\") != NULL);
			}
		}
		CHECK(escaped > 0);
		check_reads(s);
	}
	free(text);
	pt_sums_free(s);
	pt_checkpoint_close(ck);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 2 ? argv[2] : NULL;

	if (!fixtures) {
		fprintf(stderr, "test_digest: no fixtures folder\n");
		return check_report("test_digest");
	}
	test_walk(fixtures);
	test_manifest(fixtures);
	test_sums(fixtures);
	test_sums_escaped(fixtures);
	return check_report("test_digest");
}
