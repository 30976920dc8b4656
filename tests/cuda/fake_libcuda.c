/*
 * fake_libcuda.c - a TEST DOUBLE of the CUDA driver (libcuda.so.1), NOT a
 * driver: no GPU is touched, "device memory" is host shared memory.
 *
 * Built as build/cuda/libcuda.so.1 (make fakecuda), so that lib/gpu.c, the
 * daemon (LD_LIBRARY_PATH=build/cuda) and consumers compiled against the
 * toolkit's cuda.h (-L build/cuda -l:libcuda.so.1) run on machines without
 * a GPU. It exports cuGetProcAddress_v2 and the real versioned names
 * (cuMemAlloc_v2, cuIpcOpenMemHandle_v2, ...) of the entry points
 * lib/gpu_api.h declares, and behaves as the real driver does where a
 * caller could get it wrong:
 *
 *   - cuInit first (else CUDA_ERROR_NOT_INITIALIZED); with no devices
 *     cuInit fails with CUDA_ERROR_NO_DEVICE.
 *   - a thread-local current context: memory, stream and copy calls on a
 *     thread that never made a (retained) context current fail with
 *     CUDA_ERROR_INVALID_CONTEXT.
 *   - each cuMemAlloc is a POSIX shared-memory object mapped MAP_SHARED,
 *     its address the CUdeviceptr; cuIpcGetMemHandle (the base only) names
 *     it, cuIpcOpenMemHandle_v2 maps it in another process (the exporter
 *     itself gets CUDA_ERROR_INVALID_CONTEXT, as the real driver gives
 *     "invalid device context"); cuMemFree unmaps and unlinks it.
 *   - cuMemcpyHtoDAsync_v2 from pinned memory (cuMemHostAlloc or
 *     cuMemHostRegister'd) is queued on its stream and runs at
 *     cuStreamSynchronize, so refilling a buffer before synchronizing
 *     copies the wrong bytes, as on hardware; from pageable memory it runs
 *     at once and is counted. Copies are bounds-checked against
 *     allocations (CUDA_ERROR_INVALID_VALUE).
 *
 * Environment, read at the first call and again at each cuInit while
 * nothing is allocated, retained or registered, and at cuGetProcAddress_v2
 * then when it has changed (so one test process can vary it between
 * pt_gpu_open calls even when dlopen returns the library already loaded,
 * and a failure injected into cuGetProcAddress counts from the first
 * lookup):
 *   PTFS_FAKE_CUDA_DEVICES   devices (default 1; 0: cuInit fails NO_DEVICE)
 *   PTFS_FAKE_CUDA_MEM       bytes per device, K/M/G suffixes (default 1G)
 *   PTFS_FAKE_CUDA_VERSION   cuDriverGetVersion (default 12040); read at
 *                            every call. cuGetProcAddress_v2 refuses a
 *                            higher requested version (INVALID_VALUE).
 *   PTFS_FAKE_CUDA_COPY_DELAY_US  sleep per queued copy as it runs
 *   PTFS_FAKE_CUDA_FAIL      "cuMemAlloc:3,cuMemcpyHtoDAsync:1:2": the Nth
 *                            call (from 1, since the read) of that base name
 *                            fails, with CUDA_ERROR_UNKNOWN or the code given
 *   PTFS_FAKE_CUDA_STATE     a file rewritten atomically (temporary +
 *                            rename) after every alloc, free, host
 *                            alloc/register, IPC open/close and pageable
 *                            copy:
 *                              live N             cuMemAlloc'd, not freed
 *                              bytes N            their bytes
 *                              pageable_copies N  async copies from pageable memory
 *                              ipc_open N         handles opened, not closed
 *                              pinned N           host allocations + registrations
 *                              cuda:D live N bytes N   one line per device
 *
 * One mutex guards all state except a stream's queue, which has its own so
 * that a synchronize runs its copies without holding up other threads.
 * Test doubles may keep global state; this one does (it is the "driver").
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

struct fake_state F = {.lock = PTHREAD_MUTEX_INITIALIZER};
__thread struct fake_ctx *cur;

static uint64_t env_size(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	uint64_t n;

	if (!v || !*v)
		return dflt;
	n = strtoull(v, &end, 10);
	switch (*end) {
	case 'G':
	case 'g': n <<= 30; break;
	case 'M':
	case 'm': n <<= 20; break;
	case 'K':
	case 'k': n <<= 10; break;
	default: break;
	}
	return n;
}

static int env_version(void)
{
	return (int)env_size("PTFS_FAKE_CUDA_VERSION", 12040);
}

static const char *const env_names[] = {"PTFS_FAKE_CUDA_DEVICES", "PTFS_FAKE_CUDA_MEM",
					"PTFS_FAKE_CUDA_COPY_DELAY_US", "PTFS_FAKE_CUDA_FAIL",
					"PTFS_FAKE_CUDA_STATE"};
static char env_seen[5][512];

/* Reads the environment; under F.lock. */
static void load_env(void)
{
	const char *v = getenv("PTFS_FAKE_CUDA_FAIL"), *p;
	const char *st = getenv("PTFS_FAKE_CUDA_STATE");

	F.ndev = (int)env_size("PTFS_FAKE_CUDA_DEVICES", 1);
	if (F.ndev > MAXDEV)
		F.ndev = MAXDEV;
	F.mem = env_size("PTFS_FAKE_CUDA_MEM", (uint64_t)1 << 30);
	F.delay_us = (unsigned)env_size("PTFS_FAKE_CUDA_COPY_DELAY_US", 0);
	snprintf(F.state, sizeof(F.state), "%s", st ? st : "");
	F.nfail = 0;
	for (p = v; p && *p && F.nfail < MAXFAIL;) {
		struct fake_fail *f = &F.fail[F.nfail];
		size_t len = strcspn(p, ":,");
		char *end;

		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%.*s", (int)len, p);
		p += len;
		f->code = PT_CUDA_ERROR_UNKNOWN;
		if (*p == ':') {
			f->nth = strtoul(p + 1, &end, 10);
			p = end;
			if (*p == ':') {
				f->code = (pt_cu_result)strtoul(p + 1, &end, 10);
				p = end;
			}
		}
		if (f->nth > 0)
			F.nfail++;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	for (size_t i = 0; i < 5; i++) {
		const char *e = getenv(env_names[i]);

		snprintf(env_seen[i], sizeof(env_seen[i]), "%s", e ? e : "");
	}
	F.loaded = 1;
}

/* Whether the environment differs from what load_env last read. Under F.lock. */
static int env_changed(void)
{
	size_t i;

	for (i = 0; i < 5; i++) {
		const char *v = getenv(env_names[i]);

		if (strncmp(v ? v : "", env_seen[i], sizeof(env_seen[i])) != 0)
			return 1;
	}
	return 0;
}

/* Whether anything is allocated, registered, made or retained. Under F.lock. */
static int busy(void)
{
	int d;

	if (F.allocs || F.pinned || F.streams)
		return 1;
	for (d = 0; d < MAXDEV; d++)
		if (F.ctx[d].refs > 0)
			return 1;
	return 0;
}

/* Counts a call of base name fn; its injected failure code, or 0. Under F.lock. */
pt_cu_result inject(const char *fn)
{
	int i;

	if (!F.loaded)
		load_env();
	for (i = 0; i < F.nfail; i++)
		if (strcmp(F.fail[i].name, fn) == 0 && ++F.fail[i].calls == F.fail[i].nth)
			return F.fail[i].code;
	return 0;
}

/* Rewrites the state file (temporary + rename, so a reader never sees half). Under F.lock. */
void write_state(void)
{
	char tmp[4200];
	unsigned long live = 0, pinned = 0;
	uint64_t bytes = 0;
	struct fake_pinned *p;
	FILE *f;
	int d;

	if (!F.state[0])
		return;
	for (d = 0; d < F.ndev; d++) {
		live += F.live[d];
		bytes += F.used[d];
	}
	for (p = F.pinned; p; p = p->next)
		pinned++;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", F.state, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "live %lu\nbytes %llu\npageable_copies %lu\nipc_open %lu\npinned %lu\n", live,
		(unsigned long long)bytes, F.pageable, F.opened, pinned);
	for (d = 0; d < F.ndev; d++)
		fprintf(f, "cuda:%d live %lu bytes %llu\n", d, F.live[d],
			(unsigned long long)F.used[d]);
	if (fclose(f) == 0)
		rename(tmp, F.state);
	else
		unlink(tmp);
}

