/*
 * test_pickle.c - the pickle machine on hand-written pickles: every opcode,
 * the memo's identity, the hooks, the string encodings, the limits, deep
 * nesting, scanning, and malformed input with its exact message.
 *
 * Pickles are C string literals; a hex escape is cut off with "" "" where
 * the next character is a hex digit ("\x01" "a").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pickle.h"
#include "value.h"

static struct pt_arena A;
static struct pt_error E;
static size_t consumed;

static struct pt_value *load(const void *buf, size_t len,
			     const struct pt_pickle_opts *o)
{
	struct pt_value *v = NULL;

	consumed = 0;
	if (pt_pickle_load(&A, buf, len, o, &v, &consumed, &E))
		return NULL;
	return v;
}

#define LOAD(s) load((s), sizeof(s) - 1, NULL)
#define LOADO(s, o) load((s), sizeof(s) - 1, (o))

#define BADO(s, o, c, m)                                                     \
	do {                                                                 \
		struct pt_value *bad_v = LOADO(s, o);                        \
		CHECK(bad_v == NULL);                                        \
		CHECK_INT(E.code, c);                                        \
		CHECK_STR(E.msg, m);                                         \
	} while (0)
#define BAD(s, c, m) BADO(s, NULL, c, m)

static bool is_str(const struct pt_value *v, const char *s)
{
	return v && v->kind == PT_V_STR && v->u.s.len == strlen(s) &&
	       memcmp(v->u.s.p, s, v->u.s.len) == 0 && v->u.s.p[v->u.s.len] == 0;
}

static bool is_int(const struct pt_value *v, int64_t i)
{
	return v && v->kind == PT_V_INT && v->u.i == i;
}

static bool is_bytes(const struct pt_value *v, enum pt_vkind k, const void *p,
		     size_t n)
{
	return v && v->kind == k && v->u.s.len == n && memcmp(v->u.s.p, p, n) == 0;
}

static void test_scalars(void)
{
	struct pt_value *v;
	static const unsigned char big1[] = { 0xd2, 0x0a, 0x3f, 0x4e, 0xee, 0xe0, 0x73,
					      0xc3, 0xf6, 0x0f, 0xe9, 0x8e, 0x01 };
	static const unsigned char big2[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0x7f, 0xff };
	static const unsigned char big3[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	v = LOAD("\x80\x02K\x05.");
	CHECK(is_int(v, 5));
	CHECK_INT(consumed, 5);
	CHECK(is_int(LOAD("J\xff\xff\xff\xff."), -1));
	CHECK(is_int(LOAD("J\x00\x00\x00\x80."), INT32_MIN));
	CHECK(is_int(LOAD("M\x00\x01."), 256));
	CHECK(is_int(LOAD("K\xff."), 255));
	CHECK(is_int(LOAD("\x8a\x00."), 0));
	CHECK(is_int(LOAD("\x8a\x01\xff."), -1));
	CHECK(is_int(LOAD("\x8a\x02\xff\x00."), 255));
	CHECK(is_int(LOAD("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."), INT64_MIN));
	CHECK(is_int(LOAD("\x8a\x0a\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00."), 1));
	v = LOAD("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.");
	CHECK(is_bytes(v, PT_V_BIGINT, big3, 9));
	CHECK(is_int(LOAD("\x8b\x02\x00\x00\x00\x2c\x01."), 300));
	v = LOAD("N.");
	CHECK(v && v->kind == PT_V_NONE);
	v = LOAD("\x88.");
	CHECK(v && v->kind == PT_V_BOOL && v->u.b);
	v = LOAD("\x89.");
	CHECK(v && v->kind == PT_V_BOOL && !v->u.b);
	v = LOAD("G\x3f\xf8\x00\x00\x00\x00\x00\x00.");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == 1.5);
	v = LOAD("G\xc0\x00\x00\x00\x00\x00\x00\x00.");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == -2.0);

	/* protocol 0 text forms */
	v = LOAD("F1.25\n.");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == 1.25);
	v = LOAD("F-1e300\n.");
	CHECK(v && v->kind == PT_V_FLOAT && v->u.f == -1e300);
	v = LOAD("Finf\n.");
	CHECK(v && v->kind == PT_V_FLOAT && isinf(v->u.f) && v->u.f > 0);
	v = LOAD("Fnan\n.");
	CHECK(v && v->kind == PT_V_FLOAT && isnan(v->u.f));
	v = LOAD("I01\n.");
	CHECK(v && v->kind == PT_V_BOOL && v->u.b);
	v = LOAD("I00\n.");
	CHECK(v && v->kind == PT_V_BOOL && !v->u.b);
	CHECK(is_int(LOAD("I-42\n."), -42));
	CHECK(is_int(LOAD("I7\n."), 7));
	CHECK(is_int(LOAD("I-9223372036854775808\n."), INT64_MIN));
	CHECK(is_int(LOAD("I9223372036854775807\n."), INT64_MAX));
	v = LOAD("I123456789012345678901234567890\n.");
	CHECK(is_bytes(v, PT_V_BIGINT, big1, sizeof(big1)));
	CHECK(is_int(LOAD("L123L\n."), 123));
	CHECK(is_int(LOAD("L-5\n."), -5));
	v = LOAD("L-9223372036854775809L\n.");
	CHECK(is_bytes(v, PT_V_BIGINT, big2, sizeof(big2)));
	v = LOAD("L18446744073709551616L\n.");
	CHECK(is_bytes(v, PT_V_BIGINT, big3, sizeof(big3)));
}

