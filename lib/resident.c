/*
 * resident.c - storages in device memory (see resident.h).
 *
 * One entry per storage index: the device (-1: only in the file) and the
 * allocation. Entries change only under the rwlock held exclusive (publish
 * after a load, release), and are read under it shared, so a reader sees a
 * storage either wholly uploaded or not resident. A view of a resident
 * storage is gathered by view.c from a source whose pread copies from the
 * device, the same code that gathers from the file.
 */
#define _GNU_SOURCE
#include "resident.h"
#include "container.h"
#include "text.h"
#include "tree.h"
#include "view.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	int dev; /* -1: not resident */
	uint64_t dptr;
};

struct pt_resident {
	struct pt_checkpoint *ck;
	struct entry *e; /* per storage index */
	size_t n;
	size_t nresident; /* read without the lock as a hint: 0 skips the lock */
	pthread_rwlock_t lock;
};

/* Whether s is a storage of r's checkpoint (a reload's old tree may still be read). */
static bool ours(const struct pt_resident *r, const struct pt_storage *s)
{
	return s && s->index < r->n && r->ck->torch.storages[s->index] == s;
}

struct pt_resident *pt_resident_new(struct pt_checkpoint *ck, struct pt_error *err)
{
	struct pt_resident *r = calloc(1, sizeof(*r));
	size_t i;

	if (!r)
		goto out_nomem;
	r->ck = ck;
	r->n = ck->torch.nstorages;
	r->e = malloc((r->n ? r->n : 1) * sizeof(*r->e));
	if (!r->e)
		goto out_free;
	for (i = 0; i < r->n; i++)
		r->e[i].dev = -1;
	pthread_rwlock_init(&r->lock, NULL);
	return r;
out_free:
	free(r);
out_nomem:
	pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	return NULL;
}

int pt_resident_rebind(struct pt_resident *r, struct pt_checkpoint *ck, struct pt_error *err)
{
	size_t i, n = ck->torch.nstorages;
	struct entry *e;

	if (pt_resident_count(r) > 0)
		return pt_error_set(err, PT_ERR_BUSY, "storages are resident");
	e = malloc((n ? n : 1) * sizeof(*e));
	if (!e)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		e[i].dev = -1;
	pthread_rwlock_wrlock(&r->lock);
	free(r->e);
	r->e = e;
	r->n = n;
	r->ck = ck;
	pthread_rwlock_unlock(&r->lock);
	return 0;
}

void pt_resident_free(struct pt_resident *r, struct pt_gpu *g)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		if (r->e[i].dev >= 0 && g)
			pt_gpu_free(g, r->e[i].dev, r->e[i].dptr);
	pthread_rwlock_destroy(&r->lock);
	free(r->e);
	free(r);
}

int pt_location_cuda_index(const char *loc)
{
	long v;
	char *end;

	if (strncmp(loc, "cuda", 4) != 0)
		return -1;
	if (loc[4] == '\0')
		return 0;
	if (loc[4] != ':' || loc[5] < '0' || loc[5] > '9')
		return -1;
	errno = 0;
	v = strtol(loc + 5, &end, 10);
	if (*end || errno || v > 1000000)
		return -1;
	return (int)v;
}

int pt_resident_plan(struct pt_resident *r, struct pt_rules *rules, const bool *sel,
		     struct pt_resident_plan *p, struct pt_error *err)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->max_dev = -1;
	p->todo = malloc((r->n ? r->n : 1) * sizeof(*p->todo));
	p->dev = malloc((r->n ? r->n : 1) * sizeof(*p->dev));
	if (!p->todo || !p->dev) {
		free(p->todo);
		free(p->dev);
		memset(p, 0, sizeof(*p));
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < r->n; i++) {
		struct pt_storage *s = r->ck->torch.storages[i];
		int d;

		if (!sel[i])
			continue;
		d = pt_location_cuda_index(pt_storage_location(s));
		if (d < 0) {
			p->skipped++;
		} else if (r->e[i].dev >= 0) {
			p->already++;
		} else {
			p->todo[p->n] = (unsigned)i;
			p->dev[p->n++] = d;
			p->bytes += s->nbytes;
			if (d > p->max_dev)
				p->max_dev = d;
			pt_rules_pin(rules, s, true);
		}
	}
	return 0;
}

void pt_resident_plan_end(struct pt_resident *r, struct pt_rules *rules,
			  struct pt_resident_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (r->e[p->todo[i]].dev < 0)
			pt_rules_pin(rules, r->ck->torch.storages[p->todo[i]], false);
	free(p->todo);
	free(p->dev);
	memset(p, 0, sizeof(*p));
}

/* The first tensor path of storage s, for messages ("layer1/weight"), or "". */
static void storage_path(const struct pt_checkpoint *ck, const struct pt_storage *s, char *buf,
			 size_t cap)
{
	const struct pt_node *nd = NULL;

	buf[0] = '\0';
	while ((nd = pt_tree_next(ck->tree, nd)))
		if (nd->kind == PT_NODE_TENSOR && nd->u.tensor->storage == s) {
			pt_node_glob_path(nd, buf, cap);
			return;
		}
}

