/*
 * test_tree.c - Python repr() of floats and keys (repr.c), the JSON reader
 * (json.c) and the naming rules of the tree (tree.c, docs/tree.md).
 *
 * Usage: test_tree [SHARED [FIXTURES]]; neither is needed: every value graph
 * here is built by hand with value.h. The expected reprs were produced by
 * CPython 3 (`python3 -c 'print(repr(x))'`) and pasted in as literals;
 * floats are given as C hex literals so the double is exactly Python's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "tree.h"
#include "value.h"

static struct pt_arena A;
static struct pt_error E;

/* ---- value constructors (abort on allocation failure: tests only) ---- */

static struct pt_value *must(struct pt_value *v)
{
	if (!v) {
		fprintf(stderr, "allocation failed: %s\n", E.msg);
		exit(2);
	}
	return v;
}

static struct pt_value *vnew(enum pt_vkind k)
{
	return must(pt_value_new(&A, k, &E));
}

static struct pt_value *vint(int64_t i)
{
	return must(pt_value_int(&A, i, &E));
}

static struct pt_value *vstrn(const char *s, size_t n)
{
	return must(pt_value_str(&A, s, n, &E));
}

static struct pt_value *vstr(const char *s)
{
	return vstrn(s, strlen(s));
}

/* PT_V_BYTES or PT_V_BIGINT (kind) holding n raw bytes. */
static struct pt_value *vraw(enum pt_vkind kind, const void *p, size_t n)
{
	struct pt_value *v = vnew(kind);

	v->u.s.p = pt_arena_strndup(&A, p, n, &E);
	must(v->u.s.p ? v : NULL);
	v->u.s.len = n;
	return v;
}

static struct pt_value *vfloat(double f)
{
	struct pt_value *v = vnew(PT_V_FLOAT);

	v->u.f = f;
	return v;
}

static struct pt_value *vbool(bool b)
{
	struct pt_value *v = vnew(PT_V_BOOL);

	v->u.b = b;
	return v;
}

static struct pt_value *vglobal(const char *m, const char *n)
{
	struct pt_value *v = vnew(PT_V_GLOBAL);

	v->u.global.module = pt_arena_strndup(&A, m, strlen(m), &E);
	v->u.global.name = pt_arena_strndup(&A, n, strlen(n), &E);
	return v;
}

static void push(struct pt_value *seq, struct pt_value *v)
{
	if (pt_vseq_push(&A, &seq->u.seq, v, &E) < 0)
		must(NULL);
}

static struct pt_value *tuple(int n, ...)
{
	struct pt_value *t = vnew(PT_V_TUPLE);
	va_list ap;

	va_start(ap, n);
	while (n--)
		push(t, va_arg(ap, struct pt_value *));
	va_end(ap);
	return t;
}

static void dset(struct pt_value *d, struct pt_value *k, struct pt_value *v)
{
	if (pt_vdict_set(&A, &d->u.dict, k, v, &E) < 0)
		must(NULL);
}

static void dsets(struct pt_value *d, const char *k, struct pt_value *v)
{
	dset(d, vstr(k), v);
}

/* A float32 tensor of n elements without storage (the tree only points at it). */
static struct pt_value *vtensor(int64_t n)
{
	struct pt_value *v = vnew(PT_V_TENSOR);
	struct pt_tensor *t = pt_arena_alloc(&A, sizeof(*t), &E);

	must(t ? v : NULL);
	t->shape = pt_arena_alloc(&A, 2 * sizeof(int64_t), &E);
	must(t->shape ? v : NULL);
	t->stride = t->shape + 1;
	t->ndim = 1;
	t->shape[0] = n;
	t->stride[0] = 1;
	t->dtype = PT_DT_FLOAT32;
	t->numel = (uint64_t)n;
	t->nbytes = (uint64_t)n * 4;
	t->contiguous = true;
	t->type = "torch.Tensor";
	v->u.tensor = t;
	return v;
}

/* ---- repr ---- */

static const struct {
	double f;
	const char *repr;
} floats[] = {
	{ 0x0.0p+0, "0.0" },
	{ -0x0.0p+0, "-0.0" },
	{ 0x1.999999999999ap-4, "0.1" },
	{ 0x1.5555555555555p-2, "0.3333333333333333" },
	{ 0x1.1c37937e08000p+53, "1e+16" },
	{ 0x1.c6bf526340000p+49, "1000000000000000.0" },
	{ 0x1.b69b4ba630f35p+56, "1.2345678901234568e+17" },
	{ 0x1.a36e2eb1c432dp-14, "0.0001" },
	{ 0x1.4f8b588e368f1p-17, "1e-05" },
	{ 0x1.02c9dedbc309dp-13, "0.0001234" },
	{ 0x0.0000000000001p-1022, "5e-324" },
	{ 0x1.fffffffffffffp+1023, "1.7976931348623157e+308" },
	{ INFINITY, "inf" },
	{ -INFINITY, "-inf" },
	{ NAN, "nan" },
	{ 0x1.4000000000000p+1, "2.5" },
	{ 0x1.9000000000000p+6, "100.0" },
	{ 0x1.0f0cf064dd592p+73, "1e+22" },
	{ 0x1.0624dd2f1a9fcp-10, "0.001" },
	{ 0x1.0000000000000p-2, "0.25" },
	{ 0x1.56e1fc2f8f359p-997, "1e-300" },
	{ 0x1.ffc0000000000p+15, "65504.0" },
	{ -0x1.999999999999ap-4, "-0.1" },
	{ 0x1.0000000000000p+0, "1.0" },
	{ -0x1.0000000000000p+0, "-1.0" },
	{ 0x1.5555555555555p-1, "0.6666666666666666" },
	{ 0x1.3333333333334p-2, "0.30000000000000004" },
	{ 0x1.52d02c7e14af6p+76, "1e+23" },
	{ 0x1.0000000000000p+53, "9007199254740992.0" },
	{ 0x1.ad7f29abcaf48p-24, "1e-07" },
	{ 0x1.f75104d551d69p-17, "1.5e-05" },
	{ 0x1.1c37937e07fffp+53, "9999999999999998.0" },
	{ 0x1.edd2f1a9fbe77p+6, "123.456" },
	{ 0x1.921fb54442d18p+1, "3.141592653589793" },
	{ 0x1.5bf0a8b145769p+1, "2.718281828459045" },
	{ 0x1.249ad2594c37dp+332, "1e+100" },
	{ -0x1.bff2ee48e0530p-333, "-1e-100" },
	{ 0x1.0000000000000p-1022, "2.2250738585072014e-308" },
	{ 0x0.fffffffffffffp-1022, "2.225073858507201e-308" },
	{ 0x1.1ccf385ebc8a0p+1023, "1e+308" },
	{ 0x1.0000000000000p-1, "0.5" },
	{ 0x0.00000000007e8p-1022, "1e-320" },
	{ 0x1.78c29dccccccdp+23, "12345678.9" },
	{ 0x1.061e273273f09p-10, "0.0009999" },
	{ 0x1.18b54f22aeb00p+50, "1234567890123456.0" },
	{ 0x1.5ee2a2eb5a5c4p+53, "1.2345678901234568e+16" },
	{ 0x1.0000000000000p-126, "1.1754943508222875e-38" },
	{ 0x1.fffffe0000000p+127, "3.4028234663852886e+38" },
	{ 0x1.0000000000000p-14, "6.103515625e-05" },
	{ 0x1.3333333333333p-2, "0.3" },
	{ 0x1.c000000000000p+2, "7.0" },
	{ 0x1.4000000000000p+3, "10.0" },
	{ 0x1.0000000000001p+0, "1.0000000000000002" },
	{ 0x1.fffffffffffffp-1, "0.9999999999999999" },
	{ -0x0.0000000000001p-1022, "-5e-324" },
	{ 0x1.1666666666666p+2, "4.35" },
	{ 0x1.1eb851eb851ecp-4, "0.07" },
	{ 0x1.b7cdfd9d7bdbbp-34, "1e-10" },
	{ 0x1.a36e2eb1c432dp-15, "5e-05" },
	{ 0x1.86a0000000000p+16, "100000.0" },
	{ 0x1.b1ae4d6e2ef50p+69, "1e+21" },
	{ 0x1.aabdf2145b430p+66, "1.23e+20" },
	{ 0x1.9999999999999p-1, "0.7999999999999999" },
	{ -0x1.2a05f20000000p+32, "-5000000000.0" },
	{ 0x1.fffffffffffffp+52, "9007199254740991.0" },
};