static void test_strings(void)
{
	struct pt_pickle_opts o;
	struct pt_value *v;

	CHECK(is_str(LOAD("X\x02\x00\x00\x00hi."), "hi"));
	CHECK(is_str(LOAD("\x8c\x03" "abc."), "abc"));
	CHECK(is_str(LOAD("\x8d\x02\x00\x00\x00\x00\x00\x00\x00\xc3\xa9."), "\xc3\xa9"));
	CHECK(is_str(LOAD("X\x00\x00\x00\x00."), ""));
	/* an encoded surrogate passes, as with Python's surrogatepass */
	CHECK(is_str(LOAD("X\x03\x00\x00\x00\xed\xa0\x80."), "\xed\xa0\x80"));
	CHECK(is_str(LOAD("X\x04\x00\x00\x00\xf0\x9f\x98\x80."), "\xf0\x9f\x98\x80"));
	v = LOAD("B\x03\x00\x00\x00" "abc.");
	CHECK(is_bytes(v, PT_V_BYTES, "abc", 3));
	v = LOAD("C\x02z\x00.");
	CHECK(is_bytes(v, PT_V_BYTES, "z\0", 2));
	v = LOAD("\x8e\x01\x00\x00\x00\x00\x00\x00\x00q.");
	CHECK(is_bytes(v, PT_V_BYTES, "q", 1));
	v = LOAD("\x96\x02\x00\x00\x00\x00\x00\x00\x00xy.");
	CHECK(is_bytes(v, PT_V_BYTEARRAY, "xy", 2));
	v = LOAD("\x80\x05\x8c\x01x\x98.");
	CHECK(is_str(v, "x")); /* READONLY_BUFFER changes nothing */

	/* STRING: a quoted Python 2 repr */
	CHECK(is_str(LOAD("S'a\\nb\\x41\\101\\'\\\\'\n."), "a\nbAA'\\"));
	CHECK(is_str(LOAD("S\"q\\z\"\n."), "q\\z"));
	CHECK(is_str(LOAD("S''\n."), ""));
	/* UNICODE: raw-unicode-escape */
	CHECK(is_str(LOAD("V\\u00e9t\\U0001F600\n."), "\xc3\xa9t\xf0\x9f\x98\x80"));
	CHECK(is_str(LOAD("V\\\\u0041\n."), "\\\\u0041"));
	CHECK(is_str(LOAD("V\xe9\n."), "\xc3\xa9"));
	CHECK(is_str(LOAD("V\\ud800\n."), "\xed\xa0\x80"));

	/* Python 2 str per encoding */
	pt_pickle_opts_default(&o);
	CHECK(is_str(LOADO("T\x02\x00\x00\x00\xc3\xa9.", &o), "\xc3\xa9"));
	o.encoding = PT_ENC_LATIN1;
	CHECK(is_str(LOADO("U\x02\xe9" "a.", &o), "\xc3\xa9" "a"));
	CHECK(is_str(LOADO("S'\\xff'\n.", &o), "\xc3\xbf"));
	o.encoding = PT_ENC_ASCII;
	CHECK(is_str(LOADO("U\x02ok.", &o), "ok"));
	BADO("U\x02o\xe9.", &o, PT_ERR_PICKLE,
	     "offset 0: SHORT_BINSTRING: byte 0xe9 at 1 is not ASCII");
	o.encoding = PT_ENC_BYTES;
	v = LOADO("U\x02\xe9\xff.", &o);
	CHECK(is_bytes(v, PT_V_BYTES, "\xe9\xff", 2));
	v = LOADO("S'\\x00'\n.", &o);
	CHECK(is_bytes(v, PT_V_BYTES, "\0", 1));

	{
		enum pt_str_encoding enc = PT_ENC_UTF8;

		CHECK_INT(pt_str_encoding_parse("Latin-1", &enc, &E), 0);
		CHECK_INT(enc, PT_ENC_LATIN1);
		CHECK_INT(pt_str_encoding_parse("UTF8", &enc, &E), 0);
		CHECK_INT(enc, PT_ENC_UTF8);
		CHECK_INT(pt_str_encoding_parse("bytes", &enc, &E), 0);
		CHECK_INT(enc, PT_ENC_BYTES);
		CHECK_INT(pt_str_encoding_parse("ascii", &enc, &E), 0);
		CHECK_INT(enc, PT_ENC_ASCII);
		CHECK_INT(pt_str_encoding_parse("koi8-r", &enc, &E), -1);
		CHECK_INT(E.code, PT_ERR_INVAL);
		CHECK_STR(E.msg, "unknown string encoding 'koi8-r' (use utf-8, ascii, latin1 or bytes)");
	}
}

