/*
 * digest.h - SHA-256 of what the tree's files hold, and the SHA256SUMS
 * listing of a whole checkpoint.
 *
 * A file's hash is that of its content as the mount serves it (a tensor's
 * t.contiguous() bytes, a value's text), so `sha256sum FILE` on the mount
 * and Python's hashlib over the same bytes agree. Nothing is hashed until
 * asked for: the listing knows every line's length (64 hex digits, two
 * spaces, the path) without hashing, so its size is known at once and a
 * read hashes only the files whose lines it covers. Hashes are cached for
 * the listing's life. OpenSSL's libcrypto computes them.
 */
#ifndef PT_DIGEST_H
#define PT_DIGEST_H

#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "tree.h"

struct pt_checkpoint;

/*
 * The SHA-256 of node n's content into out: a tensor's bytes (read in 1 MiB
 * pieces through pt_tensor_read), or a data file's bytes. Returns 0, or -1
 * with err (PT_ERR_INVAL for a node that is no regular file; a read error).
 */
int pt_node_sha256(const struct pt_checkpoint *ck, const struct pt_node *n,
		   unsigned char out[32], struct pt_error *err);

/* The listing: every regular file of the tree (tensors and values), in tree order. */
struct pt_sums {
	const struct pt_checkpoint *ck;
	const struct pt_node **nodes; /* n of them */
	uint64_t *off;                /* line starts; off[n] is the size */
	int64_t *pos;                 /* by node index (pt_sums_index): line, or -1 */
	size_t n, nindex;
	unsigned char (*sum)[32];
	unsigned char *have; /* sum[i] is known */
	pthread_mutex_t lock;
};

/*
 * Makes ck's listing (nothing hashed yet). Lines are sha256sum's format,
 * paths relative to the tree's root; a path holding a backslash or newline
 * has it escaped and the line starts with a backslash, as sha256sum writes
 * and `sha256sum -c` reads. The `.ptfs` folder and symbolic links are left
 * out. Returns the listing, or NULL with err (PT_ERR_NOMEM). ck must outlive
 * it; free it with pt_sums_free().
 */
struct pt_sums *pt_sums_new(const struct pt_checkpoint *ck, struct pt_error *err);

/* The listing's size in bytes: known without hashing. */
uint64_t pt_sums_size(const struct pt_sums *s);

/*
 * Copies up to size bytes of the listing from byte off into buf, hashing the
 * files whose lines they cover that are not hashed yet. Returns the bytes
 * copied (0 at the end), or -1 with err. Thread-safe.
 */
int64_t pt_sums_read(struct pt_sums *s, void *buf, size_t size, uint64_t off,
		     struct pt_error *err);

/*
 * The hash of node n, cached in the listing (n must be one of its files;
 * PT_ERR_INVAL otherwise). Returns 0 or -1 with err. Thread-safe.
 */
int pt_sums_get(struct pt_sums *s, const struct pt_node *n, unsigned char out[32],
		struct pt_error *err);

/* Frees s; s may be NULL. */
void pt_sums_free(struct pt_sums *s);

#endif
