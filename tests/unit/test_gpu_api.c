/*
 * test_gpu_api.c - lib/gpu_api.h against the toolkit's cuda.h.
 *
 * Where cuda.h is installed (the Makefile adds -I/usr/local/cuda/include
 * when it is), every check is made at compile time: each function-pointer
 * type must be compatible (__builtin_types_compatible_p, i.e. same return
 * and parameter types) with the prototype cuda.h declares under that base
 * name, which its macros map to the versioned symbol (cuMemAlloc is
 * cuMemAlloc_v2), and with cudaTypedefs.h's PFN_<name>_v<N> of the ABI
 * that cuGetProcAddress hands out at 12000. gpu_api.h's handle tags are
 * renamed to cuda.h's (PT_CU_TAG) so those comparisons cover contexts and
 * streams exactly; CUresult, an enum, is compatible with unsigned int.
 *
 * CUipcMemHandle is a struct passed by value, and two distinct struct
 * types are never compatible, so for the two IPC functions the test
 * compares prototypes with the handle types exchanged (ours against ours,
 * cuda.h's against cuda.h's, one shape written once by a macro) and checks
 * what decides how a struct is passed: its size, alignment, and member
 * (one char array of 64 at offset 0). Same size, alignment and member
 * classes mean the same calling convention (SysV x86-64: over 16 bytes, in
 * memory; AAPCS64: over 16 bytes, by reference to a copy).
 *
 * At run time it counts the checks (a compile-time check that built is a
 * pass) and prints "test_gpu_api: N passed, M failed". Without cuda.h it
 * says so and checks only what needs no toolkit.
 */
#include <stddef.h>
#include <stdio.h>

#include "check.h"

#if defined(__has_include)
#if __has_include(<cuda.h>) && __has_include(<cudaTypedefs.h>)
#define HAVE_CUDA_H 1
#endif
#endif

#ifdef HAVE_CUDA_H
#define PT_CU_TAG(cuda_tag, our_tag) cuda_tag
#include <cuda.h>
#include <cudaTypedefs.h>
#endif
#include "gpu.h"
#include "gpu_api.h"

#define SAME(a, b) __builtin_types_compatible_p(a, b)

/* a check made by the compiler: counted at run time, so the total says how many there are */
static int static_checks;
#define STATIC_CHECK(cond, what)                                                                   \
	do {                                                                                       \
		_Static_assert(cond, what);                                                        \
		static_checks++;                                                                   \
	} while (0)

