/*
 * test_pages.c - pages.h: zeroed buffers, kept contents and zeroed growth
 * across the calloc / mapping threshold, 2 MiB alignment of mapped ones
 * (not under ASan, where every buffer comes from calloc).
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "pages.h"

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed) | 1; /* never 0 */
}

static int filled(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ((unsigned char)(i * 31 + seed) | 1))
			return 0;
	return 1;
}

static int mapped_aligned(const void *p)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)p;
	return 1;
#else
	return (uintptr_t)p % PT_PAGES_HUGE == 0;
#endif
}

static void test_alloc(void)
{
	const size_t sizes[] = {0, 1, 100, PT_PAGES_MIN - 1, PT_PAGES_MIN, 3u << 20};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i] ? sizes[i] : 1;
		unsigned char *p = pt_pages_alloc(sizes[i]);

		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK(all_zero(p, n));
		CHECK((uintptr_t)p % 16 == 0);
		if (sizes[i] >= PT_PAGES_MIN)
			CHECK(mapped_aligned(p));
		fill(p, n, (unsigned)i);
		CHECK(filled(p, n, (unsigned)i));
		pt_pages_free(p, sizes[i]);
	}
	pt_pages_free(NULL, 0);
	pt_pages_free(NULL, 5u << 20);
}

/* Each step resizes the buffer, then checks the kept bytes and the zeroed rest. */
static void test_realloc(void)
{
	const size_t steps[] = {
	    10,		       /* from NULL */
	    1000,	       /* small to small */
	    PT_PAGES_MIN + 5,  /* small to mapped */
	    (3u << 20),	       /* mapped, 4 MiB of pages: moves */
	    (3u << 20) + 4096, /* the same 4 MiB: stays */
	    (2u << 20) + 1,    /* shrinks within those 4 MiB */
	    (3u << 20) + 4096, /* grows back: the cut bytes must read 0 */
	    (9u << 20),	       /* moves */
	    PT_PAGES_MIN - 1,  /* mapped to small */
	    64,		       /* small shrink */
	    0,		       /* to nothing (one byte) */
	};
	unsigned char *p = NULL;
	size_t have = 0, kept;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t n = steps[i] ? steps[i] : 1;
		unsigned char *q = pt_pages_realloc(p, have, steps[i]);

		CHECK(q != NULL);
		if (!q)
			break;
		kept = have < n ? have : n;
		CHECK(filled(q, kept, 7));
		CHECK(all_zero(q + kept, n - kept));
		if (steps[i] >= PT_PAGES_MIN)
			CHECK(mapped_aligned(q));
#if !defined(__SANITIZE_ADDRESS__)
		if (i == 4)
			CHECK(q == p); /* same number of 2 MiB pages: no copy */
#endif
		fill(q, n, 7);
		p = q;
		have = steps[i];
	}
	pt_pages_free(p, have);
}

int main(void)
{
	test_alloc();
	test_realloc();
	return check_report("test_pages");
}
