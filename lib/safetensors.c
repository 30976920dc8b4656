/*
 * safetensors.c - the safetensors header, validated as the reference
 * validates it, and the container reader built on it.
 *
 * The header is parsed with json.c refusing duplicate keys, then checked
 * entry by entry (dtype known, shape of non-negative ints whose element
 * count and byte size fit 64 bits, data_offsets two ints with begin <= end
 * and end - begin the byte size), then as a whole: sorted by begin, the
 * ranges must start at 0, follow each other with no gap and no overlap,
 * and end exactly at the end of the file (the reference's "metadata
 * incomplete buffer"). Nothing is read past the header: a mount costs the
 * header, whatever the data size. The 4- and 6-bit dtypes (F4, F6_E2M3,
 * F6_E3M2) have no torch dtype of whole bytes and are refused by name.
 */
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "shards.h"

struct st_dtype {
	const char *name;
	enum pt_dtype dt; /* PT_DT_INVALID: known to the format, refused here */
	unsigned bits;
};

static const struct st_dtype st_dtypes[] = {
	{ "BOOL", PT_DT_BOOL, 8 },
	{ "F4", PT_DT_INVALID, 4 },
	{ "F6_E2M3", PT_DT_INVALID, 6 },
	{ "F6_E3M2", PT_DT_INVALID, 6 },
	{ "U8", PT_DT_UINT8, 8 },
	{ "I8", PT_DT_INT8, 8 },
	{ "F8_E5M2", PT_DT_FLOAT8_E5M2, 8 },
	{ "F8_E4M3", PT_DT_FLOAT8_E4M3FN, 8 },
	{ "F8_E8M0", PT_DT_FLOAT8_E8M0FNU, 8 },
	{ "F8_E4M3FNUZ", PT_DT_FLOAT8_E4M3FNUZ, 8 },
	{ "F8_E5M2FNUZ", PT_DT_FLOAT8_E5M2FNUZ, 8 },
	{ "I16", PT_DT_INT16, 16 },
	{ "U16", PT_DT_UINT16, 16 },
	{ "F16", PT_DT_FLOAT16, 16 },
	{ "BF16", PT_DT_BFLOAT16, 16 },
	{ "I32", PT_DT_INT32, 32 },
	{ "U32", PT_DT_UINT32, 32 },
	{ "F32", PT_DT_FLOAT32, 32 },
	{ "C64", PT_DT_COMPLEX64, 64 },
	{ "F64", PT_DT_FLOAT64, 64 },
	{ "I64", PT_DT_INT64, 64 },
	{ "U64", PT_DT_UINT64, 64 },
};

static const struct st_dtype *st_dtype_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(st_dtypes) / sizeof(st_dtypes[0]); i++)
		if (strcmp(st_dtypes[i].name, name) == 0)
			return &st_dtypes[i];
	return NULL;
}

/* A JSON int that fits uint64 (json.c makes PT_V_INT up to INT64_MAX). */
static int get_u64(const struct pt_value *v, uint64_t *out)
{
	if (!v || v->kind != PT_V_INT || v->u.i < 0)
		return -1;
	*out = (uint64_t)v->u.i;
	return 0;
}