/* ours against the prototype cuda.h maps the base name to, and against the PFN of that ABI */
#define FN(ours, base, pfn)                                                                        \
	do {                                                                                       \
		STATIC_CHECK(SAME(ours, __typeof__(&base)), #ours " is " #base);                   \
		STATIC_CHECK(SAME(ours, pfn), #ours " is " #pfn);                                  \
	} while (0)

/* the IPC functions' shapes, written once and instantiated with either handle type */
#define IPC_GET(res, handle, dptr)  res (*)(handle *, dptr)
#define IPC_OPEN(res, handle, dptr) res (*)(dptr *, handle, unsigned int)

static void test_toolkit(void)
{
#ifdef HAVE_CUDA_H
	/* scalar and handle types */
	STATIC_CHECK(SAME(pt_cu_result, CUresult), "CUresult");
	STATIC_CHECK(sizeof(pt_cu_result) == sizeof(CUresult), "CUresult size");
	STATIC_CHECK(SAME(pt_cu_device, CUdevice), "CUdevice");
	STATIC_CHECK(SAME(pt_cu_deviceptr, CUdeviceptr), "CUdeviceptr");
	STATIC_CHECK(SAME(pt_cu_context, CUcontext), "CUcontext");
	STATIC_CHECK(SAME(pt_cu_stream, CUstream), "CUstream");
	STATIC_CHECK(SAME(pt_cu_proc_status, CUdriverProcAddressQueryResult), "query result");
	STATIC_CHECK(SAME(uint64_t, cuuint64_t), "cuuint64_t");

	/* every entry point */
	FN(pt_cu_get_proc_address_fn, cuGetProcAddress, PFN_cuGetProcAddress_v12000);
	FN(pt_cu_init_fn, cuInit, PFN_cuInit_v2000);
	FN(pt_cu_driver_get_version_fn, cuDriverGetVersion, PFN_cuDriverGetVersion_v2020);
	FN(pt_cu_device_get_count_fn, cuDeviceGetCount, PFN_cuDeviceGetCount_v2000);
	FN(pt_cu_device_get_fn, cuDeviceGet, PFN_cuDeviceGet_v2000);
	FN(pt_cu_device_get_name_fn, cuDeviceGetName, PFN_cuDeviceGetName_v2000);
	FN(pt_cu_device_get_pci_bus_id_fn, cuDeviceGetPCIBusId, PFN_cuDeviceGetPCIBusId_v4010);
	FN(pt_cu_primary_ctx_retain_fn, cuDevicePrimaryCtxRetain,
	   PFN_cuDevicePrimaryCtxRetain_v7000);
	FN(pt_cu_primary_ctx_release_fn, cuDevicePrimaryCtxRelease,
	   PFN_cuDevicePrimaryCtxRelease_v11000);
	FN(pt_cu_ctx_set_current_fn, cuCtxSetCurrent, PFN_cuCtxSetCurrent_v4000);
	FN(pt_cu_mem_get_info_fn, cuMemGetInfo, PFN_cuMemGetInfo_v3020);
	FN(pt_cu_mem_alloc_fn, cuMemAlloc, PFN_cuMemAlloc_v3020);
	FN(pt_cu_mem_free_fn, cuMemFree, PFN_cuMemFree_v3020);
	FN(pt_cu_mem_host_alloc_fn, cuMemHostAlloc, PFN_cuMemHostAlloc_v2020);
	FN(pt_cu_mem_free_host_fn, cuMemFreeHost, PFN_cuMemFreeHost_v2000);
	FN(pt_cu_mem_host_register_fn, cuMemHostRegister, PFN_cuMemHostRegister_v6050);
	FN(pt_cu_mem_host_unregister_fn, cuMemHostUnregister, PFN_cuMemHostUnregister_v4000);
	FN(pt_cu_memcpy_htod_async_fn, cuMemcpyHtoDAsync, PFN_cuMemcpyHtoDAsync_v3020);
	FN(pt_cu_memcpy_dtoh_fn, cuMemcpyDtoH, PFN_cuMemcpyDtoH_v3020);
	FN(pt_cu_stream_create_fn, cuStreamCreate, PFN_cuStreamCreate_v2000);
	FN(pt_cu_stream_synchronize_fn, cuStreamSynchronize, PFN_cuStreamSynchronize_v2000);
	FN(pt_cu_stream_destroy_fn, cuStreamDestroy, PFN_cuStreamDestroy_v4000);
	FN(pt_cu_ipc_close_mem_handle_fn, cuIpcCloseMemHandle, PFN_cuIpcCloseMemHandle_v4010);
	FN(pt_cu_get_error_name_fn, cuGetErrorName, PFN_cuGetErrorName_v6000);
	FN(pt_cu_get_error_string_fn, cuGetErrorString, PFN_cuGetErrorString_v6000);

	/* the IPC functions: one shape, each side with its own handle type */
	STATIC_CHECK(SAME(pt_cu_ipc_get_mem_handle_fn,
			  IPC_GET(pt_cu_result, pt_cu_ipc_mem_handle, pt_cu_deviceptr)),
		     "ours: cuIpcGetMemHandle's shape");
	STATIC_CHECK(
	    SAME(__typeof__(&cuIpcGetMemHandle), IPC_GET(CUresult, CUipcMemHandle, CUdeviceptr)),
	    "cuda.h: cuIpcGetMemHandle's shape");
	STATIC_CHECK(
	    SAME(PFN_cuIpcGetMemHandle_v4010, IPC_GET(CUresult, CUipcMemHandle, CUdeviceptr)),
	    "PFN: cuIpcGetMemHandle's shape");
	STATIC_CHECK(SAME(pt_cu_ipc_open_mem_handle_fn,
			  IPC_OPEN(pt_cu_result, pt_cu_ipc_mem_handle, pt_cu_deviceptr)),
		     "ours: cuIpcOpenMemHandle's shape");
	STATIC_CHECK(
	    SAME(__typeof__(&cuIpcOpenMemHandle), IPC_OPEN(CUresult, CUipcMemHandle, CUdeviceptr)),
	    "cuda.h: cuIpcOpenMemHandle's shape");
	STATIC_CHECK(
	    SAME(PFN_cuIpcOpenMemHandle_v11000, IPC_OPEN(CUresult, CUipcMemHandle, CUdeviceptr)),
	    "PFN: cuIpcOpenMemHandle's shape");
	/* and the handle itself, which decides how it is passed by value */
	STATIC_CHECK(sizeof(pt_cu_ipc_mem_handle) == sizeof(CUipcMemHandle), "IPC handle size");
	STATIC_CHECK(_Alignof(pt_cu_ipc_mem_handle) == _Alignof(CUipcMemHandle),
		     "IPC handle align");
	STATIC_CHECK(offsetof(pt_cu_ipc_mem_handle, reserved) == offsetof(CUipcMemHandle, reserved),
		     "IPC handle member offset");
	STATIC_CHECK(SAME(__typeof__(((pt_cu_ipc_mem_handle *)0)->reserved),
			  __typeof__(((CUipcMemHandle *)0)->reserved)),
		     "IPC handle member type");

	/* constants */
	STATIC_CHECK(PT_CUDA_SUCCESS == CUDA_SUCCESS, "CUDA_SUCCESS");
	STATIC_CHECK(PT_CUDA_ERROR_INVALID_VALUE == CUDA_ERROR_INVALID_VALUE, "INVALID_VALUE");
	STATIC_CHECK(PT_CUDA_ERROR_OUT_OF_MEMORY == CUDA_ERROR_OUT_OF_MEMORY, "OUT_OF_MEMORY");
	STATIC_CHECK(PT_CUDA_ERROR_NOT_INITIALIZED == CUDA_ERROR_NOT_INITIALIZED,
		     "NOT_INITIALIZED");
	STATIC_CHECK(PT_CUDA_ERROR_NO_DEVICE == CUDA_ERROR_NO_DEVICE, "NO_DEVICE");
	STATIC_CHECK(PT_CUDA_ERROR_INVALID_DEVICE == CUDA_ERROR_INVALID_DEVICE, "INVALID_DEVICE");
	STATIC_CHECK(PT_CUDA_ERROR_INVALID_CONTEXT == CUDA_ERROR_INVALID_CONTEXT,
		     "INVALID_CONTEXT");
	STATIC_CHECK(PT_CUDA_ERROR_INVALID_HANDLE == CUDA_ERROR_INVALID_HANDLE, "INVALID_HANDLE");
	STATIC_CHECK(PT_CUDA_ERROR_NOT_FOUND == CUDA_ERROR_NOT_FOUND, "NOT_FOUND");
	STATIC_CHECK(PT_CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED ==
			 CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED,
		     "HOST_MEMORY_ALREADY_REGISTERED");
	STATIC_CHECK(PT_CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED ==
			 CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED,
		     "HOST_MEMORY_NOT_REGISTERED");
	STATIC_CHECK(PT_CUDA_ERROR_NOT_SUPPORTED == CUDA_ERROR_NOT_SUPPORTED, "NOT_SUPPORTED");
	STATIC_CHECK(PT_CUDA_ERROR_UNKNOWN == CUDA_ERROR_UNKNOWN, "UNKNOWN");
	STATIC_CHECK(PT_CU_GET_PROC_ADDRESS_DEFAULT == CU_GET_PROC_ADDRESS_DEFAULT, "flag DEFAULT");
	STATIC_CHECK(PT_CU_GET_PROC_ADDRESS_LEGACY_STREAM == CU_GET_PROC_ADDRESS_LEGACY_STREAM,
		     "flag LEGACY_STREAM");
	STATIC_CHECK(PT_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM ==
			 CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
		     "flag PER_THREAD_DEFAULT_STREAM");
	STATIC_CHECK(PT_CU_GET_PROC_ADDRESS_SUCCESS == CU_GET_PROC_ADDRESS_SUCCESS,
		     "status SUCCESS");
	STATIC_CHECK(PT_CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND ==
			 CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND,
		     "status SYMBOL_NOT_FOUND");
	STATIC_CHECK(PT_CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT ==
			 CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT,
		     "status VERSION_NOT_SUFFICIENT");
	STATIC_CHECK(PT_CU_MEMHOSTALLOC_PORTABLE == CU_MEMHOSTALLOC_PORTABLE,
		     "MEMHOSTALLOC_PORTABLE");
	STATIC_CHECK(PT_CU_MEMHOSTREGISTER_PORTABLE == CU_MEMHOSTREGISTER_PORTABLE,
		     "MEMHOSTREGISTER_PORTABLE");
	STATIC_CHECK(PT_CU_MEMHOSTREGISTER_READ_ONLY == CU_MEMHOSTREGISTER_READ_ONLY,
		     "MEMHOSTREGISTER_READ_ONLY");
	STATIC_CHECK(PT_CU_STREAM_NON_BLOCKING == CU_STREAM_NON_BLOCKING, "STREAM_NON_BLOCKING");
	STATIC_CHECK(PT_CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS == CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS,
		     "IPC_MEM_LAZY_ENABLE_PEER_ACCESS");
	STATIC_CHECK(PT_CU_IPC_HANDLE_SIZE == CU_IPC_HANDLE_SIZE, "CU_IPC_HANDLE_SIZE");
	STATIC_CHECK(PT_GPU_IPC_HANDLE_SIZE == CU_IPC_HANDLE_SIZE, "gpu.h's handle size");
	/* the floor names a version this toolkit's driver API is at or past */
	STATIC_CHECK(PT_GPU_VERSION_FLOOR <= CUDA_VERSION, "floor");
	printf("checked against cuda.h of CUDA %d.%d\n", CUDA_VERSION / 1000,
	       CUDA_VERSION % 1000 / 10);
#else
	printf("no cuda.h: only the checks that need no toolkit\n");
#endif
}

/* what holds with or without a toolkit: the ABI facts gpu_api.h relies on */
static void test_local(void)
{
	STATIC_CHECK(sizeof(pt_cu_ipc_mem_handle) == 64, "64 bytes");
	STATIC_CHECK(_Alignof(pt_cu_ipc_mem_handle) == 1, "byte-aligned");
	STATIC_CHECK(PT_GPU_IPC_HANDLE_SIZE == PT_CU_IPC_HANDLE_SIZE, "gpu.h agrees");
	STATIC_CHECK(sizeof(pt_cu_deviceptr) == 8, "64-bit device pointers");
	STATIC_CHECK(sizeof(pt_cu_result) == 4, "CUresult is 32 bits");
	STATIC_CHECK(sizeof(pt_cu_context) == sizeof(void *), "handles are pointers");
	/* every constant is distinct where it must be: the error codes gpu.c tests for */
	CHECK(PT_CUDA_ERROR_OUT_OF_MEMORY != PT_CUDA_ERROR_NOT_SUPPORTED);
	CHECK(PT_GPU_CHUNK % 8 == 0); /* swap units of 2, 4 and 8 never straddle a chunk */
}

int main(void)
{
	test_toolkit();
	test_local();
	check_passed += static_checks;
	return check_report("test_gpu_api");
}
