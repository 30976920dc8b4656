/*
 * test_gather.c - view.h: a view's content, chunk by chunk, against a naive
 * element-by-element reference, over random shapes, strides (permuted,
 * stepped, stride 0), storage offsets and element sizes 1/2/4/8/16, with
 * 0-dim and empty tensors, budgets that force many chunks, reads at
 * unaligned offsets and sizes on one reader and on fresh ones, big-endian
 * swapping; and the pread counts that make it fast (a transposed 1 MiB
 * storage in one pread, not one per element).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "view.h"

/* A source over memory that counts its preads. */
struct memsrc {
	struct pt_source s;
	const unsigned char *p;
	unsigned long calls;
};

static ssize_t mem_pread(struct pt_source *s, void *buf, size_t n, uint64_t off)
{
	struct memsrc *m = (struct memsrc *)s;

	m->calls++;
	if (off >= s->size)
		return 0;
	if (n > s->size - off)
		n = (size_t)(s->size - off);
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

static void mem_close(struct pt_source *s)
{
	(void)s;
}

static const struct pt_source_ops mem_ops = {mem_pread, mem_close};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

static enum pt_dtype dtype_of(size_t es)
{
	switch (es) {
	case 1: return PT_DT_UINT8;
	case 2: return PT_DT_FLOAT16;
	case 4: return PT_DT_FLOAT32;
	case 8: return PT_DT_INT64;
	default: return PT_DT_COMPLEX128;
	}
}

struct tcase {
	struct memsrc src;
	unsigned char *file;
	struct pt_storage st;
	struct pt_tensor t;
	int64_t shape[8], stride[8];
	unsigned char *want; /* the reference content */
	unsigned swap;
};

/* Content byte i of the reference: the element, byte-reversed by unit when swapping. */
static void reference(struct tcase *c)
{
	size_t es = pt_dtype_size(c->t.dtype);
	int64_t idx[8] = {0};
	uint64_t e, k;
	int i;

	c->want = malloc(c->t.nbytes ? c->t.nbytes : 1);
	for (e = 0; e < c->t.numel; e++) {
		uint64_t s = (uint64_t)c->t.offset;

		for (i = 0; i < c->t.ndim; i++)
			s += (uint64_t)idx[i] * (uint64_t)c->t.stride[i];
		for (k = 0; k < es; k++) {
			size_t b = (size_t)k;

			if (c->swap > 1)
				b = k / c->swap * c->swap + (c->swap - 1 - k % c->swap);
			c->want[e * es + k] = c->file[c->st.data_offset + s * es + b];
		}
		for (i = c->t.ndim - 1; i >= 0; i--) {
			if (++idx[i] < c->t.shape[i])
				break;
			idx[i] = 0;
		}
	}
}

/*
 * A random view: a contiguous layout of random dims, permuted, some dims
 * stepped or expanded, at a random offset into a storage with a random
 * header before it. big makes shapes up to ~200k elements.
 */
static void make_case(struct tcase *c, bool big)
{
	static const size_t sizes[] = {1, 2, 4, 8, 16};
	size_t es = sizes[rnd(5)];
	int nd = (int)rnd(big ? 5 : 6), i, perm[8];
	uint64_t step[8], dense = 1, last, n = 1, total;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < nd; i++) {
		c->shape[i] = (int64_t)(big ? 1 + rnd(rnd(3) ? 48 : 300) : rnd(8));
		if (big && c->shape[i] == 0)
			c->shape[i] = 1;
		step[i] = rnd(4) == 0 ? 1 + rnd(3) : 1;
		perm[i] = i;
	}
	for (;;) { /* at most ~300k elements */
		uint64_t m = 1;
		int top = 0;

		for (i = 0; i < nd; i++) {
			m *= (uint64_t)c->shape[i];
			if (c->shape[i] > c->shape[top])
				top = i;
		}
		if (m <= 300000)
			break;
		c->shape[top] /= 2;
	}
	for (i = nd - 1; i > 0; i--) { /* shuffle the storage order */
		int j = (int)rnd((uint64_t)i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (i = nd - 1; i >= 0; i--) {
		int d = perm[i];

		c->stride[d] = (int64_t)(dense * step[d]);
		dense *= (uint64_t)(c->shape[d] ? c->shape[d] : 1) * step[d];
		if (rnd(6) == 0)
			c->stride[d] = 0; /* expand */
	}
	c->t.offset = (int64_t)rnd(20);
	last = (uint64_t)c->t.offset;
	for (i = 0; i < nd; i++) {
		n *= (uint64_t)c->shape[i];
		if (c->shape[i])
			last += (uint64_t)(c->shape[i] - 1) * (uint64_t)c->stride[i];
	}
	c->st.key = "0";
	c->st.dtype = dtype_of(es);
	c->st.numel = last + 1 + rnd(5);
	c->st.nbytes = c->st.numel * es;
	c->st.data_offset = rnd(100);
	c->st.bound = true;
	total = c->st.data_offset + c->st.nbytes + rnd(50);
	c->file = malloc(total);
	for (i = 0; (uint64_t)i < total; i++)
		c->file[i] = (unsigned char)rnd(256);
	c->src.s.ops = &mem_ops;
	c->src.s.name = "mem";
	c->src.s.size = total;
	c->src.s.fd = -1;
	c->src.p = c->file;
	c->t.storage = &c->st;
	c->t.dtype = dtype_of(es);
	c->t.ndim = nd;
	c->t.shape = c->shape;
	c->t.stride = c->stride;
	c->t.numel = n;
	c->t.nbytes = n * es;
	c->swap = 0;
	if (es > 1 && rnd(4) == 0)
		c->swap = (unsigned)(es == 16 ? 8 : es);
	reference(c);
}

static void free_case(struct tcase *c)
{
	free(c->file);
	free(c->want);
}

/* Reads of c through v at random offsets and sizes, then sequentially. */
static int check_reads(struct tcase *c, struct pt_view *v)
{
	struct pt_error err;
	uint64_t nb = c->t.nbytes, off;
	unsigned char *got = malloc(nb + 64);
	int r, bad = 0;

	for (r = 0; r < 12; r++) {
		size_t size = (size_t)(rnd(3) ? rnd(nb + 20) : rnd(64) + 1);
		int64_t n;

		off = rnd(nb + 3);
		n = pt_view_read(v, &c->src.s, &c->t, c->swap, got, size, off, &err);
		if (off >= nb) {
			bad += n != 0;
			continue;
		}
		if (size > nb - off)
			size = (size_t)(nb - off);
		if (n != (int64_t)size || memcmp(got, c->want + off, size) != 0)
			bad++;
	}
	for (off = 0; off < nb;) { /* sequential, an odd request size */
		size_t size = 4099, len = 0;
		const unsigned char *p = pt_view_get(v, &c->src.s, &c->t, c->swap, off, &len, &err);

		if (!p || len == 0 || len > nb - off || memcmp(p, c->want + off, len) != 0) {
			bad++;
			break;
		}
		off += len < size ? len : size;
	}
	free(got);
	return bad;
}

static void test_random(int rounds, bool big)
{
	static const size_t budgets[] = {1, 64 << 10, 200 << 10, 1 << 20, 4 << 20};
	int r, bad = 0;

	for (r = 0; r < rounds; r++) {
		struct tcase c;
		struct pt_view *v;

		make_case(&c, big);
		v = pt_view_open(budgets[big ? rnd(5) : rnd(4)]);
		bad += check_reads(&c, v);
		pt_view_close(v);
		free_case(&c);
	}
	CHECK_INT(bad, 0);
}

/* A 2-D float32 view of a rows x cols storage. */
static void make_2d(struct tcase *c, uint64_t rows, uint64_t cols, bool transpose)
{
	uint64_t i;

	memset(c, 0, sizeof(*c));
	c->st.key = "0";
	c->st.dtype = PT_DT_FLOAT32;
	c->st.numel = rows * cols;
	c->st.nbytes = rows * cols * 4;
	c->st.data_offset = 64;
	c->file = malloc(c->st.nbytes + 64);
	for (i = 0; i < c->st.nbytes + 64; i++)
		c->file[i] = (unsigned char)(i * 7 + i / 251);
	c->src.s.ops = &mem_ops;
	c->src.s.name = "mem";
	c->src.s.size = c->st.nbytes + 64;
	c->src.s.fd = -1;
	c->src.p = c->file;
	c->t.storage = &c->st;
	c->t.dtype = PT_DT_FLOAT32;
	c->t.ndim = 2;
	c->t.shape = c->shape;
	c->t.stride = c->stride;
	c->shape[0] = (int64_t)(transpose ? cols : rows);
	c->shape[1] = (int64_t)(transpose ? rows : cols);
	c->stride[0] = transpose ? 1 : (int64_t)cols;
	c->stride[1] = transpose ? (int64_t)cols : 1;
	c->t.numel = rows * cols;
	c->t.nbytes = rows * cols * 4;
	reference(c);
}

/* Sequential reads in req-byte requests: the content right, and the preads counted. */
static unsigned long read_all(struct tcase *c, size_t budget, size_t req, int *bad)
{
	struct pt_view *v = pt_view_open(budget);
	struct pt_error err;
	unsigned char *buf = malloc(req);
	uint64_t off;

	c->src.calls = 0;
	for (off = 0; off < c->t.nbytes; off += req) {
		int64_t n = pt_view_read(v, &c->src.s, &c->t, 0, buf, req, off, &err);

		if (n <= 0 || memcmp(buf, c->want + off, (size_t)n) != 0)
			(*bad)++;
	}
	CHECK_INT(pt_view_preads(v), c->src.calls);
	pt_view_close(v);
	free(buf);
	return c->src.calls;
}

static void test_preads(void)
{
	struct tcase c;
	int bad = 0;

	/* a 1 MiB transpose fits one chunk: one pread for all 128 KiB requests */
	make_2d(&c, 512, 512, true);
	CHECK_INT(read_all(&c, PT_VIEW_BUDGET, 128 << 10, &bad), 1);
	free_case(&c);
	/* 16 MiB transposed: 7 MiB chunks, one run per storage row and chunk */
	make_2d(&c, 2048, 2048, true);
	CHECK(read_all(&c, PT_VIEW_BUDGET, 1 << 20, &bad) <= 3 * 2048);
	free_case(&c);
	/* a step-2 slice reads half-budget chunks whole */
	make_2d(&c, 1024, 2048, false);
	c.shape[1] = 1024;
	c.stride[1] = 2;
	c.t.numel = c.t.nbytes / 8;
	c.t.nbytes /= 2;
	free(c.want);
	reference(&c);
	CHECK(read_all(&c, PT_VIEW_BUDGET, 128 << 10, &bad) <= 2);
	free_case(&c);
	CHECK_INT(bad, 0);
}

/*
 * A request that comes late, for the end of the chunk before: served from
 * the tail kept in front of the new chunk, tail and chunk as one run.
 */
static void test_tail(void)
{
	struct tcase c;
	struct pt_view *v = pt_view_open(PT_VIEW_BUDGET);
	struct pt_error err;
	const unsigned char *p;
	uint64_t edge = PT_VIEW_BUDGET - PT_VIEW_TAIL, n0;
	size_t len = 0;
	unsigned char *buf = malloc(600 << 10);

	make_2d(&c, 2048, 2048, true);
	CHECK(pt_view_get(v, &c.src.s, &c.t, 0, 0, &len, &err) != NULL);
	CHECK_INT(len, edge);
	CHECK(pt_view_get(v, &c.src.s, &c.t, 0, edge, &len, &err) != NULL);
	n0 = pt_view_preads(v);
	CHECK(pt_view_holds(v, &c.t, edge - (300 << 10)));
	CHECK(!pt_view_holds(v, &c.t, edge - PT_VIEW_TAIL - 1));
	p = pt_view_get(v, &c.src.s, &c.t, 0, edge - (300 << 10), &len, &err);
	CHECK(p && len == (300 << 10) + edge && memcmp(p, c.want + edge - (300 << 10), len) == 0);
	CHECK_INT(pt_view_read(v, &c.src.s, &c.t, 0, buf, 600 << 10, edge - (300 << 10), &err),
		  600 << 10);
	CHECK(memcmp(buf, c.want + edge - (300 << 10), 600 << 10) == 0);
	CHECK_INT(pt_view_preads(v), n0);
	/* further back than the tail: gathered again, and right */
	CHECK_INT(pt_view_read(v, &c.src.s, &c.t, 0, buf, 4096, 12345, &err), 4096);
	CHECK(memcmp(buf, c.want + 12345, 4096) == 0);
	CHECK(pt_view_preads(v) > n0);
	pt_view_close(v);
	free(buf);
	free_case(&c);
}

/* A failing source: NULL with the error, and the reader holds nothing after. */
static void test_error(void)
{
	struct tcase c;
	struct pt_view *v = pt_view_open(0);
	struct pt_error err;
	size_t len;

	make_2d(&c, 64, 64, true);
	c.src.s.size = 100; /* shorter than the storage */
	pt_error_clear(&err);
	CHECK(pt_view_get(v, &c.src.s, &c.t, 0, 0, &len, &err) == NULL);
	CHECK(err.code != PT_OK);
	c.src.s.size = c.st.nbytes + 64;
	CHECK(pt_view_get(v, &c.src.s, &c.t, 0, 5, &len, &err) != NULL);
	CHECK_INT(pt_view_read(v, &c.src.s, &c.t, 0, &len, 1, c.t.nbytes, &err), 0);
	pt_view_close(v);
	pt_view_close(NULL);
	free_case(&c);
}

int main(void)
{
	test_random(3000, false);
	test_random(150, true);
	test_preads();
	test_tail();
	test_error();
	return check_report("test_gather");
}
