/*
 * test_pyobj.c - known Python objects (pyobj.c) as the tree shows them:
 * numpy arrays as row-major little-endian bytes with numpy's dtype name,
 * repr() texts, namedtuples and object arrays as items, a non-dict state
 * under .__getstate__(), and the user.pt.type rule.
 *
 * The pickles are what CPython 3.11 with numpy 1.24 and torch 1.13 writes
 * (pickle.dumps(obj, protocol=2), the protocol torch.save uses), pasted as
 * C literals; the expected texts are Python's repr() of the same objects.
 * They run through the pickle machine with the torch layer's hooks, as a
 * checkpoint's pickle does.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pickle.h"
#include "torch.h"
#include "tree.h"
#include "value.h"

static struct pt_arena A;
static struct pt_error E;

/* pickle.dumps({'f': array([[0, 1, 2],        [3, 4, 5]], dtype=int16), 's': 0.1, 'o': array([[1, None]], dtype=object)}, protocol=2) */
static const char ARRAYS[] =
	"\x80\x02}q\x00(X\x01\x00\x00\x00" "fq\x01" "cnumpy.core.multiarray\x0a"
	"_reconstruct\x0aq\x02" "cnumpy\x0andarray\x0aq\x03K\x00\x85q\x04" "c_c"
	"odecs\x0a" "encode\x0aq\x05X\x01\x00\x00\x00" "bq\x06X\x06\x00\x00\x00"
	"latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x02K\x03\x86q\x0c" "c"
	"numpy\x0a" "dtype\x0aq\x0dX\x02\x00\x00\x00i2q\x0e\x89\x88\x87q\x0fRq\x10"
	"(K\x03X\x01\x00\x00\x00>q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00"
	"tq\x12" "b\x88h\x05X\x0c\x00\x00\x00\x00\x00\x00\x03\x00\x01\x00\x04\x00"
	"\x02\x00\x05q\x13h\x07\x86q\x14Rq\x15tq\x16" "bX\x01\x00\x00\x00sq\x17"
	"cnumpy.core.multiarray\x0ascalar\x0aq\x18h\x0dX\x02\x00\x00\x00" "f4q\x19"
	"\x89\x88\x87q\x1aRq\x1b(K\x03X\x01\x00\x00\x00<q\x1cNNNJ\xff\xff\xff\xff"
	"J\xff\xff\xff\xffK\x00tq\x1d" "bh\x05X\x07\x00\x00\x00\xc3\x8d\xc3\x8c"
	"\xc3\x8c=q\x1eh\x07\x86q\x1fRq \x86q!Rq\x22X\x01\x00\x00\x00oq#h\x02h\x03"
	"K\x00\x85q$h\x09\x87q%Rq&(K\x01K\x01K\x02\x86q'h\x0dX\x02\x00\x00\x00O"
	"8q(\x89\x88\x87q)Rq*(K\x03X\x01\x00\x00\x00|q+NNNJ\xff\xff\xff\xffJ\xff"
	"\xff\xff\xffK\x3ftq,b\x89]q-(K\x01Netq.bu.";

/* pickle.dumps({'c': (-0+1j), 'd': device(type='cuda', index=1), 'z': torch.Size([2]), 'r': range(0, 3), 'm': Decimal('1.10'), 'q': Fraction(1, 2)}, protocol=2) */
static const char TEXTS[] =
	"\x80\x02}q\x00(X\x01\x00\x00\x00" "cq\x01" "c__builtin__\x0a" "complex"
	"\x0aq\x02G\x80\x00\x00\x00\x00\x00\x00\x00G\x3f\xf0\x00\x00\x00\x00\x00"
	"\x00\x86q\x03Rq\x04X\x01\x00\x00\x00" "dq\x05" "ctorch\x0a" "device\x0a"
	"q\x06X\x04\x00\x00\x00" "cudaq\x07K\x01\x86q\x08Rq\x09X\x01\x00\x00\x00"
	"zq\x0a" "ctorch\x0aSize\x0aq\x0bK\x02\x85q\x0c\x85q\x0dRq\x0eX\x01\x00"
	"\x00\x00rq\x0f" "c__builtin__\x0axrange\x0aq\x10K\x00K\x03K\x01\x87q\x11"
	"Rq\x12X\x01\x00\x00\x00mq\x13" "cdecimal\x0a" "Decimal\x0aq\x14X\x04\x00"
	"\x00\x00" "1.10q\x15\x85q\x16Rq\x17X\x01\x00\x00\x00qq\x18" "cfraction"
	"s\x0a" "Fraction\x0aq\x19K\x01K\x02\x86q\x1aRq\x1bu.";

