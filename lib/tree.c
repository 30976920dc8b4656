/*
 * tree.c - turning the pickled object graph into directories and files.
 *
 * One pass over the value graph, depth-first, in pickle order, so that `ls`
 * lists a state_dict in the order torch saved it. Each container value
 * remembers (value->aux) the directory made for it; meeting it again makes
 * a symlink to that directory instead of a second copy, which keeps cycles
 * finite and shared references unexpanded. Tensors are the exception: tied
 * weights appear as a regular file under every key that names them, all
 * pointing at one struct pt_tensor.
 *
 * Lookup (node.c) is one hash table over (parent, name) for the whole tree;
 * it also serves the collision checks while dotted keys are split.
 */
#include "tree.h"
#include "tree_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_TREE_COPY_DEFAULT ((size_t)1 << 30) /* struct pt_tree_limits.max_copy */

static struct pt_node *node_new(struct builder *b, struct pt_node *parent, const char *name,
				enum pt_node_kind kind, const char *type, const char *key)
{
	const uint32_t *h = parent == b->hint_dir && name == b->hint_name ? &b->hint_hash : NULL;

	b->hint_dir = NULL;
	return pt_tree_add_node(b->t, b->lim->max_nodes, parent, name, h, kind, type, key, b->err);
}

static char *cat3(struct builder *b, const char *x, const char *y, const char *z)
{
	return pt_name_cat(b, &b->t->arena, x, y, z, "");
}

static char *arena_strndup(struct builder *b, const char *s, size_t n)
{
	return pt_arena_strndup(&b->t->arena, s, n, b->err);
}

static int add_value(struct builder *b, struct pt_node *parent, const char *name,
		     const char *key, struct pt_value *v, size_t depth);
static bool is_container(const struct pt_value *v);

/* Places a child under dir with a unique name; the escaped fallback for collisions. */
static int add_escaped(struct builder *b, struct pt_node *dir, const struct pt_value *k,
		       size_t index, const char *key, struct pt_value *v, size_t depth)
{
	char *name = pt_name_escaped(b, k, index);
	unsigned tries = 0;

	if (!name)
		return -1;
	while (pt_tree_lookup(b->t, dir, name)) {
		char suffix[24];

		snprintf(suffix, sizeof(suffix), "~%u", ++tries);
		name = cat3(b, name, suffix, "");
		if (!name)
			return -1;
	}
	return add_value(b, dir, name, key, v, depth);
}

/*
 * The child of dir called p[0..len), or NULL with *h its hash for the node
 * about to be made. A state_dict lists keys sharing a prefix together
 * ("layer1.0.weight", "layer1.0.bias"), so the child wanted is most often
 * dir's newest one, or dir has none yet: both are answered without a probe
 * of the lookup table, whose every probe is a cache miss at 20,000 keys.
 */
static struct pt_node *find_child(struct builder *b, struct pt_node *dir, const char *p,
				  size_t len, uint32_t *h)
{
	struct pt_node *last = dir->u.dir.last;

	if (last && strncmp(last->name, p, len) == 0 && last->name[len] == '\0')
		return last;
	return pt_tree_lookup_n(b->t, dir, p, len, h);
}

/*
 * A str key split at '.': walks or creates prefix directories, then the leaf.
 * Returns 1 when the split is impossible (the caller escapes the key). key
 * is the leaf's user.pt.key, or NULL when nkey (PT_NODE_KEY_NAMES and the
 * dict's key) is given: the key is then its own repr, and the entries it
 * makes keep nkey instead of a key string of their own (pt_node_key makes
 * it from the names), but for a container, whose key its items extend.
 */
static int add_dotted(struct builder *b, struct pt_node *dir, const char *pkey,
		      const struct pt_value *k, const char *key, const char *nkey,
		      struct pt_value *v, size_t depth)
{
	const char *s = k->u.s.p, *end = s + k->u.s.len, *p, *dot;
	struct pt_node *cur = dir, *child;
	size_t parts;

