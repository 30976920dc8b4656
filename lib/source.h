/*
 * source.h - where checkpoint bytes come from.
 *
 * Every byte the library reads goes through a struct pt_source, so that a
 * remote source (HTTP range requests) can later stand in for the local file
 * without touching the readers. A source is immutable after open and its
 * pread is safe to call from many threads at once. A local file also exposes
 * its descriptor so the daemon can splice storage bytes without copying them,
 * and can map a span of itself read-only (pt_source_map): the view reader
 * gathers thousands of small pieces from the mapping rather than pread each.
 * A source without that capability leaves map NULL and is read by pread.
 */
#ifndef PT_SOURCE_H
#define PT_SOURCE_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct pt_source;

/* A span mapped by pt_source_map: the source's own bookkeeping. */
struct pt_source_map {
	void *base;
	size_t len;
};

struct pt_source_ops {
	/* Like pread(2): bytes read, 0 at end, -1 with errno set. */
	ssize_t (*pread)(struct pt_source *s, void *buf, size_t n, uint64_t off);
	/* Frees the source and everything it holds. */
	void (*close)(struct pt_source *s);
	/*
	 * Optional (NULL: cannot map). Maps bytes [off, off + n) read-only,
	 * fills *m for unmap and returns the address of byte off, or NULL with
	 * errno set. Reading the mapping raises SIGBUS where the bytes behind it
	 * are gone (the file shrunk).
	 */
	const unsigned char *(*map)(struct pt_source *s, uint64_t off, size_t n,
				    struct pt_source_map *m);
	void (*unmap)(struct pt_source *s, struct pt_source_map *m);
};

struct pt_source {
	const struct pt_source_ops *ops;
	char *name;    /* for messages: the path as given */
	uint64_t size; /* bytes in the source at open */
	int fd;        /* a readable descriptor of the bytes, or -1 */
	/* identity at open, to notice a file rewritten under the mount */
	uint64_t dev, ino;
	int64_t mtime_ns;
};

/*
 * Opens a local file read-only (O_CLOEXEC). Returns NULL and fills err when it
 * cannot be opened or is not a regular file. The caller frees the result
 * with pt_source_close().
 */
struct pt_source *pt_source_open_file(const char *path, struct pt_error *err);

/*
 * Reads exactly n bytes at off, retrying short reads. Fails with PT_ERR_IO
 * (and "unexpected end of file" when the source is shorter than off + n).
 * what names the bytes for the message ("local header of data/0").
 */
int pt_source_read(struct pt_source *s, void *buf, size_t n, uint64_t off,
		   const char *what, struct pt_error *err);

/*
 * Checks that the file behind s is still the one opened: same inode, size
 * and mtime. Returns 0 when unchanged, -1 with PT_ERR_STALE otherwise.
 * Sources without a path always answer 0.
 */
int pt_source_check(struct pt_source *s, struct pt_error *err);

/*
 * Maps bytes [off, off + n) of s read-only (n > 0) and returns the address
 * of byte off; the caller releases it with pt_source_unmap(s, m), and never
 * reads it after. NULL with err when s cannot map (PT_ERR_IO, sys_errno
 * ENOTSUP), when the span passes the source's size at
 * open (PT_ERR_FORMAT) or mmap fails (PT_ERR_IO). Reads of the mapping raise
 * SIGBUS if the file has since shrunk below them: the caller must be ready
 * for that (see view.h's guard).
 */
const unsigned char *pt_source_map(struct pt_source *s, uint64_t off, size_t n,
				   struct pt_source_map *m, struct pt_error *err);

/* Releases what pt_source_map made; m may be zeroed (nothing mapped). */
void pt_source_unmap(struct pt_source *s, struct pt_source_map *m);

/* Whether s can map (pt_source_map may succeed). */
int pt_source_can_map(const struct pt_source *s);

/* Frees s. s may be NULL. */
void pt_source_close(struct pt_source *s);

#endif