/* pickle.dumps({'t': Match(a=1, b=2, size=3), 'o': <fixture_types.Opaque object at 0x7f94ca025910>}, protocol=2) */
static const char OBJS[] =
	"\x80\x02}q\x00(X\x01\x00\x00\x00tq\x01" "cdifflib\x0aMatch\x0aq\x02K\x01"
	"K\x02K\x03\x87q\x03\x81q\x04X\x01\x00\x00\x00oq\x05" "cfixture_types\x0a"
	"Opaque\x0aq\x06)\x81q\x07K\x07X\x06\x00\x00\x00opaqueq\x08\x86q\x09" "b"
	"u.";

/* pickle.dumps({'e': b'', 'n': b'ab'}, protocol=2): bytes() and _codecs.encode('ab', 'latin1') */
static const char EMPTY_BYTES[] =
	"\x80\x02}q\x00(X\x01\x00\x00\x00" "eq\x01" "c__builtin__\nbytes\nq\x02)Rq\x03"
	"X\x01\x00\x00\x00nq\x04" "c_codecs\nencode\nq\x05X\x02\x00\x00\x00" "abq\x06"
	"X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\tu.";

static struct pt_tree *build(const char *p, size_t len)
{
	struct pt_torch t = { .arena = &A };
	struct pt_pickle_hooks hooks;
	struct pt_pickle_opts o;
	struct pt_value *v = NULL;
	struct pt_tree *tree;

	pt_torch_hooks(&t, &hooks);
	pt_pickle_opts_default(&o);
	o.hooks = &hooks;
	pt_error_clear(&E);
	if (pt_pickle_load(&A, (const unsigned char *)p, len, &o, &v, NULL, &E) < 0) {
		fprintf(stderr, "pickle: %s\n", E.msg);
		CHECK(0);
		return NULL;
	}
	tree = pt_tree_build(v, NULL, &E);
	if (!tree) {
		fprintf(stderr, "tree: %s\n", E.msg);
		CHECK(0);
	}
	return tree;
}

#define BUILD(s) build((s), sizeof(s) - 1)

static const struct pt_node *find(const struct pt_tree *t, const char *path)
{
	const struct pt_node *n = t->nodes[0];
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && n; tok = strtok_r(NULL, "/", &save))
		n = pt_tree_lookup(t, n, tok);
	if (!n)
		fprintf(stderr, "  no node %s\n", path);
	return n;
}

/* A file at path of this type and key holding exactly p[0..len). */
static const struct pt_node *file_is(const struct pt_tree *t, const char *path, const char *type,
				     const char *key, const void *p, size_t len)
{
	const struct pt_node *n = find(t, path);
	char *k;

	CHECK(n != NULL);
	if (!n)
		return NULL;
	CHECK_INT(n->kind, PT_NODE_DATA);
	CHECK_STR(n->type, type);
	k = pt_node_key(n);
	CHECK_STR(k, key);
	free(k);
	if (n->kind != PT_NODE_DATA)
		return NULL;
	CHECK_INT(n->u.data.len, len);
	CHECK(n->u.data.len == len && memcmp(n->u.data.p, p, len) == 0);
	return n;
}

#define TEXT_IS(t, path, type, key, text) file_is(t, path, type, key, text, strlen(text))

static void dir_is(const struct pt_tree *t, const char *path, const char *type, const char *key)
{
	const struct pt_node *n = find(t, path);
	char *k;

	CHECK(n != NULL);
	if (!n)
		return;
	CHECK_INT(n->kind, PT_NODE_DIR);
	CHECK_STR(n->type, type);
	k = pt_node_key(n);
	CHECK_STR(k, key);
	free(k);
}

