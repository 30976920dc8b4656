/*
 * view.c - a view's content gathered chunk by chunk (see view.h).
 *
 * The view is first simplified: dimensions of size 1 are dropped and
 * neighbours that walk the storage as one dimension are merged, so a
 * contiguous tensor has one dimension and t.t() two. A chunk is a box of
 * that index space, which is a run of the output: the dimensions before p
 * are fixed, dimension p is cut to an aligned range, those after are whole.
 *
 * The storage bytes a chunk needs (its footprint) are described by the
 * box's dimensions sorted by storage stride, largest first, leaving out
 * those of extent 1 or stride 0 (an expand repeats what it reads). A plan
 * with level L reads one piece per combination of the first L of them, each
 * piece spanning what the others cover: L = 0 is one pread of the whole
 * span, L = all is one pread per distinct element. The plan of least cost
 * (preads x PT_VIEW_PREAD_COST + bytes) that fits the staging buffer wins,
 * and so does the chunk size (the budget, then halves down to 64 KiB) of
 * least cost per output byte: a step-2 slice takes a half-budget chunk read
 * in one pread rather than a whole one read element by element.
 *
 * The staging buffer holds the pieces side by side, so each box dimension
 * has a stride in it (the storage stride inside a piece, the pieces' own
 * layout outside) and the gather is a strided copy: loops over the outer
 * dimensions around a 2-D kernel, tiled 32 x 32, over the output's
 * innermost dimension and the dimension that is densest in the staging
 * buffer, specialised per element size (4-byte transposes by 4 x 4 SSE2
 * register blocks). Pieces are read and gathered a band of the outermost
 * footprint dimension (PT_VIEW_BAND bytes) at a time, so the gather finds
 * them in the cache. A box whose footprint is dense and in output order is
 * read straight into the output.
 *
 * The kernel's readahead sends requests out of order now and then: one
 * for the end of a chunk after the first of the next. A reader moving on
 * keeps the last PT_VIEW_TAIL bytes of the chunk it leaves in front of the
 * new one (out holds both: chunks are budget - PT_VIEW_TAIL), so such a
 * request does not gather that chunk a second time.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pages.h"

#define MAXD	     64
#define MIN_CHUNK    ((size_t)64 << 10)
#define TILE	     32
#define PT_VIEW_BAND ((uint64_t)256 << 10)

struct pt_view {
	size_t budget;		    /* output bytes per chunk; staging bytes */
	unsigned char *out, *stage; /* pages.h buffers of budget bytes, or NULL */
	const struct pt_tensor *t;  /* whose chunk out holds, or NULL */
	unsigned swap;
	uint64_t lo, hi; /* the content bytes held */
	/*
	 * out holds tailcap bytes, then the chunk: the last bytes of the chunk
	 * before are kept in front of it, for late requests
	 */
	size_t tailcap;
	const struct pt_tensor *tail_t;
	unsigned tail_swap;
	uint64_t tail_lo, tail_hi;
	uint64_t preads;
};

/* The view with size-1 dimensions dropped and mergeable neighbours merged. */
struct geom {
	int nd;
	size_t es;
	uint64_t off;
	uint64_t shape[MAXD], stride[MAXD];
	uint64_t inner[MAXD]; /* elements per index of each dimension */
};

/* One chunk: content elements [first, first + count), a box from base. */
struct chunk {
	uint64_t first, count, base;
	int nd;
	uint64_t ext[MAXD], stride[MAXD]; /* in output order, storage strides */
};

struct plan {
	int nf, level;
	int dim[MAXD];			  /* the box dimension of each footprint one */
	uint64_t ext[MAXD], stride[MAXD]; /* footprint dimensions, largest stride first */
	uint64_t npre, span;		  /* pieces, elements per piece */
	uint64_t pitch;			  /* elements from piece to piece in the staging buffer */
	double cost;
};

struct pt_view *pt_view_open(size_t budget)
{
	struct pt_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	if (budget < MIN_CHUNK)
		budget = MIN_CHUNK;
	v->budget = (budget + MIN_CHUNK - 1) / MIN_CHUNK * MIN_CHUNK;
	v->tailcap = v->budget >= 4 * PT_VIEW_TAIL ? PT_VIEW_TAIL : 0;
	return v;
}