static void test_repr_float(void)
{
	size_t i;
	char out[40];

	CHECK(sizeof(floats) / sizeof(floats[0]) >= 60);
	for (i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
		memset(out, 'X', sizeof(out));
		pt_repr_float(floats[i].f, out);
		CHECK_STR(out, floats[i].repr);
	}
	/* the same through pt_value_repr */
	CHECK_STR(pt_value_repr(&A, vfloat(0.1), &E), "0.1");
	CHECK_STR(pt_value_repr(&A, vfloat(-NAN), &E), "nan");
}

static void repr_is(const struct pt_value *v, const char *want)
{
	char *r = pt_value_repr(&A, v, &E);

	CHECK_STR(r, want);
}

static void test_repr_str(void)
{
	repr_is(vstr("abc"), "'abc'");
	repr_is(vstr(""), "''");
	repr_is(vstr("it's"), "\"it's\"");
	repr_is(vstr("say \"hi\""), "'say \"hi\"'");
	repr_is(vstr("both ' and \""), "'both \\' and \"'");
	repr_is(vstr("a\nb\tc\\d"), "'a\\nb\\tc\\\\d'");
	repr_is(vstrn("\0\x7f", 2), "'\\x00\\x7f'");
	repr_is(vstr("\r\x1b"), "'\\r\\x1b'");
	repr_is(vstr("h\xc3\xa9llo\xe2\x86\x92\xf0\x9f\x98\x80"),
		"'h\xc3\xa9llo\xe2\x86\x92\xf0\x9f\x98\x80'");
	repr_is(vstrn("a\0b", 3), "'a\\x00b'");

	/* bytes: the same quoting, \xNN for >= 0x80 */
	repr_is(vraw(PT_V_BYTES, "", 0), "b''");
	repr_is(vraw(PT_V_BYTES, "k", 1), "b'k'");
	repr_is(vraw(PT_V_BYTES, "it's", 4), "b\"it's\"");
	repr_is(vraw(PT_V_BYTES, "\0\x80\xff\n", 4), "b'\\x00\\x80\\xff\\n'");
	repr_is(vraw(PT_V_BYTES, "both ' \"", 8), "b'both \\' \"'");
	repr_is(vraw(PT_V_BYTES, "\xc3\xa9", 2), "b'\\xc3\\xa9'");
}

static void test_repr_numbers(void)
{
	static const unsigned char p70[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0x40 };
	static const unsigned char m70[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xc0 };
	static const unsigned char p63[] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0 };
	static const unsigned char m63m1[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff };
	static const unsigned char m63[] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
	static const unsigned char p30[] = { 0x00, 0x00, 0x00, 0x40, 0xea, 0xed, 0x74,
					     0x46, 0xd0, 0x9c, 0x2c, 0x9f, 0x0c };
	static const unsigned char m30[] = { 0x00, 0x00, 0x00, 0xc0, 0x15, 0x12, 0x8b,
					     0xb9, 0x2f, 0x63, 0xd3, 0x60, 0xf3 };
	static const unsigned char u64max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	static const unsigned char m1[] = { 0xff }, p255[] = { 0xff, 0 }, m256[] = { 0, 0xff };
	unsigned char p1024[129] = { 0 };

	repr_is(vint(0), "0");
	repr_is(vint(-1), "-1");
	repr_is(vint(INT64_MAX), "9223372036854775807");
	repr_is(vint(INT64_MIN), "-9223372036854775808");
	repr_is(vraw(PT_V_BIGINT, p70, sizeof(p70)), "1180591620717411303424");
	repr_is(vraw(PT_V_BIGINT, m70, sizeof(m70)), "-1180591620717411303424");
	repr_is(vraw(PT_V_BIGINT, p63, sizeof(p63)), "9223372036854775808");
	repr_is(vraw(PT_V_BIGINT, m63m1, sizeof(m63m1)), "-9223372036854775809");
	repr_is(vraw(PT_V_BIGINT, m63, sizeof(m63)), "-9223372036854775808");
	repr_is(vraw(PT_V_BIGINT, p30, sizeof(p30)), "1000000000000000000000000000000");
	repr_is(vraw(PT_V_BIGINT, m30, sizeof(m30)), "-1000000000000000000000000000000");
	repr_is(vraw(PT_V_BIGINT, u64max, sizeof(u64max)), "18446744073709551615");
	repr_is(vraw(PT_V_BIGINT, m1, 1), "-1");
	repr_is(vraw(PT_V_BIGINT, p255, 2), "255");
	repr_is(vraw(PT_V_BIGINT, m256, 2), "-256");
	repr_is(vraw(PT_V_BIGINT, "", 0), "0"); /* LONG1 with length 0 is 0 */
	p1024[128] = 1;
	repr_is(vraw(PT_V_BIGINT, p1024, sizeof(p1024)),
		"17976931348623159077293051907890247336179769789423065727343008115773267580"
		"55009631327084773224075360211201138798713933576587897688144166224928474306"
		"39474124377767893424865485276302219601246094119453082952085005768838150682"
		"342462881473913110540827237163350510684586298239947245938479716304835356329"
		"624224137216");

	repr_is(vbool(true), "True");
	repr_is(vbool(false), "False");
	repr_is(vnew(PT_V_NONE), "None");
}

static void test_repr_tuple(void)
{
	repr_is(tuple(1, vint(1)), "(1,)");
	repr_is(tuple(0), "()");
	repr_is(tuple(5, tuple(2, vint(1), vstr("a")), vnew(PT_V_NONE), vbool(true), tuple(0),
		      tuple(1, vfloat(2.5))),
		"((1, 'a'), None, True, (), (2.5,))");
	repr_is(tuple(2, vraw(PT_V_BYTES, "x", 1), vint(-3)), "(b'x', -3)");
	/* kinds without a key repr */
	CHECK(pt_value_repr(&A, vnew(PT_V_LIST), &E) == NULL);
	CHECK(pt_value_repr(&A, vnew(PT_V_DICT), &E) == NULL);
	CHECK(pt_value_repr(&A, tuple(1, vnew(PT_V_LIST)), &E) == NULL);
}

/*
 * CPython's str repr escapes characters that are not printable
 * (str.isprintable() is false): C1 controls as \xNN, U+00A0 as \xa0,
 * U+2028 as \u2028.
 */
static void test_repr_str_nonprintable(void)
{
	repr_is(vstr("\xc2\x85"), "'\\x85'");
	repr_is(vstr("\xc2\xa0"), "'\\xa0'");
	repr_is(vstr("\xe2\x80\xa8"), "'\\u2028'");
	/* Python 3.11's table (unicode.c): unassigned, private use, the last code point */
	repr_is(vstr("\xcd\xb8"), "'\\u0378'");
	repr_is(vstr("\xee\x80\x80"), "'\\ue000'");
	repr_is(vstr("\xf4\x8f\xbf\xbf"), "'\\U0010ffff'");
	repr_is(vstr("\xe2\x80\x8b"), "'\\u200b'");
	repr_is(vstr("\xf0\x9f\x98\x80"), "'\xf0\x9f\x98\x80'"); /* an emoji is printable */
	repr_is(vstr("\xc3\xbc"), "'\xc3\xbc'");
}

