/*
 * value.c - the arena and the symbolic values of one pickle load.
 *
 * The arena hands out zeroed memory from 64 KiB blocks (larger requests
 * get a block of their own; nothing is handed out twice, so a block is
 * zeroed once; past 256 KiB an arena's blocks are 2 MiB of huge pages from
 * pages.h, a page fault each instead of 512) and frees it all at once, so
 * nothing here ever walks a value graph to free it: a 100000-deep nested
 * list or a list that contains itself costs no recursion at all.
 *
 * Sequences and dicts grow geometrically inside the arena; the old array
 * is simply left behind, which at most doubles their footprint.
 *
 * Dict keys follow Python's equality for the types a checkpoint holds:
 * 1 == 1.0 == True, 2**70 == 2.0**70, str never equals bytes, tuples compare
 * element-wise, two GLOBALs naming the same class are the same object, and
 * everything else (objects, tensors, frozensets) compares by identity. Big
 * dicts get an open-addressing hash index whose seed comes from the index's
 * own address, so a hostile file cannot precompute colliding keys. The only
 * recursion is over nested key tuples, and it stops at 100 levels.
 */
#include "value.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pages.h"

#define ARENA_BLOCK (64 * 1024)
#define ARENA_ALIGN PT_ARENA_ALIGN
#define ARENA_HUGE_FROM ((size_t)256 << 10) /* an arena this big gets huge blocks */

/*
 * Under ASan every allocation is followed by a poisoned redzone and a
 * block's free tail stays poisoned, so reading past a small value (the
 * member of another kind) is reported as it would be for malloc.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE ARENA_ALIGN
#define arena_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define arena_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ARENA_REDZONE 0
#define arena_poison(p, n) ((void)(p), (void)(n))
#define arena_unpoison(p, n) ((void)(p), (void)(n))
#endif
#define KEY_DEPTH_MAX 100
#define INDEX_MIN 8 /* below this many keys a linear scan is cheaper */

struct pt_arena_block {
	struct pt_arena_block *next;
	size_t cap;
	max_align_t data[];
};

struct pt_vdict_index {
	uint64_t *slots; /* hash << 32 | position in k plus one; 0 is an empty slot */
	size_t nslots; /* a power of two */
	size_t nindexed;
	uint64_t seed;
};

void pt_arena_init(struct pt_arena *a, size_t limit)
{
	a->head = NULL;
	a->next = a->end = NULL;
	a->used = 0;
	a->limit = limit;
}

void pt_arena_release(struct pt_arena *a)
{
	struct pt_arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		arena_unpoison(b->data, b->cap);
		pt_pages_free(b, sizeof(*b) + b->cap);
	}
	a->head = NULL;
	a->next = a->end = NULL;
	a->used = 0;
}

static __attribute__((cold, noinline)) void *arena_refuse(struct pt_arena *a, size_t n,
							   struct pt_error *err)
{
	if (n > SIZE_MAX / 2)
		pt_error_set(err, PT_ERR_NOMEM, "out of memory allocating %zu bytes", n);
	else
		pt_error_set(err, PT_ERR_LIMIT, "memory limit of %zu bytes reached", a->limit);
	return NULL;
}

