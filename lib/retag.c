/*
 * retag.c - rewriting only the location strings of a pickle.
 *
 * The torch layer recorded, for every persistent id, the offset of the
 * opcode that pushed its location tag: a string literal (BINUNICODE 'cpu')
 * or a memo fetch (BINGET 3) of a literal pushed earlier. Python's pickler
 * memoizes strings by identity, so one 'cpu' literal may serve many storages
 * and even a user's own 'cpu' value elsewhere. So, per literal:
 *  - not memoized: replace it with the new tag;
 *  - memoized, and every fetch of it is a location tag: replace it, and the
 *    fetches see the new value;
 *  - memoized and also fetched for something else: keep it (the memo must
 *    hold the original), and push the new tag after it with POP + literal.
 * Then every location fetch whose memo value is not its new tag becomes a
 * literal of the new tag. Edits are applied in one pass; FRAME lengths
 * (protocol 4) are corrected for the bytes added or removed inside them.
 */
#include "retag.h"

#include <stdlib.h>
#include <string.h>

#include "pickle_int.h"

struct op {
	size_t off, next;
	unsigned char code;
	uint64_t memo;    /* PUT/GET: the index */
	size_t def;       /* GET: the op index of the PUT that defined its value, or SIZE_MAX */
	const unsigned char *str; /* a string literal's bytes */
	size_t strn;
	int site;         /* a location site: the storage index + 1, else 0 */
	bool nonloc_use;  /* PUT: fetched by a GET that is not a location site */
	const char *memo_val; /* PUT: the value location fetches see after rewriting */
	size_t memo_vlen;
};

struct edit {
	size_t off, del;
	unsigned char ins[32 + 256];
	size_t insn;
};

struct memo_ent {
	uint64_t key; /* index + 1; 0 empty */
	size_t put;   /* op index of its latest PUT */
};

struct rt {
	struct op *ops;
	size_t nops;
	struct memo_ent *memo;
	size_t mcap, mlen;
	struct edit *edits;
	size_t nedits, ecap;
	struct pt_error *err;
};

static bool is_get(unsigned char c)
{
	return c == 'g' || c == 'h' || c == 'j';
}

static bool is_put(unsigned char c)
{
	return c == 'p' || c == 'q' || c == 'r' || c == 0x94;
}

static bool is_text_op(unsigned char c)
{
	return c == 'g' || c == 'p' || c == 'V' || c == 'S';
}

static struct memo_ent *memo_slot(struct rt *r, uint64_t idx)
{
	size_t mask = r->mcap - 1, i = (size_t)(idx * 0x9E3779B97F4A7C15ULL) & mask;

	while (r->memo[i].key && r->memo[i].key != idx + 1)
		i = (i + 1) & mask;
	return &r->memo[i];
}

static int memo_set(struct rt *r, uint64_t idx, size_t put)
{
	struct memo_ent *e;

	if ((r->mlen + 1) * 2 > r->mcap) {
		struct memo_ent *old = r->memo;
		size_t oldcap = r->mcap, i;

		r->mcap = r->mcap ? r->mcap * 2 : 64;
		r->memo = calloc(r->mcap, sizeof(*r->memo));
		if (!r->memo)
			return pt_error_set(r->err, PT_ERR_NOMEM, "out of memory");
		for (i = 0; i < oldcap; i++)
			if (old[i].key)
				*memo_slot(r, old[i].key - 1) = old[i];
		free(old);
	}
	e = memo_slot(r, idx);
	if (!e->key) {
		e->key = idx + 1;
		r->mlen++;
	}
	e->put = put;
	return 0;
}

/* The text of a string literal op, or NULL (bytes that are not a plain literal). */
static void literal_text(struct op *o, const struct pt_oparg *a)
{
	switch (o->code) {
	case 'X': case 0x8c: case 0x8d: case 'T': case 'U':
		o->str = a->p;
		o->strn = a->n;
		break;
	case 'V':
		if (!memchr(a->p, '\\', a->n)) {
			o->str = a->p;
			o->strn = a->n;
		}
		break;
	case 'S':
		if (a->n >= 2 && (a->p[0] == '\'' || a->p[0] == '"') && a->p[a->n - 1] == a->p[0] &&
		    !memchr(a->p, '\\', a->n)) {
			o->str = a->p + 1;
			o->strn = a->n - 2;
		}
		break;
	}
}