void pt_view_close(struct pt_view *v)
{
	if (!v)
		return;
	pt_pages_free(v->out, v->budget);
	pt_pages_free(v->stage, v->budget);
	free(v);
}

void pt_view_range(const struct pt_view *v, uint64_t *lo, uint64_t *hi)
{
	*lo = v->t ? v->lo : 0;
	*hi = v->t ? v->hi : 0;
}

bool pt_view_holds(const struct pt_view *v, const struct pt_tensor *t, uint64_t off)
{
	return (v->t == t && off >= v->lo && off < v->hi) ||
	       (v->tail_t == t && off >= v->tail_lo && off < v->tail_hi);
}

uint64_t pt_view_preads(const struct pt_view *v)
{
	return v->preads;
}

static void geom_make(const struct pt_tensor *t, struct geom *g)
{
	int i, n = 0;

	g->es = pt_dtype_size(t->dtype);
	g->off = (uint64_t)t->offset;
	for (i = 0; i < t->ndim && i < MAXD; i++) {
		uint64_t sh = (uint64_t)t->shape[i], st = (uint64_t)t->stride[i], m;

		if (sh == 1)
			continue;
		if (n > 0 && !__builtin_mul_overflow(st, sh, &m) && m == g->stride[n - 1]) {
			g->shape[n - 1] *= sh;
			g->stride[n - 1] = st;
			continue;
		}
		g->shape[n] = sh;
		g->stride[n] = st;
		n++;
	}
	g->nd = n;
	for (i = n - 1; i >= 0; i--)
		g->inner[i] = i == n - 1 ? 1 : g->inner[i + 1] * g->shape[i + 1];
}

/* The chunk of at most cb bytes that holds content element e. */
static void chunk_at(const struct geom *g, uint64_t e, size_t cb, struct chunk *c)
{
	uint64_t cap = cb / g->es, cnt, idx, a, b, r = e;
	int p, j;

	if (cap == 0)
		cap = 1;
	c->first = 0;
	c->base = g->off;
	if (g->nd == 0) { /* one element */
		c->count = 1;
		c->nd = 1;
		c->ext[0] = 1;
		c->stride[0] = 0;
		return;
	}
	for (p = 0; g->inner[p] > cap; p++)
		; /* inner[nd - 1] is 1 */
	cnt = cap / g->inner[p];
	if (cnt > g->shape[p])
		cnt = g->shape[p];
	for (j = 0; j < p; j++) {
		idx = r / g->inner[j];
		r %= g->inner[j];
		c->base += idx * g->stride[j];
		c->first += idx * g->inner[j];
	}
	a = r / g->inner[p] / cnt * cnt;
	b = a + cnt < g->shape[p] ? a + cnt : g->shape[p];
	c->first += a * g->inner[p];
	c->base += a * g->stride[p];
	c->count = (b - a) * g->inner[p];
	c->nd = g->nd - p;
	c->ext[0] = b - a;
	c->stride[0] = g->stride[p];
	for (j = p + 1; j < g->nd; j++) {
		c->ext[j - p] = g->shape[j];
		c->stride[j - p] = g->stride[j];
	}
}

