/*
 * gpu-bench.c - ptfs-gpu-bench: the host-to-device figures that
 * scripts/gpu-check.sh sets materialize's against.
 *
 *     ptfs-gpu-bench [-d DEV] [-p MIB] [-n MIB] [FILE]
 *
 * First the baseline: pt_gpu_bench_pinned, one cuMemcpyHtoDAsync of a pinned
 * buffer of -p MiB (1024), the fastest a single copy from host memory goes.
 * Then, with FILE, the two copy paths of pt_gpu_upload (PT_GPU_STAGED: preads
 * into pinned buffers; PT_GPU_REGISTERED: the file's mapping registered) over
 * the first -n MiB of FILE (4096; all of it when smaller), as 64 MiB jobs
 * into one allocation per path, each path three times: the first run pays
 * for pinned buffers and registration, the best is what a warm daemon gets.
 * Every run is checked: a sample of each job read back must equal the file's
 * bytes, so a fast wrong path cannot win; the two paths' allocations are both
 * live from the start, so the second cannot find the first's bytes in memory
 * the driver handed out again. One line per figure, for grep and awk:
 *
 *     pinned 1073741824 bytes 0.0213 s 50.41 GB/s
 *     staged run 1 4294967296 bytes 0.1012 s 42.44 GB/s
 *     staged best 4294967296 bytes 0.0912 s 47.09 GB/s
 *
 * GB/s are 1e9 bytes per second, as the control file's. Exit 1 on a failure
 * or a mismatch, with "ptfs-gpu-bench: reason" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu.h"

#define JOB    ((uint64_t)64 << 20) /* about a big tensor's storage */
#define SAMPLE 4096		    /* bytes checked at each job's start and end */
#define RUNS   3

static const char *prog = "ptfs-gpu-bench";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what, const struct pt_error *err)
{
	fprintf(stderr, "%s: %s%s%s\n", prog, what, err ? ": " : "", err ? err->msg : "");
	return 1;
}

static void line(const char *what, uint64_t bytes, double s)
{
	printf("%s %llu bytes %.4f s %.2f GB/s\n", what, (unsigned long long)bytes, s,
	       s > 0 ? (double)bytes / s / 1e9 : 0.0);
}

/* Each job's first and last SAMPLE bytes on the device against the file's. */
static int check(struct pt_gpu *g, int dev, struct pt_source *src, const struct pt_gpu_copy *jobs,
		 size_t n, const char *path)
{
	unsigned char a[SAMPLE], b[SAMPLE];
	struct pt_error err;
	for (size_t i = 0; i < n; i++) {
		uint64_t len = jobs[i].size < SAMPLE ? jobs[i].size : SAMPLE;
		uint64_t at[2] = {0, jobs[i].size - len};
		for (int k = 0; k < 2; k++) {
			if (pt_gpu_read(g, dev, jobs[i].dptr + at[k], a, len, &err))
				return die("reading back", &err);
			if (pt_source_read(src, b, len, jobs[i].src_off + at[k], "the file", &err))
				return die("reading the file", &err);
			if (memcmp(a, b, len)) {
				fprintf(stderr,
					"%s: %s: device bytes at %llu differ from the file's\n",
					prog, path, (unsigned long long)(jobs[i].src_off + at[k]));
				return 1;
			}
		}
	}
	return 0;
}

static int upload(struct pt_gpu *g, int dev, const char *file, uint64_t cap)
{
	struct pt_error err;
	struct pt_source *src = pt_source_open_file(file, &err);
	if (!src)
		return die(file, &err);
	uint64_t size = src->size < cap ? src->size : cap, dptr[2] = {0, 0};
	size_t n = (size_t)((size + JOB - 1) / JOB);
	struct pt_gpu_copy *jobs = calloc(n ? n : 1, sizeof *jobs);
	int rc = 1;
	if (!jobs || !size) {
		die(!jobs ? "out of memory" : "the file is empty", NULL);
		goto out;
	}
	for (int p = 0; p < 2; p++)
		if (pt_gpu_alloc(g, dev, size, &dptr[p], &err)) {
			die("allocating device memory", &err);
			goto out;
		}
	static const struct {
		const char *name;
		enum pt_gpu_path path;
	} paths[] = {{"staged", PT_GPU_STAGED}, {"registered", PT_GPU_REGISTERED}};
	for (size_t p = 0; p < 2; p++) {
		double best = 0;
		char what[64];
		for (size_t i = 0; i < n; i++) {
			uint64_t off = i * JOB;
			jobs[i] = (struct pt_gpu_copy){.dev = dev,
						       .dptr = dptr[p] + off,
						       .src_off = off,
						       .size = size - off < JOB ? size - off : JOB};
		}
		for (int r = 1; r <= RUNS; r++) {
			double t = now();
			if (pt_gpu_upload(g, src, jobs, n, paths[p].path, NULL, &err)) {
				die(paths[p].name, &err);
				goto out;
			}
			t = now() - t;
			if (check(g, dev, src, jobs, n, paths[p].name))
				goto out;
			snprintf(what, sizeof what, "%s run %d", paths[p].name, r);
			line(what, size, t);
			if (r == 1 || t < best)
				best = t;
		}
		snprintf(what, sizeof what, "%s best", paths[p].name);
		line(what, size, best);
	}
	rc = 0;
out:
	pt_gpu_free(g, dev, dptr[0]);
	pt_gpu_free(g, dev, dptr[1]);
	free(jobs);
	pt_source_close(src);
	return rc;
}

int main(int argc, char **argv)
{
	int dev = 0, c;
	uint64_t pinned = 1024, cap = 4096;
	while ((c = getopt(argc, argv, "d:p:n:")) != -1) {
		switch (c) {
		case 'd': dev = atoi(optarg); break;
		case 'p': pinned = strtoull(optarg, NULL, 10); break;
		case 'n': cap = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [-d DEV] [-p MIB] [-n MIB] [FILE]\n", prog);
			return 2;
		}
	}
	struct pt_error err;
	struct pt_gpu *g = pt_gpu_open(NULL, &err);
	if (!g)
		return die("loading the driver", &err);
	char desc[256];
	if (pt_gpu_describe(g, dev, desc, sizeof desc, &err)) {
		pt_gpu_close(g);
		return die("the device", &err);
	}
	printf("device cuda:%d %s, driver %d.%d\n", dev, desc, pt_gpu_driver_version(g) / 1000,
	       pt_gpu_driver_version(g) % 1000 / 10);
	double s;
	int rc = 0;
	if (pt_gpu_bench_pinned(g, dev, pinned << 20, &s, &err))
		rc = die("the pinned copy", &err);
	else
		line("pinned", pinned << 20, s);
	if (!rc && optind < argc)
		rc = upload(g, dev, argv[optind], cap << 20);
	pt_gpu_close(g);
	return rc;
}
