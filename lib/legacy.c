/*
 * legacy.c - the legacy reader: torch.save < 1.6 (and later versions with
 * _use_new_zipfile_serialization=False).
 *
 * Format facts relied on (format.md §3.1): the file is five protocol-2
 * pickles back to back, then raw storages:
 *   1. the magic number 0x1950a86a20f9469cfc6c (a LONG1 of 10 bytes);
 *   2. the protocol version 1001;
 *   3. sys_info, a dict whose little_endian is True on every file ptfs reads;
 *   4. the main object, storages as persistent ids (run later by the
 *      checkpoint layer with the torch hooks; only copied here);
 *   5. the list of storage keys (str), sorted as strings by the writer;
 * then, for each key in that order, an int64 little-endian element count and
 * count * element size bytes, with no padding. The element size is known only
 * from the storage's class in pickle 4, so offsets are assigned at bind, by
 * walking the keys and reading each 8-byte count (never the data). torch
 * writes each key once, so a list naming a key twice is refused at open.
 *
 * Where a pickle ends is found with pt_pickle_scan over a window of the file
 * that doubles (from 64 KiB) until the STOP opcode is inside it.
 */
#include "container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

#define WINDOW_MIN (64u << 10)
#define PICKLE_MAX ((size_t)1 << 30)
#define ARENA_LIMIT ((size_t)256 << 20)
#define LEGACY_PROTOCOL 1001

/* 0x1950a86a20f9469cfc6c, little-endian, as LONG1 stores it. */
static const unsigned char legacy_magic[10] = { 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
						0x20, 0x6a, 0xa8, 0x50, 0x19 };

struct legacy_priv {
	char **keys;         /* pickle 5, in file order */
	size_t nkeys;
	uint64_t data_start; /* offset of the first storage's count */
};

/*
 * Reads the pickle starting at off into *out, a pages.h buffer of *len bytes (its
 * STOP included), growing the window until the scan finds the end.
 */
static int legacy_pickle_at(struct pt_source *src, uint64_t off, const char *what,
			    unsigned char **out, size_t *len, struct pt_error *err)
{
	uint64_t left = src->size - off;
	size_t win = WINDOW_MIN, have = 0, bufn = 0, n, end;
	unsigned char *buf = NULL, *nb;
	int r;

	for (;;) {
		n = left < win ? (size_t)left : win;
		nb = pt_pages_realloc(buf, bufn, n);
		if (!nb) {
			pt_error_set(err, PT_ERR_NOMEM, "out of memory");
			goto out_free;
		}
		buf = nb;
		bufn = n;
		if (pt_source_read(src, buf + have, n - have, off + have, what, err) < 0)
			goto out_free;
		have = n;
		r = pt_pickle_scan(buf, n, &end, err);
		if (r == 0)
			break;
		if (r < 0) {
			pt_error_prefix(err, "%s", what);
			goto out_free;
		}
		if (n == left) {
			pt_error_set(err, PT_ERR_FORMAT,
				     "%s: the file ends before its STOP opcode", what);
			goto out_free;
		}
		if (win >= PICKLE_MAX) {
			pt_error_set(err, PT_ERR_LIMIT,
				     "%s: longer than the 1 GiB limit", what);
			goto out_free;
		}
		win *= 2;
	}
	nb = pt_pages_realloc(buf, bufn, end);
	if (!nb) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		goto out_free;
	}
	*out = nb;
	*len = end;
	return 0;
out_free:
	pt_pages_free(buf, bufn);
	return -1;
}

/* Decodes the pickle at *off with default options; advances *off past it. */
static int legacy_load(struct pt_source *src, struct pt_arena *a, uint64_t *off,
		       const char *what, struct pt_value **v, struct pt_error *err)
{
	struct pt_pickle_opts o;
	unsigned char *buf;
	size_t len, used;
	int ret;

	if (legacy_pickle_at(src, *off, what, &buf, &len, err) < 0)
		return -1;
	pt_pickle_opts_default(&o);
	ret = pt_pickle_load(a, buf, len, &o, v, &used, err);
	if (ret < 0)
		pt_error_prefix(err, "%s", what);
	pt_pages_free(buf, len);
	*off += len;
	return ret;
}

