/*
 * control.c - `.ptfs/control`: map_location rules, per-storage overrides
 * and `save`, with the protocol of docs/control.md; and the opens and
 * reads of the other `.ptfs` files (files.c makes their content).
 *
 * A write holds whole lines. It is parsed and validated completely before
 * anything changes; a bad line makes the write fail with EINVAL and is kept
 * as the last error. Rule changes are serialized by fs->lock. A save takes a
 * snapshot of every storage's location under the lock, checks what can fail
 * fast (a missing or read-only folder), copies in a thread, and the write
 * that asked for it returns when the file is durable or the save failed,
 * as the contract wants, in its close (FLUSH): a write holds the kernel's
 * lock on the file, a close does not, so meanwhile other writers change
 * rules, readers see progress, and a second save gets EBUSY. An interrupted
 * close (Ctrl-C) returns EINTR and the save goes on; `wait` blocks until the
 * running save ends and reports it once.
 *
 * Reading gives a snapshot made at open, so a reader sees one consistent
 * state however small its reads; the file is opened with direct_io because
 * its content changes while its size is cached.
 */
#define _GNU_SOURCE
#include "ptfs.h"
#include "digest.h"
#include "text.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One open of a control file; all are listed so that unmount frees those never released. */
struct snapshot {
	char *buf;
	size_t len;
	struct pt_sums *sums; /* SHA256SUMS: read through it, not from buf */
	unsigned save_seq;    /* the save this open started, until its close reports it */
	bool save_ended;
	int save_errno;       /* of that save, once ended */
	struct snapshot *prev, *next;
};

static void set_error(struct ptfs *fs, const char *msg)
{
	free(fs->last_error);
	fs->last_error = msg ? strdup(msg) : NULL;
}

/*
 * The control file's "source:" line: whether the checkpoint's path still
 * holds the file that is served, and under -o follow how many reloads it
 * made and its last failure. Called with fs->lock held.
 */
static void source_line(struct ptfs *fs, char *out, size_t cap)
{
	struct pt_source *src = ptfs_ck(fs)->src;
	const char *state = NULL;
	struct pt_error err;
	struct stat st;
	int n;

	if (pt_source_check(src, &err) < 0)
		state = "rewritten in place since it was opened (tensor reads fail with EIO)";
	else if (stat(fs->abspath, &st) != 0)
		state = "removed (the mount serves the file it opened)";
	else if (st.st_dev != src->dev || st.st_ino != src->ino) /* (a set's size is its shards') */
		state = "replaced by another file (the mount serves the one it opened)";
	/* no path: the file is the same for equal checkpoints wherever they lie (diff -r) */
	if (state)
		n = snprintf(out, cap, "source: %s: write 'reload' to serve what is there now\n", state);
	else
		n = snprintf(out, cap, "source: unchanged\n");
	if (fs->follow && n >= 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "follow: %u reloads%s%s\n", fs->reloads,
			 fs->follow_error ? ", the last attempt failed: " : "",
			 fs->follow_error ? fs->follow_error : "");
}

static char *describe(struct ptfs *fs, size_t *len);

uint64_t ptfs_control_size(struct ptfs *fs)
{
	size_t len = 0;

	free(describe(fs, &len));
	return len;
}

