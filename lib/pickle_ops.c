/*
 * pickle_ops.c - the opcode table, argument decoding and scanning of the
 * pickle machine.
 *
 * Every opcode of protocols 0 to 5 has a fixed argument layout (Python's
 * pickletools): nothing, a fixed-size integer, one or two '\n'-terminated
 * lines, or a length followed by that many bytes. pt_pickle_op_decode reads
 * exactly that layout and checks every length against the bytes left before
 * anyone allocates, with no arithmetic that can wrap. pt_pickle_scan uses it
 * alone, without building values, so the legacy reader can find where a
 * pickle ends before it has read all of it.
 *
 * What the arguments mean is for pickle.c, pickle_text.c (with Python's
 * text codecs) and pickle_obj.c.
 */
#include "pickle.h"
#include "pickle_int.h"

#include <endian.h>
#include <string.h>

#define OP(byte, nm, f) [byte] = { .name = nm, .fmt = PT_ARG_##f }

const struct pt_opinfo pt_pickle_ops[256] = {
	OP('(', "MARK", NONE),
	OP('.', "STOP", NONE),
	OP('0', "POP", NONE),
	OP('1', "POP_MARK", NONE),
	OP('2', "DUP", NONE),
	OP('F', "FLOAT", LINE),
	OP('I', "INT", LINE),
	OP('J', "BININT", I4),
	OP('K', "BININT1", U1),
	OP('L', "LONG", LINE),
	OP('M', "BININT2", U2),
	OP('N', "NONE", NONE),
	OP('P', "PERSID", LINE),
	OP('Q', "BINPERSID", NONE),
	OP('R', "REDUCE", NONE),
	OP('S', "STRING", LINE),
	OP('T', "BINSTRING", BYTES4S),
	OP('U', "SHORT_BINSTRING", BYTES1),
	OP('V', "UNICODE", LINE),
	OP('X', "BINUNICODE", BYTES4),
	OP('a', "APPEND", NONE),
	OP('b', "BUILD", NONE),
	OP('c', "GLOBAL", LINE2),
	OP('d', "DICT", NONE),
	OP('}', "EMPTY_DICT", NONE),
	OP('e', "APPENDS", NONE),
	OP('g', "GET", LINE),
	OP('h', "BINGET", U1),
	OP('i', "INST", LINE2),
	OP('j', "LONG_BINGET", U4),
	OP('l', "LIST", NONE),
	OP(']', "EMPTY_LIST", NONE),
	OP('o', "OBJ", NONE),
	OP('p', "PUT", LINE),
	OP('q', "BINPUT", U1),
	OP('r', "LONG_BINPUT", U4),
	OP('s', "SETITEM", NONE),
	OP('t', "TUPLE", NONE),
	OP(')', "EMPTY_TUPLE", NONE),
	OP('u', "SETITEMS", NONE),
	OP('G', "BINFLOAT", F8),
	OP(0x80, "PROTO", U1),
	OP(0x81, "NEWOBJ", NONE),
	OP(0x82, "EXT1", U1),
	OP(0x83, "EXT2", U2),
	OP(0x84, "EXT4", I4),
	OP(0x85, "TUPLE1", NONE),
	OP(0x86, "TUPLE2", NONE),
	OP(0x87, "TUPLE3", NONE),
	OP(0x88, "NEWTRUE", NONE),
	OP(0x89, "NEWFALSE", NONE),
	OP(0x8a, "LONG1", BYTES1),
	OP(0x8b, "LONG4", BYTES4S),
	OP('B', "BINBYTES", BYTES4),
	OP('C', "SHORT_BINBYTES", BYTES1),
	OP(0x8c, "SHORT_BINUNICODE", BYTES1),
	OP(0x8d, "BINUNICODE8", BYTES8),
	OP(0x8e, "BINBYTES8", BYTES8),
	OP(0x8f, "EMPTY_SET", NONE),
	OP(0x90, "ADDITEMS", NONE),
	OP(0x91, "FROZENSET", NONE),
	OP(0x92, "NEWOBJ_EX", NONE),
	OP(0x93, "STACK_GLOBAL", NONE),
	OP(0x94, "MEMOIZE", NONE),
	OP(0x95, "FRAME", U8),
	OP(0x96, "BYTEARRAY8", BYTES8),
	OP(0x97, "NEXT_BUFFER", NONE),
	OP(0x98, "READONLY_BUFFER", NONE),
};

/* Bytes of the fixed-size part of each argument layout (the length, for BYTES*). */
static const unsigned char fixed_len[] = {
	[PT_ARG_U1] = 1,      [PT_ARG_BYTES1] = 1, [PT_ARG_U2] = 2,     [PT_ARG_I4] = 4,
	[PT_ARG_U4] = 4,      [PT_ARG_BYTES4] = 4, [PT_ARG_BYTES4S] = 4, [PT_ARG_U8] = 8,
	[PT_ARG_F8] = 8,      [PT_ARG_BYTES8] = 8,
};

