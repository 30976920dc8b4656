/*
 * save.c - a remapped checkpoint, written atomically.
 *
 * Order of records as torch 2.1-2.6 writes them (format.md §1.3): data.pkl,
 * byteorder, data/<key>..., version, .data/serialization_id. We do not write
 * .format_version: 2.7's loader would then trust exact offsets computed
 * from its own layout rules, and our record order follows first use, not
 * numeric keys. Storage bytes keep the source's CRC when its directory has
 * one, so they can be copied in the kernel (copy_file_range) without being
 * read here; legacy storages have no CRC and are read once to compute it.
 */
#define _GNU_SOURCE
#include "save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <zlib.h>

#include "retag.h"
#include "safetensors.h"
#include "sdpickle.h"
#include "shards.h"
#include "zipwrite.h"

/* Progress counts storage bytes: the writer's count less the records before them. */
struct progress_ctx {
	struct pt_progress *prog;
	uint64_t base;
};

static void on_progress(void *ctx, uint64_t done)
{
	struct progress_ctx *p = ctx;

	if (p->prog && done >= p->base)
		__atomic_store_n(&p->prog->done, done - p->base, __ATOMIC_RELAXED);
}

/* torch's archive name: the file name without its last extension, or "archive". */
static void archive_name(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path, *dot;
	size_t n, i;

	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	for (i = 0; i < n; i++)
		if ((unsigned char)base[i] >= 0x80 || base[i] < 0x20)
			n = 0;
	if (n == 0 || n >= cap) {
		snprintf(out, cap, "archive");
		return;
	}
	memcpy(out, base, n);
	out[n] = '\0';
}

int pt_write_temp(const char *dir, int dirfd, const char *base, const char *what, char *tmpname,
		  size_t cap, struct pt_error *err)
{
	struct statfs sf;
	int fd;

	if ((size_t)snprintf(tmpname, cap, "%s/.%s.ptfs-XXXXXX", dir, base) >= cap) {
		tmpname[0] = '\0';
		return pt_error_sys(err, ENAMETOOLONG, "%s: %s/%s", what, dir, base);
	}
	fd = mkostemp(tmpname, O_CLOEXEC);
	if (fd >= 0) {
		fchmod(fd, 0644);
		return fd;
	}
	tmpname[0] = '\0';
	if (errno == ENOENT && fstatfs(dirfd, &sf) == 0)
		return pt_error_sys(err, ENOTSUP,
				    "%s: cannot create a file in %s: its filesystem (type 0x%llx) makes no new files",
				    what, dir, (unsigned long long)sf.f_type);
	return pt_error_sys(err, errno, "%s: cannot create a file in %s", what, dir);
}

/*
 * Opens an unnamed file in dir (O_TMPFILE), or else a hidden named one;
 * *tmpname empty for the unnamed one. Errors as pt_write_temp's.
 */
static int open_temp(const char *dir, int dirfd, const char *base, char *tmpname, size_t cap,
		     struct pt_error *err)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);

	tmpname[0] = '\0';
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return pt_error_sys(err, errno, "save: cannot create a file in %s", dir);
	return pt_write_temp(dir, dirfd, base, "save", tmpname, cap, err);
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a folder"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
			     : "a special file";
}

int pt_write_target(const struct pt_checkpoint *ck, const char *path, const char *what,
		    char *out, size_t cap, struct pt_error *err)
{
	const char *an = strchr("aeiou", what[0]) ? "an" : "a";
	char link[PATH_MAX];
	struct stat st;
	int hops;

	if (stat(path, &st) == 0 && st.st_dev == ck->src->dev && st.st_ino == ck->src->ino)
		return pt_error_set(err, PT_ERR_INVAL,
				    "%s: %s is the mounted checkpoint; choose another path", what, path);
	if (strlen(path) >= cap)
		return pt_error_set(err, PT_ERR_INVAL, "%s: '%s' is too long", what, path);
	strcpy(out, path);
	for (hops = 0;; hops++) {
		ssize_t n;

		if (lstat(out, &st) < 0) {
			if (errno == ENOENT)
				return 0; /* a new file; its folder is checked when it is opened */
			return pt_error_sys(err, errno, "%s: %s", what, out);
		}
		if (!S_ISLNK(st.st_mode))
			break;
		if (hops == 40)
			return pt_error_sys(err, ELOOP, "%s: %s", what, path);
		n = readlink(out, link, sizeof(link) - 1);
		if (n < 0)
			return pt_error_sys(err, errno, "%s: %s", what, out);
		link[n] = '\0';
		if (link[0] == '/') {
			if ((size_t)n >= cap)
				return pt_error_sys(err, ENAMETOOLONG, "%s: %s", what, path);
			strcpy(out, link);
		} else {
			char *slash = strrchr(out, '/');
			size_t keep = (size_t)(slash - out) + 1;

			if (keep + (size_t)n >= cap)
				return pt_error_sys(err, ENAMETOOLONG, "%s: %s", what, path);
			memcpy(out + keep, link, (size_t)n + 1);
		}
	}
	if (S_ISREG(st.st_mode))
		return 0;
	if (strcmp(out, path) == 0)
		return pt_error_sys(err, S_ISDIR(st.st_mode) ? EISDIR : EEXIST,
				    "%s: %s is %s; %s %s replaces only a regular file", what, path,
				    file_kind(st.st_mode), an, what);
	return pt_error_sys(err, S_ISDIR(st.st_mode) ? EISDIR : EEXIST,
			    "%s: %s links to %s, %s; %s %s replaces only a regular file", what, path,
			    out, file_kind(st.st_mode), an, what);
}

