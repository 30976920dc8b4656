/*
 * sdpickle.h - a torch.save pickle made for checkpoints that have none.
 *
 * A safetensors file or sharded set has no pickle to retag, so a save
 * writes one as torch.save (protocol 2) writes a state_dict: a
 * collections.OrderedDict whose items are torch._utils._rebuild_tensor_v2(
 * persistent_load(('storage', torch.<X>Storage, key, location, numel)),
 * offset, shape, stride, False, OrderedDict()), storages keyed as the
 * checkpoint's (0, 1, ...); a storage that several tensors view is
 * named by each. Checked with pickletools against torch 1.13.
 */
#ifndef PT_SDPICKLE_H
#define PT_SDPICKLE_H

#include <stddef.h>

#include "error.h"
#include "torch.h"

struct pt_sdpickle_item {
	const char *name;            /* the state_dict key */
	const struct pt_tensor *t;   /* its view: storage, offset, shape, stride */
};

/*
 * The pickle of items[0..n), storage of item i tagged locs[i] (or its
 * saved location when locs is NULL), into a malloc'd *out of *len bytes
 * the caller frees. -1 and err: PT_ERR_UNSUPPORTED naming a tensor whose
 * dtype has no storage class torch 1.13 can load (float8, uint16-64),
 * PT_ERR_NOMEM.
 */
int pt_sdpickle_make(const struct pt_sdpickle_item *items, size_t n, const char *const *locs,
		     unsigned char **out, size_t *len, struct pt_error *err);

#endif
