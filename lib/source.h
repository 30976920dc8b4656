/*
 * source.h - where checkpoint bytes come from.
 *
 * Every byte the library reads goes through a struct pt_source, so that a
 * remote source (HTTP range requests) can later stand in for the local file
 * without touching the readers. A source is immutable after open and its
 * pread is safe to call from many threads at once. A local file also exposes
 * its descriptor so the daemon can splice storage bytes without copying them.
 */
#ifndef PT_SOURCE_H
#define PT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

struct pt_source;

struct pt_source_ops {
	/* Like pread(2): bytes read, 0 at end, -1 with errno set. */
	ssize_t (*pread)(struct pt_source *s, void *buf, size_t n, uint64_t off);
	/* Frees the source and everything it holds. */
	void (*close)(struct pt_source *s);
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
 * Whether st (of the descriptor, or of a path now) describes the file s
 * opened, unchanged: same device and inode, size and mtime. Pure.
 */
bool pt_source_is(const struct pt_source *s, const struct stat *st);

/*
 * Checks that the file behind s is still the one opened: same inode, size
 * and mtime. Returns 0 when unchanged, -1 with PT_ERR_STALE otherwise.
 * Sources without a path always answer 0.
 */
int pt_source_check(struct pt_source *s, struct pt_error *err);

/* Frees s. s may be NULL. */
void pt_source_close(struct pt_source *s);

#endif