void *pt_arena_alloc_slow(struct pt_arena *a, size_t n, struct pt_error *err)
{
	struct pt_arena_block *nb;
	size_t need, cap;
	unsigned char *p;
	bool own;

	if (n > SIZE_MAX / 2)
		return arena_refuse(a, n, err);
	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (!need)
		need = ARENA_ALIGN;
	need += ARENA_REDZONE;
	if (a->limit && (need > a->limit || a->used > a->limit - need))
		return arena_refuse(a, n, err);
	if (need <= (size_t)(a->end - a->next)) {
		p = a->next;
		a->next += need;
		a->used += need;
		arena_unpoison(p, need - ARENA_REDZONE);
		return p;
	}
	own = need > ARENA_BLOCK / 4;
	if (own)
		cap = need;
	else if (a->used >= ARENA_HUGE_FROM)
		cap = PT_PAGES_HUGE - sizeof(*nb);
	else
		cap = ARENA_BLOCK;
	/* zeroed once per block: cheaper than a memset per small value */
	nb = cap <= SIZE_MAX - sizeof(*nb) ? pt_pages_alloc(sizeof(*nb) + cap) : NULL;
	if (!nb) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory allocating %zu bytes", n);
		return NULL;
	}
	nb->cap = cap;
	arena_poison(nb->data, nb->cap);
	p = (unsigned char *)nb->data;
	if (own && a->head) {
		/* a block of its own goes behind the head, whose free bytes stay in use */
		nb->next = a->head->next;
		a->head->next = nb;
	} else {
		nb->next = a->head;
		a->head = nb;
		a->next = p + need;
		a->end = p + cap;
	}
	a->used += need;
	/* the in-line path checks only next..end: cut it where the limit is */
	if (a->limit && (size_t)(a->end - a->next) > a->limit - a->used)
		a->end = a->next + (a->limit - a->used);
	arena_unpoison(p, need - ARENA_REDZONE);
	return p;
}

char *pt_arena_strndup(struct pt_arena *a, const char *s, size_t len,
		       struct pt_error *err)
{
	char *p;

	if (len == SIZE_MAX) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory allocating %zu bytes", len);
		return NULL;
	}
	p = pt_arena_alloc(a, len + 1, err);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * Only the union member a kind uses is allocated: a checkpoint of 100,000
 * tensors makes over a million small values, and an int needs 32 bytes
 * where the whole struct takes 128. A value's kind therefore never changes
 * to one with a larger member.
 */
static size_t value_size(enum pt_vkind kind)
{
	const size_t head = offsetof(struct pt_value, u);
	const struct pt_value *v = NULL;

	switch (kind) {
	case PT_V_NONE:
	case PT_V_BOOL:
	case PT_V_INT:
	case PT_V_FLOAT:
	case PT_V_PERSID:
	case PT_V_STORAGE:
	case PT_V_TENSOR:
		return head + sizeof(v->u.i);
	case PT_V_BIGINT:
	case PT_V_STR:
	case PT_V_BYTES:
	case PT_V_BYTEARRAY:
		return head + sizeof(v->u.s);
	case PT_V_GLOBAL:
		return head + sizeof(v->u.global);
	case PT_V_TUPLE:
	case PT_V_LIST:
	case PT_V_SET:
	case PT_V_FROZENSET:
		return head + sizeof(v->u.seq);
	case PT_V_DICT:
		return head + sizeof(v->u.dict);
	case PT_V_OBJECT:
		break;
	}
	return sizeof(struct pt_value);
}

struct pt_value *pt_value_new(struct pt_arena *a, enum pt_vkind kind,
			      struct pt_error *err)
{
	struct pt_value *v = pt_arena_alloc(a, value_size(kind), err);

	if (v)
		v->kind = kind;
	return v;
}

struct pt_value *pt_value_int(struct pt_arena *a, int64_t i, struct pt_error *err)
{
	struct pt_value *v = pt_value_new(a, PT_V_INT, err);

	if (v)
		v->u.i = i;
	return v;
}

struct pt_value *pt_value_bytes(struct pt_arena *a, enum pt_vkind kind, const char *s,
				size_t len, struct pt_error *err)
{
	size_t head = value_size(kind);
	struct pt_value *v;

	if (len > SIZE_MAX / 2) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory allocating %zu bytes", len);
		return NULL;
	}
	v = pt_arena_alloc(a, head + len + 1, err); /* the bytes right after the value */
	if (!v)
		return NULL;
	v->kind = kind;
	v->u.s.p = (char *)v + head;
	if (len)
		memcpy(v->u.s.p, s, len);
	v->u.s.len = len; /* the arena zeroed the NUL */
	return v;
}

struct pt_value *pt_value_str(struct pt_arena *a, const char *s, size_t len,
			      struct pt_error *err)
{
	return pt_value_bytes(a, PT_V_STR, s, len, err);
}

struct pt_value *pt_value_seq(struct pt_arena *a, enum pt_vkind kind,
			      struct pt_value *const *items, size_t n, struct pt_error *err)
{
	size_t head = value_size(kind);
	struct pt_value *v;

