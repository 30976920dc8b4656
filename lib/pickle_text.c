/*
 * pickle_text.c - the values of protocol 0 text and of string arguments,
 * with the Python codecs they need.
 *
 * Protocol 0 writes numbers and strings as text lines: INT and LONG in
 * decimal (any size up to max_bigint digits; LONG ends in 'L'), FLOAT as
 * float() reads it, GET and PUT's memo indices in decimal, STRING as a
 * quoted Python 2 repr with its escapes, UNICODE as raw-unicode-escape.
 * The binary protocols' strings and long integers are decoded here too:
 * BINUNICODE and friends are UTF-8 with surrogates ('surrogatepass'),
 * Python 2 str bytes become text per the encoding option (parsed here, as
 * torch.load's encoding= takes it), LONG1/LONG4 are two's complement. The
 * codecs come first and are static, but for pt_utf8_check, which GLOBAL
 * uses too; each decoder sizes its output from the input length before
 * decoding and returns a value in the arena, or NULL with the error set.
 *
 * FLOAT's text goes through strtod, which follows LC_NUMERIC; the library
 * never calls setlocale, so it stays "C" unless the program changes it.
 */
#include "pickle.h"
#include "pickle_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_cont(const unsigned char *p, size_t i, size_t n)
{
	return i < n && (p[i] & 0xc0) == 0x80;
}

size_t pt_utf8_check(const unsigned char *p, size_t n, bool surrogates)
{
	size_t i = 0;
	unsigned c, c1;

	while (i < n) {
		uint64_t w;

		/* eight ASCII bytes at a time: keys and names are ASCII */
		while (n - i >= 8 && (memcpy(&w, p + i, 8), (w & 0x8080808080808080ULL) == 0))
			i += 8;
		if (i == n)
			break;
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xc2 || c > 0xf4 || !is_cont(p, i + 1, n))
			return i;
		c1 = p[i + 1];
		if (c < 0xe0) {
			i += 2;
			continue;
		}
		if ((c == 0xe0 && c1 < 0xa0) || (c == 0xf0 && c1 < 0x90) ||
		    (c == 0xf4 && c1 >= 0x90) ||
		    (c == 0xed && c1 >= 0xa0 && !surrogates))
			return i;
		if (!is_cont(p, i + 2, n))
			return i;
		if (c < 0xf0) {
			i += 3;
			continue;
		}
		if (!is_cont(p, i + 3, n))
			return i;
		i += 4;
	}
	return n;
}

