/*
 * test_stwrite.c - the safetensors header writer (lib/stwrite.h): the
 * reference's order (dtype rank descending, then bytewise name), offsets,
 * metadata first with sorted keys, serde_json's escapes, padding to 8 with
 * spaces and the little-endian length; and the size parser.
 */
#include <stdlib.h>

#include "check.h"
#include "stwrite.h"

/* The header's JSON (after the 8-byte length) as a string, checking the length. */
static char *json_of(unsigned char *h, size_t len)
{
	uint64_t n = 0;
	char *s;
	int k;

	for (k = 0; k < 8; k++)
		n |= (uint64_t)h[k] << (8 * k);
	CHECK_INT(n, len - 8);
	CHECK_INT(n % 8, 0);
	s = malloc(len - 7);
	memcpy(s, h + 8, len - 8);
	s[len - 8] = '\0';
	return s;
}

static void test_order(void)
{
	int64_t s34[] = { 3, 4 }, s2[] = { 2 };
	struct pt_st_entry e[] = {
		{ .name = "b", .dtype = PT_DT_FLOAT32, .ndim = 2, .shape = s34, .nbytes = 48 },
		{ .name = "a", .dtype = PT_DT_BOOL, .ndim = 1, .shape = s2, .nbytes = 2 },
		{ .name = "c", .dtype = PT_DT_INT64, .ndim = 0, .shape = NULL, .nbytes = 8 },
		{ .name = "a.b", .dtype = PT_DT_FLOAT32, .ndim = 1, .shape = s2, .nbytes = 8 },
		{ .name = "z", .dtype = PT_DT_BFLOAT16, .ndim = 1, .shape = s2, .nbytes = 4 },
	};
	unsigned char *h;
	size_t len;
	char *s;

	CHECK_INT(pt_st_header_build(e, 5, NULL, 0, &h, &len, NULL), 0);
	s = json_of(h, len);
	CHECK_STR(s, "{\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
		     "\"a.b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
		     "\"b\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[16,64]},"
		     "\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[64,68]},"
		     "\"a\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[68,70]}}  ");
	CHECK_STR(e[0].name, "c");
	CHECK_INT(e[4].begin, 68);
	CHECK_INT(e[4].end, 70);
	free(s);
	free(h);
}

static void test_meta(void)
{
	struct pt_st_meta m[] = { { "format", "pt" }, { "a\"\\\n\x01", "\xc3\xbc\t" } };
	unsigned char *h;
	size_t len;
	char *s;

	CHECK_INT(pt_st_header_build(NULL, 0, m, 2, &h, &len, NULL), 0);
	s = json_of(h, len);
	CHECK_STR(s, "{\"__metadata__\":{\"a\\\"\\\\\\n\\u0001\":\"\xc3\xbc\\t\",\"format\":\"pt\"}} ");
	free(s);
	free(h);
	CHECK_INT(pt_st_header_build(NULL, 0, NULL, 0, &h, &len, NULL), 0);
	s = json_of(h, len);
	CHECK_STR(s, "{}      ");
	free(s);
	free(h);
}

static void test_refuse(void)
{
	struct pt_st_entry e = { .name = "c", .dtype = PT_DT_COMPLEX64, .nbytes = 8 };
	struct pt_error err;
	unsigned char *h = (unsigned char *)"x";
	size_t len;

	CHECK_INT(pt_st_header_build(&e, 1, NULL, 0, &h, &len, &err), -1);
	CHECK(h == NULL);
	CHECK_INT(err.code, PT_ERR_INVAL);
	CHECK(pt_st_dtype(PT_DT_QINT8) == NULL);
	CHECK_STR(pt_st_dtype(PT_DT_FLOAT8_E4M3FN), "F8_E4M3");
}

static void test_size(void)
{
	uint64_t v = 0;
	struct pt_error err;

	CHECK_INT(pt_size_parse("5GB", &v, NULL), 0);
	CHECK_INT(v, 5000000000ull);
	CHECK_INT(pt_size_parse("500MB", &v, NULL), 0);
	CHECK_INT(v, 500000000ull);
	CHECK_INT(pt_size_parse("2GiB", &v, NULL), 0);
	CHECK_INT(v, 2147483648ull);
	CHECK_INT(pt_size_parse("10kb", &v, NULL), 0);
	CHECK_INT(v, 10000);
	CHECK_INT(pt_size_parse("123", &v, NULL), 0);
	CHECK_INT(v, 123);
	CHECK_INT(pt_size_parse("1.5GB", &v, NULL), 0);
	CHECK_INT(v, 1500000000ull);
	CHECK_INT(pt_size_parse("0", &v, &err), -1);
	CHECK_INT(pt_size_parse("5 GB", &v, &err), -1);
	CHECK_INT(pt_size_parse("GB", &v, &err), -1);
	CHECK_INT(pt_size_parse("-5GB", &v, &err), -1);
	CHECK_INT(pt_size_parse("5XB", &v, &err), -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
}

int main(void)
{
	test_order();
	test_meta();
	test_refuse();
	test_size();
	return check_report("test_stwrite");
}
