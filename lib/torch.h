/*
 * torch.h - tensors and storages as torch.save describes them.
 *
 * The pickle machine hands this layer each persistent id and each call; it
 * recognises storages (format.md §2.2), the rebuild functions (§2.4) and
 * collections.OrderedDict, and builds PT_V_STORAGE / PT_V_TENSOR / PT_V_DICT
 * values. One struct pt_storage exists per storage key, however many
 * persistent ids name it, so tensors that share a storage share its record
 * and its location.
 */
#ifndef PT_TORCH_H
#define PT_TORCH_H

#include <stdbool.h>
#include <stdint.h>

#include "dtype.h"
#include "error.h"
#include "hash.h"
#include "pickle.h"
#include "value.h"

/*
 * Where one persistent id of a storage has its location tag in the pickle:
 * the offset of the opcode that pushed the tag string (a literal or a memo
 * fetch), and of the one that pushed the legacy 6th item (view metadata),
 * so that a save can rewrite exactly those bytes.
 */
struct pt_loc_site {
	size_t tag_off;
	size_t view_off; /* SIZE_MAX: a 5-item (zip) persistent id */
	struct pt_loc_site *next;
};

struct pt_storage {
	char *key;              /* the archive key, "0", "140569166370176", ... */
	enum pt_dtype dtype;    /* of the storage class; uint8 for UntypedStorage */
	uint64_t numel;         /* in storage elements, as in the persistent id */
	uint64_t nbytes;        /* numel * element size */
	char *saved_location;   /* the tag in the file: "cpu", "cuda:1" */
	char *location;         /* effective location; owned by the checkpoint's rules */
	uint64_t data_offset;   /* where its bytes start in the source (bound by the container) */
	bool bound;             /* data_offset is valid (read with __atomic_load_n) */
	void *rec;              /* the container's record for it, until bound */
	unsigned index;         /* position in the checkpoint's storage table */
	struct pt_loc_site *sites; /* in pickle order */
	unsigned nuses;           /* persistent ids naming it; == number of sites when all were traced */
	const char *override;     /* setfattr user.pt.location, or NULL (owned by the rules) */
};

struct pt_tensor {
	struct pt_storage *storage; /* NULL for a tensor without data (meta) */
	enum pt_dtype dtype;
	int ndim;
	int64_t *shape, *stride;    /* ndim each */
	int64_t offset;             /* storage offset, in elements */
	uint64_t numel;
	uint64_t nbytes;            /* numel * element size: the file size */
	bool requires_grad;
	bool contiguous;            /* the bytes are one run in the storage */
	const char *type;           /* Python type: "torch.Tensor", "torch.nn.parameter.Parameter", ... */
};

/* One load's storages, by key. Owned by the checkpoint. */
struct pt_torch {
	struct pt_arena *arena; /* storages, tensors, their type names: may outlive the values */
	struct pt_storage **storages;
	size_t nstorages, cap;
	/*
	 * By key. While every key is its own index in decimal ("0", "1", ...:
	 * torch.save numbers its storages so), storages[] is the index and
	 * slots is NULL. After the first other key: open addressing, linear
	 * probing, nslots a power of two at least twice nstorages; a slot holds
	 * the key's hash and the storage's index + 1 (0: empty), so a probe
	 * reads a storage only when the hashes match.
	 */
	struct pt_hash_slot *slots;
	size_t nslots;
	uint64_t seed;               /* of the key hash, set with the first slot array */
	bool torchscript; /* TorchScript names and persistent ids */
	/* TorchScript 1.0: the tensor table of model.json, for build_tensor_from_id */
	struct pt_value **jit_tensors;
	size_t njit_tensors;
	/* the last storage-shaped tuple made, with where its items came from */
	struct pt_value *last_pid;
	size_t last_prov[6];
	/*
	 * The last storage class named and its dtype: a pickle names one class
	 * object (a memo fetch) in every persistent id, and a GLOBAL value
	 * never changes. Values of the load: cleared with last_pid.
	 */
	const struct pt_value *last_class;
	enum pt_dtype last_class_dtype;
};

/*
 * Fills hooks with the torch layer's persistent_load, call and build hooks,
 * working on t (which must outlive the load).
 */
void pt_torch_hooks(struct pt_torch *t, struct pt_pickle_hooks *hooks);

/*
 * The storage with this key, made on first use (dtype, numel in storage
 * elements, saved location); a second use must agree on dtype and numel.
 * Returns NULL and err (PT_ERR_FORMAT for a disagreement or an overflowing
 * size, PT_ERR_NOMEM).
 */
struct pt_storage *pt_torch_storage_add(struct pt_torch *t, const char *key, enum pt_dtype dt,
					uint64_t numel, const char *location, struct pt_error *err);

/*
 * A PT_V_TENSOR viewing storage s (NULL: no data) with the given geometry,
 * checked as the rebuild functions are: non-negative sizes and strides, no
 * overflow, every element inside the storage. fn names the caller in
 * messages. The value is made in a (the load's values), the struct
 * pt_tensor it points to in t->arena, which outlives them. NULL and err on
 * failure.
 */
struct pt_value *pt_torch_tensor(struct pt_torch *t, struct pt_arena *a, const char *fn,
				 struct pt_storage *s,
				 int64_t offset, const int64_t *shape, const int64_t *stride,
				 int ndim, enum pt_dtype dt, bool requires_grad,
				 struct pt_error *err);

/* The storage with this key, or NULL. */
struct pt_storage *pt_torch_storage(const struct pt_torch *t, const char *key);

#endif