/* Gives the finished temporary file its name: link (O_TMPFILE) or rename. */
static int publish(int fd, int dirfd, const char *dir, const char *path, char *tmpname,
		   size_t cap, struct pt_error *err)
{
	char proc[64];

	if (!tmpname[0]) {
		unsigned i;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		for (i = 0;; i++) {
			snprintf(tmpname, cap, "%s/.ptfs-save-%d-%u", dir, (int)getpid(), i);
			if (linkat(AT_FDCWD, proc, AT_FDCWD, tmpname, AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST || i > 100) {
				tmpname[0] = '\0';
				return pt_error_sys(err, errno, "save: %s: link", path);
			}
		}
	}
	if (rename(tmpname, path) < 0)
		return pt_error_sys(err, errno, "save: %s", path);
	tmpname[0] = '\0';
	if (fsync(dirfd) < 0)
		return pt_error_sys(err, errno, "save: %s: fsync of its folder", dir);
	return 0;
}

static int write_records(struct pt_checkpoint *ck, int fd, const char *prefix,
			 const unsigned char *pk, size_t pklen, const struct pt_save_opts *o,
			 struct pt_progress *prog, struct pt_error *err)
{
	struct pt_zipw_opts zo = { .alignment = 64, .zip64_above = o ? o->zip64_above : 0 };
	struct pt_torch *t = &ck->torch;
	struct progress_ctx pc = { .prog = prog, .base = pklen + (ck->c->big_endian ? 3 : 6) };
	uint64_t names = 1469598103934665603ULL, crcs = 0;
	char name[300], sid[41];
	struct pt_zipw *w;
	size_t i;
	int ret = -1;

	w = pt_zipw_open(fd, prefix, &zo, err);
	if (!w)
		return -1;
	if (pt_zipw_add_mem(w, "data.pkl", pk, pklen, err) < 0 ||
	    pt_zipw_add_mem(w, "byteorder", ck->c->big_endian ? "big" : "little",
			    ck->c->big_endian ? 3 : 6, err) < 0)
		goto out_free;
	for (i = 0; i < t->nstorages; i++) {
		struct pt_storage *s = t->storages[i];
		const struct pt_record *r = s->rec;
		bool known = r && r->crc_known;
		uint64_t off;
		int sfd;

		if (pt_container_locate(ck->c, s, err) < 0)
			goto out_free;
		sfd = ck->src->fd;
		off = s->data_offset;
		if (pt_shards_owns(ck->src)) { /* the shard's own descriptor */
			sfd = pt_shards_fd(ck->src, s->data_offset, s->nbytes, &off, err);
			if (sfd < 0)
				goto out_free;
		}
		snprintf(name, sizeof(name), "data/%s", s->key);
		if (pt_zipw_add_fd(w, name, sfd, off, s->nbytes, known,
				   known ? r->crc : 0, on_progress, &pc, err) < 0)
			goto out_free;
		names = (names ^ (uint64_t)i) * 1099511628211ULL;
		crcs = crcs * 31 + (known ? r->crc : s->nbytes);
	}
	/* like torch's: 20 digits from the names, 20 from the data; never verified */
	snprintf(sid, sizeof(sid), "%020llu%020llu", (unsigned long long)names,
		 (unsigned long long)crcs);
	if (pt_zipw_add_mem(w, "version", "3\n", 2, err) < 0 ||
	    pt_zipw_add_mem(w, ".data/serialization_id", sid, 40, err) < 0 ||
	    pt_zipw_finish(w, err) < 0)
		goto out_free;
	ret = 0;
out_free:
	pt_zipw_free(w);
	return ret;
}

struct pt_save_job {
	struct pt_checkpoint *ck;
	struct pt_save_opts opts;
	char path[4096], dir[4096], tmpname[4200], prefix[256];
	unsigned char *pk;
	size_t pklen;
	int fd, dirfd;
};

struct pt_save_job *pt_save_begin(struct pt_checkpoint *ck, const char *path,
				  const char *const *locs, const struct pt_save_opts *opts,
				  struct pt_progress *prog, struct pt_error *err)
{
	const char *slash = strrchr(path, '/');
	struct pt_save_job *job;
	char target[sizeof(job->path)];
	size_t i;

	if (path[0] != '/')
		return pt_error_set(err, PT_ERR_INVAL, "save needs an absolute path, got '%s'", path),
		       NULL;
	if (ck->c->torchscript)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "save: TorchScript archives cannot be saved (torch.jit.save owns their layout)"),
		       NULL;
	if (strlen(path) >= sizeof(job->path) || !slash[1])
		return pt_error_set(err, PT_ERR_INVAL, "save: '%s' names no file", path), NULL;
	if (pt_write_target(ck, path, "save", target, sizeof(target), err) < 0)
		return NULL;
	path = target;
	slash = strrchr(path, '/');
	job = calloc(1, sizeof(*job));
	if (!job)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	job->ck = ck;
	job->fd = job->dirfd = -1;
	if (opts)
		job->opts = *opts;
	strcpy(job->path, path);
	memcpy(job->dir, path, (size_t)(slash - path));
	job->dir[slash == path ? 1 : slash - path] = '\0';
	if (prog) {
		uint64_t total = 0;

		for (i = 0; i < ck->torch.nstorages; i++)
			total += ck->torch.storages[i]->nbytes;
		pt_progress_start(prog, total);
	}
	if (ck->c->format == PT_FORMAT_SAFETENSORS || ck->c->format == PT_FORMAT_SHARDED) {
		/* no pickle to retag: write the one torch.save would (sdpickle.h) */
		const struct pt_sdpickle_item *items = pt_st_items(ck->c, &i);

		if (pt_sdpickle_make(items, i, locs, &job->pk, &job->pklen, err) < 0)
			goto out_free;
	} else if (pt_retag(ck->c->pickle, ck->c->pickle_len, &ck->torch, locs,
			    ck->c->format == PT_FORMAT_LEGACY, &job->pk, &job->pklen, err) < 0) {
		goto out_free;
	}
	job->dirfd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (job->dirfd < 0) {
		pt_error_sys(err, errno, "save: %s", job->dir);
		goto out_free;
	}
	archive_name(path, job->prefix, sizeof(job->prefix));
	job->fd = open_temp(job->dir, job->dirfd, slash + 1, job->tmpname, sizeof(job->tmpname), err);
	if (job->fd < 0)
		goto out_free;
	return job;

out_free:
	pt_save_free(job);
	return NULL;
}