/* Appends "[a, b, ...]" of shape to buf. */
static void shape_text(const int64_t *shape, int nd, char *buf, size_t cap)
{
	size_t n = 0;
	int i;

	n += (size_t)snprintf(buf + n, cap - n, "[");
	for (i = 0; i < nd && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (n < cap)
		snprintf(buf + n, cap - n, "]");
}

static int entry_parse(struct pt_arena *a, const char *name, const struct pt_value *v,
		       struct pt_st_tensor *t, struct pt_error *err)
{
	const struct pt_value *dt, *shape, *offs;
	const struct st_dtype *sd;
	uint64_t numel = 1, bits, nbytes;
	char sh[256];
	size_t i;

	t->name = name;
	if (v->kind != PT_V_DICT)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': entry is %s, not an object",
				    name, pt_vkind_name(v->kind));
	dt = pt_vdict_get_str(&v->u.dict, "dtype");
	shape = pt_vdict_get_str(&v->u.dict, "shape");
	offs = pt_vdict_get_str(&v->u.dict, "data_offsets");
	if (!dt || dt->kind != PT_V_STR)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': no dtype string", name);
	if (!shape || shape->kind != PT_V_LIST)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': no shape array", name);
	if (!offs || offs->kind != PT_V_LIST)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': no data_offsets array", name);
	sd = st_dtype_find(dt->u.s.p);
	if (!sd)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': unknown dtype '%s'", name,
				    dt->u.s.p);
	if (sd->dt == PT_DT_INVALID)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "tensor '%s': dtype %s (%u-bit) has no torch dtype; ptfs does not show 4- and 6-bit tensors",
				    name, sd->name, sd->bits);
	t->dtype = sd->dt;
	if (shape->u.seq.n > PT_ST_MAX_DIMS)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': %zu dimensions (at most %d)",
				    name, shape->u.seq.n, PT_ST_MAX_DIMS);
	t->ndim = (int)shape->u.seq.n;
	t->shape = pt_arena_alloc(a, (shape->u.seq.n ? shape->u.seq.n : 1) * sizeof(int64_t), err);
	if (!t->shape)
		return -1;
	for (i = 0; i < shape->u.seq.n; i++) {
		uint64_t d;

		if (get_u64(shape->u.seq.v[i], &d) < 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "tensor '%s': shape item %zu is not a non-negative integer",
					    name, i);
		t->shape[i] = (int64_t)d;
		if (d && numel > UINT64_MAX / d)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "tensor '%s': shape overflows 64 bits", name);
		numel *= d;
	}
	if (numel > (uint64_t)INT64_MAX / 8)
		return pt_error_set(err, PT_ERR_FORMAT, "tensor '%s': shape overflows 64 bits", name);
	t->numel = numel;
	bits = numel * sd->bits;
	nbytes = bits / 8;
	if (offs->u.seq.n != 2 || get_u64(offs->u.seq.v[0], &t->begin) < 0 ||
	    get_u64(offs->u.seq.v[1], &t->end) < 0)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "tensor '%s': data_offsets is not two non-negative integers", name);
	if (t->end < t->begin)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "tensor '%s': invalid offset: data_offsets [%llu, %llu] end before begin",
				    name, (unsigned long long)t->begin, (unsigned long long)t->end);
	if (t->end - t->begin != nbytes) {
		shape_text(t->shape, t->ndim, sh, sizeof(sh));
		return pt_error_set(err, PT_ERR_FORMAT,
				    "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s needs %llu",
				    name, (unsigned long long)t->begin, (unsigned long long)t->end,
				    (unsigned long long)(t->end - t->begin), sh, sd->name,
				    (unsigned long long)nbytes);
	}
	return 0;
}

static int metadata_check(const struct pt_value *m, struct pt_error *err)
{
	size_t i;

	if (m->kind != PT_V_DICT)
		return pt_error_set(err, PT_ERR_FORMAT, "__metadata__ is %s, not an object",
				    pt_vkind_name(m->kind));
	for (i = 0; i < m->u.dict.n; i++)
		if (m->u.dict.v[i]->kind != PT_V_STR)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "__metadata__ '%s' is %s, not a string",
					    m->u.dict.k[i]->u.s.p, pt_vkind_name(m->u.dict.v[i]->kind));
	return 0;
}