int pt_resident_load(struct pt_resident *r, struct pt_gpu *g, const struct pt_resident_plan *p,
		     enum pt_gpu_path path, struct pt_progress *prog, struct pt_error *err)
{
	struct pt_gpu_copy *jobs = NULL;
	int count = pt_gpu_count(g);
	char where[1024];
	size_t i, made = 0;
	int ret = -1;

	if (p->max_dev >= count) {
		pt_error_set(err, PT_ERR_NODEV,
			     "Attempting to deserialize object on CUDA device %d but torch.cuda.device_count() is %d. Please use torch.load with map_location to map your storages to an existing device.",
			     p->max_dev, count);
		return -1;
	}
	jobs = calloc(p->n ? p->n : 1, sizeof(*jobs));
	if (!jobs)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (made = 0; made < p->n; made++) {
		struct pt_storage *s = r->ck->torch.storages[p->todo[made]];
		struct pt_gpu_copy *j = &jobs[made];

		if (pt_container_locate(r->ck->c, s, err) < 0)
			goto out_free;
		j->dev = p->dev[made];
		j->src_off = s->data_offset;
		j->size = s->nbytes;
		j->swap = r->ck->c->big_endian ? pt_dtype_swap_unit(s->dtype) : 0;
		if (pt_gpu_alloc(g, j->dev, s->nbytes, &j->dptr, err) < 0) {
			storage_path(r->ck, s, where, sizeof(where));
			pt_error_prefix(err, "storage %s (%s)", s->key, where);
			goto out_free;
		}
	}
	if (pt_gpu_upload(g, r->ck->src, jobs, p->n, path, prog, err) < 0)
		goto out_free;
	pthread_rwlock_wrlock(&r->lock);
	for (i = 0; i < p->n; i++) {
		r->e[p->todo[i]].dev = jobs[i].dev;
		r->e[p->todo[i]].dptr = jobs[i].dptr;
	}
	__atomic_add_fetch(&r->nresident, p->n, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&r->lock);
	made = 0; /* theirs now */
	ret = 0;
out_free:
	for (i = 0; i < made; i++)
		pt_gpu_free(g, jobs[i].dev, jobs[i].dptr);
	free(jobs);
	return ret;
}

size_t pt_resident_release(struct pt_resident *r, struct pt_gpu *g, struct pt_rules *rules,
			   const bool *sel, uint64_t *bytes)
{
	size_t i, k = 0;
	uint64_t b = 0;

	pthread_rwlock_wrlock(&r->lock);
	for (i = 0; i < r->n; i++) {
		struct pt_storage *s = r->ck->torch.storages[i];

		if (!sel[i] || r->e[i].dev < 0)
			continue;
		pt_gpu_free(g, r->e[i].dev, r->e[i].dptr);
		r->e[i].dev = -1;
		r->e[i].dptr = 0;
		pt_rules_pin(rules, s, false);
		b += s->nbytes;
		k++;
	}
	__atomic_sub_fetch(&r->nresident, k, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&r->lock);
	if (bytes)
		*bytes = b;
	return k;
}

struct pt_checkpoint *pt_resident_ck(const struct pt_resident *r)
{
	return r->ck;
}

size_t pt_resident_count(const struct pt_resident *r)
{
	return __atomic_load_n(&r->nresident, __ATOMIC_ACQUIRE);
}

int pt_resident_device(const struct pt_resident *r, const struct pt_storage *s)
{
	struct pt_resident *w = (struct pt_resident *)r;
	int d;

	if (!s || pt_resident_count(r) == 0)
		return -1;
	pthread_rwlock_rdlock(&w->lock);
	d = ours(r, s) ? r->e[s->index].dev : -1;
	pthread_rwlock_unlock(&w->lock);
	return d;
}

/* A source over one resident storage: its offsets are the file's, its bytes the device's. */
struct dev_source {
	struct pt_source src;
	struct pt_gpu *g;
	int dev;
	uint64_t dptr, base, size;
	struct pt_error *err;
};

static ssize_t dev_pread(struct pt_source *s, void *buf, size_t n, uint64_t off)
{
	struct dev_source *d = (struct dev_source *)s;

	if (off < d->base || off - d->base > d->size) {
		errno = EIO;
		return -1;
	}
	if (n > d->size - (off - d->base))
		n = (size_t)(d->size - (off - d->base));
	if (pt_gpu_read(d->g, d->dev, d->dptr + (off - d->base), buf, n, d->err) < 0) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)n;
}

static void dev_close(struct pt_source *s)
{
	(void)s;
}

static const struct pt_source_ops dev_ops = { .pread = dev_pread, .close = dev_close };

