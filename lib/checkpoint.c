/*
 * checkpoint.c - opening a checkpoint from its path to its tree.
 *
 * The order matters for safety and speed: the container is sniffed by its
 * bytes, the pickle runs with hard limits and never executes anything, and
 * only then are storage records looked up, each checked against the size
 * its persistent id declares. No storage data is read here.
 */
#include "checkpoint.h"

#include "jit1.h"

#include <stdlib.h>
#include <string.h>

#define PT_VALUES_LIMIT ((size_t)4 << 30) /* arena bytes for one pickle's values */

void pt_open_opts_default(struct pt_open_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->encoding = PT_ENC_UTF8;
}

struct pt_checkpoint *pt_checkpoint_open(const char *path, const struct pt_open_opts *o,
					 struct pt_error *err)
{
	struct pt_open_opts def;
	struct pt_pickle_opts po;
	struct pt_pickle_hooks hooks;
	struct pt_tree_limits lim;
	struct pt_checkpoint *ck;
	struct pt_arena values;
	struct pt_value *root = NULL;
	size_t used;

	if (!o) {
		pt_open_opts_default(&def);
		o = &def;
	}
	ck = calloc(1, sizeof(*ck));
	if (!ck) {
		pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", path);
		return NULL;
	}
	pt_arena_init(&values, PT_VALUES_LIMIT);
	pt_arena_init(&ck->keep, PT_VALUES_LIMIT);
	ck->src = pt_source_open_file(path, err);
	if (!ck->src)
		goto out_free; /* the message already names the path */
	ck->c = pt_container_open(ck->src, err);
	if (!ck->c)
		goto out_prefix;
	ck->torch.arena = &ck->keep;
	ck->torch.torchscript = ck->c->torchscript;
	pt_torch_hooks(&ck->torch, &hooks);
	pt_pickle_opts_default(&po);
	po.encoding = o->encoding;
	po.hooks = &hooks;
	if (ck->c->model_json) {
		if (pt_jit1_load(ck->c, &ck->torch, &values, &po, &root, err) < 0)
			goto out_prefix;
	} else if (pt_pickle_load(&values, ck->c->pickle, ck->c->pickle_len, &po, &root,
				  &used, err) < 0) {
		pt_error_prefix(err, "%s", ck->c->format == PT_FORMAT_ZIP ? "data.pkl" : "object pickle");
		goto out_prefix;
	}
	if (pt_container_bind(ck->c, &ck->torch, err) < 0)
		goto out_prefix;
	pt_tree_limits_default(&lim);
	lim.ino_base = o->ino_base;
	ck->tree = pt_tree_build(root, &lim, err);
	if (!ck->tree)
		goto out_prefix;
	pt_arena_release(&values);
	ck->torch.jit_tensors = NULL; /* were values */
	ck->torch.njit_tensors = 0;
	ck->torch.last_pid = NULL;
	return ck;

out_prefix:
	pt_error_prefix(err, "%s", path);
out_free:
	pt_arena_release(&values);
	pt_checkpoint_close(ck);
	return NULL;
}

void pt_checkpoint_close(struct pt_checkpoint *ck)
{
	if (!ck)
		return;
	pt_tree_free(ck->tree);
	pt_container_close(ck->c);
	pt_source_close(ck->src);
	pt_arena_release(&ck->keep);
	free(ck);
}

const char *pt_tensor_location(const struct pt_tensor *t)
{
	if (!t->storage)
		return "meta";
	const char *l = __atomic_load_n(&t->storage->location, __ATOMIC_ACQUIRE);

	return l ? l : t->storage->saved_location;
}