static int by_begin(const void *x, const void *y)
{
	const struct pt_st_tensor *a = *(const struct pt_st_tensor *const *)x;
	const struct pt_st_tensor *b = *(const struct pt_st_tensor *const *)y;

	if (a->begin != b->begin)
		return a->begin < b->begin ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

/* The ranges, sorted, must tile [0, data_len) exactly. */
static int coverage_check(const struct pt_st_header *h, uint64_t data_len, struct pt_error *err)
{
	const struct pt_st_tensor **v;
	uint64_t pos = 0;
	size_t i;
	int ret = -1;

	v = malloc((h->ntensors ? h->ntensors : 1) * sizeof(*v));
	if (!v)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < h->ntensors; i++)
		v[i] = &h->tensors[i];
	qsort(v, h->ntensors, sizeof(*v), by_begin);
	for (i = 0; i < h->ntensors; i++) {
		if (v[i]->begin > pos) {
			pt_error_set(err, PT_ERR_FORMAT,
				     "tensor '%s': invalid offset: data_offsets begin at %llu, leaving a gap after byte %llu",
				     v[i]->name, (unsigned long long)v[i]->begin,
				     (unsigned long long)pos);
			goto out_free;
		}
		if (v[i]->begin < pos) {
			pt_error_set(err, PT_ERR_FORMAT,
				     "tensor '%s': invalid offset: data_offsets [%llu, %llu] overlap '%s'",
				     v[i]->name, (unsigned long long)v[i]->begin,
				     (unsigned long long)v[i]->end, v[i - 1]->name);
			goto out_free;
		}
		pos = v[i]->end;
	}
	if (pos > data_len) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "tensor '%s': invalid offset: data_offsets end at %llu, past the %llu bytes of data",
			     v[h->ntensors - 1]->name, (unsigned long long)pos,
			     (unsigned long long)data_len);
		goto out_free;
	}
	if (pos < data_len) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "incomplete buffer: the tensors cover %llu of the %llu bytes of data",
			     (unsigned long long)pos, (unsigned long long)data_len);
		goto out_free;
	}
	ret = 0;
out_free:
	free(v);
	return ret;
}

int pt_st_header_parse(struct pt_arena *a, const char *p, size_t len, uint64_t data_len,
		       struct pt_st_header *h, struct pt_error *err)
{
	struct pt_value *root;
	size_t i, n = 0;

	memset(h, 0, sizeof(*h));
	if (len == 0 || p[0] != '{')
		return pt_error_set(err, PT_ERR_FORMAT, "header: not a JSON object (does not start with '{')");
	if (pt_json_parse_with(a, p, len, PT_JSON_UNIQUE_KEYS, &root, err) < 0) {
		pt_error_prefix(err, "header");
		return -1;
	}
	if (root->kind != PT_V_DICT)
		return pt_error_set(err, PT_ERR_FORMAT, "header: not a JSON object");
	h->tensors = pt_arena_alloc(a, (root->u.dict.n ? root->u.dict.n : 1) * sizeof(*h->tensors),
				    err);
	if (!h->tensors)
		return -1;
	for (i = 0; i < root->u.dict.n; i++) {
		const char *k = root->u.dict.k[i]->u.s.p;

		if (strcmp(k, "__metadata__") == 0) {
			if (metadata_check(root->u.dict.v[i], err) < 0)
				return -1;
			h->metadata = root->u.dict.v[i];
			continue;
		}
		if (entry_parse(a, k, root->u.dict.v[i], &h->tensors[n], err) < 0)
			return -1;
		n++;
	}
	h->ntensors = n;
	return coverage_check(h, data_len, err);
}

int pt_st_header_read(struct pt_arena *a, struct pt_source *src, struct pt_st_header *h,
		      struct pt_error *err)
{
	unsigned char lenb[8];
	uint64_t n = 0;
	char *text;
	int i;

	if (src->size < 8)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "safetensors: header too small: %llu bytes, no 8-byte length",
				    (unsigned long long)src->size);
	if (pt_source_read(src, lenb, 8, 0, "safetensors header length", err) < 0)
		return -1;
	for (i = 7; i >= 0; i--)
		n = n << 8 | lenb[i];
	if (n > PT_ST_MAX_HEADER)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "safetensors: header too large: %llu bytes (at most %llu)",
				    (unsigned long long)n, PT_ST_MAX_HEADER);
	if (n > src->size - 8)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "safetensors: invalid header length %llu: the file has %llu bytes after it",
				    (unsigned long long)n, (unsigned long long)(src->size - 8));
	text = pt_arena_alloc(a, (size_t)n + 1, err);
	if (!text)
		return -1;
	if (pt_source_read(src, text, (size_t)n, 8, "safetensors header", err) < 0)
		return -1;
	text[n] = '\0';
	if (pt_st_header_parse(a, text, (size_t)n, src->size - 8 - n, h, err) < 0) {
		pt_error_prefix(err, "safetensors");
		return -1;
	}
	h->header_len = n;
	h->data_start = 8 + n;
	return 0;
}