/* ---- JSON ---- */

static struct pt_value *json_ok(const char *text)
{
	struct pt_value *v = NULL;
	int rc;

	pt_error_clear(&E);
	rc = pt_json_parse(&A, text, strlen(text), &v, &E);
	CHECK_INT(rc, 0);
	if (rc < 0)
		fprintf(stderr, "  json %s: %s\n", text, E.msg);
	return rc < 0 ? NULL : v;
}

static void json_bad(const char *text, size_t len, enum pt_err code, const char *msg)
{
	struct pt_value *v = NULL;

	pt_error_clear(&E);
	CHECK_INT(pt_json_parse(&A, text, len, &v, &E), -1);
	CHECK_INT(E.code, code);
	CHECK_STR(E.msg, msg);
}

static void test_json(void)
{
	struct pt_value *v, *x;
	char deep[600];
	int i;

	v = json_ok(" {\"a\": [1, -2, 3.5, \"s\"], \"b\": {}, \"c\": [], \"t\": true,"
		    " \"f\": false, \"n\": null}\n");
	if (v) {
		CHECK_INT(v->kind, PT_V_DICT);
		CHECK_INT(v->u.dict.n, 6);
		CHECK_STR(v->u.dict.k[0]->u.s.p, "a");
		CHECK_STR(v->u.dict.k[5]->u.s.p, "n");
		x = pt_vdict_get_str(&v->u.dict, "a");
		CHECK(x && x->kind == PT_V_LIST && x->u.seq.n == 4);
		if (x && x->u.seq.n == 4) {
			CHECK_INT(x->u.seq.v[0]->kind, PT_V_INT);
			CHECK_INT(x->u.seq.v[0]->u.i, 1);
			CHECK_INT(x->u.seq.v[1]->u.i, -2);
			CHECK_INT(x->u.seq.v[2]->kind, PT_V_FLOAT);
			CHECK(x->u.seq.v[2]->u.f == 3.5);
			CHECK_INT(x->u.seq.v[3]->kind, PT_V_STR);
		}
		x = pt_vdict_get_str(&v->u.dict, "b");
		CHECK(x && x->kind == PT_V_DICT && x->u.dict.n == 0);
		x = pt_vdict_get_str(&v->u.dict, "c");
		CHECK(x && x->kind == PT_V_LIST && x->u.seq.n == 0);
		x = pt_vdict_get_str(&v->u.dict, "t");
		CHECK(x && x->kind == PT_V_BOOL && x->u.b);
		x = pt_vdict_get_str(&v->u.dict, "f");
		CHECK(x && x->kind == PT_V_BOOL && !x->u.b);
		x = pt_vdict_get_str(&v->u.dict, "n");
		CHECK(x && x->kind == PT_V_NONE);
	}

	/* escapes, \u, surrogate pairs joined into one 4-byte UTF-8 sequence */
	v = json_ok("\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\\u00e9\\u2192\\ud83d\\ude00\\u0000.\"");
	if (v) {
		static const char want[] = "q\"b\\s/n\nt\tr\rb\bf\f\xc3\xa9\xe2\x86\x92"
					   "\xf0\x9f\x98\x80\0.";

		CHECK_INT(v->kind, PT_V_STR);
		CHECK_INT(v->u.s.len, sizeof(want) - 1);
		CHECK(memcmp(v->u.s.p, want, sizeof(want) - 1) == 0);
	}
	v = json_ok("\"\xc3\xa9\""); /* raw UTF-8 passes through */
	CHECK(v && v->u.s.len == 2 && memcmp(v->u.s.p, "\xc3\xa9", 2) == 0);

	/* numbers: int when integral and in range, float otherwise */
	v = json_ok("0");
	CHECK(v && v->kind == PT_V_INT && v->u.i == 0);
	v = json_ok("-9223372036854775807");
	CHECK(v && v->kind == PT_V_INT && v->u.i == -INT64_MAX);
	v = json_ok("12345678901");
	CHECK(v && v->kind == PT_V_INT && v->u.i == 12345678901LL);
	v = json_ok("1e3");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == 1000.0);
	v = json_ok("-0.5E-2");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == -0.005);
	v = json_ok("2.0");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == 2.0);
	v = json_ok("123456789012345678901234567890");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == 1.2345678901234568e29);

	/* a duplicate key keeps its place and takes the later value */
	v = json_ok("{\"a\":1,\"b\":2,\"a\":3}");
	if (v) {
		CHECK_INT(v->u.dict.n, 2);
		CHECK_STR(v->u.dict.k[0]->u.s.p, "a");
		CHECK_INT(v->u.dict.v[0]->u.i, 3);
	}

	/* 256 levels of nesting are fine, 257 and more are refused */
	for (i = 0; i < 257; i++) {
		deep[i] = '[';
		deep[257 + i] = ']';
	}
	deep[514] = '\0';
	CHECK(json_ok(deep) != NULL);
	for (i = 0; i < 258; i++) {
		deep[i] = '[';
		deep[258 + i] = ']';
	}
	deep[516] = '\0';
	json_bad(deep, 516, PT_ERR_LIMIT, "JSON: nesting deeper than 256 levels");

	/* malformed text: each message names the offset and the problem */
	json_bad("", 0, PT_ERR_FORMAT, "JSON: offset 0: unexpected end of text");
	json_bad("   ", 3, PT_ERR_FORMAT, "JSON: offset 3: unexpected end of text");
	json_bad("{", 1, PT_ERR_FORMAT, "JSON: offset 1: expected a string key");
	json_bad("{\"a\" 1}", 7, PT_ERR_FORMAT, "JSON: offset 5: expected ':'");
	json_bad("{\"a\":1,}", 8, PT_ERR_FORMAT, "JSON: offset 7: expected a string key");
	json_bad("{\"a\":1 \"b\":2}", 13, PT_ERR_FORMAT, "JSON: offset 7: expected ',' or '}'");
	json_bad("{1:2}", 5, PT_ERR_FORMAT, "JSON: offset 1: expected a string key");
	json_bad("{\"a\":}", 6, PT_ERR_FORMAT, "JSON: offset 5: unexpected character");
	json_bad("[1 2]", 5, PT_ERR_FORMAT, "JSON: offset 3: expected ',' or ']'");
	json_bad("[1,", 3, PT_ERR_FORMAT, "JSON: offset 3: unexpected end of text");
	json_bad("[", 1, PT_ERR_FORMAT, "JSON: offset 1: unexpected end of text");
	json_bad("tru", 3, PT_ERR_FORMAT, "JSON: offset 0: unexpected character");
	json_bad("nul", 3, PT_ERR_FORMAT, "JSON: offset 0: unexpected character");
	json_bad("falsy", 5, PT_ERR_FORMAT, "JSON: offset 0: unexpected character");
	json_bad("\"abc", 4, PT_ERR_FORMAT, "JSON: offset 4: unterminated string");
	json_bad("\"a\x01\"", 4, PT_ERR_FORMAT, "JSON: offset 2: control character in string");
	json_bad("\"a\nb\"", 5, PT_ERR_FORMAT, "JSON: offset 2: control character in string");
	json_bad("\"\\q\"", 4, PT_ERR_FORMAT, "JSON: offset 2: bad escape");
	json_bad("\"\\u12G4\"", 8, PT_ERR_FORMAT, "JSON: offset 2: bad \\u escape");
	json_bad("\"\\u12\"", 6, PT_ERR_FORMAT, "JSON: offset 2: bad \\u escape");
	json_bad("1 2", 3, PT_ERR_FORMAT, "JSON: offset 2: text after the value");
	json_bad("{} x", 4, PT_ERR_FORMAT, "JSON: offset 3: text after the value");
	json_bad("-", 1, PT_ERR_FORMAT, "JSON: offset 1: bad number");
	json_bad("1e", 2, PT_ERR_FORMAT, "JSON: offset 2: bad number");
	json_bad("1-2", 3, PT_ERR_FORMAT, "JSON: offset 1: text after the value");
	json_bad("@", 1, PT_ERR_FORMAT, "JSON: offset 0: unexpected character");
	json_bad("[1]\0", 4, PT_ERR_FORMAT, "JSON: offset 3: text after the value");
}

