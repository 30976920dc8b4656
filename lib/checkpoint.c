/*
 * checkpoint.c - opening a checkpoint from its path to its tree.
 *
 * The order matters for safety and speed: the container is sniffed by its
 * bytes, the pickle runs with hard limits and never executes anything, and
 * only then are storage records looked up, each checked against the size
 * its persistent id declares. No storage data is read here. The container
 * and the pickle may run at once on two threads (open_and_load), with the
 * result and the errors of running them one after the other.
 */
#include "checkpoint.h"
#include "code.h"
#include "digest.h"

#include "jit1.h"
#include "pages.h"
#include "safetensors.h"
#include "shards.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PT_VALUES_LIMIT ((size_t)4 << 30) /* arena bytes for one pickle's values */

void pt_open_opts_default(struct pt_open_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->encoding = PT_ENC_UTF8;
}

/*
 * The container, opened on a thread of its own while the pickle runs, and
 * the guess it is checked against: the thread compares the bytes too, off
 * the pickle's path.
 */
struct opener {
	struct pt_source *src;
	const unsigned char *guess;
	size_t glen;
	struct pt_container *c;
	bool guess_holds; /* c is a plain torch.save archive whose pickle is guess[0 .. glen) */
	struct pt_error err;
};

static void *open_container(void *arg)
{
	struct opener *o = arg;

	o->c = pt_container_open(o->src, &o->err);
	o->guess_holds = o->c && o->guess && !o->c->torchscript && !o->c->model_json &&
			 o->c->pickle_len == o->glen && memcmp(o->c->pickle, o->guess, o->glen) == 0;
	return NULL;
}

/*
 * The storages bound to the container on a thread of their own while the
 * tree is built: the two touch different fields of a storage (bind: its
 * record and offset; the tree: its dtype and sizes), and neither reads
 * what the other writes.
 */
struct binder {
	struct pt_container *c;
	struct pt_torch *t;
	int rc;
	struct pt_error err;
};

static void *bind_storages(void *arg)
{
	struct binder *b = arg;

	b->rc = pt_container_bind(b->c, b->t, &b->err);
	return NULL;
}

/* Runs the main pickle of bytes[0..len) into *root, values in vals, storages in ck->keep. */
static int load_pickle(struct pt_checkpoint *ck, struct pt_arena *vals, const unsigned char *bytes,
		       size_t len, const struct pt_open_opts *o, struct pt_value **root,
		       struct pt_error *err)
{
	struct pt_pickle_opts po;
	struct pt_pickle_hooks hooks;
	size_t used;

	if (ck->c && ck->c->format == PT_FORMAT_SAFETENSORS)
		return pt_st_load(ck->c, &ck->torch, vals, root, err);
	if (ck->c && ck->c->format == PT_FORMAT_SHARDED)
		return pt_shards_load(ck->c, &ck->torch, vals, root, err);
	pt_torch_hooks(&ck->torch, &hooks);
	pt_pickle_opts_default(&po);
	po.encoding = o->encoding;
	po.hooks = &hooks;
	if (ck->c && ck->c->model_json)
		return pt_jit1_load(ck->c, &ck->torch, vals, &po, root, err);
	if (pt_pickle_load(vals, bytes, len, &po, root, &used, err) < 0) {
		pt_error_prefix(err, "%s", !ck->c || ck->c->format == PT_FORMAT_ZIP ? "data.pkl"
										 : "object pickle");
		return -1;
	}
	return 0;
}

/* Forgets what a pickle run made: its values and the storages it declared. */
static void unload_pickle(struct pt_checkpoint *ck, struct pt_arena *vals)
{
	pt_arena_release(vals);
	pt_arena_init(vals, PT_VALUES_LIMIT);
	pt_arena_release(&ck->keep);
	pt_arena_init(&ck->keep, PT_VALUES_LIMIT);
	memset(&ck->torch, 0, sizeof(ck->torch));
	ck->torch.arena = &ck->keep;
}

/*
 * The container and the pickle, in parallel where the pickle can be
 * guessed (pt_container_guess_pickle): the directory walk and the record
 * reads of a 20,000-tensor archive (3-5 ms), and the comparison of its
 * pickle with the guess, run on a second thread while this one runs the
 * guessed pickle (read before the thread starts, so that the thread
 * has the bytes). The guess stands only when the opened container holds
 * exactly its bytes and is a plain torch.save archive (no TorchScript, no
 * model.json: their pickles may be read differently, which only the
 * opened container tells); else what it made is dropped and the pickle
 * runs again, as it would have without a guess. Errors come in the same
 * order as in a sequential open: the container's first.
 */
