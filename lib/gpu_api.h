/*
 * gpu_api.h - the few CUDA driver types, constants and entry points that
 * lib/gpu.c uses, declared here so that the build needs no CUDA toolkit.
 *
 * The driver's ABI is stable: a function's prototype never changes under a
 * name, a change gets a new versioned symbol (cuMemAlloc_v2 took a size_t
 * where cuMemAlloc took an unsigned int). So each pointer type below is the
 * ABI of one versioned symbol, the one cuGetProcAddress_v2 hands out for the
 * base name at PT_GPU_VERSION_FLOOR (12000); the comment names the symbol.
 * Everything is prefixed pt_cu / PT_CU so this header and cuda.h can be
 * included together: tests/unit/test_gpu_api.c does that and checks every
 * declaration against the toolkit's prototypes, enums and struct layouts.
 *
 * The opaque handle types (contexts, streams) are pointers to incomplete
 * structs. Their tags are ours, unless the includer defines
 * PT_CU_TAG(cuda_tag, our_tag) first: test_gpu_api.c renames them to
 * cuda.h's tags so that whole function-pointer types can be compared.
 */
#ifndef PT_GPU_API_H
#define PT_GPU_API_H

#include <stddef.h>
#include <stdint.h>

#ifndef PT_CU_TAG
#define PT_CU_TAG(cuda_tag, our_tag) our_tag
#endif
#define PT_CU_CTX_TAG	 PT_CU_TAG(CUctx_st, pt_cu_ctx_st)
#define PT_CU_STREAM_TAG PT_CU_TAG(CUstream_st, pt_cu_stream_st)

/* CUresult is an enum whose values fit an unsigned int, which is its ABI */
typedef unsigned int pt_cu_result;
typedef int pt_cu_device;		    /* CUdevice: an ordinal's handle */
typedef unsigned long long pt_cu_deviceptr; /* CUdeviceptr (64-bit) */
typedef struct PT_CU_CTX_TAG *pt_cu_context;
typedef struct PT_CU_STREAM_TAG *pt_cu_stream;
typedef unsigned int pt_cu_proc_status; /* CUdriverProcAddressQueryResult */

#define PT_CU_IPC_HANDLE_SIZE 64

/*
 * CUipcMemHandle: 64 opaque bytes, passed BY VALUE to cuIpcOpenMemHandle.
 * Same size, alignment (1) and member type as cuda.h's, so the x86-64 and
 * aarch64 calling conventions pass it the same way (on the stack / by
 * reference to a copy, being over 16 bytes).
 */
typedef struct pt_cu_ipc_mem_handle {
	char reserved[PT_CU_IPC_HANDLE_SIZE];
} pt_cu_ipc_mem_handle;

/* CUresult values used or produced (cuda.h's cudaError_enum) */
#define PT_CUDA_SUCCESS				     0
#define PT_CUDA_ERROR_INVALID_VALUE		     1
#define PT_CUDA_ERROR_OUT_OF_MEMORY		     2
#define PT_CUDA_ERROR_NOT_INITIALIZED		     3
#define PT_CUDA_ERROR_NO_DEVICE			     100
#define PT_CUDA_ERROR_INVALID_DEVICE		     101
#define PT_CUDA_ERROR_INVALID_CONTEXT		     201
#define PT_CUDA_ERROR_INVALID_HANDLE		     400
#define PT_CUDA_ERROR_NOT_FOUND			     500
#define PT_CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED 712
#define PT_CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED     713
#define PT_CUDA_ERROR_NOT_SUPPORTED		     801
#define PT_CUDA_ERROR_UNKNOWN			     999

/* cuGetProcAddress_v2's flags and symbolStatus (CUdriverProcAddress_flags, ...QueryResult) */
#define PT_CU_GET_PROC_ADDRESS_DEFAULT			 0
#define PT_CU_GET_PROC_ADDRESS_LEGACY_STREAM		 1
#define PT_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM 2
#define PT_CU_GET_PROC_ADDRESS_SUCCESS			 0
#define PT_CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND		 1
#define PT_CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT	 2

#define PT_CU_MEMHOSTALLOC_PORTABLE	      0x01
#define PT_CU_MEMHOSTREGISTER_PORTABLE	      0x01
#define PT_CU_MEMHOSTREGISTER_READ_ONLY	      0x08
#define PT_CU_STREAM_NON_BLOCKING	      0x1
#define PT_CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS 0x1