	/*
	 * Keys too long or too deep to split stay one escaped entry: a hostile
	 * 40,000-part key must neither pass the depth limit nor cost O(n^2)
	 * in prefix keys.
	 */
	if (k->u.s.len > PT_SPLIT_MAX_BYTES)
		return 1;
	/*
	 * name_ok for each part, as the key allows: a part holds '/' or a
	 * character repr() escapes exactly when the key does, and never a dot,
	 * so it cannot be ".", ".." or ".ptfs"; what is left is its length and
	 * its first byte. A key with one unsafe part is escaped whole, like any
	 * other: 'a.b\nc' is one entry %'a.b\\nc', not a/%'b\\nc'. Without key
	 * the caller found the key printable ASCII already.
	 */
	if (memchr(s, '/', k->u.s.len) || (key && !pt_str_printable(s, k->u.s.len)))
		return 1;
	for (p = s, parts = 0;; p = dot + 1, parts++) {
		size_t plen;

		dot = memchr(p, '.', (size_t)(end - p));
		plen = (size_t)((dot ? dot : end) - p);
		if (plen == 0 || plen > NAME_MAX_BYTES || p[0] == '%')
			return 1;
		if (depth + parts > b->lim->max_depth)
			return 1;
		if (!dot)
			break;
	}
	for (p = s, parts = 0;; p = dot + 1) {
		char *part = NULL;
		size_t plen;
		uint32_t h;

		dot = memchr(p, '.', (size_t)(end - p));
		plen = (size_t)((dot ? dot : end) - p);
		child = find_child(b, cur, p, plen, &h);
		if (!child) { /* a new entry keeps its name, and the hash just computed */
			part = arena_strndup(b, p, plen);
			if (!part)
				return -1;
			b->hint_dir = cur;
			b->hint_name = part;
			b->hint_hash = h;
		}
		if (!dot) {
			if (child)
				return 1;
			if (!key && is_container(v) && !(key = pt_name_key_subscript(b, pkey, k)))
				return -1;
			return add_value(b, cur, part, key ? key : nkey, v, depth + parts);
		}
		if (child && !(child->kind == PT_NODE_DIR && child->u.dir.prefix))
			return 1;
		if (!child) {
			/* "['layer1.0.*']": names the group of keys, not one key */
			const char *ks = nkey;

			if (!ks) {
				struct pt_value pv = { .kind = PT_V_STR };

				pv.u.s.len = (size_t)(dot - s) + 2;
				pv.u.s.p = pt_arena_alloc(&b->scratch, pv.u.s.len + 1, b->err);
				if (!pv.u.s.p)
					return -1;
				memcpy(pv.u.s.p, s, pv.u.s.len - 1);
				pv.u.s.p[pv.u.s.len - 1] = '*';
				ks = pt_name_key_subscript(b, pkey, &pv);
				if (!ks)
					return -1;
			}
			child = node_new(b, cur, part, PT_NODE_DIR, "ptfs.prefix", ks);
			if (!child)
				return -1;
			child->u.dir.prefix = true;
		}
		cur = child;
		parts++;
	}
}

static int add_dict_items(struct builder *b, struct pt_node *dir, const char *pkey,
			  const struct pt_vdict *d, size_t depth)
{
	char *nkey = NULL; /* PT_NODE_KEY_NAMES + pkey, made at the first plain str key */
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct pt_value *k = d->k[i], *v = d->v[i];
		char *key = NULL;
		int r = 1;

		if (k->kind == PT_V_STR && pt_name_repr_plain(k->u.s.p, k->u.s.len)) {
			if (!nkey)
				nkey = pt_name_cat(b, &b->t->arena, (char[]){ PT_NODE_KEY_NAMES, '\0' }, pkey,
					      "", "");
			if (!nkey)
				return -1;
			r = add_dotted(b, dir, pkey, k, NULL, nkey, v, depth);
		} else if (!(key = pt_name_key_subscript(b, pkey, k))) {
			return -1;
		} else if (k->kind == PT_V_STR) {
			r = add_dotted(b, dir, pkey, k, key, NULL, v, depth);
		} else if (k->kind == PT_V_INT) {
			char num[24];

			snprintf(num, sizeof(num), "%lld", (long long)k->u.i);
			if (!pt_tree_lookup(b->t, dir, num)) {
				char *nm = arena_strndup(b, num, strlen(num));

				r = nm ? add_value(b, dir, nm, key, v, depth) : -1;
			}
		}
		if (r < 0)
			return -1;
		if (r == 1 && !key && !(key = pt_name_key_subscript(b, pkey, k)))
			return -1;
		if (r == 1 && add_escaped(b, dir, k, i, key, v, depth) < 0)
			return -1;
	}
	return 0;
}