/* Appends code point c as UTF-8 (surrogates included) at out; returns bytes. */
static size_t utf8_put(unsigned char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | c >> 6);
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | c >> 12);
		out[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | c >> 18);
	out[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Python 2 string escapes (codecs.escape_decode) of p[0..n) into out (room
 * for n bytes). Returns 0 and the output length in *outlen, or -1 with *bad
 * at the offending input offset and *why a short reason.
 */
static int escape_decode(const unsigned char *p, size_t n, unsigned char *out,
			 size_t *outlen, size_t *bad, const char **why)
{
	size_t i = 0, o = 0, start;
	unsigned v;
	int k;

	while (i < n) {
		if (p[i] != '\\') {
			out[o++] = p[i++];
			continue;
		}
		start = i;
		if (i + 1 >= n) {
			*bad = start;
			*why = "trailing backslash";
			return -1;
		}
		i += 2;
		switch (p[i - 1]) {
		case '\n': break;
		case '\\': out[o++] = '\\'; break;
		case '\'': out[o++] = '\''; break;
		case '"': out[o++] = '"'; break;
		case 'a': out[o++] = 7; break;
		case 'b': out[o++] = 8; break;
		case 't': out[o++] = 9; break;
		case 'n': out[o++] = 10; break;
		case 'v': out[o++] = 11; break;
		case 'f': out[o++] = 12; break;
		case 'r': out[o++] = 13; break;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			v = p[i - 1] - '0';
			for (k = 0; k < 2 && i < n && p[i] >= '0' && p[i] <= '7'; k++)
				v = v * 8 + (p[i++] - '0');
			out[o++] = (unsigned char)v; /* Python keeps the low byte */
			break;
		case 'x':
			if (i + 1 >= n || hexval(p[i]) < 0 || hexval(p[i + 1]) < 0) {
				*bad = start;
				*why = "invalid \\x escape";
				return -1;
			}
			out[o++] = (unsigned char)(hexval(p[i]) * 16 + hexval(p[i + 1]));
			i += 2;
			break;
		default:
			/* Unknown escapes stay as they are, backslash included. */
			out[o++] = '\\';
			out[o++] = p[i - 1];
			break;
		}
	}
	*outlen = o;
	return 0;
}

/*
 * Python's raw-unicode-escape of p[0..n) into UTF-8 at out (room for 2*n
 * bytes). Returns 0 or -1 as escape_decode.
 */
static int raw_unicode_decode(const unsigned char *p, size_t n,
			      unsigned char *out, size_t *outlen, size_t *bad,
			      const char **why)
{
	size_t i = 0, o = 0, bs, start;
	uint32_t ch;
	int count, h;

	while (i < n) {
		if (p[i] != '\\') {
			o += utf8_put(out + o, p[i++]);
			continue;
		}
		/* \u is an escape only after an odd run of backslashes. */
		bs = i;
		while (i < n && p[i] == '\\')
			out[o++] = p[i++];
		if (((i - bs) & 1) == 0 || i >= n || (p[i] != 'u' && p[i] != 'U'))
			continue;
		o--;
		start = i - 1;
		count = p[i] == 'u' ? 4 : 8;
		for (i++, ch = 0; count; count--, i++) {
			h = i < n ? hexval(p[i]) : -1;
			if (h < 0) {
				*bad = start;
				*why = p[start + 1] == 'u' ? "truncated \\uXXXX escape"
							   : "truncated \\UXXXXXXXX escape";
				return -1;
			}
			ch = ch << 4 | (uint32_t)h;
		}
		if (ch > 0x10ffff) {
			*bad = start;
			*why = "\\UXXXXXXXX escape out of range";
			return -1;
		}
		o += utf8_put(out + o, ch);
	}
	*outlen = o;
	return 0;
}

/* Minimal length of a little-endian two's complement number (n >= 1). */
static size_t twos_minimal(const unsigned char *p, size_t n)
{
	while (n > 1 && ((p[n - 1] == 0x00 && !(p[n - 2] & 0x80)) ||
			 (p[n - 1] == 0xff && (p[n - 2] & 0x80))))
		n--;
	return n;
}

int pt_str_encoding_parse(const char *name, enum pt_str_encoding *out,
			  struct pt_error *err)
{
	static const struct {
		const char *name;
		enum pt_str_encoding enc;
	} names[] = {
		{ "utf-8", PT_ENC_UTF8 },	{ "utf8", PT_ENC_UTF8 },
		{ "utf_8", PT_ENC_UTF8 },	{ "ascii", PT_ENC_ASCII },
		{ "us-ascii", PT_ENC_ASCII },	{ "latin1", PT_ENC_LATIN1 },
		{ "latin-1", PT_ENC_LATIN1 },	{ "latin_1", PT_ENC_LATIN1 },
		{ "iso-8859-1", PT_ENC_LATIN1 }, { "iso8859-1", PT_ENC_LATIN1 },
		{ "bytes", PT_ENC_BYTES },
	};
	size_t i;

	for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].enc;
			return 0;
		}
	}
	return pt_error_set(err, PT_ERR_INVAL,
			    "unknown string encoding '%s' (use utf-8, ascii, latin1 or bytes)",
			    name ? name : "");
}

