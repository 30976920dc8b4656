/*
 * tree_int.h - what the tree builder's two files share. Not part of the
 * library API. tree.c walks the values and makes the nodes; tree_names.c
 * makes their names and keys. The functions follow tree.c's rule: NULL or
 * -1 on failure with b->err set.
 */
#ifndef PT_TREE_INT_H
#define PT_TREE_INT_H

#include <stdbool.h>
#include <stddef.h>

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
	/*
	 * Building the second half of a dict into a tree of its own
	 * (split_items): a container value is refused (its directory, kept in
	 * its aux, may be the other half's to make or link to), and the whole
	 * half is then added the usual way.
	 */
	bool part;
};

/* x + y + z + w in a (the tree's arena or the scratch one). */
char *pt_names_cat(struct builder *b, struct pt_arena *a, const char *x, const char *y,
		   const char *z, const char *w);

/* x + y + z in the tree's arena. */
static inline char *pt_names_cat3(struct builder *b, const char *x, const char *y, const char *z)
{
	return pt_names_cat(b, &b->t->arena, x, y, z, "");
}

/* repr(s[0..n)) is s in quotes: printable ASCII, no quote, no backslash. */
bool pt_names_plain(const char *s, size_t n);

/* pkey + "[" + repr(k) + "]" in the tree's arena; NULL when pkey is NULL or on ENOMEM. */
char *pt_names_subscript(struct builder *b, const char *pkey, const struct pt_value *k);

/* s is a Python identifier (ASCII). */
bool pt_names_identifier(const char *s);

/* s[0..len) can name an entry of dir as it is. */
bool pt_names_ok(const char *s, size_t len, const struct pt_node *dir, const struct builder *b);

/* '%' + repr(k) for the key at index of its dict, in the tree's arena. */
char *pt_names_escaped(struct builder *b, const struct pt_value *k, size_t index);

#endif