static int add_seq_items(struct builder *b, struct pt_node *dir, const char *pkey,
			 const char *fmt, const struct pt_vseq *s, size_t depth)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		char num[24], sub[40], *name, *key;

		snprintf(num, sizeof(num), "%zu", i);
		snprintf(sub, sizeof(sub), fmt, i);
		name = arena_strndup(b, num, strlen(num));
		key = name ? cat3(b, pkey, sub, "") : NULL;
		if (!key || add_value(b, dir, name, key, s->v[i], depth) < 0)
			return -1;
	}
	return 0;
}

/* Entries of an nn.Module's parameter/buffer/module dict, state_dict-named. */
static int add_module_part(struct builder *b, struct pt_node *dir, const char *pkey,
			   const char *attr, struct pt_value *d, size_t depth)
{
	size_t i;

	if (!d || d->kind != PT_V_DICT)
		return 0;
	for (i = 0; i < d->u.dict.n; i++) {
		struct pt_value *k = d->u.dict.k[i], *v = d->u.dict.v[i];
		char *key, *sub;

		if (v->kind == PT_V_NONE)
			continue;
		sub = pt_name_cat(b, &b->scratch, pkey, attr, "", "");
		key = sub ? pt_name_key_subscript(b, sub, k) : NULL;
		if (!key)
			return -1;
		if (k->kind == PT_V_STR && pt_name_ok(k->u.s.p, k->u.s.len, dir, b) &&
		    !pt_tree_lookup(b->t, dir, k->u.s.p)) {
			char *nm = arena_strndup(b, k->u.s.p, k->u.s.len);

			if (!nm || add_value(b, dir, nm, key, v, depth) < 0)
				return -1;
		} else if (add_escaped(b, dir, k, i, key, v, depth) < 0) {
			return -1;
		}
	}
	return 0;
}

static bool is_module_state(const struct pt_value *state)
{
	return state && state->kind == PT_V_DICT && pt_vdict_get_str(&state->u.dict, "_parameters") &&
	       pt_vdict_get_str(&state->u.dict, "_modules");
}

static int add_attrs(struct builder *b, struct pt_node *dir, const char *pkey,
		     const struct pt_value *state, bool skip_module_parts, size_t depth)
{
	struct pt_node *target = dir;
	const char *base = pkey;
	size_t i;

	if (!state || state->kind != PT_V_DICT)
		return 0;
	if (skip_module_parts) {
		/* the module's other attributes, out of the state_dict's way */
		base = cat3(b, pkey, ".__dict__", "");
		if (!base)
			return -1;
		target = node_new(b, dir, ".__dict__", PT_NODE_DIR, "dict", base);
		if (!target)
			return -1;
	}
	for (i = 0; i < state->u.dict.n; i++) {
		struct pt_value *k = state->u.dict.k[i], *v = state->u.dict.v[i];
		char *key;

		if (skip_module_parts && k->kind == PT_V_STR &&
		    (!strcmp(k->u.s.p, "_parameters") || !strcmp(k->u.s.p, "_buffers") ||
		     !strcmp(k->u.s.p, "_modules")))
			continue;
		if (!skip_module_parts && k->kind == PT_V_STR && pt_name_script_object(dir) &&
		    !pt_name_script_identifier(k->u.s.p))
			key = pt_name_script_attr_key(b, pkey, k);
		else if (skip_module_parts || k->kind != PT_V_STR || !pt_name_identifier(k->u.s.p))
			key = pt_name_key_subscript(b, skip_module_parts ? base
							      : pt_name_cat(b, &b->scratch, pkey, ".__dict__", "", ""),
					    k);
		else
			key = cat3(b, pkey, ".", k->u.s.p);
		if (!key)
			return -1;
		if (k->kind == PT_V_STR && pt_name_ok(k->u.s.p, k->u.s.len, target, b) &&
		    !pt_tree_lookup(b->t, target, k->u.s.p)) {
			char *nm = arena_strndup(b, k->u.s.p, k->u.s.len);

			if (!nm || add_value(b, target, nm, key, v, depth) < 0)
				return -1;
		} else if (add_escaped(b, target, k, i, key, v, depth) < 0) {
			return -1;
		}
	}
	return 0;
}

