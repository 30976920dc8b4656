/*
 * pickle.c - the pickle machine: runs the opcodes, never imports or calls.
 *
 * The stack is a malloc'd array of value pointers with a separate array of
 * mark positions (Python's metastack, flattened): operands are only taken
 * from above the innermost mark, as Python takes them from its current
 * stack. Every value lives in the caller's arena; the stack, the marks and
 * the memo are scratch, freed before returning. The memo is an array for
 * the dense run of indices that picklers write (0, 1, 2, ...: one cache
 * line per eight PUTs) and a hash table for any other index, so its size
 * follows the number of PUTs the file really made, never an index it
 * chose: the array only grows while it stays within four slots per entry.
 *
 * Limits: values plus marks on the stack (max_stack), open marks
 * (max_depth: Python's own pickler cannot nest containers deeper than its
 * recursion limit of 1000, so a deeper pile of marks is hostile), memo
 * indices (max_memo), big-integer sizes (max_bigint) and the arena's bytes.
 * Nothing recurses on value structure: a 100000-deep nested list made with
 * EMPTY_LIST/APPEND loads, and the arena frees it without walking it.
 *
 * Frames are checked: an opcode must not cross the end of the frame it
 * starts in, and a frame must fit in the buffer.
 *
 * This file holds the machine: its errors, the stack, the marks, the memo,
 * the containers and the dispatch (step). Text and string arguments are
 * decoded in pickle_text.c, and the opcodes that would import or call in
 * Python (globals, REDUCE and friends, BUILD, persistent ids) are done in
 * pickle_obj.c, so that each part reads on its own; pickle_int.h holds
 * what they share, struct pt_machine included.
 */
#include "pickle.h"
#include "pickle_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pages.h"

#define PROTO_MAX 5

static const struct pt_pickle_hooks no_hooks;

void pt_pickle_limits_default(struct pt_pickle_limits *l)
{
	l->max_stack = (size_t)1 << 20;
	l->max_memo = (size_t)1 << 22;
	l->max_depth = 1000;
	l->max_bigint = 4096;
}

void pt_pickle_opts_default(struct pt_pickle_opts *o)
{
	o->encoding = PT_ENC_UTF8;
	pt_pickle_limits_default(&o->limits);
	o->hooks = NULL;
	o->ran_out = NULL;
}

int pt_pickle_fail(struct pt_machine *m, enum pt_err code, const char *fmt, ...)
{
	char msg[PT_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->reported = true;
	return pt_error_set(m->err, code, "offset %zu: %s: %s", m->off, pt_pickle_ops[m->op].name,
			    msg);
}

int pt_pickle_failed(struct pt_machine *m, const char *fallback)
{
	if (m->reported)
		return -1;
	m->reported = true;
	if (m->err->code == PT_OK)
		pt_error_set(m->err, PT_ERR_PICKLE, "%s", fallback);
	pt_error_prefix(m->err, "offset %zu: %s", m->off, pt_pickle_ops[m->op].name);
	return -1;
}

static size_t avail(const struct pt_machine *m)
{
	return m->sp - m->floor;
}

/* floor and push_max after the marks or the stack's room changed. */
static void set_marks(struct pt_machine *m)
{
	m->floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
	m->push_max = m->max_stack - m->nmarks < m->scap ? m->max_stack - m->nmarks : m->scap;
}

int pt_pickle_need(struct pt_machine *m, size_t k)
{
	size_t have = avail(m);

	if (have >= k)
		return 0;
	return pt_pickle_fail(m, PT_ERR_PICKLE,
			      "stack underflow (needs %zu value%s, has %zu)",
			      k, k == 1 ? "" : "s", have);
}

int pt_pickle_push_slow(struct pt_machine *m, struct pt_value *v)
{
	struct pt_value **ns;
	size_t *np, ncap;

	if (!v)
		return pt_pickle_failed(m, "no value");
	if (m->sp + m->nmarks >= m->lim->max_stack)
		return pt_pickle_fail(m, PT_ERR_LIMIT,
				      "stack exceeds the limit of %zu entries",
				      m->lim->max_stack);
	if (m->sp == m->scap) {
		ncap = m->scap ? m->scap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(*ns))
			return pt_pickle_fail(m, PT_ERR_NOMEM,
					      "out of memory growing the stack");
		ns = realloc(m->stack, ncap * sizeof(*ns));
		if (!ns)
			return pt_pickle_fail(m, PT_ERR_NOMEM,
					      "out of memory growing the stack");
		m->stack = ns;
		np = realloc(m->prov, ncap * sizeof(*np));
		if (!np)
			return pt_pickle_fail(m, PT_ERR_NOMEM,
					      "out of memory growing the stack");
		m->prov = np;
		m->scap = ncap;
		set_marks(m);
	}
	m->prov[m->sp] = m->off;
	m->stack[m->sp++] = v;
	return 0;
}