/* n (1, 2, 4 or 8) little-endian bytes, each size one load. */
static inline uint64_t get_le_n(const unsigned char *p, size_t n)
{
	uint16_t v2;
	uint32_t v4;
	uint64_t v8;

	switch (n) {
	case 1:
		return p[0];
	case 2:
		memcpy(&v2, p, 2);
		return le16toh(v2);
	case 4:
		memcpy(&v4, p, 4);
		return le32toh(v4);
	default:
		memcpy(&v8, p, 8);
		return le64toh(v8);
	}
}

/* A one- or two-line argument ending at a '\n' (LINE, LINE2): rare in torch's pickles. */
static __attribute__((noinline)) int decode_lines(const unsigned char *buf, size_t len, size_t pos,
			const struct pt_opinfo *op, struct pt_oparg *arg, size_t *next,
			struct pt_error *err)
{
	size_t p = pos + 1;
	const unsigned char *nl = memchr(buf + p, '\n', len - p);

	if (nl && op->fmt == PT_ARG_LINE2) {
		arg->p2 = nl + 1;
		nl = memchr(arg->p2, '\n', (size_t)(buf + len - arg->p2));
	}
	if (!nl) {
		pt_error_set(err, PT_ERR_PICKLE,
			     "offset %zu: %s: no newline before the end of the pickle", pos,
			     op->name);
		return 1;
	}
	arg->p = buf + p;
	if (arg->p2) {
		arg->n = (size_t)(arg->p2 - 1 - arg->p);
		arg->n2 = (size_t)(nl - arg->p2);
	} else {
		arg->n = (size_t)(nl - arg->p);
	}
	*next = (size_t)(nl + 1 - buf);
	return 0;
}

/* The error paths, out of line: the decoder runs once per opcode, 600,000 times a mount. */
static __attribute__((cold, noinline)) int decode_truncated(size_t pos, const struct pt_opinfo *op,
							     size_t need, size_t left,
							     struct pt_error *err)
{
	pt_error_set(err, PT_ERR_PICKLE,
		     "offset %zu: %s: truncated argument (needs %zu byte%s, %zu left)", pos,
		     op->name, need, need == 1 ? "" : "s", left);
	return 1;
}

static __attribute__((cold, noinline)) int decode_bad_length(size_t pos,
							      const struct pt_opinfo *op,
							      uint64_t n, size_t left,
							      struct pt_error *err)
{
	if (op->fmt == PT_ARG_BYTES4S && (int32_t)(uint32_t)n < 0) {
		pt_error_set(err, PT_ERR_PICKLE, "offset %zu: %s: negative length %d", pos,
			     op->name, (int)(int32_t)(uint32_t)n);
		return -1;
	}
	pt_error_set(err, PT_ERR_PICKLE, "offset %zu: %s: length %llu exceeds the %zu bytes left",
		     pos, op->name, (unsigned long long)n, left);
	return n > INT64_MAX ? -1 : 1;
}

int pt_pickle_op_decode(const unsigned char *buf, size_t len, size_t pos,
			struct pt_oparg *arg, size_t *next, struct pt_error *err)
{
	const struct pt_opinfo *op = &pt_pickle_ops[buf[pos]];
	size_t p = pos + 1, need = op->fmt < sizeof(fixed_len) ? fixed_len[op->fmt] : 0;
	uint64_t n;

	if (pt_pickle_op_decode_fixed(buf, len, pos, arg, next))
		return 0;
	*arg = (struct pt_oparg){ 0 };
	if (len - p < need)
		return decode_truncated(pos, op, need, len - p, err);
	switch (op->fmt) {
	case PT_ARG_U2:
		arg->u = get_le_n(buf + p, 2);
		break;
	case PT_ARG_U8:
		arg->u = get_le_n(buf + p, 8);
		break;
	case PT_ARG_F8:
		arg->p = buf + p;
		arg->n = 8;
		break;
	case PT_ARG_LINE:
	case PT_ARG_LINE2:
		return decode_lines(buf, len, pos, op, arg, next, err);
	case PT_ARG_BYTES1:
	case PT_ARG_BYTES4:
	case PT_ARG_BYTES4S:
	case PT_ARG_BYTES8:
		n = get_le_n(buf + p, need);
		p += need;
		if ((op->fmt == PT_ARG_BYTES4S && (int32_t)(uint32_t)n < 0) || n > len - p)
			return decode_bad_length(pos, op, n, len - p, err);
		arg->u = n;
		arg->p = buf + p;
		arg->n = (size_t)n;
		*next = p + (size_t)n;
		return 0;
	}
	*next = p + need;
	return 0;
}

int pt_pickle_scan(const unsigned char *buf, size_t len, size_t *end,
		   struct pt_error *err)
{
	struct pt_oparg arg;
	size_t pos = 0, next;
	int rc;

	for (;;) {
		if (pos >= len) {
			pt_error_set(err, PT_ERR_PICKLE,
				     "offset %zu: pickle ends before STOP", pos);
			return 1;
		}
		if (!pt_pickle_ops[buf[pos]].name)
			return pt_error_set(err, PT_ERR_PICKLE,
					    "offset %zu: unknown opcode 0x%02x",
					    pos, buf[pos]);
		rc = pt_pickle_op_decode(buf, len, pos, &arg, &next, err);
		if (rc)
			return rc;
		if (buf[pos] == '.') {
			*end = next;
			return 0;
		}
		pos = next;
	}
}