/* The state of an object with __slots__: (__dict__ or None, {slot: value}). */
static bool is_dict_slots(const struct pt_value *st)
{
	size_t i;

	if (!st || st->kind != PT_V_TUPLE || st->u.seq.n != 2)
		return false;
	for (i = 0; i < 2; i++)
		if (st->u.seq.v[i]->kind != PT_V_DICT && st->u.seq.v[i]->kind != PT_V_NONE)
			return false;
	return true;
}

static int add_object(struct builder *b, struct pt_node *dir, const char *pkey,
		      struct pt_value *v, size_t depth)
{
	struct pt_vobj *o = &v->u.obj;
	struct pt_value *st = o->state;

	if (is_module_state(st)) {
		if (add_module_part(b, dir, pkey, "._parameters", pt_vdict_get_str(&st->u.dict, "_parameters"), depth) < 0 ||
		    add_module_part(b, dir, pkey, "._buffers", pt_vdict_get_str(&st->u.dict, "_buffers"), depth) < 0 ||
		    add_module_part(b, dir, pkey, "._modules", pt_vdict_get_str(&st->u.dict, "_modules"), depth) < 0)
			return -1;
		return add_attrs(b, dir, pkey, st, true, depth);
	}
	if (is_dict_slots(st)) {
		if (add_attrs(b, dir, pkey, st->u.seq.v[0], false, depth) < 0 ||
		    add_attrs(b, dir, pkey, st->u.seq.v[1], false, depth) < 0)
			return -1;
	} else if (st && st->kind == PT_V_DICT) {
		if (add_attrs(b, dir, pkey, st, false, depth) < 0)
			return -1;
	} else if (st && st->kind != PT_V_NONE) {
		/* a state that is not attributes: hidden, named as its key says */
		char *key = cat3(b, pkey, ".__getstate__()", "");

		if (!key || add_value(b, dir, ".__getstate__()", key, st, depth) < 0)
			return -1;
	}
	if (add_dict_items(b, dir, pkey, &o->items, depth) < 0)
		return -1;
	if (add_seq_items(b, dir, pkey, "[%zu]", &o->appends, depth) < 0)
		return -1;
	if (!st && !o->items.n && !o->appends.n && o->args && o->args->u.seq.n)
		return add_seq_items(b, dir, pkey, "<arg %zu>", &o->args->u.seq, depth);
	return 0;
}

static int add_data(struct builder *b, struct pt_node *parent, const char *name,
		    const char *type, const char *key, const char *p, size_t len, bool nl)
{
	struct pt_node *n = node_new(b, parent, name, PT_NODE_DATA, type, key);
	char *d;

	if (!n)
		return -1;
	d = pt_arena_alloc(&b->t->arena, len + 2, b->err);
	if (!d)
		return -1;
	memcpy(d, p, len);
	if (nl)
		d[len++] = '\n';
	n->u.data.p = d;
	n->u.data.len = len;
	return 0;
}

static const char *value_type(struct builder *b, const struct pt_value *v)
{
	if (v->type)
		return v->type;
	switch (v->kind) {
	case PT_V_OBJECT:
		return pt_pyobj_type(&b->t->arena, v, b->err);
	case PT_V_BIGINT:
		return "int";
	case PT_V_TENSOR:
		return v->u.tensor->type;
	default:
		return pt_vkind_name(v->kind);
	}
}

static bool is_container(const struct pt_value *v)
{
	switch (v->kind) {
	case PT_V_TUPLE: case PT_V_LIST: case PT_V_SET: case PT_V_FROZENSET: case PT_V_DICT:
	case PT_V_OBJECT:
		return true;
	default:
		return false;
	}
}

static bool may_be_pyobj(const struct pt_value *v)
{
	return v->kind == PT_V_OBJECT || (v->kind == PT_V_TUPLE && v->type);
}

/* An object's directory: the items pyobj.c lists for it, else its state. */
static int add_object_entries(struct builder *b, struct pt_node *dir, const char *pkey,
			      struct pt_value *v, size_t depth)
{
	struct pt_pyobj po;

