/*
 * pickle.h - a pickle machine that never imports or calls anything.
 *
 * It runs every opcode of protocols 0 to 5 over a byte buffer and builds the
 * symbolic values of value.h. GLOBAL, STACK_GLOBAL and INST name classes
 * without importing them; REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST produce a
 * PT_V_OBJECT unless a hook recognises the callable; BUILD records the
 * state; PERSID and BINPERSID pass the id to a hook. The memo keeps
 * identity: BINGET of a memoised value returns the same pointer.
 *
 * Every length read from the pickle is checked against the bytes left
 * before anything is allocated; the stack, the mark stack, the memo and the
 * arena have hard limits; errors are returned, never crashes.
 */
#ifndef PT_PICKLE_H
#define PT_PICKLE_H

#include <stddef.h>

#include "error.h"
#include "value.h"

/* How Python 2 STRING / BINSTRING / SHORT_BINSTRING bytes become values. */
enum pt_str_encoding {
	PT_ENC_UTF8,   /* default, like torch.load: invalid UTF-8 is an error */
	PT_ENC_ASCII,  /* bytes >= 0x80 are an error */
	PT_ENC_LATIN1, /* each byte is one code point, re-encoded as UTF-8 */
	PT_ENC_BYTES,  /* the value is a PT_V_BYTES */
};

/*
 * Parses an encoding name as torch.load's `encoding=` takes it: "utf-8",
 * "utf8", "ascii", "latin1", "latin-1", "iso-8859-1", "bytes" (case-insensitive).
 * Returns 0 and sets *out, or -1 with PT_ERR_INVAL.
 */
int pt_str_encoding_parse(const char *name, enum pt_str_encoding *out,
			  struct pt_error *err);

struct pt_pickle_hooks {
	void *ctx;
	/*
	 * PERSID / BINPERSID: returns the value standing for pid. NULL with err
	 * set fails the load. When this hook is NULL the machine makes a
	 * PT_V_PERSID holding pid.
	 */
	struct pt_value *(*persistent_load)(void *ctx, struct pt_arena *a,
					    struct pt_value *pid,
					    struct pt_error *err);
	/*
	 * REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST: callable is what was on the
	 * stack (usually a PT_V_GLOBAL), args a PT_V_TUPLE, kwargs NULL except
	 * for NEWOBJ_EX, how the opcode byte. Returns the value to push; NULL
	 * with err->code == PT_OK means "not mine": the machine pushes a generic
	 * PT_V_OBJECT; NULL with err set fails the load.
	 */
	struct pt_value *(*call)(void *ctx, struct pt_arena *a,
				 struct pt_value *callable, struct pt_value *args,
				 struct pt_value *kwargs, unsigned char how,
				 struct pt_error *err);
	/*
	 * BUILD on a target that is not a PT_V_OBJECT (a tensor, a dict made by
	 * the call hook): returns 1 when handled, 0 to let the machine apply its
	 * default, -1 with err set to fail.
	 */
	int (*build)(void *ctx, struct pt_arena *a, struct pt_value *target,
		     struct pt_value *state, struct pt_error *err);
	/*
	 * Every global the pickle names, as it is named (GLOBAL, STACK_GLOBAL,
	 * INST, EXT*), before it is used; may be NULL. Returning -1 fails.
	 */
	int (*global)(void *ctx, const char *module, const char *name,
		      unsigned char opcode, struct pt_error *err);
	/*
	 * TUPLE, TUPLE1, TUPLE2, TUPLE3: called with each new tuple and, for
	 * each of its items, the offset of the opcode that pushed it (for a
	 * memo fetch, the GET's own offset); may be NULL. It lets a rewriter
	 * find the bytes of one item (a storage's location tag) without a
	 * second parse. Returning -1 fails the load.
	 */
	int (*tuple)(void *ctx, struct pt_value *tuple, const size_t *item_offsets,
		     struct pt_error *err);
};

struct pt_pickle_limits {
	size_t max_stack; /* values on the stack, plus marks */
	size_t max_memo;  /* largest memo index + 1 */
	size_t max_depth; /* nesting of containers built by the pickle */
	size_t max_bigint; /* bytes of a LONG1/LONG4, digits of a text LONG */
};

/* The limits ptfs uses: 1<<20 stack, 1<<22 memo, 1000 depth, 4096 bigint. */
void pt_pickle_limits_default(struct pt_pickle_limits *l);

struct pt_pickle_opts {
	enum pt_str_encoding encoding;
	struct pt_pickle_limits limits;
	const struct pt_pickle_hooks *hooks; /* may be NULL */
	/*
	 * May be NULL. pt_pickle_load sets *ran_out to whether it failed because
	 * the bytes ended (before STOP, inside an argument or a frame), so more of
	 * them might have parsed; false on success and on any other failure.
	 */
	bool *ran_out;
};

/* Default options: UTF-8, default limits, no hooks. */
void pt_pickle_opts_default(struct pt_pickle_opts *o);

/*
 * Runs the pickle at buf[0..len) up to and including its STOP, allocating
 * every value in a. On success sets *out to the top value and *consumed to
 * the bytes read (the STOP included), and returns 0. Bytes after STOP are
 * not looked at (the legacy format concatenates pickles). On failure returns
 * -1 with err filled: PT_ERR_PICKLE for malformed input, PT_ERR_LIMIT for a
 * limit, PT_ERR_NOMEM; the values built so far stay in the arena until it is
 * released. The message names the opcode and its offset:
 * "offset 12: BINUNICODE: length 4294967295 exceeds the 3 bytes left".
 */
int pt_pickle_load(struct pt_arena *a, const unsigned char *buf, size_t len,
		   const struct pt_pickle_opts *o, struct pt_value **out,
		   size_t *consumed, struct pt_error *err);

/*
 * Walks the opcodes of the pickle at buf[0..len) without building anything,
 * to find where it ends. Returns 0 and sets *end to the bytes up to and
 * including STOP; 1 when buf ends before a STOP (read more and call again);
 * -1 with PT_ERR_PICKLE on an unknown opcode or a bad length.
 */
int pt_pickle_scan(const unsigned char *buf, size_t len, size_t *end,
		   struct pt_error *err);

#endif
