/*
 * tensor.c - reading a tensor's bytes in row-major order from its storage.
 *
 * A contiguous tensor is one run of its storage record: one pread (or, in
 * the daemon, a splice). A view (transpose, step slice, expand) is walked
 * element run by element run, where a run is a stretch of output elements
 * that are also consecutive in the storage; runs are served from a bounded
 * window buffer that is refilled as the walk moves, so memory stays at
 * PT_WINDOW bytes however large the storage is. Files written on a
 * big-endian machine are swapped element-wise so the content is always
 * little-endian.
 */
#include "checkpoint.h"

#include <stdlib.h>
#include <string.h>

#define PT_WINDOW (256 * 1024)

int pt_tensor_span(const struct pt_checkpoint *ck, const struct pt_tensor *t, uint64_t off,
		   uint64_t *src_off, struct pt_error *err)
{
	if (!t->contiguous || !t->storage || ck->c->big_endian)
		return 0;
	if (pt_container_locate(ck->c, t->storage, err) < 0)
		return -1;
	*src_off = t->storage->data_offset + (uint64_t)t->offset * pt_dtype_size(t->dtype) + off;
	return 1;
}

/* Swaps each element of elsize bytes; complex numbers swap each half. */
static void swap_elements(unsigned char *p, size_t n, size_t elsize, bool complex)
{
	size_t w = complex ? elsize / 2 : elsize, i, j;

	if (w < 2)
		return;
	for (i = 0; i + w <= n; i += w)
		for (j = 0; j < w / 2; j++) {
			unsigned char c = p[i + j];

			p[i + j] = p[i + w - 1 - j];
			p[i + w - 1 - j] = c;
		}
}

struct window {
	unsigned char *buf;
	uint64_t start, len; /* storage bytes [start, start+len) held */
};

/* Copies storage bytes [pos, pos+n) to out, through the window. */
static int window_copy(const struct pt_checkpoint *ck, const struct pt_storage *s,
		       struct window *w, uint64_t pos, size_t n, unsigned char *out,
		       struct pt_error *err)
{
	while (n) {
		size_t take;

		if (pos < w->start || pos >= w->start + w->len) {
			uint64_t want = s->nbytes - pos;

			if (n >= PT_WINDOW) { /* big run: no need to stage it */
				if (pt_source_read(ck->src, out, n, s->data_offset + pos,
						   s->key, err) < 0)
					return -1;
				return 0;
			}
			if (want > PT_WINDOW)
				want = PT_WINDOW;
			if (pt_source_read(ck->src, w->buf, (size_t)want, s->data_offset + pos,
					   s->key, err) < 0)
				return -1;
			w->start = pos;
			w->len = want;
		}
		take = (size_t)(w->start + w->len - pos);
		if (take > n)
			take = n;
		memcpy(out, w->buf + (pos - w->start), take);
		out += take;
		pos += take;
		n -= take;
	}
	return 0;
}

static int gather(const struct pt_checkpoint *ck, const struct pt_tensor *t, unsigned char *out,
		  uint64_t off, size_t size, struct pt_error *err)
{
	const struct pt_storage *s = t->storage;
	size_t elsize = pt_dtype_size(t->dtype);
	int64_t idx[64];
	uint64_t e = off / elsize, end = off + size, obyte;
	int nd = t->ndim, i, last = nd - 1;
	struct window w = { 0 };
	int rc = -1;

	w.buf = malloc(PT_WINDOW);
	if (!w.buf)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	/* unravel the first element index */
	{
		uint64_t r = e;

		for (i = last; i >= 0; i--) {
			idx[i] = (int64_t)(r % (uint64_t)t->shape[i]);
			r /= (uint64_t)t->shape[i];
		}
	}
	obyte = e * elsize;
	while (obyte < end) {
		uint64_t sidx = (uint64_t)t->offset, run = 1, rb, lo, hi;

		for (i = 0; i < nd; i++)
			sidx += (uint64_t)idx[i] * (uint64_t)t->stride[i];
		if (nd > 0 && t->stride[last] == 1)
			run = (uint64_t)(t->shape[last] - idx[last]);
		rb = run * elsize;
		lo = obyte < off ? off - obyte : 0;
		hi = obyte + rb > end ? end - obyte : rb;
		if (window_copy(ck, s, &w, sidx * elsize + lo, (size_t)(hi - lo),
				out + (obyte + lo - off), err) < 0)
			goto out_free;
		obyte += rb;
		/* advance the index by run elements */
		if (nd == 0)
			break;
		idx[last] += (int64_t)run;
		for (i = last; i > 0 && idx[i] >= t->shape[i]; i--) {
			idx[i] = 0;
			idx[i - 1]++;
		}
	}
	rc = 0;
out_free:
	free(w.buf);
	return rc;
}

int64_t pt_tensor_read(const struct pt_checkpoint *ck, const struct pt_tensor *t, void *buf,
		       size_t size, uint64_t off, struct pt_error *err)
{
	size_t elsize = pt_dtype_size(t->dtype);
	uint64_t src;

	if (off >= t->nbytes)
		return 0;
	if (size > t->nbytes - off)
		size = (size_t)(t->nbytes - off);
	if (!t->storage)
		return pt_error_set(err, PT_ERR_IO, "tensor has no data in the checkpoint");
	if (pt_container_locate(ck->c, t->storage, err) < 0)
		return -1;
	if (pt_tensor_span(ck, t, off, &src, err) > 0) {
		if (pt_source_read(ck->src, buf, size, src, t->storage->key, err) < 0)
			return -1;
		return (int64_t)size;
	}
	if (!ck->c->big_endian) {
		if (gather(ck, t, buf, off, size, err) < 0)
			return -1;
		return (int64_t)size;
	}
	{
		/* whole elements, swapped, then the requested slice */
		uint64_t a = off / elsize * elsize, z = (off + size + elsize - 1) / elsize * elsize;
		unsigned char *tmp;
		bool cplx = t->dtype == PT_DT_COMPLEX32 || t->dtype == PT_DT_COMPLEX64 ||
			    t->dtype == PT_DT_COMPLEX128;

		if (z > t->nbytes)
			z = t->nbytes;
		tmp = malloc((size_t)(z - a));
		if (!tmp)
			return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		if (gather(ck, t, tmp, a, (size_t)(z - a), err) < 0) {
			free(tmp);
			return -1;
		}
		swap_elements(tmp, (size_t)(z - a), elsize, cplx);
		memcpy(buf, tmp + (off - a), size);
		free(tmp);
		return (int64_t)size;
	}
}
