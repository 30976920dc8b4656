/*
 * test_arena.c - the arena (value.h): zeroed, aligned, disjoint memory; the
 * limit held to the byte by the in-line path, also after a block of its
 * own; values made in one allocation with their bytes or items.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "value.h"

#if defined(__SANITIZE_ADDRESS__)
#define REDZONE PT_ARENA_ALIGN /* value.c keeps one after each allocation */
#else
#define REDZONE 0
#endif

static size_t cost(size_t n)
{
	return ((n ? n : 1) + PT_ARENA_ALIGN - 1) / PT_ARENA_ALIGN * PT_ARENA_ALIGN + REDZONE;
}

/* Small allocations across several blocks: zeroed, aligned, none overlapping. */
static void test_blocks(void)
{
	struct pt_arena a;
	struct pt_error err;
	unsigned char *p[4000];
	int ok = 1;

	pt_arena_init(&a, 0);
	for (size_t i = 0; i < 4000; i++) {
		size_t n = i % 97 + 1;

		p[i] = pt_arena_alloc(&a, n, &err);
		if (!p[i] || (uintptr_t)p[i] % PT_ARENA_ALIGN != 0) {
			ok = 0;
			break;
		}
		for (size_t j = 0; j < n; j++)
			if (p[i][j] != 0)
				ok = 0;
		memset(p[i], (int)(i % 251) + 1, n);
	}
	for (size_t i = 0; ok && i < 4000; i++)
		for (size_t j = 0; j < i % 97 + 1; j++)
			if (p[i][j] != (unsigned char)(i % 251 + 1))
				ok = 0;
	CHECK(ok);
	pt_arena_release(&a);
	/* reusable after release */
	pt_arena_init(&a, 0);
	CHECK(pt_arena_alloc(&a, 0, &err) != NULL);
	CHECK(pt_arena_alloc(&a, 100000, &err) != NULL); /* a block of its own */
	pt_arena_release(&a);
}

/* Allocates n-byte pieces until the arena refuses; returns how many it gave. */
static size_t fill_to_limit(struct pt_arena *a, size_t n, struct pt_error *err)
{
	size_t k = 0;

	pt_error_clear(err);
	while (pt_arena_alloc(a, n, err))
		k++;
	return k;
}

static void test_limit(void)
{
	struct pt_arena a;
	struct pt_error err;

	pt_arena_init(&a, 1000);
	CHECK_INT(fill_to_limit(&a, 16, &err), 1000 / cost(16));
	CHECK_INT(err.code, PT_ERR_LIMIT);
	CHECK_STR(err.msg, "memory limit of 1000 bytes reached");
	pt_arena_release(&a);

	/* the limit spans blocks: 200,000 bytes is four 64 KiB blocks */
	pt_arena_init(&a, 200000);
	CHECK_INT(fill_to_limit(&a, 40, &err), 200000 / cost(40));
	CHECK_INT(err.code, PT_ERR_LIMIT);
	pt_arena_release(&a);

	/* a block of its own counts too, also against the head block's free bytes */
	pt_arena_init(&a, 100000);
	CHECK(pt_arena_alloc(&a, 16, &err) != NULL);
	CHECK(pt_arena_alloc(&a, 30000, &err) != NULL);
	CHECK_INT(fill_to_limit(&a, 16, &err), (100000 - cost(16) - cost(30000)) / cost(16));
	CHECK_INT(err.code, PT_ERR_LIMIT);
	pt_arena_release(&a);

	pt_arena_init(&a, 0);
	CHECK(pt_arena_alloc(&a, SIZE_MAX, &err) == NULL);
	CHECK_INT(err.code, PT_ERR_NOMEM);
	pt_arena_release(&a);
}

static void test_values(void)
{
	struct pt_arena a;
	struct pt_error err;
	struct pt_value *s, *b, *t, *items[3], *after;

	pt_arena_init(&a, 0);
	s = pt_value_str(&a, "layer1.weight", 13, &err);
	CHECK(s && s->kind == PT_V_STR && s->u.s.len == 13);
	CHECK_STR(s ? s->u.s.p : NULL, "layer1.weight");
	b = pt_value_bytes(&a, PT_V_BYTES, "a\0b", 3, &err);
	CHECK(b && b->kind == PT_V_BYTES && b->u.s.len == 3 && memcmp(b->u.s.p, "a\0b", 4) == 0);
	CHECK(pt_value_bytes(&a, PT_V_STR, "", 0, &err) != NULL);
	for (int i = 0; i < 3; i++)
		items[i] = pt_value_int(&a, i + 7, &err);
	t = pt_value_seq(&a, PT_V_LIST, items, 3, &err);
	after = pt_value_int(&a, 99, &err);
	CHECK(t && t->kind == PT_V_LIST && t->u.seq.n == 3 && t->u.seq.cap == 3);
	CHECK(t && t->u.seq.v[0] == items[0] && t->u.seq.v[2] == items[2]);
	/* growing moves the items out; the value made next to them is untouched */
	CHECK_INT(pt_vseq_push(&a, &t->u.seq, after, &err), 0);
	CHECK(t && t->u.seq.n == 4 && t->u.seq.v[3] == after && t->u.seq.v[1] == items[1]);
	CHECK(after && after->kind == PT_V_INT && after->u.i == 99);
	t = pt_value_seq(&a, PT_V_TUPLE, NULL, 0, &err);
	CHECK(t && t->kind == PT_V_TUPLE && t->u.seq.n == 0);
	pt_arena_release(&a);
}

int main(void)
{
	test_blocks();
	test_limit();
	test_values();
	return check_report("test_arena");
}