int pt_save_run(struct pt_save_job *job, struct pt_progress *prog, struct pt_error *err)
{
	if (write_records(job->ck, job->fd, job->prefix, job->pk, job->pklen, &job->opts, prog,
			  err) < 0)
		return -1;
	if (fsync(job->fd) < 0)
		return pt_error_sys(err, errno, "save: %s: fsync", job->path);
	return publish(job->fd, job->dirfd, job->dir, job->path, job->tmpname,
		       sizeof(job->tmpname), err);
}

void pt_save_free(struct pt_save_job *job)
{
	if (!job)
		return;
	if (job->tmpname[0])
		unlink(job->tmpname); /* a named temporary that was never published */
	if (job->fd >= 0)
		close(job->fd); /* an unnamed one vanishes with its descriptor */
	if (job->dirfd >= 0)
		close(job->dirfd);
	free(job->pk);
	free(job);
}

int pt_checkpoint_save(struct pt_checkpoint *ck, const char *path, const char *const *locs,
		       const struct pt_save_opts *opts, struct pt_progress *prog,
		       struct pt_error *err)
{
	struct pt_save_job *job = pt_save_begin(ck, path, locs, opts, prog, err);
	int ret;

	if (!job)
		return -1;
	ret = pt_save_run(job, prog, err);
	pt_save_free(job);
	return ret;
}
