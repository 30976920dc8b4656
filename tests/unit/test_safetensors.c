/*
 * test_safetensors.c - the safetensors header parser (lib/safetensors.c)
 * on hand-written headers: every dtype of the format, each refusal with its
 * exact message, duplicate keys, the metadata's JSON text, and the sniff;
 * then a small file through pt_st_header_read and the state_dict pickle
 * of sdpickle.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"
#include "sdpickle.h"

/* Parses text for data_len bytes of data; returns the rc, err in *err. */
static int parse(const char *text, uint64_t data_len, struct pt_st_header *h,
		 struct pt_arena *a, struct pt_error *err)
{
	pt_error_clear(err);
	return pt_st_header_parse(a, text, strlen(text), data_len, h, err);
}

/* The message a header is refused with ("" when it is accepted). */
static const char *refusal(const char *text, uint64_t data_len)
{
	static struct pt_error err;
	struct pt_st_header h;
	struct pt_arena a;
	int rc;

	pt_arena_init(&a, 0);
	rc = parse(text, data_len, &h, &a, &err);
	pt_arena_release(&a);
	return rc == 0 ? "" : err.msg;
}

static void test_dtypes(void)
{
	static const struct {
		const char *st;
		enum pt_dtype dt;
		unsigned size;
	} t[] = {
		{ "F64", PT_DT_FLOAT64, 8 },   { "F32", PT_DT_FLOAT32, 4 },
		{ "F16", PT_DT_FLOAT16, 2 },   { "BF16", PT_DT_BFLOAT16, 2 },
		{ "I64", PT_DT_INT64, 8 },     { "I32", PT_DT_INT32, 4 },
		{ "I16", PT_DT_INT16, 2 },     { "I8", PT_DT_INT8, 1 },
		{ "U8", PT_DT_UINT8, 1 },      { "BOOL", PT_DT_BOOL, 1 },
		{ "F8_E4M3", PT_DT_FLOAT8_E4M3FN, 1 }, { "F8_E5M2", PT_DT_FLOAT8_E5M2, 1 },
		{ "F8_E8M0", PT_DT_FLOAT8_E8M0FNU, 1 }, { "F8_E4M3FNUZ", PT_DT_FLOAT8_E4M3FNUZ, 1 },
		{ "F8_E5M2FNUZ", PT_DT_FLOAT8_E5M2FNUZ, 1 }, { "U16", PT_DT_UINT16, 2 },
		{ "U32", PT_DT_UINT32, 4 },    { "U64", PT_DT_UINT64, 8 },
		{ "C64", PT_DT_COMPLEX64, 8 },
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pt_st_header h;
		struct pt_arena a;
		struct pt_error err;

		pt_arena_init(&a, 0);
		snprintf(text, sizeof(text),
			 "{\"x\": {\"dtype\": \"%s\", \"shape\": [2, 3], \"data_offsets\": [0, %u]}}",
			 t[i].st, 6 * t[i].size);
		CHECK_INT(parse(text, 6 * t[i].size, &h, &a, &err), 0);
		CHECK_INT(h.ntensors, 1);
		if (h.ntensors == 1) {
			CHECK_INT(h.tensors[0].dtype, t[i].dt);
			CHECK_INT(h.tensors[0].numel, 6);
			CHECK_INT(pt_dtype_size(t[i].dt), t[i].size);
		}
		pt_arena_release(&a);
	}
	CHECK_STR(refusal("{\"x\": {\"dtype\": \"F4\", \"shape\": [4], \"data_offsets\": [0, 2]}}", 2),
		  "tensor 'x': dtype F4 (4-bit) has no torch dtype; ptfs does not show 4- and 6-bit tensors");
	CHECK_STR(refusal("{\"x\": {\"dtype\": \"F6_E2M3\", \"shape\": [4], \"data_offsets\": [0, 3]}}", 3),
		  "tensor 'x': dtype F6_E2M3 (6-bit) has no torch dtype; ptfs does not show 4- and 6-bit tensors");
	CHECK_STR(refusal("{\"x\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4),
		  "tensor 'x': unknown dtype 'f32'");
}

static void test_refusals(void)
{
	CHECK_STR(refusal("{}", 0), "");
	CHECK_STR(refusal("{}    ", 0), "");
	CHECK_STR(refusal("{\"__metadata__\": {\"a\": \"b\"}}", 0), "");
	CHECK_STR(refusal("[]", 0), "header: not a JSON object (does not start with '{')");
	CHECK_STR(refusal("", 0), "header: not a JSON object (does not start with '{')");
	CHECK_STR(refusal("{\"a\": ", 0), "header: JSON: offset 6: unexpected end of text");
	CHECK_STR(refusal("{\"a\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [0, 0]}, "
			  "\"a\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [0, 0]}}", 0),
		  "header: JSON: offset 61: duplicate key 'a'");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
		  "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8),
		  "tensor 'w': invalid offset: data_offsets [8, 0] end before begin");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4),
		  "tensor 'w': invalid offset: data_offsets end at 8, past the 4 bytes of data");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 12),
		  "incomplete buffer: the tensors cover 8 of the 12 bytes of data");
	CHECK_STR(refusal("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
			  "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8),
		  "tensor 'b': invalid offset: data_offsets [4, 8] overlap 'a'");
	CHECK_STR(refusal("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8),
		  "tensor 'a': invalid offset: data_offsets begin at 4, leaving a gap after byte 0");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"F64\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 0]}}", 0),
		  "tensor 'w': shape overflows 64 bits");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"F64\", \"shape\": [99999999999999999999], \"data_offsets\": [0, 0]}}", 0),
		  "tensor 'w': shape item 0 is not a non-negative integer");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"U8\", \"shape\": [1.5], \"data_offsets\": [0, 0]}}", 0),
		  "tensor 'w': shape item 0 is not a non-negative integer");
	CHECK_STR(refusal("{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0]}}", 1),
		  "tensor 'w': data_offsets is not two non-negative integers");
	CHECK_STR(refusal("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 1]}}", 1),
		  "tensor 'w': no dtype string");
	CHECK_STR(refusal("{\"w\": 3}", 0), "tensor 'w': entry is int, not an object");
	CHECK_STR(refusal("{\"__metadata__\": {\"a\": 1}}", 0), "__metadata__ 'a' is int, not a string");
	CHECK_STR(refusal("{\"__metadata__\": []}", 0), "__metadata__ is list, not an object");
	/* empty and 0-dim tensors, in any header order */
	CHECK_STR(refusal("{\"b\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},"
			  "\"e\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [4, 4]},"
			  "\"a\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [4, 6]}}", 6),
		  "");
}

