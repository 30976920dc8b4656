/*
 * test_compare.c - lib/compare.c: each dtype's decoding (the float8 types
 * torch 1.13 cannot write are checked here only), Python's number texts,
 * the element rules (bytes first, NaN, -0, inf, tolerance, integers beyond
 * 2^53, different dtypes) and the streaming comparer on the fixtures, in
 * chunks of 16 bytes, read in turn and in parallel.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "compare.h"

static double dec(enum pt_dtype dt, const void *p)
{
	struct pt_scalar s;

	if (pt_scalar_decode(dt, p, &s) < 0)
		return -12345;
	return s.re;
}

static double dec8(enum pt_dtype dt, unsigned char b)
{
	return dec(dt, &b);
}

static double dec16(enum pt_dtype dt, unsigned v)
{
	unsigned char b[2] = { v & 0xff, v >> 8 };

	return dec(dt, b);
}

static void test_decode_floats(void)
{
	unsigned char f32[4] = { 0xcd, 0xcc, 0xcc, 0x3d }; /* 0.1f */

	CHECK(dec16(PT_DT_FLOAT16, 0x3c00) == 1.0);
	CHECK(dec16(PT_DT_FLOAT16, 0xc000) == -2.0);
	CHECK(dec16(PT_DT_FLOAT16, 0x0001) == ldexp(1, -24));
	CHECK(dec16(PT_DT_FLOAT16, 0x7bff) == 65504.0);
	CHECK(dec16(PT_DT_FLOAT16, 0x7c00) == INFINITY);
	CHECK(dec16(PT_DT_FLOAT16, 0xfc00) == -INFINITY);
	CHECK(isnan(dec16(PT_DT_FLOAT16, 0x7e00)));
	CHECK(dec16(PT_DT_BFLOAT16, 0x3f80) == 1.0);
	CHECK(dec16(PT_DT_BFLOAT16, 0xc0a0) == -5.0);
	CHECK(isnan(dec16(PT_DT_BFLOAT16, 0x7fc0)));
	CHECK(dec(PT_DT_FLOAT32, f32) == (double)0.1f);

	/* float8_e4m3fn: bias 7, no inf, only S.1111.111 is NaN */
	CHECK(dec8(PT_DT_FLOAT8_E4M3FN, 0x38) == 1.0);
	CHECK(dec8(PT_DT_FLOAT8_E4M3FN, 0x7e) == 448.0);
	CHECK(dec8(PT_DT_FLOAT8_E4M3FN, 0xfe) == -448.0);
	CHECK(dec8(PT_DT_FLOAT8_E4M3FN, 0x78) == 256.0);
	CHECK(dec8(PT_DT_FLOAT8_E4M3FN, 0x01) == ldexp(1, -9));
	CHECK(isnan(dec8(PT_DT_FLOAT8_E4M3FN, 0x7f)));
	CHECK(isnan(dec8(PT_DT_FLOAT8_E4M3FN, 0xff)));
	/* float8_e5m2: float16's top byte */
	CHECK(dec8(PT_DT_FLOAT8_E5M2, 0x3c) == 1.0);
	CHECK(dec8(PT_DT_FLOAT8_E5M2, 0x7b) == 57344.0);
	CHECK(dec8(PT_DT_FLOAT8_E5M2, 0x7c) == INFINITY);
	CHECK(dec8(PT_DT_FLOAT8_E5M2, 0x01) == ldexp(1, -16));
	CHECK(isnan(dec8(PT_DT_FLOAT8_E5M2, 0x7d)));
	/* the fnuz types: bias one more, no inf, no -0: 0x80 is NaN */
	CHECK(dec8(PT_DT_FLOAT8_E4M3FNUZ, 0x40) == 1.0);
	CHECK(dec8(PT_DT_FLOAT8_E4M3FNUZ, 0x7f) == 240.0);
	CHECK(dec8(PT_DT_FLOAT8_E4M3FNUZ, 0xff) == -240.0);
	CHECK(isnan(dec8(PT_DT_FLOAT8_E4M3FNUZ, 0x80)));
	CHECK(dec8(PT_DT_FLOAT8_E5M2FNUZ, 0x40) == 1.0);
	CHECK(dec8(PT_DT_FLOAT8_E5M2FNUZ, 0x7f) == 57344.0);
	CHECK(isnan(dec8(PT_DT_FLOAT8_E5M2FNUZ, 0x80)));
	CHECK(dec8(PT_DT_FLOAT8_E5M2FNUZ, 0x00) == 0.0);
	/* float8_e8m0fnu: a power of two, 0xff NaN */
	CHECK(dec8(PT_DT_FLOAT8_E8M0FNU, 0x7f) == 1.0);
	CHECK(dec8(PT_DT_FLOAT8_E8M0FNU, 0x80) == 2.0);
	CHECK(dec8(PT_DT_FLOAT8_E8M0FNU, 0x00) == ldexp(1, -127));
	CHECK(isnan(dec8(PT_DT_FLOAT8_E8M0FNU, 0xff)));
	/* no numeric value: bytes only */
	CHECK(dec8(PT_DT_QUINT4X2, 0x12) == -12345);
	CHECK(dec8(PT_DT_BITS8, 0x12) == -12345);
	CHECK(dec8(PT_DT_FLOAT4_E2M1FN_X2, 0x12) == -12345);
}

