/*
 * sdpickle.c - writing a state_dict pickle of protocol 2 (see sdpickle.h).
 *
 * The opcodes are those torch.save emits (PROTO 2, GLOBAL, EMPTY_TUPLE,
 * REDUCE, MARK, BINUNICODE, BININT1/2/BININT/LONG1, TUPLE1-3/TUPLE,
 * BINPERSID, NEWFALSE, SETITEMS, STOP), without the memo: every item
 * repeats its GLOBALs, which costs a few bytes and keeps the writer a
 * straight loop. SETITEMS batches of 1000 as pickle does.
 */
#include "sdpickle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pbuf {
	unsigned char *p;
	size_t n, cap;
	int failed;
};

static void put(struct pbuf *b, const void *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2 + 256;
		unsigned char *q = realloc(b->p, cap);

		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void op(struct pbuf *b, unsigned char c)
{
	put(b, &c, 1);
}

static void global(struct pbuf *b, const char *module, const char *name)
{
	op(b, 'c');
	put(b, module, strlen(module));
	op(b, '\n');
	put(b, name, strlen(name));
	op(b, '\n');
}

static void unicode(struct pbuf *b, const char *s)
{
	size_t n = strlen(s);
	unsigned char l[4] = { (unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 24) };

	op(b, 'X');
	put(b, l, 4);
	put(b, s, n);
}

static void integer(struct pbuf *b, int64_t v)
{
	unsigned char x[9];
	int i, n;

	if (v >= 0 && v < 256) {
		x[0] = 'K';
		x[1] = (unsigned char)v;
		put(b, x, 2);
	} else if (v >= 0 && v < 65536) {
		x[0] = 'M';
		x[1] = (unsigned char)v;
		x[2] = (unsigned char)(v >> 8);
		put(b, x, 3);
	} else if (v >= INT32_MIN && v <= INT32_MAX) {
		x[0] = 'J';
		for (i = 0; i < 4; i++)
			x[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
		put(b, x, 5);
	} else {
		/* LONG1: little-endian two's complement, as short as the sign allows */
		for (n = 8; n > 1; n--) {
			int64_t top = v >> (8 * (n - 1) - 1);

			if (top != 0 && top != -1)
				break;
		}
		x[0] = 0x8a;
		x[1] = (unsigned char)n;
		put(b, x, 2);
		for (i = 0; i < n; i++)
			x[i] = (unsigned char)((uint64_t)v >> (8 * i));
		put(b, x, (size_t)n);
	}
}

static void int_tuple(struct pbuf *b, const int64_t *v, int n)
{
	static const unsigned char tup[4] = { ')', 0x85, 0x86, 0x87 };
	int i;

	if (n > 3)
		op(b, '(');
	for (i = 0; i < n; i++)
		integer(b, v[i]);
	op(b, n > 3 ? 't' : tup[n]);
}

int pt_sdpickle_make(const struct pt_sdpickle_item *items, size_t n, const char *const *locs,
		     unsigned char **out, size_t *len, struct pt_error *err)
{
	struct pbuf b = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		if (!items[i].t->storage)
			return pt_error_set(err, PT_ERR_UNSUPPORTED,
					    "save: tensor '%s' has no data", items[i].name);
		if (!pt_dtype_storage_class(items[i].t->storage->dtype))
			return pt_error_set(err, PT_ERR_UNSUPPORTED,
					    "save: tensor '%s' is %s, which has no storage class torch 1.13 can load; a torch.save file cannot hold it",
					    items[i].name, pt_dtype_name(items[i].t->storage->dtype));
	}
	put(&b, "\x80\x02", 2);
	global(&b, "collections", "OrderedDict");
	op(&b, ')');
	op(&b, 'R');
	for (i = 0; i < n; i++) {
		const struct pt_sdpickle_item *it = &items[i];
		const struct pt_storage *s = it->t->storage;

		if (i % 1000 == 0)
			op(&b, '(');
		unicode(&b, it->name);
		global(&b, "torch._utils", "_rebuild_tensor_v2");
		op(&b, '(');
		op(&b, '(');
		unicode(&b, "storage");
		global(&b, "torch", pt_dtype_storage_class(s->dtype));
		unicode(&b, s->key);
		unicode(&b, locs && locs[s->index] ? locs[s->index] : s->saved_location);
		integer(&b, (int64_t)s->numel);
		op(&b, 't');
		op(&b, 'Q');
		integer(&b, it->t->offset);
		int_tuple(&b, it->t->shape, it->t->ndim);
		int_tuple(&b, it->t->stride, it->t->ndim);
		op(&b, it->t->requires_grad ? 0x88 : 0x89);
		global(&b, "collections", "OrderedDict");
		op(&b, ')');
		op(&b, 'R');
		op(&b, 't');
		op(&b, 'R');
		if (i % 1000 == 999 || i + 1 == n)
			op(&b, 'u');
	}
	op(&b, '.');
	if (b.failed) {
		free(b.p);
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	*out = b.p;
	*len = b.n;
	return 0;
}