	if (n > (SIZE_MAX / 2 - head) / sizeof(*items)) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory allocating %zu items", n);
		return NULL;
	}
	v = pt_arena_alloc(a, head + n * sizeof(*items), err); /* the items right after */
	if (!v)
		return NULL;
	v->kind = kind;
	if (n) {
		v->u.seq.v = (struct pt_value **)((char *)v + head);
		memcpy(v->u.seq.v, items, n * sizeof(*items));
	}
	v->u.seq.n = v->u.seq.cap = n;
	return v;
}

/* Grows an array of n used pointers to at least n + 1; NULL on failure. */
static struct pt_value **grow(struct pt_arena *a, struct pt_value **old,
			      size_t n, size_t *cap, struct pt_error *err)
{
	struct pt_value **nv;
	size_t ncap;

	if (n < *cap)
		return old;
	if (*cap > SIZE_MAX / 4 / sizeof(*nv)) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory growing a container");
		return NULL;
	}
	ncap = *cap ? *cap * 2 : 4;
	nv = pt_arena_alloc(a, ncap * sizeof(*nv), err);
	if (!nv)
		return NULL;
	if (n)
		memcpy(nv, old, n * sizeof(*nv));
	*cap = ncap;
	return nv;
}

int pt_vseq_push(struct pt_arena *a, struct pt_vseq *seq, struct pt_value *v,
		 struct pt_error *err)
{
	struct pt_value **nv = grow(a, seq->v, seq->n, &seq->cap, err);

	if (!nv)
		return -1;
	seq->v = nv;
	seq->v[seq->n++] = v;
	return 0;
}

/* Drops redundant sign bytes of a little-endian two's complement number. */
static size_t twos_minimal(const unsigned char *p, size_t n)
{
	while (n > 1 && ((p[n - 1] == 0x00 && !(p[n - 2] & 0x80)) ||
			 (p[n - 1] == 0xff && (p[n - 2] & 0x80))))
		n--;
	return n;
}

/*
 * The minimal two's complement bytes of an integral double too big for
 * int64 (|f| >= 2**63), so that it can meet a PT_V_BIGINT. out holds 136.
 */
static size_t float_to_twos(double f, unsigned char *out)
{
	uint64_t mant, w;
	size_t n, i, shift;
	int e, carry;

	mant = (uint64_t)ldexp(frexp(f < 0 ? -f : f, &e), 53);
	shift = (size_t)(e - 53);
	n = (size_t)e / 8 + 2;
	memset(out, 0, n);
	w = mant << (shift % 8);
	for (i = 0; i < 8 && shift / 8 + i < n; i++)
		out[shift / 8 + i] = (unsigned char)(w >> (8 * i));
	if (f < 0) {
		carry = 1;
		for (i = 0; i < n; i++) {
			int b = (unsigned char)~out[i] + carry;

			out[i] = (unsigned char)b;
			carry = b >> 8;
		}
	}
	return twos_minimal(out, n);
}

/* Every double of magnitude 2**52 or more is an integer. No libm needed. */
static bool is_big_integral(double f)
{
	return isfinite(f) && (f >= 0x1p63 || f < -0x1p63);
}

static bool is_small_integral(double f)
{
	return f >= -0x1p63 && f < 0x1p63 && (double)(int64_t)f == f;
}

static bool is_number(enum pt_vkind k)
{
	return k == PT_V_BOOL || k == PT_V_INT || k == PT_V_BIGINT ||
	       k == PT_V_FLOAT;
}

static int64_t as_int(const struct pt_value *v)
{
	return v->kind == PT_V_BOOL ? (int64_t)v->u.b : v->u.i;
}

