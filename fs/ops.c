/*
 * ops.c - the FUSE low-level operations over the checkpoint tree.
 *
 * Every handler replies exactly once. The tree is immutable, so entries and
 * attributes are cached by the kernel for fs->timeout seconds and file pages
 * are kept between opens (keep_cache). Inode numbers are the tree's own
 * (the root is 1) and lookups need no reference counts: forget is a no-op.
 * Contiguous tensors are spliced straight from the checkpoint's descriptor;
 * views are gathered by the library into a few cached chunks (views.c).
 */
#include "ptfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_COOKIE_BASE 16 /* readdir offsets above this are an inode number + base */

static struct ptfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

int ptfs_errno(const struct pt_error *err)
{
	switch (err->code) {
	case PT_OK: return 0;
	case PT_ERR_NOMEM: return ENOMEM;
	case PT_ERR_IO: return err->sys_errno ? err->sys_errno : EIO;
	case PT_ERR_INVAL: return EINVAL;
	case PT_ERR_NOTFOUND: return ENOENT;
	case PT_ERR_BUSY: return EBUSY;
	case PT_ERR_UNSUPPORTED: return ENOTSUP;
	case PT_ERR_RANGE: return ERANGE;
	case PT_ERR_NODEV: return ENODEV;
	default: return EIO;
	}
}

static void fill_attr(struct ptfs *fs, const struct pt_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mtime;
	st->st_size = (off_t)pt_node_size(n);
	st->st_blksize = 128 * 1024;
	st->st_blocks = (blkcnt_t)((pt_node_size(n) + 511) / 512);
	switch (n->kind) {
	case PT_NODE_DIR:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		/*
		 * glibc sizes readdir's getdents buffer from this (32 KiB at
		 * least), and the kernel's first READDIRPLUS of a directory
		 * fills that buffer: 128 KiB made ~820 inodes for a plain
		 * `ls` of a 2,000-folder root (3.6 ms of kernel time), 4 KiB
		 * makes ~200 and the rest comes as plain READDIR.
		 */
		st->st_blksize = 4096;
		break;
	case PT_NODE_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		break;
	case PT_NODE_SPECIAL:
		st->st_mode = S_IFREG | (n->u.special == PTFS_CONTROL ? 0644 : 0444);
		st->st_nlink = 1;
		/* what a read gives now, so tar and rsync copy it whole (files.c) */
		st->st_size = (off_t)ptfs_special_size(fs, n);
		st->st_blocks = (blkcnt_t)(((uint64_t)st->st_size + 511) / 512);
		break;
	default:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		break;
	}
}

static void fill_entry(struct ptfs *fs, const struct pt_node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->generation = 1;
	/* the control file's content changes: never cache its attributes */
	e->attr_timeout = n->kind == PT_NODE_SPECIAL ? 0 : fs->timeout;
	e->entry_timeout = fs->timeout;
	fill_attr(fs, n, &e->attr);
}

/*
 * The node of ino and the checkpoint it belongs to: the one served, or one
 * that a reload replaced, whose files may still be open (they are read
 * from the file they came from, or fail with EIO: see stale()).
 */
static struct pt_node *node_ck(struct ptfs *fs, fuse_ino_t ino, struct pt_checkpoint **ckp)
{
	struct pt_checkpoint *ck = ptfs_ck(fs);
	struct pt_node *n = pt_tree_node(ck->tree, ino);

