/*
 * view.h - a view's content (transpose, permute, step slice, expand) read
 * at memory speed through a bounded cache of gathered output.
 *
 * A view's bytes in row-major order are made one chunk at a time: a chunk
 * is a box of the index space (the leading indices fixed, one dimension cut
 * to a range, the inner ones whole), so its output is one run. For the
 * chunk the reader works out which storage bytes it needs, reads them in as
 * few preads as a cost model (a pread costs as much as copying
 * PT_VIEW_PREAD_COST bytes) allows within the budget, into a staging buffer,
 * and gathers from there with loops over the innermost dimensions. The
 * chunk stays cached, so the kernel's sequential 128 KiB-1 MiB requests
 * are served from it until the reading moves past it.
 *
 * Memory: a struct pt_view holds at most 2 x budget bytes, allocated on
 * first use and kept until pt_view_close: the gathered chunk with, in front
 * of it, the last PT_VIEW_TAIL (1 MiB) of the chunk before (for requests
 * that come late; budgets under 4 MiB keep none), and the staging buffer.
 * PT_VIEW_BUDGET (8 MiB) makes 16 MiB a reader.
 */
#ifndef PT_VIEW_H
#define PT_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "source.h"
#include "torch.h"

#define PT_VIEW_BUDGET	   ((size_t)8 << 20)
#define PT_VIEW_PREAD_COST 4096
#define PT_VIEW_TAIL	   ((size_t)1 << 20)

struct pt_view;

/*
 * Returns an empty reader whose chunks hold at most budget bytes of output
 * (rounded up to 64 KiB; less the tail from 4 MiB up); NULL when out of
 * memory. Its buffers come on first use. Free with pt_view_close. One
 * pt_view serves one thread at a time: the caller serialises calls on it.
 */
struct pt_view *pt_view_open(size_t budget);

/* Frees v and its buffers. v may be NULL. */
void pt_view_close(struct pt_view *v);

/*
 * Makes v hold the chunk of t's content (row-major, elements of t's dtype)
 * that contains content byte off, reading from src where t's storage bytes
 * start at t->storage->data_offset (the caller has located it). swap > 1
 * reverses each swap-byte unit after gathering (big-endian files: the
 * element size, half of it for complex dtypes); 0 or 1 keeps the bytes.
 * Returns a pointer to byte off inside v's cache, valid until the next call
 * on v, and sets *len to the bytes held from there (at least 1); NULL with
 * err (PT_ERR_IO, PT_ERR_NOMEM) on failure, after which v holds no chunk
 * (a tail it kept stays).
 * off must be below t->nbytes. The same chunk is not read twice while v
 * holds it.
 */
const unsigned char *pt_view_get(struct pt_view *v, struct pt_source *src,
				 const struct pt_tensor *t, unsigned swap, uint64_t off,
				 size_t *len, struct pt_error *err);

/*
 * Copies content bytes [off, off + size) of t into buf through v, as
 * pt_view_get does (size is cut at the end of t). Returns the bytes copied,
 * or -1 with err.
 */
int64_t pt_view_read(struct pt_view *v, struct pt_source *src, const struct pt_tensor *t,
		     unsigned swap, void *buf, size_t size, uint64_t off, struct pt_error *err);

/* Sets [*lo, *hi) to the content bytes v holds (empty when none). */
void pt_view_range(const struct pt_view *v, uint64_t *lo, uint64_t *hi);

/* Whether v holds content byte off of t (its chunk, or the tail it kept). */
bool pt_view_holds(const struct pt_view *v, const struct pt_tensor *t, uint64_t off);

/* preads v has issued since it was opened (for tests and the bench). */
uint64_t pt_view_preads(const struct pt_view *v);

#endif
