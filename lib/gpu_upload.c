/*
 * gpu_upload.c - pt_gpu_upload: source bytes onto devices (gpu.h).
 *
 * One thread per device with work, so the devices fill in parallel and each
 * thread keeps its device's primary context current. A thread has
 * PT_GPU_SLOTS slots, a slot being a non-blocking stream plus what its
 * copy reads from: a pinned staging buffer (the staged path) or a window of
 * the source's file mapped read-only and registered with the driver (the
 * registered path). Slots are used round robin and a slot is reclaimed
 * (its stream synchronized, its window unregistered and unmapped) before
 * it is reused, so a buffer is never refilled, nor a window unmapped,
 * under a copy still in flight, and up to PT_GPU_SLOTS - 1 copies run
 * while the next chunk is read.
 *
 * Staging buffers and streams are made per upload, not kept in struct
 * pt_gpu: uploads are rare and large (pinning 64 MiB costs milliseconds
 * against seconds of copying), concurrent uploads then need no pool, and
 * an idle daemon holds no pinned memory.
 *
 * The first failure wins: it is recorded under the upload's mutex and an
 * atomic flag tells the other threads to stop at their next chunk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_int.h"

#define WINDOW ((size_t)64 << 20) /* registered path: bytes mapped and pinned per slot */

struct upload {
	struct pt_gpu *g;
	struct pt_source *src;
	const struct pt_gpu_copy *jobs;
	enum pt_gpu_path path;
	struct pt_progress *prog;
	int stop; /* atomic: a thread failed */
	pthread_mutex_t lock;
	struct pt_error err; /* the first failure, under lock */
};

struct slot {
	pt_cu_stream stream;
	void *buf; /* pinned staging buffer of PT_GPU_CHUNK bytes, made on first use */
	void *map; /* registered window, or NULL */
	size_t maplen;
};

struct worker {
	struct upload *u;
	int dev;
	const size_t *idx; /* this device's jobs */
	size_t n;
	struct slot slots[PT_GPU_SLOTS];
	unsigned next; /* the slot the next chunk takes */
	pthread_t tid;
	struct pt_error err;
};

static void fail(struct upload *u, const struct pt_error *e)
{
	pthread_mutex_lock(&u->lock);
	if (u->err.code == PT_OK)
		u->err = *e;
	pthread_mutex_unlock(&u->lock);
	__atomic_store_n(&u->stop, 1, __ATOMIC_RELEASE);
}

static bool stopped(struct upload *u)
{
	return __atomic_load_n(&u->stop, __ATOMIC_ACQUIRE) != 0;
}

/* Reverses every unit-byte group of p (n a multiple of unit). */
static void swap_units(unsigned char *p, size_t n, unsigned unit)
{
	size_t i, j;

	for (i = 0; i + unit <= n; i += unit) {
		if (unit == 2) {
			uint16_t v;
			memcpy(&v, p + i, 2);
			v = __builtin_bswap16(v);
			memcpy(p + i, &v, 2);
		} else if (unit == 4) {
			uint32_t v;
			memcpy(&v, p + i, 4);
			v = __builtin_bswap32(v);
			memcpy(p + i, &v, 4);
		} else if (unit == 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			v = __builtin_bswap64(v);
			memcpy(p + i, &v, 8);
		} else {
			for (j = 0; j < unit / 2; j++) {
				unsigned char t = p[i + j];
				p[i + j] = p[i + unit - 1 - j];
				p[i + unit - 1 - j] = t;
			}
		}
	}
}

/* Waits for the slot's copy, then lets go of its window; the slot is free after. */
static int slot_reclaim(struct worker *w, struct slot *s)
{
	struct pt_gpu *g = w->u->g;
	pt_cu_result r;

	r = g->cu.stream_synchronize(s->stream);
	if (r != 0)
		return pt_gpu_cu_error(g, &w->err, PT_ERR_IO, r, "cuda:%d: cuStreamSynchronize",
				       w->dev);
	if (s->map) {
		r = g->cu.mem_host_unregister(s->map);
		munmap(s->map, s->maplen);
		s->map = NULL;
		if (r != 0)
			return pt_gpu_cu_error(g, &w->err, PT_ERR_IO, r,
					       "cuda:%d: cuMemHostUnregister", w->dev);
	}
	return 0;
}

/* The next slot, reclaimed; NULL with w->err on failure. */
static struct slot *slot_next(struct worker *w)
{
	struct slot *s = &w->slots[w->next++ % PT_GPU_SLOTS];

	return slot_reclaim(w, s) < 0 ? NULL : s;
}

