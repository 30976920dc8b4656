/*
 * tree.h - the checkpoint's object graph as a directory tree.
 *
 * The tree is built once at open from the values the pickle machine made,
 * and is immutable after that: the daemon may read it from many threads
 * without locks, and the kernel may cache every entry for as long as it
 * likes. It knows nothing of the container format.
 *
 * Naming (docs/tree.md): dict keys that are str are split at '.' into nested
 * directories; a key that cannot be split or named as it is becomes one
 * entry named '%' + repr(key), with '%' and '/' percent-encoded. Sequences
 * name their items 0, 1, 2... A whole nn.Module shows its state_dict names.
 * A container reached a second time (the memo shares it) becomes a
 * symbolic link to its first place, so shared references are never
 * expanded (a "billion laughs" pickle stays as small as its file).
 */
#ifndef PT_TREE_H
#define PT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "container.h"
#include "hash.h"
#include "pyobj.h"
#include "torch.h"
#include "value.h"

enum pt_node_kind {
	PT_NODE_DIR,     /* u.dir */
	PT_NODE_TENSOR,  /* u.tensor: the file is the tensor's bytes */
	PT_NODE_DATA,    /* u.data: bytes held in memory (text of a scalar, a str, bytes, a numpy array) */
	PT_NODE_LINK,    /* u.data: a relative symlink target */
	PT_NODE_SPECIAL, /* u.special: a file the daemon serves (.ptfs/control) */
	PT_NODE_RECORD,  /* u.record: an archive member shown as it is (.ptfs/code, code.h) */
};

struct pt_node {
	uint64_t ino;           /* 1 for the root; nodes[ino - 1] */
	const char *name;
	struct pt_node *parent; /* the root's parent is itself */
	enum pt_node_kind kind;
	uint32_t hash;          /* of (parent, name), once in the lookup table */
	const char *type;       /* user.pt.type */
	const char *key;        /* user.pt.key: read it with pt_node_key() */
	struct pt_node *next;   /* next sibling, in pickle order */
	struct pt_node *hnext;  /* next in the same lookup hash bucket, once in the table */
	union {
		struct {
			struct pt_node *first, *last;
			uint32_t n;
			bool prefix; /* made by splitting a dotted key */
		} dir;
		struct pt_tensor *tensor;
		struct {
			const char *p;
			size_t len;
			const struct pt_array *array; /* a numpy array's dtype and shape, or NULL */
		} data;
		int special;
		const struct pt_record *record;
	} u;
};

struct pt_tree {
	struct pt_arena arena;
	struct pt_node **nodes; /* by ino - 1 */
	size_t nnodes, cap;
	struct pt_node **buckets; /* lookup by (parent, name), of big directories' children */
	size_t nbuckets;
	size_t nindexed;          /* nodes in buckets */
	uint64_t seed;            /* of the lookup hash, from the tree's address */
	size_t ntensors;
	uint64_t ino_base; /* see struct pt_tree_limits */
};

struct pt_tree_limits {
	size_t max_depth; /* directory depth */
	size_t max_nodes;
	/*
	 * Inode numbers other than the root's (1) start after this, so a tree
	 * that replaces another (a reload) reuses none of its numbers: the
	 * kernel's cached ones then find nothing instead of the wrong entry.
	 */
	uint64_t ino_base;
	/*
	 * Bytes that numpy arrays and the texts of known objects (pyobj.h) may
	 * copy in all: each is no larger than the pickle, but a hostile one
	 * can name one big bytes value from a million small array objects.
	 * 0 means the default.
	 */
	size_t max_copy;
};

/* The limits ptfs uses: depth 1000, 1<<26 entries, inode base 0, 1 GiB copied. */
void pt_tree_limits_default(struct pt_tree_limits *l);

/*
 * Builds the tree of root into a new tree. The values must stay alive while
 * the tree is used (tensors are shared, not copied). Adds an empty `.ptfs`
 * directory at the root (a key named `.ptfs` is escaped). Returns NULL and
 * fills err (PT_ERR_LIMIT past a limit, PT_ERR_NOMEM). The caller frees the
 * tree with pt_tree_free().
 */
struct pt_tree *pt_tree_build(struct pt_value *root, const struct pt_tree_limits *limits,
			      struct pt_error *err);

/* The node with this inode number, or NULL. */
struct pt_node *pt_tree_node(const struct pt_tree *t, uint64_t ino);

/* The child of dir called name, or NULL. */
struct pt_node *pt_tree_lookup(const struct pt_tree *t, const struct pt_node *dir,
			       const char *name);

