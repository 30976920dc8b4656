/*
 * node.c - the tree's nodes: adding them, finding them, freeing them.
 *
 * Nodes live in the tree's arena and are numbered in creation order (inode
 * ino_base + index + 1; the root is 1), so the inode lookup is an array
 * index. Lookup by (parent, name) scans the children of a small directory
 * (SMALL_DIR entries at most: the usual module folder) and probes one hash
 * table, for the whole tree, for a bigger one. Only the children of big
 * directories are in the table: a build then costs a random access per
 * entry of a big directory, not per entry, and a small directory's
 * children are the nodes just made. The table is chained through the
 * nodes and doubled whenever it would hold more nodes than buckets; each
 * node in it keeps its hash, so doubling rehashes no names. Both arrays
 * are pages.h buffers: a big tree's would otherwise be hundreds of 4 KiB
 * page faults. Building the tree from values is tree.c's work.
 */
#include "tree.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

#define SMALL_DIR 8 /* children found by a scan; more go in the hash table */

/*
 * A node keeps this hash, so that a rehash or a failed compare costs no
 * rehashing. Seeded: the names come from the file.
 */
static uint32_t name_hash(const struct pt_tree *t, const struct pt_node *dir, const char *name,
			  size_t len)
{
	uint64_t h = pt_hash_seeded(name, len, t->seed ^ dir->ino);

	return (uint32_t)(h ^ (h >> 32));
}

/* Whether dir's children are in the hash table (else found by a scan). */
static bool indexed(const struct pt_node *dir)
{
	return dir->u.dir.n > SMALL_DIR;
}

static void bucket_put(struct pt_tree *t, struct pt_node *n)
{
	size_t k = n->hash & (t->nbuckets - 1);

	n->hnext = t->buckets[k];
	t->buckets[k] = n;
}

/* A table of twice the buckets, holding the children of every indexed directory. */
static int rehash(struct pt_tree *t, struct pt_error *err)
{
	size_t nb = t->nbuckets ? t->nbuckets * 2 : 1024, i;
	struct pt_node **b = pt_pages_alloc(nb * sizeof(*b));

	if (!b)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	pt_pages_free(t->buckets, t->nbuckets * sizeof(*b));
	t->buckets = b;
	t->nbuckets = nb;
	for (i = 1; i < t->nnodes; i++) /* the root is never looked up */
		if (indexed(t->nodes[i]->parent))
			bucket_put(t, t->nodes[i]);
	return 0;
}

struct pt_node *pt_tree_lookup_n(const struct pt_tree *t, const struct pt_node *dir,
				 const char *name, size_t len, uint32_t *hash)
{
	struct pt_node *n;
	uint32_t h;

	if (hash)
		*hash = 0;
	if (!dir || dir->kind != PT_NODE_DIR || !dir->u.dir.n)
		return NULL;
	if (!indexed(dir)) {
		for (n = dir->u.dir.first; n; n = n->next)
			if (n->name[0] == name[0] && strncmp(n->name, name, len) == 0 &&
			    n->name[len] == '\0')
				return n;
		return NULL;
	}
	h = name_hash(t, dir, name, len);
	if (hash)
		*hash = h;
	for (n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->parent == dir && strncmp(n->name, name, len) == 0 &&
		    n->name[len] == '\0')
			return n;
	return NULL;
}

struct pt_node *pt_tree_lookup(const struct pt_tree *t, const struct pt_node *dir,
			       const char *name)
{
	return pt_tree_lookup_n(t, dir, name, strlen(name), NULL);
}

struct pt_node *pt_tree_node(const struct pt_tree *t, uint64_t ino)
{
	if (ino == 1)
		return t->nodes[0];
	if (ino <= t->ino_base + 1 || ino - t->ino_base > t->nnodes)
		return NULL;
	return t->nodes[ino - t->ino_base - 1];
}