static char *describe(struct ptfs *fs, size_t *len)
{
	uint64_t done = __atomic_load_n(&fs->prog.done, __ATOMIC_RELAXED);
	uint64_t total = __atomic_load_n(&fs->prog.total, __ATOMIC_RELAXED);
	const char *error;
	char src[4400], rate[80]; /* "850.0 MiB/s, 1 s left", or "" */
	char *buf = NULL;
	size_t n = 0;
	int rc;

	*len = 0;
	if (done > total)
		done = total;
	pthread_mutex_lock(&fs->lock);
	error = fs->last_error ? fs->last_error : "none";
	rc = pt_text_appendf(&buf, &n,
			     "# ptfs control: write commands, one per line (docs/control.md)\n");
	if (rc == 0)
		rc = pt_rules_describe(fs->rules, &buf, &n);
	pt_progress_format_rate(&fs->prog, pt_progress_now_ns(), rate, sizeof(rate));
	if (rc == 0 && fs->saving)
		rc = pt_text_appendf(&buf, &n,
				     "error: %s\nsave: running %s %llu/%llu bytes (%d%%)%s%s\n", error,
				     fs->save_path, (unsigned long long)done,
				     (unsigned long long)total,
				     total ? (int)(done * 100 / total) : 100, rate[0] ? " " : "",
				     rate);
	else if (rc == 0)
		rc = pt_text_appendf(&buf, &n, "error: %s\nsave: %s\n", error,
				     fs->save_result ? fs->save_result : "idle");
	if (rc == 0)
		rc = ptfs_gpu_describe(fs, &buf, &n);
	source_line(fs, src, sizeof(src));
	if (rc == 0)
		rc = pt_text_appendf(&buf, &n, "%s", src);
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
	int e;

	if (!s) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fi->fh != PTFS_CONTROL && (fi->flags & O_ACCMODE) != O_RDONLY) {
		free(s);
		fuse_reply_err(req, EROFS);
		return;
	}
	e = 0;
	if (fi->fh == PTFS_GLOBALS) {
		e = ptfs_globals(fs);
		if (!e && (s->buf = malloc(fs->globals_len + 1))) {
			memcpy(s->buf, fs->globals, fs->globals_len);
			s->len = fs->globals_len;
		}
	} else if (fi->fh == PTFS_MANIFEST) {
		s->buf = ptfs_manifest(fs, &s->len);
	} else if (fi->fh == PTFS_SUMS) {
		s->sums = ptfs_sums(fs, ptfs_ck(fs));
	} else if ((fi->flags & O_ACCMODE) != O_WRONLY) {
		s->buf = describe(fs, &s->len);
	}
	/* what this open reads is missing: out of memory (a writer's open reads nothing) */
	if (e || (!s->buf && !s->sums && (fi->flags & O_ACCMODE) != O_WRONLY)) {
		free(s->buf);
		free(s);
		fuse_reply_err(req, e ? e : ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	s->next = fs->snapshots;
	if (s->next)
		s->next->prev = s;
	fs->snapshots = s;
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uint64_t)(uintptr_t)s;
	fi->direct_io = 1;
	fi->nonseekable = 0;
	/* a reader's close has nothing to wait for; a writer's close may (a save) */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	fuse_reply_open(req, fi);
}

static void sums_read(fuse_req_t req, struct pt_sums *sums, size_t size, off_t off)
{
	char *buf = malloc(size ? size : 1);
	struct pt_error err;
	int64_t got;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pt_error_clear(&err);
	got = pt_sums_read(sums, buf, size, (uint64_t)off, &err);
	if (got < 0)
		fuse_reply_err(req, ptfs_errno(&err));
	else
		fuse_reply_buf(req, buf, (size_t)got);
	free(buf);
}

/*
 * The snapshot is looked up in the list and replied from under the lock:
 * a release of the same handle (seen racing a read under load, with
 * direct_io) then either waits for the reply or has already unlinked it,
 * and a read never touches freed memory.
 */
void ptfs_control_read(fuse_req_t req, struct ptfs *fs, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct snapshot *want = (struct snapshot *)(uintptr_t)fi->fh, *s;
	struct pt_sums *sums;

	pthread_mutex_lock(&fs->lock);
	for (s = fs->snapshots; s && s != want; s = s->next)
		;
	if (!s) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, EBADF);
		return;
	}
	if ((sums = s->sums)) {
		/* hashing may take long: not under the lock; the listing lives as long as its checkpoint */
		pthread_mutex_unlock(&fs->lock);
		sums_read(req, sums, size, off);
		return;
	}
	if ((uint64_t)off >= s->len) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		if (size > s->len - (size_t)off)
			size = s->len - (size_t)off;
		fuse_reply_buf(req, s->buf + off, size);
	}
	pthread_mutex_unlock(&fs->lock);
}

static void snapshot_free(struct ptfs *fs, struct snapshot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		fs->snapshots = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->buf);
	free(s);
}