/*
 * The child of dir called name[0..len) (no NUL needed), or NULL. When hash
 * is not NULL it gets the name's hash, or 0 when dir is small enough to be
 * scanned and none was needed; pt_tree_add_node can take it instead of
 * hashing the name again. For tree.c's builder.
 */
struct pt_node *pt_tree_lookup_n(const struct pt_tree *t, const struct pt_node *dir,
				 const char *name, size_t len, uint32_t *hash);

/* The `.ptfs` directory. */
struct pt_node *pt_tree_ctl_dir(const struct pt_tree *t);

/*
 * Adds a special file called name under dir (the daemon's control files).
 * Returns the node, or NULL and err. Only before the tree is shared.
 */
struct pt_node *pt_tree_add_special(struct pt_tree *t, struct pt_node *dir, const char *name,
				    int special, struct pt_error *err);

/*
 * Adds a node called name (kept, not copied: it must live as long as the
 * tree) as the last child of parent, or the root when parent is NULL.
 * hash is the name's hash from pt_tree_lookup_n under parent, or NULL (or
 * 0) to compute it when needed. Returns the node, or NULL with err (PT_ERR_LIMIT past
 * max_nodes, PT_ERR_NOMEM). For tree.c's builder and pt_tree_add_special.
 */
struct pt_node *pt_tree_add_node(struct pt_tree *t, size_t max_nodes, struct pt_node *parent,
				 const char *name, const uint32_t *hash, enum pt_node_kind kind,
				 const char *type, const char *key, struct pt_error *err);

/*
 * Adds a symbolic link called name under parent whose relative target
 * ("../a/b", or "." for parent itself) leads to target, a directory of the
 * same tree. As pt_tree_add_node for the rest. For tree.c's builder.
 */
struct pt_node *pt_tree_add_link(struct pt_tree *t, size_t max_nodes, struct pt_node *parent,
				 const char *name, const char *type, const char *key,
				 const struct pt_node *target, struct pt_error *err);

/* Frees t. t may be NULL. */
void pt_tree_free(struct pt_tree *t);

/*
 * The entry after n in tree order (depth first, children in their order,
 * as `find` lists them), not entering symbolic links nor the `.ptfs`
 * folder; the first entry after the root when n is NULL; NULL at the end.
 * Needs no memory, so a walk cannot fail.
 */
const struct pt_node *pt_tree_next(const struct pt_tree *t, const struct pt_node *n);

/*
 * n's path from the root ("layer1/weight"; "" for the root) into buf (cap
 * bytes, NUL-terminated). Returns the path's length, which is cap or more
 * when it did not fit (then buf holds "").
 */
size_t pt_node_path(const struct pt_node *n, char *buf, size_t cap);

/*
 * n's path as the control file's /globs match it ("/layer1/weight") into
 * buf (cap bytes, at least 1); "" when it does not fit.
 */
void pt_node_glob_path(const struct pt_node *n, char *buf, size_t cap);

/*
 * Formats Python's repr() of a str/bytes/int/float/bool/None/tuple key value
 * into the arena; NULL for other kinds. Used for names and user.pt.key.
 */
char *pt_value_repr(struct pt_arena *a, const struct pt_value *v, struct pt_error *err);

/*
 * True when repr() of the str s[0..n) (UTF-8) shows every character as it
 * is (quotes and backslashes aside): no C0 control, DEL, C1 control or
 * other character str.isprintable() refuses. Such a key cannot be a name
 * as it is (docs/tree.md, "Names"). Pure; no failure.
 */
bool pt_str_printable(const char *s, size_t n);

/* CPython's repr() of a float: "0.1", "1e-05", "inf". */
void pt_repr_float(double f, char out[40]);

/*
 * The repr() of f at the precision of bits: 64 as pt_repr_float, 32 and 16
 * as numpy prints np.float32 and np.float16 (the shortest digits that read
 * back as the same float32/float16, "1e-04" for np.float32(1e-4)).
 */
void pt_repr_float_bits(double f, int bits, char out[48]);

/* "dir", "tensor", "data", "link" or "special": n's kind, for listings. */
const char *pt_node_kind_name(const struct pt_node *n);

/* The size of a node's content: tensor bytes, data length, link length, 0 for dirs. */
uint64_t pt_node_size(const struct pt_node *n);

/*
 * A node's user.pt.key (Python's subscripts from the root to it, such as
 * "['layer1.0.weight']"), in a malloc'd string the caller frees; NULL when
 * out of memory. The keys of a state_dict's entries are not stored but
 * made here from the names (node.c), which saves a string per entry.
 */
char *pt_node_key(const struct pt_node *n);

/* n->key's first byte when the key is made from the names: what follows is the dict's key. */
#define PT_NODE_KEY_NAMES '\x01'

#endif