/*
 * The common entry of memory, stream and copy calls: takes F.lock, counts
 * the call for injection and checks init and the current context. On a
 * nonzero return the lock is already released.
 */
pt_cu_result enter(const char *fn)
{
	pt_cu_result r;

	pthread_mutex_lock(&F.lock);
	r = inject(fn);
	if (!r && !F.ready)
		r = PT_CUDA_ERROR_NOT_INITIALIZED;
	if (!r && (!cur || cur->refs == 0))
		r = PT_CUDA_ERROR_INVALID_CONTEXT;
	if (r)
		pthread_mutex_unlock(&F.lock);
	return r;
}

pt_cu_result leave(pt_cu_result r)
{
	pthread_mutex_unlock(&F.lock);
	return r;
}

/* The allocation (own or imported) holding [p, p + n), or NULL. Under F.lock. */
struct fake_alloc *find_alloc(uintptr_t p, size_t n)
{
	struct fake_alloc *a;

	/* a base first: another allocation may end right where this one starts */
	for (a = F.allocs; a; a = a->next)
		if (p == a->base && n <= a->size)
			return a;
	for (a = F.allocs; a; a = a->next)
		if (p > a->base && p - a->base < a->size && n <= a->size - (p - a->base))
			return a;
	return NULL;
}

struct fake_pinned *find_pinned(uintptr_t p, size_t n)
{
	struct fake_pinned *q;

