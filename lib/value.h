/*
 * value.h - the symbolic Python objects the pickle machine builds.
 *
 * Nothing here is ever executed: a GLOBAL is a (module, name) pair, a
 * REDUCE or NEWOBJ is an object that remembers its callable, its arguments
 * and the state BUILD gave it. The torch layer (torch.h) recognises the few
 * callables that rebuild tensors and storages and turns them into
 * PT_V_TENSOR / PT_V_STORAGE values.
 *
 * All values of one load live in one arena and are freed together, so the
 * memo may share a value between many parents (tied weights) and even build
 * cycles without reference counts. Values are mutable only while the pickle
 * machine runs; after that the whole graph is read-only and may be read from
 * many threads.
 */
#ifndef PT_VALUE_H
#define PT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * A bump allocator. Blocks come from pages.h and are freed in
 * pt_arena_release. The free bytes of the newest block, cut short where
 * the limit would be passed, are next..end: pt_arena_alloc takes small
 * requests from them in line (a mount makes over 700,000 allocations, and
 * a call each was a tenth of it) and the rest out of line.
 */
struct pt_arena {
	struct pt_arena_block *head;
	unsigned char *next, *end;
	size_t used;  /* bytes handed out, for the memory limit */
	size_t limit; /* 0: no limit; else allocations past it fail */
};

#define PT_ARENA_ALIGN 16
#define PT_ARENA_INLINE_MAX 1024 /* larger requests go out of line */

/* Sets up an empty arena; limit 0 means unlimited. Cannot fail. */
void pt_arena_init(struct pt_arena *a, size_t limit);

/* Frees every block. The arena can be reused after pt_arena_init. */
void pt_arena_release(struct pt_arena *a);

/* pt_arena_alloc's out-of-line part: a new block, a large request, the limit. */
void *pt_arena_alloc_slow(struct pt_arena *a, size_t n, struct pt_error *err);

/*
 * Returns n zeroed bytes aligned for any type, or NULL (and fills err with
 * PT_ERR_NOMEM, or PT_ERR_LIMIT past the arena's limit). Under ASan every
 * request goes out of line, which keeps a poisoned redzone after each.
 */
static inline void *pt_arena_alloc(struct pt_arena *a, size_t n, struct pt_error *err)
{
#if !defined(__SANITIZE_ADDRESS__)
	size_t need = (n + (n == 0) + PT_ARENA_ALIGN - 1) & ~(size_t)(PT_ARENA_ALIGN - 1);

	if (n <= PT_ARENA_INLINE_MAX && need <= (size_t)(a->end - a->next)) {
		void *p = a->next;

		a->next += need;
		a->used += need;
		return p;
	}
#endif
	return pt_arena_alloc_slow(a, n, err);
}

/* Copies len bytes and adds a NUL; NULL on failure as above. */
char *pt_arena_strndup(struct pt_arena *a, const char *s, size_t len,
		       struct pt_error *err);

enum pt_vkind {
	PT_V_NONE,
	PT_V_BOOL,
	PT_V_INT,       /* fits int64: u.i */
	PT_V_BIGINT,    /* larger: u.s = little-endian two's complement bytes */
	PT_V_FLOAT,     /* u.f */
	PT_V_STR,       /* u.s: UTF-8 bytes, NUL-terminated, len without the NUL */
	PT_V_BYTES,     /* u.s */
	PT_V_BYTEARRAY, /* u.s */
	PT_V_TUPLE,     /* u.seq */
	PT_V_LIST,      /* u.seq */
	PT_V_SET,       /* u.seq, in pickle order */
	PT_V_FROZENSET, /* u.seq */
	PT_V_DICT,      /* u.dict, insertion order, duplicates replaced */
	PT_V_GLOBAL,    /* u.global: a name, never imported */
	PT_V_OBJECT,    /* u.obj: the result of REDUCE/NEWOBJ/INST/OBJ */
	PT_V_PERSID,    /* u.persid: a persistent id nobody interpreted */
	PT_V_STORAGE,   /* u.storage: a torch storage (torch.h) */
	PT_V_TENSOR,    /* u.tensor: a torch tensor (torch.h) */
};

struct pt_value;

struct pt_vseq {
	struct pt_value **v;
	size_t n, cap;
};

struct pt_vdict_index;

struct pt_vdict {
	struct pt_value **k, **v;
	size_t n, cap;
	/*
	 * pt_vdict_set's hash index (in the arena), so that a pickle with a
	 * million keys does not cost a million squared compares. NULL while the
	 * dict is small; rebuilt whenever n changed behind its back, so code
	 * that fills k and v by hand stays correct.
	 */
	struct pt_vdict_index *index;
};