static int push_mark(struct pt_machine *m)
{
	size_t *nm, ncap;

	if (m->nmarks >= m->lim->max_depth)
		return pt_pickle_fail(m, PT_ERR_LIMIT, "more than %zu nested MARKs",
				      m->lim->max_depth);
	if (m->sp + m->nmarks >= m->lim->max_stack)
		return pt_pickle_fail(m, PT_ERR_LIMIT,
				      "stack exceeds the limit of %zu entries",
				      m->lim->max_stack);
	if (m->nmarks == m->mcap) {
		ncap = m->mcap ? m->mcap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(*nm))
			return pt_pickle_fail(m, PT_ERR_NOMEM,
					      "out of memory growing the marks");
		nm = realloc(m->marks, ncap * sizeof(*nm));
		if (!nm)
			return pt_pickle_fail(m, PT_ERR_NOMEM,
					      "out of memory growing the marks");
		m->marks = nm;
		m->mcap = ncap;
	}
	m->marks[m->nmarks++] = m->sp;
	set_marks(m);
	return 0;
}

int pt_pickle_pop_mark(struct pt_machine *m, size_t *base)
{
	*base = m->sp;
	if (!m->nmarks)
		return pt_pickle_fail(m, PT_ERR_PICKLE, "no MARK on the stack");
	*base = m->marks[--m->nmarks];
	set_marks(m);
	return 0;
}

static uint64_t memo_hash(const struct pt_machine *m, uint64_t key)
{
	key ^= m->memoseed;
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key;
}

static struct pt_memo_slot *memo_slot(const struct pt_machine *m, uint64_t key)
{
	size_t mask = m->memocap - 1, j;

	for (j = memo_hash(m, key) & mask; m->memo[j].key && m->memo[j].key != key;
	     j = (j + 1) & mask)
		;
	return &m->memo[j];
}

/*
 * Reserves the dense array: one slot per byte of the pickle (an index per
 * opcode at most), max_memo at most. A big one is mapped (pages.h), not
 * allocated: its pages stay unbacked until an index on them is stored, so
 * it never moves, is never copied and costs what the PUTs touch. Without
 * it (out of memory) the hash table takes every index.
 */
static void memo_dense_init(struct pt_machine *m)
{
	size_t n = m->len < m->lim->max_memo ? m->len + 1 : m->lim->max_memo;

	m->dense = pt_pages_alloc(n * sizeof(*m->dense));
	m->ndense = m->dense ? n : 0;
}

static void memo_dense_free(struct pt_machine *m)
{
	pt_pages_free(m->dense, m->ndense * sizeof(*m->dense));
}