	for (q = F.pinned; q; q = q->next)
		if (p >= q->base && p - q->base <= q->size && n <= q->size - (p - q->base))
			return q;
	return NULL;
}

/* ---- init, version, devices ---- */

EXPORT pt_cu_result cuInit(unsigned int flags)
{
	pt_cu_result r;
	int d;

	pthread_mutex_lock(&F.lock);
	if (!F.loaded || !busy()) {
		load_env();
		F.ready = 0;
	}
	r = inject("cuInit");
	if (!r && flags != 0)
		r = PT_CUDA_ERROR_INVALID_VALUE;
	if (!r && F.ndev == 0)
		r = PT_CUDA_ERROR_NO_DEVICE;
	if (!r) {
		for (d = 0; d < F.ndev; d++)
			F.ctx[d].dev = d;
		F.ready = 1;
	}
	return leave(r);
}

EXPORT pt_cu_result cuDriverGetVersion(int *version)
{
	if (!version)
		return PT_CUDA_ERROR_INVALID_VALUE;
	*version = env_version();
	return PT_CUDA_SUCCESS;
}

/* device queries need init but no context */
static pt_cu_result enter_dev(const char *fn, int dev)
{
	pt_cu_result r;

	pthread_mutex_lock(&F.lock);
	r = inject(fn);
	if (!r && !F.ready)
		r = PT_CUDA_ERROR_NOT_INITIALIZED;
	if (!r && (dev < 0 || dev >= F.ndev))
		r = PT_CUDA_ERROR_INVALID_DEVICE;
	if (r)
		pthread_mutex_unlock(&F.lock);
	return r;
}

EXPORT pt_cu_result cuDeviceGetCount(int *count)
{
	pt_cu_result r = enter_dev("cuDeviceGetCount", 0);

	if (r == PT_CUDA_ERROR_INVALID_DEVICE)
		r = PT_CUDA_ERROR_NO_DEVICE;
	if (r)
		return r;
	*count = F.ndev;
	return leave(0);
}

