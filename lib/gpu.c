/*
 * gpu.c - the CUDA driver loaded at run time (gpu.h).
 *
 * Loading: dlopen the library, dlsym only cuGetProcAddress_v2, and resolve
 * every other entry point through it at PT_GPU_VERSION_FLOOR, so each
 * pointer is the ABI of the versioned symbol gpu_api.h declares (dlsym of
 * "cuMemAlloc" would give the 32-bit legacy ABI). We ask with
 * CU_GET_PROC_ADDRESS_LEGACY_STREAM rather than DEFAULT: DEFAULT means
 * "per-thread default stream if the caller was compiled for it", which the
 * driver cannot know of a dlopen caller; saying legacy pins the plain _v2
 * functions (not _ptds/_ptsz). It matters only for cuMemcpyDtoH, our one
 * call on the NULL stream; our streams are non-blocking, so that read never
 * waits on another thread's upload either way. cuDriverGetVersion is
 * resolved first at its own first version (2.2), so an old driver is
 * refused with its version in the message rather than a lookup failure.
 *
 * Contexts: each device's primary context is retained on first use and
 * made current by every call on its calling thread (cuCtxSetCurrent is
 * cheap), because callers run on FUSE worker threads and our upload
 * threads. Live allocations are kept in a hash set (dptr -> device) under
 * the mutex, so pt_gpu_close can free what callers left and a daemon with
 * many thousands of tensors frees each in constant time.
 *
 * pt_gpu_upload is in gpu_upload.c; gpu_int.h is what the two share.
 */
#define _GNU_SOURCE
#include "gpu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_int.h"

/* base names as cuGetProcAddress takes them, and where each pointer goes */
static const struct {
	const char *name;
	size_t off;
} entry_points[] = {
#define EP(name, field)                                                                            \
	{                                                                                          \
		name, offsetof(struct pt_gpu_api, field)                                           \
	}
    EP("cuInit", init),
    EP("cuDeviceGetCount", device_get_count),
    EP("cuDeviceGet", device_get),
    EP("cuDeviceGetName", device_get_name),
    EP("cuDeviceGetPCIBusId", device_get_pci_bus_id),
    EP("cuDevicePrimaryCtxRetain", primary_ctx_retain),
    EP("cuDevicePrimaryCtxRelease", primary_ctx_release),
    EP("cuCtxSetCurrent", ctx_set_current),
    EP("cuMemGetInfo", mem_get_info),
    EP("cuMemAlloc", mem_alloc),
    EP("cuMemFree", mem_free),
    EP("cuMemHostAlloc", mem_host_alloc),
    EP("cuMemFreeHost", mem_free_host),
    EP("cuMemHostRegister", mem_host_register),
    EP("cuMemHostUnregister", mem_host_unregister),
    EP("cuMemcpyHtoDAsync", memcpy_htod_async),
    EP("cuMemcpyDtoH", memcpy_dtoh),
    EP("cuStreamCreate", stream_create),
    EP("cuStreamSynchronize", stream_synchronize),
    EP("cuStreamDestroy", stream_destroy),
    EP("cuIpcGetMemHandle", ipc_get_mem_handle),
    EP("cuIpcOpenMemHandle", ipc_open_mem_handle),
    EP("cuIpcCloseMemHandle", ipc_close_mem_handle),
    EP("cuGetErrorName", get_error_name),
    EP("cuGetErrorString", get_error_string),
#undef EP
};

/* ---- errors ---- */

