/*
 * pyobj.c - known Python objects: what their rebuild calls make, told
 * without running them (pyobj.h).
 *
 * Each kind is recognised by its callable and the shape of its arguments and
 * state, exactly as the pickles of Python 3.11, numpy 1.24 to 2.x and torch
 * write them; anything else, or anything malformed, is left to the tree's
 * generic directory of state (form OTHER), never an error, because a shape
 * we do not expect is data to show, not a reason to refuse a checkpoint.
 *
 * numpy writes an array as _reconstruct(ndarray, (0,), b'b') followed by
 * BUILD (version, shape, dtype, is_fortran, raw bytes), its dtype as
 * dtype('f8', False, True) with BUILD (3, byte order, subarray, names,
 * fields, elsize, alignment, flags), and a scalar as scalar(dtype, bytes).
 * Texts must equal CPython's (and numpy's) repr() byte for byte, which is
 * why float formatting follows the precision of the element: numpy prints
 * the shortest digits that give back the same float32 or float16.
 */
#include "pyobj.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

#define NP_MAX_NDIM 64

/* A numpy dtype reduced to what the tree needs. */
struct np_dtype {
	char kind;        /* b i u f c U S O */
	char order;       /* '<' '>' '|' */
	size_t size;      /* bytes per element */
	char name[32];    /* dtype.name: "float64", "str160" */
	char scalar[40];  /* the scalar type: "float64", "bool_", "str_" */
};

static const struct pt_value *at(const struct pt_value *t, size_t i)
{
	if (!t || t->kind != PT_V_TUPLE || i >= t->u.seq.n)
		return NULL;
	return t->u.seq.v[i];
}

static bool is_kind(const struct pt_value *v, enum pt_vkind k)
{
	return v && v->kind == k;
}

static bool is_np(const struct pt_value *c, const char *name)
{
	return pt_value_is_global(c, "numpy.core.multiarray", name) ||
	       pt_value_is_global(c, "numpy._core.multiarray", name);
}

/* x0 + x1 + ... up to a NULL, in a. */
static char *cat(struct pt_arena *a, struct pt_error *err, ...)
{
	va_list ap;
	const char *s;
	size_t n = 0;
	char *out, *o;

	va_start(ap, err);
	while ((s = va_arg(ap, const char *)))
		n += strlen(s);
	va_end(ap);
	out = pt_arena_alloc(a, n + 1, err);
	if (!out)
		return NULL;
	o = out;
	va_start(ap, err);
	while ((s = va_arg(ap, const char *))) {
		size_t l = strlen(s);

		memcpy(o, s, l);
		o += l;
	}
	va_end(ap);
	*o = '\0';
	return out;
}

/* ---- numpy dtypes ---- */

