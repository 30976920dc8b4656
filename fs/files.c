/*
 * files.c - the read-only files of `.ptfs/`: globals, manifest and
 * SHA256SUMS, their content and their sizes.
 *
 * What `diff -r` of two mounts reads here depends only on the checkpoint's
 * objects (docs/tree.md, ".ptfs/"): the globals report names zip members
 * below the archive's folder, whose name is the saved file's; the manifest
 * has no storage keys. Each file reports its real size in stat, so tar and
 * rsync copy it whole. SHA256SUMS is not listed in its folder: `diff -r`,
 * `find` and `tar` never read it, so a 100 GB checkpoint is hashed only
 * when somebody names that file (`sha256sum -c .ptfs/SHA256SUMS`).
 */
#define _GNU_SOURCE
#include "ptfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "manifest.h"

int ptfs_globals(struct ptfs *fs)
{
	struct pt_error err;
	struct pt_scan *s;
	char path[64];
	int e = 0;

	pthread_mutex_lock(&fs->lock);
	if (fs->globals)
		goto out_unlock;
	if (ptfs_ck(fs)->c->format == PT_FORMAT_SAFETENSORS ||
	    ptfs_ck(fs)->c->format == PT_FORMAT_SHARDED) { /* docs/safetensors.md */
		fs->globals = strdup(ptfs_ck(fs)->c->format == PT_FORMAT_SAFETENSORS
					     ? "note: safetensors: no pickle, nothing is imported or called\nverdict: allowed\n"
					     : "note: a sharded set: .bin shards' pickles are not reported here; scan each with ptfs --scan\nverdict: unknown\n");
		goto out_len;
	}
	/* the daemon's cwd is / and the file may be gone: use the open descriptor */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ptfs_ck(fs)->src->fd);
	pt_error_clear(&err);
	s = pt_scan_file(path, &err);
	if (!s) {
		if (asprintf(&fs->globals, "note: %s\nverdict: unknown\n", err.msg) < 0)
			fs->globals = NULL;
	} else {
		pt_scan_relative(s);
		if (pt_scan_report(s, "", &fs->globals, &fs->globals_len) < 0)
			fs->globals = NULL;
	}
	pt_scan_free(s);
out_len:
	if (!fs->globals)
		e = ENOMEM;
	else
		fs->globals_len = strlen(fs->globals);
out_unlock:
	pthread_mutex_unlock(&fs->lock);
	return e;
}

/* The manifest for the rules as they are, remade only after they change. Under fs->lock. */
static int manifest_locked(struct ptfs *fs)
{
	struct pt_checkpoint *ck = ptfs_ck(fs);
	struct pt_error err;
	char *text;
	size_t len;

	if (fs->manifest && fs->manifest_gen == fs->rules_gen && fs->manifest_ck == ck)
		return 0;
	text = pt_manifest_text(ck, &len, &err);
	if (!text)
		return ENOMEM;
	free(fs->manifest);
	fs->manifest = text;
	fs->manifest_len = len;
	fs->manifest_gen = fs->rules_gen;
	fs->manifest_ck = ck;
	return 0;
}

char *ptfs_manifest(struct ptfs *fs, size_t *len)
{
	char *copy = NULL;

	pthread_mutex_lock(&fs->lock);
	if (manifest_locked(fs) == 0 && (copy = malloc(fs->manifest_len + 1))) {
		memcpy(copy, fs->manifest, fs->manifest_len + 1);
		*len = fs->manifest_len;
	}
	pthread_mutex_unlock(&fs->lock);
	return copy;
}

struct pt_sums *ptfs_sums(struct ptfs *fs, struct pt_checkpoint *ck)
{
	struct pt_error err;

	pthread_mutex_lock(&fs->lock);
	if (!ck->sums)
		ck->sums = pt_sums_new(ck, &err);
	pthread_mutex_unlock(&fs->lock);
	return ck->sums;
}

uint64_t ptfs_special_size(struct ptfs *fs, const struct pt_node *n)
{
	struct pt_sums *sums;
	uint64_t size = 0;

	switch (n->u.special) {
	case PTFS_CONTROL:
		return ptfs_control_size(fs);
	case PTFS_GLOBALS:
		return ptfs_globals(fs) == 0 ? fs->globals_len : 0;
	case PTFS_MANIFEST:
		pthread_mutex_lock(&fs->lock);
		if (manifest_locked(fs) == 0)
			size = fs->manifest_len;
		pthread_mutex_unlock(&fs->lock);
		return size;
	case PTFS_SUMS:
		sums = ptfs_sums(fs, ptfs_ck(fs));
		return sums ? pt_sums_size(sums) : 0;
	default:
		return 0;
	}
}

int ptfs_add_specials(struct ptfs *fs, struct pt_checkpoint *ck, struct pt_error *err)
{
	struct pt_node *dir = pt_tree_ctl_dir(ck->tree);

	fs->control = pt_tree_add_special(ck->tree, dir, "control", PTFS_CONTROL, err);
	if (!fs->control || !pt_tree_add_special(ck->tree, dir, "globals", PTFS_GLOBALS, err) ||
	    !pt_tree_add_special(ck->tree, dir, "manifest", PTFS_MANIFEST, err) ||
	    !pt_tree_add_special(ck->tree, dir, "SHA256SUMS", PTFS_SUMS, err))
		return -1;
	return 0;
}