/* The cheapest way to read c's footprint into cap staging bytes. */
static void plan_make(const struct chunk *c, size_t es, size_t cap, struct plan *pl)
{
	uint64_t span[MAXD + 1], npre = 1, bytes, pitch;
	int i, j, L;

	pl->nf = 0;
	for (i = 0; i < c->nd; i++) {
		if (c->ext[i] < 2 || c->stride[i] == 0)
			continue;
		for (j = pl->nf; j > 0 && pl->stride[j - 1] < c->stride[i]; j--) {
			pl->stride[j] = pl->stride[j - 1];
			pl->ext[j] = pl->ext[j - 1];
			pl->dim[j] = pl->dim[j - 1];
		}
		pl->stride[j] = c->stride[i];
		pl->ext[j] = c->ext[i];
		pl->dim[j] = i;
		pl->nf++;
	}
	span[pl->nf] = 1; /* within the storage, so no overflow */
	for (L = pl->nf - 1; L >= 0; L--)
		span[L] = span[L + 1] + (pl->ext[L] - 1) * pl->stride[L];
	pl->level = -1;
	for (L = 0; L <= pl->nf; L++) {
		if (L > 0)
			npre *= pl->ext[L - 1]; /* at most the chunk's count */
		if (__builtin_mul_overflow(npre, span[L], &bytes) ||
		    __builtin_mul_overflow(bytes, (uint64_t)es, &bytes) || bytes > cap)
			continue;
		/*
		 * 64 bytes between pieces of 256 or more where they fit: a
		 * power-of-two pitch maps a column of them to few cache sets
		 */
		pitch = span[L];
		if (L > 0 && span[L] * es >= 256 && bytes + npre * 64 <= cap)
			pitch += 64 / es;
		if (pl->level < 0 || (double)npre * PT_VIEW_PREAD_COST + (double)bytes < pl->cost) {
			pl->level = L;
			pl->npre = npre;
			pl->span = span[L];
			pl->pitch = pitch;
			pl->cost = (double)npre * PT_VIEW_PREAD_COST + (double)bytes;
		}
	}
}

/*
 * The 2-D kernel: out[i1 * os1 + i0 * os0] = src[i1 * bs1 + i0 * bs0] for
 * i1 < n1, i0 < n0 (byte strides), in 32 x 32 tiles; rows when both rows
 * are contiguous or the source is one repeated element.
 */
#define KERNEL(NAME, ES)                                                                           \
	static void NAME(unsigned char *out, const unsigned char *src, uint64_t n1, uint64_t n0,   \
			 size_t os1, size_t os0, size_t bs1, size_t bs0)                           \
	{                                                                                          \
		uint64_t a1, a0, i1, i0, z1, z0;                                                   \
		if (bs0 == (ES) && os0 == (ES)) {                                                  \
			for (i1 = 0; i1 < n1; i1++)                                                \
				memcpy(out + i1 * os1, src + i1 * bs1, n0 * (ES));                 \
			return;                                                                    \
		}                                                                                  \
		if (bs0 == 0) {                                                                    \
			for (i1 = 0; i1 < n1; i1++)                                                \
				for (i0 = 0; i0 < n0; i0++)                                        \
					memcpy(out + i1 * os1 + i0 * os0, src + i1 * bs1, ES);     \
			return;                                                                    \
		}                                                                                  \
		for (a1 = 0; a1 < n1; a1 += TILE)                                                  \
			for (a0 = 0; a0 < n0; a0 += TILE) {                                        \
				z1 = a1 + TILE < n1 ? a1 + TILE : n1;                              \
				z0 = a0 + TILE < n0 ? a0 + TILE : n0;                              \
				for (i1 = a1; i1 < z1; i1++)                                       \
					for (i0 = a0; i0 < z0; i0++)                               \
						memcpy(out + i1 * os1 + i0 * os0,                  \
						       src + i1 * bs1 + i0 * bs0, ES);             \
			}                                                                          \
	}

KERNEL(kernel1, 1)
KERNEL(kernel2, 2)
KERNEL(kernel4s, 4)
KERNEL(kernel8, 8)
KERNEL(kernel16, 16)

#ifdef __SSE2__
/* One 4 x 4 block of 4-byte elements: shuffles only, so the bits are kept. */
static inline void block4x4(unsigned char *out, const unsigned char *src, size_t os1, size_t bs0)
{
	__m128 r0 = _mm_loadu_ps((const float *)src);
	__m128 r1 = _mm_loadu_ps((const float *)(src + bs0));
	__m128 r2 = _mm_loadu_ps((const float *)(src + 2 * bs0));
	__m128 r3 = _mm_loadu_ps((const float *)(src + 3 * bs0));

	_MM_TRANSPOSE4_PS(r0, r1, r2, r3);
	_mm_storeu_ps((float *)out, r0);
	_mm_storeu_ps((float *)(out + os1), r1);
	_mm_storeu_ps((float *)(out + 2 * os1), r2);
	_mm_storeu_ps((float *)(out + 3 * os1), r3);
}
#endif

