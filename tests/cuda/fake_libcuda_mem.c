/*
 * fake_libcuda_mem.c - the CUDA driver's TEST DOUBLE, NOT a driver: device
 * memory (shared-memory objects), pinned host memory, streams whose
 * host-to-device copies run at synchronize, and IPC handles naming those
 * objects. The behaviour and its reasons are in fake_libcuda.c's comment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_libcuda.h"

/* ---- device memory ---- */

EXPORT pt_cu_result cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
	pt_cu_result r = enter("cuMemGetInfo");

	if (r)
		return r;
	*free_bytes = (size_t)(F.mem - F.used[cur->dev]);
	*total_bytes = (size_t)F.mem;
	return leave(0);
}

EXPORT pt_cu_result cuMemAlloc_v2(pt_cu_deviceptr *dptr, size_t size)
{
	pt_cu_result r = enter("cuMemAlloc");
	struct fake_alloc *a;
	void *p;
	int fd, dev;

	if (r)
		return r;
	dev = cur->dev;
	if (size == 0)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	if (size > F.mem - F.used[dev])
		return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
	a = calloc(1, sizeof(*a));
	if (!a)
		return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
	snprintf(a->name, sizeof(a->name), "/ptfs-fake-cuda-%d-%lu", (int)getpid(), ++F.counter);
	fd = shm_open(a->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		shm_unlink(a->name);
		goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		shm_unlink(a->name);
		goto fail;
	}
	a->base = (uintptr_t)p;
	a->size = size;
	a->dev = dev;
	a->next = F.allocs;
	F.allocs = a;
	F.used[dev] += size;
	F.live[dev]++;
	*dptr = (pt_cu_deviceptr)a->base;
	write_state();
	return leave(0);
fail:
	free(a);
	return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
}

EXPORT pt_cu_result cuMemFree_v2(pt_cu_deviceptr dptr)
{
	pt_cu_result r = enter("cuMemFree");
	struct fake_alloc **pa, *a;

	if (r)
		return r;
	for (pa = &F.allocs; (a = *pa); pa = &a->next)
		if (a->base == dptr && !a->imported)
			break;
	if (!a)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	*pa = a->next;
	munmap((void *)a->base, a->size);
	shm_unlink(a->name);
	F.used[a->dev] -= a->size;
	F.live[a->dev]--;
	free(a);
	write_state();
	return leave(0);
}

/* ---- pinned host memory ---- */

static pt_cu_result add_pinned(void *p, size_t size, int registered)
{
	struct fake_pinned *q = calloc(1, sizeof(*q));

	if (!q)
		return PT_CUDA_ERROR_OUT_OF_MEMORY;
	q->base = (uintptr_t)p;
	q->size = size;
	q->registered = registered;
	q->next = F.pinned;
	F.pinned = q;
	write_state();
	return 0;
}

/* Unlinks the pinned range starting at p of the kind asked for; NULL when none. */
static struct fake_pinned *take_pinned(void *p, int registered)
{
	struct fake_pinned **pq, *q;

	for (pq = &F.pinned; (q = *pq); pq = &q->next)
		if (q->base == (uintptr_t)p && q->registered == registered) {
			*pq = q->next;
			return q;
		}
	return NULL;
}

EXPORT pt_cu_result cuMemHostAlloc(void **pp, size_t size, unsigned int flags)
{
	pt_cu_result r = enter("cuMemHostAlloc");
	void *p;

	if (r)
		return r;
	if (size == 0)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
	r = add_pinned(p, size, 0);
	if (r)
		munmap(p, size);
	else
		*pp = p;
	return leave(r);
}

EXPORT pt_cu_result cuMemFreeHost(void *p)
{
	pt_cu_result r = enter("cuMemFreeHost");
	struct fake_pinned *q;

	if (r)
		return r;
	q = take_pinned(p, 0);
	if (!q)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	munmap(p, q->size);
	free(q);
	write_state();
	return leave(0);
}

