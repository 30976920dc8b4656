/*
 * control.c - `.ptfs/control`: map_location rules, per-storage overrides
 * and `save`, with the protocol of docs/control.md.
 *
 * A write holds whole lines. It is parsed and validated completely before
 * anything changes; a bad line makes the write fail with EINVAL and is kept
 * as the last error. Rule changes are serialized by fs->lock. A save takes a
 * snapshot of every storage's location under the lock, then writes without
 * it, so rules may change (and the file be read for progress) while a long
 * save runs; a second save meanwhile gets EBUSY. The write that asked for a
 * save returns when it is done, so `echo save ... > control` succeeds only
 * for a complete file.
 *
 * Reading gives a snapshot made at open, so a reader sees one consistent
 * state however small its reads; the file is opened with direct_io because
 * its size is not known in advance.
 */
#define _GNU_SOURCE
#include "ptfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct snapshot {
	char *buf;
	size_t len;
};

static void set_error(struct ptfs *fs, const char *msg)
{
	free(fs->last_error);
	fs->last_error = msg ? strdup(msg) : NULL;
}

static char *describe(struct ptfs *fs, size_t *len)
{
	char *buf = NULL, *line = NULL;
	size_t n = 0;
	int rc = 0;

	*len = 0;
	pthread_mutex_lock(&fs->lock);
	if (asprintf(&line, "# ptfs control: write commands, one per line (docs/control.md)\n") < 0)
		line = NULL;
	if (line) {
		buf = line;
		n = strlen(line);
	}
	rc = buf ? pt_rules_describe(fs->rules, &buf, &n) : -1;
	if (rc == 0) {
		char *tail = NULL;
		uint64_t done = __atomic_load_n(&fs->prog.done, __ATOMIC_RELAXED);
		uint64_t total = __atomic_load_n(&fs->prog.total, __ATOMIC_RELAXED);
		int k;

		if (done > total)
			done = total;
		if (fs->saving)
			k = asprintf(&tail, "error: %s\nsave: running %s %llu/%llu bytes (%d%%)\n",
				     fs->last_error ? fs->last_error : "none", fs->save_path,
				     (unsigned long long)done, (unsigned long long)total,
				     total ? (int)(done * 100 / total) : 100);
		else if (fs->save_result)
			k = asprintf(&tail, "error: %s\nsave: %s\n",
				     fs->last_error ? fs->last_error : "none", fs->save_result);
		else
			k = asprintf(&tail, "error: %s\nsave: idle\n",
				     fs->last_error ? fs->last_error : "none");
		if (k < 0) {
			rc = -1;
		} else {
			char *nb = realloc(buf, n + (size_t)k + 1);

			if (!nb) {
				rc = -1;
			} else {
				memcpy(nb + n, tail, (size_t)k + 1);
				buf = nb;
				n += (size_t)k;
			}
			free(tail);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

void ptfs_control_open(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_WRONLY) {
		s->buf = describe(fs, &s->len);
		if (!s->buf) {
			free(s);
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	fi->fh = (uint64_t)(uintptr_t)s;
	fi->direct_io = 1;
	fi->nonseekable = 0;
	fuse_reply_open(req, fi);
}

void ptfs_control_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct snapshot *s = (struct snapshot *)(uintptr_t)fi->fh;

	if (!s || (uint64_t)off >= s->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > s->len - (size_t)off)
		size = s->len - (size_t)off;
	fuse_reply_buf(req, s->buf + off, size);
}

void ptfs_control_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct snapshot *s = (struct snapshot *)(uintptr_t)fi->fh;

	if (s)
		free(s->buf);
	free(s);
	fuse_reply_err(req, 0);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs one save: snapshot under the lock, write without it. Returns 0 or an errno. */
static int run_save(struct ptfs *fs, const char *path)
{
	size_t n = fs->ck->torch.nstorages, i;
	const char **locs = malloc((n ? n : 1) * sizeof(*locs));
	struct pt_error err;
	struct timespec t0;
	char *result = NULL;
	int e = 0;

	if (!locs)
		return ENOMEM;
	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < n; i++)
		locs[i] = pt_storage_location(fs->ck->torch.storages[i]);
	pthread_mutex_unlock(&fs->lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pt_error_clear(&err);
	if (pt_checkpoint_save(fs->ck, path, locs, NULL, &fs->prog, &err) < 0) {
		e = err.code == PT_ERR_INVAL ? EINVAL : ptfs_errno(&err);
		if (asprintf(&result, "failed %s: %s", path, err.msg) < 0)
			result = NULL;
	} else if (asprintf(&result, "done %s %llu bytes in %.3f s", path,
			    (unsigned long long)__atomic_load_n(&fs->prog.total, __ATOMIC_RELAXED),
			    seconds_since(&t0)) < 0) {
		result = NULL;
	}
	pthread_mutex_lock(&fs->lock);
	free(fs->save_result);
	fs->save_result = result;
	fs->saving = false;
	if (e)
		set_error(fs, err.msg);
	pthread_mutex_unlock(&fs->lock);
	free(locs);
	return e;
}

void ptfs_control_write(fuse_req_t req, struct ptfs *fs, const char *buf, size_t size)
{
	struct pt_cmd *cmds;
	struct pt_error err;
	const char *save = NULL;
	size_t n, i;
	int e = 0;

	pt_error_clear(&err);
	if (pt_cmds_parse(buf, size, &cmds, &n, &err) < 0) {
		pthread_mutex_lock(&fs->lock);
		set_error(fs, err.msg);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, err.code == PT_ERR_NOMEM ? ENOMEM : EINVAL);
		return;
	}
	for (i = 0; i < n; i++) {
		if (cmds[i].kind != PT_CMD_SAVE)
			continue;
		if (save) {
			pt_error_set(&err, PT_ERR_INVAL, "one save per write");
			e = EINVAL;
		}
		save = cmds[i].arg;
	}
	pthread_mutex_lock(&fs->lock);
	if (!e && save && fs->saving) {
		pt_error_set(&err, PT_ERR_BUSY, "a save is already running (%s)", fs->save_path);
		e = EBUSY;
	}
	for (i = 0; !e && i < n; i++)
		if (cmds[i].kind != PT_CMD_SAVE && pt_rules_apply(fs->rules, &cmds[i], &err) < 0)
			e = ENOMEM;
	if (e)
		set_error(fs, err.msg);
	else
		set_error(fs, NULL); /* a good write clears the last error */
	if (!e && save) {
		fs->saving = true;
		free(fs->save_path);
		fs->save_path = strdup(save);
		__atomic_store_n(&fs->prog.done, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&fs->prog.total, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!e && save)
		e = run_save(fs, save);
	pt_cmds_free(cmds, n);
	if (e)
		fuse_reply_err(req, e);
	else
		fuse_reply_write(req, size);
}

int ptfs_location_set(struct ptfs *fs, struct pt_node *n, const char *value, size_t size)
{
	struct pt_error err;
	char tag[64];
	int rc;

	if (n->kind != PT_NODE_TENSOR || !n->u.tensor->storage)
		return EINVAL;
	if (size == 0 || size >= sizeof(tag) || memchr(value, '\0', size))
		return EINVAL;
	memcpy(tag, value, size);
	tag[size] = '\0';
	pthread_mutex_lock(&fs->lock);
	rc = pt_rules_override(fs->rules, n->u.tensor->storage, tag, &err);
	if (rc < 0)
		set_error(fs, err.msg);
	pthread_mutex_unlock(&fs->lock);
	return rc < 0 ? (err.code == PT_ERR_NOMEM ? ENOMEM : EINVAL) : 0;
}

int ptfs_location_remove(struct ptfs *fs, struct pt_node *n)
{
	struct pt_error err;

	if (n->kind != PT_NODE_TENSOR || !n->u.tensor->storage)
		return ENODATA;
	pthread_mutex_lock(&fs->lock);
	pt_rules_override(fs->rules, n->u.tensor->storage, NULL, &err);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}