struct pt_node *pt_tree_add_node(struct pt_tree *t, size_t max_nodes, struct pt_node *parent,
				 const char *name, const uint32_t *hash, enum pt_node_kind kind,
				 const char *type, const char *key, struct pt_error *err)
{
	struct pt_node *n, *c, *first;

	if (t->nnodes >= max_nodes)
		return pt_error_set(err, PT_ERR_LIMIT, "the tree would exceed %zu entries", max_nodes),
		       NULL;
	if (t->nnodes == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct pt_node **nn = pt_pages_realloc(t->nodes, t->cap * sizeof(*nn),
						       cap * sizeof(*nn));

		if (!nn)
			return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
		t->nodes = nn;
		t->cap = cap;
	}
	n = pt_arena_alloc(&t->arena, sizeof(*n), err);
	if (!n)
		return NULL;
	n->ino = t->nnodes ? t->ino_base + t->nnodes + 1 : 1;
	n->name = name;
	n->kind = kind;
	n->type = type;
	n->key = key;
	t->nodes[t->nnodes++] = n;
	if (!parent) {
		n->parent = n;
		return n;
	}
	n->parent = parent;
	if (parent->u.dir.last)
		parent->u.dir.last->next = n;
	else
		parent->u.dir.first = n;
	parent->u.dir.last = n;
	if (++parent->u.dir.n <= SMALL_DIR)
		return n; /* found by a scan of parent's children; hashed if parent grows */
	/* n joins the table, and with it parent's earlier children when parent just became big */
	first = parent->u.dir.n == SMALL_DIR + 1 ? parent->u.dir.first : n;
	for (c = first; c; c = c->next) {
		c->hash = c == n && hash && *hash ? *hash : name_hash(t, parent, c->name, strlen(c->name));
		t->nindexed++;
	}
	if (t->nindexed > t->nbuckets)
		return rehash(t, err) < 0 ? NULL : n; /* rehash places them */
	for (c = first; c; c = c->next)
		bucket_put(t, c);
	return n;
}

struct pt_node *pt_tree_ctl_dir(const struct pt_tree *t)
{
	return t->nodes[1];
}

struct pt_node *pt_tree_add_special(struct pt_tree *t, struct pt_node *dir, const char *name,
				    int special, struct pt_error *err)
{
	struct pt_node *n;
	char *nm = pt_arena_strndup(&t->arena, name, strlen(name), err);

	if (!nm)
		return NULL;
	n = pt_tree_add_node(t, SIZE_MAX, dir, nm, NULL, PT_NODE_SPECIAL, "ptfs.control", "", err);
	if (n)
		n->u.special = special;
	return n;
}

/* How many folders n is below the root. */
static size_t node_depth(const struct pt_node *n)
{
	size_t d = 0;

	while (n->parent != n) {
		n = n->parent;
		d++;
	}
	return d;
}

struct pt_node *pt_tree_add_link(struct pt_tree *t, size_t max_nodes, struct pt_node *parent,
				 const char *name, const char *type, const char *key,
				 const struct pt_node *target, struct pt_error *err)
{
	const struct pt_node *x = parent, *y = target, *common;
	size_t dx = node_depth(x), dy = node_depth(y), len = 0, total = 0, pos, ups = 0, i;
	struct pt_node *n;
	char *path;

	while (dx > dy) {
		x = x->parent;
		dx--;
		ups++;
	}
	while (dy > dx) {
		y = y->parent;
		dy--;
	}
	while (x != y) {
		x = x->parent;
		y = y->parent;
		ups++;
	}
	common = x;
	for (y = target; y != common; y = y->parent)
		total += strlen(y->name) + 1;
	path = pt_arena_alloc(&t->arena, ups * 3 + total + 3, err);
	if (!path)
		return NULL;
	for (i = 0; i < ups; i++)
		memcpy(path + i * 3, "../", 3);
	len = ups * 3;
	/* target's names below common, written from the end */
	pos = len + total;
	for (y = target; y != common; y = y->parent) {
		size_t l = strlen(y->name);

		pos -= l + 1;
		memcpy(path + pos, y->name, l);
		path[pos + l] = '/';
	}
	len += total;
	if (len == 0)
		path[len++] = '.';
	else
		len--; /* drop the trailing '/' */
	path[len] = '\0';
	n = pt_tree_add_node(t, max_nodes, parent, name, NULL, PT_NODE_LINK, type, key, err);
	if (!n)
		return NULL;
	n->u.data.p = path;
	n->u.data.len = len;
	return n;
}

