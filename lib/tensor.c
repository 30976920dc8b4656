/*
 * tensor.c - reading a tensor's bytes in row-major order from its storage.
 *
 * A contiguous tensor is one run of its storage record: one pread (or, in
 * the daemon, a splice). Everything else (views, and any tensor of a file
 * written on a big-endian machine, whose elements are swapped so the
 * content is always little-endian) is gathered by view.c in bounded chunks:
 * through the caller's struct pt_view (pt_tensor_gather, the daemon's
 * cache) or through one made for the call (pt_tensor_read).
 */
#include "checkpoint.h"
#include "view.h"

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

/* The byte unit pt_view_get reverses: 0 for a little-endian file. */
static unsigned swap_unit(const struct pt_checkpoint *ck, const struct pt_tensor *t)
{
	return ck->c->big_endian ? pt_dtype_swap_unit(t->dtype) : 0;
}

const unsigned char *pt_tensor_gather(const struct pt_checkpoint *ck, const struct pt_tensor *t,
				      struct pt_view *v, uint64_t off, size_t *len,
				      struct pt_error *err)
{
	if (!t->storage || off >= t->nbytes)
		return pt_error_set(err, PT_ERR_IO, "tensor has no data at byte %llu",
				    (unsigned long long)off),
		       NULL;
	if (pt_container_locate(ck->c, t->storage, err) < 0)
		return NULL;
	return pt_view_get(v, ck->src, t, swap_unit(ck, t), off, len, err);
}

int64_t pt_tensor_read(const struct pt_checkpoint *ck, const struct pt_tensor *t, void *buf,
		       size_t size, uint64_t off, struct pt_error *err)
{
	struct pt_view *v;
	uint64_t src;
	int64_t got;

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
	/* a reader of its own, its chunks no bigger than the request needs */
	v = pt_view_open(size < PT_VIEW_BUDGET ? size : PT_VIEW_BUDGET);
	if (!v)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	got = pt_view_read(v, ck->src, t, swap_unit(ck, t), buf, size, off, err);
	pt_view_close(v);
	return got;
}