static int memo_put(struct pt_machine *m, uint64_t idx, struct pt_value *v)
{
	struct pt_memo_slot *old = m->memo, *s;
	size_t oldcap = m->memocap, i;

	if (idx >= m->lim->max_memo)
		return pt_pickle_fail(m, PT_ERR_LIMIT,
				      "memo index %llu exceeds the limit of %zu",
				      (unsigned long long)idx, m->lim->max_memo);
	if (idx < m->ndense) {
		m->nmemo += !m->dense[idx];
		m->dense[idx] = v;
		return 0;
	}
	if ((m->nmemo + 1) * 2 > m->memocap) {
		m->memocap = m->memocap ? m->memocap * 2 : 64;
		m->memo = calloc(m->memocap, sizeof(*m->memo));
		if (!m->memo) {
			m->memo = old;
			m->memocap = oldcap;
			return pt_pickle_fail(m, PT_ERR_NOMEM,
					      "out of memory growing the memo");
		}
		/* A seed from the table's address keeps crafted indices from colliding. */
		m->memoseed = pt_hash_seed(m->memo);
		for (i = 0; i < oldcap; i++)
			if (old[i].key)
				*memo_slot(m, old[i].key) = old[i];
		free(old);
	}
	s = memo_slot(m, idx + 1);
	if (!s->key) {
		s->key = idx + 1;
		m->nmemo++;
	}
	s->v = v;
	return 0;
}

static int memo_get(struct pt_machine *m, uint64_t idx)
{
	struct pt_memo_slot *s = NULL;

	if (m->memocap && idx < UINT64_MAX)
		s = memo_slot(m, idx + 1);
	if (!s || !s->key)
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "memo index %llu was never stored",
				      (unsigned long long)idx);
	return pt_pickle_push(m, s->v);
}

/*
 * A GET or PUT of an index in the dense array, in line (a torch pickle is
 * a quarter PUTs and a sixth GETs); the rest, and every error, out of line.
 */
static inline int get(struct pt_machine *m, uint64_t idx)
{
	if (idx < m->ndense && m->dense[idx])
		return pt_pickle_push(m, m->dense[idx]);
	return memo_get(m, idx);
}

static inline int put(struct pt_machine *m, uint64_t idx)
{
	if (avail(m) == 0)
		return pt_pickle_need(m, 1);
	if (idx < m->ndense) { /* ndense <= max_memo */
		m->nmemo += !m->dense[idx];
		m->dense[idx] = pt_pickle_top(m);
		return 0;
	}
	return memo_put(m, idx, pt_pickle_top(m));
}

struct pt_value *pt_pickle_make_seq(struct pt_machine *m, enum pt_vkind kind,
				    struct pt_value *const *items, size_t n)
{
	return pt_value_seq(m->a, kind, items, n, m->err);
}

/* Tells the tuple hook where each item of a new tuple came from. */
static int tuple_made(struct pt_machine *m, struct pt_value *v, size_t base)
{
	if (!m->h->tuple)
		return 0;
	pt_error_clear(m->err);
	if (m->h->tuple(m->h->ctx, v, m->prov + base, m->err) < 0)
		return pt_pickle_failed(m, "the tuple hook failed");
	return 0;
}

/* TUPLE, LIST, FROZENSET: the items since the mark, in a new container. */
static int from_mark(struct pt_machine *m, enum pt_vkind kind)
{
	struct pt_value *v;
	size_t base, i;

	if (pt_pickle_pop_mark(m, &base))
		return -1;
	for (i = base; kind == PT_V_FROZENSET && i < m->sp; i++)
		if (pt_value_check_key(m->stack[i], m->err))
			return pt_pickle_failed(m, "unhashable");
	v = pt_pickle_make_seq(m, kind, m->stack + base, m->sp - base);
	if (v && kind == PT_V_TUPLE && tuple_made(m, v, base) < 0)
		return -1;
	m->sp = base;
	return pt_pickle_push(m, v);
}

static int tuple_n(struct pt_machine *m, size_t n)
{
	struct pt_value *v;

	if (pt_pickle_need(m, n))
		return -1;
	v = pt_pickle_make_seq(m, PT_V_TUPLE, m->stack + m->sp - n, n);
	if (v && tuple_made(m, v, m->sp - n) < 0)
		return -1;
	m->sp -= n;
	return pt_pickle_push(m, v);
}

