/*
 * fuzz_pickle.c - the pickle machine on arbitrary bytes.
 *
 * The pickle is the attacker's program: every checkpoint ptfs mounts runs
 * one through pt_pickle_load. Each input is loaded three ways: the default
 * options (no hooks, UTF-8, the real limits); the torch hooks with small
 * limits, the way a checkpoint is opened, followed by a tree build of the
 * result; and no hooks with one of the other string encodings. The opcode
 * scanner the legacy reader relies on must agree with the loader on where
 * a pickle ends.
 */
#include "fuzz.h"

#include <stdint.h>
#include <string.h>

#include "pickle.h"
#include "torch.h"
#include "tree.h"
#include "value.h"

#define ARENA_LIMIT ((size_t)64 << 20)

static void small_limits(struct pt_pickle_limits *l)
{
	l->max_stack = 4096;
	l->max_memo = 4096;
	l->max_depth = 64;
	l->max_bigint = 256;
}

/* Loads with default options; returns the bytes consumed or 0 on failure. */
static size_t load_default(const uint8_t *data, size_t size)
{
	struct pt_pickle_opts o;
	struct pt_arena a;
	struct pt_value *v = NULL;
	struct pt_error err;
	size_t used = 0;
	int rc;

	pt_error_clear(&err);
	pt_arena_init(&a, ARENA_LIMIT);
	pt_pickle_opts_default(&o);
	rc = pt_pickle_load(&a, data, size, &o, &v, &used, &err);
	if (rc == 0) {
		FUZZ_CHECK(v != NULL);
		FUZZ_CHECK(used > 0 && used <= size);
	} else {
		fuzz_check_error(&err);
		used = 0;
	}
	pt_arena_release(&a);
	return used;
}

/* Loads as pt_checkpoint_open does (torch hooks), then builds the tree. */
static void load_torch(const uint8_t *data, size_t size)
{
	struct pt_tree_limits tl = { .max_depth = 64, .max_nodes = 1 << 14 };
	struct pt_pickle_hooks hooks;
	struct pt_pickle_opts o;
	struct pt_torch t;
	struct pt_arena a;
	struct pt_value *v = NULL;
	struct pt_tree *tree;
	struct pt_error err;
	size_t used = 0;

	pt_error_clear(&err);
	pt_arena_init(&a, ARENA_LIMIT);
	memset(&t, 0, sizeof(t));
	t.arena = &a;
	pt_torch_hooks(&t, &hooks);
	pt_pickle_opts_default(&o);
	small_limits(&o.limits);
	o.hooks = &hooks;
	if (pt_pickle_load(&a, data, size, &o, &v, &used, &err) < 0) {
		fuzz_check_error(&err);
		goto out;
	}
	FUZZ_CHECK(used > 0 && used <= size);
	tree = pt_tree_build(v, &tl, &err);
	if (tree) {
		FUZZ_CHECK(tree->nnodes >= 1 && pt_tree_node(tree, 1) != NULL);
		pt_tree_free(tree);
	} else {
		fuzz_check_error(&err);
	}
out:
	pt_arena_release(&a);
}

/* Loads without hooks in a Python 2 encoding picked by the input's length. */
static void load_encoding(const uint8_t *data, size_t size)
{
	static const enum pt_str_encoding encs[] = { PT_ENC_ASCII, PT_ENC_LATIN1, PT_ENC_BYTES };
	struct pt_pickle_opts o;
	struct pt_arena a;
	struct pt_value *v = NULL;
	struct pt_error err;
	size_t used = 0;

	pt_error_clear(&err);
	pt_arena_init(&a, ARENA_LIMIT);
	pt_pickle_opts_default(&o);
	small_limits(&o.limits);
	o.encoding = encs[size % 3];
	if (pt_pickle_load(&a, data, size, &o, &v, &used, &err) < 0)
		fuzz_check_error(&err);
	pt_arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_error err;
	size_t used, end = 0;
	int rc;

	used = load_default(data, size);
	load_torch(data, size);
	load_encoding(data, size);

	pt_error_clear(&err);
	rc = pt_pickle_scan(data, size, &end, &err);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == 0)
		FUZZ_CHECK(end > 0 && end <= size);
	else
		fuzz_check_error(&err);
	/* what loads must scan to the same STOP (the legacy reader needs it) */
	if (used)
		FUZZ_CHECK(rc == 0 && end == used);
	return 0;
}
