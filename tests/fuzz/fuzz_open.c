/*
 * fuzz_open.c - the whole path a mount takes: pt_checkpoint_open on the
 * input (sniffing, either container, the pickle with the torch hooks,
 * TorchScript 1.0's model.json, binding, the tree), then what the daemon
 * does with the result: every node looked up by its name, its name, type
 * and key read as readdir and getxattr would, and every tensor read in
 * 4 KiB chunks as the kernel reads a file, checked against the spliced
 * bytes where the daemon would splice. Each check is a promise fs/ relies
 * on (unique, legal names; full reads until the end of the file).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "dtype.h"
#include "tree.h"

#define CHUNK 4096
#define READ_BUDGET ((uint64_t)16 << 20) /* tensor bytes read per input */

static volatile size_t sink; /* keeps the string walks from being optimised out */

static void touch(const char *s)
{
	FUZZ_CHECK(s != NULL);
	sink += strlen(s);
}

static void check_name(const struct pt_tree *t, const struct pt_node *n)
{
	size_t len = strlen(n->name);

	FUZZ_CHECK(len > 0 && len <= 255);
	FUZZ_CHECK(strchr(n->name, '/') == NULL);
	FUZZ_CHECK(strcmp(n->name, ".") != 0 && strcmp(n->name, "..") != 0);
	FUZZ_CHECK(n->parent && n->parent->kind == PT_NODE_DIR);
	/* names are unique in their directory: lookup finds this very node */
	FUZZ_CHECK(pt_tree_lookup(t, n->parent, n->name) == n);
}

static void check_dir(const struct pt_node *d)
{
	const struct pt_node *c;
	uint32_t n = 0;

	for (c = d->u.dir.first; c; c = c->next) {
		FUZZ_CHECK(c->parent == d);
		n++;
	}
	FUZZ_CHECK(n == d->u.dir.n);
}

static void tensor_xattrs(const struct pt_tensor *x)
{
	int i;

	touch(pt_dtype_name(x->dtype));
	touch(x->type);
	FUZZ_CHECK(x->ndim >= 0);
	for (i = 0; i < x->ndim; i++)
		sink += (size_t)x->shape[i] + (size_t)x->stride[i];
	touch(pt_tensor_location(x));
	if (x->storage) {
		touch(x->storage->key);
		touch(x->storage->saved_location);
	}
}

/* Reads x as the kernel would; returns the bytes read. */
static uint64_t read_tensor(const struct pt_checkpoint *ck, const struct pt_tensor *x,
			    unsigned char *buf, unsigned char *spl, uint64_t budget)
{
	struct pt_error err;
	uint64_t off, src_off;
	int64_t r;
	size_t want;
	int sp;

	FUZZ_CHECK(x->numel == 0 || x->nbytes / x->numel == pt_dtype_size(x->dtype));
	for (off = 0; off < x->nbytes && off < budget; off += CHUNK) {
		want = x->nbytes - off < CHUNK ? (size_t)(x->nbytes - off) : CHUNK;
		pt_error_clear(&err);
		r = pt_tensor_read(ck, x, buf, CHUNK, off, &err);
		if (r < 0) {
			fuzz_check_error(&err);
			return off;
		}
		/* a short read before the end would truncate the file */
		FUZZ_CHECK((size_t)r == want);
		if (off != 0)
			continue;
		/* where the daemon splices, the source holds the same bytes */
		sp = pt_tensor_span(ck, x, 0, &src_off, &err);
		if (sp < 0) {
			fuzz_check_error(&err);
		} else if (sp == 1) {
			FUZZ_CHECK(src_off <= ck->src->size &&
				   x->nbytes <= ck->src->size - src_off);
			FUZZ_CHECK(pread(ck->src->fd, spl, want, (off_t)src_off) == (ssize_t)want);
			FUZZ_CHECK(memcmp(buf, spl, want) == 0);
		}
	}
	/* at and past the end: nothing */
	pt_error_clear(&err);
	r = pt_tensor_read(ck, x, buf, CHUNK, x->nbytes, &err);
	FUZZ_CHECK(r <= 0);
	return off < x->nbytes ? off : x->nbytes;
}

static void walk(const struct pt_checkpoint *ck)
{
	const struct pt_tree *t = ck->tree;
	unsigned char *buf = malloc(CHUNK), *spl = malloc(CHUNK);
	uint64_t budget = READ_BUDGET, ino, used;
	struct pt_node *n;
	char *key;

	if (!buf || !spl)
		goto out;
	FUZZ_CHECK(t->nnodes >= 2 && pt_tree_ctl_dir(t) != NULL);
	for (ino = 1; ino <= t->nnodes; ino++) {
		n = pt_tree_node(t, ino);
		FUZZ_CHECK(n != NULL && n->ino == ino);
		touch(n->name);
		touch(n->type);
		key = pt_node_key(n);
		FUZZ_CHECK(key != NULL);
		touch(key);
		free(key);
		if (ino > 1)
			check_name(t, n);
		sink += pt_node_size(n);
		switch (n->kind) {
		case PT_NODE_DIR:
			check_dir(n);
			break;
		case PT_NODE_TENSOR:
			tensor_xattrs(n->u.tensor);
			used = read_tensor(ck, n->u.tensor, buf, spl, budget);
			budget -= used < budget ? used : budget;
			break;
		case PT_NODE_DATA:
		case PT_NODE_LINK:
			FUZZ_CHECK(n->u.data.p != NULL || n->u.data.len == 0);
			if (n->u.data.len)
				sink += n->u.data.p[0] + n->u.data.p[n->u.data.len - 1];
			break;
		default:
			break;
		}
	}
	FUZZ_CHECK(pt_tree_node(t, t->nnodes + 1) == NULL);
out:
	free(buf);
	free(spl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_checkpoint *ck;
	struct pt_error err;
	const char *path;

	path = fuzz_file(data, size);
	if (!path)
		return 0;
	pt_error_clear(&err);
	ck = pt_checkpoint_open(path, NULL, &err);
	if (!ck) {
		fuzz_check_error(&err);
		return 0;
	}
	walk(ck);
	pt_checkpoint_close(ck);
	return 0;
}