/* Strict RFC 8259 numbers: what Python's json.loads refuses is refused. */
static void test_json_lenient_numbers(void)
{
	struct pt_value *v;
	static const char *const bad[] = { "01", "+1", ".5", "1.", "1.e5", "-01" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = NULL;
		pt_error_clear(&E);
		CHECK_INT(pt_json_parse(&A, bad[i], strlen(bad[i]), &v, &E), -1);
		CHECK_INT(E.code, PT_ERR_FORMAT);
	}
}

/* ---- tree ---- */

static struct pt_tree *build(struct pt_value *root)
{
	struct pt_tree *t;

	pt_error_clear(&E);
	t = pt_tree_build(root, NULL, &E);
	CHECK(t != NULL);
	if (!t)
		fprintf(stderr, "  pt_tree_build: %s\n", E.msg);
	return t;
}

static void check_key(const struct pt_node *n, const char *want)
{
	char *key = pt_node_key(n);

	CHECK_STR(key, want);
	free(key);
}

static struct pt_node *root_of(struct pt_tree *t)
{
	return pt_tree_node(t, 1);
}

/* The node at a '/'-separated path from dir; NULL when any part is missing. */
static struct pt_node *at(struct pt_tree *t, struct pt_node *dir, const char *path)
{
	char buf[1024], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, "/", &save); part && dir; part = strtok_r(NULL, "/", &save))
		dir = pt_tree_lookup(t, dir, part);
	return dir;
}

/* Checks a node: kind, type, key. */
static struct pt_node *node_is(struct pt_tree *t, const char *path, enum pt_node_kind kind,
			       const char *type, const char *key)
{
	struct pt_node *n = at(t, root_of(t), path);

	CHECK(n != NULL);
	if (!n) {
		fprintf(stderr, "  no node %s\n", path);
		return NULL;
	}
	CHECK_INT(n->kind, kind);
	CHECK_STR(n->type, type);
	check_key(n, key);
	return n;
}

/* A PT_NODE_DATA (or LINK) with exactly this content. */
static void data_is(struct pt_tree *t, const char *path, const char *type, const char *key,
		    const char *content, size_t len)
{
	struct pt_node *n = node_is(t, path, PT_NODE_DATA, type, key);

	if (!n)
		return;
	CHECK_INT(n->u.data.len, len);
	CHECK_INT(pt_node_size(n), len);
	CHECK(n->u.data.len == len && memcmp(n->u.data.p, content, len) == 0);
}

static void text_is(struct pt_tree *t, const char *path, const char *type, const char *key,
		    const char *content)
{
	data_is(t, path, type, key, content, strlen(content));
}

static void link_is(struct pt_tree *t, const char *path, const char *type, const char *key,
		    const char *target)
{
	struct pt_node *n = node_is(t, path, PT_NODE_LINK, type, key);

	if (!n)
		return;
	CHECK_STR(n->u.data.p, target);
	CHECK_INT(pt_node_size(n), strlen(target));
}

static void test_tree_basics(void)
{
	struct pt_value *root = vnew(PT_V_DICT), *sub = vnew(PT_V_DICT);
	struct pt_tree *t;
	struct pt_node *r, *ctl, *n;

	root->type = "collections.OrderedDict";
	dsets(root, "i", vint(12));
	dsets(root, "f", vfloat(0x1.56e1fc2f8f359p-997));
	dsets(root, "inf", vfloat(INFINITY));
	dsets(root, "b", vbool(true));
	dsets(root, "none", vnew(PT_V_NONE));
	dsets(root, "s", vstr("h\xc3\xa9llo\nworld"));
	dsets(root, "empty", vstr(""));
	dsets(root, "raw", vraw(PT_V_BYTES, "\0\x01\xff", 3));
	dsets(root, "ba", vraw(PT_V_BYTEARRAY, "xy", 2));
	dsets(root, "big", vraw(PT_V_BIGINT, "\0\0\0\0\0\0\0\0\x40", 9));
	dsets(root, "dt", vglobal("torch", "float32"));
	dsets(root, "fn", vglobal("os", "system"));
	dsets(root, "sub", sub);
	dset(sub, vstr(".ptfs"), vint(1)); /* an empty first part: escaped anywhere */
	t = build(root);
	if (!t)
		return;
	r = root_of(t);
	CHECK_INT(r->ino, 1);
	CHECK(r->parent == r);
	CHECK_INT(r->kind, PT_NODE_DIR);
	CHECK_STR(r->type, "collections.OrderedDict");
	check_key(r, "");
	ctl = pt_tree_ctl_dir(t);
	CHECK_INT(ctl->ino, 2);
	CHECK(pt_tree_node(t, 2) == ctl);
	CHECK(pt_tree_lookup(t, r, ".ptfs") == ctl);
	CHECK_STR(ctl->name, ".ptfs");
	CHECK_STR(ctl->type, "ptfs.control");
	CHECK_INT(ctl->kind, PT_NODE_DIR);
	CHECK(r->u.dir.first == ctl);
	CHECK_INT(r->u.dir.n, 14);
	CHECK(pt_tree_node(t, 0) == NULL);
	CHECK(pt_tree_node(t, t->nnodes) != NULL);
	CHECK(pt_tree_node(t, t->nnodes + 1) == NULL);
	CHECK_INT(pt_node_size(r), 0);

	text_is(t, "i", "int", "['i']", "12\n");
	text_is(t, "f", "float", "['f']", "1e-300\n");
	text_is(t, "inf", "float", "['inf']", "inf\n");
	text_is(t, "b", "bool", "['b']", "True\n");
	text_is(t, "none", "NoneType", "['none']", "None\n");
	text_is(t, "s", "str", "['s']", "h\xc3\xa9llo\nworld\n");
	text_is(t, "empty", "str", "['empty']", "\n");
	data_is(t, "raw", "bytes", "['raw']", "\0\x01\xff", 3);
	data_is(t, "ba", "bytearray", "['ba']", "xy", 2);
	text_is(t, "big", "int", "['big']", "1180591620717411303424\n");
	text_is(t, "dt", "torch.dtype", "['dt']", "torch.float32\n");
	text_is(t, "fn", "ptfs.global", "['fn']", "os.system\n");
	node_is(t, "sub", PT_NODE_DIR, "dict", "['sub']");
	text_is(t, "sub/%'.ptfs'", "int", "['sub']['.ptfs']", "1\n");

	/* pickle order, .ptfs first */
	n = r->u.dir.first->next;
	CHECK(n && !strcmp(n->name, "i"));
	CHECK(r->u.dir.last && !strcmp(r->u.dir.last->name, "sub"));
	/* lookups are per directory and need a directory */
	CHECK(pt_tree_lookup(t, r, "nope") == NULL);
	CHECK(pt_tree_lookup(t, ctl, "i") == NULL);
	CHECK(pt_tree_lookup(t, at(t, r, "i"), "x") == NULL);

	/* special files under .ptfs */
	n = pt_tree_add_special(t, ctl, "control", 7, &E);
	CHECK(n != NULL);
	CHECK(pt_tree_lookup(t, ctl, "control") == n);
	if (n) {
		CHECK_INT(n->kind, PT_NODE_SPECIAL);
		CHECK_INT(n->u.special, 7);
		CHECK(n->parent == ctl);
		CHECK(pt_tree_node(t, n->ino) == n);
	}
	pt_tree_free(t);
}