static int legacy_check_header(struct pt_source *src, struct pt_arena *a,
			       uint64_t *off, struct pt_error *err)
{
	struct pt_value *v, *le;

	if (legacy_load(src, a, off, "magic number pickle", &v, err) < 0)
		return -1;
	if (v->kind != PT_V_BIGINT || v->u.s.len != sizeof(legacy_magic) ||
	    memcmp(v->u.s.p, legacy_magic, sizeof(legacy_magic)) != 0)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "invalid magic number; not a legacy torch checkpoint");
	if (legacy_load(src, a, off, "protocol version pickle", &v, err) < 0)
		return -1;
	if (v->kind != PT_V_INT)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "invalid legacy protocol version (a %s)",
				    pt_vkind_name(v->kind));
	if (v->u.i != LEGACY_PROTOCOL)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "invalid legacy protocol version %lld",
				    (long long)v->u.i);
	if (legacy_load(src, a, off, "sys_info pickle", &v, err) < 0)
		return -1;
	if (v->kind != PT_V_DICT)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy sys_info is a %s, not a dict",
				    pt_vkind_name(v->kind));
	le = pt_vdict_get_str(&v->u.dict, "little_endian");
	if (le && le->kind != PT_V_BOOL)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy sys_info little_endian is a %s, not a bool",
				    pt_vkind_name(le->kind));
	if (le && !le->u.b)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "big-endian legacy checkpoints are not supported");
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies the storage key list v into p->keys, refusing duplicates. */
static int legacy_keys(struct legacy_priv *p, const struct pt_value *v,
		       struct pt_error *err)
{
	char **sorted;
	size_t i;
	int ret = 0;

	if (v->kind != PT_V_LIST)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy storage key list is a %s, not a list",
				    pt_vkind_name(v->kind));
	p->keys = calloc(v->u.seq.n ? v->u.seq.n : 1, sizeof(*p->keys));
	if (!p->keys)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < v->u.seq.n; i++) {
		const struct pt_value *k = v->u.seq.v[i];

		if (k->kind != PT_V_STR)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "legacy storage key list holds a %s, not a str",
					    pt_vkind_name(k->kind));
		if (memchr(k->u.s.p, '\0', k->u.s.len))
			return pt_error_set(err, PT_ERR_FORMAT,
					    "legacy storage key has a NUL byte");
		p->keys[i] = strdup(k->u.s.p);
		if (!p->keys[i])
			return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		p->nkeys++;
	}
	sorted = malloc((p->nkeys ? p->nkeys : 1) * sizeof(*sorted));
	if (!sorted)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	memcpy(sorted, p->keys, p->nkeys * sizeof(*sorted));
	qsort(sorted, p->nkeys, sizeof(*sorted), key_cmp);
	for (i = 1; i < p->nkeys; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			ret = pt_error_set(err, PT_ERR_FORMAT,
					   "legacy storage key list names '%s' twice",
					   sorted[i]);
			break;
		}
	}
	free(sorted);
	return ret;
}

static int storage_cmp(const void *a, const void *b)
{
	return strcmp((*(struct pt_storage *const *)a)->key,
		      (*(struct pt_storage *const *)b)->key);
}

static int storage_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct pt_storage *const *)elem)->key);
}