static void test_metadata_json(void)
{
	struct pt_st_header h;
	struct pt_arena a;
	struct pt_error err;
	size_t len = 0;
	const char *s;

	pt_arena_init(&a, 0);
	CHECK_INT(parse("{\"__metadata__\": {\"format\": \"pt\", \"q\": \"a\\\"b\\n\"}}", 0, &h, &a,
			&err), 0);
	s = pt_st_metadata_json(&a, h.metadata, &len, &err);
	CHECK_STR(s, "{\"format\":\"pt\",\"q\":\"a\\\"b\\u000a\"}\n");
	CHECK_INT(len, strlen(s ? s : ""));
	s = pt_st_metadata_json(&a, NULL, &len, &err);
	CHECK_STR(s, "{}\n");
	pt_arena_release(&a);
}

static void test_sniff(void)
{
	unsigned char b[16] = { 2, 0, 0, 0, 0, 0, 0, 0, '{', '}' };

	CHECK(pt_st_sniff(b, 10, 10));
	b[8] = '[';
	CHECK(pt_st_sniff(b, 10, 10));
	CHECK(!pt_st_sniff(b, 10, 9)); /* the length does not fit */
	b[8] = 0x80;
	CHECK(!pt_st_sniff(b, 10, 10));
	CHECK(!pt_st_sniff(b, 8, 8));
}

static void test_read_and_pickle(void)
{
	static const char hdr[] =
		"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
	char path[] = "/tmp/test_safetensors.XXXXXX";
	unsigned char len8[8] = { sizeof(hdr) - 1 };
	float data[2] = { 1.5f, -2.0f };
	struct pt_container *c;
	struct pt_source *src;
	struct pt_torch t = { 0 };
	struct pt_arena keep, vals;
	struct pt_value *root = NULL;
	struct pt_error err;
	const struct pt_sdpickle_item *items;
	unsigned char *pk = NULL;
	size_t n = 0, pklen = 0;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, len8, 8) == 8);
	CHECK(write(fd, hdr, sizeof(hdr) - 1) == (ssize_t)sizeof(hdr) - 1);
	CHECK(write(fd, data, 8) == 8);
	close(fd);
	pt_arena_init(&keep, 0);
	pt_arena_init(&vals, 0);
	t.arena = &keep;
	pt_error_clear(&err);
	src = pt_source_open_file(path, &err);
	c = src ? pt_container_open(src, &err) : NULL;
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(c->format, PT_FORMAT_SAFETENSORS);
		CHECK_INT(pt_st_load(c, &t, &vals, &root, &err), 0);
		CHECK_INT(t.nstorages, 1);
		CHECK_STR(root ? root->type : NULL, "collections.OrderedDict");
		if (t.nstorages == 1) {
			CHECK_INT(t.storages[0]->data_offset, 8 + sizeof(hdr) - 1);
			CHECK_STR(t.storages[0]->key, "0");
		}
		items = pt_st_items(c, &n);
		CHECK_INT(n, 1);
		CHECK_INT(pt_sdpickle_make(items, n, NULL, &pk, &pklen, &err), 0);
		/* PROTO 2, the OrderedDict, and STOP at the end */
		CHECK(pklen > 40 && memcmp(pk, "\x80\x02" "ccollections\nOrderedDict\n", 27) == 0);
		CHECK(pklen > 0 && pk[pklen - 1] == '.');
		CHECK(pk && memmem(pk, pklen, "ctorch\nFloatStorage\n", 20) != NULL);
		free(pk);
	}
	pt_container_close(c);
	pt_source_close(src);
	pt_arena_release(&vals);
	pt_arena_release(&keep);
	unlink(path);
}

int main(void)
{
	test_dtypes();
	test_refusals();
	test_metadata_json();
	test_sniff();
	test_read_and_pickle();
	return check_report("test_safetensors");
}
