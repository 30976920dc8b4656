/*
 * code.c - TorchScript code/ members as files (code.h).
 *
 * The nodes are added once at open from the container's record table
 * (names and sizes only). Contents are cached per checkpoint in a small
 * table under its own mutex: a TorchScript archive holds tens of such
 * members, so a linear search by record is enough. The cache is the only
 * state that changes after open; it is freed with the checkpoint.
 */
#include "code.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

struct code_entry {
	const struct pt_record *rec;
	unsigned char *buf; /* pages.h, rec->size bytes */
};

struct pt_code_cache {
	pthread_mutex_t lock;
	struct code_entry *v;
	size_t n, cap;
};

/* The child of dir named name[0..len), made as a folder when missing. */
static struct pt_node *subdir(struct pt_tree *t, struct pt_node *dir, const char *name,
			      size_t len, struct pt_error *err)
{
	struct pt_node *c = pt_tree_lookup_n(t, dir, name, len, NULL);
	char *nm;

	if (c)
		return c->kind == PT_NODE_DIR ? c : NULL;
	nm = pt_arena_strndup(&t->arena, name, len, err);
	if (!nm)
		return NULL;
	c = pt_tree_add_node(t, SIZE_MAX, dir, nm, NULL, PT_NODE_DIR, "ptfs.code", "", err);
	if (c)
		memset(&c->u, 0, sizeof(c->u));
	return c;
}

static bool part_ok(const char *p, size_t len)
{
	return len && len <= 255 && !(len == 1 && p[0] == '.') &&
	       !(len == 2 && p[0] == '.' && p[1] == '.');
}

int pt_code_add(struct pt_checkpoint *ck, struct pt_error *err)
{
	struct pt_tree *t = ck->tree;
	struct pt_node *root = NULL;
	size_t i;

	if (!ck->c->torchscript && !ck->c->model_json)
		return 0;
	for (i = 0; i < ck->c->nrecords; i++) {
		const struct pt_record *r = &ck->c->records[i];
		const char *p = r->name, *slash;
		struct pt_node *dir, *leaf;
		bool ok = true;
		char *nm;

		if (strncmp(p, "code/", 5) != 0 || memchr(p, '\\', strlen(p)))
			continue;
		for (slash = p + 5; ok; slash = strchr(slash, '/') + 1) {
			const char *end = strchr(slash, '/');

			ok = part_ok(slash, end ? (size_t)(end - slash) : strlen(slash));
			if (!end)
				break;
		}
		if (!ok)
			continue;
		if (!root) {
			root = subdir(t, pt_tree_ctl_dir(t), "code", 4, err);
			if (!root)
				return pt_error_set(err, err->code ? err->code : PT_ERR_FORMAT,
						    "%s", err->code ? err->msg : ".ptfs/code is taken");
		}
		dir = root;
		for (p += 5; (slash = strchr(p, '/')); p = slash + 1) {
			dir = subdir(t, dir, p, (size_t)(slash - p), err);
			if (!dir)
				break;
		}
		if (!dir || pt_tree_lookup(t, dir, p))
			continue; /* a file where a folder is, or a name twice */
		nm = pt_arena_strndup(&t->arena, p, strlen(p), err);
		if (!nm)
			return -1;
		leaf = pt_tree_add_node(t, SIZE_MAX, dir, nm, NULL, PT_NODE_RECORD, "ptfs.code", "",
					err);
		if (!leaf)
			return -1;
		leaf->u.record = r;
	}
	return 0;
}

/* The cached bytes of r, read now if need be; NULL with err. */
static const unsigned char *load(struct pt_checkpoint *ck, const struct pt_record *r,
				 struct pt_error *err)
{
	struct pt_code_cache *cc;
	const unsigned char *ret = NULL;
	unsigned char *buf;
	size_t i, len;

	pthread_mutex_lock(&ck->code_lock);
	cc = ck->code;
	if (!cc) {
		cc = ck->code = calloc(1, sizeof(*cc));
		if (!cc) {
			pt_error_set(err, PT_ERR_NOMEM, "out of memory");
			goto out_unlock;
		}
	}
	for (i = 0; i < cc->n; i++)
		if (cc->v[i].rec == r) {
			ret = cc->v[i].buf;
			goto out_unlock;
		}
	if (cc->n == cc->cap) {
		struct code_entry *nv = realloc(cc->v, (cc->cap * 2 + 8) * sizeof(*nv));

		if (!nv) {
			pt_error_set(err, PT_ERR_NOMEM, "out of memory");
			goto out_unlock;
		}
		cc->v = nv;
		cc->cap = cc->cap * 2 + 8;
	}
	if (pt_zip_read_member(ck->c, r->name, PT_CODE_MAX, &buf, &len, err) < 0)
		goto out_unlock;
	cc->v[cc->n].rec = r;
	cc->v[cc->n++].buf = buf;
	ret = buf;
out_unlock:
	pthread_mutex_unlock(&ck->code_lock);
	return ret;
}

int64_t pt_code_read(struct pt_checkpoint *ck, const struct pt_node *n, void *buf, size_t size,
		     uint64_t off, struct pt_error *err)
{
	const struct pt_record *r = n->u.record;
	const unsigned char *p;

	if (off >= r->size || size == 0)
		return 0;
	p = load(ck, r, err);
	if (!p)
		return -1;
	if (size > r->size - off)
		size = (size_t)(r->size - off);
	memcpy(buf, p + off, size);
	return (int64_t)size;
}

void pt_code_release(struct pt_checkpoint *ck)
{
	struct pt_code_cache *cc = ck->code;
	size_t i;

	if (!cc)
		return;
	for (i = 0; i < cc->n; i++)
		pt_pages_free(cc->v[i].buf, (size_t)cc->v[i].rec->size);
	free(cc->v);
	free(cc);
	ck->code = NULL;
}