EXPORT pt_cu_result cuMemHostRegister_v2(void *p, size_t size, unsigned int flags)
{
	pt_cu_result r = enter("cuMemHostRegister");
	struct fake_pinned *q;

	if (r)
		return r;
	if (!p || size == 0)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	for (q = F.pinned; q; q = q->next)
		if ((uintptr_t)p < q->base + q->size && q->base < (uintptr_t)p + size)
			return leave(PT_CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	return leave(add_pinned(p, size, 1));
}

EXPORT pt_cu_result cuMemHostUnregister(void *p)
{
	pt_cu_result r = enter("cuMemHostUnregister");
	struct fake_pinned *q;

	if (r)
		return r;
	q = take_pinned(p, 1);
	if (!q)
		return leave(PT_CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	free(q);
	write_state();
	return leave(0);
}

/* ---- streams and copies ---- */

EXPORT pt_cu_result cuStreamCreate(pt_cu_stream *stream, unsigned int flags)
{
	pt_cu_result r = enter("cuStreamCreate");
	pt_cu_stream s;

	if (r)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
	pthread_mutex_init(&s->lock, NULL);
	F.streams++;
	*stream = s;
	return leave(0);
}

/* Runs a stream's queued copies in order; under s->lock, not F.lock. */
static void run_queue(pt_cu_stream s, unsigned delay_us)
{
	struct fake_op *op;

	while ((op = s->head)) {
		s->head = op->next;
		memcpy(op->dst, op->src, op->n);
		free(op);
		if (delay_us)
			usleep(delay_us);
	}
	s->tail = NULL;
}

EXPORT pt_cu_result cuStreamSynchronize(pt_cu_stream s)
{
	pt_cu_result r = enter("cuStreamSynchronize");
	unsigned delay;

	if (r)
		return r;
	delay = F.delay_us;
	pthread_mutex_unlock(&F.lock);
	if (s) {
		pthread_mutex_lock(&s->lock);
		run_queue(s, delay);
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

EXPORT pt_cu_result cuStreamDestroy_v2(pt_cu_stream s)
{
	pt_cu_result r = enter("cuStreamDestroy");

	if (r)
		return r;
	if (!s)
		return leave(PT_CUDA_ERROR_INVALID_HANDLE);
	F.streams--;
	pthread_mutex_unlock(&F.lock);
	/* as the driver does, work still queued completes before the stream goes */
	pthread_mutex_lock(&s->lock);
	run_queue(s, 0);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

EXPORT pt_cu_result cuMemcpyHtoDAsync_v2(pt_cu_deviceptr dst, const void *src, size_t n,
					 pt_cu_stream s)
{
	pt_cu_result r = enter("cuMemcpyHtoDAsync");
	struct fake_op *op;

	if (r)
		return r;
	if (n == 0)
		return leave(0);
	if (!src || !find_alloc((uintptr_t)dst, n))
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	if (!s || !find_pinned((uintptr_t)src, n)) {
		/* pageable (or the NULL stream): the driver copies before returning */
		if (!find_pinned((uintptr_t)src, n)) {
			F.pageable++;
			write_state();
		}
		memcpy((void *)(uintptr_t)dst, src, n);
		return leave(0);
	}
	op = calloc(1, sizeof(*op));
	if (!op)
		return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
	op->dst = (void *)(uintptr_t)dst;
	op->src = src;
	op->n = n;
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	pthread_mutex_unlock(&s->lock);
	return leave(0);
}

EXPORT pt_cu_result cuMemcpyDtoH_v2(void *dst, pt_cu_deviceptr src, size_t n)
{
	pt_cu_result r = enter("cuMemcpyDtoH");

	if (r)
		return r;
	if (n == 0)
		return leave(0);
	if (!dst || !find_alloc((uintptr_t)src, n))
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	memcpy(dst, (const void *)(uintptr_t)src, n);
	return leave(0);
}

/* ---- IPC ---- */

EXPORT pt_cu_result cuIpcGetMemHandle(pt_cu_ipc_mem_handle *handle, pt_cu_deviceptr dptr)
{
	pt_cu_result r = enter("cuIpcGetMemHandle");
	struct fake_alloc *a;
	struct fake_ipc h;

	if (r)
		return r;
	a = find_alloc((uintptr_t)dptr, 0);
	if (!handle || !a || a->imported || a->base != dptr)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, "PTFSFAKE", 8);
	h.pid = (int32_t)getpid();
	h.dev = a->dev;
	h.size = a->size;
	memcpy(h.name, a->name, sizeof(h.name));
	memcpy(handle, &h, sizeof(h));
	return leave(0);
}

EXPORT pt_cu_result cuIpcOpenMemHandle_v2(pt_cu_deviceptr *dptr, pt_cu_ipc_mem_handle handle,
					  unsigned int flags)
{
	pt_cu_result r = enter("cuIpcOpenMemHandle");
	struct fake_alloc *a;
	struct fake_ipc h;
	void *p;
	int fd;

	if (r)
		return r;
	memcpy(&h, &handle, sizeof(h));
	h.name[sizeof(h.name) - 1] = '\0';
	if (!dptr || memcmp(h.magic, "PTFSFAKE", 8) != 0 || h.size == 0)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	if (h.pid == (int32_t)getpid())
		return leave(PT_CUDA_ERROR_INVALID_CONTEXT);
	for (a = F.allocs; a; a = a->next)
		if (a->imported && strcmp(a->name, h.name) == 0) {
			a->refs++;
			*dptr = a->base;
			return leave(0);
		}
	a = calloc(1, sizeof(*a));
	if (!a)
		return leave(PT_CUDA_ERROR_OUT_OF_MEMORY);
	fd = shm_open(h.name, O_RDWR | O_CLOEXEC, 0);
	p = fd < 0 ? MAP_FAILED
		   : mmap(NULL, (size_t)h.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED) {
		free(a);
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	}
	a->base = (uintptr_t)p;
	a->size = (size_t)h.size;
	a->dev = cur->dev;
	a->imported = 1;
	a->refs = 1;
	memcpy(a->name, h.name, sizeof(a->name));
	a->next = F.allocs;
	F.allocs = a;
	F.opened++;
	*dptr = a->base;
	write_state();
	return leave(0);
}

EXPORT pt_cu_result cuIpcCloseMemHandle(pt_cu_deviceptr dptr)
{
	pt_cu_result r = enter("cuIpcCloseMemHandle");
	struct fake_alloc **pa, *a;

	if (r)
		return r;
	for (pa = &F.allocs; (a = *pa); pa = &a->next)
		if (a->base == dptr && a->imported)
			break;
	if (!a)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	if (--a->refs == 0) {
		*pa = a->next;
		munmap((void *)a->base, a->size);
		free(a);
		F.opened--;
	}
	write_state();
	return leave(0);
}