static int scan(struct rt *r, const unsigned char *pk, size_t len)
{
	size_t pos = 0, cap = 0;
	struct pt_oparg a;

	for (;;) {
		struct op *o;
		size_t next;

		if (pos >= len)
			return pt_error_set(r->err, PT_ERR_PICKLE, "pickle ends before STOP");
		if (!pt_pickle_ops[pk[pos]].name)
			return pt_error_set(r->err, PT_ERR_PICKLE, "offset %zu: unknown opcode", pos);
		if (pt_pickle_op_decode(pk, len, pos, &a, &next, r->err) != 0)
			return -1;
		if (r->nops == cap) {
			struct op *n;

			cap = cap ? cap * 2 : 1024;
			n = realloc(r->ops, cap * sizeof(*n));
			if (!n)
				return pt_error_set(r->err, PT_ERR_NOMEM, "out of memory");
			r->ops = n;
		}
		o = &r->ops[r->nops];
		memset(o, 0, sizeof(*o));
		o->off = pos;
		o->next = next;
		o->code = pk[pos];
		o->def = SIZE_MAX;
		literal_text(o, &a);
		if (is_get(o->code) || is_put(o->code)) {
			if (o->code == 'g' || o->code == 'p') {
				char num[24];
				size_t n = a.n < sizeof(num) - 1 ? a.n : sizeof(num) - 1;

				memcpy(num, a.p, n);
				num[n] = '\0';
				o->memo = strtoull(num, NULL, 10);
			} else if (o->code == 0x94) {
				o->memo = r->mlen;
			} else {
				o->memo = a.u;
			}
			if (is_put(o->code)) {
				if (memo_set(r, o->memo, r->nops) < 0)
					return -1;
			} else {
				struct memo_ent *e = r->mcap ? memo_slot(r, o->memo) : NULL;

				o->def = e && e->key ? e->put : SIZE_MAX;
			}
		}
		r->nops++;
		if (o->code == '.')
			return 0;
		pos = next;
	}
}

