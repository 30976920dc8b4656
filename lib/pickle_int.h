/*
 * pickle_int.h - what the four files of the pickle machine share. Not part
 * of the library API.
 *
 * pickle.c runs the machine: its state (struct pt_machine, below), the
 * stack, the marks, the memo, containers and the opcode dispatch.
 * pickle_ops.c knows each opcode's argument layout and scans pickles.
 * pickle_text.c turns protocol 0 text and string arguments into values,
 * with Python's codecs. pickle_obj.c does the opcodes that would import or
 * call in Python (globals, REDUCE and friends, BUILD, persistent ids) and
 * the hooks that stand in for that. The machine's functions follow one
 * rule: on failure they return -1 or NULL with m->err set, and a NULL
 * handed to pt_pickle_push becomes the opcode's error.
 */
#ifndef PT_PICKLE_INT_H
#define PT_PICKLE_INT_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "pickle.h"

/* How an opcode's argument is laid out after the opcode byte. */
enum pt_argfmt {
	PT_ARG_UNKNOWN, /* not an opcode */
	PT_ARG_NONE,
	PT_ARG_U1,      /* arg.u */
	PT_ARG_U2,      /* arg.u, little-endian */
	PT_ARG_I4,      /* arg.i, signed little-endian */
	PT_ARG_U4,      /* arg.u */
	PT_ARG_U8,      /* arg.u (FRAME) */
	PT_ARG_F8,      /* arg.p: 8 big-endian bytes */
	PT_ARG_LINE,    /* arg.p/n: a line without its '\n' */
	PT_ARG_LINE2,   /* arg.p/n and arg.p2/n2: two lines */
	PT_ARG_BYTES1,  /* arg.p/n: u1 length and the data */
	PT_ARG_BYTES4,  /* arg.p/n: u4 length and the data */
	PT_ARG_BYTES4S, /* arg.p/n: int4 length (negative is an error) and the data */
	PT_ARG_BYTES8,  /* arg.p/n: u8 length and the data */
};

struct pt_opinfo {
	const char *name;
	unsigned char fmt; /* enum pt_argfmt */
};

/* Indexed by opcode byte; name NULL for bytes that are no opcode. */
extern const struct pt_opinfo pt_pickle_ops[256];

struct pt_oparg {
	uint64_t u;
	int64_t i;
	const unsigned char *p, *p2;
	size_t n, n2;
};

/*
 * The arguments of most opcodes a torch pickle holds (none, or a 1- or
 * 4-byte integer), decoded in line: pt_pickle_load calls this before
 * pt_pickle_op_decode (a call per opcode was a tenth of a mount), and
 * pt_pickle_op_decode starts with it, so each layout is decoded in one
 * place. Returns 1 with *arg and *next set, or 0 for any other layout and
 * for an argument cut short (pt_pickle_op_decode reports it).
 */
static inline int pt_pickle_op_decode_fixed(const unsigned char *buf, size_t len, size_t pos,
					    struct pt_oparg *arg, size_t *next)
{
	const unsigned char *a = buf + pos + 1;
	unsigned char fmt = pt_pickle_ops[buf[pos]].fmt;
	size_t left = len - pos - 1;
	uint32_t v4;

	/* only the field the layout has is set: no handler reads another */
	switch (fmt) {
	case PT_ARG_NONE:
		*next = pos + 1;
		return 1;
	case PT_ARG_U1:
		if (left < 1)
			return 0;
		arg->u = a[0];
		*next = pos + 2;
		return 1;
	case PT_ARG_U4:
	case PT_ARG_I4:
		if (left < 4)
			return 0;
		memcpy(&v4, a, 4);
		v4 = le32toh(v4);
		if (fmt == PT_ARG_U4)
			arg->u = v4;
		else
			arg->i = (int32_t)v4;
		*next = pos + 5;
		return 1;
	default:
		return 0;
	}
}