static void test_containers(void)
{
	struct pt_value *v, *d;

	v = LOAD("](K\x01K\x02" "e" "K\x03" "a.");
	CHECK(v && v->kind == PT_V_LIST && v->u.seq.n == 3);
	if (v && v->u.seq.n == 3) {
		CHECK(is_int(v->u.seq.v[0], 1));
		CHECK(is_int(v->u.seq.v[2], 3));
	}
	v = LOAD("(K\x01K\x02l.");
	CHECK(v && v->kind == PT_V_LIST && v->u.seq.n == 2);
	v = LOAD("(K\x01K\x02K\x03K\x04t.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 4 && is_int(v->u.seq.v[3], 4));
	v = LOAD(").");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 0);
	v = LOAD("K\x01\x85.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 1);
	v = LOAD("K\x01K\x02\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 2 && is_int(v->u.seq.v[1], 2));
	v = LOAD("K\x01K\x02K\x03\x87.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 3 && is_int(v->u.seq.v[0], 1));

	/* dict order, replacement in place, Python key equality 1 == 1.0 == True */
	v = LOAD("}(\x8c\x01" "aK\x01\x8c\x01" "bK\x02\x8c\x01" "aK\x03u"
		 "K\x01K\x04sG\x3f\xf0\x00\x00\x00\x00\x00\x00K\x05s\x88K\x06s.");
	CHECK(v && v->kind == PT_V_DICT && v->u.dict.n == 3);
	if (v && v->kind == PT_V_DICT && v->u.dict.n == 3) {
		CHECK(is_str(v->u.dict.k[0], "a"));
		CHECK(is_int(v->u.dict.v[0], 3));
		CHECK(is_str(v->u.dict.k[1], "b"));
		CHECK(is_int(v->u.dict.k[2], 1));
		CHECK(is_int(v->u.dict.v[2], 6));
		CHECK(is_int(pt_vdict_get_str(&v->u.dict, "b"), 2));
		CHECK(pt_vdict_get_str(&v->u.dict, "c") == NULL);
	}
	v = LOAD("(\x8c\x01xK\x01\x8c\x01yK\x02" "d.");
	CHECK(v && v->kind == PT_V_DICT && v->u.dict.n == 2 &&
	      is_str(v->u.dict.k[1], "y"));
	/* tuple keys compare element-wise; str never equals bytes */
	v = LOAD("}K\x01K\x02\x86K\x01sK\x01K\x02\x86K\x02s"
		 "\x8c\x01zK\x03sC\x01zK\x04s.");
	CHECK(v && v->kind == PT_V_DICT && v->u.dict.n == 3);
	if (v && v->kind == PT_V_DICT && v->u.dict.n == 3)
		CHECK(is_int(v->u.dict.v[0], 2));

	v = LOAD("\x8f(K\x01K\x02\x90(K\x03\x90.");
	CHECK(v && v->kind == PT_V_SET && v->u.seq.n == 3 && is_int(v->u.seq.v[2], 3));
	v = LOAD("(K\x07\x8c\x01s\x91.");
	CHECK(v && v->kind == PT_V_FROZENSET && v->u.seq.n == 2 &&
	      is_str(v->u.seq.v[1], "s"));

	/* POP, POP_MARK, DUP, leftovers below STOP */
	CHECK(is_int(LOAD("K\x01K\x02" "0."), 1));
	CHECK(is_int(LOAD("K\x01(K\x02K\x03" "1."), 1));
	v = LOAD("]2K\x01" "a\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 2 &&
	      v->u.seq.v[0] == v->u.seq.v[1] && v->u.seq.v[0]->u.seq.n == 1);
	v = LOAD("\x80\x02NNN(0.");
	CHECK(v && v->kind == PT_V_NONE);
	CHECK(is_int(LOAD("NK\x09."), 9));

	/* a big dict goes through the hash index; 1000 int keys, then replace */
	{
		unsigned char *b = malloc(20000), *p = b;
		int i;

		*p++ = '}';
		*p++ = '(';
		for (i = 0; i < 1000; i++) {
			*p++ = 'M';
			*p++ = (unsigned char)(i & 0xff);
			*p++ = (unsigned char)(i >> 8);
			*p++ = 'K';
			*p++ = (unsigned char)(i & 0x7f);
		}
		*p++ = 'u';
		for (i = 0; i < 1000; i += 7) { /* the same keys as floats */
			double f = i;
			unsigned char be[8];
			uint64_t bits;
			int j;

			memcpy(&bits, &f, 8);
			for (j = 0; j < 8; j++)
				be[j] = (unsigned char)(bits >> (56 - 8 * j));
			*p++ = 'G';
			memcpy(p, be, 8);
			p += 8;
			*p++ = 'N';
			*p++ = 's';
		}
		*p++ = 'X';
		memcpy(p, "\x03\x00\x00\x00key", 7);
		p += 7;
		*p++ = 'N';
		*p++ = 's';
		*p++ = '.';
		d = load(b, (size_t)(p - b), NULL);
		CHECK(d && d->kind == PT_V_DICT && d->u.dict.n == 1001);
		if (d && d->kind == PT_V_DICT && d->u.dict.n == 1001) {
			CHECK(is_int(d->u.dict.k[14], 14));
			CHECK(d->u.dict.v[14]->kind == PT_V_NONE);
			CHECK(is_int(d->u.dict.v[15], 15));
			CHECK(d->u.dict.v[1000]->kind == PT_V_NONE);
			CHECK(pt_vdict_get_str(&d->u.dict, "key") == d->u.dict.v[1000]);
			CHECK(pt_vdict_get_str(&d->u.dict, "nokey") == NULL);
		}
		free(b);
	}
}

static void test_globals_and_calls(void)
{
	struct pt_value *v, *a;

	v = LOAD("\x80\x02" "c__builtin__\nset\n.");
	CHECK(pt_value_is_global(v, "builtins", "set"));
	v = LOAD("\x80\x02" "ccopy_reg\n_reconstructor\n.");
	CHECK(pt_value_is_global(v, "copyreg", "_reconstructor"));
	v = LOAD("c__builtin__\nxrange\n.");
	CHECK(pt_value_is_global(v, "builtins", "range"));
	v = LOAD("cexceptions\nStandardError\n.");
	CHECK(pt_value_is_global(v, "builtins", "Exception"));
	v = LOAD("cUserDict\nUserDict\n.");
	CHECK(pt_value_is_global(v, "collections", "UserDict"));
	/* protocol 3 and up: names are Python 3 names, left alone */
	v = LOAD("\x80\x03" "c__builtin__\nset\n.");
	CHECK(pt_value_is_global(v, "__builtin__", "set"));
	v = LOAD("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n.");
	CHECK(pt_value_is_global(v, "torch._utils", "_rebuild_tensor_v2"));
	v = LOAD("\x80\x04\x8c\x0b" "collections\x8c\x0bOrderedDict\x93.");
	CHECK(pt_value_is_global(v, "collections", "OrderedDict"));
	v = LOAD("\x80\x02\x8c\x0b__builtin__\x8c\x03set\x93.");
	CHECK(pt_value_is_global(v, "builtins", "set"));
	v = LOAD("\x80\x02" "cos\r\nsystem\r\n.");
	CHECK(pt_value_is_global(v, "os\r", "system\r"));

	/* EXT: the empty registry keeps the code */
	v = LOAD("\x82\x01.");
	CHECK(pt_value_is_global(v, "copyreg", "<ext 1>"));
	v = LOAD("\x83\x00\x01.");
	CHECK(pt_value_is_global(v, "copyreg", "<ext 256>"));
	v = LOAD("\x84\xff\xff\xff\x7f.");
	CHECK(pt_value_is_global(v, "copyreg", "<ext 2147483647>"));

	/* REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST without a hook */
	v = LOAD("cfoo\nf\nK\x01\x85R.");
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.how == 'R' &&
	      pt_value_is_global(v->u.obj.callable, "foo", "f") &&
	      v->u.obj.args->kind == PT_V_TUPLE && v->u.obj.args->u.seq.n == 1 &&
	      !v->u.obj.kwargs && !v->u.obj.state);
	v = LOAD("cfoo\nC\n)\x81.");
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.how == 0x81 &&
	      v->u.obj.args->u.seq.n == 0);
	v = LOAD("cfoo\nC\n)}\x8c\x01kK\x02s\x92.");
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.how == 0x92 &&
	      v->u.obj.kwargs && v->u.obj.kwargs->kind == PT_V_DICT &&
	      is_int(pt_vdict_get_str(&v->u.obj.kwargs->u.dict, "k"), 2));
	v = LOAD("(cfoo\nBar\nK\x01K\x02o.");
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.how == 'o' &&
	      pt_value_is_global(v->u.obj.callable, "foo", "Bar") &&
	      v->u.obj.args->u.seq.n == 2 && is_int(v->u.obj.args->u.seq.v[1], 2));
	v = LOAD("(K\x01ifoo\nBar\n.");
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.how == 'i' &&
	      pt_value_is_global(v->u.obj.callable, "foo", "Bar") &&
	      v->u.obj.args->u.seq.n == 1 && is_int(v->u.obj.args->u.seq.v[0], 1));
	v = LOAD("(i__builtin__\nobject\n.");
	CHECK(v && v->kind == PT_V_OBJECT &&
	      pt_value_is_global(v->u.obj.callable, "builtins", "object"));

	/* BUILD, APPEND, SETITEM on objects; a second BUILD replaces the state */
	v = LOAD("cfoo\nC\n)\x81K\x01" "bK\x02" "b.");
	CHECK(v && v->kind == PT_V_OBJECT && is_int(v->u.obj.state, 2));
	v = LOAD("cfoo\nC\n)\x81K\x01" "a(K\x02K\x03" "e\x8c\x01kK\x04s(K\x05K\x06u.");
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.appends.n == 3 &&
	      v->u.obj.items.n == 2 && is_int(v->u.obj.items.v[1], 6));
	/* an OrderedDict's _metadata BUILD on a dict is dropped */
	v = LOAD("}\x8c\x01" "aK\x01s}\x8c\x09_metadata}s" "b.");
	CHECK(v && v->kind == PT_V_DICT && v->u.dict.n == 1);

	/* persistent ids without a hook */
	v = LOAD("Pfoo\n.");
	CHECK(v && v->kind == PT_V_PERSID && is_str(v->u.persid, "foo"));
	v = LOAD("(\x8c\x07storageK\x01tQ.");
	CHECK(v && v->kind == PT_V_PERSID && v->u.persid->kind == PT_V_TUPLE &&
	      is_str(v->u.persid->u.seq.v[0], "storage"));

	/* memo: identity is kept */
	v = LOAD("\x80\x02]q\x00h\x00\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.v[0] == v->u.seq.v[1]);
	v = LOAD("]r\x05\x00\x00\x00j\x05\x00\x00\x00\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.v[0] == v->u.seq.v[1]);
	v = LOAD("]p12\ng12\n\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.v[0] == v->u.seq.v[1]);
	v = LOAD("\x80\x04]\x94}\x94h\x00h\x01\x87.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 3 &&
	      v->u.seq.v[0]->kind == PT_V_DICT && v->u.seq.v[0] == v->u.seq.v[2] &&
	      v->u.seq.v[1]->kind == PT_V_LIST);
	/* a list that contains itself (cycles.pkl's shape) */
	v = LOAD("\x80\x02]q\x00h\x00" "a}q\x01X\x04\x00\x00\x00selfh\x01s\x86.");
	CHECK(v && v->kind == PT_V_TUPLE);
	if (v && v->kind == PT_V_TUPLE) {
		a = v->u.seq.v[0];
		CHECK(a->kind == PT_V_LIST && a->u.seq.n == 1 && a->u.seq.v[0] == a);
		a = v->u.seq.v[1];
		CHECK(a->kind == PT_V_DICT && pt_vdict_get_str(&a->u.dict, "self") == a);
	}
	/* the same reduced object twice in a tuple */
	v = LOAD("cfoo\nT\n)R\x94h\x00\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.v[0] == v->u.seq.v[1] &&
	      v->u.seq.v[0]->kind == PT_V_OBJECT);

	/* FRAME, concatenated pickles */
	CHECK(is_int(LOAD("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x07."), 7));
	CHECK(is_int(LOAD("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x07."), 7));
	v = LOAD("\x80\x02}q\x00.\x80\x02N.");
	CHECK(v && v->kind == PT_V_DICT);
	CHECK_INT(consumed, 6);
}

/* Hooks that record what they were given. */
struct rec {
	char globals[8][64];
	unsigned char gops[8];
	int nglobals;
	int ncalls, npersid, nbuild;
	unsigned char how;
	struct pt_value *callable, *args, *kwargs, *pid, *target, *state;
	struct pt_value *tensor;
};

static int rec_global(void *ctx, const char *module, const char *name,
		      unsigned char opcode, struct pt_error *err)
{
	struct rec *r = ctx;

	if (strcmp(module, "posix") == 0)
		return pt_error_set(err, PT_ERR_PICKLE, "%s.%s is not allowed",
				    module, name);
	if (r->nglobals < 8) {
		snprintf(r->globals[r->nglobals], 64, "%s.%s", module, name);
		r->gops[r->nglobals++] = opcode;
	}
	return 0;
}

static struct pt_value *rec_call(void *ctx, struct pt_arena *a,
				 struct pt_value *callable, struct pt_value *args,
				 struct pt_value *kwargs, unsigned char how,
				 struct pt_error *err)
{
	struct rec *r = ctx;

	CHECK_INT(err->code, PT_OK);
	r->ncalls++;
	r->callable = callable;
	r->args = args;
	r->kwargs = kwargs;
	r->how = how;
	if (pt_value_is_global(callable, "torch", "Size"))
		return args->u.seq.n ? args->u.seq.v[0] : NULL;
	if (pt_value_is_global(callable, "bad", "call")) {
		pt_error_set(err, PT_ERR_UNSUPPORTED, "bad.call is not supported");
		return NULL;
	}
	if (pt_value_is_global(callable, "collections", "OrderedDict"))
		return pt_value_new(a, PT_V_DICT, err);
	return NULL;
}

static struct pt_value *rec_persid(void *ctx, struct pt_arena *a,
				   struct pt_value *pid, struct pt_error *err)
{
	struct rec *r = ctx;

	r->npersid++;
	r->pid = pid;
	if (pid->kind == PT_V_STR && strcmp(pid->u.s.p, "bad") == 0) {
		pt_error_set(err, PT_ERR_NOTFOUND, "storage 'bad' does not exist");
		return NULL;
	}
	if (pid->kind == PT_V_STR && strcmp(pid->u.s.p, "silent") == 0)
		return NULL;
	if (!r->tensor) {
		r->tensor = pt_value_new(a, PT_V_TENSOR, err);
	}
	return r->tensor;
}

static int rec_build(void *ctx, struct pt_arena *a, struct pt_value *target,
		     struct pt_value *state, struct pt_error *err)
{
	struct rec *r = ctx;

	r->nbuild++;
	r->target = target;
	r->state = state;
	if (target->kind == PT_V_TENSOR)
		return 1;
	if (target->kind == PT_V_LIST)
		return pt_error_set(err, PT_ERR_PICKLE, "no state for lists");
	return 0;
}

static void test_hooks(void)
{
	struct pt_pickle_hooks h = { 0 };
	struct pt_pickle_opts o;
	struct pt_value *v;
	struct rec r;

	memset(&r, 0, sizeof(r));
	h.ctx = &r;
	h.global = rec_global;
	h.call = rec_call;
	h.persistent_load = rec_persid;
	h.build = rec_build;
	pt_pickle_opts_default(&o);
	o.hooks = &h;

	/* the global hook sees names as written, the value has them mapped */
	v = LOADO("\x80\x02(c__builtin__\nset\n\x8c\x01" "a\x8c\x01" "b\x93\x82\x05(K\x01ifoo\nBar\nt.", &o);
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 4);
	CHECK_INT(r.nglobals, 4);
	CHECK_STR(r.globals[0], "__builtin__.set");
	CHECK_INT(r.gops[0], 'c');
	CHECK_STR(r.globals[1], "a.b");
	CHECK_INT(r.gops[1], 0x93);
	CHECK_STR(r.globals[2], "copyreg.<ext 5>");
	CHECK_INT(r.gops[2], 0x82);
	CHECK_STR(r.globals[3], "foo.Bar");
	CHECK_INT(r.gops[3], 'i');
	if (v && v->kind == PT_V_TUPLE && v->u.seq.n == 4) {
		CHECK(pt_value_is_global(v->u.seq.v[0], "builtins", "set"));
		CHECK(pt_value_is_global(v->u.seq.v[2], "copyreg", "<ext 5>"));
		CHECK(v->u.seq.v[3]->kind == PT_V_OBJECT);
	}
	/* INST went through the call hook, which declined */
	CHECK_INT(r.ncalls, 1);
	CHECK_INT(r.how, 'i');
	BADO("\x80\x02" "cposix\nsystem\n.", &o, PT_ERR_PICKLE,
	     "offset 2: GLOBAL: posix.system is not allowed");
	BADO("\x80\x04\x8c\x05posix\x8c\x06system\x93.", &o, PT_ERR_PICKLE,
	     "offset 17: STACK_GLOBAL: posix.system is not allowed");

	/* call hook: arguments and the values it returns */
	memset(&r, 0, sizeof(r));
	v = LOADO("ctorch\nSize\nK\x02K\x03\x86\x85R.", &o);
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 2);
	CHECK_INT(r.ncalls, 1);
	CHECK_INT(r.how, 'R');
	CHECK(r.kwargs == NULL && r.args && r.args->kind == PT_V_TUPLE);
	v = LOADO("cfoo\nC\n)}\x92.", &o);
	CHECK(v && v->kind == PT_V_OBJECT && v->u.obj.how == 0x92);
	CHECK_INT(r.how, 0x92);
	CHECK(r.kwargs && r.kwargs->kind == PT_V_DICT);
	v = LOADO("ccollections\nOrderedDict\n)R(\x8c\x01wK\x01u}\x8c\x09_metadata}sb.", &o);
	CHECK(v && v->kind == PT_V_DICT && v->u.dict.n == 1);
	CHECK_INT(r.nbuild, 1);
	CHECK(r.target == v);
	BADO("cbad\ncall\n)R.", &o, PT_ERR_UNSUPPORTED,
	     "offset 11: REDUCE: bad.call is not supported");

	/* persistent_load: a tensor used twice keeps its identity */
	memset(&r, 0, sizeof(r));
	v = LOADO("(\x8c\x07storage\x8c\x01" "0tQq\x01h\x01\x86.", &o);
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.v[0] == v->u.seq.v[1] &&
	      v->u.seq.v[0]->kind == PT_V_TENSOR);
	CHECK_INT(r.npersid, 1);
	CHECK(r.pid && r.pid->kind == PT_V_TUPLE && r.pid->u.seq.n == 2);
	v = LOADO("Pkey\n.", &o);
	CHECK(v && v->kind == PT_V_TENSOR && is_str(r.pid, "key"));
	BADO("Pbad\n.", &o, PT_ERR_NOTFOUND,
	     "offset 0: PERSID: storage 'bad' does not exist");
	BADO("\x8c\x06silentQ.", &o, PT_ERR_PICKLE,
	     "offset 8: BINPERSID: the persistent_load hook returned nothing");

	/* build hook: handled, declined, refused */
	memset(&r, 0, sizeof(r));
	v = LOADO("Pt\n)b.", &o);
	CHECK(v && v->kind == PT_V_TENSOR);
	CHECK_INT(r.nbuild, 1);
	CHECK(r.state && r.state->kind == PT_V_TUPLE);
	BADO("]Nb.", &o, PT_ERR_PICKLE, "offset 2: BUILD: no state for lists");
	BADO("K\x01Nb.", &o, PT_ERR_PICKLE, "offset 3: BUILD: cannot set the state of int");
}

