/*
 * zipwrite.h - a streaming writer of zip archives in torch.save's layout.
 *
 * The writer appends records one after another to a file descriptor and
 * writes the central directory at the end, exactly as torch's miniz-based
 * PyTorchStreamWriter does: every record is stored (method 0) as
 * "<prefix>/<name>", its data starts at a multiple of the alignment (64)
 * thanks to a private 'FB' extra field of 'Z' padding in the local header,
 * non-empty records are followed by a data descriptor (the local header holds
 * CRC 0 and sizes 0), and a ZIP64 end record and locator always come before
 * the classic end record. A file made by it loads with torch.load, and with
 * torch >= 2.7's computed storage offsets when the records are written in
 * torch's order.
 *
 * Record data never needs to be in memory: pt_zipw_add_fd() copies it from
 * another file with copy_file_range(2). The writer keeps only the directory
 * (one small entry per record) until pt_zipw_finish().
 */
#ifndef PT_ZIPWRITE_H
#define PT_ZIPWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pt_zipw; /* opaque */

struct pt_zipw_opts {
	unsigned alignment;   /* data alignment, 64 by default (0 means 64) */
	uint64_t zip64_above; /* an entry whose size or local-header offset is >= this uses ZIP64
				 extras; 0 means 0xFFFFFFFF (tests lower it to force ZIP64 on small
				 files) */
};

/* Progress: called after each chunk of record data is written, with bytes done so far over all
 * add calls. */
typedef void (*pt_zipw_progress)(void *ctx, uint64_t done);

/*
 * Starts a zip on fd, which must be opened for writing, seekable (it is
 * written with pwrite at offsets the writer tracks itself, from 0), and
 * empty. prefix is the archive directory ("model"): every record is written
 * as prefix/name. opts may be NULL for the defaults; alignment must be 1 to
 * 32768. Nothing is written yet.
 *
 * Returns a writer the caller frees with pt_zipw_free(); fd stays the
 * caller's. Returns NULL with err on a bad argument (PT_ERR_INVAL) or
 * PT_ERR_NOMEM.
 */
struct pt_zipw *pt_zipw_open(int fd, const char *prefix, const struct pt_zipw_opts *opts,
			     struct pt_error *err);

/*
 * Adds record name (relative to the prefix, e.g. "data.pkl") holding the n
 * bytes at data; data is not kept after the call.
 *
 * Returns 0, or -1 with err: PT_ERR_INVAL for an empty or too long name or a
 * writer already finished or broken, PT_ERR_NOMEM (nothing written then), or
 * PT_ERR_IO (sys_errno set) when writing fails. After PT_ERR_IO the writer is
 * broken: every later call fails and the file must be discarded.
 */
int pt_zipw_add_mem(struct pt_zipw *w, const char *name, const void *data, size_t n,
		    struct pt_error *err);

/*
 * Adds record name with the n bytes of src_fd at src_off (src_fd's file
 * offset is not used or moved). The bytes go with copy_file_range(2), which
 * lets the kernel copy or reflink them without passing through user space;
 * when it refuses (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP) pread/pwrite take over.
 * Copies go in chunks of 64 MiB, progress (may be NULL) being called after
 * each with the record bytes written so far over all add calls.
 *
 * If crc_known, crc is the CRC-32 of those bytes and is trusted as is;
 * otherwise the bytes are read once with pread, summed and written.
 *
 * Returns 0, or -1 with err as for pt_zipw_add_mem(); in particular
 * PT_ERR_IO with sys_errno on a read or write error (ENOSPC included) and
 * PT_ERR_IO "source ends early" when src_fd holds fewer than src_off + n
 * bytes. Any failure after the local header went out breaks the writer.
 */
int pt_zipw_add_fd(struct pt_zipw *w, const char *name, int src_fd, uint64_t src_off, uint64_t n,
		   bool crc_known, uint32_t crc, pt_zipw_progress progress, void *ctx,
		   struct pt_error *err);

/*
 * Writes the central directory, the ZIP64 end record and its locator, and
 * the classic end record; the zip is then complete. Does not fsync or close
 * fd. After it (success or not) only pt_zipw_free() may be called.
 * Returns 0, or -1 with err (PT_ERR_IO with sys_errno, PT_ERR_INVAL when the
 * writer was already finished or broken).
 */
int pt_zipw_finish(struct pt_zipw *w, struct pt_error *err);

/* Frees w (NULL is fine); never closes fd. An unfinished zip stays incomplete. */
void pt_zipw_free(struct pt_zipw *w);

#endif