void ptfs_control_release(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi)
{
	struct snapshot *s = (struct snapshot *)(uintptr_t)fi->fh;

	pthread_mutex_lock(&fs->lock);
	if (s)
		snapshot_free(fs, s);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

void ptfs_control_free_all(struct ptfs *fs)
{
	while (fs->snapshots)
		snapshot_free(fs, fs->snapshots);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A save or an export: one runs at a time, with the same progress and report. */
struct save_thread {
	struct ptfs *fs;
	struct pt_save_job *job;
	struct pt_export_job *xjob; /* instead of job, for `export` */
	struct timespec t0;
};

/* The background half of a save: copy, fsync, publish, then report. */
static void *save_main(void *arg)
{
	struct save_thread *st = arg;
	struct ptfs *fs = st->fs;
	struct pt_error err;
	char *result = NULL;
	int e = 0;

	pt_error_clear(&err);
	if ((st->xjob ? pt_export_run(st->xjob, &fs->prog, &err)
		      : pt_save_run(st->job, &fs->prog, &err)) < 0) {
		e = ptfs_errno(&err);
		if (asprintf(&result, "failed %s: %s", fs->save_path, err.msg) < 0)
			result = NULL;
	} else if (asprintf(&result, "done %s %llu bytes in %.3f s%s%s", fs->save_path,
			    (unsigned long long)__atomic_load_n(&fs->prog.total, __ATOMIC_RELAXED),
			    seconds_since(&st->t0), st->xjob ? ": " : "",
			    st->xjob ? pt_export_summary(st->xjob) : "") < 0) {
		result = NULL;
	}
	pt_save_free(st->job);
	pt_export_free(st->xjob);
	pthread_mutex_lock(&fs->lock);
	free(fs->save_result);
	fs->save_result = result;
	fs->save_errno = e;
	if (e)
		set_error(fs, err.msg);
	fs->saving = false;
	fs->save_done_seq = fs->save_seq;
	for (struct snapshot *o = fs->snapshots; o; o = o->next)
		if (o->save_seq == fs->save_seq) {
			o->save_ended = true;
			o->save_errno = e;
		}
	pthread_cond_broadcast(&fs->saved);
	pthread_mutex_unlock(&fs->lock);
	free(st);
	return NULL;
}

/*
 * Starts a save: what can fail fast (the path, the folder, the temporary
 * file) fails here with its errno; the copy runs in a thread. Called with
 * fs->lock held and fs->saving set; returns 0 or an errno (saving cleared).
 */
static int start_save(struct ptfs *fs, const struct pt_cmd *cmd, struct pt_error *err)
{
	const char *path = cmd->arg;
	size_t n = fs->ck->torch.nstorages, i;
	const char **locs = malloc((n ? n : 1) * sizeof(*locs));
	struct save_thread *st = calloc(1, sizeof(*st));
	int e = 0;

	if (!locs || !st) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		e = ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++)
		locs[i] = pt_storage_location(fs->ck->torch.storages[i]);
	if (fs->save_thread_valid) {
		pthread_join(fs->save_thread, NULL); /* the last one has ended */
		fs->save_thread_valid = false;
	}
	free(fs->save_path);
	if (cmd->kind == PT_CMD_EXPORT) {
		struct pt_export_opts eo = { .shard_size = cmd->shard_size };

		if (asprintf(&fs->save_path, "export safetensors %s", path) < 0)
			fs->save_path = NULL;
		st->xjob = pt_export_begin(fs->ck, path, &eo, &fs->prog, err);
	} else {
		fs->save_path = strdup(path);
		st->job = pt_save_begin(fs->ck, path, locs, NULL, &fs->prog, err);
	}
	st->fs = fs;
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	if (!st->job && !st->xjob) {
		e = err->code == PT_ERR_INVAL ? EINVAL : ptfs_errno(err);
		goto out_free;
	}
	if (pthread_create(&fs->save_thread, NULL, save_main, st) != 0) {
		pt_save_free(st->job);
		pt_export_free(st->xjob);
		pt_error_set(err, PT_ERR_NOMEM, "cannot start the save thread");
		e = EAGAIN;
		goto out_free;
	}
	fs->save_thread_valid = true;
	fs->save_seq++;
	free(locs);
	return 0;

out_free:
	if (e) {
		char *result = NULL;

		if (asprintf(&result, "failed %s: %s", fs->save_path ? fs->save_path : path,
			     err->msg) < 0)
			result = NULL;
		free(fs->save_result);
		fs->save_result = result;
		fs->save_errno = e;
		fs->saving = false;
	}
	free(locs);
	free(st);
	return e;
}

void ptfs_control_finish(struct ptfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	if (fs->save_thread_valid) {
		pthread_mutex_unlock(&fs->lock);
		pthread_join(fs->save_thread, NULL);
		pthread_mutex_lock(&fs->lock);
		fs->save_thread_valid = false;
	}
	pthread_mutex_unlock(&fs->lock);
}

void ptfs_free_retired(struct ptfs *fs)
{
	size_t i;

	for (i = 0; i < fs->nretired; i++) {
		pt_rules_free(fs->retired_rules[i]);
		pt_checkpoint_close(fs->retired_ck[i]);
	}
	free(fs->retired_ck);
	free(fs->retired_rules);
	fs->retired_ck = NULL;
	fs->retired_rules = NULL;
	fs->nretired = 0;
}

/*
 * The old checkpoint stays alive (requests may be using it) until unmount;
 * its inode numbers are never reused, and the kernel is told to forget the
 * root's entries, so cached names are looked up again. Rules and overrides
 * start empty.
 */
int ptfs_reload(struct ptfs *fs, struct pt_error *err)
{
	struct pt_checkpoint *old = fs->ck, *ck, **rc;
	struct pt_open_opts oo = fs->open_opts;
	struct pt_rules *rules, **rr;
	struct pt_node *c;

	if (fs->saving)
		return pt_error_set(err, PT_ERR_BUSY, "reload: a save is running"), EBUSY;
	if (ptfs_gpu_holds(fs))
		return pt_error_set(err, PT_ERR_BUSY,
				    "reload: storages are resident on a GPU: release them first"),
		       EBUSY;
	oo.ino_base = old->tree->ino_base + old->tree->nnodes + 1;
	ck = pt_checkpoint_open(fs->abspath, &oo, err);
	if (!ck)
		return EIO;
	malloc_trim(0); /* the open's scratch, as at mount */
	rules = pt_rules_new(ck, err);
	rc = realloc(fs->retired_ck, (fs->nretired + 1) * sizeof(*rc));
	if (rc)
		fs->retired_ck = rc;
	rr = realloc(fs->retired_rules, (fs->nretired + 1) * sizeof(*rr));
	if (rr)
		fs->retired_rules = rr;
	if (!rules || !rc || !rr || ptfs_add_specials(fs, ck, err) < 0) {
		pt_rules_free(rules);
		pt_checkpoint_close(ck);
		fs->control = pt_tree_lookup(old->tree, pt_tree_ctl_dir(old->tree), "control");
		return ENOMEM;
	}
	fs->retired_ck[fs->nretired] = old;
	fs->retired_rules[fs->nretired++] = fs->rules;
	fs->rules = rules;
	__atomic_store_n(&fs->ck, ck, __ATOMIC_RELEASE);
	__atomic_store_n(&fs->stale, false, __ATOMIC_RELAXED);
	free(fs->globals);
	fs->globals = NULL;
	for (c = old->tree->nodes[0]->u.dir.first; c && fs->se; c = c->next)
		fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, c->name, strlen(c->name));
	if (fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, FUSE_ROOT_ID, 0, 0);
	return 0;
}