/*
 * The memo keeps a dense array for the indices picklers write and a hash
 * table for the others: an index stored sparse before the array reached it
 * must still be found, updated in place and counted once by MEMOIZE.
 */
static void put32(unsigned char **o, unsigned char op, uint32_t i)
{
	*(*o)++ = op;
	for (int k = 0; k < 4; k++)
		*(*o)++ = (unsigned char)(i >> (8 * k));
}

static void test_memo_dense_and_sparse(void)
{
	static unsigned char buf[64 * 1024];
	unsigned char *o = buf;
	struct pt_value *v;
	uint32_t i;

	*o++ = 0x80, *o++ = 4;
	*o++ = 'K', *o++ = 7;
	put32(&o, 'r', 5000);    /* inside the array (a slot per pickle byte) */
	*o++ = '0';
	*o++ = 'K', *o++ = 9;
	put32(&o, 'r', 3000000); /* past it: the hash table */
	*o++ = '0';
	for (i = 0; i < 6000; i++) { /* 5000 is stored again on the way: replaced, not counted */
		*o++ = 'K', *o++ = (unsigned char)i;
		put32(&o, 'r', i);
		*o++ = '0';
	}
	*o++ = '(';
	*o++ = ']', *o++ = 0x94; /* memo[len(memo)]: 6001 distinct indices so far */
	put32(&o, 'j', 6001);
	put32(&o, 'j', 5000);
	put32(&o, 'j', 4999);
	put32(&o, 'j', 3000000);
	put32(&o, 'j', 0);
	*o++ = 't', *o++ = '.';
	v = load(buf, (size_t)(o - buf), NULL);
	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 6);
	if (!v || v->kind != PT_V_TUPLE || v->u.seq.n != 6)
		return;
	CHECK(v->u.seq.v[0]->kind == PT_V_LIST && v->u.seq.v[1] == v->u.seq.v[0]);
	CHECK(is_int(v->u.seq.v[2], 5000 & 0xff));
	CHECK(is_int(v->u.seq.v[3], 4999 & 0xff));
	CHECK(is_int(v->u.seq.v[4], 9));
	CHECK(is_int(v->u.seq.v[5], 0));
	/* an index never stored is an error in either part */
	o = buf;
	*o++ = 0x80, *o++ = 4, *o++ = 'N';
	put32(&o, 'r', 0);
	put32(&o, 'j', 1);
	v = load(buf, (size_t)(o - buf), NULL);
	CHECK(v == NULL);
	CHECK_STR(E.msg, "offset 8: LONG_BINGET: memo index 1 was never stored");
}

