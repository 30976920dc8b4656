/*
 * gpu_int.h - what gpu.c and gpu_upload.c share: the resolved entry points
 * and struct pt_gpu. Internal to those two files.
 */
#ifndef PT_GPU_INT_H
#define PT_GPU_INT_H

#include <pthread.h>

#include "gpu.h"
#include "gpu_api.h"

struct pt_gpu_api {
	pt_cu_init_fn init;
	pt_cu_driver_get_version_fn driver_get_version;
	pt_cu_device_get_count_fn device_get_count;
	pt_cu_device_get_fn device_get;
	pt_cu_device_get_name_fn device_get_name;
	pt_cu_device_get_pci_bus_id_fn device_get_pci_bus_id;
	pt_cu_primary_ctx_retain_fn primary_ctx_retain;
	pt_cu_primary_ctx_release_fn primary_ctx_release;
	pt_cu_ctx_set_current_fn ctx_set_current;
	pt_cu_mem_get_info_fn mem_get_info;
	pt_cu_mem_alloc_fn mem_alloc;
	pt_cu_mem_free_fn mem_free;
	pt_cu_mem_host_alloc_fn mem_host_alloc;
	pt_cu_mem_free_host_fn mem_free_host;
	pt_cu_mem_host_register_fn mem_host_register;
	pt_cu_mem_host_unregister_fn mem_host_unregister;
	pt_cu_memcpy_htod_async_fn memcpy_htod_async;
	pt_cu_memcpy_dtoh_fn memcpy_dtoh;
	pt_cu_stream_create_fn stream_create;
	pt_cu_stream_synchronize_fn stream_synchronize;
	pt_cu_stream_destroy_fn stream_destroy;
	pt_cu_ipc_get_mem_handle_fn ipc_get_mem_handle;
	pt_cu_ipc_open_mem_handle_fn ipc_open_mem_handle;
	pt_cu_ipc_close_mem_handle_fn ipc_close_mem_handle;
	pt_cu_get_error_name_fn get_error_name;
	pt_cu_get_error_string_fn get_error_string;
};

struct pt_gpu_live_entry {
	uint64_t dptr; /* 0: empty slot */
	int dev;
};

struct pt_gpu {
	void *dl;
	struct pt_gpu_api cu;
	int count, version;
	pthread_mutex_t lock; /* ctx and the live set */
	pt_cu_device *devs;
	pt_cu_context *ctx; /* NULL until retained */
	struct pt_gpu_live_entry *live;
	size_t live_cap, live_n; /* live_n read without the lock by pt_gpu_live */
};

/*
 * Makes dev's primary context (retained on first use) current on the
 * calling thread. 0, or -1 with err (PT_ERR_NODEV for dev out of range,
 * PT_ERR_IO for the driver's error). err may be NULL.
 */
int pt_gpu_use(struct pt_gpu *g, int dev, struct pt_error *err);

/* "<prefix>: CUDA_ERROR_X: its string" into err with code; returns -1. */
int pt_gpu_cu_error(const struct pt_gpu *g, struct pt_error *err, enum pt_err code, pt_cu_result r,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