static void test_arrays(void)
{
	/* [[0,1,2],[3,4,5]] as big-endian int16 in Fortran order: C order, little-endian */
	static const unsigned char want[] = { 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0 };
	struct pt_tree *t = BUILD(ARRAYS);
	const struct pt_node *n;

	if (!t)
		return;
	n = file_is(t, "f", "numpy.ndarray", "['f']", want, sizeof(want));
	if (n) {
		CHECK(n->u.data.array != NULL);
		CHECK_STR(n->u.data.array->dtype, "int16");
		CHECK_INT(n->u.data.array->ndim, 2);
		CHECK_INT(n->u.data.array->shape[0], 2);
		CHECK_INT(n->u.data.array->shape[1], 3);
	}
	/* float32's own shortest digits, not the double's 0.10000000149011612 */
	n = TEXT_IS(t, "s", "numpy.float32", "['s']", "0.1\n");
	CHECK(n && !n->u.data.array);
	/* an object array of shape (1, 2): its items in C order, reached by .flat */
	dir_is(t, "o", "numpy.ndarray", "['o']");
	TEXT_IS(t, "o/0", "int", "['o'].flat[0]", "1\n");
	TEXT_IS(t, "o/1", "NoneType", "['o'].flat[1]", "None\n");
	pt_tree_free(t);
}

static void test_texts(void)
{
	struct pt_tree *t = BUILD(TEXTS);

	if (!t)
		return;
	TEXT_IS(t, "c", "complex", "['c']", "(-0+1j)\n");
	TEXT_IS(t, "d", "torch.device", "['d']", "device(type='cuda', index=1)\n");
	TEXT_IS(t, "z", "torch.Size", "['z']", "torch.Size([2])\n");
	TEXT_IS(t, "r", "range", "['r']", "range(0, 3)\n");
	TEXT_IS(t, "m", "decimal.Decimal", "['m']", "Decimal('1.10')\n");
	TEXT_IS(t, "q", "fractions.Fraction", "['q']", "Fraction(1, 2)\n");
	pt_tree_free(t);
}

static void test_empty_bytes(void)
{
	struct pt_tree *t = BUILD(EMPTY_BYTES);

	if (!t)
		return;
	file_is(t, "e", "bytes", "['e']", "", 0); /* a file, not a directory of no arguments */
	file_is(t, "n", "bytes", "['n']", "ab", 2);
	pt_tree_free(t);
}

static void test_objects(void)
{
	struct pt_tree *t = BUILD(OBJS);

	if (!t)
		return;
	/* a namedtuple: NEWOBJ of its class with the fields, which [i] reaches */
	dir_is(t, "t", "difflib.Match", "['t']");
	TEXT_IS(t, "t/0", "int", "['t'][0]", "1\n");
	TEXT_IS(t, "t/2", "int", "['t'][2]", "3\n");
	/* __getstate__ returned a tuple: one hidden entry, no %state */
	dir_is(t, "o", "fixture_types.Opaque", "['o']");
	dir_is(t, "o/.__getstate__()", "tuple", "['o'].__getstate__()");
	TEXT_IS(t, "o/.__getstate__()/1", "str", "['o'].__getstate__()[1]", "opaque\n");
	CHECK(pt_tree_lookup(t, find(t, "o"), "%state") == NULL);
	pt_tree_free(t);
}

/* ---- hand-made values: the type rule, sharing, malformed input ---- */

static struct pt_value *must(struct pt_value *v)
{
	if (!v) {
		fprintf(stderr, "allocation failed: %s\n", E.msg);
		exit(2);
	}
	return v;
}

static struct pt_value *vglobal(const char *m, const char *n)
{
	struct pt_value *v = must(pt_value_new(&A, PT_V_GLOBAL, &E));

	v->u.global.module = pt_arena_strndup(&A, m, strlen(m), &E);
	v->u.global.name = pt_arena_strndup(&A, n, strlen(n), &E);
	return v;
}

