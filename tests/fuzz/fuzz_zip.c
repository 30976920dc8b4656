/*
 * fuzz_zip.c - the zip container reader (torch >= 1.6 and TorchScript) on
 * arbitrary files: end of central directory and zip64 records, the
 * directory, the member names, the small records read at open, the local
 * headers read when a storage is first located. Inputs that do not start
 * with "PK" still go through the sniffer, which must refuse them cleanly.
 *
 * Each zip is also opened a second way, with PT_CONTAINER_LIBZIP: a plain
 * archive is read by ptfs's own directory walk, anything else by libzip, and
 * the two must agree (open or not, the same records, the same error).
 *
 * And the globals scan of the same file (ptfs --scan, .ptfs/globals): its
 * member walk, duplicate names, storage records sniffed as pickles.
 */
#include "fuzz_container.h"
#include "scan.h"

#include <stdlib.h>

static bool same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void fuzz_differential(const uint8_t *data, size_t size)
{
	struct pt_container *a = NULL, *b = NULL;
	struct pt_error ea, eb;
	struct pt_source *src;
	const char *path;
	size_t i;

	if (size < 4 || memcmp(data, "PK\3\4", 4) != 0)
		return;
	path = fuzz_file(data, size);
	if (!path)
		return;
	pt_error_clear(&ea);
	pt_error_clear(&eb);
	src = pt_source_open_file(path, &ea);
	if (!src)
		return;
	a = pt_container_open(src, &ea);
	b = pt_container_open_with(src, PT_CONTAINER_LIBZIP, &eb);
	if (!a != !b)
		fprintf(stderr, "default: %s; libzip: %s\n", a ? "opens" : ea.msg,
			b ? "opens" : eb.msg);
	FUZZ_CHECK(!a == !b);
	if (!a) {
		if (ea.code != eb.code || strcmp(ea.msg, eb.msg) != 0)
			fprintf(stderr, "default: %s; libzip: %s\n", ea.msg, eb.msg);
		FUZZ_CHECK(ea.code == eb.code && strcmp(ea.msg, eb.msg) == 0);
	} else {
		FUZZ_CHECK(strcmp(a->prefix, b->prefix) == 0 && a->nrecords == b->nrecords);
		for (i = 0; i < a->nrecords; i++) {
			const struct pt_record *x = &a->records[i], *y = &b->records[i];

			FUZZ_CHECK(strcmp(x->name, y->name) == 0 && x->size == y->size &&
				   x->csize == y->csize && x->method == y->method &&
				   x->crc == y->crc && x->crc_known == y->crc_known &&
				   x->offset == y->offset);
		}
		FUZZ_CHECK(same_bytes(a->pickle, a->pickle_len, b->pickle, b->pickle_len));
		FUZZ_CHECK(same_bytes(a->model_json, a->model_json_len, b->model_json,
				      b->model_json_len));
		FUZZ_CHECK(a->big_endian == b->big_endian && a->torchscript == b->torchscript &&
			   a->version == b->version);
	}
	pt_container_close(a);
	pt_container_close(b);
	pt_source_close(src);
}

static void fuzz_scan(const uint8_t *data, size_t size)
{
	struct pt_error err;
	struct pt_scan *s;
	const char *path;
	char *report = NULL;
	size_t len = 0;

	if (size < 4 || memcmp(data, "PK", 2) != 0)
		return;
	path = fuzz_file(data, size);
	if (!path)
		return;
	pt_error_clear(&err);
	s = pt_scan_file(path, &err);
	if (!s) {
		FUZZ_CHECK(err.code != PT_OK);
		return;
	}
	if (pt_scan_report(s, "", &report, &len) == 0)
		FUZZ_CHECK(report && strlen(report) == len && strstr(report, "verdict: "));
	free(report);
	pt_scan_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_container(data, size);
	fuzz_differential(data, size);
	fuzz_scan(data, size);
	return 0;
}