static int issue(struct worker *w, struct slot *s, uint64_t dptr, const void *p, size_t len)
{
	struct pt_gpu *g = w->u->g;
	pt_cu_result r;

	r = g->cu.memcpy_htod_async(dptr, p, len, s->stream);
	if (r != 0)
		return pt_gpu_cu_error(g, &w->err, PT_ERR_IO, r,
				       "cuda:%d: cuMemcpyHtoDAsync of %zu bytes", w->dev, len);
	pt_progress_add(w->u->prog, len);
	return 0;
}

/* Bytes [from, size) of job j through the staging buffers. */
static int copy_staged(struct worker *w, const struct pt_gpu_copy *j, uint64_t from)
{
	struct upload *u = w->u;
	unsigned unit = j->swap > 1 ? j->swap : 1;
	size_t chunk = PT_GPU_CHUNK - PT_GPU_CHUNK % unit, len;
	uint64_t pos, off;
	struct slot *s;
	pt_cu_result r;
	char what[300];

	for (pos = from; pos < j->size; pos += len) {
		len = j->size - pos < chunk ? (size_t)(j->size - pos) : chunk;
		if (stopped(u))
			return 0;
		if (!(s = slot_next(w)))
			return -1;
		if (!s->buf && (r = u->g->cu.mem_host_alloc(&s->buf, PT_GPU_CHUNK, 0)) != 0) {
			s->buf = NULL;
			return pt_gpu_cu_error(u->g, &w->err, PT_ERR_IO, r,
					       "cuMemHostAlloc of %zu bytes", PT_GPU_CHUNK);
		}
		off = j->src_off + pos;
		snprintf(what, sizeof(what), "%s: %zu bytes at offset %llu for cuda:%d",
			 u->src->name, len, (unsigned long long)off, w->dev);
		if (pt_source_read(u->src, s->buf, len, off, what, &w->err) < 0) {
			w->err.code = PT_ERR_IO;
			return -1;
		}
		if (unit > 1)
			swap_units(s->buf, len, unit);
		if (issue(w, s, j->dptr + pos, s->buf, len) < 0)
			return -1;
	}
	return 0;
}

/*
 * Job j through registered windows of the mapped file, from *pos on. 1
 * when the driver cannot register such memory (CUDA_ERROR_NOT_SUPPORTED:
 * read-only registration needs a device that supports it), with *pos where
 * the staged path must take over.
 */
static int copy_registered(struct worker *w, const struct pt_gpu_copy *j, uint64_t *pos)
{
	struct upload *u = w->u;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), off, start;
	size_t len, lead;
	struct slot *s;
	pt_cu_result r;
	void *map;

	for (; *pos < j->size; *pos += len) {
		if (stopped(u))
			return 0;
		off = j->src_off + *pos;
		start = off - off % page; /* mmap offsets are page-aligned */
		lead = (size_t)(off - start);
		len = j->size - *pos < WINDOW - lead ? (size_t)(j->size - *pos) : WINDOW - lead;
		if (!(s = slot_next(w)))
			return -1;
		map = mmap(NULL, lead + len, PROT_READ, MAP_SHARED, u->src->fd, (off_t)start);
		if (map == MAP_FAILED)
			return pt_error_sys(&w->err, errno, "%s: mmap of %zu bytes at offset %llu",
					    u->src->name, lead + len, (unsigned long long)start);
		r = u->g->cu.mem_host_register(map, lead + len, PT_CU_MEMHOSTREGISTER_READ_ONLY);
		if (r != 0) {
			munmap(map, lead + len);
			if (r == PT_CUDA_ERROR_NOT_SUPPORTED)
				return 1;
			return pt_gpu_cu_error(u->g, &w->err, PT_ERR_IO, r,
					       "cuda:%d: cuMemHostRegister of %zu bytes", w->dev,
					       lead + len);
		}
		s->map = map;
		s->maplen = lead + len;
		if (issue(w, s, j->dptr + *pos, (char *)map + lead, len) < 0)
			return -1;
	}
	return 0;
}

/* Whether the file still holds [off, off + n): a mapping past its end would SIGBUS. */
static bool file_covers(int fd, uint64_t off, uint64_t n)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (uint64_t)st.st_size >= off && n <= st.st_size - off;
}