	if (!n) {
		pthread_mutex_lock(&fs->lock);
		for (size_t i = fs->nretired; !n && i-- > 0;) {
			ck = fs->retired_ck[i];
			n = pt_tree_node(ck->tree, ino);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	*ckp = ck;
	return n;
}

static struct pt_node *node_of(struct ptfs *fs, fuse_ino_t ino)
{
	struct pt_checkpoint *ck;

	return node_ck(fs, ino, &ck);
}

/*
 * The mount has no default_permissions (the kernel would answer EACCES for
 * a write to a 0444 file before asking, where a read-only filesystem says
 * EROFS), so ptfs checks the few changes it allows itself: the control file
 * and user.pt.location are changed only by the mounting user and root, as
 * their 0644 and 0444 modes owned by that user say.
 */
static bool may_change(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);

	return c->uid == 0 || c->uid == fs_of(req)->uid;
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct pt_node *n = node_of(fs_of(req), ino);
	bool control = n && n->kind == PT_NODE_SPECIAL && n->u.special == PTFS_CONTROL;

	if (!n)
		fuse_reply_err(req, ENOENT);
	else if ((mask & W_OK) && !control)
		fuse_reply_err(req, EROFS);
	else if ((mask & W_OK) && !may_change(req))
		fuse_reply_err(req, EACCES);
	else if ((mask & X_OK) && n->kind != PT_NODE_DIR)
		fuse_reply_err(req, EACCES);
	else
		fuse_reply_err(req, 0);
}

/*
 * torch.save over the mounted path truncates and rewrites the same inode:
 * our descriptor then sees other bytes. Once the file's size, mtime or
 * inode differ from what was mounted, tensor reads fail with EIO rather
 * than serve torn bytes (a file deleted or renamed over keeps its inode and
 * stays readable). One fstat per request; the answer sticks.
 */
static bool stale(struct ptfs *fs, struct pt_checkpoint *ck)
{
	struct pt_error err;

	if (ck != ptfs_ck(fs)) /* replaced by a reload: its own file decides, each time */
		return pt_source_check(ck->src, &err) != 0;
	if (__atomic_load_n(&fs->stale, __ATOMIC_RELAXED))
		return true;
	if (pt_source_check(ptfs_ck(fs)->src, &err) == 0)
		return false;
	__atomic_store_n(&fs->stale, true, __ATOMIC_RELAXED);
	return true;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ptfs *fs = userdata;

	fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	conn->max_readahead = 1024 * 1024;
	/*
	 * Where the kernel splits a write(2): at max_write, and at 32 pages
	 * before protocol 7.28, which lacks max_pages (control.c refuses a
	 * write that may have been split). libfuse lowers max_write to its
	 * buffer (1 MiB of pages) only after init, so it is fixed here; it
	 * also sets max_pages, the largest read, from it.
	 */
	if (conn->max_write > 1024 * 1024)
		conn->max_write = 1024 * 1024;
	fs->max_write = conn->max_write;
	if (conn->proto_minor < 28 && fs->max_write > 32 * 4096)
		fs->max_write = 32 * 4096;
	/* the pages of the writer's buffer are what is counted: its first page may be partial */
	fs->max_write -= (size_t)getpagesize();
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ptfs *fs = fs_of(req);
	struct pt_checkpoint *ck = ptfs_ck(fs); /* one for the request: a reload may replace it */
	struct pt_node *dir = pt_tree_node(ck->tree, parent), *n;
	struct fuse_entry_param e;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (dir->kind != PT_NODE_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	n = pt_tree_lookup(ck->tree, dir, name);
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_entry(fs, n, &e);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);
	struct stat st;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(fs, n, &st);
	fuse_reply_attr(req, &st, n->kind == PT_NODE_SPECIAL ? 0 : fs->timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct pt_node *n = node_of(fs_of(req), ino);

	if (!n || n->kind != PT_NODE_LINK) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_readlink(req, n->u.data.p);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind != PT_NODE_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	/*
	 * Directories need no per-open state. Where the kernel allows it,
	 * ENOSYS tells it to stop sending OPENDIR and RELEASEDIR at all (two
	 * of the three round trips a warm `find` makes per directory) and to
	 * cache every listing, as cache_readdir asks for here.
	 */
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fi->noflush = 1; /* no FLUSH round trip at each close */
	fuse_reply_open(req, fi);
}

/*
 * Offsets: 0 starts with ".", 1 with "..", and DIR_COOKIE_BASE + ino resumes
 * at the child with that inode, so a resumed listing costs O(1) however
 * large the directory.
 */
static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *dir = node_of(fs, ino), *c;
	char *buf;
	size_t len = 0;

	if (!dir || dir->kind != PT_NODE_DIR) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off < 2) {
		const char *dots[2] = { ".", ".." };
		struct pt_node *who[2] = { dir, dir->parent };
		int i;

		for (i = (int)off; i < 2; i++) {
			struct fuse_entry_param e;
			size_t l;
			off_t next = i == 0 ? 1 : (dir->u.dir.first ? (off_t)(DIR_COOKIE_BASE + dir->u.dir.first->ino) : 2);

			fill_entry(fs, who[i], &e);
			if (plus)
				l = fuse_add_direntry_plus(req, buf + len, size - len, dots[i], &e, next);
			else
				l = fuse_add_direntry(req, buf + len, size - len, dots[i], &e.attr, next);
			if (l > size - len)
				goto out_reply;
			len += l;
		}
		c = dir->u.dir.first;
	} else if ((uint64_t)off >= DIR_COOKIE_BASE) {
		c = node_of(fs, (fuse_ino_t)((uint64_t)off - DIR_COOKIE_BASE));
		if (!c || c->parent != dir || c == dir) {
			free(buf);
			fuse_reply_err(req, EINVAL);
			return;
		}
	} else {
		c = NULL; /* the end */
	}
	for (; c; c = c->next) {
		struct fuse_entry_param e;
		off_t next = c->next ? (off_t)(DIR_COOKIE_BASE + c->next->ino) : 2;
		size_t l;

		if (c->kind == PT_NODE_SPECIAL && (c->u.special & PTFS_HIDDEN))
			continue; /* found by name only (files.c) */
		fill_entry(fs, c, &e);
		if (plus)
			l = fuse_add_direntry_plus(req, buf + len, size - len, c->name, &e, next);
		else
			l = fuse_add_direntry(req, buf + len, size - len, c->name, &e.attr, next);
		if (l > size - len)
			break;
		len += l;
	}
out_reply:
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, true);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_checkpoint *ck;
	struct pt_node *n = node_ck(fs_of(req), ino, &ck);

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind == PT_NODE_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (n->kind == PT_NODE_SPECIAL) {
		if ((fi->flags & O_ACCMODE) != O_RDONLY && n->u.special == PTFS_CONTROL &&
		    !may_change(req)) {
			fuse_reply_err(req, EACCES);
			return;
		}
		fi->fh = (uint64_t)n->u.special; /* tells control_open which file */
		ptfs_control_open(req, fs_of(req), fi);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (n->kind == PT_NODE_TENSOR && stale(fs_of(req), ck)) {
		fuse_reply_err(req, EIO);
		return;
	}
	fi->keep_cache = 1;
	fi->noflush = 1; /* no FLUSH round trip at each close */
	fuse_reply_open(req, fi);
}