static int append_to(struct pt_machine *m, struct pt_value *target,
		     struct pt_value *const *items, size_t n)
{
	struct pt_vseq *seq;
	size_t i;

	if (target->kind == PT_V_LIST)
		seq = &target->u.seq;
	else if (target->kind == PT_V_OBJECT)
		seq = &target->u.obj.appends;
	else
		return pt_pickle_fail(m, PT_ERR_PICKLE, "target is %s, not a list",
				      pt_vkind_name(target->kind));
	for (i = 0; i < n; i++)
		if (pt_vseq_push(m->a, seq, items[i], m->err))
			return pt_pickle_failed(m, "no memory");
	return 0;
}

static int setitems_to(struct pt_machine *m, struct pt_value *target,
		       struct pt_value *const *items, size_t n)
{
	struct pt_vdict *d;
	size_t i;

	if (target->kind == PT_V_DICT)
		d = &target->u.dict;
	else if (target->kind == PT_V_OBJECT)
		d = &target->u.obj.items;
	else
		return pt_pickle_fail(m, PT_ERR_PICKLE, "target is %s, not a dict",
				      pt_vkind_name(target->kind));
	for (i = 0; i + 1 < n; i += 2)
		if (pt_vdict_set(m->a, d, items[i], items[i + 1], m->err))
			return pt_pickle_failed(m, "bad key");
	return 0;
}

static int appends(struct pt_machine *m)
{
	size_t base, n;

	if (pt_pickle_pop_mark(m, &base))
		return -1;
	n = m->sp - base;
	/* Nothing is pushed until done, so the items stay where they were. */
	m->sp = base;
	if (pt_pickle_need(m, 1))
		return -1;
	return append_to(m, pt_pickle_top(m), m->stack + base, n);
}

static int setitems(struct pt_machine *m)
{
	size_t base, n;

	if (pt_pickle_pop_mark(m, &base))
		return -1;
	n = m->sp - base;
	if (n % 2)
		return pt_pickle_fail(m, PT_ERR_PICKLE, "odd number of items (%zu)", n);
	m->sp = base;
	if (pt_pickle_need(m, 1))
		return -1;
	return setitems_to(m, pt_pickle_top(m), m->stack + base, n);
}

static int dict_from_mark(struct pt_machine *m)
{
	struct pt_value *v;
	size_t base, n;

	if (pt_pickle_pop_mark(m, &base))
		return -1;
	n = m->sp - base;
	if (n % 2)
		return pt_pickle_fail(m, PT_ERR_PICKLE, "odd number of items (%zu)", n);
	v = pt_value_new(m->a, PT_V_DICT, m->err);
	if (!v)
		return pt_pickle_failed(m, "no memory");
	if (setitems_to(m, v, m->stack + base, n))
		return -1;
	m->sp = base;
	return pt_pickle_push(m, v);
}

static int additems(struct pt_machine *m)
{
	struct pt_value *target;
	size_t base, i, n;

	if (pt_pickle_pop_mark(m, &base))
		return -1;
	n = m->sp - base;
	m->sp = base;
	if (pt_pickle_need(m, 1))
		return -1;
	target = pt_pickle_top(m);
	if (target->kind != PT_V_SET)
		return pt_pickle_fail(m, PT_ERR_PICKLE, "target is %s, not a set",
				      pt_vkind_name(target->kind));
	for (i = base; i < base + n; i++) {
		if (pt_value_check_key(m->stack[i], m->err))
			return pt_pickle_failed(m, "unhashable");
		if (pt_vseq_push(m->a, &target->u.seq, m->stack[i], m->err))
			return pt_pickle_failed(m, "no memory");
	}
	return 0;
}

static struct pt_value *singleton(struct pt_machine *m, struct pt_value **slot,
				  enum pt_vkind kind, bool b)
{
	if (!*slot) {
		*slot = pt_value_new(m->a, kind, m->err);
		if (*slot)
			(*slot)->u.b = b;
	}
	return *slot;
}