/* the one symbol taken with dlsym: cuGetProcAddress_v2 (CUDA 12.0) */
typedef pt_cu_result (*pt_cu_get_proc_address_fn)(const char *symbol, void **pfn, int cuda_version,
						  uint64_t flags, /* cuuint64_t */
						  pt_cu_proc_status *symbol_status);

/*
 * The entry points, each the ABI that cuGetProcAddress_v2 gives for its
 * base name at 12000; the versioned symbol is named where it has a suffix.
 */
typedef pt_cu_result (*pt_cu_init_fn)(unsigned int flags);
typedef pt_cu_result (*pt_cu_driver_get_version_fn)(int *version);
typedef pt_cu_result (*pt_cu_device_get_count_fn)(int *count);
typedef pt_cu_result (*pt_cu_device_get_fn)(pt_cu_device *dev, int ordinal);
typedef pt_cu_result (*pt_cu_device_get_name_fn)(char *name, int len, pt_cu_device dev);
typedef pt_cu_result (*pt_cu_device_get_pci_bus_id_fn)(char *bus_id, int len, pt_cu_device dev);
typedef pt_cu_result (*pt_cu_primary_ctx_retain_fn)(pt_cu_context *ctx, pt_cu_device dev);
/* cuDevicePrimaryCtxRelease_v2 */
typedef pt_cu_result (*pt_cu_primary_ctx_release_fn)(pt_cu_device dev);
typedef pt_cu_result (*pt_cu_ctx_set_current_fn)(pt_cu_context ctx);
/* cuMemGetInfo_v2 */
typedef pt_cu_result (*pt_cu_mem_get_info_fn)(size_t *free_bytes, size_t *total_bytes);
/* cuMemAlloc_v2 */
typedef pt_cu_result (*pt_cu_mem_alloc_fn)(pt_cu_deviceptr *dptr, size_t size);
/* cuMemFree_v2 */
typedef pt_cu_result (*pt_cu_mem_free_fn)(pt_cu_deviceptr dptr);
typedef pt_cu_result (*pt_cu_mem_host_alloc_fn)(void **p, size_t size, unsigned int flags);
typedef pt_cu_result (*pt_cu_mem_free_host_fn)(void *p);
/* cuMemHostRegister_v2 */
typedef pt_cu_result (*pt_cu_mem_host_register_fn)(void *p, size_t size, unsigned int flags);
typedef pt_cu_result (*pt_cu_mem_host_unregister_fn)(void *p);
/* cuMemcpyHtoDAsync_v2 (legacy default stream; not the _ptsz variant) */
typedef pt_cu_result (*pt_cu_memcpy_htod_async_fn)(pt_cu_deviceptr dst, const void *src, size_t n,
						   pt_cu_stream stream);
/* cuMemcpyDtoH_v2 (legacy default stream; not the _ptds variant) */
typedef pt_cu_result (*pt_cu_memcpy_dtoh_fn)(void *dst, pt_cu_deviceptr src, size_t n);
typedef pt_cu_result (*pt_cu_stream_create_fn)(pt_cu_stream *stream, unsigned int flags);
typedef pt_cu_result (*pt_cu_stream_synchronize_fn)(pt_cu_stream stream);
/* cuStreamDestroy_v2 */
typedef pt_cu_result (*pt_cu_stream_destroy_fn)(pt_cu_stream stream);
typedef pt_cu_result (*pt_cu_ipc_get_mem_handle_fn)(pt_cu_ipc_mem_handle *handle,
						    pt_cu_deviceptr dptr);
/* cuIpcOpenMemHandle_v2 */
typedef pt_cu_result (*pt_cu_ipc_open_mem_handle_fn)(pt_cu_deviceptr *dptr,
						     pt_cu_ipc_mem_handle handle,
						     unsigned int flags);
typedef pt_cu_result (*pt_cu_ipc_close_mem_handle_fn)(pt_cu_deviceptr dptr);
typedef pt_cu_result (*pt_cu_get_error_name_fn)(pt_cu_result error, const char **str);
typedef pt_cu_result (*pt_cu_get_error_string_fn)(pt_cu_result error, const char **str);

#endif