int pt_st_sniff(const unsigned char *head, size_t n, uint64_t file_size)
{
	uint64_t len = 0;
	int i;

	if (n < 9)
		return 0;
	if (head[8] == '{')
		return 1;
	for (i = 7; i >= 0; i--)
		len = len << 8 | head[i];
	/* other JSON, with a length that fits: refused as "not a JSON object" */
	return len > 0 && len <= file_size - 8 && strchr("[\"tfn-0123456789", head[8]) && head[8];
}

int pt_st_add_tensors(struct pt_torch *t, struct pt_arena *a, const struct pt_st_header *h,
		      uint64_t base, size_t *next_key, struct pt_value *d, struct pt_error *err)
{
	int64_t stride[PT_ST_MAX_DIMS];
	char key[32];
	size_t i, n0;
	int j;

	for (i = 0; i < h->ntensors; i++) {
		const struct pt_st_tensor *e = &h->tensors[i];
		struct pt_storage *s;
		struct pt_value *k, *v;
		int64_t acc = 1;

		for (j = e->ndim - 1; j >= 0; j--) {
			stride[j] = acc;
			acc *= e->shape[j] ? e->shape[j] : 1;
		}
		snprintf(key, sizeof(key), "%zu", (*next_key)++);
		s = pt_torch_storage_add(t, key, e->dtype, e->numel, "cpu", err);
		if (!s)
			goto fail;
		s->data_offset = base + h->data_start + e->begin;
		__atomic_store_n(&s->bound, true, __ATOMIC_RELEASE);
		v = pt_torch_tensor(t, a, "safetensors", s, 0, e->shape, stride, e->ndim, e->dtype,
				    false, err);
		if (!v)
			goto fail;
		k = pt_value_str(a, e->name, strlen(e->name), err);
		n0 = d->u.dict.n;
		if (!k || pt_vdict_set(a, &d->u.dict, k, v, err) < 0)
			goto fail;
		if (d->u.dict.n == n0) {
			pt_error_set(err, PT_ERR_FORMAT, "a second tensor of this name");
			goto fail;
		}
	}
	return 0;
fail:
	pt_error_prefix(err, "tensor '%s'", h->tensors[i].name);
	return -1;
}

/* The reader's state: the header, in its own arena. */
struct st_priv {
	struct pt_arena arena;
	struct pt_st_header h;
	struct pt_sdpickle_item *items; /* made by pt_st_load */
	size_t nitems;
};

static int st_bind(struct pt_container *c, struct pt_torch *t, struct pt_error *err)
{
	return 0; /* pt_st_load bound every storage */
}

static void st_close(struct pt_container *c)
{
	struct st_priv *p = c->priv;

	if (!p)
		return;
	pt_arena_release(&p->arena);
	free(p);
	c->priv = NULL;
}

static const struct pt_container_ops st_ops = {
	.bind = st_bind,
	.close = st_close,
};

int pt_st_open(struct pt_container *c, struct pt_error *err)
{
	struct st_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	pt_arena_init(&p->arena, 0);
	c->priv = p;
	c->ops = &st_ops;
	c->version = 0;
	return pt_st_header_read(&p->arena, c->src, &p->h, err);
}

int pt_st_load(struct pt_container *c, struct pt_torch *t, struct pt_arena *a,
	       struct pt_value **root, struct pt_error *err)
{
	struct st_priv *p = c->priv;
	struct pt_value *d = pt_value_new(a, PT_V_DICT, err);
	size_t next = 0;

	if (!d)
		return -1;
	d->type = "collections.OrderedDict";
	if (pt_st_add_tensors(t, a, &p->h, 0, &next, d, err) < 0 ||
	    pt_st_record_items(&p->arena, d, &p->items, &p->nitems, err) < 0)
		return -1;
	*root = d;
	return 0;
}