static size_t op_at(const struct rt *r, size_t off)
{
	size_t lo = 0, hi = r->nops;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->ops[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nops && r->ops[lo].off == off ? lo : SIZE_MAX;
}

static struct edit *edit_new(struct rt *r, size_t off, size_t del)
{
	struct edit *e;

	if (r->nedits == r->ecap) {
		struct edit *n;

		r->ecap = r->ecap ? r->ecap * 2 : 64;
		n = realloc(r->edits, r->ecap * sizeof(*n));
		if (!n)
			return pt_error_set(r->err, PT_ERR_NOMEM, "out of memory"), NULL;
		r->edits = n;
	}
	e = &r->edits[r->nedits++];
	e->off = off;
	e->del = del;
	e->insn = 0;
	return e;
}

/* Appends the literal opcode for tag: BINUNICODE, or UNICODE in a text pickle. */
static void put_literal(struct edit *e, const char *tag, bool text)
{
	size_t n = strlen(tag);

	if (text) {
		e->ins[e->insn++] = 'V';
		memcpy(e->ins + e->insn, tag, n);
		e->insn += n;
		e->ins[e->insn++] = '\n';
		return;
	}
	e->ins[e->insn++] = 'X';
	e->ins[e->insn++] = (unsigned char)n;
	e->ins[e->insn++] = (unsigned char)(n >> 8);
	e->ins[e->insn++] = 0;
	e->ins[e->insn++] = 0;
	memcpy(e->ins + e->insn, tag, n);
	e->insn += n;
}

static bool same(const unsigned char *a, size_t an, const char *b)
{
	return an == strlen(b) && memcmp(a, b, an) == 0;
}

static int edit_cmp(const void *x, const void *y)
{
	const struct edit *a = x, *b = y;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return (a->del != 0) - (b->del != 0); /* an insertion before a replacement at the same place */
}

static int plan(struct rt *r, const struct pt_torch *t, const char *const *locs, bool drop_views)
{
	size_t i, j;

	/* mark the location sites */
	for (i = 0; i < t->nstorages; i++) {
		const struct pt_storage *s = t->storages[i];
		const struct pt_loc_site *site;
		unsigned nsites = 0;

		for (site = s->sites; site; site = site->next, nsites++) {
			j = op_at(r, site->tag_off);
			if (j == SIZE_MAX || (!r->ops[j].str && !is_get(r->ops[j].code))) {
				if (strcmp(locs[i], s->saved_location) == 0)
					continue; /* unchanged: its bytes stay as they are */
				return pt_error_set(r->err, PT_ERR_UNSUPPORTED,
						    "storage '%s': its location tag is not a plain string in the pickle",
						    s->key);
			}
			r->ops[j].site = (int)i + 1;
		}
		if (nsites != s->nuses && strcmp(locs[i], s->saved_location) != 0)
			return pt_error_set(r->err, PT_ERR_UNSUPPORTED,
					    "storage '%s': a persistent id of it was not traced, so its tag cannot be rewritten",
					    s->key);
	}
	/* which memo entries are also fetched for something else */
	for (j = 0; j < r->nops; j++)
		if (is_get(r->ops[j].code) && r->ops[j].def != SIZE_MAX && !r->ops[j].site)
			r->ops[r->ops[j].def].nonloc_use = true;
	/* literal sites */
	for (j = 0; j < r->nops; j++) {
		struct op *o = &r->ops[j], *put = NULL;
		const char *tag;
		struct edit *e;

		if (!o->site || !o->str)
			continue;
		tag = locs[o->site - 1];
		if (j + 1 < r->nops && is_put(r->ops[j + 1].code))
			put = &r->ops[j + 1];
		if (same(o->str, o->strn, tag)) {
			if (put) {
				put->memo_val = (const char *)o->str;
				put->memo_vlen = o->strn;
			}
			continue;
		}
		if (put && put->nonloc_use) {
			put->memo_val = (const char *)o->str;
			put->memo_vlen = o->strn;
			e = edit_new(r, put->next, 0);
			if (!e)
				return -1;
			e->ins[e->insn++] = '0'; /* POP the original, keep it in the memo */
			put_literal(e, tag, is_text_op(o->code));
			continue;
		}
		if (put) {
			put->memo_val = tag;
			put->memo_vlen = strlen(tag);
		}
		e = edit_new(r, o->off, o->next - o->off);
		if (!e)
			return -1;
		put_literal(e, tag, is_text_op(o->code));
	}
	/* fetch sites */
	for (j = 0; j < r->nops; j++) {
		struct op *o = &r->ops[j], *put;
		const char *tag, *val;
		size_t vlen;
		struct edit *e;

		if (!o->site || !is_get(o->code))
			continue;
		tag = locs[o->site - 1];
		if (o->def == SIZE_MAX)
			return pt_error_set(r->err, PT_ERR_PICKLE, "a location tag is fetched from an empty memo slot");
		put = &r->ops[o->def];
		val = put->memo_val;
		vlen = put->memo_vlen;
		if (!val && o->def > 0 && r->ops[o->def - 1].str) {
			val = (const char *)r->ops[o->def - 1].str;
			vlen = r->ops[o->def - 1].strn;
		}
		if (val && same((const unsigned char *)val, vlen, tag))
			continue;
		e = edit_new(r, o->off, o->next - o->off);
		if (!e)
			return -1;
		put_literal(e, tag, is_text_op(o->code));
	}
	/* legacy view items */
	for (i = 0; drop_views && i < t->nstorages; i++) {
		const struct pt_loc_site *site;

		for (site = t->storages[i]->sites; site; site = site->next) {
			if (site->view_off == SIZE_MAX)
				continue;
			j = op_at(r, site->view_off);
			if (j == SIZE_MAX || (r->ops[j].code != 'N' && !is_get(r->ops[j].code)))
				return pt_error_set(r->err, PT_ERR_UNSUPPORTED,
						    "storage '%s': its legacy view item is not None",
						    t->storages[i]->key);
			if (!edit_new(r, r->ops[j].off, r->ops[j].next - r->ops[j].off))
				return -1;
		}
	}
	if (r->nedits)
		qsort(r->edits, r->nedits, sizeof(*r->edits), edit_cmp);
	return 0;
}

static int apply(struct rt *r, const unsigned char *pk, size_t len, unsigned char **out,
		 size_t *outlen)
{
	size_t grow = 0, i, pos = 0, o = 0, stop = r->ops[r->nops - 1].next, f;
	unsigned char *b;

	for (i = 0; i < r->nedits; i++)
		grow += r->edits[i].insn;
	b = malloc(stop + grow + 1);
	if (!b)
		return pt_error_set(r->err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < r->nedits; i++) {
		const struct edit *e = &r->edits[i];

		memcpy(b + o, pk + pos, e->off - pos);
		o += e->off - pos;
		memcpy(b + o, e->ins, e->insn);
		o += e->insn;
		pos = e->off + e->del;
	}
	memcpy(b + o, pk + pos, stop - pos);
	o += stop - pos;
	/* FRAME lengths: add the growth of the edits inside each frame */
	for (f = 0; f < r->nops; f++) {
		const struct op *fr = &r->ops[f];
		uint64_t flen = 0, start, end;
		int64_t delta = 0;
		size_t shift = 0, k;

		if (fr->code != 0x95)
			continue;
		for (k = 0; k < 8; k++)
			flen |= (uint64_t)pk[fr->off + 1 + k] << (8 * k);
		start = fr->next;
		end = start + flen;
		for (i = 0; i < r->nedits; i++) {
			const struct edit *e = &r->edits[i];

			if (e->off < fr->off)
				shift += e->insn - e->del;
			else if (e->off >= start && e->off < end)
				delta += (int64_t)e->insn - (int64_t)e->del;
		}
		flen = (uint64_t)((int64_t)flen + delta);
		for (k = 0; k < 8; k++)
			b[fr->off + shift + 1 + k] = (unsigned char)(flen >> (8 * k));
	}
	(void)len;
	*out = b;
	*outlen = o;
	return 0;
}

int pt_retag(const unsigned char *pk, size_t len, const struct pt_torch *t, const char *const *locs,
	     bool drop_views, unsigned char **out, size_t *outlen, struct pt_error *err)
{
	struct rt r = { .err = err };
	int ret = -1;

	if (scan(&r, pk, len) < 0 || plan(&r, t, locs, drop_views) < 0)
		goto out_free;
	ret = apply(&r, pk, len, out, outlen);
out_free:
	free(r.ops);
	free(r.memo);
	free(r.edits);
	return ret;
}