/*
 * 4-byte elements. A transpose (the source contiguous along i1, strided
 * along i0) goes by 4 x 4 blocks in registers within each tile, the edges
 * by the scalar kernel.
 */
static void kernel4(unsigned char *out, const unsigned char *src, uint64_t n1, uint64_t n0,
		    size_t os1, size_t os0, size_t bs1, size_t bs0)
{
#ifdef __SSE2__
	if (os0 == 4 && bs1 == 4 && bs0 != 4 && bs0 != 0 && n1 >= 4 && n0 >= 4) {
		uint64_t m1 = n1 & ~(uint64_t)3, m0 = n0 & ~(uint64_t)3, a1, a0, i1, i0, z1, z0;

		for (a1 = 0; a1 < m1; a1 += TILE)
			for (a0 = 0; a0 < m0; a0 += TILE) {
				z1 = a1 + TILE < m1 ? a1 + TILE : m1;
				z0 = a0 + TILE < m0 ? a0 + TILE : m0;
				for (i1 = a1; i1 < z1; i1 += 4)
					for (i0 = a0; i0 < z0; i0 += 4)
						block4x4(out + i1 * os1 + i0 * 4,
							 src + i1 * 4 + i0 * bs0, os1, bs0);
			}
		kernel4s(out + m1 * os1, src + m1 * 4, n1 - m1, n0, os1, 4, bs1, bs0);
		kernel4s(out + m0 * 4, src + m0 * bs0, m1, n0 - m0, os1, 4, bs1, bs0);
		return;
	}
#endif
	kernel4s(out, src, n1, n0, os1, os0, bs1, bs0);
}

typedef void kernel_fn(unsigned char *, const unsigned char *, uint64_t, uint64_t, size_t, size_t,
		       size_t, size_t);

static kernel_fn *kernel_for(size_t es)
{
	switch (es) {
	case 1: return kernel1;
	case 2: return kernel2;
	case 4: return kernel4;
	case 8: return kernel8;
	default: return kernel16;
	}
}

/*
 * out (element strides os) from src (element strides bs)
 * over ext. Size-1 dimensions are dropped and neighbours merged first; the
 * kernel takes the innermost dimension and the one with the smallest
 * non-zero stride.
 */
static void gather(unsigned char *out, const unsigned char *src, int nd, const uint64_t *ext0,
		   const uint64_t *bs0, const uint64_t *os0, size_t es)
{
	uint64_t ext[MAXD], bs[MAXD], os[MAXD], idx[MAXD];
	kernel_fn *k = kernel_for(es);
	int n = 0, i, q = -1, last;
	size_t soff = 0, ooff = 0;

	for (i = 0; i < nd; i++) {
		if (ext0[i] == 1)
			continue;
		if (n > 0 && bs[n - 1] == bs0[i] * ext0[i] && os[n - 1] == os0[i] * ext0[i]) {
			ext[n - 1] *= ext0[i];
			bs[n - 1] = bs0[i];
			os[n - 1] = os0[i];
			continue;
		}
		ext[n] = ext0[i];
		bs[n] = bs0[i];
		os[n] = os0[i];
		n++;
	}
	if (n == 0) {
		memcpy(out, src, es);
		return;
	}
	last = n - 1;
	if (bs[last] > 1)
		for (i = 0; i < last; i++)
			if (bs[i] && (q < 0 || bs[i] < bs[q]))
				q = i;
	if (q < 0 && n > 1)
		q = last - 1;
	if (q < 0) {
		k(out, src, 1, ext[last], 0, os[last] * es, 0, bs[last] * es);
		return;
	}
	memset(idx, 0, sizeof(idx));
	for (;;) {
		k(out + ooff * es, src + soff * es, ext[q], ext[last], os[q] * es, os[last] * es,
		  bs[q] * es, bs[last] * es);
		for (i = last - 1; i >= 0; i--) {
			if (i == q)
				continue;
			soff += bs[i];
			ooff += os[i];
			if (++idx[i] < ext[i])
				break;
			soff -= ext[i] * bs[i];
			ooff -= ext[i] * os[i];
			idx[i] = 0;
		}
		if (i < 0)
			break;
	}
}