/* Small ints and () are one value each, as in CPython; others are made per opcode. */
static void test_shared_small_values(void)
{
	/* (0, 0, 255, 255, 256, 256, -1, -1, 0, (), ()) from BININT1, BININT2 and BININT */
	struct pt_value *v = LOAD("\x80\x02(K\x00K\x00K\xffM\xff\x00M\x00\x01M\x00\x01"
				  "J\xff\xff\xff\xffJ\xff\xff\xff\xffJ\x00\x00\x00\x00))t.");
	struct pt_value **it;

	CHECK(v && v->kind == PT_V_TUPLE && v->u.seq.n == 11);
	if (!v || v->kind != PT_V_TUPLE || v->u.seq.n != 11)
		return;
	it = v->u.seq.v;
	CHECK(is_int(it[0], 0) && it[1] == it[0] && it[8] == it[0]);
	CHECK(is_int(it[2], 255) && it[3] == it[2]);
	CHECK(is_int(it[4], 256) && is_int(it[5], 256) && it[5] != it[4]);
	CHECK(is_int(it[6], -1) && is_int(it[7], -1) && it[7] != it[6]);
	CHECK(it[9]->kind == PT_V_TUPLE && it[9]->u.seq.n == 0 && it[10] == it[9]);
}

static void test_limits(void)
{
	struct pt_pickle_opts o;

	pt_pickle_opts_default(&o);
	CHECK_INT(o.limits.max_stack, 1 << 20);
	CHECK_INT(o.limits.max_memo, 1 << 22);
	CHECK_INT(o.limits.max_depth, 1000);
	CHECK_INT(o.limits.max_bigint, 4096);
	CHECK(o.hooks == NULL && o.encoding == PT_ENC_UTF8);

	o.limits.max_stack = 4;
	CHECK(LOADO("NNNN0000N.", &o) != NULL);
	BADO("NNNNN.", &o, PT_ERR_LIMIT,
	     "offset 4: NONE: stack exceeds the limit of 4 entries");
	BADO("NN((N.", &o, PT_ERR_LIMIT,
	     "offset 4: NONE: stack exceeds the limit of 4 entries");
	BADO("NNN((.", &o, PT_ERR_LIMIT,
	     "offset 4: MARK: stack exceeds the limit of 4 entries");
	pt_pickle_opts_default(&o);
	o.limits.max_depth = 3;
	BADO("((((.", &o, PT_ERR_LIMIT, "offset 3: MARK: more than 3 nested MARKs");
	pt_pickle_opts_default(&o);
	o.limits.max_memo = 10;
	CHECK(LOADO("Nr\x09\x00\x00\x00.", &o) != NULL);
	BADO("Nr\x0a\x00\x00\x00.", &o, PT_ERR_LIMIT,
	     "offset 1: LONG_BINPUT: memo index 10 exceeds the limit of 10");
	BADO("N\x94\x94\x94\x94\x94\x94\x94\x94\x94\x94\x94.", &o, PT_ERR_LIMIT,
	     "offset 11: MEMOIZE: memo index 10 exceeds the limit of 10");
	BADO("Np99999999999999999999999\n.", &o, PT_ERR_LIMIT,
	     "offset 1: PUT: memo index 18446744073709551615 exceeds the limit of 10");
	pt_pickle_opts_default(&o);
	o.limits.max_bigint = 4;
	CHECK(is_int(LOADO("\x8a\x04\x01\x00\x00\x00.", &o), 1));
	BADO("\x8a\x05\x01\x00\x00\x00\x00.", &o, PT_ERR_LIMIT,
	     "offset 0: LONG1: 5 bytes exceed the limit of 4");
	BADO("\x8b\x05\x00\x00\x00\x01\x00\x00\x00\x00.", &o, PT_ERR_LIMIT,
	     "offset 0: LONG4: 5 bytes exceed the limit of 4");
	BADO("L12345L\n.", &o, PT_ERR_LIMIT,
	     "offset 0: LONG: 5 digits exceed the limit of 4");
	BADO("I-12345\n.", &o, PT_ERR_LIMIT,
	     "offset 0: INT: 5 digits exceed the limit of 4");
	/* the real memo_put_huge_index.pkl, default limits */
	BAD("\x80\x02Nr\xff\xff\xff\xffj\xff\xff\xff\xff.", PT_ERR_LIMIT,
	    "offset 3: LONG_BINPUT: memo index 4294967295 exceeds the limit of 4194304");
	/* the arena's own limit */
	{
		struct pt_arena small;
		struct pt_value *v = NULL;
		static const char big[] = "B\x00\x10\x00\x00";
		unsigned char *b = calloc(1, 4096 + 6);

		memcpy(b, big, 5);
		b[4096 + 5] = '.';
		pt_arena_init(&small, 1024);
		CHECK_INT(pt_pickle_load(&small, b, 4096 + 6, NULL, &v, NULL, &E), -1);
		CHECK_INT(E.code, PT_ERR_LIMIT);
		CHECK_STR(E.msg, "offset 0: BINBYTES: memory limit of 1024 bytes reached");
		pt_arena_release(&small);
		free(b);
	}
}

