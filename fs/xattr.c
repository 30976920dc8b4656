/*
 * xattr.c - the user.pt.* extended attributes (contract: "Extended
 * attributes"). Values are computed on demand from the immutable tree; only
 * user.pt.location (the location rules), user.pt.resident and
 * user.pt.cuda_ipc (materialize) depend on state that can change.
 */
#include "ptfs.h"
#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const common_names[] = { "user.pt.type", "user.pt.key" };
static const char *const tensor_names[] = {
	"user.pt.dtype", "user.pt.shape", "user.pt.stride", "user.pt.storage_offset",
	"user.pt.storage", "user.pt.requires_grad", "user.pt.saved_location",
	"user.pt.location",
};

static ssize_t dup_out(const char *s, char **out)
{
	*out = strdup(s);
	return *out ? (ssize_t)strlen(s) : -ENOMEM;
}

static ssize_t json_ints(const int64_t *v, int n, char **out)
{
	size_t cap = 2 + (size_t)n * 21, len = 0;
	char *s = malloc(cap + 1);
	int i;

	if (!s)
		return -ENOMEM;
	s[len++] = '[';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap + 1 - len, "%s%lld", i ? "," : "", (long long)v[i]);
	s[len++] = ']';
	s[len] = '\0';
	*out = s;
	return (ssize_t)len;
}

/*
 * user.pt.sha256: the hash of the file's content, computed on first request
 * and kept for the mount's life (digest.h). Not listed by listxattr, so
 * `getfattr -d` never hashes a whole checkpoint by accident.
 */
static ssize_t sha256_of(struct ptfs *fs, const struct pt_node *node, char **out)
{
	static const char hex[] = "0123456789abcdef";
	struct pt_checkpoint *ck = ptfs_ck(fs);
	struct pt_sums *sums;
	unsigned char sum[32];
	struct pt_error err;
	char *s;

	if (node->kind != PT_NODE_TENSOR && node->kind != PT_NODE_DATA)
		return -ENODATA;
	if (pt_tree_node(ck->tree, node->ino) != node)
		return -ESTALE; /* of a checkpoint a reload replaced */
	sums = ptfs_sums(fs, ck);
	if (!sums)
		return -ENOMEM;
	pt_error_clear(&err);
	if (pt_sums_get(sums, node, sum, &err) < 0)
		return -ptfs_errno(&err);
	s = malloc(65);
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < 32; i++) {
		s[2 * i] = hex[sum[i] >> 4];
		s[2 * i + 1] = hex[sum[i] & 15];
	}
	s[64] = '\0';
	*out = s;
	return 64;
}

ssize_t ptfs_xattr_get(struct ptfs *fs, const struct pt_node *node, const char *name, char **out)
{
	const struct pt_tensor *t;
	char num[32];

	if (strncmp(name, "user.pt.", 8) != 0)
		return -ENODATA;
	if (!strcmp(name, "user.pt.type"))
		return dup_out(node->type, out);
	if (!strcmp(name, "user.pt.key")) {
		*out = pt_node_key(node);
		return *out ? (ssize_t)strlen(*out) : -ENOMEM;
	}
	if (!strcmp(name, "user.pt.sha256")) /* asked by name only: never listed */
		return sha256_of(fs, node, out);
	if (node->kind == PT_NODE_DATA && node->u.data.array) { /* a numpy array */
		if (!strcmp(name, "user.pt.dtype"))
			return dup_out(node->u.data.array->dtype, out);
		if (!strcmp(name, "user.pt.shape"))
			return json_ints(node->u.data.array->shape, node->u.data.array->ndim, out);
		return -ENODATA;
	}
	if (node->kind != PT_NODE_TENSOR)
		return -ENODATA;
	t = node->u.tensor;
	if (!strcmp(name, "user.pt.dtype"))
		return dup_out(pt_dtype_name(t->dtype), out);
	if (!strcmp(name, "user.pt.shape"))
		return json_ints(t->shape, t->ndim, out);
	if (!strcmp(name, "user.pt.stride"))
		return json_ints(t->stride, t->ndim, out);
	if (!strcmp(name, "user.pt.storage_offset")) {
		snprintf(num, sizeof(num), "%lld", (long long)t->offset);
		return dup_out(num, out);
	}
	if (!strcmp(name, "user.pt.requires_grad"))
		return dup_out(t->requires_grad ? "true" : "false", out);
	if (!t->storage)
		return -ENODATA;
	if (!strcmp(name, "user.pt.storage"))
		return dup_out(t->storage->key, out);
	if (!strcmp(name, "user.pt.saved_location"))
		return dup_out(t->storage->saved_location, out);
	if (!strcmp(name, "user.pt.location"))
		return dup_out(pt_tensor_location(t), out);
	/*
	 * Asked by name only, never listed: `getfattr -R -d` reads the same
	 * whether a GPU was used or not, and an IPC handle (which lets any
	 * process of the user map the memory) does not end up in dumps.
	 */
	if (!strcmp(name, "user.pt.resident") || !strcmp(name, "user.pt.cuda_ipc"))
		return ptfs_gpu_xattr(fs, t, name, out);
	return -ENODATA;
}

ssize_t ptfs_xattr_list(struct ptfs *fs, const struct pt_node *node, char **out)
{
	size_t len = 0, i, n = 0;
	const char *names[16];
	char *s;

	(void)fs;
	for (i = 0; i < sizeof(common_names) / sizeof(*common_names); i++)
		names[n++] = common_names[i];
	if (node->kind == PT_NODE_TENSOR)
		for (i = 0; i < sizeof(tensor_names) / sizeof(*tensor_names); i++)
			if (node->u.tensor->storage || i < 4 || i == 5)
				names[n++] = tensor_names[i];
	if (node->kind == PT_NODE_DATA && node->u.data.array)
		for (i = 0; i < 2; i++) /* dtype, shape */
			names[n++] = tensor_names[i];
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	s = malloc(len ? len : 1);
	if (!s)
		return -ENOMEM;
	len = 0;
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]) + 1;

		memcpy(s + len, names[i], l);
		len += l;
	}
	*out = s;
	return (ssize_t)len;
}