struct pt_vobj {
	struct pt_value *callable; /* usually a PT_V_GLOBAL */
	struct pt_value *args;     /* a PT_V_TUPLE (empty for NEWOBJ ()) */
	struct pt_value *kwargs;   /* NEWOBJ_EX's dict, or NULL */
	struct pt_value *state;    /* BUILD's argument, or NULL */
	struct pt_vdict items;     /* SETITEM(S) applied to the object */
	struct pt_vseq appends;    /* APPEND(S) applied to the object */
	unsigned char how;         /* the opcode that made it: 'R' REDUCE, 0x81 NEWOBJ, ... */
};

struct pt_storage;
struct pt_tensor;

struct pt_value {
	enum pt_vkind kind;
	uint32_t mark; /* scratch for graph walks (cycle detection); 0 at rest */
	void *aux;     /* scratch for graph walks (the tree's first node); NULL at rest */
	const char *type; /* Python type when not the kind's own ("collections.OrderedDict"), or NULL */
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			char *p;
			size_t len;
		} s;
		struct pt_vseq seq;
		struct pt_vdict dict;
		struct {
			char *module, *name; /* NUL-terminated UTF-8 */
		} global;
		struct pt_vobj obj;
		struct pt_value *persid;
		struct pt_storage *storage;
		struct pt_tensor *tensor;
	} u;
};

/*
 * Constructors: all return NULL and fill err on allocation failure.
 * pt_value_new allocates only the union member its kind uses, so a value's
 * kind may change only to one with the same member (bytes to bytearray).
 */
struct pt_value *pt_value_new(struct pt_arena *a, enum pt_vkind kind,
			      struct pt_error *err);
struct pt_value *pt_value_int(struct pt_arena *a, int64_t i, struct pt_error *err);
struct pt_value *pt_value_str(struct pt_arena *a, const char *s, size_t len,
			      struct pt_error *err);
/*
 * A value of kind (STR, BYTES, BYTEARRAY or BIGINT) holding a NUL-terminated
 * copy of s[0..len), made in one allocation with the value: a mount makes
 * 40,000 strings. The bytes must not be resized in place (none are).
 */
struct pt_value *pt_value_bytes(struct pt_arena *a, enum pt_vkind kind, const char *s,
				size_t len, struct pt_error *err);
/*
 * A sequence of kind (TUPLE, LIST, SET or FROZENSET) holding items[0..n),
 * in one allocation with the value; growing it later (pt_vseq_push) moves
 * the items to a new array as for any sequence.
 */
struct pt_value *pt_value_seq(struct pt_arena *a, enum pt_vkind kind,
			      struct pt_value *const *items, size_t n, struct pt_error *err);

/* Appends v to a sequence, growing it in the arena. -1 and err on failure. */
int pt_vseq_push(struct pt_arena *a, struct pt_vseq *seq, struct pt_value *v,
		 struct pt_error *err);

/*
 * Sets d[k] = v with Python's dict semantics for the key types a checkpoint
 * holds (str, bytes, int, bigint, bool, float, None, tuples of those compared
 * element-wise; other keys by identity): an equal key is replaced in place,
 * keeping its position. -1 and err on failure.
 */
int pt_vdict_set(struct pt_arena *a, struct pt_vdict *d, struct pt_value *k,
		 struct pt_value *v, struct pt_error *err);

/* d[key] for a str key, or NULL. */
struct pt_value *pt_vdict_get_str(const struct pt_vdict *d, const char *key);

/*
 * Returns 0 when v may be a dict key or set item in Python; else -1 with err
 * set: PT_ERR_PICKLE "unhashable key of type list" (a list, dict, set or
 * bytearray, also inside a tuple), or PT_ERR_LIMIT for a key tuple nested
 * more than 100 levels deep. pt_vdict_set makes the same check.
 */
int pt_value_check_key(const struct pt_value *v, struct pt_error *err);

/* Python-equality of two hashable key values as pt_vdict_set uses it. */
bool pt_value_key_equal(const struct pt_value *a, const struct pt_value *b);

/* True when v is a PT_V_GLOBAL with this module and name. */
bool pt_value_is_global(const struct pt_value *v, const char *module,
			const char *name);

/* A static name for a kind: "NoneType", "int", "str", "tuple", ... */
const char *pt_vkind_name(enum pt_vkind kind);

#endif
