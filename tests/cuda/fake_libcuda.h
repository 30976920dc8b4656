/*
 * fake_libcuda.h - what the two files of the CUDA driver's TEST DOUBLE share
 * (fake_libcuda.c: state, environment, devices, contexts, errors and
 * cuGetProcAddress_v2; fake_libcuda_mem.c: memory, streams, copies, IPC).
 * Not a driver; see fake_libcuda.c. Built with -fvisibility=hidden, so
 * only the EXPORT'ed entry points leave the library.
 */
#ifndef PT_FAKE_LIBCUDA_H
#define PT_FAKE_LIBCUDA_H

#include <pthread.h>
#include <stdint.h>

#include "gpu_api.h"

#define EXPORT	__attribute__((visibility("default")))
#define MAXDEV	16
#define MAXFAIL 16

struct fake_ctx {
	int dev;
	int refs; /* primary context retains; 0: inactive */
};

struct fake_alloc {
	uintptr_t base;
	size_t size;
	int dev;
	int imported; /* mapped from another process's IPC handle */
	int refs;     /* opens of an imported handle */
	char name[40];
	struct fake_alloc *next;
};

struct fake_pinned {
	uintptr_t base;
	size_t size;
	int registered; /* cuMemHostRegister'd (else cuMemHostAlloc'd) */
	struct fake_pinned *next;
};

struct fake_op {
	void *dst;
	const void *src;
	size_t n;
	struct fake_op *next;
};

struct pt_cu_stream_st {
	pthread_mutex_t lock;
	struct fake_op *head, *tail;
};

/* the handle's 64 bytes */
struct fake_ipc {
	char magic[8];
	int32_t pid;
	int32_t dev;
	uint64_t size;
	char name[40];
};
_Static_assert(sizeof(struct fake_ipc) == PT_CU_IPC_HANDLE_SIZE, "IPC handle size");

struct fake_fail {
	char name[48];
	unsigned long nth, calls;
	pt_cu_result code;
};

struct fake_state {
	pthread_mutex_t lock;
	int loaded, ready; /* env read; cuInit succeeded */
	int ndev;
	uint64_t mem;
	unsigned delay_us;
	char state[4096];
	struct fake_ctx ctx[MAXDEV];
	uint64_t used[MAXDEV];
	unsigned long live[MAXDEV];
	struct fake_alloc *allocs;
	struct fake_pinned *pinned;
	unsigned long streams, pageable, opened, counter;
	struct fake_fail fail[MAXFAIL];
	int nfail;
};

extern struct fake_state F;
extern __thread struct fake_ctx *cur;

/* Counts a call of base name fn; its injected failure code, or 0. Under F.lock. */
pt_cu_result inject(const char *fn);
/* Rewrites the state file (temporary + rename). Under F.lock. */
void write_state(void);
/*
 * The common entry of memory, stream and copy calls: takes F.lock, counts
 * the call and checks init and the current context; on a nonzero return
 * the lock is already released. leave releases it and returns r.
 */
pt_cu_result enter(const char *fn);
pt_cu_result leave(pt_cu_result r);
/* The allocation (own or imported) / pinned range holding [p, p + n), or NULL. Under F.lock. */
struct fake_alloc *find_alloc(uintptr_t p, size_t n);
struct fake_pinned *find_pinned(uintptr_t p, size_t n);

/* the entry points fake_libcuda_mem.c defines, for cuGetProcAddress_v2's table */
EXPORT pt_cu_result cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes);
EXPORT pt_cu_result cuMemAlloc_v2(pt_cu_deviceptr *dptr, size_t size);
EXPORT pt_cu_result cuMemFree_v2(pt_cu_deviceptr dptr);
EXPORT pt_cu_result cuMemHostAlloc(void **pp, size_t size, unsigned int flags);
EXPORT pt_cu_result cuMemFreeHost(void *p);
EXPORT pt_cu_result cuMemHostRegister_v2(void *p, size_t size, unsigned int flags);
EXPORT pt_cu_result cuMemHostUnregister(void *p);
EXPORT pt_cu_result cuStreamCreate(pt_cu_stream *stream, unsigned int flags);
EXPORT pt_cu_result cuStreamSynchronize(pt_cu_stream s);
EXPORT pt_cu_result cuStreamDestroy_v2(pt_cu_stream s);
EXPORT pt_cu_result cuMemcpyHtoDAsync_v2(pt_cu_deviceptr dst, const void *src, size_t n,
					 pt_cu_stream s);
EXPORT pt_cu_result cuMemcpyDtoH_v2(void *dst, pt_cu_deviceptr src, size_t n);
EXPORT pt_cu_result cuIpcGetMemHandle(pt_cu_ipc_mem_handle *handle, pt_cu_deviceptr dptr);
EXPORT pt_cu_result cuIpcOpenMemHandle_v2(pt_cu_deviceptr *dptr, pt_cu_ipc_mem_handle handle,
					  unsigned int flags);
EXPORT pt_cu_result cuIpcCloseMemHandle(pt_cu_deviceptr dptr);

#endif
