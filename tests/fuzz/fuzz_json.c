/*
 * fuzz_json.c - the JSON reader behind TorchScript 1.0's model.json (and
 * next, safetensors headers): strings and escapes, numbers, nesting. The
 * text comes from the checkpoint, so it is as hostile as the pickle.
 * libFuzzer's buffer has exactly size bytes and no NUL after them, so a
 * read past len is an ASan error rather than a lucky terminator.
 */
#include "fuzz.h"
#include "json.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_value *v = NULL;
	struct pt_arena a;
	struct pt_error err;

	pt_error_clear(&err);
	pt_arena_init(&a, (size_t)64 << 20);
	if (pt_json_parse(&a, (const char *)data, size, &v, &err) == 0)
		FUZZ_CHECK(v != NULL);
	else
		fuzz_check_error(&err);
	pt_arena_release(&a);
	return 0;
}
