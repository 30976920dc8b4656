/*
 * manifest.c - the text of `.ptfs/manifest` (manifest.h).
 *
 * One pass over the tree in its order, one line per tensor, written into
 * a memory stream: at 100,000 tensors the text is a few MB and takes tens
 * of milliseconds, so it is made whole when asked for rather than kept.
 * Names hold no tab or newline (docs/tree.md escapes control characters),
 * so the columns need no quoting.
 */
#define _GNU_SOURCE
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>

#include "checkpoint.h"
#include "dtype.h"

static void ints(FILE *f, const int64_t *v, int n)
{
	fputc('[', f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%lld", i ? "," : "", (long long)v[i]);
	fputc(']', f);
}

char *pt_manifest_text(const struct pt_checkpoint *ck, size_t *len, struct pt_error *err)
{
	const struct pt_node *n;
	char *buf = NULL, *path = NULL;
	size_t cap = 0;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return pt_error_set(err, PT_ERR_NOMEM, "manifest: out of memory"), NULL;
	fputs("path\tdtype\tshape\tstride\tstorage_offset\tsaved_location\tlocation\tbytes\n", f);
	for (n = pt_tree_next(ck->tree, NULL); n; n = pt_tree_next(ck->tree, n)) {
		const struct pt_tensor *t = n->u.tensor;

		if (n->kind != PT_NODE_TENSOR)
			continue;
		if (pt_node_path(n, path, cap) >= cap) {
			size_t need = pt_node_path(n, NULL, 0) + 1;
			char *p = realloc(path, need);

			if (!p)
				goto out_nomem;
			path = p;
			cap = need;
			pt_node_path(n, path, cap);
		}
		fprintf(f, "%s\t%s\t", path, pt_dtype_name(t->dtype));
		ints(f, t->shape, t->ndim);
		fputc('\t', f);
		ints(f, t->stride, t->ndim);
		fprintf(f, "\t%lld\t%s\t%s\t%llu\n", (long long)t->offset,
			t->storage ? t->storage->saved_location : "-", pt_tensor_location(t),
			(unsigned long long)t->nbytes);
	}
	free(path);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return pt_error_set(err, PT_ERR_NOMEM, "manifest: out of memory"), NULL;
	}
	return buf;

out_nomem:
	free(path);
	fclose(f);
	free(buf);
	return pt_error_set(err, PT_ERR_NOMEM, "manifest: out of memory"), NULL;
}
