/*
 * jit1.h - TorchScript archives of torch 1.0/1.1 (model.json, no data.pkl).
 */
#ifndef PT_JIT1_H
#define PT_JIT1_H

#include "container.h"
#include "pickle.h"
#include "torch.h"
#include "value.h"

/*
 * Builds the object of a model.json archive into *out: the main module as
 * an object whose state holds its parameters (tensors of the tensor table),
 * attributes (values of attributes.pkl, run with hooks) and submodules.
 * Storages are added to t, named by their record ("tensors/0"), sized from
 * the record. Returns 0, or -1 with err naming what is malformed.
 */
int pt_jit1_load(struct pt_container *c, struct pt_torch *t, struct pt_arena *a,
		 const struct pt_pickle_opts *po, struct pt_value **out, struct pt_error *err);

#endif
