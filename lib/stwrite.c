/*
 * stwrite.c - safetensors headers, byte for byte as the reference makes them.
 *
 * The JSON is serde_json's compact form: no spaces, `"` and `\` escaped,
 * \b \f \n \r \t for those controls, \u00XX (lowercase) for the other
 * controls below 0x20, everything else (UTF-8 included) as it is. Integers
 * in decimal. The header grows in one malloc'd buffer that doubles.
 */
#include "stwrite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_u64(struct buf *b, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
	puts_(b, t);
}

static void put_str(struct buf *b, const char *s)
{
	char esc[8];

	put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': puts_(b, "\\\""); break;
		case '\\': puts_(b, "\\\\"); break;
		case '\b': puts_(b, "\\b"); break;
		case '\f': puts_(b, "\\f"); break;
		case '\n': puts_(b, "\\n"); break;
		case '\r': puts_(b, "\\r"); break;
		case '\t': puts_(b, "\\t"); break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				puts_(b, esc);
			} else {
				put(b, s, 1);
			}
		}
	}
	put(b, "\"", 1);
}

/* The reference's enum order (safetensors/src/tensor.rs `Dtype`); -1: none. */
static int dtype_rank(enum pt_dtype dt)
{
	switch (dt) {
	case PT_DT_BOOL: return 0;
	case PT_DT_UINT8: return 4;
	case PT_DT_INT8: return 5;
	case PT_DT_FLOAT8_E5M2: return 6;
	case PT_DT_FLOAT8_E4M3FN: return 7;
	case PT_DT_FLOAT8_E8M0FNU: return 8;
	case PT_DT_INT16: return 9;
	case PT_DT_UINT16: return 10;
	case PT_DT_FLOAT16: return 11;
	case PT_DT_BFLOAT16: return 12;
	case PT_DT_INT32: return 13;
	case PT_DT_UINT32: return 14;
	case PT_DT_FLOAT32: return 15;
	case PT_DT_FLOAT64: return 16;
	case PT_DT_INT64: return 17;
	case PT_DT_UINT64: return 18;
	default: return -1;
	}
}

const char *pt_st_dtype(enum pt_dtype dt)
{
	switch (dt) {
	case PT_DT_BOOL: return "BOOL";
	case PT_DT_UINT8: return "U8";
	case PT_DT_INT8: return "I8";
	case PT_DT_FLOAT8_E5M2: return "F8_E5M2";
	case PT_DT_FLOAT8_E4M3FN: return "F8_E4M3";
	case PT_DT_FLOAT8_E8M0FNU: return "F8_E8M0";
	case PT_DT_INT16: return "I16";
	case PT_DT_UINT16: return "U16";
	case PT_DT_FLOAT16: return "F16";
	case PT_DT_BFLOAT16: return "BF16";
	case PT_DT_INT32: return "I32";
	case PT_DT_UINT32: return "U32";
	case PT_DT_FLOAT32: return "F32";
	case PT_DT_FLOAT64: return "F64";
	case PT_DT_INT64: return "I64";
	case PT_DT_UINT64: return "U64";
	default: return NULL;
	}
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pt_st_entry *x = a, *y = b;
	int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);

	if (rx != ry)
		return ry - rx;
	return strcmp(x->name, y->name);
}

static int meta_cmp(const void *a, const void *b)
{
	const struct pt_st_meta *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

int pt_st_header_build(struct pt_st_entry *e, size_t n, const struct pt_st_meta *meta, size_t nm,
		       unsigned char **out, size_t *outlen, struct pt_error *err)
{
	struct buf b = { 0 };
	const struct pt_st_meta **ms = NULL;
	uint64_t off = 0, hl;
	size_t i;
	int k;

	*out = NULL;
	for (i = 0; i < n; i++)
		if (dtype_rank(e[i].dtype) < 0)
			return pt_error_set(err, PT_ERR_INVAL, "%s: safetensors has no dtype %s",
					    e[i].name, pt_dtype_name(e[i].dtype));
	if (n)
		qsort(e, n, sizeof(*e), entry_cmp);
	put(&b, "\0\0\0\0\0\0\0\0{", 9);
	if (nm) {
		ms = malloc(nm * sizeof(*ms));
		if (!ms)
			goto out_nomem;
		for (i = 0; i < nm; i++)
			ms[i] = &meta[i];
		qsort(ms, nm, sizeof(*ms), meta_cmp);
		puts_(&b, "\"__metadata__\":{");
		for (i = 0; i < nm; i++) {
			if (i)
				put(&b, ",", 1);
			put_str(&b, ms[i]->key);
			put(&b, ":", 1);
			put_str(&b, ms[i]->value);
		}
		put(&b, "}", 1);
	}
	for (i = 0; i < n; i++) {
		if (i || nm)
			put(&b, ",", 1);
		put_str(&b, e[i].name);
		puts_(&b, ":{\"dtype\":\"");
		puts_(&b, pt_st_dtype(e[i].dtype));
		puts_(&b, "\",\"shape\":[");
		for (k = 0; k < e[i].ndim; k++) {
			if (k)
				put(&b, ",", 1);
			put_u64(&b, (uint64_t)e[i].shape[k]);
		}
		puts_(&b, "],\"data_offsets\":[");
		e[i].begin = off;
		e[i].end = off += e[i].nbytes;
		put_u64(&b, e[i].begin);
		put(&b, ",", 1);
		put_u64(&b, e[i].end);
		puts_(&b, "]}");
	}
	put(&b, "}", 1);
	while ((b.len - 8) % 8)
		put(&b, " ", 1);
	free(ms);
	if (b.failed)
		goto out_nomem;
	hl = b.len - 8;
	for (k = 0; k < 8; k++)
		b.p[k] = (unsigned char)(hl >> (8 * k));
	*out = b.p;
	*outlen = b.len;
	return 0;

out_nomem:
	free(b.p);
	return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
}

int pt_size_parse(const char *s, uint64_t *out, struct pt_error *err)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "kb", 1e3 }, { "mb", 1e6 }, { "gb", 1e9 }, { "tb", 1e12 },
		{ "kib", 1024.0 }, { "mib", 1048576.0 }, { "gib", 1073741824.0 },
		{ "tib", 1099511627776.0 },
	};
	const char *p = s;
	char *end;
	double v;
	size_t i;

	if (!isdigit((unsigned char)*p))
		goto out_bad;
	v = strtod(p, &end);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) == 0) {
			v *= units[i].mult;
			if (v < 1 || v > 1.8e19)
				goto out_bad;
			*out = (uint64_t)v;
			return 0;
		}
	}
out_bad:
	return pt_error_set(err, PT_ERR_INVAL,
			    "'%s' is not a size (such as 5GB, 500MB, 2GiB: decimal KB/MB/GB/TB, binary KiB/MiB/GiB/TiB)",
			    s);
}
