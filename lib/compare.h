/*
 * compare.h - element-wise comparison of two tensors, for `ptfs diff`.
 *
 * Two tensors of the same shape are streamed side by side in bounded
 * chunks (pt_tensor_read), each side into its own buffer, and compared
 * element by element. An element whose bytes are identical on both sides is
 * equal, whatever it holds (a NaN too): that is what "equal" means without
 * a tolerance. An element whose bytes differ is decoded to a number from its
 * dtype (float16, bfloat16, the float8 types, ints, bool, complex) to find
 * the largest absolute and relative difference; with a tolerance it is
 * "close" when |a - b| <= atol + rtol * |b|, torch.allclose's rule, b being
 * the second tensor. Tensors of different dtypes (and the same shape) are
 * compared by value. No FUSE, no global state; a comparer is used by one
 * thread at a time.
 */
#ifndef PT_COMPARE_H
#define PT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "dtype.h"
#include "error.h"

struct pt_compare_opts {
	bool tolerance;   /* apply the allclose rule to differing elements */
	double rtol;      /* torch.allclose's defaults: 1e-05 */
	double atol;      /* 1e-08 */
	bool equal_nan;   /* two NaNs are close (only with tolerance), as equal_nan=True */
	size_t chunk;     /* bytes per side per read; 0: 1 MiB */
	size_t par_min;   /* chunks of both sides together at least this big are
			     read in parallel, smaller ones in turn (256 KiB) */
};

/* One decoded element. */
enum pt_scalar_kind { PT_SC_FLOAT, PT_SC_INT, PT_SC_UINT, PT_SC_BOOL, PT_SC_COMPLEX };

struct pt_scalar {
	enum pt_scalar_kind kind;
	double re, im; /* the value as a double (im: complex only) */
	int64_t i;     /* PT_SC_INT, PT_SC_BOOL */
	uint64_t u;    /* PT_SC_UINT */
};

struct pt_compare_stats {
	uint64_t numel;    /* elements compared */
	uint64_t ndiff;    /* elements whose bytes (or, across dtypes, values) differ */
	uint64_t nfar;     /* of those, not close (all of them without tolerance) */
	uint64_t nnan;     /* of those, with a NaN on either side */
	uint64_t nraw;     /* of those, of a dtype with no numeric decoding (bytes only) */
	bool have_max;     /* the max_* fields below are set */
	double max_abs;    /* largest |a - b| over differing elements, NaNs left out */
	double max_rel;    /* largest |a - b| / |b| (inf where b is 0) */
	uint64_t abs_at;   /* flat index of max_abs (the first such element) */
	uint64_t rel_at;   /* flat index of max_rel */
	struct pt_scalar abs_a, abs_b; /* the two values at abs_at */
	int side;          /* after a failed read: 0 the first tensor's, 1 the second's */
};

/* Sets the defaults above: no tolerance, rtol 1e-05, atol 1e-08, 1 MiB, 256 KiB. */
void pt_compare_opts_default(struct pt_compare_opts *o);

/* Zeroes st. */
void pt_compare_stats_init(struct pt_compare_stats *st);

/*
 * Decodes the little-endian element at p of dtype dt into out. Returns 0,
 * or -1 for a dtype that has no numeric value here (quantized ints are
 * decoded as their raw ints; float4_e2m1fn_x2 and the bits types are not);
 * out is then unchanged. Pure; thread-safe.
 */
int pt_scalar_decode(enum pt_dtype dt, const void *p, struct pt_scalar *out);

/*
 * Writes s as Python would print the number: "1.5", "-3", "True",
 * "(1+2j)", "nan", "inf"; a float as the shortest repr of the double it
 * decodes to (a float32 0.1 is "0.10000000149011612"). Never fails.
 */
void pt_scalar_format(const struct pt_scalar *s, char out[96]);

/*
 * Compares n elements: a of dtype da, b of dtype db, both little-endian,
 * the first being flat element `first` of the tensors; adds the result to
 * st. Pure apart from st; never fails (an element of an undecodable dtype
 * counts in ndiff, nfar and nraw when its bytes differ).
 */
void pt_compare_chunk(enum pt_dtype da, const void *a, enum pt_dtype db, const void *b,
		      size_t n, uint64_t first, const struct pt_compare_opts *o,
		      struct pt_compare_stats *st);

struct pt_comparer;

/*
 * A comparer: two chunk buffers and a reader thread for the second side.
 * o is copied. Returns NULL with err (PT_ERR_NOMEM, PT_ERR_IO when the
 * thread cannot start). Free it with pt_comparer_free().
 */
struct pt_comparer *pt_comparer_new(const struct pt_compare_opts *o, struct pt_error *err);

/*
 * Compares the contents of ta in cka with tb in ckb, which must have the
 * same number of elements (their dtypes may differ), into st (initialized
 * here). Reads each tensor once, both at the same time, one chunk of each
 * in memory. Returns 0, or -1 with err (PT_ERR_INVAL for different sizes,
 * or pt_tensor_read's error, st->side telling whose); st then holds what
 * was compared before the failure.
 */
int pt_comparer_run(struct pt_comparer *c, const struct pt_checkpoint *cka,
		    const struct pt_tensor *ta, const struct pt_checkpoint *ckb,
		    const struct pt_tensor *tb, struct pt_compare_stats *st, struct pt_error *err);

/* Stops the thread and frees c. c may be NULL. */
void pt_comparer_free(struct pt_comparer *c);

#endif