static int open_and_load(struct pt_checkpoint *ck, struct pt_arena *vals,
			 const struct pt_open_opts *o, struct pt_value **root, struct pt_error *err)
{
	struct opener op = { .src = ck->src };
	struct pt_error gerr;
	unsigned char *guess = NULL;
	size_t glen = 0;
	pthread_t th;
	bool threaded, guessed;
	int grc = 0, ret = -1;

	pt_error_clear(&op.err);
	guessed = pt_container_guess_pickle(ck->src, &guess, &glen) == 1;
	op.guess = guess;
	op.glen = glen;
	threaded = pthread_create(&th, NULL, open_container, &op) == 0;
	if (guessed && threaded) {
		pt_error_clear(&gerr);
		grc = load_pickle(ck, vals, guess, glen, o, root, &gerr);
	}
	if (threaded)
		pthread_join(th, NULL);
	else
		open_container(&op);
	ck->c = op.c;
	if (!ck->c) {
		*err = op.err;
		goto out;
	}
	if (guessed && threaded && op.guess_holds) {
		if (grc < 0)
			*err = gerr;
		ret = grc;
		goto out;
	}
	if (guessed && threaded)
		unload_pickle(ck, vals);
	ck->torch.torchscript = ck->c->torchscript;
	ret = load_pickle(ck, vals, ck->c->pickle, ck->c->pickle_len, o, root, err);
out:
	pt_pages_free(guess, glen);
	return ret;
}

/*
 * `.ptfs/metadata.json`: a safetensors file's "__metadata__", a sharded
 * set's index "metadata", as JSON (docs/safetensors.md). Other formats
 * have none.
 */
static int add_metadata(struct pt_checkpoint *ck, struct pt_error *err)
{
	const struct pt_value *m;
	struct pt_node *n;
	size_t len;
	char *text;

	if (ck->c->format == PT_FORMAT_SAFETENSORS)
		m = pt_st_container_metadata(ck->c);
	else if (ck->c->format == PT_FORMAT_SHARDED)
		m = pt_shards_metadata(ck->c);
	else
		return 0;
	text = pt_st_metadata_json(&ck->tree->arena, m, &len, err);
	if (!text)
		return -1;
	n = pt_tree_add_node(ck->tree, SIZE_MAX, pt_tree_ctl_dir(ck->tree), "metadata.json", NULL,
			     PT_NODE_DATA, "str", "", err);
	if (!n)
		return -1;
	n->u.data.p = text;
	n->u.data.len = len;
	n->u.data.array = NULL;
	return 0;
}

struct pt_checkpoint *pt_checkpoint_open(const char *path, const struct pt_open_opts *o,
					 struct pt_error *err)
{
	struct pt_open_opts def;
	struct pt_tree_limits lim;
	struct pt_checkpoint *ck;
	struct pt_arena values;
	struct pt_value *root = NULL;
	struct binder bind;
	pthread_t th;
	bool threaded;

	if (!o) {
		pt_open_opts_default(&def);
		o = &def;
	}
	ck = calloc(1, sizeof(*ck));
	if (!ck) {
		pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", path);
		return NULL;
	}
	pthread_mutex_init(&ck->code_lock, NULL);
	pt_arena_init(&values, PT_VALUES_LIMIT);
	pt_arena_init(&ck->keep, PT_VALUES_LIMIT);
	ck->torch.arena = &ck->keep;
	if (pt_shards_path(path)) {
		ck->src = pt_shards_open(path, err);
		if (!ck->src)
			goto out_prefix;
	} else {
		ck->src = pt_source_open_file(path, err);
		if (!ck->src)
			goto out_free; /* the message already names the path */
	}
	if (open_and_load(ck, &values, o, &root, err) < 0)
		goto out_prefix;
	bind = (struct binder){ .c = ck->c, .t = &ck->torch };
	pt_error_clear(&bind.err);
	threaded = pthread_create(&th, NULL, bind_storages, &bind) == 0;
	if (!threaded)
		bind_storages(&bind);
	pt_tree_limits_default(&lim);
	lim.ino_base = o->ino_base;
	ck->tree = pt_tree_build(root, &lim, err);
	if (threaded)
		pthread_join(th, NULL);
	if (bind.rc < 0) { /* its error comes first, as when bound before the tree */
		*err = bind.err;
		goto out_prefix;
	}
	if (!ck->tree || pt_code_add(ck, err) < 0 || add_metadata(ck, err) < 0)
		goto out_prefix;
	pt_arena_release(&values);
	ck->torch.jit_tensors = NULL; /* were values */
	ck->torch.njit_tensors = 0;
	ck->torch.last_pid = NULL;
	ck->torch.last_class = NULL;
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
	pt_sums_free(ck->sums);
	pt_code_release(ck);
	pthread_mutex_destroy(&ck->code_lock);
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