EXPORT pt_cu_result cuDeviceGet(pt_cu_device *dev, int ordinal)
{
	pt_cu_result r = enter_dev("cuDeviceGet", ordinal);

	if (r)
		return r;
	*dev = ordinal;
	return leave(0);
}

EXPORT pt_cu_result cuDeviceGetName(char *name, int len, pt_cu_device dev)
{
	pt_cu_result r = enter_dev("cuDeviceGetName", dev);

	if (r)
		return r;
	if (!name || len <= 0)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	snprintf(name, (size_t)len, "ptfs fake GPU %d", dev);
	return leave(0);
}

EXPORT pt_cu_result cuDeviceGetPCIBusId(char *bus_id, int len, pt_cu_device dev)
{
	pt_cu_result r = enter_dev("cuDeviceGetPCIBusId", dev);

	if (r)
		return r;
	if (!bus_id || len <= 0)
		return leave(PT_CUDA_ERROR_INVALID_VALUE);
	snprintf(bus_id, (size_t)len, "0000:%02x:00.0", dev);
	return leave(0);
}

/* ---- contexts ---- */

EXPORT pt_cu_result cuDevicePrimaryCtxRetain(pt_cu_context *ctx, pt_cu_device dev)
{
	pt_cu_result r = enter_dev("cuDevicePrimaryCtxRetain", dev);

	if (r)
		return r;
	F.ctx[dev].refs++;
	*ctx = (pt_cu_context)&F.ctx[dev];
	return leave(0);
}

EXPORT pt_cu_result cuDevicePrimaryCtxRelease_v2(pt_cu_device dev)
{
	pt_cu_result r = enter_dev("cuDevicePrimaryCtxRelease", dev);

	if (r)
		return r;
	if (F.ctx[dev].refs == 0)
		return leave(PT_CUDA_ERROR_INVALID_CONTEXT);
	F.ctx[dev].refs--;
	return leave(0);
}

EXPORT pt_cu_result cuCtxSetCurrent(pt_cu_context ctx)
{
	struct fake_ctx *c = (struct fake_ctx *)ctx;
	pt_cu_result r;

	pthread_mutex_lock(&F.lock);
	r = inject("cuCtxSetCurrent");
	if (!r && !F.ready)
		r = PT_CUDA_ERROR_NOT_INITIALIZED;
	if (!r && c && (c < F.ctx || c >= F.ctx + F.ndev || c->refs == 0))
		r = PT_CUDA_ERROR_INVALID_CONTEXT;
	if (!r)
		cur = c;
	return leave(r);
}

/* ---- errors ---- */

