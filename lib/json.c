/*
 * json.c - a recursive-descent JSON reader (RFC 8259), strict: no comments,
 * no trailing commas, UTF-8 text with \u escapes (surrogate pairs joined).
 * Recursion is bounded by JSON_MAX_DEPTH so hostile nesting cannot exhaust
 * the stack.
 */
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

struct jp {
	struct pt_arena *a;
	const char *p;
	size_t len, pos;
	unsigned flags;
	struct pt_error *err;
};

static int jp_fail(struct jp *j, const char *what)
{
	return pt_error_set(j->err, PT_ERR_FORMAT, "JSON: offset %zu: %s", j->pos, what);
}

static void jp_ws(struct jp *j)
{
	while (j->pos < j->len && (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
				   j->p[j->pos] == '\n' || j->p[j->pos] == '\r'))
		j->pos++;
}

static int jp_lit(struct jp *j, const char *word)
{
	size_t n = strlen(word);

	if (j->len - j->pos < n || memcmp(j->p + j->pos, word, n) != 0)
		return jp_fail(j, "unexpected character");
	j->pos += n;
	return 0;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static struct pt_value *jp_string(struct jp *j)
{
	size_t start = ++j->pos, n = 0;
	struct pt_value *v;
	char *o;

	/* the decoded text is never longer than the escaped one */
	while (j->pos < j->len && j->p[j->pos] != '"') {
		if (j->p[j->pos] == '\\')
			j->pos++;
		j->pos++;
	}
	if (j->pos >= j->len)
		return jp_fail(j, "unterminated string"), NULL;
	o = pt_arena_alloc(j->a, j->pos - start + 1, j->err);
	if (!o)
		return NULL;
	for (size_t i = start; i < j->pos; i++) {
		unsigned char c = (unsigned char)j->p[i];
		unsigned cp, lo;

		if (c < 0x20) {
			j->pos = i;
			return jp_fail(j, "control character in string"), NULL;
		}
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		c = (unsigned char)j->p[++i];
		switch (c) {
		case '"': case '\\': case '/': o[n++] = (char)c; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u':
			if (i + 4 >= j->pos || hex4(j->p + i + 1, &cp) < 0) {
				j->pos = i;
				return jp_fail(j, "bad \\u escape"), NULL;
			}
			i += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < j->pos && j->p[i + 1] == '\\' &&
			    j->p[i + 2] == 'u' && hex4(j->p + i + 3, &lo) == 0 && lo >= 0xDC00 &&
			    lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			}
			n += put_utf8(o + n, cp);
			break;
		default:
			j->pos = i;
			return jp_fail(j, "bad escape"), NULL;
		}
	}
	o[n] = '\0';
	j->pos++;
	v = pt_value_new(j->a, PT_V_STR, j->err);
	if (!v)
		return NULL;
	v->u.s.p = o;
	v->u.s.len = n;
	return v;
}