int64_t pt_resident_read(struct pt_resident *r, struct pt_gpu *g, const struct pt_tensor *t,
			 void *buf, size_t size, uint64_t off, struct pt_error *err)
{
	const struct entry *e;
	int64_t got = 0;

	if (!t->storage || off >= t->nbytes || pt_resident_count(r) == 0)
		return 0;
	if (size > t->nbytes - off)
		size = (size_t)(t->nbytes - off);
	pthread_rwlock_rdlock(&r->lock);
	e = &r->e[t->storage->index];
	if (!ours(r, t->storage) || e->dev < 0)
		goto out;
	if (t->contiguous) {
		uint64_t at = (uint64_t)t->offset * pt_dtype_size(t->dtype) + off;

		got = pt_gpu_read(g, e->dev, e->dptr + at, buf, size, err) < 0 ? -1 : (int64_t)size;
	} else {
		struct dev_source d = {
			.src = { .ops = &dev_ops, .name = t->storage->key, .fd = -1 },
			.g = g,
			.dev = e->dev,
			.dptr = e->dptr,
			.base = t->storage->data_offset,
			.size = t->storage->nbytes,
			.err = err,
		};
		struct pt_view *v = pt_view_open(size < PT_VIEW_BUDGET ? size : PT_VIEW_BUDGET);

		d.src.size = d.base + d.size;
		if (!v) {
			got = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
			goto out;
		}
		got = pt_view_read(v, &d.src, t, 0, buf, size, off, err);
		pt_view_close(v);
	}
out:
	pthread_rwlock_unlock(&r->lock);
	return got;
}

/* The bytes t's elements span from its first one: 1 + sum((shape_i - 1) * stride_i) elements. */
static uint64_t span_bytes(const struct pt_tensor *t)
{
	uint64_t el = 1;
	int i;

	if (t->numel == 0)
		return 0;
	if (t->contiguous)
		return t->nbytes;
	for (i = 0; i < t->ndim; i++)
		el += (uint64_t)(t->shape[i] - 1) * (uint64_t)t->stride[i];
	return el * pt_dtype_size(t->dtype);
}

int pt_resident_ipc_text(struct pt_resident *r, struct pt_gpu *g, const struct pt_tensor *t,
			 char *buf, size_t cap, struct pt_error *err)
{
	unsigned char h[PT_GPU_IPC_HANDLE_SIZE];
	char hex[2 * PT_GPU_IPC_HANDLE_SIZE + 1], bus[64];
	const struct entry *e;
	int n = 0, i;

	if (!t->storage || pt_resident_count(r) == 0)
		return 0;
	pthread_rwlock_rdlock(&r->lock);
	e = &r->e[t->storage->index];
	if (!ours(r, t->storage) || e->dev < 0)
		goto out;
	if (pt_gpu_ipc_handle(g, e->dev, e->dptr, h, err) < 0 ||
	    pt_gpu_bus_id(g, e->dev, bus, sizeof(bus), err) < 0) {
		n = -1;
		goto out;
	}
	for (i = 0; i < PT_GPU_IPC_HANDLE_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	n = snprintf(buf, cap, "cuda:%d %s %s %llu %llu", e->dev, bus, hex,
		     (unsigned long long)((uint64_t)t->offset * pt_dtype_size(t->dtype)),
		     (unsigned long long)span_bytes(t));
	if (n < 0 || (size_t)n >= cap)
		n = pt_error_set(err, PT_ERR_NOMEM, "cuda_ipc text too long");
out:
	pthread_rwlock_unlock(&r->lock);
	return n;
}

int pt_resident_describe(struct pt_resident *r, struct pt_gpu *g, char **buf, size_t *len)
{
	int dev, maxdev = -1, ret = 0;
	size_t i;

	if (pt_resident_count(r) == 0)
		return 0;
	pthread_rwlock_rdlock(&r->lock);
	for (i = 0; i < r->n; i++)
		if (r->e[i].dev > maxdev)
			maxdev = r->e[i].dev;
	for (dev = 0; dev <= maxdev && ret == 0; dev++) {
		uint64_t bytes = 0;
		size_t k = 0;
		char name[PT_ERROR_MSG_MAX + 4], human[24];
		struct pt_error e2;

		for (i = 0; i < r->n; i++)
			if (r->e[i].dev == dev) {
				k++;
				bytes += r->ck->torch.storages[i]->nbytes;
			}
		if (!k)
			continue;
		if (pt_gpu_describe(g, dev, name, sizeof(name), &e2) < 0)
			snprintf(name, sizeof(name), "(%s)", e2.msg);
		pt_progress_bytes(bytes, human);
		ret = pt_text_appendf(buf, len, "resident cuda:%d: %zu storage%s, %llu bytes (%s), %s\n",
				      dev, k, k == 1 ? "" : "s", (unsigned long long)bytes, human,
				      name);
	}
	pthread_rwlock_unlock(&r->lock);
	return ret;
}