/* Up to 40 bytes of file text fit for a one-line message. */
static const char *quote(const unsigned char *p, size_t n, char *buf)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < 40; i++)
		buf[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	if (i < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* GET and PUT's decimal text; Python's C unpickler refuses negatives. */
int pt_pickle_text_index(struct pt_machine *m, const unsigned char *p, size_t n,
			 uint64_t *idx)
{
	char q[48];
	size_t i;

	*idx = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			break;
		if (*idx > (UINT64_MAX - 9) / 10)
			*idx = UINT64_MAX; /* past any limit; it only has to fail */
		else
			*idx = *idx * 10 + (uint64_t)(p[i] - '0');
	}
	if (n && i == n)
		return 0;
	return pt_pickle_fail(m, PT_ERR_PICKLE, "bad memo index '%s'", quote(p, n, q));
}

struct pt_value *pt_pickle_bytes_value(struct pt_machine *m, enum pt_vkind kind,
				       const unsigned char *p, size_t n)
{
	return pt_value_bytes(m->a, kind, (const char *)p, n, m->err);
}

static struct pt_value *str_value(struct pt_machine *m, const unsigned char *p,
				  size_t n)
{
	return pt_pickle_bytes_value(m, PT_V_STR, p, n);
}

/* A little-endian two's complement number as an int, or a minimal bigint. */
struct pt_value *pt_pickle_twos_value(struct pt_machine *m,
				      const unsigned char *p, size_t n)
{
	uint64_t u = 0;
	size_t i;

	if (!n)
		return pt_value_int(m->a, 0, m->err);
	n = twos_minimal(p, n);
	if (n > 8)
		return pt_pickle_bytes_value(m, PT_V_BIGINT, p, n);
	for (i = 0; i < n; i++)
		u |= (uint64_t)p[i] << (8 * i);
	if (n < 8 && (p[n - 1] & 0x80))
		u |= ~(uint64_t)0 << (8 * n);
	return pt_value_int(m->a, (int64_t)u, m->err);
}

static bool is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static void trim(const unsigned char **p, size_t *n)
{
	while (*n && is_space(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_space((*p)[*n - 1]))
		(*n)--;
}

/* INT and LONG's decimal text, of any size up to max_bigint digits. */
struct pt_value *pt_pickle_text_int(struct pt_machine *m,
				    const unsigned char *p, size_t n)
{
	const unsigned char *s = p;
	size_t ns = n, i, used, nbytes;
	unsigned char *mag;
	bool neg = false, fits = true;
	uint64_t u = 0;
	char q[48];

	trim(&s, &ns);
	if (ns && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		ns--;
	}
	for (i = 0; i < ns; i++)
		if (s[i] < '0' || s[i] > '9')
			break;
	if (!ns || i < ns) {
		pt_pickle_fail(m, PT_ERR_PICKLE, "bad integer '%s'", quote(p, n, q));
		return NULL;
	}
	if (ns > m->lim->max_bigint) {
		pt_pickle_fail(m, PT_ERR_LIMIT, "%zu digits exceed the limit of %zu",
			       ns, m->lim->max_bigint);
		return NULL;
	}
	for (i = 0; i < ns && fits; i++) {
		if (u > (UINT64_MAX - 9) / 10)
			fits = false;
		else
			u = u * 10 + (uint64_t)(s[i] - '0');
	}
	if (fits && !neg && u <= INT64_MAX)
		return pt_value_int(m->a, (int64_t)u, m->err);
	if (fits && neg && u <= (uint64_t)INT64_MAX + 1)
		return pt_value_int(m->a, u ? -(int64_t)(u - 1) - 1 : 0, m->err);

	/* Each digit adds under half a byte; one more byte keeps the sign. */
	nbytes = ns / 2 + 2;
	mag = pt_arena_alloc(m->a, nbytes, m->err);
	if (!mag)
		return NULL;
	used = 0;
	for (i = 0; i < ns; i++) {
		unsigned carry = (unsigned)(s[i] - '0');
		size_t j;

		for (j = 0; j < used; j++) {
			unsigned t = mag[j] * 10u + carry;

			mag[j] = (unsigned char)t;
			carry = t >> 8;
		}
		while (carry) {
			mag[used++] = (unsigned char)carry;
			carry >>= 8;
		}
	}
	if (neg) {
		unsigned carry = 1;

		for (i = 0; i < nbytes; i++) {
			unsigned t = (unsigned char)~mag[i] + carry;

			mag[i] = (unsigned char)t;
			carry = t >> 8;
		}
	}
	return pt_pickle_twos_value(m, mag, nbytes);
}

struct pt_value *pt_pickle_text_float(struct pt_machine *m,
				      const unsigned char *p, size_t n)
{
	const unsigned char *s = p;
	size_t ns = n;
	struct pt_value *v;
	char *copy, *end, q[48];

	trim(&s, &ns);
	copy = pt_arena_strndup(m->a, (const char *)s, ns, m->err);
	if (!copy)
		return NULL;
	/* strtod takes hex floats, which Python's float() refuses. */
	v = pt_value_new(m->a, PT_V_FLOAT, m->err);
	if (!v)
		return NULL;
	v->u.f = strtod(copy, &end);
	if (!ns || end != copy + ns || strpbrk(copy, "xX")) {
		pt_pickle_fail(m, PT_ERR_PICKLE, "bad float '%s'", quote(p, n, q));
		return NULL;
	}
	return v;
}

/* BINUNICODE and friends: Python decodes with 'surrogatepass'. */
struct pt_value *pt_pickle_unicode_value(struct pt_machine *m,
					 const unsigned char *p, size_t n)
{
	size_t bad = pt_utf8_check(p, n, true);

	if (bad < n) {
		pt_pickle_fail(m, PT_ERR_PICKLE, "invalid UTF-8 at byte %zu", bad);
		return NULL;
	}
	return str_value(m, p, n);
}

/* Python 2 str: bytes that become text per the encoding option. */
struct pt_value *pt_pickle_py2_string(struct pt_machine *m,
				      const unsigned char *p, size_t n)
{
	struct pt_value *v;
	unsigned char *out;
	size_t i, o, bad;

	switch (m->encoding) {
	case PT_ENC_BYTES:
		return pt_pickle_bytes_value(m, PT_V_BYTES, p, n);
	case PT_ENC_ASCII:
		for (i = 0; i < n; i++) {
			if (p[i] >= 0x80) {
				pt_pickle_fail(m, PT_ERR_PICKLE,
					       "byte 0x%02x at %zu is not ASCII",
					       p[i], i);
				return NULL;
			}
		}
		return str_value(m, p, n);
	case PT_ENC_LATIN1:
		out = pt_arena_alloc(m->a, 2 * n + 1, m->err);
		v = out ? pt_value_new(m->a, PT_V_STR, m->err) : NULL;
		if (!v)
			return NULL;
		for (i = 0, o = 0; i < n; i++)
			o += utf8_put(out + o, p[i]);
		v->u.s.p = (char *)out;
		v->u.s.len = o;
		return v;
	case PT_ENC_UTF8:
		break;
	}
	bad = pt_utf8_check(p, n, false);
	if (bad < n) {
		pt_pickle_fail(m, PT_ERR_PICKLE,
			       "invalid UTF-8 at byte %zu (try encoding latin1 or bytes)",
			       bad);
		return NULL;
	}
	return str_value(m, p, n);
}

/* STRING: a quoted Python 2 repr. */
struct pt_value *pt_pickle_text_string(struct pt_machine *m,
				       const unsigned char *p, size_t n)
{
	unsigned char *out;
	const char *why;
	size_t len, bad;

	if (n < 2 || p[0] != p[n - 1] || (p[0] != '\'' && p[0] != '"')) {
		pt_pickle_fail(m, PT_ERR_PICKLE, "argument must be quoted");
		return NULL;
	}
	out = pt_arena_alloc(m->a, n, m->err);
	if (!out)
		return NULL;
	if (escape_decode(p + 1, n - 2, out, &len, &bad, &why)) {
		pt_pickle_fail(m, PT_ERR_PICKLE, "%s at byte %zu", why, bad + 1);
		return NULL;
	}
	return pt_pickle_py2_string(m, out, len);
}

/* UNICODE: raw-unicode-escape text. */
struct pt_value *pt_pickle_text_unicode(struct pt_machine *m,
					const unsigned char *p, size_t n)
{
	unsigned char *out;
	const char *why;
	size_t len, bad;

	out = pt_arena_alloc(m->a, 2 * n + 1, m->err);
	if (!out)
		return NULL;
	if (raw_unicode_decode(p, n, out, &len, &bad, &why)) {
		pt_pickle_fail(m, PT_ERR_PICKLE, "%s at byte %zu", why, bad);
		return NULL;
	}
	return str_value(m, out, len);
}

