/*
 * tree_names.c - how dict keys become entry names and user.pt.key strings.
 *
 * A str key whose repr() is itself in quotes (printable ASCII, no quote or
 * backslash: a state_dict's) is named as it is and subscripted without a
 * repr; any other key is named '%' + repr(key), with '%' and '/'
 * percent-encoded and a long one cut and hashed (docs/tree.md). Split out
 * of tree.c, which walks the values; tree_int.h holds what they share.
 */
#include "tree_int.h"

#include <stdio.h>
#include <string.h>

char *pt_names_cat(struct builder *b, struct pt_arena *a, const char *x, const char *y,
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
bool pt_names_plain(const char *s, size_t n)
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
char *pt_names_subscript(struct builder *b, const char *pkey, const struct pt_value *k)
{
	char tmp[48], *r;

	if (!pkey)
		return NULL; /* the caller's allocation failed; err says so */
	if (k->kind == PT_V_STR && pt_names_plain(k->u.s.p, k->u.s.len)) {
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
	return pt_names_cat(b, &b->t->arena, pkey, "[", r, "]");
}

bool pt_names_identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* A name usable as it is: not empty, '.', '..', no '/', not starting with '%'. */
bool pt_names_ok(const char *s, size_t len, const struct pt_node *dir, const struct builder *b)
{
	if (len == 0 || len > NAME_MAX_BYTES || s[0] == '%')
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	if (memchr(s, '/', len) || memchr(s, '\0', len))
		return false;
	if (dir == b->t->nodes[0] && len == 5 && memcmp(s, ".ptfs", 5) == 0)
		return false;
	return true;
}

/* '%' + repr(k), '%' and '/' percent-encoded, long ones cut and hashed. */
char *pt_names_escaped(struct builder *b, const struct pt_value *k, size_t index)
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
		r = pt_names_cat3(b, tmp, "", "");
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
