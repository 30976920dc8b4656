/*
 * test_gpu.c - lib/gpu.c through the CUDA driver's test double
 * (tests/cuda/fake_libcuda.c, built as build/cuda/libcuda.so.1).
 *
 * The double is loaded by explicit path, found beside this program
 * (build/test_gpu and build/asan/test_gpu both use build/cuda/), so no
 * LD_LIBRARY_PATH is needed. Its behaviour is set with environment
 * variables before each pt_gpu_open: the double reads them again at every
 * cuInit while it holds nothing, so each test gets the devices, memory and
 * injected failures it asks for even though dlopen may hand back the
 * library still loaded. Each test closes what it opened, and the double's
 * state file then says nothing is live.
 *
 * IPC is tested across processes, as it must be (a process cannot open its
 * own handle): the child is this program exec'd again with --ipc-child,
 * because a forked child would inherit the parent's loaded driver and its
 * state, which CUDA does not support (CUDA state is not valid after fork).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fakecuda.h"
#include "gpu.h"
#include "gpu_api.h"

#define MIB ((size_t)1 << 20)

static char lib[PATH_MAX], state[PATH_MAX], datapath[PATH_MAX];
static size_t datasize;
static unsigned char *data; /* the test file's bytes */

/* Sets the double's environment: devices, bytes per device, failures (NULL: none). */
static void fake_env(int devices, const char *mem, const char *fail)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", devices);
	setenv("PTFS_FAKE_CUDA_DEVICES", n, 1);
	if (mem)
		setenv("PTFS_FAKE_CUDA_MEM", mem, 1);
	else
		unsetenv("PTFS_FAKE_CUDA_MEM");
	if (fail)
		setenv("PTFS_FAKE_CUDA_FAIL", fail, 1);
	else
		unsetenv("PTFS_FAKE_CUDA_FAIL");
	unsetenv("PTFS_FAKE_CUDA_VERSION");
	setenv("PTFS_FAKE_CUDA_STATE", state, 1);
}

