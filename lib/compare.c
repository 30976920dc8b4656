/*
 * compare.c - element-wise tensor comparison (compare.h).
 *
 * The common case is two large tensors that are byte-for-byte equal, or
 * differ in a few elements: a chunk is first compared with memcmp, then
 * in blocks of 256 bytes, and only the elements of a differing block are
 * decoded. So equal data costs two reads and a memcmp, which is why the
 * decoders can be plain scalar code.
 *
 * The second tensor is read by a thread of the comparer while the caller's
 * thread reads the first, so that with warm caches both copies (each one a
 * memory-bound pread) overlap. A handoff costs a few microseconds, more
 * than reading a small chunk, so chunks under par_min bytes are read one
 * after the other on the calling thread (at 20,000 tensors of 53 KB,
 * handing each off measured no faster than reading both in turn). Chunks
 * are 1 MiB: larger ones bought no speed, and memory stays a few MiB.
 */
#include "compare.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CHUNK ((size_t)1 << 20)
#define PAR_MIN ((size_t)256 << 10)
#define BLOCK 256

enum mf_style { MF_IEEE, MF_FN, MF_FNUZ };

void pt_compare_opts_default(struct pt_compare_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rtol = 1e-05;
	o->atol = 1e-08;
	o->chunk = DEFAULT_CHUNK;
	o->par_min = PAR_MIN;
}

void pt_compare_stats_init(struct pt_compare_stats *st)
{
	memset(st, 0, sizeof(*st));
}

/*
 * A small float of 1 sign bit, ebits exponent bits and mbits mantissa
 * bits. IEEE: the top exponent is inf/NaN (float16, e5m2); FN: no inf, only
 * all ones is NaN (e4m3fn); FNUZ: no inf, no -0, the bits of -0 are NaN.
 */
static double minifloat(unsigned bits, int ebits, int mbits, int bias, enum mf_style style)
{
	unsigned sign = (bits >> (ebits + mbits)) & 1;
	unsigned emax = (1u << ebits) - 1, mmax = (1u << mbits) - 1;
	unsigned e = (bits >> mbits) & emax, m = bits & mmax;
	double v;

	if (style == MF_FNUZ && sign && !e && !m)
		return NAN;
	if (style == MF_IEEE && e == emax)
		return m ? NAN : (sign ? -INFINITY : INFINITY);
	if (style == MF_FN && e == emax && m == mmax)
		return NAN;
	if (e)
		v = ldexp(1.0 + (double)m / (double)(1u << mbits), (int)e - bias);
	else
		v = ldexp((double)m / (double)(1u << mbits), 1 - bias);
	return sign ? -v : v;
}

static uint64_t load_le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static double f16(const unsigned char *p)
{
	return minifloat((unsigned)load_le(p, 2), 5, 10, 15, MF_IEEE);
}

