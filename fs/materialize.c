/*
 * materialize.c - the daemon's GPU side: `materialize` and `release`, reads
 * of resident tensors, user.pt.resident and user.pt.cuda_ipc (docs/gpu.md).
 *
 * The driver is loaded on the first command that needs a device, in the
 * daemon after it forked, and kept until unmount; a failed load is tried
 * again by the next command. A materialize is planned under fs->lock (its
 * storages are pinned, so no rule moves them), copies with the lock
 * dropped, so that the control file shows its progress and reads go on
 * from the file meanwhile, and ends under the lock again. One materialize
 * or release at a time (gpu_busy): a second gets EBUSY, as a second save
 * does.
 */
#define _GNU_SOURCE
#include "ptfs.h"
#include "resident.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_CUDA                                                                                   \
	"Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. " \
	"If you are running on a CPU-only machine, please use torch.load with "                       \
	"map_location=torch.device('cpu') to map your storages to the CPU."

static void set_result(struct ptfs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_result(struct ptfs *fs, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(fs->gpu_result);
	fs->gpu_result = s;
}

/* The checkpoint's residency table, made on first use; NULL with err on ENOMEM. Under fs->lock. */
static struct pt_resident *resident(struct ptfs *fs, struct pt_error *err)
{
	struct pt_resident *r = fs->res;

	if (!r) /* published for requests, which load it without the lock */
		__atomic_store_n(&fs->res, pt_resident_new(ptfs_ck(fs), err), __ATOMIC_RELEASE);
	else if (pt_resident_ck(r) != ptfs_ck(fs) && pt_resident_rebind(r, ptfs_ck(fs), err) < 0)
		return NULL; /* reloaded since: nothing can be resident (reload refuses then) */
	return fs->res;
}

/* Loads the driver once; 0, or ENODEV with torch's words and the reason in err. Under fs->lock. */
static int load_driver(struct ptfs *fs, struct pt_error *err)
{
	struct pt_error e2;

	if (fs->gpu && pt_gpu_count(fs->gpu) > 0)
		return 0;
	if (!fs->gpu) {
		pt_error_clear(&e2);
		fs->gpu = pt_gpu_open(NULL, &e2);
		free(fs->gpu_unavailable);
		fs->gpu_unavailable = fs->gpu ? NULL : strdup(e2.msg);
		if (!fs->gpu) {
			pt_error_set(err, PT_ERR_NODEV, "%s (%s)", NO_CUDA, e2.msg);
			return ENODEV;
		}
	}
	if (pt_gpu_count(fs->gpu) == 0) {
		pt_error_set(err, PT_ERR_NODEV, "%s (the driver reports no device)", NO_CUDA);
		return ENODEV;
	}
	return 0;
}

/* The storages cmd's globs select (all without any), one bool per index; NULL with err on ENOMEM. */
static bool *select_storages(struct ptfs *fs, const struct pt_cmd *cmd, struct pt_error *err)
{
	bool *sel = malloc((ptfs_ck(fs)->torch.nstorages + 1) * sizeof(*sel));

	if (!sel)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	pt_rules_select(fs->rules, cmd->arg, sel);
	return sel;
}

static int materialize(struct ptfs *fs, const struct pt_cmd *cmd, struct pt_error *err)
{
	struct pt_resident_plan plan;
	struct pt_resident *r;
	enum pt_gpu_path path = fs->gpu_path;
	uint64_t t0, ns;
	bool *sel;
	int e = 0;

	r = resident(fs, err);
	if (!r)
		return ENOMEM;
	sel = select_storages(fs, cmd, err);
	if (!sel)
		return ENOMEM;
	if (pt_resident_plan(r, fs->rules, sel, &plan, err) < 0) {
		free(sel);
		return ENOMEM;
	}
	free(sel);
	/* bytes of a file rewritten in place would not be the tree's: reads get EIO then too */
	if (plan.n > 0 && pt_source_check(ptfs_ck(fs)->src, err) < 0)
		e = EIO;
	else if (plan.n > 0)
		e = load_driver(fs, err);
	if (e) {
		set_result(fs, "failed: %s", err->msg);
		goto out_end;
	}
	fs->gpu_busy = true;
	pt_progress_start(&fs->gpu_prog, plan.bytes);
	t0 = pt_progress_now_ns();
	pthread_mutex_unlock(&fs->lock);
	if (plan.n > 0 && pt_resident_load(r, fs->gpu, &plan, path, &fs->gpu_prog, err) < 0)
		e = ptfs_errno(err);
	pthread_mutex_lock(&fs->lock);
	ns = pt_progress_now_ns() - t0;
	fs->gpu_busy = false;
	if (e) {
		set_result(fs, "failed: %s", err->msg);
	} else {
		char human[24];

		pt_progress_bytes(plan.bytes, human);
		set_result(fs,
			   "done %zu storage%s, %llu bytes (%s) in %.3f s, %.1f GB/s; %zu already resident, %zu skipped (not on a cuda location)",
			   plan.n, plan.n == 1 ? "" : "s", (unsigned long long)plan.bytes, human,
			   (double)ns / 1e9, ns ? (double)plan.bytes / (double)ns : 0.0, plan.already,
			   plan.skipped);
	}
out_end:
	pt_resident_plan_end(r, fs->rules, &plan);
	return e;
}

static int release(struct ptfs *fs, const struct pt_cmd *cmd, struct pt_error *err)
{
	uint64_t bytes = 0;
	char human[24];
	size_t k = 0;
	bool *sel;

	if (fs->res && fs->gpu) {
		sel = select_storages(fs, cmd, err);
		if (!sel)
			return ENOMEM;
		k = pt_resident_release(fs->res, fs->gpu, fs->rules, sel, &bytes);
		free(sel);
	}
	pt_progress_bytes(bytes, human);
	set_result(fs, "released %zu storage%s, %llu bytes (%s)", k, k == 1 ? "" : "s",
		   (unsigned long long)bytes, human);
	return 0;
}

int ptfs_gpu_command(struct ptfs *fs, const struct pt_cmd *cmd, struct pt_error *err)
{
	if (fs->gpu_busy) {
		pt_error_set(err, PT_ERR_BUSY, "a materialize is running");
		return EBUSY;
	}
	return cmd->kind == PT_CMD_MATERIALIZE ? materialize(fs, cmd, err) : release(fs, cmd, err);
}

bool ptfs_gpu_holds(struct ptfs *fs)
{
	return fs->gpu_busy || (fs->res && pt_resident_count(fs->res) > 0);
}

int ptfs_gpu_describe(struct ptfs *fs, char **buf, size_t *len)
{
	char prog[160];
	int rc;

	if (!fs->gpu && !fs->gpu_unavailable && !fs->gpu_result)
		return 0; /* no GPU command yet: nothing to tell */
	if (fs->gpu) {
		int c = pt_gpu_count(fs->gpu), v = pt_gpu_driver_version(fs->gpu);

		rc = pt_text_appendf(buf, len, "gpu: %d device%s, driver %d.%d\n", c,
				     c == 1 ? "" : "s", v / 1000, v % 1000 / 10);
	} else if (fs->gpu_unavailable) {
		rc = pt_text_appendf(buf, len, "gpu: unavailable: %s\n", fs->gpu_unavailable);
	} else { /* only commands that needed none ran */
		rc = pt_text_appendf(buf, len, "gpu: not loaded\n");
	}
	if (rc == 0 && fs->gpu_busy) {
		pt_progress_format(&fs->gpu_prog, pt_progress_now_ns(), prog, sizeof(prog));
		rc = pt_text_appendf(buf, len, "materialize: running %s\n", prog);
	} else if (rc == 0 && fs->gpu_result) {
		rc = pt_text_appendf(buf, len, "%s: %s\n",
				     strncmp(fs->gpu_result, "released", 8) == 0 ? "release"
										 : "materialize",
				     fs->gpu_result);
	}
	if (rc == 0 && fs->res && fs->gpu)
		rc = pt_resident_describe(fs->res, fs->gpu, buf, len);
	return rc;
}

bool ptfs_gpu_read(fuse_req_t req, struct ptfs *fs, const struct pt_tensor *t, size_t size,
		   uint64_t off)
{
	struct pt_resident *r = __atomic_load_n(&fs->res, __ATOMIC_ACQUIRE);
	struct pt_error err;
	int64_t got;
	char *buf;

	if (!r || pt_resident_count(r) == 0 || pt_resident_device(r, t->storage) < 0)
		return false;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	pt_error_clear(&err);
	got = pt_resident_read(r, fs->gpu, t, buf, size, off, &err);
	if (got < 0) {
		fprintf(stderr, "ptfs: reading %s from its device: %s\n", t->storage->key, err.msg);
		fuse_reply_err(req, EIO);
	} else if (got == 0 && size > 0) {
		free(buf);
		return false; /* released since the check: the file has the same bytes */
	} else {
		fuse_reply_buf(req, buf, (size_t)got);
	}
	free(buf);
	return true;
}

ssize_t ptfs_gpu_xattr(struct ptfs *fs, const struct pt_tensor *t, const char *name, char **out)
{
	struct pt_resident *r = __atomic_load_n(&fs->res, __ATOMIC_ACQUIRE);
	int dev = r ? pt_resident_device(r, t->storage) : -1;
	struct pt_error err;
	char buf[512];
	int n;

	if (strcmp(name, "user.pt.resident") == 0) {
		n = dev < 0 ? snprintf(buf, sizeof(buf), "file")
			    : snprintf(buf, sizeof(buf), "cuda:%d", dev);
	} else {
		if (dev < 0)
			return -ENODATA;
		pt_error_clear(&err);
		n = pt_resident_ipc_text(r, fs->gpu, t, buf, sizeof(buf), &err);
		if (n < 0) {
			fprintf(stderr, "ptfs: cuda_ipc of %s: %s\n", t->storage->key, err.msg);
			return -EIO;
		}
		if (n == 0)
			return -ENODATA; /* released meanwhile */
	}
	*out = strndup(buf, (size_t)n);
	return *out ? n : -ENOMEM;
}

void ptfs_gpu_close(struct ptfs *fs)
{
	pt_resident_free(fs->res, fs->gpu);
	fs->res = NULL;
	pt_gpu_close(fs->gpu);
	fs->gpu = NULL;
	free(fs->gpu_result);
	free(fs->gpu_unavailable);
	fs->gpu_result = fs->gpu_unavailable = NULL;
}