static void test_deep(void)
{
	size_t n = 100000, i, depth;
	unsigned char *b = malloc(2 * n + 16), *p;
	struct pt_value *v, *w, *k;

	/* deep_list_nesting.pkl: EMPTY_LIST x n, APPEND x (n-1) */
	p = b;
	*p++ = 0x80;
	*p++ = 2;
	for (i = 0; i < n; i++)
		*p++ = ']';
	for (i = 0; i + 1 < n; i++)
		*p++ = 'a';
	*p++ = '.';
	v = load(b, (size_t)(p - b), NULL);
	CHECK(v && v->kind == PT_V_LIST);
	for (depth = 0, w = v; w && w->kind == PT_V_LIST && w->u.seq.n; depth++)
		w = w->u.seq.v[0];
	CHECK_INT(depth, n - 1);

	/* deep_tuple_nesting.pkl: MARK x n: refused past max_depth */
	p = b;
	*p++ = 0x80;
	*p++ = 2;
	for (i = 0; i < n; i++)
		*p++ = '(';
	for (i = 0; i < n; i++)
		*p++ = 't';
	*p++ = '.';
	v = load(b, (size_t)(p - b), NULL);
	CHECK(v == NULL);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	CHECK_STR(E.msg, "offset 1002: MARK: more than 1000 nested MARKs");

	/* TUPLE1 nesting needs no marks: it loads, 100000 deep */
	p = b;
	*p++ = ')';
	for (i = 0; i < n; i++)
		*p++ = 0x85;
	*p++ = '.';
	v = load(b, (size_t)(p - b), NULL);
	CHECK(v && v->kind == PT_V_TUPLE);
	for (depth = 0, w = v; w && w->kind == PT_V_TUPLE && w->u.seq.n; depth++)
		w = w->u.seq.v[0];
	CHECK_INT(depth, n);
	/* comparing two such keys stops at 100 levels instead of overflowing */
	k = load(b, (size_t)(p - b), NULL);
	CHECK(k && !pt_value_key_equal(v, k));
	CHECK(pt_value_key_equal(v, v));
	CHECK_INT(pt_value_check_key(v, &E), -1);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	CHECK_STR(E.msg, "key nested deeper than 100 levels");

	/* and as a dict key it is refused */
	p = b;
	*p++ = '}';
	*p++ = ')';
	for (i = 0; i < 200; i++)
		*p++ = 0x85;
	*p++ = 'N';
	*p++ = 's';
	*p++ = '.';
	v = load(b, (size_t)(p - b), NULL);
	CHECK(v == NULL);
	CHECK_INT(E.code, PT_ERR_LIMIT);
	CHECK_STR(E.msg, "offset 203: SETITEM: key nested deeper than 100 levels");
	free(b);
}

static void test_keys(void)
{
	struct pt_value *a, *b;

	/* 2**64 as LONG1 and as a float are one key */
	a = LOAD("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.");
	b = LOAD("G\x43\xf0\x00\x00\x00\x00\x00\x00.");
	CHECK(a && b && pt_value_key_equal(a, b));
	b = LOAD("G\xc3\xf0\x00\x00\x00\x00\x00\x00.");
	CHECK(a && b && !pt_value_key_equal(a, b));
	a = LOAD("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xff.");
	CHECK(a && b && pt_value_key_equal(a, b));
	a = LOAD("K\x01.");
	b = LOAD("G\x3f\xf8\x00\x00\x00\x00\x00\x00.");
	CHECK(a && b && !pt_value_key_equal(a, b));
	b = LOAD("\x88.");
	CHECK(a && b && pt_value_key_equal(a, b));
	a = LOAD("Fnan\n.");
	b = LOAD("Fnan\n.");
	CHECK(a && b && !pt_value_key_equal(a, b) && pt_value_key_equal(a, a));
	a = LOAD("ctorch\nfloat32\n.");
	b = LOAD("\x80\x04\x8c\x05torch\x8c\x07" "float32\x93.");
	CHECK(a && b && pt_value_key_equal(a, b));
	a = LOAD("N.");
	b = LOAD("(t.");
	CHECK(a && b && !pt_value_key_equal(a, b));
	CHECK_STR(pt_vkind_name(PT_V_NONE), "NoneType");
	CHECK_STR(pt_vkind_name(PT_V_DICT), "dict");
	CHECK_STR(pt_vkind_name(PT_V_BIGINT), "int");
}

static void test_scan(void)
{
	static const unsigned char two[] = "\x80\x02}q\x00(X\x01\x00\x00\x00" "aK\x01u.\x80\x02N.";
	size_t end = 0;

	CHECK_INT(pt_pickle_scan(two, sizeof(two) - 1, &end, &E), 0);
	CHECK_INT(end, 16);
	CHECK_INT(pt_pickle_scan(two + 16, sizeof(two) - 17, &end, &E), 0);
	CHECK_INT(end, 4);
	CHECK_INT(pt_pickle_scan(two, 10, &end, &E), 1);
	CHECK_INT(pt_pickle_scan(two, 3, &end, &E), 1);
	CHECK_STR(E.msg, "offset 3: pickle ends before STOP");
	CHECK_INT(pt_pickle_scan((const unsigned char *)"cfoo\nba", 7, &end, &E), 1);
	CHECK_INT(pt_pickle_scan((const unsigned char *)"cfoo\nbar\n.", 10, &end, &E), 0);
	CHECK_INT(end, 10);
	CHECK_INT(pt_pickle_scan((const unsigned char *)"N\xffN.", 4, &end, &E), -1);
	CHECK_INT(E.code, PT_ERR_PICKLE);
	CHECK_STR(E.msg, "offset 1: unknown opcode 0xff");
	CHECK_INT(pt_pickle_scan((const unsigned char *)"T\xff\xff\xff\xff.", 6, &end, &E), -1);
	CHECK_STR(E.msg, "offset 0: BINSTRING: negative length -1");
	CHECK_INT(pt_pickle_scan((const unsigned char *)"\x8e\xff\xff\xff\xff\xff\xff\xff\xff.",
				 10, &end, &E), -1);
	CHECK_INT(pt_pickle_scan((const unsigned char *)"X\x10\x00\x00\x00" "ab", 7, &end, &E), 1);
	CHECK_STR(E.msg, "offset 0: BINUNICODE: length 16 exceeds the 2 bytes left");
	/* opcodes are walked, not run: an undefined memo index is fine here */
	CHECK_INT(pt_pickle_scan((const unsigned char *)"h\x09R\x95\x00\x00\x00\x00\x00\x00\x00\x00.",
				 13, &end, &E), 0);
	CHECK_INT(end, 13);
}