int pt_gpu_cu_error(const struct pt_gpu *g, struct pt_error *err, enum pt_err code, pt_cu_result r,
		    const char *fmt, ...)
{
	const char *name = NULL, *text = NULL;
	char prefix[256], unknown[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (!g->cu.get_error_name || g->cu.get_error_name(r, &name) != 0 || !name) {
		snprintf(unknown, sizeof(unknown), "CUDA error %u", r);
		name = unknown;
	}
	if (!g->cu.get_error_string || g->cu.get_error_string(r, &text) != 0 || !text)
		text = "unknown error";
	return pt_error_set(err, code, "%s: %s: %s", prefix, name, text);
}

/* ---- the live set: open addressing, linear probing, under g->lock ---- */

static size_t live_slot(uint64_t dptr, size_t cap)
{
	return (size_t)((dptr >> 8) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

static int live_add(struct pt_gpu *g, uint64_t dptr, int dev)
{
	size_t i;

	if ((g->live_n + 1) * 2 > g->live_cap) {
		size_t cap = g->live_cap ? g->live_cap * 2 : 64, j;
		struct pt_gpu_live_entry *t = calloc(cap, sizeof(*t));

		if (!t)
			return -1;
		for (j = 0; j < g->live_cap; j++) {
			if (!g->live[j].dptr)
				continue;
			for (i = live_slot(g->live[j].dptr, cap); t[i].dptr;
			     i = (i + 1) & (cap - 1))
				;
			t[i] = g->live[j];
		}
		free(g->live);
		g->live = t;
		g->live_cap = cap;
	}
	for (i = live_slot(dptr, g->live_cap); g->live[i].dptr; i = (i + 1) & (g->live_cap - 1))
		;
	g->live[i].dptr = dptr;
	g->live[i].dev = dev;
	__atomic_store_n(&g->live_n, g->live_n + 1, __ATOMIC_RELAXED);
	return 0;
}

/* Removes dptr; false when it is not there. Backward-shift deletion keeps probes unbroken. */
static bool live_remove(struct pt_gpu *g, uint64_t dptr)
{
	size_t mask = g->live_cap - 1, i, j, k;

	if (!g->live_cap)
		return false;
	for (i = live_slot(dptr, g->live_cap); g->live[i].dptr != dptr; i = (i + 1) & mask)
		if (!g->live[i].dptr)
			return false;
	for (j = (i + 1) & mask; g->live[j].dptr; j = (j + 1) & mask) {
		k = live_slot(g->live[j].dptr, g->live_cap);
		/* move j into the hole at i unless its home k lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		g->live[i] = g->live[j];
		i = j;
	}
	g->live[i].dptr = 0;
	__atomic_store_n(&g->live_n, g->live_n - 1, __ATOMIC_RELAXED);
	return true;
}

/* ---- open and close ---- */

static int resolve(pt_cu_get_proc_address_fn gpa, const char *name, int version, void **fn,
		   struct pt_error *err)
{
	pt_cu_proc_status status = 0;
	pt_cu_result r;

	r = gpa(name, fn, version, PT_CU_GET_PROC_ADDRESS_LEGACY_STREAM, &status);
	if (r == 0 && status == PT_CU_GET_PROC_ADDRESS_SUCCESS && *fn)
		return 0;
	return pt_error_set(
	    err, PT_ERR_NODEV,
	    "the CUDA driver is older than 12.0: %s at version %d: %s (error %u)", name, version,
	    status == PT_CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT ? "version not sufficient"
								    : "symbol not found",
	    r);
}

struct pt_gpu *pt_gpu_open(const char *lib, struct pt_error *err)
{
	pt_cu_get_proc_address_fn gpa;
	struct pt_gpu *g;
	pt_cu_result r;
	size_t i;
	void *fn;
	int d;

	g = calloc(1, sizeof(*g));
	if (!g) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&g->lock, NULL);
	g->dl = dlopen(lib ? lib : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!g->dl) {
		pt_error_set(err, PT_ERR_NODEV, "no CUDA driver: %s", dlerror());
		goto fail;
	}
	/* POSIX: a data pointer from dlsym may hold a function's address */
	gpa = (pt_cu_get_proc_address_fn)dlsym(g->dl, "cuGetProcAddress_v2");
	if (!gpa) {
		pt_error_set(err, PT_ERR_NODEV,
			     "the CUDA driver is older than 12.0: it has no cuGetProcAddress_v2");
		goto fail;
	}
	if (resolve(gpa, "cuDriverGetVersion", 2020, &fn, err) < 0)
		goto fail;
	memcpy(&g->cu.driver_get_version, &fn, sizeof(fn));
	r = g->cu.driver_get_version(&g->version);
	if (r != 0 || g->version < PT_GPU_VERSION_FLOOR) {
		pt_error_set(err, PT_ERR_NODEV, "the CUDA driver is older than 12.0: it is %d.%d",
			     g->version / 1000, g->version % 1000 / 10);
		goto fail;
	}
	for (i = 0; i < sizeof(entry_points) / sizeof(entry_points[0]); i++) {
		if (resolve(gpa, entry_points[i].name, PT_GPU_VERSION_FLOOR, &fn, err) < 0)
			goto fail;
		memcpy((char *)&g->cu + entry_points[i].off, &fn, sizeof(fn));
	}
	r = g->cu.init(0);
	if (r != 0) {
		pt_gpu_cu_error(g, err, PT_ERR_NODEV, r, "cuInit");
		goto fail;
	}
	r = g->cu.device_get_count(&g->count);
	if (r != 0) {
		pt_gpu_cu_error(g, err, PT_ERR_NODEV, r, "cuDeviceGetCount");
		goto fail;
	}
	g->devs = calloc((size_t)g->count + 1, sizeof(*g->devs));
	g->ctx = calloc((size_t)g->count + 1, sizeof(*g->ctx));
	if (!g->devs || !g->ctx) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (d = 0; d < g->count; d++) {
		r = g->cu.device_get(&g->devs[d], d);
		if (r != 0) {
			pt_gpu_cu_error(g, err, PT_ERR_NODEV, r, "cuDeviceGet(%d)", d);
			goto fail;
		}
	}
	return g;
fail:
	pt_gpu_close(g);
	return NULL;
}

void pt_gpu_close(struct pt_gpu *g)
{
	size_t i;
	int d;

	if (!g)
		return;
	for (i = 0; i < g->live_cap; i++) {
		if (!g->live[i].dptr)
			continue;
		if (g->cu.ctx_set_current(g->ctx[g->live[i].dev]) == 0)
			g->cu.mem_free(g->live[i].dptr);
	}
	if (g->ctx) {
		/* a released context must not stay current on this thread */
		g->cu.ctx_set_current(NULL);
		for (d = 0; d < g->count; d++)
			if (g->ctx[d])
				g->cu.primary_ctx_release(g->devs[d]);
	}
	if (g->dl)
		dlclose(g->dl);
	pthread_mutex_destroy(&g->lock);
	free(g->live);
	free(g->ctx);
	free(g->devs);
	free(g);
}

int pt_gpu_count(const struct pt_gpu *g)
{
	return g->count;
}

int pt_gpu_driver_version(const struct pt_gpu *g)
{
	return g->version;
}

size_t pt_gpu_live(const struct pt_gpu *g)
{
	return __atomic_load_n(&g->live_n, __ATOMIC_RELAXED);
}

static int check_dev(const struct pt_gpu *g, int dev, struct pt_error *err)
{
	if (dev < 0 || dev >= g->count)
		return pt_error_set(err, PT_ERR_NODEV, "cuda:%d: no such device (%d present)", dev,
				    g->count);
	return 0;
}

int pt_gpu_use(struct pt_gpu *g, int dev, struct pt_error *err)
{
	pt_cu_context ctx = NULL;
	pt_cu_result r = 0;

	if (check_dev(g, dev, err) < 0)
		return -1;
	pthread_mutex_lock(&g->lock);
	if (!g->ctx[dev]) {
		/* stored only on success: a NULL slot is what close reads as "not retained" */
		r = g->cu.primary_ctx_retain(&ctx, g->devs[dev]);
		if (r == 0)
			g->ctx[dev] = ctx;
	}
	ctx = g->ctx[dev];
	pthread_mutex_unlock(&g->lock);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuDevicePrimaryCtxRetain",
				       dev);
	r = g->cu.ctx_set_current(ctx);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuCtxSetCurrent", dev);
	return 0;
}

/* ---- devices ---- */

int pt_gpu_bus_id(struct pt_gpu *g, int dev, char *buf, size_t cap, struct pt_error *err)
{
	pt_cu_result r;

	if (check_dev(g, dev, err) < 0)
		return -1;
	r = g->cu.device_get_pci_bus_id(buf, (int)(cap > 4096 ? 4096 : cap), g->devs[dev]);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuDeviceGetPCIBusId", dev);
	return 0;
}

int pt_gpu_describe(struct pt_gpu *g, int dev, char *buf, size_t cap, struct pt_error *err)
{
	char name[256], bus[64];
	pt_cu_result r;

	if (pt_gpu_bus_id(g, dev, bus, sizeof(bus), err) < 0)
		return -1;
	r = g->cu.device_get_name(name, (int)sizeof(name), g->devs[dev]);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuDeviceGetName", dev);
	snprintf(buf, cap, "%s, %s", name, bus);
	return 0;
}

int pt_gpu_mem_info(struct pt_gpu *g, int dev, uint64_t *free_bytes, uint64_t *total_bytes,
		    struct pt_error *err)
{
	size_t f = 0, t = 0;
	pt_cu_result r;

	if (pt_gpu_use(g, dev, err) < 0)
		return -1;
	r = g->cu.mem_get_info(&f, &t);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuMemGetInfo", dev);
	*free_bytes = f;
	*total_bytes = t;
	return 0;
}

/* ---- memory ---- */

int pt_gpu_alloc(struct pt_gpu *g, int dev, uint64_t size, uint64_t *dptr, struct pt_error *err)
{
	pt_cu_deviceptr p = 0;
	uint64_t free_bytes, total;
	pt_cu_result r;
	int rc;

	if (pt_gpu_use(g, dev, err) < 0)
		return -1;
	if (size == 0)
		size = 1; /* cuMemAlloc refuses 0; an empty tensor still gets a handle */
	r = size > SIZE_MAX ? PT_CUDA_ERROR_OUT_OF_MEMORY : g->cu.mem_alloc(&p, (size_t)size);
	if (r == PT_CUDA_ERROR_OUT_OF_MEMORY) {
		if (pt_gpu_mem_info(g, dev, &free_bytes, &total, err) < 0)
			return pt_error_set(err, PT_ERR_NOMEM,
					    "cuda:%d: out of memory: %llu bytes needed", dev,
					    (unsigned long long)size);
		return pt_error_set(err, PT_ERR_NOMEM,
				    "cuda:%d: out of memory: %llu bytes needed, %llu free", dev,
				    (unsigned long long)size, (unsigned long long)free_bytes);
	}
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuMemAlloc of %llu bytes",
				       dev, (unsigned long long)size);
	pthread_mutex_lock(&g->lock);
	rc = live_add(g, p, dev);
	pthread_mutex_unlock(&g->lock);
	if (rc < 0) {
		g->cu.mem_free(p);
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	*dptr = p;
	return 0;
}

void pt_gpu_free(struct pt_gpu *g, int dev, uint64_t dptr)
{
	bool ours;

	if (!dptr)
		return;
	pthread_mutex_lock(&g->lock);
	ours = live_remove(g, dptr);
	pthread_mutex_unlock(&g->lock);
	/* not ours (freed twice, or never ours): freeing again would hit whoever has it now */
	if (ours && pt_gpu_use(g, dev, NULL) == 0)
		g->cu.mem_free(dptr);
}

int pt_gpu_read(struct pt_gpu *g, int dev, uint64_t dptr, void *buf, size_t n, struct pt_error *err)
{
	pt_cu_result r;

	if (pt_gpu_use(g, dev, err) < 0)
		return -1;
	r = g->cu.memcpy_dtoh(buf, dptr, n);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuMemcpyDtoH of %zu bytes",
				       dev, n);
	return 0;
}

/* ---- IPC ---- */

int pt_gpu_ipc_handle(struct pt_gpu *g, int dev, uint64_t dptr,
		      unsigned char handle[PT_GPU_IPC_HANDLE_SIZE], struct pt_error *err)
{
	pt_cu_ipc_mem_handle h;
	pt_cu_result r;

	if (pt_gpu_use(g, dev, err) < 0)
		return -1;
	r = g->cu.ipc_get_mem_handle(&h, dptr);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuIpcGetMemHandle", dev);
	memcpy(handle, h.reserved, PT_GPU_IPC_HANDLE_SIZE);
	return 0;
}

int pt_gpu_ipc_open(struct pt_gpu *g, int dev, const unsigned char handle[PT_GPU_IPC_HANDLE_SIZE],
		    uint64_t *dptr, struct pt_error *err)
{
	pt_cu_ipc_mem_handle h;
	pt_cu_deviceptr p = 0;
	pt_cu_result r;

	if (pt_gpu_use(g, dev, err) < 0)
		return -1;
	memcpy(h.reserved, handle, PT_GPU_IPC_HANDLE_SIZE);
	r = g->cu.ipc_open_mem_handle(&p, h, PT_CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);
	if (r != 0)
		return pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuIpcOpenMemHandle", dev);
	*dptr = p;
	return 0;
}

void pt_gpu_ipc_close(struct pt_gpu *g, int dev, uint64_t dptr)
{
	if (dptr && pt_gpu_use(g, dev, NULL) == 0)
		g->cu.ipc_close_mem_handle(dptr);
}

int pt_gpu_bench_pinned(struct pt_gpu *g, int dev, uint64_t size, double *seconds,
			struct pt_error *err)
{
	struct timespec t0, t1;
	pt_cu_stream stream = NULL;
	pt_cu_deviceptr dptr = 0;
	void *host = NULL;
	pt_cu_result r;
	int rc = -1;

	if (pt_gpu_use(g, dev, err) < 0)
		return -1;
	if (size == 0 || size > SIZE_MAX)
		return pt_error_set(err, PT_ERR_INVAL, "cuda:%d: bad benchmark size %llu", dev,
				    (unsigned long long)size);
	if ((r = g->cu.mem_alloc(&dptr, (size_t)size)) != 0) {
		pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuMemAlloc of %llu bytes", dev,
				(unsigned long long)size);
		goto out;
	}
	if ((r = g->cu.mem_host_alloc(&host, (size_t)size, 0)) != 0) {
		pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuMemHostAlloc of %llu bytes",
				(unsigned long long)size);
		goto out_dev;
	}
	memset(host, 0x5a, (size_t)size); /* fault the pages in: time the copy, not the kernel */
	if ((r = g->cu.stream_create(&stream, PT_CU_STREAM_NON_BLOCKING)) != 0) {
		pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuStreamCreate", dev);
		goto out_host;
	}
	/* the first copy warms up the DMA path and the device's page tables */
	if ((r = g->cu.memcpy_htod_async(dptr, host, (size_t)size, stream)) != 0 ||
	    (r = g->cu.stream_synchronize(stream)) != 0)
		goto copy_failed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = g->cu.memcpy_htod_async(dptr, host, (size_t)size, stream)) != 0 ||
	    (r = g->cu.stream_synchronize(stream)) != 0)
		goto copy_failed;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	rc = 0;
	goto out_stream;
copy_failed:
	pt_gpu_cu_error(g, err, PT_ERR_IO, r, "cuda:%d: cuMemcpyHtoDAsync of %llu bytes", dev,
			(unsigned long long)size);
out_stream:
	g->cu.stream_destroy(stream);
out_host:
	g->cu.mem_free_host(host);
out_dev:
	g->cu.mem_free(dptr);
out:
	return rc;
}