static int np_dtype_of(const struct pt_value *d, struct np_dtype *dt)
{
	const struct pt_value *arg, *st, *order, *elsize;
	const char *s, *bits;
	char *end;
	unsigned long n;

	if (!is_kind(d, PT_V_OBJECT) || !pt_value_is_global(d->u.obj.callable, "numpy", "dtype"))
		return -1;
	arg = at(d->u.obj.args, 0);
	st = d->u.obj.state;
	if (!is_kind(arg, PT_V_STR) || arg->u.s.len < 2 || !is_kind(st, PT_V_TUPLE) ||
	    st->u.seq.n != 8 || !is_kind(at(st, 2), PT_V_NONE) || !is_kind(at(st, 3), PT_V_NONE) ||
	    !is_kind(at(st, 4), PT_V_NONE))
		return -1; /* a datetime (9 items), a structured or a subarray dtype */
	order = at(st, 1);
	elsize = at(st, 5);
	if (!is_kind(order, PT_V_STR) || order->u.s.len != 1 || !strchr("<>|", order->u.s.p[0]))
		return -1;
	s = arg->u.s.p;
	n = strtoul(s + 1, &end, 10);
	if (*end || !strchr("biufcUSO", s[0]))
		return -1;
	dt->kind = s[0];
	dt->order = order->u.s.p[0];
	dt->size = n;
	if (s[0] == 'U' || s[0] == 'S') { /* the argument counts characters, elsize bytes */
		if (!is_kind(elsize, PT_V_INT) || elsize->u.i < 0 || elsize->u.i > (1 << 30))
			return -1;
		dt->size = (size_t)elsize->u.i;
		if (s[0] == 'U' && dt->size % 4)
			return -1;
		snprintf(dt->name, sizeof(dt->name), "%s%zu", s[0] == 'U' ? "str" : "bytes",
			 dt->size * 8);
		strcpy(dt->scalar, s[0] == 'U' ? "str_" : "bytes_");
		return 0;
	}
	switch (s[0]) {
	case 'b': bits = n == 1 ? "bool" : NULL; break;
	case 'i': bits = n == 1 || n == 2 || n == 4 || n == 8 ? "int" : NULL; break;
	case 'u': bits = n == 1 || n == 2 || n == 4 || n == 8 ? "uint" : NULL; break;
	case 'f': bits = n == 2 || n == 4 || n == 8 ? "float" : NULL; break;
	case 'c': bits = n == 8 || n == 16 ? "complex" : NULL; break;
	default: bits = n == 8 ? "object" : NULL; break;
	}
	if (!bits)
		return -1; /* float128 and complex256 are the machine's long double: not portable */
	if (s[0] == 'b' || s[0] == 'O')
		snprintf(dt->name, sizeof(dt->name), "%s", bits);
	else
		snprintf(dt->name, sizeof(dt->name), "%s%lu", bits, n * 8);
	snprintf(dt->scalar, sizeof(dt->scalar), "%s%s", dt->name,
		 s[0] == 'b' || s[0] == 'O' ? "_" : "");
	return 0;
}

/* Reverses each unit of an element: the whole of a number, each half of a complex, each UCS-4 char. */
static void to_little(unsigned char *p, size_t n, const struct np_dtype *dt)
{
	size_t w = dt->kind == 'c' ? dt->size / 2 : dt->kind == 'U' ? 4 : dt->size, i, j;

	if (dt->order != '>' || dt->kind == 'S' || dt->kind == 'b' || w < 2)
		return;
	for (i = 0; i + w <= n; i += w)
		for (j = 0; j < w / 2; j++) {
			unsigned char c = p[i + j];

			p[i + j] = p[i + w - 1 - j];
			p[i + w - 1 - j] = c;
		}
}

/* ---- floats at the element's precision ---- */

static double half_to_double(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m | 0x400, e - 25);

	return h & 0x8000 ? -v : v;
}

/* One part of a complex repr: no ".0" on whole numbers ("(1+2j)"), a sign when asked. */
static void complex_part(double f, int bits, bool sign, char *out)
{
	char r[48];
	size_t n;

	pt_repr_float_bits(f, bits, r);
	if (isnan(f))
		strcpy(r, "nan"); /* CPython and numpy print nan unsigned, then "+" */
	n = strlen(r);
	if (n > 2 && !strchr(r, 'e') && !strcmp(r + n - 2, ".0"))
		r[n - 2] = '\0';
	sprintf(out, "%s%s", sign && r[0] != '-' ? "+" : "", r);
}

static char *complex_repr(struct pt_arena *a, double re, double im, int bits, struct pt_error *err)
{
	char rs[64], is[64];

	complex_part(im, bits, false, is);
	if (re == 0 && !signbit(re))
		return cat(a, err, is, "j", NULL);
	complex_part(re, bits, false, rs);
	complex_part(im, bits, true, is);
	return cat(a, err, "(", rs, is, "j)", NULL);
}

/* ---- numpy scalars and arrays ---- */

