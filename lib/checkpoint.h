/*
 * checkpoint.h - one opened checkpoint: source, container, values, tree.
 *
 * Opening runs only the pickle: storage data is never read until a tensor
 * is, so a 100 GB checkpoint opens in the time its pickle takes. After
 * open everything is read-only and safe to share between threads.
 */
#ifndef PT_CHECKPOINT_H
#define PT_CHECKPOINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "error.h"
#include "pickle.h"
#include "source.h"
#include "torch.h"
#include "tree.h"
#include "value.h"

struct pt_open_opts {
	enum pt_str_encoding encoding; /* for Python 2 strings; default UTF-8 */
	uint64_t ino_base;             /* see struct pt_tree_limits; 0 for a first mount */
};

/*
 * The pickle's values are scratch: once the tree is built (it copies what
 * it shows) their arena is released, which at 100,000 tensors is about
 * two thirds of what an open checkpoint would otherwise hold. Storages
 * and tensors live on in keep.
 */
struct pt_checkpoint {
	struct pt_source *src;
	struct pt_container *c;
	struct pt_arena keep; /* storages, tensors, location sites */
	struct pt_torch torch;
	struct pt_tree *tree;
	/* the SHA256SUMS listing (digest.h): made by its first user, under that user's lock */
	struct pt_sums *sums;
	/* TorchScript code/ members read so far (code.h), under code_lock */
	struct pt_code_cache *code;
	pthread_mutex_t code_lock;
};

/* Default options: UTF-8. */
void pt_open_opts_default(struct pt_open_opts *o);

/*
 * Opens the checkpoint at path: sniffs the container, runs the main pickle
 * with the torch hooks, binds every storage to its bytes and builds the
 * tree. Returns NULL with err filled and prefixed by the path
 * ("model.pt: data.pkl: offset 7: ...") on any failure; nothing is left
 * open then. The caller frees the result with pt_checkpoint_close().
 */
struct pt_checkpoint *pt_checkpoint_open(const char *path, const struct pt_open_opts *o,
					 struct pt_error *err);

/* Frees ck. ck may be NULL. */
void pt_checkpoint_close(struct pt_checkpoint *ck);

/*
 * Copies up to size bytes of the tensor's content (its elements in row-major
 * order, little-endian) starting at byte off into buf. Views are gathered
 * by view.c in chunks of at most the request's size (8 MiB at most), never
 * the whole storage; memory is freed before return. Returns the bytes
 * copied (0 at or past the end), or -1 with err (PT_ERR_IO, PT_ERR_STALE).
 * Thread-safe.
 */
int64_t pt_tensor_read(const struct pt_checkpoint *ck, const struct pt_tensor *t, void *buf,
		       size_t size, uint64_t off, struct pt_error *err);

struct pt_view;

/*
 * Like pt_view_get (view.h) for t's content byte off, through the caller's
 * reader v, which keeps the gathered chunk for the next call: locates the
 * storage and swaps a big-endian file's elements. Returns a pointer into
 * v valid until the next call on v, with *len bytes from off; NULL with
 * err (PT_ERR_IO for a tensor without data or off past its end, PT_ERR_FORMAT
 * for a bad local header, PT_ERR_NOMEM). Thread-safe for distinct v.
 */
const unsigned char *pt_tensor_gather(const struct pt_checkpoint *ck, const struct pt_tensor *t,
				      struct pt_view *v, uint64_t off, size_t *len,
				      struct pt_error *err);

/*
 * For a tensor whose content is one little-endian run in the source: sets
 * *src_off to the source offset of content byte off and returns 1; the
 * daemon then splices from the source's descriptor. 0 when the content must
 * be gathered (pt_tensor_read); -1 with err when the storage's record
 * cannot be located (a bad local header).
 */
int pt_tensor_span(const struct pt_checkpoint *ck, const struct pt_tensor *t, uint64_t off,
		   uint64_t *src_off, struct pt_error *err);

/* The tensor's effective location: its storage's override, else the saved tag. */
const char *pt_tensor_location(const struct pt_tensor *t);

#endif