static bool jp_digit(const struct jp *j)
{
	return j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9';
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and nothing else */
static struct pt_value *jp_number(struct jp *j)
{
	size_t start = j->pos;
	bool integral = true;
	char buf[64], *end;
	struct pt_value *v;

	if (j->pos < j->len && j->p[j->pos] == '-')
		j->pos++;
	if (!jp_digit(j))
		return jp_fail(j, j->pos == start ? "unexpected character" : "bad number"), NULL;
	if (j->p[j->pos] == '0') {
		j->pos++;
	} else {
		while (jp_digit(j))
			j->pos++;
	}
	if (j->pos < j->len && j->p[j->pos] == '.') {
		integral = false;
		j->pos++;
		if (!jp_digit(j))
			return jp_fail(j, "bad number"), NULL;
		while (jp_digit(j))
			j->pos++;
	}
	if (j->pos < j->len && (j->p[j->pos] == 'e' || j->p[j->pos] == 'E')) {
		integral = false;
		j->pos++;
		if (j->pos < j->len && (j->p[j->pos] == '+' || j->p[j->pos] == '-'))
			j->pos++;
		if (!jp_digit(j))
			return jp_fail(j, "bad number"), NULL;
		while (jp_digit(j))
			j->pos++;
	}
	if (j->pos - start >= sizeof(buf))
		return jp_fail(j, "number too long"), NULL;
	memcpy(buf, j->p + start, j->pos - start);
	buf[j->pos - start] = '\0';
	if (integral) {
		long long i;

		errno = 0;
		i = strtoll(buf, &end, 10);
		if (*end == '\0' && errno == 0)
			return pt_value_int(j->a, i, j->err);
	}
	v = pt_value_new(j->a, PT_V_FLOAT, j->err);
	if (!v)
		return NULL;
	v->u.f = strtod(buf, &end);
	if (*end != '\0')
		return jp_fail(j, "bad number"), NULL;
	return v;
}

static struct pt_value *jp_value(struct jp *j, int depth)
{
	struct pt_value *v, *k, *x;
	size_t n0, kpos;

	if (depth > JSON_MAX_DEPTH)
		return pt_error_set(j->err, PT_ERR_LIMIT, "JSON: nesting deeper than %d levels",
				    JSON_MAX_DEPTH),
		       NULL;
	jp_ws(j);
	if (j->pos >= j->len)
		return jp_fail(j, "unexpected end of text"), NULL;
	switch (j->p[j->pos]) {
	case '{':
		v = pt_value_new(j->a, PT_V_DICT, j->err);
		if (!v)
			return NULL;
		j->pos++;
		jp_ws(j);
		if (j->pos < j->len && j->p[j->pos] == '}') {
			j->pos++;
			return v;
		}
		for (;;) {
			jp_ws(j);
			if (j->pos >= j->len || j->p[j->pos] != '"')
				return jp_fail(j, "expected a string key"), NULL;
			kpos = j->pos;
			k = jp_string(j);
			if (!k)
				return NULL;
			jp_ws(j);
			if (j->pos >= j->len || j->p[j->pos] != ':')
				return jp_fail(j, "expected ':'"), NULL;
			j->pos++;
			x = jp_value(j, depth + 1);
			n0 = v->u.dict.n;
			if (!x || pt_vdict_set(j->a, &v->u.dict, k, x, j->err) < 0)
				return NULL;
			if ((j->flags & PT_JSON_UNIQUE_KEYS) && v->u.dict.n == n0)
				return pt_error_set(j->err, PT_ERR_FORMAT,
						    "JSON: offset %zu: duplicate key '%.200s'", kpos,
						    k->u.s.p),
				       NULL;
			jp_ws(j);
			if (j->pos < j->len && j->p[j->pos] == ',') {
				j->pos++;
				continue;
			}
			if (j->pos < j->len && j->p[j->pos] == '}') {
				j->pos++;
				return v;
			}
			return jp_fail(j, "expected ',' or '}'"), NULL;
		}
	case '[':
		v = pt_value_new(j->a, PT_V_LIST, j->err);
		if (!v)
			return NULL;
		j->pos++;
		jp_ws(j);
		if (j->pos < j->len && j->p[j->pos] == ']') {
			j->pos++;
			return v;
		}
		for (;;) {
			x = jp_value(j, depth + 1);
			if (!x || pt_vseq_push(j->a, &v->u.seq, x, j->err) < 0)
				return NULL;
			jp_ws(j);
			if (j->pos < j->len && j->p[j->pos] == ',') {
				j->pos++;
				continue;
			}
			if (j->pos < j->len && j->p[j->pos] == ']') {
				j->pos++;
				return v;
			}
			return jp_fail(j, "expected ',' or ']'"), NULL;
		}
	case '"':
		return jp_string(j);
	case 't':
		if (jp_lit(j, "true") < 0)
			return NULL;
		v = pt_value_new(j->a, PT_V_BOOL, j->err);
		if (v)
			v->u.b = true;
		return v;
	case 'f':
		if (jp_lit(j, "false") < 0)
			return NULL;
		return pt_value_new(j->a, PT_V_BOOL, j->err);
	case 'n':
		if (jp_lit(j, "null") < 0)
			return NULL;
		return pt_value_new(j->a, PT_V_NONE, j->err);
	default:
		return jp_number(j);
	}
}

int pt_json_parse(struct pt_arena *a, const char *p, size_t len, struct pt_value **out,
		  struct pt_error *err)
{
	return pt_json_parse_with(a, p, len, 0, out, err);
}

int pt_json_parse_with(struct pt_arena *a, const char *p, size_t len, unsigned flags,
		       struct pt_value **out, struct pt_error *err)
{
	struct jp j = { .a = a, .p = p, .len = len, .flags = flags, .err = err };
	struct pt_value *v = jp_value(&j, 0);

	if (!v)
		return -1;
	jp_ws(&j);
	if (j.pos != j.len)
		return jp_fail(&j, "text after the value");
	*out = v;
	return 0;
}