/* BININT, BININT1, BININT2: one shared value for each small int. */
static int push_int(struct pt_machine *m, int64_t i)
{
	struct pt_value **slot;

	if (i < 0 || i >= PT_PICKLE_SMALL_INTS)
		return pt_pickle_push(m, pt_value_int(m->a, i, m->err));
	slot = &m->small_int[i];
	if (!*slot)
		*slot = pt_value_int(m->a, i, m->err);
	return pt_pickle_push(m, *slot);
}

static int frame(struct pt_machine *m, uint64_t n, size_t next)
{
	if (m->in_frame && next != m->frame_end)
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "a new frame begins before the end of the frame at offset %zu",
				      m->frame_end);
	if (n > m->len - next) {
		*m->ran_out = n <= INT64_MAX; /* as pt_pickle_op_decode's lengths */
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "length %llu exceeds the %zu bytes left",
				      (unsigned long long)n, m->len - next);
	}
	m->frame_end = next + (size_t)n;
	m->in_frame = n > 0;
	return 0;
}

static int binfloat(struct pt_machine *m, const unsigned char *p)
{
	struct pt_value *v = pt_value_new(m->a, PT_V_FLOAT, m->err);
	uint64_t bits = 0;
	int i;

	for (i = 0; i < 8; i++)
		bits = bits << 8 | p[i];
	if (v)
		memcpy(&v->u.f, &bits, sizeof(bits));
	return pt_pickle_push(m, v);
}

static int long_bytes(struct pt_machine *m, const struct pt_oparg *arg)
{
	if (arg->n > m->lim->max_bigint)
		return pt_pickle_fail(m, PT_ERR_LIMIT,
				      "%zu bytes exceed the limit of %zu",
				      arg->n, m->lim->max_bigint);
	return pt_pickle_push(m, pt_pickle_twos_value(m, arg->p, arg->n));
}

/* One opcode whose argument is decoded; 1 after STOP. */
static int step(struct pt_machine *m, const struct pt_oparg *arg, size_t next,
		struct pt_value **out)
{
	uint64_t idx;
	size_t base, n;