static const char *fmt(enum pt_dtype dt, const void *p)
{
	static char out[96];
	struct pt_scalar s;

	if (pt_scalar_decode(dt, p, &s) < 0)
		return "(none)";
	pt_scalar_format(&s, out);
	return out;
}

static void test_decode_ints_format(void)
{
	unsigned char m1[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned char min64[8] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
	unsigned char two = 2;
	float c64[2] = { 1.0f, -2.0f }, c64i[2] = { 0.0f, 2.5f };
	double c128[2] = { -0.0, 1.0 };
	float f[1] = { 0.1f };
	unsigned char nanf[4] = { 0, 0, 0xc0, 0x7f };

	CHECK_STR(fmt(PT_DT_INT8, m1), "-1");
	CHECK_STR(fmt(PT_DT_UINT8, m1), "255");
	CHECK_STR(fmt(PT_DT_INT16, m1), "-1");
	CHECK_STR(fmt(PT_DT_UINT16, m1), "65535");
	CHECK_STR(fmt(PT_DT_INT32, m1), "-1");
	CHECK_STR(fmt(PT_DT_UINT32, m1), "4294967295");
	CHECK_STR(fmt(PT_DT_INT64, m1), "-1");
	CHECK_STR(fmt(PT_DT_UINT64, m1), "18446744073709551615");
	CHECK_STR(fmt(PT_DT_INT64, min64), "-9223372036854775808");
	CHECK_STR(fmt(PT_DT_QINT8, m1), "-1");
	CHECK_STR(fmt(PT_DT_BOOL, &two), "True");
	CHECK_STR(fmt(PT_DT_BOOL, min64), "False");
	CHECK_STR(fmt(PT_DT_COMPLEX64, c64), "(1-2j)");
	CHECK_STR(fmt(PT_DT_COMPLEX64, c64i), "2.5j");
	CHECK_STR(fmt(PT_DT_COMPLEX128, c128), "(-0+1j)");
	CHECK_STR(fmt(PT_DT_FLOAT32, f), "0.10000000149011612");
	CHECK_STR(fmt(PT_DT_FLOAT32, nanf), "nan");
	CHECK_STR(fmt(PT_DT_FLOAT64, c128), "-0.0");
	CHECK_STR(fmt(PT_DT_QUINT4X2, m1), "(none)");
}

static void cmp(enum pt_dtype da, const void *a, enum pt_dtype db, const void *b, size_t n,
		const struct pt_compare_opts *o, struct pt_compare_stats *st)
{
	pt_compare_stats_init(st);
	pt_compare_chunk(da, a, db, b, n, 0, o, st);
}

static void test_chunk_rules(void)
{
	struct pt_compare_opts o, tol;
	struct pt_compare_stats st;
	float a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 3.5f, 4 };
	float z[2] = { 0.0f, 1.0f }, nz[2] = { -0.0f, 1.0f };
	float inf[2] = { INFINITY, 1 }, big[2] = { 3e38f, 1 };
	float n1[1], n2[1], cl[1] = { 1.0f }, cl2[1] = { 1.000001f };
	uint32_t q1 = 0x7fc00000, q2 = 0x7fc00001;
	int64_t lo[1] = { INT64_MIN }, hi[1] = { INT64_MAX };
	double d[4] = { 1, 2, 3.5, 4 };
	unsigned char r1[2] = { 1, 2 }, r2[2] = { 1, 3 };
	float *many = calloc(2048, sizeof(float)), *many2 = calloc(2048, sizeof(float));

	pt_compare_opts_default(&o);
	pt_compare_opts_default(&tol);
	tol.tolerance = true;
	memcpy(n1, &q1, 4);
	memcpy(n2, &q2, 4);

	cmp(PT_DT_FLOAT32, a, PT_DT_FLOAT32, a, 4, &o, &st);
	CHECK_INT(st.numel, 4);
	CHECK_INT(st.ndiff, 0);
	cmp(PT_DT_FLOAT32, a, PT_DT_FLOAT32, b, 4, &o, &st);
	CHECK_INT(st.ndiff, 1);
	CHECK_INT(st.nfar, 1);
	CHECK(st.have_max && st.max_abs == 0.5 && st.abs_at == 2);
	CHECK(st.max_rel == 0.5 / 3.5 && st.rel_at == 2);
	CHECK(st.abs_a.re == 3.0 && st.abs_b.re == 3.5);
	/* the same NaN bits are equal; other NaN bits differ, with no maximum */
	cmp(PT_DT_FLOAT32, n1, PT_DT_FLOAT32, n1, 1, &o, &st);
	CHECK_INT(st.ndiff, 0);
	cmp(PT_DT_FLOAT32, n1, PT_DT_FLOAT32, n2, 1, &o, &st);
	CHECK_INT(st.ndiff, 1);
	CHECK_INT(st.nnan, 1);
	CHECK(!st.have_max);
	cmp(PT_DT_FLOAT32, n1, PT_DT_FLOAT32, n2, 1, &tol, &st);
	CHECK_INT(st.nfar, 1);
	tol.equal_nan = true;
	cmp(PT_DT_FLOAT32, n1, PT_DT_FLOAT32, n2, 1, &tol, &st);
	CHECK_INT(st.nfar, 0);
	tol.equal_nan = false;
	/* -0 and 0: other bytes, no difference in value: close, not equal */
	cmp(PT_DT_FLOAT32, z, PT_DT_FLOAT32, nz, 2, &o, &st);
	CHECK_INT(st.ndiff, 1);
	CHECK(st.max_abs == 0 && st.max_rel == 0);
	cmp(PT_DT_FLOAT32, z, PT_DT_FLOAT32, nz, 2, &tol, &st);
	CHECK_INT(st.nfar, 0);
	/* inf is close only to itself, however large rtol */
	tol.rtol = 10;
	cmp(PT_DT_FLOAT32, inf, PT_DT_FLOAT32, big, 2, &tol, &st);
	CHECK_INT(st.nfar, 1);
	CHECK(st.max_abs == INFINITY);
	tol.rtol = 1e-05;
	/* allclose: |a - b| <= atol + rtol * |b| */
	cmp(PT_DT_FLOAT32, cl, PT_DT_FLOAT32, cl2, 1, &tol, &st);
	CHECK_INT(st.ndiff, 1);
	CHECK_INT(st.nfar, 0);
	tol.rtol = 0;
	cmp(PT_DT_FLOAT32, cl, PT_DT_FLOAT32, cl2, 1, &tol, &st);
	CHECK_INT(st.nfar, 1);
	tol.atol = 1e-6;
	cmp(PT_DT_FLOAT32, cl, PT_DT_FLOAT32, cl2, 1, &tol, &st);
	CHECK_INT(st.nfar, 0);
	/* integers exactly, past 2^53 */
	cmp(PT_DT_INT64, lo, PT_DT_INT64, hi, 1, &o, &st);
	CHECK(st.max_abs == ldexp(1, 64));
	CHECK_STR(fmt(PT_DT_INT64, &st.abs_a.i), "-9223372036854775808");
	/* different dtypes: by value */
	cmp(PT_DT_FLOAT32, b, PT_DT_FLOAT64, d, 4, &o, &st);
	CHECK_INT(st.ndiff, 0);
	cmp(PT_DT_FLOAT32, a, PT_DT_FLOAT64, d, 4, &o, &st);
	CHECK_INT(st.ndiff, 1);
	CHECK(st.abs_at == 2);
	/* a dtype with no numbers: bytes */
	cmp(PT_DT_BITS8, r1, PT_DT_BITS8, r2, 2, &o, &st);
	CHECK_INT(st.ndiff, 1);
	CHECK_INT(st.nraw, 1);
	CHECK(!st.have_max);
	/* differences past the first block, and the first of equal maxima */
	if (many && many2) {
		many2[1000] = 2;
		many2[1500] = -2;
		cmp(PT_DT_FLOAT32, many, PT_DT_FLOAT32, many2, 2048, &o, &st);
		CHECK_INT(st.ndiff, 2);
		CHECK_INT(st.abs_at, 1000);
		pt_compare_stats_init(&st);
		pt_compare_chunk(PT_DT_FLOAT32, many + 1024, PT_DT_FLOAT32, many2 + 1024, 1024, 1024,
				 &o, &st);
		CHECK_INT(st.abs_at, 1500);
	}
	free(many);
	free(many2);
}