static struct pt_value *vtuple(int n, ...)
{
	struct pt_value *t = must(pt_value_new(&A, PT_V_TUPLE, &E));
	va_list ap;

	va_start(ap, n);
	while (n--)
		if (pt_vseq_push(&A, &t->u.seq, va_arg(ap, struct pt_value *), &E) < 0)
			must(NULL);
	va_end(ap);
	return t;
}

static struct pt_value *vobj(unsigned char how, struct pt_value *callable, struct pt_value *args,
			     struct pt_value *state)
{
	struct pt_value *o = must(pt_value_new(&A, PT_V_OBJECT, &E));

	o->u.obj.how = how;
	o->u.obj.callable = callable;
	o->u.obj.args = args;
	o->u.obj.state = state;
	return o;
}

static struct pt_value *vint(int64_t i)
{
	return must(pt_value_int(&A, i, &E));
}

static struct pt_value *vfloat(double f)
{
	struct pt_value *v = must(pt_value_new(&A, PT_V_FLOAT, &E));

	v->u.f = f;
	return v;
}

static struct pt_value *vstr(const char *s)
{
	return must(pt_value_str(&A, s, strlen(s), &E));
}

static struct pt_value *vbytes(const void *p, size_t n)
{
	return must(pt_value_bytes(&A, PT_V_BYTES, p, n, &E));
}

static struct pt_value *vbool(bool b)
{
	struct pt_value *v = must(pt_value_new(&A, PT_V_BOOL, &E));

	v->u.b = b;
	return v;
}

static struct pt_value *np_dtype(const char *s, const char *order)
{
	struct pt_value *none = must(pt_value_new(&A, PT_V_NONE, &E));

	return vobj('R', vglobal("numpy", "dtype"), vtuple(3, vstr(s), vbool(false), vbool(true)),
		    vtuple(8, vint(3), vstr(order), none, none, none, vint(-1), vint(-1), vint(0)));
}

/* numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') + BUILD(1, shape, dtype, False, raw) */
static struct pt_value *np_array(struct pt_value *shape, struct pt_value *dtype, struct pt_value *raw)
{
	return vobj('R', vglobal("numpy.core.multiarray", "_reconstruct"),
		    vtuple(3, vglobal("numpy", "ndarray"), vtuple(1, vint(0)), vbytes("b", 1)),
		    vtuple(5, vint(1), shape, dtype, vbool(false), raw));
}

static struct pt_value *np_scalar(const char *dt, const void *p, size_t n)
{
	return vobj('R', vglobal("numpy.core.multiarray", "scalar"),
		    vtuple(2, np_dtype(dt, "<"), vbytes(p, n)), NULL);
}