/* A TorchScript code/ member (code.h): inflated at its first read, then from memory. */
static void read_record(fuse_req_t req, struct pt_checkpoint *ck, const struct pt_node *n,
			size_t size, uint64_t off)
{
	struct pt_error err;
	char *buf = malloc(size ? size : 1);
	int64_t got;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pt_error_clear(&err);
	got = pt_code_read(ck, n, buf, size, off, &err);
	if (got < 0) {
		fprintf(stderr, "ptfs: .ptfs/code/%s: %s\n", n->name, err.msg);
		fuse_reply_err(req, ptfs_errno(&err));
	} else {
		fuse_reply_buf(req, buf, (size_t)got);
	}
	free(buf);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct ptfs *fs = fs_of(req);
	struct pt_checkpoint *ck; /* the node's own: a reload may replace fs->ck */
	struct pt_node *n = node_ck(fs, ino, &ck);
	struct pt_error err;
	uint64_t total, src;
	int span;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	total = pt_node_size(n);
	if (n->kind == PT_NODE_SPECIAL) {
		ptfs_control_read(req, fs, size, off, fi);
		return;
	}
	if ((uint64_t)off >= total) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > total - (uint64_t)off)
		size = (size_t)(total - (uint64_t)off);
	if (n->kind == PT_NODE_DATA) {
		fuse_reply_buf(req, n->u.data.p + off, size);
		return;
	}
	if (n->kind == PT_NODE_RECORD) {
		read_record(req, ck, n, size, (uint64_t)off);
		return;
	}
	if (n->kind != PT_NODE_TENSOR) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (stale(fs, ck)) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (ptfs_gpu_read(req, fs, n->u.tensor, size, (uint64_t)off))
		return; /* resident: served from device memory */
	pt_error_clear(&err);
	span = ck->src->fd >= 0 ? pt_tensor_span(ck, n->u.tensor, (uint64_t)off, &src, &err) : 0;
	if (span < 0) {
		fuse_reply_err(req, ptfs_errno(&err));
		return;
	}
	if (span > 0) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = ck->src->fd;
		bv.buf[0].pos = (off_t)src;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	ptfs_views_read(req, fs, ck, n->u.tensor, size, (uint64_t)off);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);
	char *val = NULL;
	ssize_t len;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	len = ptfs_xattr_get(fs, n, name, &val);
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, (size_t)len);
	free(val);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);
	char *val = NULL;
	ssize_t len;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	len = ptfs_xattr_list(fs, n, &val);
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, (size_t)len);
	free(val);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);

	(void)flags;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* only the location is writable, and only on tensors */
	if (strcmp(name, "user.pt.location") != 0) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fuse_reply_err(req, ptfs_location_set(fs, n, value, size));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (strcmp(name, "user.pt.location") != 0) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!may_change(req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fuse_reply_err(req, ptfs_location_remove(fs, n));
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);

	(void)off;
	if (!n || n->kind != PT_NODE_SPECIAL || n->u.special != PTFS_CONTROL) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ptfs_control_write(req, fs, fi, buf, size);
}

/* Only the control files ask for FLUSH (every other open sets noflush): a save's close waits. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_node *n = node_of(fs_of(req), ino);

	if (n && n->kind == PT_NODE_SPECIAL && n->u.special == PTFS_CONTROL && fi->fh) {
		ptfs_control_flush(req, fs_of(req), fi);
		return;
	}
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	/* only the control files set fh (their snapshot), even if a reload replaced them */
	if (fi->fh) {
		ptfs_control_release(req, fs_of(req), fi);
		return;
	}
	fuse_reply_err(req, 0);
}

/*
 * The tree is read-only: every change is refused with EROFS, as a read-only
 * filesystem refuses it (before any permission check, for root too).
 */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct ptfs *fs = fs_of(req);
	struct pt_node *n = node_of(fs, ino);
	struct stat st;

	(void)attr, (void)fi;
	/* `echo ... > control` truncates first: allowed, and a no-op */
	if (n && n->kind == PT_NODE_SPECIAL && n->u.special == PTFS_CONTROL && !(to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME |
							    FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME))) {
		fill_attr(fs, n, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	fuse_reply_err(req, EROFS);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ptfs *fs = fs_of(req);
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (ptfs_ck(fs)->src->size + 4095) / 4096;
	sv.f_files = ptfs_ck(fs)->tree->nnodes;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino, (void)nlookup;
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count, (void)forgets;
	fuse_reply_none(req);
}

const struct fuse_lowlevel_ops ptfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.open = op_open,
	.read = op_read,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.statfs = op_statfs,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.access = op_access,
	.create = op_create,
	.setattr = op_setattr,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
};