static void test_tree_dotted(void)
{
	struct pt_value *root = vnew(PT_V_DICT), *w = vtensor(12);
	struct pt_tree *t;
	struct pt_node *n;

	dsets(root, "a.b.c", vint(1));
	dsets(root, "a.b.d", w);
	dsets(root, "a.e", w);   /* tied: a second file, not a link */
	dsets(root, "x", vtensor(3)); /* x is a file ... */
	dsets(root, "x.y", vint(2));  /* ... so x.y cannot be x/y */
	dsets(root, "p.q", vint(3));  /* p is a prefix dir ... */
	dsets(root, "p", vint(4));    /* ... so the key 'p' is escaped */
	dsets(root, "3", vstr("three"));
	dset(root, vint(3), vstr("int three"));
	dset(root, vint(7), vstr("seven"));
	dset(root, vint(-5), vint(-5));
	dsets(root, "7", vstr("str seven"));
	/* a prefix met again after another one, and names that start alike */
	dsets(root, "m.x", vint(10));
	dsets(root, "n.y", vint(11));
	dsets(root, "m.z", vint(12));
	dsets(root, "mm.w", vint(13));
	dsets(root, "m.zz", vint(14));
	t = build(root);
	if (!t)
		return;
	n = node_is(t, "m", PT_NODE_DIR, "ptfs.prefix", "['m.*']");
	CHECK(n && n->u.dir.n == 3);
	text_is(t, "m/x", "int", "['m.x']", "10\n");
	text_is(t, "m/z", "int", "['m.z']", "12\n");
	text_is(t, "m/zz", "int", "['m.zz']", "14\n");
	text_is(t, "n/y", "int", "['n.y']", "11\n");
	n = node_is(t, "mm", PT_NODE_DIR, "ptfs.prefix", "['mm.*']");
	CHECK(n && n->u.dir.n == 1);
	text_is(t, "mm/w", "int", "['mm.w']", "13\n");
	n = node_is(t, "a", PT_NODE_DIR, "ptfs.prefix", "['a.*']");
	CHECK(n && n->u.dir.prefix);
	n = node_is(t, "a/b", PT_NODE_DIR, "ptfs.prefix", "['a.b.*']");
	CHECK(n && n->u.dir.prefix && n->u.dir.n == 2);
	text_is(t, "a/b/c", "int", "['a.b.c']", "1\n");
	n = node_is(t, "a/b/d", PT_NODE_TENSOR, "torch.Tensor", "['a.b.d']");
	CHECK(n && n->u.tensor == w->u.tensor && pt_node_size(n) == 48);
	n = node_is(t, "a/e", PT_NODE_TENSOR, "torch.Tensor", "['a.e']");
	CHECK(n && n->u.tensor == w->u.tensor);
	CHECK_INT(t->ntensors, 3);

	node_is(t, "x", PT_NODE_TENSOR, "torch.Tensor", "['x']");
	text_is(t, "%'x.y'", "int", "['x.y']", "2\n");
	CHECK(at(t, root_of(t), "x/y") == NULL);
	node_is(t, "p", PT_NODE_DIR, "ptfs.prefix", "['p.*']");
	text_is(t, "p/q", "int", "['p.q']", "3\n");
	text_is(t, "%'p'", "int", "['p']", "4\n");

	text_is(t, "3", "str", "['3']", "three\n");
	text_is(t, "%3", "str", "[3]", "int three\n");
	text_is(t, "7", "str", "[7]", "seven\n");
	text_is(t, "%'7'", "str", "['7']", "str seven\n");
	text_is(t, "-5", "int", "[-5]", "-5\n");
	pt_tree_free(t);
}

static void test_tree_escapes(void)
{
	struct pt_value *root = vnew(PT_V_DICT), *k2;
	char longkey[301], dotted[310];
	struct pt_tree *t;
	struct pt_node *n;
	size_t i;

	memset(longkey, 'x', 300);
	longkey[300] = '\0';
	snprintf(dotted, sizeof(dotted), "a.%s", longkey);
	dsets(root, "", vint(0));
	dsets(root, ".ptfs", vint(1));
	dsets(root, "%x", vint(2));
	dsets(root, "x/y", vint(3));
	dsets(root, "a..b", vint(4));
	dsets(root, ".", vint(5));
	dsets(root, "..", vint(6));
	dsets(root, "a.", vint(7));
	dset(root, vstrn("n\0ul", 4), vint(8));
	dsets(root, longkey, vint(9));
	dsets(root, dotted, vint(10));
	dset(root, tuple(2, vint(1), vstr("a")), vint(11));
	dset(root, vnew(PT_V_NONE), vint(12));
	dset(root, vfloat(0.5), vint(13));
	dset(root, vbool(true), vint(14));
	dset(root, vraw(PT_V_BYTES, "k", 1), vint(15));
	dset(root, vraw(PT_V_BIGINT, "\0\0\0\0\0\0\0\0\x40", 9), vint(16));
	dsets(root, "ok.%p", vint(17));
	dsets(root, "100%/", vint(18));
	dset(root, vstr("it's"), vint(19));
	/* a second '' key (a dict filled by hand): the clash gets ~1 */
	k2 = vstr("dup");
	dset(root, k2, vint(20));
	root->u.dict.k[root->u.dict.n - 1] = vstr("");
	t = build(root);
	if (!t)
		return;
	text_is(t, "%''", "int", "['']", "0\n");
	text_is(t, "%'.ptfs'", "int", "['.ptfs']", "1\n");
	CHECK(pt_tree_lookup(t, root_of(t), ".ptfs") == pt_tree_ctl_dir(t));
	text_is(t, "%'%25x'", "int", "['%x']", "2\n");
	CHECK(pt_tree_lookup(t, root_of(t), "%'x%2Fy'") != NULL);
	n = pt_tree_lookup(t, root_of(t), "%'x%2Fy'");
	CHECK(n != NULL);
	if (n)
		check_key(n, "['x/y']");
	text_is(t, "%'a..b'", "int", "['a..b']", "4\n");
	text_is(t, "%'.'", "int", "['.']", "5\n");
	text_is(t, "%'..'", "int", "['..']", "6\n");
	text_is(t, "%'a.'", "int", "['a.']", "7\n");
	text_is(t, "%'n\\x00ul'", "int", "['n\\x00ul']", "8\n");
	text_is(t, "%(1, 'a')", "int", "[(1, 'a')]", "11\n");
	text_is(t, "%None", "int", "[None]", "12\n");
	text_is(t, "%0.5", "int", "[0.5]", "13\n");
	text_is(t, "%True", "int", "[True]", "14\n");
	text_is(t, "%b'k'", "int", "[b'k']", "15\n");
	text_is(t, "%1180591620717411303424", "int", "[1180591620717411303424]", "16\n");
	text_is(t, "%'ok.%25p'", "int", "['ok.%p']", "17\n");
	text_is(t, "%'100%25%2F'", "int", "['100%/']", "18\n");
	text_is(t, "it's", "int", "[\"it's\"]", "19\n");
	text_is(t, "%''~1", "int", "['']", "20\n");
	/* 'a' was made as a prefix dir by 'a..b'? no: escaped keys make no dirs */
	CHECK(pt_tree_lookup(t, root_of(t), "a") == NULL);

	/* long names: cut to 200 bytes + '~' + 16 hex digits; the key stays whole */
	for (n = root_of(t)->u.dir.first; n; n = n->next) {
		CHECK(strlen(n->name) <= 255);
		if (!strncmp(n->name, "%'xxx", 5) || !strncmp(n->name, "%'a.xxx", 7)) {
			size_t len = strlen(n->name);
			bool hex = true;

			CHECK_INT(len, 217);
			CHECK_INT(n->name[200], '~');
			for (i = 201; i < len; i++)
				hex = hex && strchr("0123456789abcdef", n->name[i]);
			CHECK(hex);
			char *key = pt_node_key(n);

			CHECK(key && strlen(key) == (n->name[3] == '.' ? 306u : 304u));
			CHECK(key && strstr(key, longkey) != NULL);
			free(key);
		}
	}
	{
		unsigned found = 0;
		const struct pt_node *a = NULL, *b = NULL;

		for (n = root_of(t)->u.dir.first; n; n = n->next) {
			if (strlen(n->name) == 217) {
				found++;
				if (!a)
					a = n;
				else
					b = n;
			}
		}
		CHECK_INT(found, 2);
		CHECK(a && b && strcmp(a->name, b->name) != 0);
		CHECK(a && pt_tree_lookup(t, root_of(t), a->name) == a);
	}
	pt_tree_free(t);
}

