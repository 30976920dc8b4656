/*
 * gpu.h - the CUDA driver, loaded at run time: devices, device memory,
 * copies from a source into it, and IPC handles.
 *
 * The one module that talks to a GPU. Nothing links libcuda or libcudart:
 * pt_gpu_open dlopens libcuda.so.1, takes cuGetProcAddress_v2 from it and
 * resolves every other entry point through it at a fixed version floor
 * (PT_GPU_VERSION_FLOOR, CUDA 12.0), so one binary runs on machines with no
 * GPU and no toolkit, and on every driver from 12.0 on. The few driver types
 * and entry points used are declared in gpu_api.h (the driver ABI is
 * stable); tests/unit/test_gpu_api.c checks them against the toolkit's
 * cuda.h where one is installed.
 *
 * Every device is used through its primary context, which each call makes
 * current on the calling thread, so any thread may call any function here
 * (pt_gpu_upload runs its own threads). Each pt_gpu_alloc is one cuMemAlloc,
 * so the base of every allocation can be exported with cuIpcGetMemHandle.
 * Nothing here knows checkpoints: the caller says which source bytes go
 * where (lib/resident.c decides that).
 */
#ifndef PT_GPU_H
#define PT_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "progress.h"
#include "source.h"

#define PT_GPU_VERSION_FLOOR 12000 /* CUDA 12.0: every entry point used exists there */
#define PT_GPU_IPC_HANDLE_SIZE 64  /* CU_IPC_HANDLE_SIZE */

struct pt_gpu;

/*
 * Loads the driver library lib (NULL: "libcuda.so.1", found as the dynamic
 * loader finds it, so LD_LIBRARY_PATH can put a test double first), resolves
 * the entry points and runs cuInit(0). Makes no context. Returns the
 * handle, which the caller frees with pt_gpu_close; NULL with err
 * PT_ERR_NODEV when the library cannot be loaded ("no CUDA driver:
 * libcuda.so.1: cannot open shared object file: ..."), lacks
 * cuGetProcAddress_v2 or an entry point ("the CUDA driver is older than
 * 12.0: ..."), or cuInit fails (the driver's error name and string); with
 * PT_ERR_NOMEM when out of memory. Nothing stays loaded on failure.
 * Call it in the process that will own the allocations (after a fork).
 */
struct pt_gpu *pt_gpu_open(const char *lib, struct pt_error *err);

/*
 * Frees every allocation still live, releases the primary contexts it
 * retained and unloads the library. (Pinned buffers and streams belong to
 * each pt_gpu_upload, which frees its own before it returns.) No other
 * call on g may be running. g may be NULL.
 */
void pt_gpu_close(struct pt_gpu *g);

/* The number of devices the driver reports (0 or more). */
int pt_gpu_count(const struct pt_gpu *g);

/* The driver's version as cuDriverGetVersion gives it (12040 for 12.4). */
int pt_gpu_driver_version(const struct pt_gpu *g);

/*
 * "NVIDIA H200, 0000:18:00.0" for device dev (its name and PCI bus id,
 * which identify it across processes whose CUDA_VISIBLE_DEVICES differ)
 * into buf (cap bytes, NUL-terminated). 0, or -1 with err (PT_ERR_NODEV for
 * dev out of range, or the driver's error).
 */
int pt_gpu_describe(struct pt_gpu *g, int dev, char *buf, size_t cap, struct pt_error *err);

/* Device dev's PCI bus id, "0000:18:00.0", into buf (cap bytes); 0 or -1 with err. */
int pt_gpu_bus_id(struct pt_gpu *g, int dev, char *buf, size_t cap, struct pt_error *err);

/* Free and total bytes of device memory on dev (cuMemGetInfo); 0 or -1 with err. */
int pt_gpu_mem_info(struct pt_gpu *g, int dev, uint64_t *free_bytes, uint64_t *total_bytes,
		    struct pt_error *err);

/*
 * Allocates size bytes (at least 1 is allocated for size 0) on device dev
 * into *dptr, retaining dev's primary context on first use. 0, or -1 with
 * err: PT_ERR_NOMEM when the device is out of memory ("cuda:N: out of
 * memory: SIZE bytes needed, FREE free"), PT_ERR_NODEV for dev out of
 * range, PT_ERR_IO for any other driver error (its name and string).
 * The allocation is the caller's until pt_gpu_free (or pt_gpu_close).
 */