/*
 * Decodes the argument of the opcode at buf[pos] (pos < len) and sets *next
 * to the offset after it. Returns 0; 1 when buf ends inside the argument
 * ("offset 12: BINUNICODE: length 4294967295 exceeds the 3 bytes left");
 * -1 for a length no file can have (negative, or past 2**63). err is set in
 * both failure cases. The opcode must be known. Fields the layout does not
 * use are 0, except for the layouts pt_pickle_op_decode_fixed decodes,
 * which set only theirs: u (U1, U4) or i (I4), and nothing for none.
 */
int pt_pickle_op_decode(const unsigned char *buf, size_t len, size_t pos,
			struct pt_oparg *arg, size_t *next, struct pt_error *err);

/* The machine: pickle.c owns it, pt_pickle_load sets it up. */
#define PT_PICKLE_SMALL_INTS 256 /* 0 .. 255: BININT1's range */
struct pt_memo_slot {
	uint64_t key; /* memo index plus one; 0 is an empty slot */
	struct pt_value *v;
};

struct pt_machine {
	struct pt_arena *a;
	const unsigned char *buf;
	size_t len;
	const struct pt_pickle_limits *lim;
	size_t max_stack; /* lim->max_stack, read on every push */
	enum pt_str_encoding encoding;
	const struct pt_pickle_hooks *h;
	struct pt_error *err;
	bool *ran_out; /* the caller's, or a local one */

	struct pt_value **stack;
	size_t *prov; /* per stack slot, the offset of the opcode that pushed it (the tuple hook's) */
	size_t sp, scap;
	size_t *marks;
	size_t nmarks, mcap;
	/*
	 * Kept by set_marks (pickle.c) whenever the marks or the stack's room
	 * change, so that a push and an operand count cost one compare each:
	 * floor is the innermost mark's stack position (0 without one) and
	 * push_max min(scap, max_stack - nmarks).
	 */
	size_t floor, push_max;
	struct pt_value **dense; /* memo indices 0 .. ndense - 1; NULL where never stored */
	size_t ndense;           /* pt_pages_alloc'd */
	struct pt_memo_slot *memo; /* the other indices */
	size_t nmemo, memocap;     /* nmemo counts both */
	uint64_t memoseed;

	size_t frame_end;
	bool in_frame;
	unsigned proto;
	struct pt_value *none, *yes, *no;
	/*
	 * One value per small int and for (), as in CPython: a tensor's offset
	 * 0, stride 1 and the OrderedDict() of its hooks cost no allocation.
	 * Values are never changed after they are made, so sharing is safe.
	 */
	struct pt_value *small_int[PT_PICKLE_SMALL_INTS];
	struct pt_value *empty_tuple;

	size_t off;       /* of the opcode running */
	unsigned char op; /* its byte; pt_pickle_ops[op].name names it in messages */
	bool reported;    /* err holds the final message */
};

/* pickle.c: errors, the stack and the marks. */

