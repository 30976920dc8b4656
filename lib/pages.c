/*
 * pages.c - big zeroed buffers mapped from the kernel in huge pages.
 *
 * Transparent huge pages need the range to cover an aligned 2 MiB: mmap
 * gives 4 KiB alignment, so a mapping 2 MiB longer than needed is trimmed
 * at both ends. MAP_NORESERVE because a buffer may be reserved for the
 * most it could need (the pickle memo) and touched only in part.
 */
#include "pages.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define PAGES_MAPPED(n) ((void)(n), 0)
#else
#define PAGES_MAPPED(n) ((n) >= PT_PAGES_MIN)
#endif

static size_t mapped_len(size_t n)
{
	return (n + PT_PAGES_HUGE - 1) & ~(PT_PAGES_HUGE - 1);
}

void *pt_pages_alloc(size_t n)
{
	unsigned char *p, *q;
	size_t len, head;

	if (!n)
		n = 1;
	if (!PAGES_MAPPED(n))
		return calloc(1, n);
	if (n > SIZE_MAX - 2 * PT_PAGES_HUGE)
		return NULL;
	len = mapped_len(n);
	p = mmap(NULL, len + PT_PAGES_HUGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	q = (unsigned char *)(((uintptr_t)p + PT_PAGES_HUGE - 1) & ~(uintptr_t)(PT_PAGES_HUGE - 1));
	head = (size_t)(q - p);
	if (head)
		munmap(p, head);
	munmap(q + len, PT_PAGES_HUGE - head);
	madvise(q, len, MADV_HUGEPAGE); /* advice: a kernel without THP may refuse */
	return q;
}

void *pt_pages_realloc(void *p, size_t old, size_t n)
{
	void *np;

	if (!p)
		return pt_pages_alloc(n);
	if (!old)
		old = 1;
	if (!n)
		n = 1;
	if (!PAGES_MAPPED(old) && !PAGES_MAPPED(n)) {
		np = realloc(p, n);
		if (np && n > old)
			memset((unsigned char *)np + old, 0, n - old);
		return np;
	}
	if (PAGES_MAPPED(old) && PAGES_MAPPED(n) && mapped_len(old) == mapped_len(n)) {
		if (n < old) /* bytes a later growth must find zeroed */
			memset((unsigned char *)p + n, 0, old - n);
		return p;
	}
	np = pt_pages_alloc(n);
	if (!np)
		return NULL;
	memcpy(np, p, old < n ? old : n);
	pt_pages_free(p, old);
	return np;
}

void pt_pages_free(void *p, size_t n)
{
	if (!p)
		return;
	if (!n)
		n = 1;
	if (PAGES_MAPPED(n))
		munmap(p, mapped_len(n));
	else
		free(p);
}
