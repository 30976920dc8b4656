/*
 * tree_int.h - what tree.c (the builder) and tree_names.c (names and keys)
 * share while a tree is built. Not for other modules.
 */
#ifndef PT_TREE_INT_H
#define PT_TREE_INT_H

#include <stdbool.h>

#include "tree.h"

#define NAME_MAX_BYTES 255
#define PT_SPLIT_MAX_BYTES 4096 /* longer keys are not split at dots */

struct builder {
	struct pt_tree *t;
	const struct pt_tree_limits *lim;
	struct pt_error *err;
	struct pt_node *ctl;
	/* strings needed only while building (reprs, lookups), freed after */
	struct pt_arena scratch;
	/* the hash add_dotted's failed lookup of (hint_dir, hint_name) computed */
	const struct pt_node *hint_dir;
	const char *hint_name;
	uint32_t hint_hash;
	size_t copied; /* bytes of numpy arrays and repr texts made, for lim->max_copy */
};

/* x + y + z + w in a (the tree's arena or the scratch one); NULL with b->err. */
char *pt_name_cat(struct builder *b, struct pt_arena *a, const char *x, const char *y,
		  const char *z, const char *w);

/* repr(s) is 's' quoted as it is: printable ASCII, no quote, no backslash. */
bool pt_name_repr_plain(const char *s, size_t n);

/*
 * pkey + "[" + repr(k) + "]" in the tree's arena; a key with no literal form
 * reads "[<tuple key>]". NULL (err set) on ENOMEM, or when pkey is NULL.
 */
char *pt_name_key_subscript(struct builder *b, const char *pkey, const struct pt_value *k);

/* s can follow a '.' in Python: an ASCII identifier and no keyword. */
bool pt_name_identifier(const char *s);

/* n is a TorchScript object (its type starts with "__torch__."). */
bool pt_name_script_object(const struct pt_node *n);

/* s can follow a '.' on what torch.jit.load returns (not a name it shadows). */
bool pt_name_script_identifier(const char *s);

/* pkey + ".__getattr__(" + repr(k) + ")"; NULL on ENOMEM. */
char *pt_name_script_attr_key(struct builder *b, const char *pkey, const struct pt_value *k);

/* s[0..len) can be a name in dir as it is (docs/tree.md, "Names"). */
bool pt_name_ok(const char *s, size_t len, const struct pt_node *dir, const struct builder *b);

/* '%' + repr(k), '%' and '/' percent-encoded, long ones cut and hashed; NULL on ENOMEM. */
char *pt_name_escaped(struct builder *b, const struct pt_value *k, size_t index);

#endif