static void swap_units(unsigned char *p, size_t n, unsigned w)
{
	size_t i, j;

	for (i = 0; i + w <= n; i += w)
		for (j = 0; j < w / 2; j++) {
			unsigned char c = p[i + j];

			p[i + j] = p[i + w - 1 - j];
			p[i + w - 1 - j] = c;
		}
}

/* Reads c's footprint as pl says and gathers it into v->out. */
/* Reads pieces [p0, p0 + n) of the plan (in piece order) into v->stage. */
static int read_pieces(struct pt_view *v, struct pt_source *src, const struct pt_storage *s,
		       const struct chunk *c, const struct plan *pl, size_t es, uint64_t p0,
		       uint64_t n, struct pt_error *err)
{
	uint64_t idx[MAXD], sidx = c->base, r = p0, i;
	int k;

	for (k = pl->level - 1; k >= 0; k--) { /* unravel p0 */
		idx[k] = r % pl->ext[k];
		r /= pl->ext[k];
		sidx += idx[k] * pl->stride[k];
	}
	for (i = 0; i < n; i++) {
		v->preads++;
		if (pt_source_read(src, v->stage + i * pl->pitch * es, (size_t)(pl->span * es),
				   s->data_offset + sidx * es, s->key, err) < 0)
			return -1;
		for (k = pl->level - 1; k >= 0; k--) {
			sidx += pl->stride[k];
			if (++idx[k] < pl->ext[k])
				break;
			sidx -= pl->ext[k] * pl->stride[k];
			idx[k] = 0;
		}
	}
	return 0;
}

/*
 * Reads c's footprint as pl says and gathers it into the chunk. With pieces,
 * a band of the outermost footprint dimension at a time (PT_VIEW_BAND bytes
 * of pieces): the gather finds them still in the cache.
 */
static int fill(struct pt_view *v, struct pt_source *src, const struct pt_tensor *t,
		const struct chunk *c, const struct plan *pl, size_t es, struct pt_error *err)
{
	const struct pt_storage *s = t->storage;
	uint64_t bs[MAXD], os[MAXD], ext[MAXD], dense = 1, inner = 1, per, band, r0;
	unsigned char *out = v->out + v->tailcap;
	bool direct = pl->level == 0;
	int i, k, d0;

	for (i = 0; i < c->nd; i++)
		bs[i] = 0;
	for (k = pl->nf - 1; k >= 0; k--) {
		if (k >= pl->level) {
			bs[pl->dim[k]] = pl->stride[k];
		} else {
			bs[pl->dim[k]] = pl->pitch * inner;
			inner *= pl->ext[k];
		}
	}
	for (i = c->nd - 1; i >= 0; i--) { /* a dense box in output order: no gather */
		if (c->ext[i] > 1 && bs[i] != dense)
			direct = false;
		os[i] = dense;
		ext[i] = c->ext[i];
		dense *= c->ext[i];
	}
	if (direct) {
		v->preads++;
		if (pt_source_read(src, out, (size_t)(c->count * es), s->data_offset + c->base * es,
				   s->key, err) < 0)
			return -1;
	} else if (pl->level == 0) {
		if (read_pieces(v, src, s, c, pl, es, 0, 1, err) < 0)
			return -1;
		gather(out, v->stage, c->nd, c->ext, bs, os, es);
	} else {
		d0 = pl->dim[0];
		per = pl->npre / pl->ext[0]; /* pieces per index of the outermost */
		band = PT_VIEW_BAND / (per * pl->pitch * es);
		if (band == 0)
			band = 1;
		if (band < TILE &&
		    os[d0] == 1) /* thin bands of the output's rows: kernels too short */
			band = pl->ext[0];
		for (r0 = 0; r0 < pl->ext[0]; r0 += band) {
			ext[d0] = band < pl->ext[0] - r0 ? band : pl->ext[0] - r0;
			if (read_pieces(v, src, s, c, pl, es, r0 * per, ext[d0] * per, err) < 0)
				return -1;
			gather(out + r0 * os[d0] * es, v->stage, c->nd, ext, bs, os, es);
		}
	}
	if (v->swap > 1)
		swap_units(out, (size_t)(c->count * es), v->swap);
	return 0;
}