/* A number from the double's state file ("live 3"), or -1. */
static long long state_get(const char *key)
{
	char line[256], k[64];
	long long v, found = -1;
	FILE *f = fopen(state, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", k, &v) == 2 && strcmp(k, key) == 0)
			found = v;
	fclose(f);
	return found;
}

static struct pt_gpu *open_ok(void)
{
	struct pt_error err;
	struct pt_gpu *g = pt_gpu_open(lib, &err);

	if (!g)
		fprintf(stderr, "pt_gpu_open: %s\n", err.msg);
	CHECK(g != NULL);
	return g;
}

/*
 * The double's own contract, through its entry points: what it must refuse
 * for lib/gpu.c's tests to mean anything. Runs first, before anything has
 * loaded the library, so "before cuInit" is real.
 */
static void *proc(pt_cu_get_proc_address_fn gpa, const char *name)
{
	pt_cu_proc_status st = 99;
	void *fn = NULL;

	if (gpa(name, &fn, PT_GPU_VERSION_FLOOR, PT_CU_GET_PROC_ADDRESS_LEGACY_STREAM, &st) != 0 ||
	    st != PT_CU_GET_PROC_ADDRESS_SUCCESS)
		return NULL;
	return fn;
}

struct no_ctx {
	pt_cu_mem_alloc_fn alloc;
	pt_cu_result r;
};

static void *alloc_without_ctx(void *arg)
{
	struct no_ctx *a = arg;
	pt_cu_deviceptr p;

	a->r = a->alloc(&p, 16);
	return NULL;
}

static void test_double(void)
{
	pt_cu_get_proc_address_fn gpa;
	pt_cu_primary_ctx_retain_fn retain;
	pt_cu_primary_ctx_release_fn release;
	pt_cu_ctx_set_current_fn set;
	pt_cu_memcpy_htod_async_fn copy;
	pt_cu_mem_free_fn mfree;
	struct no_ctx a = {0};
	pt_cu_proc_status st = 0;
	pt_cu_deviceptr p = 0;
	pt_cu_context ctx;
	pthread_t t;
	char buf[16] = "pageable";
	void *fn = NULL, *h;

	fake_env(1, NULL, NULL);
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	CHECK(h != NULL);
	if (!h)
		return;
	gpa = (pt_cu_get_proc_address_fn)dlsym(h, "cuGetProcAddress_v2");
	CHECK(gpa != NULL);
	if (!gpa)
		goto out;
	/* refusals of the lookup itself */
	CHECK_INT(gpa("cuMemAlloc", &fn, 13000, 0, &st), PT_CUDA_ERROR_INVALID_VALUE);
	CHECK_INT(gpa("cuNoSuchThing", &fn, 12000, 0, &st), PT_CUDA_ERROR_NOT_FOUND);
	CHECK_INT(st, PT_CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	CHECK_INT(gpa("cuIpcOpenMemHandle", &fn, 10000, 0, &st), PT_CUDA_ERROR_NOT_FOUND);
	CHECK_INT(st, PT_CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	a.alloc = (pt_cu_mem_alloc_fn)proc(gpa, "cuMemAlloc");
	retain = (pt_cu_primary_ctx_retain_fn)proc(gpa, "cuDevicePrimaryCtxRetain");
	release = (pt_cu_primary_ctx_release_fn)proc(gpa, "cuDevicePrimaryCtxRelease");
	set = (pt_cu_ctx_set_current_fn)proc(gpa, "cuCtxSetCurrent");
	copy = (pt_cu_memcpy_htod_async_fn)proc(gpa, "cuMemcpyHtoDAsync");
	mfree = (pt_cu_mem_free_fn)proc(gpa, "cuMemFree");
	CHECK(a.alloc && retain && release && set && copy && mfree);
	if (!a.alloc || !retain || !release || !set || !copy || !mfree)
		goto out;
	CHECK_INT(a.alloc(&p, 16), PT_CUDA_ERROR_NOT_INITIALIZED);
	CHECK_INT(((pt_cu_init_fn)proc(gpa, "cuInit"))(0), 0);
	CHECK_INT(retain(&ctx, 0), 0);
	CHECK_INT(set(ctx), 0);
	CHECK_INT(a.alloc(&p, 16), 0);
	/* a new thread has no current context until it makes one current */
	pthread_create(&t, NULL, alloc_without_ctx, &a);
	pthread_join(t, NULL);
	CHECK_INT(a.r, PT_CUDA_ERROR_INVALID_CONTEXT);
	/* out of bounds, and from pageable memory (counted) */
	CHECK_INT(copy(p + 8, buf, 16, NULL), PT_CUDA_ERROR_INVALID_VALUE);
	CHECK_INT(copy(p, buf, 16, NULL), 0);
	CHECK_INT(state_get("pageable_copies"), 1);
	CHECK_INT(mfree(p + 1), PT_CUDA_ERROR_INVALID_VALUE);
	CHECK_INT(mfree(p), 0);
	CHECK_INT(set(NULL), 0);
	CHECK_INT(release(0), 0);
	CHECK_INT(state_get("live"), 0);
out:
	dlclose(h);
}

static void test_open_errors(void)
{
	struct pt_error err;

	pt_error_clear(&err);
	CHECK(pt_gpu_open("/nonexistent/libcuda.so.1", &err) == NULL);
	CHECK_INT(err.code, PT_ERR_NODEV);
	CHECK_STR(err.msg, "no CUDA driver: /nonexistent/libcuda.so.1: cannot open shared object "
			   "file: No such file or directory");

	fake_env(0, NULL, NULL);
	CHECK(pt_gpu_open(lib, &err) == NULL);
	CHECK_INT(err.code, PT_ERR_NODEV);
	CHECK_STR(err.msg, "cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected");

	fake_env(1, NULL, NULL);
	setenv("PTFS_FAKE_CUDA_VERSION", "11080", 1);
	CHECK(pt_gpu_open(lib, &err) == NULL);
	CHECK_INT(err.code, PT_ERR_NODEV);
	CHECK_STR(err.msg, "the CUDA driver is older than 12.0: it is 11.8");
	unsetenv("PTFS_FAKE_CUDA_VERSION");

	/* a missing entry point reads as an old driver too */
	fake_env(1, NULL, "cuGetProcAddress:5:500");
	CHECK(pt_gpu_open(lib, &err) == NULL);
	CHECK_INT(err.code, PT_ERR_NODEV);
	CHECK(strncmp(err.msg, "the CUDA driver is older than 12.0: ", 36) == 0);
}

static void test_devices(void)
{
	struct pt_error err;
	struct pt_gpu *g;
	char buf[128];

	fake_env(2, NULL, NULL);
	if (!(g = open_ok()))
		return;
	CHECK_INT(pt_gpu_count(g), 2);
	CHECK_INT(pt_gpu_driver_version(g), 12040);
	CHECK_INT(pt_gpu_describe(g, 1, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "ptfs fake GPU 1, 0000:01:00.0");
	CHECK_INT(pt_gpu_bus_id(g, 0, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "0000:00:00.0");
	CHECK_INT(pt_gpu_describe(g, 2, buf, sizeof(buf), &err), -1);
	CHECK_INT(err.code, PT_ERR_NODEV);
	CHECK_STR(err.msg, "cuda:2: no such device (2 present)");
	pt_gpu_close(g);
}

static void test_alloc(void)
{
	uint64_t a = 0, b = 0, c = 0, fr = 0, total = 0;
	struct pt_error err;
	struct pt_gpu *g;

	fake_env(2, "1M", NULL);
	if (!(g = open_ok()))
		return;
	CHECK_INT(pt_gpu_alloc(g, 0, 1000, &a, &err), 0);
	CHECK_INT(pt_gpu_alloc(g, 0, 0, &b, &err), 0); /* one byte, a handle all the same */
	CHECK_INT(pt_gpu_alloc(g, 1, 4096, &c, &err), 0);
	CHECK(a && b && c && a != b);
	CHECK_INT(pt_gpu_live(g), 3);
	CHECK_INT(state_get("live"), 3);
	CHECK_INT(state_get("bytes"), 1000 + 1 + 4096);
	CHECK_INT(pt_gpu_mem_info(g, 0, &fr, &total, &err), 0);
	CHECK_INT(total, MIB);
	CHECK_INT(fr, MIB - 1001);
	CHECK_INT(pt_gpu_alloc(g, 0, 2 * MIB, &c, &err), -1);
	CHECK_INT(err.code, PT_ERR_NOMEM);
	CHECK_STR(err.msg, "cuda:0: out of memory: 2097152 bytes needed, 1047575 free");
	CHECK_INT(pt_gpu_alloc(g, 7, 1, &c, &err), -1);
	CHECK_INT(err.code, PT_ERR_NODEV);
	pt_gpu_free(g, 0, a);
	pt_gpu_free(g, 0, a); /* twice: not ours any more, nothing happens */
	pt_gpu_free(g, 0, 0);
	CHECK_INT(pt_gpu_live(g), 2);
	CHECK_INT(state_get("live"), 2);
	/* close frees what is left, on every device */
	pt_gpu_close(g);
	CHECK_INT(state_get("live"), 0);
	CHECK_INT(state_get("bytes"), 0);
}

/* many allocations from several threads: each thread makes its own context current */
static void *alloc_thread(void *arg)
{
	struct pt_gpu *g = arg;
	uint64_t p[64];
	struct pt_error err;
	int i, bad = 0;

	for (i = 0; i < 64; i++)
		bad |= pt_gpu_alloc(g, i % 2, 100 + (uint64_t)i, &p[i], &err);
	for (i = 0; i < 64; i += 2)
		pt_gpu_free(g, i % 2, p[i]);
	return bad ? (void *)1 : NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	void *r;
	struct pt_gpu *g;
	int i, bad = 0;

	fake_env(2, NULL, NULL);
	if (!(g = open_ok()))
		return;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, alloc_thread, g);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(pt_gpu_live(g), 4 * 32);
	CHECK_INT(state_get("live"), 4 * 32);
	pt_gpu_close(g);
	CHECK_INT(state_get("live"), 0);
}

#define NJOBS 40

/*
 * Jobs over the file, alternating devices, at odd sizes and offsets: one
 * over a chunk (16 MiB), one over a registered window (64 MiB), the rest
 * small, so slots are reused many times.
 */
static size_t make_jobs(struct pt_gpu *g, struct pt_gpu_copy *jobs, unsigned swap)
{
	struct pt_error err;
	uint64_t off = 3, size;
	size_t n = 0;

	while (n < NJOBS && off < datasize) {
		size = n == 5 ? 66 * MIB + 12345 : n == 1 ? 17 * MIB + 8 : 1000 + 4099 * n * n;
		if (swap > 1)
			size -= size % swap;
		if (off + size > datasize)
			break;
		jobs[n].dev = (int)(n % 2);
		jobs[n].src_off = off;
		jobs[n].size = size;
		jobs[n].swap = swap;
		if (pt_gpu_alloc(g, jobs[n].dev, size, &jobs[n].dptr, &err) < 0)
			break;
		off += size + n;
		n++;
	}
	return n;
}

/* Whether every job's device bytes are the file's (each swap-unit reversed). */
static bool jobs_match(struct pt_gpu *g, const struct pt_gpu_copy *jobs, size_t n)
{
	struct pt_error err;
	unsigned char *buf;
	bool ok = true;
	size_t i, k, unit;

	for (i = 0; i < n && ok; i++) {
		const unsigned char *want = data + jobs[i].src_off;

		buf = malloc(jobs[i].size);
		if (pt_gpu_read(g, jobs[i].dev, jobs[i].dptr, buf, jobs[i].size, &err) < 0) {
			fprintf(stderr, "pt_gpu_read: %s\n", err.msg);
			ok = false;
		}
		unit = jobs[i].swap > 1 ? jobs[i].swap : 1;
		for (k = 0; ok && k < jobs[i].size; k++)
			if (buf[k] != want[k - k % unit + (unit - 1 - k % unit)]) {
				fprintf(stderr, "job %zu byte %zu differs\n", i, k);
				ok = false;
			}
		free(buf);
	}
	return ok;
}

static void upload_case(enum pt_gpu_path path, unsigned swap, const char *fail)
{
	struct pt_gpu_copy jobs[NJOBS];
	struct pt_progress prog;
	struct pt_source *src;
	struct pt_error err;
	struct pt_gpu *g;
	uint64_t total = 0;
	size_t n, i;

	fake_env(2, "512M", fail);
	src = pt_source_open_file(datapath, &err);
	CHECK(src != NULL);
	if (!src || !(g = open_ok())) {
		pt_source_close(src);
		return;
	}
	n = make_jobs(g, jobs, swap);
	CHECK(n > 10);
	for (i = 0; i < n; i++)
		total += jobs[i].size;
	pt_progress_start(&prog, total);
	if (pt_gpu_upload(g, src, jobs, n, path, &prog, &err) < 0)
		fprintf(stderr, "pt_gpu_upload: %s\n", err.msg);
	else
		CHECK(jobs_match(g, jobs, n));
	CHECK_INT(prog.done, total);
	CHECK_INT(state_get("pageable_copies"), 0);
	CHECK_INT(state_get("pinned"), 0); /* every staging buffer and window let go */
	CHECK_INT(pt_gpu_live(g), n);
	pt_gpu_close(g);
	CHECK_INT(state_get("live"), 0);
	pt_source_close(src);
}

static void test_upload(void)
{
	upload_case(PT_GPU_STAGED, 0, NULL);
	upload_case(PT_GPU_REGISTERED, 1, NULL);
	upload_case(PT_GPU_STAGED, 2, NULL);
	upload_case(PT_GPU_STAGED, 4, NULL);
	upload_case(PT_GPU_REGISTERED, 8, NULL); /* swapped jobs go staged */
	/* a driver that cannot register read-only: the staged path takes over */
	upload_case(PT_GPU_REGISTERED, 0, "cuMemHostRegister:1:801");
}

static void test_upload_errors(void)
{
	struct pt_gpu_copy jobs[NJOBS];
	struct pt_source *src;
	struct pt_error err;
	struct pt_gpu *g;
	size_t n;

	src = pt_source_open_file(datapath, &err);
	CHECK(src != NULL);
	if (!src)
		return;
	/* a short source: nothing copied, the message names the offset */
	fake_env(2, NULL, NULL);
	if ((g = open_ok())) {
		struct pt_gpu_copy j = {.dev = 1, .src_off = datasize - 10, .size = 20};

		CHECK_INT(pt_gpu_alloc(g, 1, 20, &j.dptr, &err), 0);
		CHECK_INT(pt_gpu_upload(g, src, &j, 1, PT_GPU_STAGED, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_IO);
		CHECK(strstr(err.msg, "20 bytes at offset") != NULL);
		CHECK(strstr(err.msg, "past the end of the file") != NULL);
		j.swap = 3;
		j.src_off = 0;
		CHECK_INT(pt_gpu_upload(g, src, &j, 1, PT_GPU_STAGED, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
		j.swap = 32;
		j.size = 64;
		CHECK_INT(pt_gpu_upload(g, src, &j, 1, PT_GPU_STAGED, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
		pt_gpu_close(g);
	}
	/* the third copy fails: the upload stops, reports it, and close frees all */
	fake_env(2, "512M", "cuMemcpyHtoDAsync:3");
	if ((g = open_ok())) {
		n = make_jobs(g, jobs, 0);
		CHECK_INT(pt_gpu_upload(g, src, jobs, n, PT_GPU_STAGED, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_IO);
		CHECK(strstr(err.msg, "cuMemcpyHtoDAsync") != NULL);
		CHECK(strstr(err.msg, "CUDA_ERROR_UNKNOWN: unknown error") != NULL);
		CHECK_INT(state_get("live"), (long long)n);
		CHECK_INT(state_get("pinned"), 0);
		pt_gpu_close(g);
		CHECK_INT(state_get("live"), 0);
	}
	/* a synchronize fails on the registered path: every window is still let go */
	fake_env(2, "512M", "cuStreamSynchronize:6");
	if ((g = open_ok())) {
		n = make_jobs(g, jobs, 1);
		CHECK_INT(pt_gpu_upload(g, src, jobs, n, PT_GPU_REGISTERED, NULL, &err), -1);
		CHECK(strstr(err.msg, "cuStreamSynchronize: CUDA_ERROR_UNKNOWN") != NULL);
		CHECK_INT(state_get("pinned"), 0);
		pt_gpu_close(g);
		CHECK_INT(state_get("live"), 0);
	}
	pt_source_close(src);
}

static void test_bench(void)
{
	struct pt_error err;
	struct pt_gpu *g;
	double s = 0;

	fake_env(1, NULL, NULL);
	if (!(g = open_ok()))
		return;
	CHECK_INT(pt_gpu_bench_pinned(g, 0, 8 * MIB, &s, &err), 0);
	CHECK(s > 0);
	CHECK_INT(pt_gpu_live(g), 0);
	CHECK_INT(state_get("pinned"), 0);
	pt_gpu_close(g);
	/* the double's copy delay, which daemon tests use to read during a materialize */
	setenv("PTFS_FAKE_CUDA_COPY_DELAY_US", "30000", 1);
	if (!(g = open_ok()))
		return;
	CHECK_INT(pt_gpu_bench_pinned(g, 0, MIB, &s, &err), 0);
	CHECK(s >= 0.03);
	pt_gpu_close(g);
	unsetenv("PTFS_FAKE_CUDA_COPY_DELAY_US");
}

static int hexval(int c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* The importer, in its own process: opens the handle, checks 4096 bytes of the pattern, writes one.
 */
static int ipc_child(const char *hex)
{
	unsigned char h[PT_GPU_IPC_HANDLE_SIZE], buf[4096];
	uint64_t p = 0, q = 0;
	struct pt_error err;
	struct pt_gpu *g;
	int i, rc = 1;

	for (i = 0; i < PT_GPU_IPC_HANDLE_SIZE; i++)
		h[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	unsetenv("PTFS_FAKE_CUDA_STATE");
	g = pt_gpu_open(NULL, &err); /* LD_LIBRARY_PATH finds the double: the daemon's way */
	if (!g) {
		fprintf(stderr, "child: %s\n", err.msg);
		return 1;
	}
	if (pt_gpu_ipc_open(g, 0, h, &p, &err) < 0 || pt_gpu_ipc_open(g, 0, h, &q, &err) < 0 ||
	    pt_gpu_read(g, 0, p, buf, sizeof(buf), &err) < 0) {
		fprintf(stderr, "child: %s\n", err.msg);
		goto out;
	}
	if (p != q || memcmp(buf, data, sizeof(buf)) != 0) {
		fprintf(stderr, "child: the imported bytes differ\n");
		goto out;
	}
	pt_gpu_ipc_close(g, 0, q);
	pt_gpu_ipc_close(g, 0, p);
	rc = 0;
out:
	pt_gpu_close(g);
	return rc;
}

static void test_ipc(void)
{
	unsigned char h[PT_GPU_IPC_HANDLE_SIZE];
	char hex[2 * PT_GPU_IPC_HANDLE_SIZE + 1], exe[PATH_MAX], ldpath[PATH_MAX];
	struct pt_gpu_copy j = {.dev = 0, .src_off = 0, .size = 8192};
	struct pt_source *src;
	struct pt_error err;
	struct pt_gpu *g;
	uint64_t p = 0;
	int i, status = -1;
	pid_t pid;

	fake_env(1, NULL, NULL);
	src = pt_source_open_file(datapath, &err);
	if (!src || !(g = open_ok())) {
		pt_source_close(src);
		return;
	}
	CHECK_INT(pt_gpu_alloc(g, 0, j.size, &j.dptr, &err), 0);
	CHECK_INT(pt_gpu_upload(g, src, &j, 1, PT_GPU_STAGED, NULL, &err), 0);
	CHECK_INT(pt_gpu_ipc_handle(g, 0, j.dptr + 16, h, &err), -1);
	CHECK_STR(err.msg, "cuda:0: cuIpcGetMemHandle: CUDA_ERROR_INVALID_VALUE: invalid argument");
	CHECK_INT(pt_gpu_ipc_handle(g, 0, j.dptr, h, &err), 0);
	/* the exporter cannot open its own handle */
	CHECK_INT(pt_gpu_ipc_open(g, 0, h, &p, &err), -1);
	CHECK(strstr(err.msg, "CUDA_ERROR_INVALID_CONTEXT") != NULL);
	for (i = 0; i < PT_GPU_IPC_HANDLE_SIZE; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	snprintf(ldpath, sizeof(ldpath), "%s", lib);
	*strrchr(ldpath, '/') = '\0';
	pid = fork();
	if (pid == 0) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = '\0';
		setenv("LD_LIBRARY_PATH", ldpath, 1);
		execl(exe, exe, "--ipc-child", hex, datapath, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pt_gpu_close(g);
	pt_source_close(src);
	CHECK_INT(state_get("live"), 0);
}

static int make_data(void)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;
	size_t i;
	int fd;

	datasize = 90 * MIB + 4321;
	data = malloc(datasize);
	if (!data)
		return -1;
	for (i = 0; i < datasize; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		data[i] = (unsigned char)(x >> 24);
	}
	snprintf(datapath, sizeof(datapath), "/tmp/test_gpu.%d.bin", (int)getpid());
	fd = open(datapath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, datasize) != (ssize_t)datasize) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* Whether the double left a shared-memory object of this process in /dev/shm. */
static int shm_left(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ls /dev/shm | grep -q '^ptfs-fake-cuda-%d-'", (int)getpid());
	return system(cmd) == 0;
}

int main(int argc, char **argv)
{
	fakecuda_path(lib, sizeof(lib));
	if (argc == 4 && strcmp(argv[1], "--ipc-child") == 0) {
		int rc;

		/* the pattern is the file's: read it back rather than regenerate it */
		FILE *f = fopen(argv[3], "rb");

		data = malloc(4096);
		if (!f || !data || fread(data, 1, 4096, f) != 4096)
			return 1;
		fclose(f);
		rc = ipc_child(argv[2]);
		free(data);
		return rc;
	}
	snprintf(state, sizeof(state), "/tmp/test_gpu.%d.state", (int)getpid());
	if (make_data() < 0) {
		fprintf(stderr, "cannot write the test file\n");
		return 1;
	}
	test_double();
	test_open_errors();
	test_devices();
	test_alloc();
	test_threads();
	test_upload();
	test_upload_errors();
	test_bench();
	test_ipc();
	CHECK(!shm_left());
	unlink(datapath);
	unlink(state);
	free(data);
	return check_report("test_gpu");
}