const struct pt_value *pt_st_container_metadata(const struct pt_container *c)
{
	const struct st_priv *p = c->priv;

	return p ? p->h.metadata : NULL;
}

const struct pt_sdpickle_item *pt_st_items(const struct pt_container *c, size_t *n)
{
	const struct st_priv *p = c->priv;

	*n = 0;
	if (c->format == PT_FORMAT_SHARDED)
		return pt_shards_items(c, n);
	if (c->format != PT_FORMAT_SAFETENSORS || !p)
		return NULL;
	*n = p->nitems;
	return p->items;
}

int pt_st_record_items(struct pt_arena *a, const struct pt_value *d,
		       struct pt_sdpickle_item **items, size_t *n, struct pt_error *err)
{
	struct pt_sdpickle_item *v;
	size_t i;

	v = pt_arena_alloc(a, (d->u.dict.n ? d->u.dict.n : 1) * sizeof(*v), err);
	if (!v)
		return -1;
	for (i = 0; i < d->u.dict.n; i++) {
		const struct pt_value *k = d->u.dict.k[i];

		v[i].name = pt_arena_strndup(a, k->u.s.p, k->u.s.len, err);
		if (!v[i].name)
			return -1;
		v[i].t = d->u.dict.v[i]->u.tensor;
	}
	*items = v;
	*n = d->u.dict.n;
	return 0;
}

/* JSON text of v into buf (grown with realloc); -1 when out of memory. */
struct jbuf {
	char *p;
	size_t n, cap;
};

static int jput(struct jbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *q = realloc(b->p, cap);

		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int jstr(struct jbuf *b, const char *s, size_t n)
{
	char e[8];
	size_t i;

	if (jput(b, "\"", 1) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			if (jput(b, e, 2) < 0)
				return -1;
		} else if (c < 0x20) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			if (jput(b, e, 6) < 0)
				return -1;
		} else if (jput(b, (const char *)&s[i], 1) < 0) {
			return -1;
		}
	}
	return jput(b, "\"", 1);
}

static int jvalue(struct jbuf *b, const struct pt_value *v, int depth)
{
	char num[48];
	size_t i;

	if (depth > 300)
		return jput(b, "null", 4);
	switch (v->kind) {
	case PT_V_STR:
		return jstr(b, v->u.s.p, v->u.s.len);
	case PT_V_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->u.i);
		return jput(b, num, strlen(num));
	case PT_V_FLOAT:
		snprintf(num, sizeof(num), "%.17g", v->u.f);
		return jput(b, num, strlen(num));
	case PT_V_BOOL:
		return v->u.b ? jput(b, "true", 4) : jput(b, "false", 5);
	case PT_V_LIST:
		if (jput(b, "[", 1) < 0)
			return -1;
		for (i = 0; i < v->u.seq.n; i++)
			if ((i && jput(b, ",", 1) < 0) || jvalue(b, v->u.seq.v[i], depth + 1) < 0)
				return -1;
		return jput(b, "]", 1);
	case PT_V_DICT:
		if (jput(b, "{", 1) < 0)
			return -1;
		for (i = 0; i < v->u.dict.n; i++)
			if ((i && jput(b, ",", 1) < 0) ||
			    jstr(b, v->u.dict.k[i]->u.s.p, v->u.dict.k[i]->u.s.len) < 0 ||
			    jput(b, ":", 1) < 0 || jvalue(b, v->u.dict.v[i], depth + 1) < 0)
				return -1;
		return jput(b, "}", 1);
	default:
		return jput(b, "null", 4);
	}
}

char *pt_st_metadata_json(struct pt_arena *a, const struct pt_value *metadata, size_t *len,
			  struct pt_error *err)
{
	struct jbuf b = { 0 };
	char *out = NULL;

	if ((metadata ? jvalue(&b, metadata, 0) : jput(&b, "{}", 2)) < 0 || jput(&b, "\n", 1) < 0) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		goto out_free;
	}
	out = pt_arena_strndup(a, b.p, b.n, err);
	*len = b.n;
out_free:
	free(b.p);
	return out;
}
