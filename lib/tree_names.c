/*
 * tree_names.c - the names and keys of a tree's entries (docs/tree.md,
 * "Names" and "user.pt.key"): which keys are names as they are, the escaped
 * name of those that are not, and the Python access path of each entry,
 * including TorchScript's `.__getattr__('0')`.
 */
#include "tree_int.h"

#include <stdio.h>
#include <string.h>

/* x + y + z + w in a (the tree's arena or the scratch one) */
char *pt_name_cat(struct builder *b, struct pt_arena *a, const char *x, const char *y,
		    const char *z, const char *w)
{
	size_t lx = strlen(x), ly = strlen(y), lz = strlen(z), lw = strlen(w);
	char *s = pt_arena_alloc(a, lx + ly + lz + lw + 1, b->err);

	if (!s)
		return NULL;
	memcpy(s, x, lx);
	memcpy(s + lx, y, ly);
	memcpy(s + lx + ly, z, lz);
	memcpy(s + lx + ly + lz, w, lw + 1);
	return s;
}

/* The bytes repr() shows as they are in a str: printable ASCII but quote and backslash. */
static const unsigned char repr_plain[256] = {
	[0x20 ... 0x26] = 1, /* 0x27 is the quote */
	[0x28 ... 0x5b] = 1, /* 0x5c the backslash */
	[0x5d ... 0x7e] = 1,
};

/* repr(s) is 's' quoted as it is: printable ASCII, no quote, no backslash */
bool pt_name_repr_plain(const char *s, size_t n)
{
	unsigned char ok = 1;
	size_t i;

	for (i = 0; i < n; i++) /* no early exit: the usual key is plain */
		ok &= repr_plain[(unsigned char)s[i]];
	return ok;
}

/*
 * "[" + repr(k) + "]"; a key with no literal form (a tuple holding a
 * storage, an object) reads "[<tuple key>]": the entry stays reachable by
 * its escaped name, only user.pt.key cannot be evaluated. NULL on ENOMEM.
 */
char *pt_name_key_subscript(struct builder *b, const char *pkey, const struct pt_value *k)
{
	char tmp[48], *r;

	if (!pkey)
		return NULL; /* the caller's allocation failed; err says so */
	if (k->kind == PT_V_STR && pt_name_repr_plain(k->u.s.p, k->u.s.len)) {
		/* the common case, 40,000 times a 20,000-tensor mount: lengths known */
		size_t lp = strlen(pkey), lk = k->u.s.len;

		r = pt_arena_alloc(&b->t->arena, lp + lk + 5, b->err);
		if (!r)
			return NULL;
		memcpy(r, pkey, lp);
		memcpy(r + lp, "['", 2);
		memcpy(r + lp + 2, k->u.s.p, lk);
		memcpy(r + lp + 2 + lk, "']", 3);
		return r;
	}
	pt_error_clear(b->err);
	r = pt_value_repr(&b->scratch, k, b->err);
	if (!r && b->err->code != PT_OK)
		return NULL;
	if (!r) {
		snprintf(tmp, sizeof(tmp), "<%s key>", pt_vkind_name(k->kind));
		r = tmp;
	}
	return pt_name_cat(b, &b->t->arena, pkey, "[", r, "]");
}

/* Python's keywords: `.class` or `.None` would not parse as an attribute access. */
static const char *const py_keywords[] = {
	"False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
	"continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
	"if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
	"return", "try", "while", "with", "yield",
};

/* s can follow a '.' in Python: an ASCII identifier and no keyword. */
bool pt_name_identifier(const char *s)
{
	const char *p;
	size_t i;

	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	for (i = 0; i < sizeof(py_keywords) / sizeof(py_keywords[0]); i++)
		if (!strcmp(s, py_keywords[i]))
			return false;
	return true;
}

/*
 * A TorchScript object (a scripted module or class, whose type torch.jit.save
 * qualifies with "__torch__."): torch.jit.load gives a RecursiveScriptModule
 * or ScriptObject, whose attributes live in C++, not in __dict__.
 */