uint64_t pt_node_size(const struct pt_node *n)
{
	switch (n->kind) {
	case PT_NODE_TENSOR:
		return n->u.tensor->nbytes;
	case PT_NODE_DATA:
	case PT_NODE_LINK:
		return n->u.data.len;
	case PT_NODE_RECORD:
		return n->u.record->size;
	default:
		return 0;
	}
}

/*
 * A key made from names: dotted str keys ("layer1.0.weight") become folders
 * of prefix nodes ("layer1", "0") and a leaf ("weight"), and their key is
 * the dict's key + "['" + the names from the first prefix folder down,
 * joined with '.', + "']" (a prefix folder's own ends in ".*"). tree.c
 * stores it so only when the names are exactly the key's parts and the key
 * is its own repr (printable ASCII, no quote or backslash).
 */
static bool is_prefix(const struct pt_node *n)
{
	return n->kind == PT_NODE_DIR && n->u.dir.prefix;
}

char *pt_node_key(const struct pt_node *n)
{
	const struct pt_node *p = n;
	const char *base;
	size_t len, l;
	char *s, *e;

	if (n->key[0] != PT_NODE_KEY_NAMES)
		return strdup(n->key);
	base = n->key + 1;
	len = strlen(base) + 4 + (is_prefix(n) ? 2 : 0) + strlen(n->name);
	for (p = n->parent; is_prefix(p); p = p->parent)
		len += strlen(p->name) + 1;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	e = s + len;
	*e = '\0';
	memcpy(e -= 2, "']", 2);
	if (is_prefix(n))
		memcpy(e -= 2, ".*", 2);
	for (p = n;; p = p->parent) {
		l = strlen(p->name);
		memcpy(e -= l, p->name, l);
		if (!is_prefix(p->parent))
			break;
		*--e = '.';
	}
	memcpy(e -= 2, "['", 2);
	memcpy(s, base, (size_t)(e - s));
	return s;
}

void pt_tree_free(struct pt_tree *t)
{
	if (!t)
		return;
	pt_arena_release(&t->arena);
	pt_pages_free(t->nodes, t->cap * sizeof(*t->nodes));
	pt_pages_free(t->buckets, t->nbuckets * sizeof(*t->buckets));
	free(t);
}

const struct pt_node *pt_tree_next(const struct pt_tree *t, const struct pt_node *n)
{
	const struct pt_node *root = t->nodes[0], *ctl = pt_tree_ctl_dir(t);

	if (!n || (n->kind == PT_NODE_DIR && n != ctl && n->u.dir.first)) {
		n = n ? n->u.dir.first : root->u.dir.first;
	} else {
		while (n != root && !n->next)
			n = n->parent;
		if (n == root)
			return NULL;
		n = n->next;
	}
	/* .ptfs is one of the root's entries: stepping onto it steps past it */
	return n == ctl ? pt_tree_next(t, ctl) : n;
}

void pt_node_glob_path(const struct pt_node *n, char *buf, size_t cap)
{
	buf[0] = '/';
	if (cap < 2 || pt_node_path(n, buf + 1, cap - 1) >= cap - 1)
		buf[0] = '\0';
}

size_t pt_node_path(const struct pt_node *n, char *buf, size_t cap)
{
	size_t len = 0, l, at;
	const struct pt_node *p;

	for (p = n; p->parent != p; p = p->parent)
		len += strlen(p->name) + (p == n ? 0 : 1);
	if (cap == 0)
		return len;
	if (len >= cap) { /* too long: the caller sees len >= cap; give it the start */
		buf[0] = '\0';
		return len;
	}
	buf[len] = '\0';
	at = len;
	for (p = n; p->parent != p; p = p->parent) {
		l = strlen(p->name);
		at -= l;
		memcpy(buf + at, p->name, l);
		if (at)
			buf[--at] = '/';
	}
	return len;
}

const char *pt_node_kind_name(const struct pt_node *n)
{
	switch (n->kind) {
	case PT_NODE_DIR: return "dir";
	case PT_NODE_TENSOR: return "tensor";
	case PT_NODE_DATA: return "data";
	case PT_NODE_LINK: return "link";
	default: return "special";
	}
}