static int worker_jobs(struct worker *w)
{
	struct upload *u = w->u;
	bool reg = u->path == PT_GPU_REGISTERED && u->src->fd >= 0;
	size_t i;
	int rc;

	for (i = 0; i < w->n && !stopped(u); i++) {
		const struct pt_gpu_copy *j = &u->jobs[w->idx[i]];
		uint64_t pos = 0;

		/*
		 * swapped bytes must be rewritten on the way, which a registered
		 * window (read-only) cannot; a file shortened since open goes the
		 * staged way too, whose read reports it
		 */
		if (reg && (j->swap <= 1) && file_covers(u->src->fd, j->src_off, j->size)) {
			rc = copy_registered(w, j, &pos);
			if (rc == 1) {
				reg = false; /* not for this device: the rest is staged */
				rc = copy_staged(w, j, pos);
			}
		} else {
			rc = copy_staged(w, j, 0);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct pt_gpu *g = w->u->g;
	pt_cu_result r;
	int i, rc = -1;

	if (pt_gpu_use(g, w->dev, &w->err) < 0)
		goto out;
	for (i = 0; i < PT_GPU_SLOTS; i++) {
		r = g->cu.stream_create(&w->slots[i].stream, PT_CU_STREAM_NON_BLOCKING);
		if (r != 0) {
			w->slots[i].stream = NULL;
			pt_gpu_cu_error(g, &w->err, PT_ERR_IO, r, "cuda:%d: cuStreamCreate",
					w->dev);
			goto out_slots;
		}
	}
	rc = worker_jobs(w);
out_slots:
	/* every copy finishes (or fails) before its buffer or window goes */
	for (i = 0; i < PT_GPU_SLOTS; i++) {
		struct slot *s = &w->slots[i];

		if (!s->stream)
			continue;
		if (slot_reclaim(w, s) < 0)
			rc = -1;
		if (s->buf)
			g->cu.mem_free_host(s->buf);
		g->cu.stream_destroy(s->stream);
	}
out:
	if (rc < 0)
		fail(w->u, &w->err);
	return NULL;
}

/* Checks every job before any copy: a bad one fails the upload with nothing written. */
static int check_jobs(struct pt_gpu *g, struct pt_source *src, const struct pt_gpu_copy *jobs,
		      size_t n, struct pt_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct pt_gpu_copy *j = &jobs[i];

		if (j->dev < 0 || j->dev >= pt_gpu_count(g))
			return pt_error_set(err, PT_ERR_NODEV,
					    "cuda:%d: no such device (%d present)", j->dev,
					    pt_gpu_count(g));
		if (j->swap > 1 && j->size % j->swap != 0)
			return pt_error_set(err, PT_ERR_INVAL,
					    "cuda:%d: %llu bytes are not whole %u-byte units",
					    j->dev, (unsigned long long)j->size, j->swap);
		if (j->src_off > src->size || j->size > src->size - j->src_off)
			return pt_error_set(
			    err, PT_ERR_IO,
			    "%s: %llu bytes at offset %llu for cuda:%d are past the end of the "
			    "file (%llu bytes)",
			    src->name, (unsigned long long)j->size, (unsigned long long)j->src_off,
			    j->dev, (unsigned long long)src->size);
	}
	return 0;
}

int pt_gpu_upload(struct pt_gpu *g, struct pt_source *src, const struct pt_gpu_copy *jobs, size_t n,
		  enum pt_gpu_path path, struct pt_progress *prog, struct pt_error *err)
{
	struct upload u = {.g = g, .src = src, .jobs = jobs, .path = path, .prog = prog};
	int ndev = pt_gpu_count(g), d, started = 0, rc = -1;
	struct worker *w = NULL;
	size_t *idx = NULL, *at = NULL, i;

	if (check_jobs(g, src, jobs, n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	pthread_mutex_init(&u.lock, NULL);
	w = calloc((size_t)ndev, sizeof(*w));
	idx = malloc(n * sizeof(*idx));
	at = calloc((size_t)ndev + 1, sizeof(*at));
	if (!w || !idx || !at) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* each device's jobs, in the order given: a counting sort by device */
	for (i = 0; i < n; i++)
		at[jobs[i].dev + 1]++;
	for (d = 0; d < ndev; d++)
		at[d + 1] += at[d];
	for (d = 0; d < ndev; d++) {
		w[d].u = &u;
		w[d].dev = d;
		w[d].idx = idx + at[d];
		w[d].n = at[d + 1] - at[d];
	}
	for (i = 0; i < n; i++)
		idx[at[jobs[i].dev]++] = i;
	for (d = 0; d < ndev; d++) {
		if (w[d].n == 0)
			continue;
		errno = pthread_create(&w[d].tid, NULL, worker_run, &w[d]);
		if (errno != 0) {
			pt_error_sys(&w[d].err, errno, "cuda:%d: cannot start a thread", d);
			fail(&u, &w[d].err);
			w[d].n = 0;
			break;
		}
		started++;
	}
	for (d = 0; d < ndev; d++)
		if (w[d].n > 0 && started-- > 0)
			pthread_join(w[d].tid, NULL);
	if (u.err.code != PT_OK) {
		if (err)
			*err = u.err;
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_destroy(&u.lock);
	free(at);
	free(idx);
	free(w);
	return rc;
}
