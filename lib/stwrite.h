/*
 * stwrite.h - the header of a safetensors file, as its reference writes it.
 *
 * A safetensors file is an 8-byte little-endian header length, a JSON
 * header padded with spaces to a multiple of 8, then the tensors' bytes,
 * back to back. The reference writer (safetensors' Rust `prepare`) orders
 * the tensors by dtype, larger dtype rank first (its enum order: BOOL, U8,
 * I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64),
 * then by name (bytewise), gives them contiguous data_offsets in that
 * order, and writes "__metadata__" first. This module makes exactly those
 * bytes; it does no I/O and knows nothing of checkpoints.
 */
#ifndef PT_STWRITE_H
#define PT_STWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "error.h"

struct pt_st_entry {
	const char *name;       /* UTF-8, NUL-terminated; unique in one file */
	enum pt_dtype dtype;    /* one pt_st_dtype() knows */
	int ndim;
	const int64_t *shape;   /* ndim sizes */
	uint64_t nbytes;        /* numel * element size */
	uint64_t begin, end;    /* data_offsets, set by pt_st_header_build */
	void *user;             /* the caller's, carried along the sort */
};

struct pt_st_meta {
	const char *key, *value; /* UTF-8 strings */
};

/* safetensors' name of dt ("F32", "BF16", "BOOL"), or NULL when it has none. */
const char *pt_st_dtype(enum pt_dtype dt);

/*
 * Sorts e[0..n) into the reference order, sets every begin/end, and
 * returns in *out a malloc'd buffer (the caller frees it) of *outlen bytes:
 * the 8-byte length and the padded JSON header, ready to be written at
 * offset 0; the data then follows at *outlen. meta (nm pairs, may be 0)
 * becomes "__metadata__" with its keys sorted; none when nm is 0. Fails
 * (-1 with err: PT_ERR_INVAL for a dtype safetensors lacks, PT_ERR_NOMEM)
 * leaving *out NULL; e may then be reordered.
 */
int pt_st_header_build(struct pt_st_entry *e, size_t n, const struct pt_st_meta *meta, size_t nm,
		       unsigned char **out, size_t *outlen, struct pt_error *err);

/*
 * Parses a size as huggingface_hub does: a number with an optional unit,
 * decimal ("500MB" = 500e6, "5GB" = 5e9, "KB", "TB") or binary ("2GiB",
 * "MiB", "KiB", "TiB"), "B" or none for bytes; case-insensitive, no
 * spaces. Returns 0 and *out (above 0), or -1 with PT_ERR_INVAL.
 */
int pt_size_parse(const char *s, uint64_t *out, struct pt_error *err);

#endif