	switch (m->op) {
	case '(': return push_mark(m);
	case '.':
		if (pt_pickle_need(m, 1))
			return -1;
		*out = pt_pickle_pop(m);
		return 1;
	case '0':
		if (avail(m)) {
			m->sp--;
			return 0;
		}
		if (m->nmarks) { /* Python's POP takes a mark when no value is above it */
			m->nmarks--;
			set_marks(m);
			return 0;
		}
		return pt_pickle_need(m, 1);
	case '1':
		if (pt_pickle_pop_mark(m, &base))
			return -1;
		m->sp = base;
		return 0;
	case '2':
		if (pt_pickle_need(m, 1))
			return -1;
		return pt_pickle_push(m, pt_pickle_top(m));
	case 'F': return pt_pickle_push(m, pt_pickle_text_float(m, arg->p, arg->n));
	case 'I':
		if (arg->n == 2 && arg->p[0] == '0' && (arg->p[1] == '0' || arg->p[1] == '1'))
			return pt_pickle_push(m, arg->p[1] == '1'
					      ? singleton(m, &m->yes, PT_V_BOOL, true)
					      : singleton(m, &m->no, PT_V_BOOL, false));
		return pt_pickle_push(m, pt_pickle_text_int(m, arg->p, arg->n));
	case 'L':
		n = arg->n && arg->p[arg->n - 1] == 'L' ? arg->n - 1 : arg->n;
		return pt_pickle_push(m, pt_pickle_text_int(m, arg->p, n));
	case 'J': return push_int(m, arg->i);
	case 'K':
	case 'M': return push_int(m, (int64_t)arg->u);
	case 'N': return pt_pickle_push(m, singleton(m, &m->none, PT_V_NONE, false));
	case 0x88: return pt_pickle_push(m, singleton(m, &m->yes, PT_V_BOOL, true));
	case 0x89: return pt_pickle_push(m, singleton(m, &m->no, PT_V_BOOL, false));
	case 0x8a:
	case 0x8b: return long_bytes(m, arg);
	case 'G': return binfloat(m, arg->p);
	case 'S': return pt_pickle_push(m, pt_pickle_text_string(m, arg->p, arg->n));
	case 'T':
	case 'U': return pt_pickle_push(m, pt_pickle_py2_string(m, arg->p, arg->n));
	case 'V': return pt_pickle_push(m, pt_pickle_text_unicode(m, arg->p, arg->n));
	case 'X':
	case 0x8c:
	case 0x8d: return pt_pickle_push(m, pt_pickle_unicode_value(m, arg->p, arg->n));
	case 'B':
	case 'C':
	case 0x8e:
		return pt_pickle_push(m, pt_pickle_bytes_value(m, PT_V_BYTES,
							       arg->p, arg->n));
	case 0x96:
		return pt_pickle_push(m, pt_pickle_bytes_value(m, PT_V_BYTEARRAY,
							       arg->p, arg->n));
	case 'P': return pt_pickle_text_persid(m, arg);
	case 'Q':
		if (pt_pickle_need(m, 1))
			return -1;
		return pt_pickle_persistent(m, pt_pickle_pop(m));
	case 'R': return pt_pickle_reduce(m, 2);
	case 0x81: return pt_pickle_reduce(m, 2);
	case 0x92: return pt_pickle_reduce(m, 3);
	case 'o': return pt_pickle_obj(m);
	case 'i': return pt_pickle_inst(m, arg);
	case 'b': return pt_pickle_build(m);
	case 'c': return pt_pickle_push(m, pt_pickle_text_global(m, arg));
	case 0x93: return pt_pickle_stack_global(m);
	case 0x82:
	case 0x83: return pt_pickle_ext(m, (int64_t)arg->u);
	case 0x84: return pt_pickle_ext(m, arg->i);
	case ')':
		if (!m->empty_tuple)
			m->empty_tuple = pt_pickle_make_seq(m, PT_V_TUPLE, NULL, 0);
		return pt_pickle_push(m, m->empty_tuple);
	case ']': return pt_pickle_push(m, pt_value_new(m->a, PT_V_LIST, m->err));
	case '}': return pt_pickle_push(m, pt_value_new(m->a, PT_V_DICT, m->err));
	case 0x8f: return pt_pickle_push(m, pt_value_new(m->a, PT_V_SET, m->err));
	case 't': return from_mark(m, PT_V_TUPLE);
	case 'l': return from_mark(m, PT_V_LIST);
	case 0x91: return from_mark(m, PT_V_FROZENSET);
	case 'd': return dict_from_mark(m);
	case 0x85: return tuple_n(m, 1);
	case 0x86: return tuple_n(m, 2);
	case 0x87: return tuple_n(m, 3);
	case 'a':
		if (pt_pickle_need(m, 2))
			return -1;
		m->sp--;
		return append_to(m, pt_pickle_top(m), m->stack + m->sp, 1);
	case 'e': return appends(m);
	case 's':
		if (pt_pickle_need(m, 3))
			return -1;
		m->sp -= 2;
		return setitems_to(m, pt_pickle_top(m), m->stack + m->sp, 2);
	case 'u': return setitems(m);
	case 0x90: return additems(m);
	case 'g':
		if (pt_pickle_text_index(m, arg->p, arg->n, &idx))
			return -1;
		return get(m, idx);
	case 'h':
	case 'j': return get(m, arg->u);
	case 'p':
		if (pt_pickle_text_index(m, arg->p, arg->n, &idx))
			return -1;
		return put(m, idx);
	case 'q':
	case 'r': return put(m, arg->u);
	case 0x94: return put(m, m->nmemo); /* Python: memo[len(memo)] */
	case 0x80:
		if (arg->u > PROTO_MAX)
			return pt_pickle_fail(m, PT_ERR_UNSUPPORTED,
					      "unsupported protocol %llu",
					      (unsigned long long)arg->u);
		m->proto = (unsigned)arg->u;
		return 0;
	case 0x95: return frame(m, arg->u, next);
	case 0x97:
		return pt_pickle_fail(m, PT_ERR_UNSUPPORTED,
				      "out-of-band buffers are not supported");
	case 0x98: return pt_pickle_need(m, 1); /* our bytes are read-only already */
	}
	return pt_pickle_fail(m, PT_ERR_PICKLE, "opcode has no handler"); /* unreachable: the table and switch agree */
}