	if (pt_pyobj_describe(&b->t->arena, v, &po, b->err) < 0)
		return -1;
	if (po.form == PT_PYOBJ_ITEMS)
		return add_seq_items(b, dir, pkey, po.item_fmt, po.items, depth);
	return add_object(b, dir, pkey, v, depth);
}

/*
 * A known object shown as a file (pyobj.h): 0 when added, -1 on failure, 1
 * when it is a directory after all. A file met again through the memo
 * shares the first one's bytes, so a pickle that names one array a million
 * times does not copy it a million times.
 */
static int add_pyobj(struct builder *b, struct pt_node *parent, const char *name,
		     const char *key, struct pt_value *v)
{
	const struct pt_node *first = v->aux;
	struct pt_pyobj po;
	struct pt_node *n;

	if (first && first->kind != PT_NODE_DATA)
		return 1;
	if (!first) {
		if (pt_pyobj_describe(&b->t->arena, v, &po, b->err) < 0)
			return -1;
		if (po.form == PT_PYOBJ_ITEMS || po.form == PT_PYOBJ_OTHER)
			return 1;
		if (po.form == PT_PYOBJ_TEXT) {
			po.data = cat3(b, po.text, "\n", "");
			if (!po.data)
				return -1;
			po.len = strlen(po.data);
		}
		b->copied += po.len;
		if (b->copied > (b->lim->max_copy ? b->lim->max_copy : PT_TREE_COPY_DEFAULT))
			return pt_error_set(b->err, PT_ERR_LIMIT,
					    "numpy arrays and object texts copy more than %zu bytes",
					    b->lim->max_copy ? b->lim->max_copy : PT_TREE_COPY_DEFAULT);
	}
	n = node_new(b, parent, name, PT_NODE_DATA, first ? first->type : po.type, key);
	if (!n)
		return -1;
	if (first) {
		n->u.data = first->u.data;
	} else {
		n->u.data.p = po.data;
		n->u.data.len = po.len;
		n->u.data.array = po.array;
		v->aux = n;
	}
	return 0;
}

static struct pt_tensor *storage_as_tensor(struct builder *b, struct pt_storage *s)
{
	struct pt_tensor *tn = pt_arena_alloc(&b->t->arena, sizeof(*tn), b->err);

	if (!tn)
		return NULL;
	tn->shape = pt_arena_alloc(&b->t->arena, 2 * sizeof(int64_t), b->err);
	if (!tn->shape)
		return NULL;
	tn->stride = tn->shape + 1;
	tn->storage = s;
	tn->dtype = s->dtype;
	tn->ndim = 1;
	tn->shape[0] = (int64_t)s->numel;
	tn->stride[0] = 1;
	tn->numel = s->numel;
	tn->nbytes = s->nbytes;
	tn->contiguous = true;
	tn->type = "torch.storage.TypedStorage";
	return tn;
}