const unsigned char *pt_view_get(struct pt_view *v, struct pt_source *src,
				 const struct pt_tensor *t, unsigned swap, uint64_t off,
				 size_t *len, struct pt_error *err)
{
	struct geom g;
	struct chunk c, best_c = {0};
	struct plan pl, best_pl = {0};
	double best = 0;
	size_t cb;

	if (v->t == t && v->swap == swap && off >= v->lo && off < v->hi)
		goto out_held;
	if (v->tail_t == t && v->tail_swap == swap && off >= v->tail_lo && off < v->tail_hi) {
		*len = (size_t)(v->tail_hi - off);
		if (v->t == t && v->swap == swap &&
		    v->lo == v->tail_hi) /* and the chunk after it */
			*len += (size_t)(v->hi - v->lo);
		return v->out + v->tailcap - (v->tail_hi - off);
	}
	if (v->t == t && v->swap == swap && off >= v->hi && v->tailcap) { /* moving on */
		size_t n = v->hi - v->lo < v->tailcap ? (size_t)(v->hi - v->lo) : v->tailcap;

		memcpy(v->out + v->tailcap - n, v->out + v->tailcap + (v->hi - v->lo - n), n);
		v->tail_t = t;
		v->tail_swap = swap;
		v->tail_lo = v->hi - n;
		v->tail_hi = v->hi;
	}
	v->t = NULL;
	if (!t->storage || off >= t->nbytes)
		return pt_error_set(err, PT_ERR_IO, "no content at byte %llu",
				    (unsigned long long)off),
		       NULL;
	if (!v->out)
		v->out = pt_pages_alloc(v->budget);
	if (!v->stage)
		v->stage = pt_pages_alloc(v->budget);
	if (!v->out || !v->stage)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	geom_make(t, &g);
	for (cb = v->budget - v->tailcap;; cb /= 2) {
		double per;

		chunk_at(&g, off / g.es, cb, &c);
		plan_make(&c, g.es, v->budget, &pl);
		per = pl.level < 0
			  ? 0
			  : (pl.cost + (double)(c.count * g.es)) / (double)(c.count * g.es);
		if (pl.level >= 0 && (cb == v->budget - v->tailcap || per < best)) {
			best = per;
			best_c = c;
			best_pl = pl;
		}
		if (cb <= MIN_CHUNK || cb / 2 < g.es)
			break;
	}
	if (best_pl.level < 0 || best_c.count == 0) /* cannot happen: one element always fits */
		return pt_error_set(err, PT_ERR_IO, "no plan for byte %llu",
				    (unsigned long long)off),
		       NULL;
	v->swap = swap;
	if (fill(v, src, t, &best_c, &best_pl, g.es, err) < 0)
		return NULL;
	v->t = t;
	v->lo = best_c.first * g.es;
	v->hi = (best_c.first + best_c.count) * g.es;
out_held:
	*len = (size_t)(v->hi - off);
	return v->out + v->tailcap + (off - v->lo);
}

int64_t pt_view_read(struct pt_view *v, struct pt_source *src, const struct pt_tensor *t,
		     unsigned swap, void *buf, size_t size, uint64_t off, struct pt_error *err)
{
	size_t done = 0, n;
	const unsigned char *p;

	if (off >= t->nbytes)
		return 0;
	if (size > t->nbytes - off)
		size = (size_t)(t->nbytes - off);
	while (done < size) {
		p = pt_view_get(v, src, t, swap, off + done, &n, err);
		if (!p)
			return -1;
		if (n > size - done)
			n = size - done;
		memcpy((unsigned char *)buf + done, p, n);
		done += n;
	}
	return (int64_t)done;
}