static const struct pt_tensor *find(const struct pt_checkpoint *ck, const char *name)
{
	const struct pt_node *n = pt_tree_lookup(ck->tree, ck->tree->nodes[0], name);

	return n && n->kind == PT_NODE_TENSOR ? n->u.tensor : NULL;
}

/* Every tensor of a fixture against itself in a second open; views against their bases. */
static void test_comparer(const char *fixtures, size_t par_min)
{
	char path[4096];
	struct pt_checkpoint *a, *b;
	struct pt_compare_opts o;
	struct pt_compare_stats st;
	struct pt_comparer *c;
	struct pt_error err;
	const struct pt_tensor *base, *t;
	size_t i;

	snprintf(path, sizeof(path), "%s/04_views.pt", fixtures);
	a = pt_checkpoint_open(path, NULL, &err);
	b = pt_checkpoint_open(path, NULL, &err);
	pt_compare_opts_default(&o);
	o.chunk = 16;
	o.par_min = par_min;
	c = pt_comparer_new(&o, &err);
	CHECK(a && b && c);
	if (!a || !b || !c)
		goto out;
	for (i = 1; i < a->tree->nnodes; i++) {
		const struct pt_node *n = a->tree->nodes[i];

		if (n->kind != PT_NODE_TENSOR)
			continue;
		t = find(b, n->name);
		CHECK(t != NULL);
		if (!t)
			continue;
		CHECK_INT(pt_comparer_run(c, a, n->u.tensor, b, t, &st, &err), 0);
		CHECK_INT(st.numel, t->numel);
		CHECK_INT(st.ndiff, 0);
	}
	/* base (4x6) and its transpose t (6x4), gathered, element by element in row-major order */
	base = find(a, "base");
	t = find(b, "t");
	CHECK(base && t);
	if (base && t) {
		CHECK_INT(pt_comparer_run(c, a, base, b, t, &st, &err), 0);
		CHECK_INT(st.numel, 24);
		CHECK_INT(st.ndiff, 22); /* torch: (base.flatten() == t.flatten()).sum() is 2 */
		CHECK(st.have_max);
	}
	t = find(b, "rows");
	if (base && t) {
		CHECK_INT(pt_comparer_run(c, a, base, b, t, &st, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
	}
out:
	pt_comparer_free(c);
	pt_checkpoint_close(a);
	pt_checkpoint_close(b);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 2 ? argv[2] : "tests/fixtures";

	test_decode_floats();
	test_decode_ints_format();
	test_chunk_rules();
	test_comparer(fixtures, 256 << 10);
	test_comparer(fixtures, 0);
	return check_report("test_compare");
}