bool pt_name_script_object(const struct pt_node *n)
{
	return n->type && !strncmp(n->type, "__torch__.", 10);
}

/*
 * What RecursiveScriptModule and ScriptObject define over nn.Module (torch
 * 1.13): a submodule or buffer may be named so (nn.Module refuses only its
 * own names), and `m.graph` then gives the method's Graph, not the child.
 */
static const char *const script_shadowed[] = {
	"_c", "_concrete_type", "_constants_set", "_construct", "_disable_script_meta",
	"_finalize_scriptmodule", "_get_method", "_has_method", "_initializing", "_method_names",
	"_methods", "_properties", "_reconstruct", "_save_for_lite_interpreter",
	"_save_to_buffer_for_lite_interpreter", "_type", "code", "code_with_constants", "define",
	"forward_magic_method", "get_debug_state", "getattr", "graph", "graph_for", "hasattr",
	"inlined_graph", "original_name", "save", "save_to_buffer", "setattr",
};

/* s can follow a '.' on what torch.jit.load returns */
bool pt_name_script_identifier(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(script_shadowed) / sizeof(script_shadowed[0]); i++)
		if (!strcmp(s, script_shadowed[i]))
			return false;
	return pt_name_identifier(s);
}

/*
 * ".__getattr__(" + repr(k) + ")": the access path to a TorchScript
 * object's attribute that is no identifier ('0' of a Sequential), the one
 * spelling that both a RecursiveScriptModule (modules, parameters,
 * buffers, attributes alike) and a ScriptObject answer. NULL on ENOMEM.
 */
char *pt_name_script_attr_key(struct builder *b, const char *pkey, const struct pt_value *k)
{
	char *r = pt_value_repr(&b->scratch, k, b->err);

	return r ? pt_name_cat(b, &b->t->arena, pkey, ".__getattr__(", r, ")") : NULL;
}

/*
 * A name usable as it is: not empty, '.', '..', no '/', not starting with
 * '%', and nothing repr() would escape: a newline or tab in a name breaks
 * every line-based tool (`find | while read`, manifests), and a C1 control
 * or U+2028 hides in a terminal.
 */
bool pt_name_ok(const char *s, size_t len, const struct pt_node *dir, const struct builder *b)
{
	if (len == 0 || len > NAME_MAX_BYTES || s[0] == '%')
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	if (memchr(s, '/', len) || !pt_str_printable(s, len)) /* NUL is a control */
		return false;
	if (dir == b->t->nodes[0] && len == 5 && memcmp(s, ".ptfs", 5) == 0)
		return false;
	return true;
}

/* '%' + repr(k), '%' and '/' percent-encoded, long ones cut and hashed. */
char *pt_name_escaped(struct builder *b, const struct pt_value *k, size_t index)
{
	char *r = pt_value_repr(&b->scratch, k, b->err), *out, *o;
	const char *p;
	size_t len;

	if (!r) {
		char tmp[48];

		if (b->err->code != PT_OK && b->err->code != PT_ERR_PICKLE)
			return NULL;
		pt_error_clear(b->err);
		snprintf(tmp, sizeof(tmp), "<%s key %zu>", pt_vkind_name(k->kind), index);
		r = pt_name_cat(b, &b->t->arena, tmp, "", "", "");
		if (!r)
			return NULL;
	}
	out = pt_arena_alloc(&b->t->arena, strlen(r) * 3 + 2, b->err);
	if (!out)
		return NULL;
	o = out;
	*o++ = '%';
	for (p = r; *p; p++) {
		if (*p == '%' || *p == '/') {
			o += sprintf(o, "%%%02X", (unsigned char)*p);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	len = (size_t)(o - out);
	if (len > NAME_MAX_BYTES) {
		uint64_t h = pt_hash_fnv1a(r, strlen(r), PT_HASH_FNV1A_INIT);
		size_t cut = 200;

		while (cut > 1 && ((unsigned char)out[cut] & 0xC0) == 0x80)
			cut--;
		snprintf(out + cut, 18, "~%016llx", (unsigned long long)h);
	}
	return out;
}