/*
 * Issue 12, part 4: a key holding a character that repr() escapes (C0
 * controls, DEL, C1, U+2028, format and unassigned code points) is never a
 * name as it is: a newline in a name breaks `find | while read`. It is
 * escaped whole, dotted or not; the names are the reprs CPython 3.11 prints.
 */
static void test_tree_controls(void)
{
	struct pt_value *root = vnew(PT_V_DICT), *obj = vnew(PT_V_OBJECT), *st = vnew(PT_V_DICT);
	struct pt_tree *t;
	struct pt_node *n;

	dsets(root, "nl\nkey", vint(0));
	dsets(root, "tab\there", vint(1));
	dsets(root, "x\x01y", vint(2));
	dsets(root, "del\x7f", vint(3));
	dsets(root, "a.b\nc", vint(4));
	dsets(root, "c1\xc2\x85", vint(5));
	dsets(root, "ls\xe2\x80\xa8", vint(6));
	dsets(root, "zw\xe2\x80\x8b", vint(7));
	dsets(root, "un\xcd\xb8", vint(8));
	dsets(root, "\xc3\xbc" "n.c\xc3\xb6" "d", vint(9)); /* printable: split as before */
	dset(root, vraw(PT_V_BYTES, "b\n", 2), vint(10));
	dset(root, tuple(2, vstr("t\tx"), vint(1)), vint(11));
	dsets(root, "cr\r.it's", vint(12));
	obj->u.obj.callable = vglobal("argparse", "Namespace");
	obj->u.obj.args = tuple(0);
	obj->u.obj.state = st;
	obj->u.obj.how = 0x81;
	dsets(st, "a\nb", vint(13));
	dsets(st, "ok", vint(14));
	dsets(root, "ns", obj);
	t = build(root);
	if (!t)
		return;
	text_is(t, "%'nl\\nkey'", "int", "['nl\\nkey']", "0\n");
	text_is(t, "%'tab\\there'", "int", "['tab\\there']", "1\n");
	text_is(t, "%'x\\x01y'", "int", "['x\\x01y']", "2\n");
	text_is(t, "%'del\\x7f'", "int", "['del\\x7f']", "3\n");
	text_is(t, "%'a.b\\nc'", "int", "['a.b\\nc']", "4\n");
	CHECK(pt_tree_lookup(t, root_of(t), "a") == NULL); /* escaped whole, no prefix dir */
	text_is(t, "%'c1\\x85'", "int", "['c1\\x85']", "5\n");
	text_is(t, "%'ls\\u2028'", "int", "['ls\\u2028']", "6\n");
	text_is(t, "%'zw\\u200b'", "int", "['zw\\u200b']", "7\n");
	text_is(t, "%'un\\u0378'", "int", "['un\\u0378']", "8\n");
	text_is(t, "\xc3\xbc" "n/c\xc3\xb6" "d", "int", "['\xc3\xbc" "n.c\xc3\xb6" "d']", "9\n");
	text_is(t, "%b'b\\n'", "int", "[b'b\\n']", "10\n");
	text_is(t, "%('t\\tx', 1)", "int", "[('t\\tx', 1)]", "11\n");
	text_is(t, "%\"cr\\r.it's\"", "int", "[\"cr\\r.it's\"]", "12\n");
	text_is(t, "ns/%'a\\nb'", "int", "['ns'].__dict__['a\\nb']", "13\n");
	text_is(t, "ns/ok", "int", "['ns'].ok", "14\n");
	/* no name anywhere holds a byte below 0x20 or DEL */
	for (n = root_of(t)->u.dir.first; n; n = n->next) {
		const char *c;

		for (c = n->name; *c; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	pt_tree_free(t);
}

static void test_tree_seq_and_root(void)
{
	struct pt_value *l = vnew(PT_V_LIST), *s = vnew(PT_V_SET), *tu = tuple(0);
	struct pt_tree *t;

	push(l, vint(10));
	push(l, vstr("x"));
	push(l, vraw(PT_V_BYTES, "\0\x01", 2));
	push(l, s);
	push(l, tu);
	push(s, vint(1));
	push(tu, vfloat(2.5));
	t = build(l);
	if (t) {
		CHECK_STR(root_of(t)->type, "list");
		text_is(t, "0", "int", "[0]", "10\n");
		text_is(t, "1", "str", "[1]", "x\n");
		data_is(t, "2", "bytes", "[2]", "\0\x01", 2);
		node_is(t, "3", PT_NODE_DIR, "set", "[3]");
		text_is(t, "3/0", "int", "[3][0]", "1\n");
		node_is(t, "4", PT_NODE_DIR, "tuple", "[4]");
		text_is(t, "4/0", "float", "[4][0]", "2.5\n");
		CHECK(pt_tree_lookup(t, root_of(t), "5") == NULL);
		pt_tree_free(t);
	}

	/* a root that is not a container is shown as `value` */
	t = build(vint(7));
	if (t) {
		CHECK_STR(root_of(t)->type, "ptfs.root");
		CHECK_INT(root_of(t)->u.dir.n, 2);
		text_is(t, "value", "int", "", "7\n");
		pt_tree_free(t);
	}
	t = build(vtensor(5));
	if (t) {
		node_is(t, "value", PT_NODE_TENSOR, "torch.Tensor", "");
		CHECK_INT(t->ntensors, 1);
		pt_tree_free(t);
	}
}

static void test_tree_links(void)
{
	struct pt_value *root = vnew(PT_V_DICT), *d = vnew(PT_V_DICT), *n1 = vnew(PT_V_DICT);
	struct pt_value *deep = vnew(PT_V_DICT), *l = vnew(PT_V_LIST), *self = vnew(PT_V_LIST);
	struct pt_tree *t;

	dsets(d, "w", vint(1));
	dsets(root, "m", d);
	dsets(root, "same", d);
	dsets(n1, "o", d);
	dsets(root, "n", n1);
	dsets(deep, "y", l);
	dsets(root, "x.deep", deep);
	dsets(root, "z", l);
	dsets(root, "me", root);
	push(self, self);
	push(self, d);
	dsets(root, "self", self);
	t = build(root);
	if (!t)
		return;
	node_is(t, "m", PT_NODE_DIR, "dict", "['m']");
	text_is(t, "m/w", "int", "['m']['w']", "1\n");
	link_is(t, "same", "dict", "['same']", "m");
	link_is(t, "n/o", "dict", "['n']['o']", "../m");
	node_is(t, "x/deep/y", PT_NODE_DIR, "list", "['x.deep']['y']");
	link_is(t, "z", "list", "['z']", "x/deep/y");
	link_is(t, "me", "dict", "['me']", ".");
	node_is(t, "self", PT_NODE_DIR, "list", "['self']");
	link_is(t, "self/0", "list", "['self'][0]", ".");
	link_is(t, "self/1", "dict", "['self'][1]", "../m");
	CHECK(at(t, root_of(t), "same/w") == NULL); /* a link, not a copy */
	pt_tree_free(t);

	/* a list containing itself as the root */
	self = vnew(PT_V_LIST);
	push(self, vint(1));
	push(self, self);
	t = build(self);
	if (t) {
		link_is(t, "1", "list", "[1]", ".");
		pt_tree_free(t);
	}

	/* an inner dict pointing back two levels up */
	root = vnew(PT_V_DICT);
	d = vnew(PT_V_DICT);
	n1 = vnew(PT_V_DICT);
	dsets(root, "a", d);
	dsets(d, "b", n1);
	dsets(n1, "up", root);
	dsets(n1, "mid", d);
	t = build(root);
	if (t) {
		link_is(t, "a/b/up", "dict", "['a']['b']['up']", "../..");
		link_is(t, "a/b/mid", "dict", "['a']['b']['mid']", "..");
		pt_tree_free(t);
	}
}

static struct pt_value *nest_lists(int n)
{
	struct pt_value *top = vnew(PT_V_LIST), *cur = top;
	int i;

	for (i = 1; i < n; i++) {
		struct pt_value *x = vnew(PT_V_LIST);

		push(cur, x);
		cur = x;
	}
	push(cur, vint(0));
	return top;
}

static void test_tree_limits(void)
{
	struct pt_tree_limits lim = { .max_depth = 5, .max_nodes = 1 << 20 };
	struct pt_value *root;
	struct pt_tree *t;
	char name[32];
	int i;

	/* 1100 nested lists: refused */
	pt_error_clear(&E);
	t = pt_tree_build(nest_lists(1100), NULL, &E);
	CHECK(t == NULL);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	CHECK_STR(E.msg, "the object nests deeper than 1000 levels");
	pt_tree_free(t);

	/* 1000 nested lists: fine (the root's items are level 1, the int level 1000) */
	t = build(nest_lists(1000));
	pt_tree_free(t);
	pt_error_clear(&E);
	t = pt_tree_build(nest_lists(1001), NULL, &E);
	CHECK(t == NULL);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	pt_tree_free(t);

	/* the boundary with a small limit: the root's items are at depth 1 */
	pt_error_clear(&E);
	t = pt_tree_build(nest_lists(5), &lim, &E);
	CHECK(t != NULL);
	pt_tree_free(t);
	pt_error_clear(&E);
	t = pt_tree_build(nest_lists(6), &lim, &E);
	CHECK(t == NULL);
	CHECK_STR(E.msg, "the object nests deeper than 5 levels");
	pt_tree_free(t);

	/* five dotted levels fit a limit of 5 */
	root = vnew(PT_V_DICT);
	dsets(root, "a.b.c.d.e", vint(1));
	pt_error_clear(&E);
	t = pt_tree_build(root, &lim, &E);
	CHECK(t != NULL);
	pt_tree_free(t);

	/* the node limit counts the root and .ptfs */
	lim.max_depth = 1000;
	lim.max_nodes = 5;
	root = vnew(PT_V_LIST);
	push(root, vint(1));
	push(root, vint(2));
	push(root, vint(3));
	pt_error_clear(&E);
	t = pt_tree_build(root, &lim, &E);
	CHECK(t != NULL);
	pt_tree_free(t);
	push(root, vint(4));
	pt_error_clear(&E);
	t = pt_tree_build(root, &lim, &E);
	CHECK(t == NULL);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	CHECK_STR(E.msg, "the tree would exceed 5 entries");
	pt_tree_free(t);

	/* many entries: the lookup table grows and every name is still found */
	root = vnew(PT_V_DICT);
	for (i = 0; i < 5000; i++)
		dset(root, vint(i), vint(i * 2));
	t = build(root);
	if (t) {
		bool all = true;

		for (i = 0; i < 5000; i++) {
			struct pt_node *n;

			snprintf(name, sizeof(name), "%d", i);
			n = pt_tree_lookup(t, root_of(t), name);
			snprintf(name, sizeof(name), "%d\n", i * 2);
			all = all && n && n->u.data.len == strlen(name) &&
			      !memcmp(n->u.data.p, name, n->u.data.len);
			all = all && n && pt_tree_node(t, n->ino) == n;
		}
		CHECK(all);
		CHECK_INT(t->nnodes, 5002);
		pt_tree_free(t);
	}
}

/*
 * A dotted key counts one level per part; a key that would nest past the
 * depth limit, or is longer than 4096 bytes, is not split but stays one
 * escaped entry, so a hostile 40,000-part key costs O(n), not O(n^2).
 */
static void test_tree_dotted_depth(void)
{
	struct pt_tree_limits lim = { .max_depth = 5, .max_nodes = 1 << 20 };
	struct pt_value *root;
	struct pt_tree *t;
	static char key[80002];
	int i;

	root = vnew(PT_V_DICT);
	dsets(root, "a.b.c.d", vint(1));   /* leaf at depth 1 + 3 = 4: split */
	dsets(root, "p.q.r.s.t.u", vint(2)); /* would reach depth 6: escaped */
	pt_error_clear(&E);
	t = pt_tree_build(root, &lim, &E);
	CHECK(t != NULL);
	if (t) {
		text_is(t, "a/b/c/d", "int", "['a.b.c.d']", "1\n");
		text_is(t, "%'p.q.r.s.t.u'", "int", "['p.q.r.s.t.u']", "2\n");
		CHECK(pt_tree_lookup(t, root_of(t), "p") == NULL);
	}
	pt_tree_free(t);

	for (i = 0; i < 40000; i++) {
		key[2 * i] = 'a';
		key[2 * i + 1] = '.';
	}
	key[80000] = 'b';
	key[80001] = '\0';
	root = vnew(PT_V_DICT);
	dsets(root, key, vint(1));
	pt_error_clear(&E);
	t = pt_tree_build(root, NULL, &E);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(t->nnodes, 3); /* the root, .ptfs and one escaped entry */
		CHECK_INT(t->nodes[2]->kind, PT_NODE_DATA);
		CHECK(t->nodes[2]->name[0] == '%' && strlen(t->nodes[2]->name) <= 255);
	}
	pt_tree_free(t);
}

static void test_tree_objects(void)
{
	struct pt_value *obj = vnew(PT_V_OBJECT), *st = vnew(PT_V_DICT), *root = vnew(PT_V_DICT);
	struct pt_value *ns = vnew(PT_V_OBJECT);
	struct pt_tree *t;

	obj->u.obj.callable = vglobal("argparse", "Namespace");
	obj->u.obj.args = tuple(0);
	obj->u.obj.state = st;
	obj->u.obj.how = 0x81;
	dsets(st, "lr", vfloat(0.001));
	dsets(st, "not id", vint(1));
	dsets(st, ".ptfs", vint(2)); /* attribute names are not split: plain below the root */
	dsets(root, "args", obj);
	ns->u.obj.callable = vglobal("builtins", "complex");
	ns->u.obj.args = tuple(2, vfloat(1.0), vfloat(2.0));
	ns->u.obj.how = 'R';
	dsets(root, "c", ns);
	t = build(root);
	if (!t)
		return;
	node_is(t, "args", PT_NODE_DIR, "argparse.Namespace", "['args']");
	text_is(t, "args/lr", "float", "['args'].lr", "0.001\n");
	text_is(t, "args/not id", "int", "['args'].__dict__['not id']", "1\n");
	text_is(t, "args/.ptfs", "int", "['args'].__dict__['.ptfs']", "2\n");
	text_is(t, "c", "complex", "['c']", "(1+2j)\n"); /* repr(), not its arguments */
	pt_tree_free(t);

	/* the same object as the root: '.ptfs' is reserved there */
	t = build(obj);
	if (!t)
		return;
	CHECK_STR(root_of(t)->type, "argparse.Namespace");
	CHECK(pt_tree_lookup(t, root_of(t), ".ptfs") == pt_tree_ctl_dir(t));
	text_is(t, "%'.ptfs'", "int", ".__dict__['.ptfs']", "2\n");
	text_is(t, "lr", "float", ".lr", "0.001\n");
	pt_tree_free(t);
}

/*
 * Issue 12, part 9: torch.jit.load gives a RecursiveScriptModule, whose
 * attributes are not in __dict__; a TorchScript object's attribute that is
 * no identifier ('0' of a Sequential) is keyed .__getattr__('0'). Keywords
 * are no identifiers either (`.class` does not parse).
 */
static void test_tree_script_keys(void)
{
	struct pt_value *m = vnew(PT_V_OBJECT), *st = vnew(PT_V_DICT), *seq = vnew(PT_V_OBJECT);
	struct pt_value *sst = vnew(PT_V_DICT), *lin = vnew(PT_V_OBJECT), *lst = vnew(PT_V_DICT);
	struct pt_value *ns = vnew(PT_V_OBJECT), *nst = vnew(PT_V_DICT), *root = vnew(PT_V_DICT);
	struct pt_tree *t;

	m->u.obj.callable = vglobal("__torch__", "M");
	m->u.obj.state = st;
	m->u.obj.how = 0x81;
	seq->u.obj.callable = vglobal("__torch__.torch.nn.modules.container", "Sequential");
	seq->u.obj.state = sst;
	seq->u.obj.how = 0x81;
	lin->u.obj.callable = vglobal("__torch__.torch.nn.modules.linear", "Linear");
	lin->u.obj.state = lst;
	lin->u.obj.how = 0x81;
	dsets(lst, "weight", vint(1));
	dsets(lst, "class", vint(2));
	dsets(lst, "graph", vint(7)); /* m.graph is the method's Graph */
	dsets(sst, "training", vbool(true));
	dsets(sst, "0", lin);
	dsets(st, "proj", seq);
	dsets(st, "x-y", vint(3));
	t = build(m);
	if (!t)
		return;
	CHECK_STR(root_of(t)->type, "__torch__.M");
	node_is(t, "proj", PT_NODE_DIR, "__torch__.torch.nn.modules.container.Sequential", ".proj");
	text_is(t, "proj/training", "bool", ".proj.training", "True\n");
	node_is(t, "proj/0", PT_NODE_DIR, "__torch__.torch.nn.modules.linear.Linear",
		".proj.__getattr__('0')");
	text_is(t, "proj/0/weight", "int", ".proj.__getattr__('0').weight", "1\n");
	text_is(t, "proj/0/class", "int", ".proj.__getattr__('0').__getattr__('class')", "2\n");
	text_is(t, "proj/0/graph", "int", ".proj.__getattr__('0').__getattr__('graph')", "7\n");
	text_is(t, "x-y", "int", ".__getattr__('x-y')", "3\n");
	pt_tree_free(t);

	/* an object that is not TorchScript keeps .__dict__[...] */
	ns->u.obj.callable = vglobal("argparse", "Namespace");
	ns->u.obj.args = tuple(0);
	ns->u.obj.state = nst;
	ns->u.obj.how = 0x81;
	dsets(nst, "class", vint(4));
	dsets(nst, "None", vint(5));
	dsets(nst, "classy", vint(6));
	dsets(nst, "graph", vint(8));
	dsets(root, "args", ns);
	t = build(root);
	if (!t)
		return;
	text_is(t, "args/class", "int", "['args'].__dict__['class']", "4\n");
	text_is(t, "args/None", "int", "['args'].__dict__['None']", "5\n");
	text_is(t, "args/classy", "int", "['args'].classy", "6\n");
	text_is(t, "args/graph", "int", "['args'].graph", "8\n");
	pt_tree_free(t);
}

/*
 * Lookup scans a directory of up to 8 entries and hashes a bigger one
 * (node.c): every entry is found on both sides of that line, in folders of
 * 1, 8, 9 and 40 entries and at a root of 60, also names that share a
 * first byte or are a prefix of another, and a missing name is not.
 */
static void test_tree_lookup_sizes(void)
{
	static const int sizes[] = { 1, 8, 9, 40 };
	struct pt_value *root = vnew(PT_V_DICT);
	struct pt_tree *t;
	char key[64], name[64];
	int found = 0, want = 0, missing = 0, ordered = 0;
	size_t d, i;

	for (d = 0; d < 4; d++)
		for (i = 0; i < (size_t)sizes[d]; i++) {
			snprintf(key, sizeof(key), "m%zu.%s%zu", d, i % 2 ? "w" : "ww", i);
			dsets(root, key, vint((int64_t)i));
		}
	for (i = 0; i < 56; i++) {
		snprintf(key, sizeof(key), "r%zu", i);
		dsets(root, key, vint((int64_t)i));
	}
	t = build(root);
	if (!t)
		return;
	CHECK_INT(root_of(t)->u.dir.n, 4 + 56 + 1); /* and .ptfs */
	for (d = 0; d < 4; d++) {
		struct pt_node *dir, *n;

		snprintf(name, sizeof(name), "m%zu", d);
		dir = pt_tree_lookup(t, root_of(t), name);
		CHECK(dir != NULL);
		if (!dir)
			continue;
		CHECK_INT(dir->u.dir.n, sizes[d]);
		for (i = 0, n = dir->u.dir.first; i < (size_t)sizes[d]; i++, n = n ? n->next : NULL) {
			snprintf(name, sizeof(name), "%s%zu", i % 2 ? "w" : "ww", i);
			want++;
			found += pt_tree_lookup(t, dir, name) == n && n && strcmp(n->name, name) == 0;
			ordered += n && pt_tree_node(t, n->ino) == n;
			snprintf(name, sizeof(name), "%s%zu", i % 2 ? "ww" : "w", i);
			missing += pt_tree_lookup(t, dir, name) == NULL;
		}
		missing += pt_tree_lookup(t, dir, "w") == NULL;
		missing += pt_tree_lookup(t, dir, "ww") == NULL;
	}
	for (i = 0; i < 56; i++) {
		snprintf(name, sizeof(name), "r%zu", i);
		want++;
		found += at(t, root_of(t), name) != NULL && strcmp(at(t, root_of(t), name)->name, name) == 0;
	}
	CHECK_INT(found, want);
	CHECK_INT(ordered, want - 56);
	CHECK_INT(missing, 58 + 4 * 2);
	CHECK(pt_tree_lookup(t, root_of(t), "r56") == NULL);
	CHECK(pt_tree_lookup(t, root_of(t), ".ptfs") == pt_tree_ctl_dir(t));
	/* a name with its length given: "ww0" found from the first three bytes of "ww0x" */
	CHECK(pt_tree_lookup_n(t, at(t, root_of(t), "m3"), "ww0x", 3, NULL) == at(t, root_of(t), "m3/ww0"));
	CHECK(pt_tree_lookup_n(t, at(t, root_of(t), "m0"), "ww0x", 3, NULL) == at(t, root_of(t), "m0/ww0"));
	pt_tree_free(t);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pt_arena_init(&A, 0);

	test_repr_float();
	test_repr_str();
	test_repr_numbers();
	test_repr_tuple();
	test_repr_str_nonprintable();
	test_json();
	test_json_lenient_numbers();
	test_tree_basics();
	test_tree_dotted();
	test_tree_escapes();
	test_tree_controls();
	test_tree_seq_and_root();
	test_tree_links();
	test_tree_limits();
	test_tree_dotted_depth();
	test_tree_objects();
	test_tree_script_keys();
	test_tree_lookup_sizes();

	pt_arena_release(&A);
	return check_report("test_tree");
}