static double load_float(const unsigned char *p, size_t size)
{
	float f;
	double d;
	uint16_t h;

	if (size == 2) {
		memcpy(&h, p, 2);
		return half_to_double(h);
	}
	if (size == 4) {
		memcpy(&f, p, 4);
		return f;
	}
	memcpy(&d, p, 8);
	return d;
}

/*
 * repr() of a numpy str_ or bytes_ scalar: numpy drops the trailing NULs
 * that pad the element. NULL with err clear for a code point no str holds.
 */
static char *text_repr(struct pt_arena *a, const unsigned char *p, const struct np_dtype *dt,
		       struct pt_error *err)
{
	struct pt_value tmp = { .kind = dt->kind == 'U' ? PT_V_STR : PT_V_BYTES };
	size_t n = dt->size, i, len = 0;
	char *s;

	if (dt->kind == 'S') {
		while (n && !p[n - 1])
			n--;
		tmp.u.s.p = (char *)p;
		tmp.u.s.len = n;
		return pt_value_repr(a, &tmp, err);
	}
	n /= 4;
	while (n && !(p[4 * n - 4] | p[4 * n - 3] | p[4 * n - 2] | p[4 * n - 1]))
		n--;
	s = pt_arena_alloc(a, 4 * n + 1, err);
	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		uint32_t c = p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
			     (uint32_t)p[4 * i + 3] << 24;

