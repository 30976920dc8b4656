/*
 * safetensors.h - the safetensors format (format.md §6.1) and the sharded
 * sets of Hugging Face (§6.2), read without executing anything.
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes
 * of JSON ({name: {dtype, shape, data_offsets}, "__metadata__": {str:
 * str}}), then the data. The header is validated as the reference
 * implementation validates it (safetensors/src/tensor.rs): N at most
 * 100,000,000 and inside the file, JSON text starting with '{', no
 * duplicate keys, known dtypes, shapes whose byte size fits 64 bits and
 * equals end - begin, offsets that cover the data from 0 to its end in
 * order with no gap and no overlap. Each failure is refused with a
 * message naming it and the tensor.
 *
 * The container reader (pt_st_open, through pt_container_open's sniff)
 * reads only the header; pt_st_load then makes one storage per tensor,
 * keyed 0, 1, ... in header order and already bound to its bytes, and a
 * collections.OrderedDict of the tensors, so the tree is built by tree.c
 * as for a state_dict. Sharded sets (shards.c) reuse the same parser.
 */
#ifndef PT_SAFETENSORS_H
#define PT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "dtype.h"
#include "sdpickle.h"
#include "error.h"
#include "source.h"
#include "torch.h"
#include "value.h"

#define PT_ST_MAX_HEADER 100000000ULL /* the reference's MAX_HEADER_SIZE */
#define PT_ST_MAX_DIMS 64             /* tensor.c's index array */

struct pt_st_tensor {
	const char *name;    /* the header key, UTF-8 */
	enum pt_dtype dtype;
	int ndim;
	int64_t *shape;      /* ndim items */
	uint64_t numel;
	uint64_t begin, end; /* data_offsets, relative to the data buffer */
};

struct pt_st_header {
	uint64_t header_len;   /* N */
	uint64_t data_start;   /* 8 + N: where the data buffer starts in the file */
	struct pt_st_tensor *tensors; /* in header order */
	size_t ntensors;
	struct pt_value *metadata; /* the "__metadata__" dict (str to str), or NULL */
};

/*
 * Validates the JSON header text p[0..len) of a file whose data buffer
 * holds data_len bytes, into h (every allocation in a). Returns 0, or -1
 * with err: PT_ERR_FORMAT naming the failure ("tensor 'w': data_offsets
 * [0, 12] hold 12 bytes but shape [2, 2] of F32 needs 16"), PT_ERR_UNSUPPORTED
 * for the 4- and 6-bit dtypes, PT_ERR_NOMEM/PT_ERR_LIMIT.
 */
int pt_st_header_parse(struct pt_arena *a, const char *p, size_t len, uint64_t data_len,
		       struct pt_st_header *h, struct pt_error *err);

/*
 * Reads and validates the header of the safetensors file behind src (its
 * first 8 + N bytes only) into h, as pt_st_header_parse. The length is
 * refused first when larger than 100,000,000 or than the file.
 */
int pt_st_header_read(struct pt_arena *a, struct pt_source *src, struct pt_st_header *h,
		      struct pt_error *err);

/*
 * True when head[0..n) (the first bytes of a file of file_size bytes) may
 * be safetensors: '{' after the 8-byte length, or other JSON after a
 * length that fits the file. The length is then checked by the reader,
 * so that a bad one is refused by name rather than as an unknown format.
 */
int pt_st_sniff(const unsigned char *head, size_t n, uint64_t file_size);

/*
 * Adds the tensors of h to t (one storage each, keyed by *next_key, which
 * grows; bound at base + h->data_start + begin) and sets d[name] = tensor
 * for each, values in a. Returns 0 or -1 with err naming the tensor.
 */
int pt_st_add_tensors(struct pt_torch *t, struct pt_arena *a, const struct pt_st_header *h,
		      uint64_t base, size_t *next_key, struct pt_value *d, struct pt_error *err);

/* The container reader of pt_container_open (PT_FORMAT_SAFETENSORS). */
int pt_st_open(struct pt_container *c, struct pt_error *err);

/*
 * The root value of an opened safetensors container: a collections.
 * OrderedDict of its tensors, made in a, storages in t. -1 and err.
 */
int pt_st_load(struct pt_container *c, struct pt_torch *t, struct pt_arena *a,
	       struct pt_value **root, struct pt_error *err);

/* The "__metadata__" dict of an opened safetensors container, or NULL. */
const struct pt_value *pt_st_container_metadata(const struct pt_container *c);

/*
 * The tensors of an opened safetensors or sharded container, after its
 * load, as items of a state_dict pickle (sdpickle.h), in tree order; *n
 * items, owned by the container. NULL (and *n = 0) for other formats.
 */
const struct pt_sdpickle_item *pt_st_items(const struct pt_container *c, size_t *n);

/*
 * Records the items of d (str keys, tensor values: what pt_st_load and
 * pt_shards_load make) in a, keys copied, into *items and *n. -1 and err.
 */
int pt_st_record_items(struct pt_arena *a, const struct pt_value *d,
		       struct pt_sdpickle_item **items, size_t *n, struct pt_error *err);

/*
 * metadata (a str-to-str dict, or NULL) as compact JSON text followed by
 * "\n" in a, for `.ptfs/metadata.json`; "{}\n" for NULL. NULL and err.
 */
char *pt_st_metadata_json(struct pt_arena *a, const struct pt_value *metadata, size_t *len,
			  struct pt_error *err);

#endif
