/*
 * repr.c - Python's repr() of the values a file name or a text file shows.
 *
 * The tree promises `repr(v) + "\n"` for scalars and repr-based names for
 * keys that cannot be used as they are, so this must match CPython 3 byte
 * for byte: shortest round-trip floats with CPython's switch to exponent
 * form below 1e-4 and from 1e16, str quoting that prefers single quotes,
 * and ints of any size.
 */
#include "tree.h"
#include "unicode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	struct pt_arena *a;
	char *p;
	size_t len, cap;
	struct pt_error *err;
	bool failed;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap : 32);
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = pt_arena_alloc(b->a, cap, b->err);
		if (!np) {
			b->failed = true;
			return;
		}
		if (b->len)
			memcpy(np, b->p, b->len);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* x rounded to the nearest float16 (ties to even, as numpy converts). */
static double half_round(double x)
{
	int e;
	double q, r;

	if (x == 0 || !isfinite(x))
		return x;
	frexp(x, &e); /* |x| in [2^(e-1), 2^e) */
	q = ldexp(1, e - 1 - 10 < -24 ? -24 : e - 1 - 10);
	r = x / q; /* exact, and below 2^12: adding 2^52 rounds it to an integer, ties to even */
	r = copysign((fabs(r) + 0x1p52 - 0x1p52) * q, x);
	return fabs(r) > 65504 ? copysign(INFINITY, x) : r;
}

/* Whether x and y are the same value at the precision of bits (16, 32 or 64). */
static bool same_at(double x, double y, int bits)
{
	if (bits == 32)
		return (float)x == (float)y;
	if (bits == 16)
		return half_round(x) == y;
	return x == y;
}

/*
 * The shortest digits that read back as f at the precision of bits,
 * positional or scientific: CPython's float_repr_style 'short' with repr's
 * 'r' mode for 64 (scientific from decimal exponent -5 and 16 up), numpy's
 * for 16 and 32 (scientific when the value itself is below 1e-4 or from
 * 1e16: np.float32(1e-4) is just below it and prints 1e-04).
 */