/* Sets "offset N: OPNAME: <message>"; returns -1. */
int pt_pickle_fail(struct pt_machine *m, enum pt_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Names the opcode in an error a callee (arena, dict, hook) has set; -1. */
int pt_pickle_failed(struct pt_machine *m, const char *fallback);
/* 0 when k values are above the innermost mark, else -1 (underflow). */
int pt_pickle_need(struct pt_machine *m, size_t k);
/* Pushes v; a NULL v means its constructor failed and set err. */
int pt_pickle_push_slow(struct pt_machine *m, struct pt_value *v);

/*
 * Pushes v; a NULL v (a failed constructor) fails with its error. Inline:
 * a push per opcode; the checks that can fail (no value, the stack limit,
 * growing the arrays) share one branch and are done out of line.
 */
static inline int pt_pickle_push(struct pt_machine *m, struct pt_value *v)
{
	if (!v || m->sp >= m->push_max)
		return pt_pickle_push_slow(m, v);
	m->prov[m->sp] = m->off;
	m->stack[m->sp++] = v;
	return 0;
}
/* The items since the innermost mark are m->stack[*base .. m->sp). */
int pt_pickle_pop_mark(struct pt_machine *m, size_t *base);
/* A new container of kind holding items[0..n). */
struct pt_value *pt_pickle_make_seq(struct pt_machine *m, enum pt_vkind kind,
				    struct pt_value *const *items, size_t n);

/* Only after pt_pickle_need. */
static inline struct pt_value *pt_pickle_pop(struct pt_machine *m)
{
	return m->stack[--m->sp];
}

static inline struct pt_value *pt_pickle_top(const struct pt_machine *m)
{
	return m->stack[m->sp - 1];
}

/* pickle_text.c: values of text and string arguments (NULL on error). */

/*
 * Returns n when p[0..n) is valid UTF-8, else the offset of the first bad
 * byte. Encoded surrogates (ED A0..BF xx) pass when surrogates is true, as
 * Python's 'surrogatepass' lets them.
 */
size_t pt_utf8_check(const unsigned char *p, size_t n, bool surrogates);

/* GET and PUT's decimal text into *idx; 0 or -1. */
int pt_pickle_text_index(struct pt_machine *m, const unsigned char *p, size_t n,
			 uint64_t *idx);
/* A PT_V_STR, PT_V_BYTES, PT_V_BYTEARRAY or PT_V_BIGINT of p[0..n). */
struct pt_value *pt_pickle_bytes_value(struct pt_machine *m, enum pt_vkind kind,
				       const unsigned char *p, size_t n);
/* A little-endian two's complement number (LONG1, LONG4). */
struct pt_value *pt_pickle_twos_value(struct pt_machine *m,
				      const unsigned char *p, size_t n);
/* INT and LONG text, without LONG's 'L'. */
struct pt_value *pt_pickle_text_int(struct pt_machine *m,
				    const unsigned char *p, size_t n);
/* FLOAT text. */
struct pt_value *pt_pickle_text_float(struct pt_machine *m,
				      const unsigned char *p, size_t n);
/* BINUNICODE and friends: UTF-8 with surrogates. */
struct pt_value *pt_pickle_unicode_value(struct pt_machine *m,
					 const unsigned char *p, size_t n);
/* Python 2 str bytes (BINSTRING, SHORT_BINSTRING) per m->encoding. */
struct pt_value *pt_pickle_py2_string(struct pt_machine *m,
				      const unsigned char *p, size_t n);
/* STRING: a quoted Python 2 repr. */
struct pt_value *pt_pickle_text_string(struct pt_machine *m,
				       const unsigned char *p, size_t n);
/* UNICODE: raw-unicode-escape text. */
struct pt_value *pt_pickle_text_unicode(struct pt_machine *m,
					const unsigned char *p, size_t n);

/* pickle_obj.c: globals, calls, state and persistent ids (0 or -1). */

/* GLOBAL's two lines as a PT_V_GLOBAL. */
struct pt_value *pt_pickle_text_global(struct pt_machine *m,
				       const struct pt_oparg *arg);
int pt_pickle_stack_global(struct pt_machine *m);
/* EXT1, EXT2, EXT4. */
int pt_pickle_ext(struct pt_machine *m, int64_t code);
/* REDUCE and NEWOBJ (nargs 2), NEWOBJ_EX (3). */
int pt_pickle_reduce(struct pt_machine *m, int nargs);
int pt_pickle_obj(struct pt_machine *m);
int pt_pickle_inst(struct pt_machine *m, const struct pt_oparg *arg);
int pt_pickle_build(struct pt_machine *m);
/* PERSID and BINPERSID's pid; NULL means its constructor failed. */
int pt_pickle_persistent(struct pt_machine *m, struct pt_value *pid);
/* PERSID's text line. */
int pt_pickle_text_persid(struct pt_machine *m, const struct pt_oparg *arg);

#endif
