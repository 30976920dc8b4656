/*
 * ipc-consumer.c - a tensor that a ptfs mount holds on a GPU, used from another
 * process through its CUDA IPC handle, with nothing but the driver API
 * (docs/gpu.md).
 *
 *     cc -I/usr/local/cuda/include ipc-consumer.c -lcuda -o ipc-consumer
 *     ./ipc-consumer /mnt/m/layer1/weight          # where it is, and a checksum
 *     ./ipc-consumer /mnt/m/layer1/weight w.bin    # or its bytes, into w.bin
 *
 * The file's user.pt.cuda_ipc says "cuda:N BUSID HANDLE OFFSET SIZE". N is
 * the daemon's numbering of its devices, which CUDA_VISIBLE_DEVICES may make
 * differ from ours, so the device is found by its PCI bus id. The handle
 * names the allocation that holds the tensor's storage; the tensor starts
 * OFFSET bytes into it and may touch SIZE bytes from there. A real consumer
 * would launch kernels on base + OFFSET; this one copies the bytes to the
 * host to show they are there. The handle is closed before exiting: ptfs
 * must not free the memory (release, unmount) while it is open here.
 */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/xattr.h>

/* Any failing driver call ends the program with its name and the driver's words. */
#define CK(call)                                                                                   \
	do {                                                                                       \
		CUresult r_ = (call);                                                              \
		if (r_ != CUDA_SUCCESS) {                                                          \
			const char *s_ = "unknown error";                                          \
			cuGetErrorString(r_, &s_);                                                 \
			fprintf(stderr, "ipc-consumer: %s: %s\n", #call, s_);                      \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ipc-consumer TENSOR_FILE [OUT]\n");
		return 2;
	}
	char v[512], bus[32], hex[130];
	int tag;
	unsigned long long off, size;
	ssize_t n = getxattr(argv[1], "user.pt.cuda_ipc", v, sizeof v - 1);
	if (n < 0) {
		perror(argv[1]); /* ENODATA: not resident; materialize it first */
		return 1;
	}
	v[n] = '\0';
	if (sscanf(v, "cuda:%d %31s %129s %llu %llu", &tag, bus, hex, &off, &size) != 5 ||
	    strlen(hex) != 2 * sizeof(CUipcMemHandle)) {
		fprintf(stderr, "%s: unexpected user.pt.cuda_ipc: %s\n", argv[1], v);
		return 1;
	}
	CUipcMemHandle handle;
	for (size_t i = 0; i < sizeof handle.reserved; i++)
		sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&handle.reserved[i]);

	CK(cuInit(0));
	int count, dev = -1;
	CK(cuDeviceGetCount(&count));
	for (int i = 0; i < count && dev < 0; i++) {
		char b[32];
		CUdevice d;
		CK(cuDeviceGet(&d, i));
		CK(cuDeviceGetPCIBusId(b, sizeof b, d));
		if (!strcasecmp(b, bus))
			dev = i;
	}
	if (dev < 0) {
		fprintf(stderr, "%s: no device %s here (the mount's cuda:%d)\n", argv[1], bus, tag);
		return 1;
	}
	CUdevice d;
	CUcontext ctx;
	CK(cuDeviceGet(&d, dev));
	CK(cuDevicePrimaryCtxRetain(&ctx, d));
	CK(cuCtxSetCurrent(ctx));

	CUdeviceptr base;
	CK(cuIpcOpenMemHandle(&base, handle, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS));
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf) {
		fprintf(stderr, "ipc-consumer: out of memory\n");
		return 1;
	}
	if (size)
		CK(cuMemcpyDtoH(buf, base + off, size));
	CK(cuIpcCloseMemHandle(base)); /* before ptfs may free it */
	CK(cuDevicePrimaryCtxRelease(d));

	if (argc == 3) {
		FILE *f = fopen(argv[2], "wb");
		if (!f || fwrite(buf, 1, size, f) != size || fclose(f)) {
			perror(argv[2]);
			return 1;
		}
	} else {
		uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, 64 bits */
		for (unsigned long long i = 0; i < size; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
		printf("device %d (%s): %llu bytes at offset %llu, fnv1a64 %016llx\n", dev, bus,
		       size, off, (unsigned long long)h);
	}
	free(buf);
	return 0;
}