static bool number_equal(const struct pt_value *a, const struct pt_value *b)
{
	unsigned char buf[136];
	size_t n;

	if (a->kind == PT_V_FLOAT && b->kind != PT_V_FLOAT) {
		const struct pt_value *t = a;

		a = b;
		b = t;
	}
	/* now b is the float if only one of them is */
	if (a->kind == PT_V_FLOAT)
		return a->u.f == b->u.f;
	if (a->kind == PT_V_BIGINT) {
		if (b->kind == PT_V_BIGINT)
			return a->u.s.len == b->u.s.len &&
			       memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
		if (b->kind != PT_V_FLOAT || !is_big_integral(b->u.f))
			return false;
		n = float_to_twos(b->u.f, buf);
		return n == a->u.s.len && memcmp(buf, a->u.s.p, n) == 0;
	}
	if (b->kind == PT_V_BIGINT)
		return false;
	if (b->kind == PT_V_FLOAT)
		return is_small_integral(b->u.f) && (int64_t)b->u.f == as_int(a);
	return as_int(a) == as_int(b);
}

static bool key_equal(const struct pt_value *a, const struct pt_value *b,
		      int depth)
{
	size_t i;

	if (a == b)
		return true;
	if (depth > KEY_DEPTH_MAX)
		return false;
	if (is_number(a->kind) && is_number(b->kind))
		return number_equal(a, b);
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PT_V_NONE:
		return true;
	case PT_V_STR:
	case PT_V_BYTES:
		return a->u.s.len == b->u.s.len &&
		       memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case PT_V_TUPLE:
		if (a->u.seq.n != b->u.seq.n)
			return false;
		for (i = 0; i < a->u.seq.n; i++)
			if (!key_equal(a->u.seq.v[i], b->u.seq.v[i], depth + 1))
				return false;
		return true;
	case PT_V_GLOBAL:
		return strcmp(a->u.global.module, b->u.global.module) == 0 &&
		       strcmp(a->u.global.name, b->u.global.name) == 0;
	default:
		return false; /* identity, checked above */
	}
}

bool pt_value_key_equal(const struct pt_value *a, const struct pt_value *b)
{
	return key_equal(a, b, 0);
}

enum { TAG_NUM = 1, TAG_BIG, TAG_FLOAT, TAG_STR, TAG_BYTES, TAG_NONE,
       TAG_TUPLE, TAG_GLOBAL, TAG_PTR };