		if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return NULL;
		if (c < 0x80) {
			s[len++] = (char)c;
		} else if (c < 0x800) {
			s[len++] = (char)(0xC0 | c >> 6);
			s[len++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			s[len++] = (char)(0xE0 | c >> 12);
			s[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[len++] = (char)(0x80 | (c & 0x3F));
		} else {
			s[len++] = (char)(0xF0 | c >> 18);
			s[len++] = (char)(0x80 | ((c >> 12) & 0x3F));
			s[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[len++] = (char)(0x80 | (c & 0x3F));
		}
	}
	s[len] = '\0';
	tmp.u.s.p = s;
	tmp.u.s.len = len;
	return pt_value_repr(a, &tmp, err);
}

/* repr() of one element of a numeric dtype (little-endian bytes at p). */
static char *element_repr(struct pt_arena *a, const unsigned char *p, const struct np_dtype *dt,
			  struct pt_error *err)
{
	char num[48];
	uint64_t u = 0;
	size_t i;

	switch (dt->kind) {
	case 'b':
		return cat(a, err, p[0] ? "True" : "False", NULL);
	case 'i':
	case 'u':
		for (i = dt->size; i-- > 0;)
			u = u << 8 | p[i];
		if (dt->kind == 'i' && dt->size < 8 && (u >> (dt->size * 8 - 1)) & 1)
			u |= ~(uint64_t)0 << (dt->size * 8); /* sign-extend */
		if (dt->kind == 'i')
			snprintf(num, sizeof(num), "%lld", (long long)u);
		else
			snprintf(num, sizeof(num), "%llu", (unsigned long long)u);
		return cat(a, err, num, NULL);
	case 'f':
		pt_repr_float_bits(load_float(p, dt->size), (int)dt->size * 8, num);
		return cat(a, err, num, NULL);
	case 'c':
		return complex_repr(a, load_float(p, dt->size / 2),
				    load_float(p + dt->size / 2, dt->size / 2), (int)dt->size * 4, err);
	case 'U':
	case 'S':
		return text_repr(a, p, dt, err);
	default:
		return NULL;
	}
}

static int np_scalar(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
		     struct pt_error *err)
{
	const struct pt_value *raw = at(v->u.obj.args, 1);
	struct np_dtype dt;
	unsigned char *buf;

	if (np_dtype_of(at(v->u.obj.args, 0), &dt) < 0 || dt.kind == 'O' ||
	    !is_kind(raw, PT_V_BYTES) || raw->u.s.len != dt.size)
		return 0;
	buf = pt_arena_alloc(a, dt.size + 1, err);
	if (!buf)
		return -1;
	memcpy(buf, raw->u.s.p, dt.size);
	to_little(buf, dt.size, &dt);
	out->text = element_repr(a, buf, &dt, err);
	if (!out->text)
		return err->code == PT_OK ? 0 : -1;
	out->type = cat(a, err, "numpy.", dt.scalar, NULL);
	if (!out->type)
		return -1;
	out->form = PT_PYOBJ_TEXT;
	return 0;
}

static int np_dtype_text(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
			 struct pt_error *err)
{
	struct np_dtype dt;
	char r[48];

	if (np_dtype_of(v, &dt) < 0 || dt.order == '>')
		return 0;
	if (dt.kind == 'U')
		snprintf(r, sizeof(r), "dtype('<U%zu')", dt.size / 4);
	else if (dt.kind == 'S')
		snprintf(r, sizeof(r), "dtype('S%zu')", dt.size);
	else
		snprintf(r, sizeof(r), "dtype('%s')", dt.name);
	out->text = cat(a, err, r, NULL);
	out->type = cat(a, err, "numpy.dtype[", dt.scalar, "]", NULL);
	if (!out->text || !out->type)
		return -1;
	out->form = PT_PYOBJ_TEXT;
	return 0;
}

/* Copies raw (Fortran order when fortran) to dst in C order. */
static void c_order(unsigned char *dst, const unsigned char *raw, const int64_t *shape, int nd,
		    size_t elsize, uint64_t numel, bool fortran)
{
	int64_t idx[NP_MAX_NDIM] = { 0 }, fstride[NP_MAX_NDIM];
	uint64_t e;
	int i;

	if (!fortran || nd < 2 || !elsize) { /* zero-sized elements: a huge numel, nothing to move */
		memcpy(dst, raw, numel * elsize);
		return;
	}
	for (i = 0; i < nd; i++)
		fstride[i] = i ? fstride[i - 1] * shape[i - 1] : 1;
	for (e = 0; e < numel; e++) {
		uint64_t src = 0;

		for (i = 0; i < nd; i++)
			src += (uint64_t)idx[i] * (uint64_t)fstride[i];
		memcpy(dst + e * elsize, raw + src * elsize, elsize);
		for (i = nd - 1; i >= 0 && ++idx[i] == shape[i]; i--)
			idx[i] = 0;
	}
}

static int np_array(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
		    struct pt_error *err)
{
	const struct pt_value *st = v->u.obj.state, *shape, *raw, *fortran;
	struct pt_array *arr;
	struct np_dtype dt;
	uint64_t numel = 1;
	size_t base, i;
	unsigned char *data;

	if (!pt_value_is_global(at(v->u.obj.args, 0), "numpy", "ndarray") || !is_kind(st, PT_V_TUPLE))
		return 0;
	base = st->u.seq.n == 5 ? 1 : 0; /* (version, shape, dtype, fortran, raw); old pickles lack version */
	if (st->u.seq.n != 4 + base)
		return 0;
	shape = at(st, base);
	fortran = at(st, base + 2);
	raw = at(st, base + 3);
	if (!is_kind(shape, PT_V_TUPLE) || shape->u.seq.n > NP_MAX_NDIM || !is_kind(fortran, PT_V_BOOL) ||
	    np_dtype_of(at(st, base + 1), &dt) < 0)
		return 0;
	for (i = 0; i < shape->u.seq.n; i++) {
		const struct pt_value *d = shape->u.seq.v[i];

		if (!is_kind(d, PT_V_INT) || d->u.i < 0 ||
		    (d->u.i && numel > UINT64_MAX / (uint64_t)d->u.i))
			return 0;
		numel *= (uint64_t)d->u.i;
	}
	if (dt.kind == 'O') { /* object arrays pickle their items, in C order */
		if (!is_kind(raw, PT_V_LIST) || raw->u.seq.n != numel)
			return 0;
		out->form = PT_PYOBJ_ITEMS;
		out->items = &raw->u.seq;
		out->item_fmt = shape->u.seq.n == 1 ? "[%zu]" : ".flat[%zu]";
		out->type = "numpy.ndarray";
		return 0;
	}
	if (!is_kind(raw, PT_V_BYTES) || (dt.size && numel > raw->u.s.len / dt.size) ||
	    numel * dt.size != raw->u.s.len)
		return 0;
	arr = pt_arena_alloc(a, sizeof(*arr), err);
	data = arr ? pt_arena_alloc(a, raw->u.s.len + 1, err) : NULL;
	if (!data || !(arr->shape = pt_arena_alloc(a, (shape->u.seq.n + 1) * sizeof(int64_t), err)) ||
	    !(arr->dtype = cat(a, err, dt.name, NULL)))
		return -1;
	arr->ndim = (int)shape->u.seq.n;
	for (i = 0; i < shape->u.seq.n; i++)
		arr->shape[i] = shape->u.seq.v[i]->u.i;
	c_order(data, (const unsigned char *)raw->u.s.p, arr->shape, arr->ndim, dt.size, numel,
		fortran->u.b);
	to_little(data, raw->u.s.len, &dt);
	out->form = PT_PYOBJ_ARRAY;
	out->type = "numpy.ndarray";
	out->data = (const char *)data;
	out->len = raw->u.s.len;
	out->array = arr;
	return 0;
}

/* ---- builtins, decimal, fractions, torch ---- */

/* repr of a literal value, NULL (err clear) when it has none */
static char *lit(struct pt_arena *a, const struct pt_value *v, struct pt_error *err)
{
	return v ? pt_value_repr(a, v, err) : NULL;
}

static bool is_number_text(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

/* repr() of fn(*args) for the builtin and library classes whose repr their arguments decide. */
static char *call_text(struct pt_arena *a, const char *fn, const struct pt_value *args,
		       struct pt_error *err)
{
	const struct pt_value *x = at(args, 0), *y = at(args, 1), *z = at(args, 2);
	size_t n = args->u.seq.n;

	if (!strcmp(fn, "builtins.complex")) {
		double re, im;

		if (n != 2 || !(is_kind(x, PT_V_FLOAT) || is_kind(x, PT_V_INT)) ||
		    !(is_kind(y, PT_V_FLOAT) || is_kind(y, PT_V_INT)))
			return NULL;
		re = x->kind == PT_V_FLOAT ? x->u.f : (double)x->u.i;
		im = y->kind == PT_V_FLOAT ? y->u.f : (double)y->u.i;
		return complex_repr(a, re, im, 64, err);
	}
	if (!strcmp(fn, "builtins.slice") && n == 3) {
		char *r0 = lit(a, x, err), *r1 = lit(a, y, err), *r2 = lit(a, z, err);

		return r0 && r1 && r2 ? cat(a, err, "slice(", r0, ", ", r1, ", ", r2, ")", NULL) : NULL;
	}
	if (!strcmp(fn, "builtins.range") && n == 3 && is_kind(x, PT_V_INT) && is_kind(y, PT_V_INT) &&
	    is_kind(z, PT_V_INT) && z->u.i != 0) {
		char *r0 = lit(a, x, err), *r1 = lit(a, y, err), *r2 = lit(a, z, err);

		if (!r0 || !r1 || !r2)
			return NULL;
		return z->u.i == 1 ? cat(a, err, "range(", r0, ", ", r1, ")", NULL)
				   : cat(a, err, "range(", r0, ", ", r1, ", ", r2, ")", NULL);
	}
	if (!strcmp(fn, "decimal.Decimal") && n == 1 && is_kind(x, PT_V_STR) &&
	    (is_number_text(x->u.s.p, ".eE+-") || !strcmp(x->u.s.p, "Infinity") ||
	     !strcmp(x->u.s.p, "-Infinity") || !strcmp(x->u.s.p, "NaN") || !strcmp(x->u.s.p, "sNaN")))
		return cat(a, err, "Decimal('", x->u.s.p, "')", NULL);
	if (!strcmp(fn, "fractions.Fraction")) {
		if (n == 2 && is_kind(x, PT_V_INT) && is_kind(y, PT_V_INT) && y->u.i > 0) {
			char *r0 = lit(a, x, err), *r1 = lit(a, y, err);

			return r0 && r1 ? cat(a, err, "Fraction(", r0, ", ", r1, ")", NULL) : NULL;
		}
		if (n == 1 && is_kind(x, PT_V_STR) && is_number_text(x->u.s.p + (x->u.s.p[0] == '-'), "/")) {
			const char *sl = strchr(x->u.s.p, '/');
			char *num = pt_arena_strndup(a, x->u.s.p, sl ? (size_t)(sl - x->u.s.p) : x->u.s.len, err);

			if (!num || (sl && (!sl[1] || strchr(sl + 1, '/'))))
				return NULL;
			return cat(a, err, "Fraction(", num, ", ", sl ? sl + 1 : "1", ")", NULL);
		}
		return NULL;
	}
	if (!strcmp(fn, "torch.device") && is_kind(x, PT_V_STR) && !strchr(x->u.s.p, ':')) {
		char *t = lit(a, x, err), *i = NULL;

		if (!t)
			return NULL;
		if (n == 1 || (n == 2 && is_kind(y, PT_V_NONE)))
			return cat(a, err, "device(type=", t, ")", NULL);
		if (n == 2 && is_kind(y, PT_V_INT) && y->u.i >= 0 && (i = lit(a, y, err)))
			return cat(a, err, "device(type=", t, ", index=", i, ")", NULL);
		return NULL;
	}
	return NULL;
}

static int known_call(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
		      struct pt_error *err)
{
	const struct pt_value *c = v->u.obj.callable, *args = v->u.obj.args;
	char fn[128];

	if (!is_kind(c, PT_V_GLOBAL) || !is_kind(args, PT_V_TUPLE) || v->u.obj.how != 'R' ||
	    v->u.obj.kwargs || v->u.obj.items.n || v->u.obj.appends.n)
		return 0;
	if (is_np(c, "scalar"))
		return v->u.obj.state ? 0 : np_scalar(a, v, out, err);
	if (is_np(c, "_reconstruct"))
		return np_array(a, v, out, err);
	if (pt_value_is_global(c, "numpy", "dtype"))
		return np_dtype_text(a, v, out, err);
	if (v->u.obj.state)
		return 0;
	snprintf(fn, sizeof(fn), "%s.%s", c->u.global.module, c->u.global.name);
	out->text = call_text(a, fn, args, err);
	if (!out->text)
		return err->code == PT_OK || err->code == PT_ERR_PICKLE ? (pt_error_clear(err), 0) : -1;
	out->type = pt_pyobj_type(a, v, err);
	if (!out->type)
		return -1;
	out->form = PT_PYOBJ_TEXT;
	return 0;
}

static int size_text(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
		     struct pt_error *err)
{
	struct pt_value list = *v;
	char *r;

	list.type = NULL;
	r = pt_value_repr(a, &list, err); /* "(3, 4)" or "(3,)" or "()" */
	if (!r)
		return err->code == PT_OK || err->code == PT_ERR_PICKLE ? (pt_error_clear(err), 0) : -1;
	if (v->u.seq.n == 1)
		r[strlen(r) - 2] = '\0'; /* drop ",)": torch.Size([3]) */
	else
		r[strlen(r) - 1] = '\0';
	out->text = cat(a, err, "torch.Size([", r + 1, "])", NULL);
	out->type = "torch.Size";
	if (!out->text)
		return -1;
	out->form = PT_PYOBJ_TEXT;
	return 0;
}

int pt_pyobj_describe(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
		      struct pt_error *err)
{
	const struct pt_vobj *o;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (v->kind == PT_V_TUPLE && v->type && !strcmp(v->type, "torch.Size")) {
		for (i = 0; i < v->u.seq.n; i++)
			if (v->u.seq.v[i]->kind != PT_V_INT)
				return 0;
		return size_text(a, v, out, err);
	}
	if (v->kind != PT_V_OBJECT)
		return 0;
	if (known_call(a, v, out, err) < 0)
		return -1;
	if (out->form != PT_PYOBJ_OTHER)
		return 0;
	o = &v->u.obj;
	/*
	 * A class called with arguments and given no state is a tuple
	 * subclass's __getnewargs__ (namedtuples): its items are the arguments.
	 */
	if (o->how == 0x81 && is_kind(o->args, PT_V_TUPLE) && o->args->u.seq.n && !o->state &&
	    !o->items.n && !o->appends.n) {
		out->form = PT_PYOBJ_ITEMS;
		out->items = &o->args->u.seq;
		out->item_fmt = "[%zu]";
	}
	out->type = pt_pyobj_type(a, v, err);
	return out->type ? 0 : -1;
}

/* ---- types ---- */

/* Lowercase names that are classes, where the capital letter rule fails. */
static const char *const lower_classes[] = {
	"builtins.complex", "builtins.slice", "builtins.range", "builtins.set", "builtins.frozenset",
	"builtins.bytearray", "builtins.bytes", "builtins.object", "builtins.list", "builtins.dict",
	"builtins.tuple", "builtins.int", "builtins.float", "builtins.str", "builtins.bool",
	"builtins.type", "builtins.property", "builtins.enumerate", "builtins.memoryview",
	"collections.deque", "collections.defaultdict", "datetime.date", "datetime.datetime",
	"datetime.time", "datetime.timedelta", "datetime.timezone", "functools.partial",
	"array.array", "numpy.ndarray", "numpy.matrix", "torch.device", "torch.dtype",
	"torch.layout", "torch.memory_format", "torch.finfo", "torch.iinfo",
};

static bool is_class(const char *module, const char *name)
{
	const char *last = strrchr(name, '.');
	char full[160];
	size_t i;

	last = last ? last + 1 : name;
	if (*last >= 'A' && *last <= 'Z')
		return true;
	snprintf(full, sizeof(full), "%s.%s", module, name);
	for (i = 0; i < sizeof(lower_classes) / sizeof(*lower_classes); i++)
		if (!strcmp(full, lower_classes[i]))
			return true;
	return false;
}

const char *pt_pyobj_type(struct pt_arena *a, const struct pt_value *v, struct pt_error *err)
{
	const struct pt_value *c = v->u.obj.callable, *cls = at(v->u.obj.args, 0);
	bool call = v->u.obj.how == 'R';
	struct np_dtype dt;

	if (!is_kind(c, PT_V_GLOBAL))
		return "object";
	if (call && is_np(c, "scalar") && np_dtype_of(cls, &dt) == 0)
		return cat(a, err, "numpy.", dt.scalar, NULL);
	if (call && pt_value_is_global(c, "numpy", "dtype") && np_dtype_of(v, &dt) == 0)
		return cat(a, err, "numpy.dtype[", dt.scalar, "]", NULL);
	/* helpers that make an instance of the class they are given */
	if ((pt_value_is_global(c, "copyreg", "_reconstructor") ||
	     pt_value_is_global(c, "copyreg", "__newobj__") ||
	     pt_value_is_global(c, "copyreg", "__newobj_ex__") || is_np(c, "_reconstruct")) &&
	    is_kind(cls, PT_V_GLOBAL)) {
		c = cls;
		call = false;
	}
	if (call && !is_class(c->u.global.module, c->u.global.name))
		return cat(a, err, c->u.global.module, ".", c->u.global.name, "()", NULL);
	if (!strcmp(c->u.global.module, "builtins"))
		return cat(a, err, c->u.global.name, NULL);
	return cat(a, err, c->u.global.module, ".", c->u.global.name, NULL);
}