static const struct {
	pt_cu_result code;
	const char *name, *text;
} errors[] = {
    {PT_CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {PT_CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {PT_CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {PT_CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {PT_CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {PT_CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {PT_CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {PT_CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {PT_CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {PT_CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED",
     "part or all of the requested memory range is already mapped"},
    {PT_CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED",
     "pointer does not correspond to a registered memory region"},
    {PT_CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {PT_CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static pt_cu_result error_lookup(pt_cu_result e, const char **str, int text)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == e) {
			*str = text ? errors[i].text : errors[i].name;
			return 0;
		}
	*str = NULL;
	return PT_CUDA_ERROR_INVALID_VALUE;
}

EXPORT pt_cu_result cuGetErrorName(pt_cu_result e, const char **str)
{
	return str ? error_lookup(e, str, 0) : PT_CUDA_ERROR_INVALID_VALUE;
}

EXPORT pt_cu_result cuGetErrorString(pt_cu_result e, const char **str)
{
	return str ? error_lookup(e, str, 1) : PT_CUDA_ERROR_INVALID_VALUE;
}

/* ---- cuGetProcAddress ---- */

EXPORT pt_cu_result cuGetProcAddress_v2(const char *symbol, void **pfn, int version, uint64_t flags,
					pt_cu_proc_status *status);

/* base name, the CUDA version that introduced this ABI, the function */
static const struct {
	const char *name;
	int since;
	void *fn;
} procs[] = {
    {"cuInit", 2000, (void *)cuInit},
    {"cuDriverGetVersion", 2020, (void *)cuDriverGetVersion},
    {"cuDeviceGetCount", 2000, (void *)cuDeviceGetCount},
    {"cuDeviceGet", 2000, (void *)cuDeviceGet},
    {"cuDeviceGetName", 2000, (void *)cuDeviceGetName},
    {"cuDeviceGetPCIBusId", 4010, (void *)cuDeviceGetPCIBusId},
    {"cuDevicePrimaryCtxRetain", 7000, (void *)cuDevicePrimaryCtxRetain},
    {"cuDevicePrimaryCtxRelease", 11000, (void *)cuDevicePrimaryCtxRelease_v2},
    {"cuCtxSetCurrent", 4000, (void *)cuCtxSetCurrent},
    {"cuMemGetInfo", 3020, (void *)cuMemGetInfo_v2},
    {"cuMemAlloc", 3020, (void *)cuMemAlloc_v2},
    {"cuMemFree", 3020, (void *)cuMemFree_v2},
    {"cuMemHostAlloc", 2020, (void *)cuMemHostAlloc},
    {"cuMemFreeHost", 2000, (void *)cuMemFreeHost},
    {"cuMemHostRegister", 6050, (void *)cuMemHostRegister_v2},
    {"cuMemHostUnregister", 4000, (void *)cuMemHostUnregister},
    {"cuMemcpyHtoDAsync", 3020, (void *)cuMemcpyHtoDAsync_v2},
    {"cuMemcpyDtoH", 3020, (void *)cuMemcpyDtoH_v2},
    {"cuStreamCreate", 2000, (void *)cuStreamCreate},
    {"cuStreamSynchronize", 2000, (void *)cuStreamSynchronize},
    {"cuStreamDestroy", 4000, (void *)cuStreamDestroy_v2},
    {"cuIpcGetMemHandle", 4010, (void *)cuIpcGetMemHandle},
    {"cuIpcOpenMemHandle", 11000, (void *)cuIpcOpenMemHandle_v2},
    {"cuIpcCloseMemHandle", 4010, (void *)cuIpcCloseMemHandle},
    {"cuGetErrorName", 6000, (void *)cuGetErrorName},
    {"cuGetErrorString", 6000, (void *)cuGetErrorString},
    {"cuGetProcAddress", 12000, (void *)cuGetProcAddress_v2},
};

/*
 * flags select legacy or per-thread default-stream variants; the double has
 * one of each function, whose stream NULL behaves as the legacy stream.
 */
EXPORT pt_cu_result cuGetProcAddress_v2(const char *symbol, void **pfn, int version, uint64_t flags,
					pt_cu_proc_status *status)
{
	pt_cu_result r;
	size_t i;

	pthread_mutex_lock(&F.lock);
	/* a test's new settings count from here, before the cuInit that rereads them */
	if (!F.loaded || (!busy() && env_changed()))
		load_env();
	r = inject("cuGetProcAddress");
	pthread_mutex_unlock(&F.lock);
	if (pfn)
		*pfn = NULL;
	if (status)
		*status = PT_CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	if (r)
		return r;
	if (!symbol || !pfn || version > env_version() ||
	    flags > PT_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
		return PT_CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		if (strcmp(procs[i].name, symbol) != 0)
			continue;
		if (version < procs[i].since) {
			if (status)
				*status = PT_CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
			return PT_CUDA_ERROR_NOT_FOUND;
		}
		*pfn = procs[i].fn;
		if (status)
			*status = PT_CU_GET_PROC_ADDRESS_SUCCESS;
		return PT_CUDA_SUCCESS;
	}
	return PT_CUDA_ERROR_NOT_FOUND;
}