static void test_malformed(void)
{
	BAD("", PT_ERR_PICKLE, "offset 0: pickle ends before STOP");
	BAD("\x80\x02N", PT_ERR_PICKLE, "offset 3: pickle ends before STOP");
	BAD("\x80\x02K", PT_ERR_PICKLE,
	    "offset 2: BININT1: truncated argument (needs 1 byte, 0 left)");
	BAD("J\x01\x02", PT_ERR_PICKLE,
	    "offset 0: BININT: truncated argument (needs 4 bytes, 2 left)");
	BAD("\xff.", PT_ERR_PICKLE, "offset 0: unknown opcode 0xff");
	BAD("N\x00.", PT_ERR_PICKLE, "offset 1: unknown opcode 0x00");
	BAD("\x80\x06.", PT_ERR_UNSUPPORTED, "offset 0: PROTO: unsupported protocol 6");
	/* the hostile/synth length files, byte for byte */
	BAD("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f" "abc.", PT_ERR_PICKLE,
	    "offset 2: BINBYTES8: length 9223372036854775807 exceeds the 4 bytes left");
	BAD("\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\xff" "abc.", PT_ERR_PICKLE,
	    "offset 2: BINUNICODE8: length 18446744073709551615 exceeds the 4 bytes left");
	BAD("\x80\x02X\xff\xff\xff\xff" "abc.", PT_ERR_PICKLE,
	    "offset 2: BINUNICODE: length 4294967295 exceeds the 4 bytes left");
	BAD("\x80\x02\x8b\xff\xff\xff\x7f" "abc.", PT_ERR_PICKLE,
	    "offset 2: LONG4: length 2147483647 exceeds the 4 bytes left");
	BAD("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x80N.", PT_ERR_PICKLE,
	    "offset 2: FRAME: length 9223372036854775813 exceeds the 2 bytes left");
	BAD("\x80\x02Nq\x00" "0j\xff\xff\xff\xff.", PT_ERR_PICKLE,
	    "offset 6: LONG_BINGET: memo index 4294967295 was never stored");
	BAD("h\x03.", PT_ERR_PICKLE, "offset 0: BINGET: memo index 3 was never stored");
	BAD("\x80\x02}K\x01" "aK\x05}b.", PT_ERR_PICKLE,
	    "offset 5: APPEND: target is dict, not a list");
	BAD("K\x05}b.", PT_ERR_PICKLE, "offset 3: BUILD: cannot set the state of int");
	BAD("\x8c\x01x}b.", PT_ERR_PICKLE, "offset 4: BUILD: cannot set the state of str");
	BAD("}K\x01" "b.", PT_ERR_PICKLE, "offset 3: BUILD: cannot set the state of dict from int");
	BAD("]K\x01K\x02s.", PT_ERR_PICKLE, "offset 5: SETITEM: target is list, not a dict");
	BAD("](K\x01K\x02u.", PT_ERR_PICKLE, "offset 6: SETITEMS: target is list, not a dict");
	BAD("}(K\x01u.", PT_ERR_PICKLE, "offset 4: SETITEMS: odd number of items (1)");
	BAD(")(K\x01" "e.", PT_ERR_PICKLE, "offset 4: APPENDS: target is tuple, not a list");
	BAD("}]K\x01s.", PT_ERR_PICKLE, "offset 4: SETITEM: unhashable key of type list");
	BAD("(}K\x01" "d.", PT_ERR_PICKLE, "offset 4: DICT: unhashable key of type dict");
	BAD("}]\x85K\x01s.", PT_ERR_PICKLE, "offset 5: SETITEM: unhashable key of type list");
	BAD("\x8f(]\x90.", PT_ERR_PICKLE, "offset 3: ADDITEMS: unhashable key of type list");
	BAD("(]\x91.", PT_ERR_PICKLE, "offset 2: FROZENSET: unhashable key of type list");
	BAD("](K\x01\x90.", PT_ERR_PICKLE, "offset 4: ADDITEMS: target is list, not a set");
	BAD("(K\x01" "d.", PT_ERR_PICKLE, "offset 3: DICT: odd number of items (1)");
	BAD("cfoo\nbar\n]R.", PT_ERR_PICKLE, "offset 10: REDUCE: argument must be a tuple, got list");
	BAD("cfoo\nbar\nN\x81.", PT_ERR_PICKLE, "offset 10: NEWOBJ: argument must be a tuple, got NoneType");
	BAD("cfoo\nbar\n)]\x92.", PT_ERR_PICKLE,
	    "offset 11: NEWOBJ_EX: keyword arguments must be a dict, got list");
	BAD("\x80\x04J\x2a\x00\x00\x00\x8c\x02os\x93.", PT_ERR_PICKLE,
	    "offset 11: STACK_GLOBAL: module and name must be str, got int and str");
	BAD("\x80\x04" "C\x02osC\x06system\x93.", PT_ERR_PICKLE,
	    "offset 14: STACK_GLOBAL: module and name must be str, got bytes and bytes");
	BAD("\x8c\x02os\x93.", PT_ERR_PICKLE,
	    "offset 4: STACK_GLOBAL: stack underflow (needs 2 values, has 1)");
	BAD("\x80\x02R.", PT_ERR_PICKLE, "offset 2: REDUCE: stack underflow (needs 2 values, has 0)");
	BAD(".", PT_ERR_PICKLE, "offset 0: STOP: stack underflow (needs 1 value, has 0)");
	BAD("N(.", PT_ERR_PICKLE, "offset 2: STOP: stack underflow (needs 1 value, has 0)");
	BAD("N(a.", PT_ERR_PICKLE, "offset 2: APPEND: stack underflow (needs 2 values, has 0)");
	BAD("0.", PT_ERR_PICKLE, "offset 0: POP: stack underflow (needs 1 value, has 0)");
	BAD("Nt.", PT_ERR_PICKLE, "offset 1: TUPLE: no MARK on the stack");
	BAD("N1.", PT_ERR_PICKLE, "offset 1: POP_MARK: no MARK on the stack");
	BAD("(o.", PT_ERR_PICKLE, "offset 1: OBJ: no class after the MARK");
	BAD("ifoo\nBar\n.", PT_ERR_PICKLE, "offset 0: INST: no MARK on the stack");
	BAD("\x82\x00.", PT_ERR_PICKLE, "offset 0: EXT1: extension code 0 is invalid");
	BAD("\x84\xfb\xff\xff\xff.", PT_ERR_PICKLE, "offset 0: EXT4: extension code -5 is invalid");
	BAD("\x97.", PT_ERR_UNSUPPORTED, "offset 0: NEXT_BUFFER: out-of-band buffers are not supported");
	BAD("X\x01\x00\x00\x00\xff.", PT_ERR_PICKLE, "offset 0: BINUNICODE: invalid UTF-8 at byte 0");
	BAD("\x8c\x03" "a\xc0\x80.", PT_ERR_PICKLE, "offset 0: SHORT_BINUNICODE: invalid UTF-8 at byte 1");
	BAD("\x8c\x02" "a\xe2.", PT_ERR_PICKLE, "offset 0: SHORT_BINUNICODE: invalid UTF-8 at byte 1");
	BAD("\x8c\x04\xf4\x90\x80\x80.", PT_ERR_PICKLE, "offset 0: SHORT_BINUNICODE: invalid UTF-8 at byte 0");
	/* past runs of eight ASCII bytes (checked a word at a time) */
	BAD("\x8c\x09" "abcdefgh\xff.", PT_ERR_PICKLE, "offset 0: SHORT_BINUNICODE: invalid UTF-8 at byte 8");
	BAD("\x8c\x10" "abcdefghijklmno\x80.", PT_ERR_PICKLE,
	    "offset 0: SHORT_BINUNICODE: invalid UTF-8 at byte 15");
	BAD("\x8c\x13" "abcdefghijklmnop\xe2\x82z.", PT_ERR_PICKLE,
	    "offset 0: SHORT_BINUNICODE: invalid UTF-8 at byte 16");
	CHECK(is_str(LOAD("\x8c\x14" "abcdefghijklmnop\xe2\x82\xac" "q."),
		     "abcdefghijklmnop\xe2\x82\xac" "q"));
	CHECK(is_str(LOAD("\x8c\x13" "\xc3\xa9" "abcdefgh\xc3\xa9" "abcdefg."),
		     "\xc3\xa9" "abcdefgh\xc3\xa9" "abcdefg"));
	BAD("U\x01\xe9.", PT_ERR_PICKLE,
	    "offset 0: SHORT_BINSTRING: invalid UTF-8 at byte 0 (try encoding latin1 or bytes)");
	BAD("U\x03\xed\xa0\x80.", PT_ERR_PICKLE,
	    "offset 0: SHORT_BINSTRING: invalid UTF-8 at byte 0 (try encoding latin1 or bytes)");
	BAD("T\xff\xff\xff\xff.", PT_ERR_PICKLE, "offset 0: BINSTRING: negative length -1");
	BAD("\x8b\xfe\xff\xff\xff.", PT_ERR_PICKLE, "offset 0: LONG4: negative length -2");
	BAD("cfoo\nbar", PT_ERR_PICKLE, "offset 0: GLOBAL: no newline before the end of the pickle");
	BAD("\x80\x02" "cos\x00x\nsystem\n0N.", PT_ERR_PICKLE, "offset 2: GLOBAL: module contains a NUL byte");
	BAD("cos\nsys\x00tem\n.", PT_ERR_PICKLE, "offset 0: GLOBAL: name contains a NUL byte");
	BAD("\x80\x02" "c\xed\xa0\x80\nx\n0N.", PT_ERR_PICKLE,
	    "offset 2: GLOBAL: module is not valid UTF-8 at byte 0");
	BAD("cx\n\xff\n.", PT_ERR_PICKLE, "offset 0: GLOBAL: name is not valid UTF-8 at byte 0");
	BAD("\x8c\x02o\x00\x8c\x01x\x93.", PT_ERR_PICKLE, "offset 7: STACK_GLOBAL: module contains a NUL byte");
	BAD("Sabc\n.", PT_ERR_PICKLE, "offset 0: STRING: argument must be quoted");
	BAD("S'abc\"\n.", PT_ERR_PICKLE, "offset 0: STRING: argument must be quoted");
	BAD("S'\\x4'\n.", PT_ERR_PICKLE, "offset 0: STRING: invalid \\x escape at byte 1");
	BAD("S'ab\\'\n.", PT_ERR_PICKLE, "offset 0: STRING: trailing backslash at byte 3");
	BAD("V\\u12\n.", PT_ERR_PICKLE, "offset 0: UNICODE: truncated \\uXXXX escape at byte 0");
	BAD("Vab\\U0011ffff\n.", PT_ERR_PICKLE,
	    "offset 0: UNICODE: \\UXXXXXXXX escape out of range at byte 2");
	BAD("Iabc\n.", PT_ERR_PICKLE, "offset 0: INT: bad integer 'abc'");
	BAD("I\n.", PT_ERR_PICKLE, "offset 0: INT: bad integer ''");
	BAD("L12x3L\n.", PT_ERR_PICKLE, "offset 0: LONG: bad integer '12x3'");
	BAD("F1.2.3\n.", PT_ERR_PICKLE, "offset 0: FLOAT: bad float '1.2.3'");
	BAD("F0x10\n.", PT_ERR_PICKLE, "offset 0: FLOAT: bad float '0x10'");
	BAD("F\n.", PT_ERR_PICKLE, "offset 0: FLOAT: bad float ''");
	BAD("gx\n.", PT_ERR_PICKLE, "offset 0: GET: bad memo index 'x'");
	BAD("Np-1\n.", PT_ERR_PICKLE, "offset 1: PUT: bad memo index '-1'");
	BAD("P\xe9\n.", PT_ERR_PICKLE, "offset 0: PERSID: persistent id is not ASCII");
	BAD("]Nb.", PT_ERR_PICKLE, "offset 2: BUILD: cannot set the state of list");
	/* frames: no opcode may cross the end of its frame */
	BAD("\x95\x02\x00\x00\x00\x00\x00\x00\x00" "C\x05" "abcde.", PT_ERR_PICKLE,
	    "offset 9: SHORT_BINBYTES: argument crosses the end of the frame at offset 11");
	BAD("\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00N.",
	    PT_ERR_PICKLE,
	    "offset 9: FRAME: a new frame begins before the end of the frame at offset 19");
	/* stack_underflow_and_leftovers.pkl, first pickle */
	BAD("\x80\x02R.\x80\x02NNN(0.", PT_ERR_PICKLE,
	    "offset 2: REDUCE: stack underflow (needs 2 values, has 0)");
}