/* The snapshot of an open control file: fi->fh, which a write's handle always is. Under lock. */
static struct snapshot *opened_by(struct ptfs *fs, struct fuse_file_info *fi)
{
	return (struct snapshot *)(uintptr_t)fi->fh;
}

/* A writer waiting for a save, and whether its process was interrupted (Ctrl-C). */
struct waiter {
	struct ptfs *fs;
	bool interrupted;
};

/* libfuse calls this when the kernel interrupts the write: the wait ends, the save goes on. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiter *w = data;

	(void)req;
	pthread_mutex_lock(&w->fs->lock);
	w->interrupted = true;
	pthread_cond_broadcast(&w->fs->saved);
	pthread_mutex_unlock(&w->fs->lock);
}

void ptfs_control_write(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi,
			const char *buf, size_t size)
{
	struct waiter w = { .fs = fs };
	struct pt_cmd *cmds;
	struct pt_error err;
	const struct pt_cmd *save = NULL;
	bool wait = false;
	size_t n, i;
	int e = 0;

	pt_error_clear(&err);
	/*
	 * A write(2) this long may reach us as several requests (the kernel
	 * splits at max_write): applying the first would break "a write with a
	 * bad line changes nothing", and its cut may fall inside a line.
	 */
	if (size > fs->max_write) {
		pthread_mutex_lock(&fs->lock);
		pt_error_set(&err, PT_ERR_INVAL,
			     "a write of over %zu bytes may be split by the kernel; nothing was applied: write at most %zu bytes of whole lines at a time",
			     fs->max_write, fs->max_write);
		set_error(fs, err.msg);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	if (pt_cmds_parse(buf, size, &cmds, &n, &err) < 0) {
		pthread_mutex_lock(&fs->lock);
		set_error(fs, err.msg);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, err.code == PT_ERR_NOMEM ? ENOMEM : EINVAL);
		return;
	}
	for (i = 0; i < n; i++) {
		if (cmds[i].kind == PT_CMD_WAIT)
			wait = true;
		if (cmds[i].kind != PT_CMD_SAVE && cmds[i].kind != PT_CMD_EXPORT)
			continue;
		if (save) {
			pt_error_set(&err, PT_ERR_INVAL, "one save or export per write");
			e = EINVAL;
		}
		save = &cmds[i];
	}
	if (wait) /* not under fs->lock: libfuse may call it at once */
		fuse_req_interrupt_func(req, on_interrupt, &w);
	pthread_mutex_lock(&fs->lock);
	if (!e && save && fs->saving) {
		pt_error_set(&err, PT_ERR_BUSY, "a save is already running (%s)", fs->save_path);
		e = EBUSY;
	}
	for (i = 0; !e && i < n; i++) {
		if (cmds[i].kind == PT_CMD_RELOAD)
			e = ptfs_reload(fs, &err);
		else if (cmds[i].kind == PT_CMD_MATERIALIZE || cmds[i].kind == PT_CMD_RELEASE)
			e = ptfs_gpu_command(fs, &cmds[i], &err); /* may drop the lock to copy */
		else if ((cmds[i].kind == PT_CMD_MAP || cmds[i].kind == PT_CMD_RESET) &&
			 pt_rules_apply(fs->rules, &cmds[i], &err) < 0)
			e = err.code == PT_ERR_BUSY ? EBUSY : ENOMEM;
	}
	if (!e && save) {
		fs->saving = true;
		e = start_save(fs, save, &err);
		if (!e)
			opened_by(fs, fi)->save_seq = fs->save_seq; /* its close waits for it */
	}
	set_error(fs, e ? err.msg : NULL); /* a good write clears the last error */
	fs->rules_gen++; /* the manifest's locations may have changed */
	if (!e && wait) {
		while (fs->saving && !w.interrupted)
			pthread_cond_wait(&fs->saved, &fs->lock);
		if (fs->saving) {
			e = EINTR; /* it goes on in the background: a later wait reports it */
		} else {
			/* only a save since the last wait is reported: never an older failure again */
			e = fs->save_done_seq != fs->save_told_seq ? fs->save_errno : 0;
			fs->save_told_seq = fs->save_done_seq;
			if (opened_by(fs, fi)->save_seq == fs->save_done_seq)
				opened_by(fs, fi)->save_seq = 0; /* told here: not again at its close */
			if (e)
				set_error(fs, fs->save_result); /* "failed PATH: why" */
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (wait)
		fuse_req_interrupt_func(req, NULL, NULL); /* w is about to go: no call after this */
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
	else
		fs->rules_gen++;
	pthread_mutex_unlock(&fs->lock);
	if (rc < 0)
		return err.code == PT_ERR_NOMEM ? ENOMEM : err.code == PT_ERR_BUSY ? EBUSY : EINVAL;
	return 0;
}

int ptfs_location_remove(struct ptfs *fs, struct pt_node *n)
{
	struct pt_error err;

	if (n->kind != PT_NODE_TENSOR || !n->u.tensor->storage)
		return ENODATA;
	pthread_mutex_lock(&fs->lock);
	if (pt_rules_override(fs->rules, n->u.tensor->storage, NULL, &err) < 0) {
		set_error(fs, err.msg);
		pthread_mutex_unlock(&fs->lock);
		return err.code == PT_ERR_BUSY ? EBUSY : ENOMEM;
	}
	fs->rules_gen++;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/*
 * The close of a control file (FLUSH): when this open started a save, it
 * returns when that save has ended, with its errno. So `echo 'save X' >
 * .ptfs/control` is done once X is durable (a shell's redirection closes
 * before the next command runs), while the write itself returned at once
 * and held no lock of the kernel's that other writers need. An interrupt
 * (Ctrl-C) ends the wait with EINTR; the save goes on and `wait` reports it.
 */
void ptfs_control_flush(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi)
{
	struct snapshot *want = (struct snapshot *)(uintptr_t)fi->fh, *s;
	struct waiter w = { .fs = fs };
	int e = 0;

	fuse_req_interrupt_func(req, on_interrupt, &w);
	pthread_mutex_lock(&fs->lock);
	for (s = fs->snapshots; s && s != want; s = s->next)
		;
	while (s && s->save_seq && !s->save_ended && !w.interrupted)
		pthread_cond_wait(&fs->saved, &fs->lock);
	if (s && s->save_seq) {
		if (!s->save_ended) {
			e = EINTR;
		} else {
			e = s->save_errno;
			if (s->save_seq == fs->save_done_seq) /* the last save: no wait repeats it */
				fs->save_told_seq = fs->save_done_seq;
			s->save_seq = 0; /* reported once, to the first close */
			if (e)
				set_error(fs, fs->save_result);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_req_interrupt_func(req, NULL, NULL);
	fuse_reply_err(req, e);
}