static double f32(const unsigned char *p)
{
	uint32_t u = (uint32_t)load_le(p, 4);
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static double f64(const unsigned char *p)
{
	uint64_t u = load_le(p, 8);
	double d;

	memcpy(&d, &u, 8);
	return d;
}

static void set_float(struct pt_scalar *s, double re)
{
	memset(s, 0, sizeof(*s));
	s->kind = PT_SC_FLOAT;
	s->re = re;
}

static void set_int(struct pt_scalar *s, int64_t i, enum pt_scalar_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->i = i;
	s->re = (double)i;
}

int pt_scalar_decode(enum pt_dtype dt, const void *v, struct pt_scalar *out)
{
	const unsigned char *p = v;
	uint32_t b16;
	float f;

	switch (dt) {
	case PT_DT_FLOAT64: set_float(out, f64(p)); return 0;
	case PT_DT_FLOAT32: set_float(out, f32(p)); return 0;
	case PT_DT_FLOAT16: set_float(out, f16(p)); return 0;
	case PT_DT_BFLOAT16:
		b16 = (uint32_t)load_le(p, 2) << 16;
		memcpy(&f, &b16, 4);
		set_float(out, f);
		return 0;
	case PT_DT_FLOAT8_E5M2: set_float(out, minifloat(p[0], 5, 2, 15, MF_IEEE)); return 0;
	case PT_DT_FLOAT8_E4M3FN: set_float(out, minifloat(p[0], 4, 3, 7, MF_FN)); return 0;
	case PT_DT_FLOAT8_E5M2FNUZ: set_float(out, minifloat(p[0], 5, 2, 16, MF_FNUZ)); return 0;
	case PT_DT_FLOAT8_E4M3FNUZ: set_float(out, minifloat(p[0], 4, 3, 8, MF_FNUZ)); return 0;
	case PT_DT_FLOAT8_E8M0FNU:
		set_float(out, p[0] == 0xff ? NAN : ldexp(1.0, (int)p[0] - 127));
		return 0;
	case PT_DT_INT64: set_int(out, (int64_t)load_le(p, 8), PT_SC_INT); return 0;
	case PT_DT_INT32:
	case PT_DT_QINT32: set_int(out, (int32_t)load_le(p, 4), PT_SC_INT); return 0;
	case PT_DT_INT16: set_int(out, (int16_t)load_le(p, 2), PT_SC_INT); return 0;
	case PT_DT_INT8:
	case PT_DT_QINT8: set_int(out, (int8_t)p[0], PT_SC_INT); return 0;
	case PT_DT_UINT8:
	case PT_DT_QUINT8: set_int(out, p[0], PT_SC_INT); return 0;
	case PT_DT_UINT16: set_int(out, (int64_t)load_le(p, 2), PT_SC_INT); return 0;
	case PT_DT_UINT32: set_int(out, (int64_t)load_le(p, 4), PT_SC_INT); return 0;
	case PT_DT_UINT64:
		memset(out, 0, sizeof(*out));
		out->kind = PT_SC_UINT;
		out->u = load_le(p, 8);
		out->re = (double)out->u;
		return 0;
	case PT_DT_BOOL: set_int(out, p[0] != 0, PT_SC_BOOL); return 0;
	case PT_DT_COMPLEX32:
	case PT_DT_COMPLEX64:
	case PT_DT_COMPLEX128:
		memset(out, 0, sizeof(*out));
		out->kind = PT_SC_COMPLEX;
		if (dt == PT_DT_COMPLEX32) {
			out->re = f16(p);
			out->im = f16(p + 2);
		} else if (dt == PT_DT_COMPLEX64) {
			out->re = f32(p);
			out->im = f32(p + 4);
		} else {
			out->re = f64(p);
			out->im = f64(p + 8);
		}
		return 0;
	default:
		return -1;
	}
}

/* Python's repr of a float, in a buffer of at least 40 bytes; in a complex, 1.0 is 1. */
static void repr_float(double d, char *out, bool in_complex)
{
	size_t n;

	if (isnan(d))
		strcpy(out, "nan");
	else
		pt_repr_float(d, out);
	n = strlen(out);
	if (in_complex && n > 2 && !strcmp(out + n - 2, ".0"))
		out[n - 2] = '\0';
}

void pt_scalar_format(const struct pt_scalar *s, char out[96])
{
	char re[40], im[40];

	switch (s->kind) {
	case PT_SC_INT: snprintf(out, 96, "%lld", (long long)s->i); return;
	case PT_SC_UINT: snprintf(out, 96, "%llu", (unsigned long long)s->u); return;
	case PT_SC_BOOL: strcpy(out, s->i ? "True" : "False"); return;
	case PT_SC_FLOAT: repr_float(s->re, out, false); return;
	case PT_SC_COMPLEX:
		/* Python: (1+2j), (-0-1j), 3j when the real part is +0 */
		repr_float(s->im, im, true);
		if (s->re == 0 && !signbit(s->re)) {
			snprintf(out, 96, "%sj", im);
			return;
		}
		repr_float(s->re, re, true);
		snprintf(out, 96, "(%s%s%sj)", re, im[0] == '-' ? "" : "+", im);
		return;
	}
	out[0] = '\0';
}

static bool integral(const struct pt_scalar *s)
{
	return s->kind == PT_SC_INT || s->kind == PT_SC_UINT || s->kind == PT_SC_BOOL;
}

static __int128 int_value(const struct pt_scalar *s)
{
	return s->kind == PT_SC_UINT ? (__int128)s->u : (__int128)s->i;
}

static bool has_nan(const struct pt_scalar *s)
{
	return isnan(s->re) || isnan(s->im);
}

/* Whether a and b hold the same number (both NaN counts as the same). */
static bool same_value(const struct pt_scalar *a, const struct pt_scalar *b)
{
	if (integral(a) && integral(b))
		return int_value(a) == int_value(b);
	if (has_nan(a) || has_nan(b))
		return has_nan(a) && has_nan(b);
	return a->re == b->re && a->im == b->im;
}

/* One element that differs: counts it and updates the maxima. */
static void note_diff(const struct pt_scalar *a, const struct pt_scalar *b, uint64_t at,
		      const struct pt_compare_opts *o, struct pt_compare_stats *st)
{
	double d, mag, rel;
	bool close;

	st->ndiff++;
	if (has_nan(a) || has_nan(b)) {
		st->nnan++;
		if (!(o->tolerance && o->equal_nan && has_nan(a) && has_nan(b)))
			st->nfar++;
		return;
	}
	if (integral(a) && integral(b)) {
		__int128 x = int_value(a) - int_value(b);

		d = (double)(x < 0 ? -x : x);
		mag = fabs((double)int_value(b));
	} else {
		d = hypot(a->re - b->re, a->im - b->im);
		mag = hypot(b->re, b->im);
	}
	rel = d == 0 ? 0 : mag == 0 ? INFINITY : d / mag;
	/* torch.isclose: infinities are close only to themselves */
	close = o->tolerance && isfinite(d) && d <= o->atol + o->rtol * mag;
	if (!close)
		st->nfar++;
	if (!st->have_max || d > st->max_abs) {
		st->max_abs = d;
		st->abs_at = at;
		st->abs_a = *a;
		st->abs_b = *b;
	}
	if (!st->have_max || rel > st->max_rel) {
		st->max_rel = rel;
		st->rel_at = at;
	}
	st->have_max = true;
}

/* Elements [i, i + n) of a block whose bytes differ somewhere. */
static void compare_elems(enum pt_dtype da, const unsigned char *a, enum pt_dtype db,
			  const unsigned char *b, size_t n, uint64_t first,
			  const struct pt_compare_opts *o, struct pt_compare_stats *st)
{
	size_t ea = pt_dtype_size(da), eb = pt_dtype_size(db), i;
	struct pt_scalar x, y;

	for (i = 0; i < n; i++, a += ea, b += eb) {
		if (da == db && !memcmp(a, b, ea))
			continue;
		if (pt_scalar_decode(da, a, &x) < 0 || pt_scalar_decode(db, b, &y) < 0) {
			if (da != db || memcmp(a, b, ea)) {
				st->ndiff++;
				st->nfar++;
				st->nraw++;
			}
			continue;
		}
		if (da != db && same_value(&x, &y))
			continue;
		note_diff(&x, &y, first + i, o, st);
	}
}

void pt_compare_chunk(enum pt_dtype da, const void *va, enum pt_dtype db, const void *vb,
		      size_t n, uint64_t first, const struct pt_compare_opts *o,
		      struct pt_compare_stats *st)
{
	const unsigned char *a = va, *b = vb;
	size_t es = pt_dtype_size(da), per, i, k;

	st->numel += n;
	if (!n || !es)
		return;
	if (da != db) {
		compare_elems(da, a, db, b, n, first, o, st);
		return;
	}
	if (!memcmp(a, b, n * es))
		return;
	per = BLOCK / es ? BLOCK / es : 1;
	for (i = 0; i < n; i += k) {
		k = n - i < per ? n - i : per;
		if (memcmp(a + i * es, b + i * es, k * es))
			compare_elems(da, a + i * es, db, b + i * es, k, first + i, o, st);
	}
}

struct pt_comparer {
	struct pt_compare_opts o;
	unsigned char *buf[2];
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum { JOB_IDLE, JOB_POSTED, JOB_DONE, JOB_QUIT } state;
	/* the posted read of side B, and its outcome */
	const struct pt_checkpoint *ck;
	const struct pt_tensor *t;
	size_t size;
	uint64_t off;
	int rc;
	struct pt_error err;
};

/* Reads exactly size bytes at off, or fails. */
static int read_full(const struct pt_checkpoint *ck, const struct pt_tensor *t, unsigned char *buf,
		     size_t size, uint64_t off, struct pt_error *err)
{
	while (size) {
		int64_t got = pt_tensor_read(ck, t, buf, size, off, err);

		if (got < 0)
			return -1;
		if (got == 0)
			return pt_error_set(err, PT_ERR_IO, "tensor ends before its size");
		buf += got;
		off += (uint64_t)got;
		size -= (size_t)got;
	}
	return 0;
}

static void *reader(void *arg)
{
	struct pt_comparer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->state != JOB_POSTED && c->state != JOB_QUIT)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->state == JOB_QUIT)
			break;
		pthread_mutex_unlock(&c->mu);
		pt_error_clear(&c->err);
		c->rc = read_full(c->ck, c->t, c->buf[1], c->size, c->off, &c->err);
		pthread_mutex_lock(&c->mu);
		c->state = JOB_DONE;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct pt_comparer *pt_comparer_new(const struct pt_compare_opts *o, struct pt_error *err)
{
	struct pt_comparer *c = calloc(1, sizeof(*c));
	int e;

	if (!c)
		goto out_nomem;
	c->o = *o;
	if (c->o.chunk < 16)
		c->o.chunk = DEFAULT_CHUNK;
	c->buf[0] = malloc(c->o.chunk);
	c->buf[1] = malloc(c->o.chunk);
	if (!c->buf[0] || !c->buf[1])
		goto out_nomem;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	e = pthread_create(&c->thread, NULL, reader, c);
	if (e) {
		pt_error_sys(err, e, "cannot start a reader thread: %s", strerror(e));
		goto out_free;
	}
	c->started = true;
	return c;

out_nomem:
	pt_error_set(err, PT_ERR_NOMEM, "out of memory");
out_free:
	pt_comparer_free(c);
	return NULL;
}