int pt_pickle_load(struct pt_arena *a, const unsigned char *buf, size_t len,
		   const struct pt_pickle_opts *o, struct pt_value **out,
		   size_t *consumed, struct pt_error *err)
{
	struct pt_pickle_opts defaults;
	struct pt_error local;
	struct pt_machine m;
	struct pt_oparg arg;
	struct pt_value *result = NULL;
	size_t pos = 0, next;
	bool ran_out = false;
	int rc = -1, st;

	if (!o) {
		pt_pickle_opts_default(&defaults);
		o = &defaults;
	}
	memset(&m, 0, sizeof(m));
	m.a = a;
	m.buf = buf;
	m.len = len;
	m.lim = &o->limits;
	m.max_stack = o->limits.max_stack;
	m.encoding = o->encoding;
	m.h = o->hooks ? o->hooks : &no_hooks;
	m.err = err ? err : &local;
	m.ran_out = o->ran_out ? o->ran_out : &ran_out;
	*m.ran_out = false;
	pt_error_clear(m.err);
	/* Never NULL, so that stack + base is always a valid pointer. */
	m.scap = 64;
	m.stack = malloc(m.scap * sizeof(*m.stack));
	m.prov = malloc(m.scap * sizeof(*m.prov));
	set_marks(&m);
	memo_dense_init(&m);
	if (!m.stack || !m.prov) {
		pt_error_set(m.err, PT_ERR_NOMEM, "out of memory for the pickle stack");
		goto out_free;
	}

	for (;;) {
		m.off = pos;
		if (m.in_frame && pos == m.frame_end)
			m.in_frame = false;
		if (pos >= len) {
			*m.ran_out = true;
			pt_error_set(m.err, PT_ERR_PICKLE,
				     "offset %zu: pickle ends before STOP", pos);
			goto out_free;
		}
		m.op = buf[pos];
		if (pt_pickle_ops[m.op].fmt == PT_ARG_UNKNOWN) {
			pt_error_set(m.err, PT_ERR_PICKLE,
				     "offset %zu: unknown opcode 0x%02x", pos, m.op);
			goto out_free;
		}
		if (!pt_pickle_op_decode_fixed(buf, len, pos, &arg, &next) &&
		    (st = pt_pickle_op_decode(buf, len, pos, &arg, &next, m.err)) != 0) {
			*m.ran_out = st > 0; /* 1: the argument runs past the bytes there are */
			goto out_free;
		}
		if (m.in_frame && next > m.frame_end) {
			pt_pickle_fail(&m, PT_ERR_PICKLE,
				       "argument crosses the end of the frame at offset %zu",
				       m.frame_end);
			goto out_free;
		}
		st = step(&m, &arg, next, &result);
		if (st < 0)
			goto out_free;
		pos = next;
		if (st > 0)
			break;
	}
	*out = result;
	if (consumed)
		*consumed = pos;
	pt_error_clear(m.err);
	rc = 0;
out_free:
	free(m.memo);
	memo_dense_free(&m);
	free(m.marks);
	free(m.stack);
	free(m.prov);
	if (rc)
		*out = NULL;
	return rc ? -1 : 0;
}