static void test_built(void)
{
	struct pt_value *root = must(pt_value_new(&A, PT_V_LIST, &E));
	struct pt_value *arr = np_array(vtuple(1, vint(2)), np_dtype("f8", "<"), vbytes("0123456789abcdef", 16));
	struct pt_value *items[] = {
		arr, arr, /* 0, 1: one array met twice through the memo */
		np_array(vtuple(1, vint(3)), np_dtype("f8", "<"), vbytes("short", 5)), /* 2 */
		vobj('R', vglobal("os", "getcwd"), vtuple(0), NULL),                    /* 3 */
		vobj('R', vglobal("collections", "OrderedDict"), vtuple(0), NULL),      /* 4 */
		vobj('R', vglobal("copyreg", "_reconstructor"),                         /* 5 */
		     vtuple(3, vglobal("argparse", "Namespace"), vglobal("builtins", "object"),
			    must(pt_value_new(&A, PT_V_NONE, &E))), NULL),
		vobj(0x81, vglobal("mod", "lower"), vtuple(0), NULL),                   /* 6 */
		np_scalar("f2", "\x55\x35", 2),                                         /* 7 */
		np_scalar("f4", "\x17\xb7\xd1\x38", 4),                                 /* 8 */
		np_scalar("i2", "\xfe\xff", 2),                                         /* 9 */
		vobj('R', vglobal("builtins", "complex"), vtuple(2, vfloat(1.0), vfloat(NAN)), NULL), /* 10 */
		vobj('R', vglobal("builtins", "complex"), vtuple(2, vfloat(0.0), vfloat(-0.0)), NULL), /* 11 */
		vobj('R', vglobal("torch", "device"), vtuple(1, vstr("cuda:0")), NULL), /* 12 */
	};
	struct pt_tree *t;
	const struct pt_node *a, *b;
	size_t i;

	for (i = 0; i < sizeof(items) / sizeof(*items); i++)
		if (pt_vseq_push(&A, &root->u.seq, items[i], &E) < 0)
			must(NULL);
	t = pt_tree_build(root, NULL, &E);
	CHECK(t != NULL);
	if (!t)
		return;
	a = file_is(t, "0", "numpy.ndarray", "[0]", "0123456789abcdef", 16);
	b = file_is(t, "1", "numpy.ndarray", "[1]", "0123456789abcdef", 16);
	CHECK(a && b && a->u.data.p == b->u.data.p); /* shared, not copied again */
	/* 5 bytes cannot be 3 float64: not an array, its state stays reachable */
	dir_is(t, "2", "numpy.ndarray", "[2]");
	dir_is(t, "2/.__getstate__()", "tuple", "[2].__getstate__()");
	/* a function's result: its type is not in the pickle */
	dir_is(t, "3", "os.getcwd()", "[3]");
	dir_is(t, "4", "collections.OrderedDict", "[4]");
	dir_is(t, "5", "argparse.Namespace", "[5]");
	dir_is(t, "6", "mod.lower", "[6]"); /* NEWOBJ: always a class */
	TEXT_IS(t, "7", "numpy.float16", "[7]", "0.3333\n");
	TEXT_IS(t, "8", "numpy.float32", "[8]", "1e-04\n");
	TEXT_IS(t, "9", "numpy.int16", "[9]", "-2\n");
	TEXT_IS(t, "10", "complex", "[10]", "(1+nanj)\n");
	TEXT_IS(t, "11", "complex", "[11]", "-0j\n");
	/* torch.device('cuda:0') pickles as ('cuda', 0): another shape is left alone */
	dir_is(t, "12", "torch.device", "[12]");
	pt_tree_free(t);

	/* a numpy array as the whole pickle: the root holds it as `value` */
	arr = np_array(vtuple(1, vint(2)), np_dtype("f8", "<"), vbytes("0123456789abcdef", 16));
	t = pt_tree_build(arr, NULL, &E);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_STR(t->nodes[0]->type, "ptfs.root");
	file_is(t, "value", "numpy.ndarray", "", "0123456789abcdef", 16);
	pt_tree_free(t);
}

/*
 * One bytes value named by many array objects (the memo shares the bytes,
 * not the arrays): each array copies it, so the copies are bounded in all.
 */
static void test_copy_limit(void)
{
	struct pt_value *root = must(pt_value_new(&A, PT_V_LIST, &E));
	struct pt_value *raw = vbytes("0123456789abcdef", 16), *dt = np_dtype("f8", "<");
	struct pt_tree_limits lim;
	struct pt_tree *t;
	int i;

	for (i = 0; i < 8; i++)
		if (pt_vseq_push(&A, &root->u.seq, np_array(vtuple(1, vint(2)), dt, raw), &E) < 0)
			must(NULL);
	pt_tree_limits_default(&lim);
	CHECK_INT(lim.max_copy, (size_t)1 << 30);
	lim.max_copy = 100; /* 6 arrays of 16 bytes fit, the 7th does not */
	t = pt_tree_build(root, &lim, &E);
	CHECK(t == NULL);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	CHECK_STR(E.msg, "numpy arrays and object texts copy more than 100 bytes");
	pt_tree_free(t);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pt_arena_init(&A, 0);
	test_arrays();
	test_texts();
	test_objects();
	test_empty_bytes();
	test_built();
	test_copy_limit();
	pt_arena_release(&A);
	return check_report("test_pyobj");
}