void pt_comparer_free(struct pt_comparer *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->state = JOB_QUIT;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	if (c->buf[0] && c->buf[1]) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
	}
	free(c->buf[0]);
	free(c->buf[1]);
	free(c);
}

int pt_comparer_run(struct pt_comparer *c, const struct pt_checkpoint *cka,
		    const struct pt_tensor *ta, const struct pt_checkpoint *ckb,
		    const struct pt_tensor *tb, struct pt_compare_stats *st, struct pt_error *err)
{
	size_t ea = pt_dtype_size(ta->dtype), eb = pt_dtype_size(tb->dtype);
	size_t per = c->o.chunk / (ea > eb ? ea : eb);
	uint64_t first, n;
	bool par;
	int rb;

	pt_compare_stats_init(st);
	if (ta->numel != tb->numel || !ea || !eb)
		return pt_error_set(err, PT_ERR_INVAL, "tensors of different sizes");
	for (first = 0; first < ta->numel; first += n) {
		n = ta->numel - first < per ? ta->numel - first : per;
		par = n * (ea + eb) >= c->o.par_min;
		if (par) {
			pthread_mutex_lock(&c->mu);
			c->ck = ckb;
			c->t = tb;
			c->size = (size_t)n * eb;
			c->off = first * eb;
			c->state = JOB_POSTED;
			pthread_cond_broadcast(&c->cv);
			pthread_mutex_unlock(&c->mu);
		}
		if (read_full(cka, ta, c->buf[0], (size_t)n * ea, first * ea, err) < 0) {
			st->side = 0;
			if (par)
				goto out_wait;
			return -1;
		}
		if (par) {
			pthread_mutex_lock(&c->mu);
			while (c->state != JOB_DONE)
				pthread_cond_wait(&c->cv, &c->mu);
			c->state = JOB_IDLE;
			pthread_mutex_unlock(&c->mu);
			rb = c->rc;
			if (rb < 0)
				*err = c->err;
		} else {
			rb = read_full(ckb, tb, c->buf[1], (size_t)n * eb, first * eb, err);
		}
		if (rb < 0) {
			st->side = 1;
			return -1;
		}
		pt_compare_chunk(ta->dtype, c->buf[0], tb->dtype, c->buf[1], (size_t)n, first,
				 &c->o, st);
	}
	return 0;

out_wait:
	/* the thread still writes into buf[1]: let it finish before the next call */
	pthread_mutex_lock(&c->mu);
	while (c->state != JOB_DONE)
		pthread_cond_wait(&c->cv, &c->mu);
	c->state = JOB_IDLE;
	pthread_mutex_unlock(&c->mu);
	return -1;
}
