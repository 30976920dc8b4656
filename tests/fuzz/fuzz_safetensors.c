/*
 * fuzz_safetensors.c - the safetensors header: the 8-byte length, the JSON
 * text and its validation (lib/safetensors.c). The input is a whole file;
 * its length field is honoured as the reader honours it (refused past the
 * file or 100,000,000 bytes). On success the promises are checked: every
 * tensor's bytes equal numel times its element size, lie inside the data,
 * and together the ranges cover the data exactly.
 */
#include "fuzz.h"
#include "safetensors.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_st_header h;
	struct pt_arena a;
	struct pt_error err;
	uint64_t n = 0, data_len, sum = 0;
	size_t i;
	int k;

	if (size < 8)
		return 0;
	for (k = 7; k >= 0; k--)
		n = n << 8 | data[k];
	if (n > size - 8 || n > PT_ST_MAX_HEADER)
		return 0;
	data_len = size - 8 - n;
	pt_error_clear(&err);
	pt_arena_init(&a, (size_t)64 << 20);
	if (pt_st_header_parse(&a, (const char *)data + 8, (size_t)n, data_len, &h, &err) == 0) {
		for (i = 0; i < h.ntensors; i++) {
			const struct pt_st_tensor *t = &h.tensors[i];

			FUZZ_CHECK(t->begin <= t->end && t->end <= data_len);
			FUZZ_CHECK(t->end - t->begin == t->numel * pt_dtype_size(t->dtype));
			FUZZ_CHECK(t->ndim >= 0 && t->ndim <= PT_ST_MAX_DIMS);
			sum += t->end - t->begin;
		}
		FUZZ_CHECK(sum == data_len);
		FUZZ_CHECK(!h.metadata || h.metadata->kind == PT_V_DICT);
	} else {
		fuzz_check_error(&err);
	}
	pt_arena_release(&a);
	return 0;
}