/* Gives storage s, whose count header is at pos, its offset; advances *pos. */
static int legacy_bind_one(struct pt_source *src, struct pt_storage *s,
			   uint64_t *pos, struct pt_error *err)
{
	unsigned char h[8];
	char what[PT_ERROR_MSG_MAX / 2];
	uint64_t count = 0, nbytes;
	size_t esize = pt_dtype_size(s->dtype);
	int i;

	snprintf(what, sizeof(what), "legacy storage '%s': element count", s->key);
	if (pt_source_read(src, h, sizeof(h), *pos, what, err) < 0)
		return -1;
	for (i = 7; i >= 0; i--)
		count = count << 8 | h[i];
	if (count != s->numel)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy storage '%s': record holds %llu elements, the pickle declares %llu",
				    s->key, (unsigned long long)count,
				    (unsigned long long)s->numel);
	if (esize == 0)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy storage '%s' has no dtype", s->key);
	if (count > UINT64_MAX / esize)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy storage '%s': %llu x %s overflows", s->key,
				    (unsigned long long)count, pt_dtype_name(s->dtype));
	nbytes = count * esize;
	if (nbytes > src->size - *pos - 8)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "legacy storage '%s': %llu bytes at offset %llu extend past the end of the file",
				    s->key, (unsigned long long)nbytes,
				    (unsigned long long)(*pos + 8));
	s->data_offset = *pos + 8;
	s->bound = true;
	*pos += 8 + nbytes;
	return 0;
}

static int legacy_bind(struct pt_container *c, struct pt_torch *t,
		       struct pt_error *err)
{
	struct legacy_priv *p = c->priv;
	struct pt_storage **byk, **s;
	uint64_t pos = p->data_start;
	size_t i;
	int ret = -1;

	byk = malloc((t->nstorages ? t->nstorages : 1) * sizeof(*byk));
	if (!byk)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	if (t->nstorages)
		memcpy(byk, t->storages, t->nstorages * sizeof(*byk));
	qsort(byk, t->nstorages, sizeof(*byk), storage_cmp);
	for (i = 0; i < p->nkeys; i++) {
		s = bsearch(p->keys[i], byk, t->nstorages, sizeof(*byk),
			    storage_key_cmp);
		if (!s) {
			pt_error_set(err, PT_ERR_FORMAT,
				     "legacy storage key '%s' is not used by the pickle",
				     p->keys[i]);
			goto out_free;
		}
		if (legacy_bind_one(c->src, *s, &pos, err) < 0)
			goto out_free;
	}
	for (i = 0; i < t->nstorages; i++) {
		if (!t->storages[i]->bound) {
			pt_error_set(err, PT_ERR_FORMAT,
				     "storage '%s' is missing from the legacy key list",
				     t->storages[i]->key);
			goto out_free;
		}
	}
	ret = 0;
out_free:
	free(byk);
	return ret;
}

static void legacy_close(struct pt_container *c)
{
	struct legacy_priv *p = c->priv;
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nkeys; i++)
		free(p->keys[i]);
	free(p->keys);
	free(p);
	c->priv = NULL;
}

static const struct pt_container_ops legacy_ops = {
	.bind = legacy_bind,
	.close = legacy_close,
};

int pt_legacy_open(struct pt_container *c, struct pt_error *err)
{
	struct legacy_priv *p;
	struct pt_arena a;
	struct pt_value *v;
	uint64_t off = 0;
	int ret = -1;

	c->ops = &legacy_ops;
	p = calloc(1, sizeof(*p));
	if (!p)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	c->priv = p;
	c->version = LEGACY_PROTOCOL;
	pt_arena_init(&a, ARENA_LIMIT);
	if (legacy_check_header(c->src, &a, &off, err) < 0)
		goto out_release;
	if (legacy_pickle_at(c->src, off, "main pickle", &c->pickle, &c->pickle_len,
			     err) < 0)
		goto out_release;
	off += c->pickle_len;
	if (legacy_load(c->src, &a, &off, "storage key pickle", &v, err) < 0)
		goto out_release;
	if (legacy_keys(p, v, err) < 0)
		goto out_release;
	p->data_start = off;
	ret = 0;
out_release:
	pt_arena_release(&a);
	return ret;
}