void pt_repr_float_bits(double f, int bits, char out[48])
{
	char tmp[48], digits[24], *e;
	int prec, exp, nd = 0, i = 0, k;
	double af = fabs(f);
	bool sci;

	if (isnan(f)) {
		strcpy(out, "nan");
		return;
	}
	if (isinf(f)) {
		strcpy(out, f < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (same_at(strtod(tmp, NULL), f, bits))
			break;
	}
	/* tmp is [-]d[.ddd]e[+-]XX */
	e = strchr(tmp, 'e');
	exp = atoi(e + 1);
	for (k = 0; tmp + k < e; k++)
		if (tmp[k] >= '0' && tmp[k] <= '9')
			digits[nd++] = tmp[k];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (signbit(f))
		out[i++] = '-';
	sci = bits == 64 ? exp < -4 || exp >= 16 : af != 0 && (af < 1e-4 || af >= 1e16);
	if (sci) {
		out[i++] = digits[0];
		if (nd > 1) {
			out[i++] = '.';
			memcpy(out + i, digits + 1, (size_t)nd - 1);
			i += nd - 1;
		}
		snprintf(out + i, 48 - (size_t)i, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	if (exp < 0) {
		out[i++] = '0';
		out[i++] = '.';
		for (k = 0; k < -exp - 1; k++)
			out[i++] = '0';
		memcpy(out + i, digits, (size_t)nd);
		i += nd;
	} else {
		for (k = 0; k <= exp; k++)
			out[i++] = k < nd ? digits[k] : '0';
		out[i++] = '.';
		if (nd > exp + 1) {
			memcpy(out + i, digits + exp + 1, (size_t)(nd - exp - 1));
			i += nd - exp - 1;
		} else {
			out[i++] = '0';
		}
	}
	out[i] = '\0';
}

void pt_repr_float(double f, char out[40])
{
	char r[48];

	pt_repr_float_bits(f, 64, r);
	memcpy(out, r, strlen(r) + 1); /* at most "-1.2345678901234567e-308": 24 bytes */
}

/* Decimal text of a little-endian two's complement integer of n bytes. */
static void repr_bigint(struct sbuf *b, const unsigned char *p, size_t n)
{
	unsigned char *mag;
	char *dig;
	size_t nd = 0, i, len = n;
	bool neg = n && (p[n - 1] & 0x80);
	struct pt_error e2;

	mag = malloc(n ? n : 1);
	dig = malloc(n * 3 + 3);
	if (!mag || !dig) {
		free(mag);
		free(dig);
		b->failed = true;
		pt_error_set(b->err, PT_ERR_NOMEM, "out of memory");
		return;
	}
	memcpy(mag, p, n);
	if (neg) { /* magnitude = ~x + 1 */
		unsigned carry = 1;

		for (i = 0; i < n; i++) {
			unsigned v = (unsigned)(unsigned char)~mag[i] + carry;

			mag[i] = (unsigned char)v;
			carry = v >> 8;
		}
	}
	while (len && mag[len - 1] == 0)
		len--;
	while (len) { /* divide by 10, most significant byte first */
		unsigned rem = 0;

		for (i = len; i-- > 0;) {
			unsigned cur = (rem << 8) | mag[i];

			mag[i] = (unsigned char)(cur / 10);
			rem = cur % 10;
		}
		dig[nd++] = (char)('0' + rem);
		while (len && mag[len - 1] == 0)
			len--;
	}
	if (!nd)
		dig[nd++] = '0';
	if (neg)
		dig[nd++] = '-';
	for (i = 0; i < nd / 2; i++) {
		char c = dig[i];

		dig[i] = dig[nd - 1 - i];
		dig[nd - 1 - i] = c;
	}
	sb_add(b, dig, nd);
	free(mag);
	free(dig);
	(void)e2;
}

/* Length of the UTF-8 sequence at p (1 for a stray byte). */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 1;

	return n > left ? 1 : n;
}

static unsigned decode_cp(const unsigned char *p, size_t l)
{
	switch (l) {
	case 2: return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
	case 3: return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
	case 4:
		return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
		       (p[3] & 0x3Fu);
	default: return p[0];
	}
}

/* cp as repr() shows it: as it is, or escaped (unicode.c holds Python's table). */
static bool printable(unsigned cp)
{
	return cp >= 0x20 && pt_unicode_printable(cp);
}

bool pt_str_printable(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		l = utf8_len(p + i, n - i);
		if (!printable(decode_cp(p + i, l)))
			return false;
		i += l;
	}
	return true;
}

static void repr_str(struct sbuf *b, const char *s, size_t n, bool bytes)
{
	const unsigned char *p = (const unsigned char *)s;
	bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
	char q = has_sq && !has_dq ? '"' : '\'';
	char esc[12];
	size_t i = 0;

	if (bytes)
		sb_add(b, "b", 1);
	sb_add(b, &q, 1);
	while (i < n) {
		unsigned char c = p[i];
		size_t run = 0;

		/* a run of plain ASCII goes in one copy (keys are mostly that) */
		while (i + run < n && p[i + run] >= 0x20 && p[i + run] < 0x7f && p[i + run] != '\\' &&
		       p[i + run] != (unsigned char)q)
			run++;
		if (run) {
			sb_add(b, s + i, run);
			i += run;
			continue;
		}
		if (c == '\\' || c == (unsigned char)q) {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_add(b, esc, 2);
		} else if (c == '\n') {
			sb_str(b, "\\n");
		} else if (c == '\r') {
			sb_str(b, "\\r");
		} else if (c == '\t') {
			sb_str(b, "\\t");
		} else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			sb_str(b, esc);
		} else if (c >= 0x80) {
			size_t l = utf8_len(p + i, n - i);
			unsigned cp = decode_cp(p + i, l);

			if (!printable(cp)) {
				snprintf(esc, sizeof(esc), cp < 0x100 ? "\\x%02x" :
					 cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
				sb_str(b, esc);
			} else {
				sb_add(b, s + i, l);
			}
			i += l;
			continue;
		} else {
			sb_add(b, s + i, 1);
		}
		i++;
	}
	sb_add(b, &q, 1);
}

static bool repr_value(struct sbuf *b, const struct pt_value *v, int depth)
{
	char num[40];
	size_t i;

	if (depth > 32)
		return false;
	switch (v->kind) {
	case PT_V_NONE:
		sb_str(b, "None");
		return true;
	case PT_V_BOOL:
		sb_str(b, v->u.b ? "True" : "False");
		return true;
	case PT_V_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->u.i);
		sb_str(b, num);
		return true;
	case PT_V_BIGINT:
		repr_bigint(b, (const unsigned char *)v->u.s.p, v->u.s.len);
		return true;
	case PT_V_FLOAT:
		pt_repr_float(v->u.f, num);
		sb_str(b, num);
		return true;
	case PT_V_STR:
		repr_str(b, v->u.s.p, v->u.s.len, false);
		return true;
	case PT_V_BYTES:
		repr_str(b, v->u.s.p, v->u.s.len, true);
		return true;
	case PT_V_TUPLE:
		sb_str(b, "(");
		for (i = 0; i < v->u.seq.n; i++) {
			if (i)
				sb_str(b, ", ");
			if (!repr_value(b, v->u.seq.v[i], depth + 1))
				return false;
		}
		sb_str(b, v->u.seq.n == 1 ? ",)" : ")");
		return true;
	default:
		return false;
	}
}

char *pt_value_repr(struct pt_arena *a, const struct pt_value *v, struct pt_error *err)
{
	struct sbuf b = { .a = a, .err = err };

	if (!repr_value(&b, v, 0) || b.failed)
		return NULL;
	if (!b.p)
		sb_add(&b, "", 0);
	return b.failed ? NULL : b.p;
}