static uint64_t combine(uint64_t h, uint64_t x)
{
	return pt_hash_mix64(h ^ (x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

static uint64_t hash_bytes(uint64_t seed, int tag, const void *s, size_t n)
{
	const unsigned char *p = s;
	uint64_t h = combine(seed ^ (uint64_t)tag, n), w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = combine(h, w);
	}
	if (i < n) {
		w = 0;
		memcpy(&w, p + i, n - i);
		h = combine(h, w);
	}
	return h;
}

/* Python's hash, in spirit: equal keys (key_equal) hash alike. */
static int hash_key(const struct pt_value *v, uint64_t seed, int depth,
		    uint64_t *out, struct pt_error *err)
{
	unsigned char buf[136];
	uint64_t h, eh, bits;
	size_t i;

	if (depth > KEY_DEPTH_MAX)
		return pt_error_set(err, PT_ERR_LIMIT,
				    "key nested deeper than %d levels", KEY_DEPTH_MAX);
	switch (v->kind) {
	case PT_V_BOOL:
	case PT_V_INT:
		*out = combine(seed ^ TAG_NUM, (uint64_t)as_int(v));
		return 0;
	case PT_V_BIGINT:
		*out = hash_bytes(seed, TAG_BIG, v->u.s.p, v->u.s.len);
		return 0;
	case PT_V_FLOAT:
		if (isnan(v->u.f)) /* NaN only ever equals itself */
			*out = combine(seed ^ TAG_PTR, (uint64_t)(uintptr_t)v);
		else if (is_small_integral(v->u.f))
			*out = combine(seed ^ TAG_NUM, (uint64_t)(int64_t)v->u.f);
		else if (is_big_integral(v->u.f))
			*out = hash_bytes(seed, TAG_BIG, buf,
					  float_to_twos(v->u.f, buf));
		else {
			memcpy(&bits, &v->u.f, 8);
			*out = combine(seed ^ TAG_FLOAT, bits);
		}
		return 0;
	case PT_V_STR:
		*out = hash_bytes(seed, TAG_STR, v->u.s.p, v->u.s.len);
		return 0;
	case PT_V_BYTES:
		*out = hash_bytes(seed, TAG_BYTES, v->u.s.p, v->u.s.len);
		return 0;
	case PT_V_NONE:
		*out = combine(seed, TAG_NONE);
		return 0;
	case PT_V_TUPLE:
		h = combine(seed ^ TAG_TUPLE, v->u.seq.n);
		for (i = 0; i < v->u.seq.n; i++) {
			if (hash_key(v->u.seq.v[i], seed, depth + 1, &eh, err))
				return -1;
			h = combine(h, eh);
		}
		*out = h;
		return 0;
	case PT_V_GLOBAL:
		h = hash_bytes(seed, TAG_GLOBAL, v->u.global.module,
			       strlen(v->u.global.module));
		*out = combine(h, hash_bytes(seed, TAG_GLOBAL, v->u.global.name,
					     strlen(v->u.global.name)));
		return 0;
	case PT_V_LIST:
	case PT_V_DICT:
	case PT_V_SET:
	case PT_V_BYTEARRAY:
		return pt_error_set(err, PT_ERR_PICKLE, "unhashable key of type %s",
				    pt_vkind_name(v->kind));
	default:
		*out = combine(seed ^ TAG_PTR, (uint64_t)(uintptr_t)v);
		return 0;
	}
}

int pt_value_check_key(const struct pt_value *v, struct pt_error *err)
{
	uint64_t h;

	return hash_key(v, 0, 0, &h, err);
}

/* Indexes every key of d in a table sized for at least want keys. */
#define SLOT(h, pos1) ((uint64_t)(uint32_t)(h) << 32 | (uint64_t)(pos1))
#define SLOT_POS1(s) ((size_t)(uint32_t)(s))
#define SLOT_HASH(s) ((uint32_t)((s) >> 32))

/*
 * (Re)builds d's index for want keys. A slot keeps 32 bits of its key's
 * hash: a probe compares keys only when those match, and growing the index
 * re-places slots without hashing a key again.
 */
static int index_build(struct pt_arena *a, struct pt_vdict *d, size_t want,
		       struct pt_error *err)
{
	const struct pt_vdict_index *old = d->index;
	struct pt_vdict_index *idx;
	size_t nslots = 16, i, j, mask;
	uint64_t h;

	if (want > UINT32_MAX) /* a slot keeps a 32-bit position */
		return pt_error_set(err, PT_ERR_LIMIT, "a dict of %zu keys is too large to index",
				    d->n);
	while (nslots < want * 2) {
		if (nslots > SIZE_MAX / 4 / sizeof(*idx->slots))
			return pt_error_set(err, PT_ERR_NOMEM,
					    "out of memory indexing a dict");
		nslots *= 2;
	}
	idx = pt_arena_alloc(a, sizeof(*idx), err);
	if (!idx)
		return -1;
	idx->slots = pt_arena_alloc(a, nslots * sizeof(*idx->slots), err);
	if (!idx->slots)
		return -1;
	idx->nslots = nslots;
	mask = nslots - 1;
	if (old && old->nindexed == d->n) { /* same seed, hashes kept */
		idx->seed = old->seed;
		for (i = 0; i < old->nslots; i++) {
			if (!old->slots[i])
				continue;
			for (j = SLOT_HASH(old->slots[i]) & mask; idx->slots[j]; j = (j + 1) & mask)
				;
			idx->slots[j] = old->slots[i];
		}
	} else {
		idx->seed = pt_hash_mix64((uint64_t)(uintptr_t)idx->slots ^ 0x5bd1e995u);
		for (i = 0; i < d->n; i++) {
			if (hash_key(d->k[i], idx->seed, 0, &h, err))
				return -1;
			for (j = h & mask; idx->slots[j]; j = (j + 1) & mask)
				;
			idx->slots[j] = SLOT(h, i + 1);
		}
	}
	idx->nindexed = d->n;
	d->index = idx;
	return 0;
}

static int append_item(struct pt_arena *a, struct pt_vdict *d,
		       struct pt_value *k, struct pt_value *v,
		       struct pt_error *err)
{
	size_t kcap = d->cap, vcap = d->cap;
	struct pt_value **nk, **nv;

	nk = grow(a, d->k, d->n, &kcap, err);
	if (!nk)
		return -1;
	nv = grow(a, d->v, d->n, &vcap, err);
	if (!nv)
		return -1;
	d->k = nk;
	d->v = nv;
	d->cap = kcap;
	d->k[d->n] = k;
	d->v[d->n] = v;
	d->n++;
	return 0;
}

int pt_vdict_set(struct pt_arena *a, struct pt_vdict *d, struct pt_value *k,
		 struct pt_value *v, struct pt_error *err)
{
	struct pt_vdict_index *idx;
	size_t i, j, mask;
	uint64_t h;

	if (d->n < INDEX_MIN) {
		if (pt_value_check_key(k, err))
			return -1;
		for (i = 0; i < d->n; i++) {
			if (key_equal(d->k[i], k, 0)) {
				d->v[i] = v;
				return 0;
			}
		}
		return append_item(a, d, k, v, err);
	}
	idx = d->index;
	if (!idx || idx->nindexed != d->n || (d->n + 1) * 2 > idx->nslots) {
		if (index_build(a, d, (d->n + 1) * 2, err))
			return -1;
		idx = d->index;
	}
	if (hash_key(k, idx->seed, 0, &h, err))
		return -1;
	mask = idx->nslots - 1;
	for (j = h & mask; idx->slots[j]; j = (j + 1) & mask) {
		i = SLOT_POS1(idx->slots[j]) - 1;
		if (SLOT_HASH(idx->slots[j]) == (uint32_t)h && key_equal(d->k[i], k, 0)) {
			d->v[i] = v;
			return 0;
		}
	}
	if (append_item(a, d, k, v, err))
		return -1;
	idx->slots[j] = SLOT(h, d->n);
	idx->nindexed = d->n;
	return 0;
}

struct pt_value *pt_vdict_get_str(const struct pt_vdict *d, const char *key)
{
	const struct pt_vdict_index *idx = d->index;
	size_t len = strlen(key), i, j, mask;
	const struct pt_value *k;

	if (idx && idx->nindexed == d->n) {
		mask = idx->nslots - 1;
		j = hash_bytes(idx->seed, TAG_STR, key, len) & mask;
		for (; idx->slots[j]; j = (j + 1) & mask) {
			i = SLOT_POS1(idx->slots[j]) - 1;
			k = d->k[i];
			if (k->kind == PT_V_STR && k->u.s.len == len &&
			    memcmp(k->u.s.p, key, len) == 0)
				return d->v[i];
		}
		return NULL;
	}
	for (i = 0; i < d->n; i++) {
		k = d->k[i];
		if (k->kind == PT_V_STR && k->u.s.len == len &&
		    memcmp(k->u.s.p, key, len) == 0)
			return d->v[i];
	}
	return NULL;
}

bool pt_value_is_global(const struct pt_value *v, const char *module,
			const char *name)
{
	return v && v->kind == PT_V_GLOBAL &&
	       strcmp(v->u.global.module, module) == 0 &&
	       strcmp(v->u.global.name, name) == 0;
}

const char *pt_vkind_name(enum pt_vkind kind)
{
	switch (kind) {
	case PT_V_NONE: return "NoneType";
	case PT_V_BOOL: return "bool";
	case PT_V_INT: return "int";
	case PT_V_BIGINT: return "int";
	case PT_V_FLOAT: return "float";
	case PT_V_STR: return "str";
	case PT_V_BYTES: return "bytes";
	case PT_V_BYTEARRAY: return "bytearray";
	case PT_V_TUPLE: return "tuple";
	case PT_V_LIST: return "list";
	case PT_V_SET: return "set";
	case PT_V_FROZENSET: return "frozenset";
	case PT_V_DICT: return "dict";
	case PT_V_GLOBAL: return "global";
	case PT_V_OBJECT: return "object";
	case PT_V_PERSID: return "persistent id";
	case PT_V_STORAGE: return "storage";
	case PT_V_TENSOR: return "tensor";
	}
	return "unknown";
}