int pt_gpu_alloc(struct pt_gpu *g, int dev, uint64_t size, uint64_t *dptr,
		 struct pt_error *err);

/* Frees an allocation pt_gpu_alloc made on dev. dptr 0 is a no-op. */
void pt_gpu_free(struct pt_gpu *g, int dev, uint64_t dptr);

/* Allocations live now (made and not freed), over every device. */
size_t pt_gpu_live(const struct pt_gpu *g);

/*
 * Copies n bytes at device address dptr on dev into buf (synchronous). 0, or
 * -1 with err (PT_ERR_IO: the driver's error name and string).
 */
int pt_gpu_read(struct pt_gpu *g, int dev, uint64_t dptr, void *buf, size_t n,
		struct pt_error *err);

/* One copy of pt_gpu_upload: size bytes of the source at src_off to dptr on dev. */
struct pt_gpu_copy {
	int dev;
	uint64_t dptr;
	uint64_t src_off;
	uint64_t size;
	unsigned swap; /* > 1: reverse each swap-byte unit on the way (big-endian files) */
};

/* How pt_gpu_upload moves bytes from the source to the devices. */
enum pt_gpu_path {
	/*
	 * preads into pinned staging buffers (cuMemHostAlloc), PT_GPU_SLOTS of
	 * PT_GPU_CHUNK bytes per device, each with its own stream: a buffer is
	 * refilled while the copies from the others run.
	 */
	PT_GPU_STAGED,
	/*
	 * the source's file mapped read-only and registered with
	 * cuMemHostRegister(CU_MEMHOSTREGISTER_READ_ONLY) piece by piece, and
	 * copied from there without a staging copy. Jobs with swap > 1, and
	 * sources without a descriptor, go the staged way.
	 */
	PT_GPU_REGISTERED,
};

#define PT_GPU_SLOTS 4
#define PT_GPU_CHUNK ((size_t)16 << 20)

/*
 * Copies every job's bytes from src to its device, asynchronously, several
 * copies in flight per device and the devices in parallel (a thread per
 * device with work), and returns when all are on their devices or one
 * failed. Adds each chunk's bytes to prog (may be NULL) as its copy is
 * issued. 0, or -1 with err: the first failure (a short source: PT_ERR_IO
 * naming the offset; a driver error: its name and string), after which the
 * other devices stop at their next chunk; device memory is then partly
 * written (the caller frees it). jobs may be in any order.
 */
int pt_gpu_upload(struct pt_gpu *g, struct pt_source *src, const struct pt_gpu_copy *jobs,
		  size_t n, enum pt_gpu_path path, struct pt_progress *prog, struct pt_error *err);

/*
 * The CUDA IPC memory handle (64 opaque bytes) of the allocation at dptr on
 * dev, which pt_gpu_alloc returned (the base, not an address inside it).
 * 0, or -1 with err (PT_ERR_IO: the driver's error).
 */
int pt_gpu_ipc_handle(struct pt_gpu *g, int dev, uint64_t dptr,
		      unsigned char handle[PT_GPU_IPC_HANDLE_SIZE], struct pt_error *err);

/*
 * The importing side, for consumers written with this module (scripts/):
 * opens another process's handle on dev into *dptr
 * (CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS); close it with pt_gpu_ipc_close
 * before the exporter frees it. 0, or -1 with err.
 */
int pt_gpu_ipc_open(struct pt_gpu *g, int dev, const unsigned char handle[PT_GPU_IPC_HANDLE_SIZE],
		    uint64_t *dptr, struct pt_error *err);
void pt_gpu_ipc_close(struct pt_gpu *g, int dev, uint64_t dptr);

/*
 * The baseline of scripts/gpu-check.sh: allocates size bytes on dev and a
 * pinned buffer of size bytes, copies once to warm up, then times one
 * cuMemcpyHtoDAsync of all of it (and the stream's synchronize) into
 * *seconds. Frees both. 0, or -1 with err.
 */
int pt_gpu_bench_pinned(struct pt_gpu *g, int dev, uint64_t size, double *seconds,
			struct pt_error *err);

#endif