/* The bytes of frame_boundary_violation.pkl's shape, kept small. */
/* RAN(s, want): loading s fails, and says whether its bytes ran out */
static void check_ran_out(const void *buf, size_t len, bool want, const char *what)
{
	struct pt_pickle_opts o;
	bool ran_out = !want;

	pt_pickle_opts_default(&o);
	o.ran_out = &ran_out;
	CHECK(load(buf, len, &o) == NULL);
	if (ran_out != want)
		fprintf(stderr, "ran_out of %s: %d\n", what, ran_out);
	CHECK(ran_out == want);
}
#define RAN(s, want) check_ran_out((s), sizeof(s) - 1, (want), #s)

static void test_ran_out(void)
{
	struct pt_pickle_opts o;
	bool ran_out = true;

	/* the bytes end: more of them might parse (a storage record's head, lib/scan.c) */
	RAN("", true);
	RAN("\x80\x02N", true);
	RAN("\x80\x02K", true);
	RAN("\x80\x02X\xff\xff\x00\x00" "abc.", true);
	RAN("\x80\x02\x8c\x01", true);
	RAN("\x80\x02" "cposix\nsys", true);
	RAN("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.", true);
	RAN("\x80\x02N\x95", true);
	/* anything else: no more bytes would help */
	RAN("\xff.", false);
	RAN("\x80\x06.", false);
	RAN("\x80\x02\x02", false);
	RAN("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff" "abc.", false);
	RAN("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x80N.", false);
	RAN("h\x03.", false);
	RAN("\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00"
	    "\x95\x01\x00\x00\x00\x00\x00\x00\x00N.", false); /* a frame inside a frame */
	/* success clears it */
	pt_pickle_opts_default(&o);
	o.ran_out = &ran_out;
	CHECK(load("\x80\x02N.", 4, &o) != NULL);
	CHECK(!ran_out);
}

static void test_frame_ok(void)
{
	struct pt_value *v;

	/* two frames back to back, then unframed opcodes */
	v = LOAD("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x01"
		 "\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x02\x86" "K\x03\x86.");
	CHECK(v && v->kind == PT_V_TUPLE && is_int(v->u.seq.v[1], 3));
}

int main(void)
{
	pt_arena_init(&A, 0);
	test_scalars();
	test_strings();
	test_containers();
	test_globals_and_calls();
	test_hooks();
	test_memo_dense_and_sparse();
	test_shared_small_values();
	test_limits();
	test_deep();
	test_keys();
	test_scan();
	test_malformed();
	test_ran_out();
	test_frame_ok();
	pt_arena_release(&A);
	return check_report("test_pickle");
}