static int add_value(struct builder *b, struct pt_node *parent, const char *name,
		     const char *key, struct pt_value *v, size_t depth)
{
	const char *type = value_type(b, v);
	char text[48];
	struct pt_node *n;

	if (!type)
		return -1;
	if (depth > b->lim->max_depth)
		return pt_error_set(b->err, PT_ERR_LIMIT,
				    "the object nests deeper than %zu levels", b->lim->max_depth);
	switch (v->kind) {
	case PT_V_TENSOR:
	case PT_V_STORAGE:
		n = node_new(b, parent, name, PT_NODE_TENSOR, type, key);
		if (!n)
			return -1;
		n->u.tensor = v->kind == PT_V_TENSOR ? v->u.tensor : storage_as_tensor(b, v->u.storage);
		if (!n->u.tensor)
			return -1;
		if (v->kind == PT_V_STORAGE)
			n->type = "torch.storage.TypedStorage";
		b->t->ntensors++;
		return 0;
	case PT_V_NONE: case PT_V_BOOL: case PT_V_INT: case PT_V_BIGINT: case PT_V_FLOAT: {
		char *r = pt_value_repr(&b->scratch, v, b->err);

		return r ? add_data(b, parent, name, type, key, r, strlen(r), true) : -1;
	}
	case PT_V_STR:
		return add_data(b, parent, name, type, key, v->u.s.p, v->u.s.len, true);
	case PT_V_BYTES: case PT_V_BYTEARRAY:
		return add_data(b, parent, name, type, key, v->u.s.p, v->u.s.len, false);
	case PT_V_GLOBAL: {
		const char *m = v->u.global.module, *nm = v->u.global.name;

		if (!strcmp(m, "torch") && pt_dtype_from_name(nm) != PT_DT_INVALID) {
			char *s = cat3(b, "torch.", nm, "");

			return s ? add_data(b, parent, name, "torch.dtype", key, s, strlen(s), true) : -1;
		}
		{
			char *s = cat3(b, m, ".", nm);

			return s ? add_data(b, parent, name, "ptfs.global", key, s, strlen(s), true) : -1;
		}
	}
	case PT_V_PERSID:
		snprintf(text, sizeof(text), "<persistent id>");
		return add_data(b, parent, name, "ptfs.persid", key, text, strlen(text), true);
	default:
		break;
	}
	if (!is_container(v))
		return pt_error_set(b->err, PT_ERR_UNSUPPORTED, "cannot show a %s", pt_vkind_name(v->kind));
	if (may_be_pyobj(v)) {
		int r = add_pyobj(b, parent, name, key, v);

		if (r <= 0)
			return r;
	}
	if (v->aux)
		return pt_tree_add_link(b->t, b->lim->max_nodes, parent, name, type, key, v->aux,
					b->err) ? 0 : -1;
	n = node_new(b, parent, name, PT_NODE_DIR, type, key);
	if (!n)
		return -1;
	v->aux = n;
	switch (v->kind) {
	case PT_V_DICT:
		return add_dict_items(b, n, key, &v->u.dict, depth + 1);
	case PT_V_OBJECT:
		return add_object_entries(b, n, key, v, depth + 1);
	default:
		return add_seq_items(b, n, key, "[%zu]", &v->u.seq, depth + 1);
	}
}

void pt_tree_limits_default(struct pt_tree_limits *l)
{
	l->max_depth = 1000;
	l->max_nodes = (size_t)1 << 26;
	l->ino_base = 0;
	l->max_copy = PT_TREE_COPY_DEFAULT;
}

struct pt_tree *pt_tree_build(struct pt_value *root, const struct pt_tree_limits *limits,
			      struct pt_error *err)
{
	struct pt_tree_limits def;
	struct builder b = { .lim = limits ? limits : &def, .err = err };
	struct pt_tree *t = calloc(1, sizeof(*t));
	struct pt_node *r;
	bool root_dir = is_container(root);
	int rc;

	pt_tree_limits_default(&def);
	if (!t)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	pt_arena_init(&t->arena, 0);
	pt_arena_init(&b.scratch, 0);
	t->ino_base = b.lim->ino_base;
	t->seed = pt_hash_seed(t);
	b.t = t;
	if (is_container(root) && may_be_pyobj(root)) {
		struct pt_pyobj po;

		if (pt_pyobj_describe(&b.scratch, root, &po, err) < 0)
			goto out_free;
		root_dir = po.form == PT_PYOBJ_ITEMS || po.form == PT_PYOBJ_OTHER;
	}
	r = node_new(&b, NULL, "", PT_NODE_DIR, root_dir ? value_type(&b, root) : "ptfs.root", "");
	if (!r)
		goto out_free;
	b.ctl = node_new(&b, r, ".ptfs", PT_NODE_DIR, "ptfs.control", "");
	if (!b.ctl)
		goto out_free;
	if (!root_dir) {
		rc = add_value(&b, r, "value", "", root, 1);
	} else {
		root->aux = r;
		switch (root->kind) {
		case PT_V_DICT:
			rc = add_dict_items(&b, r, "", &root->u.dict, 1);
			break;
		case PT_V_OBJECT:
			rc = add_object_entries(&b, r, "", root, 1);
			break;
		default:
			rc = add_seq_items(&b, r, "", "[%zu]", &root->u.seq, 1);
			break;
		}
	}
	if (rc < 0)
		goto out_free;
	pt_arena_release(&b.scratch);
	return t;

out_free:
	pt_arena_release(&b.scratch);
	pt_tree_free(t);
	return NULL;
}
