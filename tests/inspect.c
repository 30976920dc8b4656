/*
 * inspect.c - ptfs-inspect: opens a checkpoint with the library alone (no
 * FUSE) and prints its tree, one entry per line:
 *   <path>\t<kind>\t<type>\t<size>\t<key>[\t<dtype> <shape> <location>]
 * (a numpy array: <dtype> <shape>)
 * or the error, exactly as ptfs would print it. Used by tests and for
 * debugging a file without mounting it. With -r PATH it writes the content
 * of the entry at PATH to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

static void print_path(const struct pt_node *n)
{
	if (n->parent == n)
		return;
	if (n->parent->parent != n->parent) {
		print_path(n->parent);
		putchar('/');
	}
	fputs(n->name, stdout);
}

static int dump(const struct pt_checkpoint *ck, const char *path)
{
	const struct pt_node *n = ck->tree->nodes[0];
	char *p = strdup(path), *tok, *save = NULL;
	struct pt_error err;

	for (tok = strtok_r(p, "/", &save); tok && n; tok = strtok_r(NULL, "/", &save))
		n = pt_tree_lookup(ck->tree, n, tok);
	free(p);
	if (!n) {
		fprintf(stderr, "ptfs-inspect: %s: no such entry\n", path);
		return 1;
	}
	if (n->kind == PT_NODE_DATA || n->kind == PT_NODE_LINK) {
		fwrite(n->u.data.p, 1, n->u.data.len, stdout);
		return 0;
	}
	if (n->kind == PT_NODE_TENSOR) {
		static char buf[1 << 16];
		uint64_t off = 0;
		int64_t got;

		pt_error_clear(&err);
		while ((got = pt_tensor_read(ck, n->u.tensor, buf, sizeof(buf), off, &err)) > 0) {
			fwrite(buf, 1, (size_t)got, stdout);
			off += (uint64_t)got;
		}
		if (got < 0) {
			fprintf(stderr, "ptfs-inspect: %s: %s\n", path, err.msg);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "ptfs-inspect: %s: not a file\n", path);
	return 1;
}

int main(int argc, char **argv)
{
	struct pt_checkpoint *ck;
	struct pt_error err;
	const char *file, *read_path = NULL;
	size_t i;
	int rc = 0;

	setenv("TZ", ":/etc/localtime", 0); /* as fs/main.c: no stat per zip entry */
	if (argc == 4 && strcmp(argv[1], "-r") == 0) {
		read_path = argv[2];
		file = argv[3];
	} else if (argc == 2) {
		file = argv[1];
	} else {
		fprintf(stderr, "usage: ptfs-inspect [-r PATH] CHECKPOINT\n");
		return 2;
	}
	pt_error_clear(&err);
	ck = pt_checkpoint_open(file, NULL, &err);
	if (!ck) {
		fprintf(stderr, "ptfs: %s\n", err.msg);
		return 1;
	}
	if (read_path) {
		rc = dump(ck, read_path);
		pt_checkpoint_close(ck);
		return rc;
	}
	for (i = 1; i < ck->tree->nnodes; i++) {
		const struct pt_node *n = ck->tree->nodes[i];

		char *key = pt_node_key(n);

		print_path(n);
		printf("\t%s\t%s\t%llu\t%s", pt_node_kind_name(n), n->type,
		       (unsigned long long)pt_node_size(n), key ? key : "(out of memory)");
		free(key);
		if (n->kind == PT_NODE_TENSOR) {
			const struct pt_tensor *t = n->u.tensor;
			int d;

			printf("\t%s [", pt_dtype_name(t->dtype));
			for (d = 0; d < t->ndim; d++)
				printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
			printf("] %s", pt_tensor_location(t));
		}
		if (n->kind == PT_NODE_DATA && n->u.data.array) {
			const struct pt_array *ar = n->u.data.array;
			int d;

			printf("\t%s [", ar->dtype);
			for (d = 0; d < ar->ndim; d++)
				printf("%s%lld", d ? "," : "", (long long)ar->shape[d]);
			printf("]");
		}
		if (n->kind == PT_NODE_LINK)
			printf("\t-> %s", n->u.data.p);
		putchar('\n');
	}
	pt_checkpoint_close(ck);
	return rc;
}
