/*
 * pages.h - big zeroed buffers mapped from the kernel in huge pages.
 *
 * A fresh process pays a page fault for each 4 KiB it first touches, about
 * 3 us each on the machines we measure: before this module the 3,600
 * faults of opening a 20,000-tensor checkpoint (the zip directory, the
 * pickle, the memo, the record and node tables) were a quarter of a mount.
 * A buffer of PT_PAGES_MIN bytes or more is an anonymous mapping on a
 * 2 MiB boundary, in whole 2 MiB units, marked MADV_HUGEPAGE: one fault per
 * 2 MiB where the kernel has transparent huge pages ("madvise" or
 * "always"), the usual 4 KiB faults where not, and the pages of a part
 * never touched are never backed. Smaller buffers come from calloc, and
 * so do all under AddressSanitizer, which checks heap bounds only.
 *
 * The caller keeps the size it asked for: it selects the kind of free.
 */
#ifndef PT_PAGES_H
#define PT_PAGES_H

#include <stddef.h>

#define PT_PAGES_MIN  ((size_t)256 << 10)
#define PT_PAGES_HUGE ((size_t)2 << 20)

/*
 * Returns n zeroed bytes (n 0 counts as 1), aligned for any type and, when
 * mapped, on a 2 MiB boundary; NULL when out of memory. Free with
 * pt_pages_free(p, n).
 */
void *pt_pages_alloc(size_t n);

/*
 * Resizes p, which holds old bytes from pt_pages_alloc or this function
 * (or is NULL with old 0), to n bytes: the first min(old, n) are kept and
 * any bytes past old are zero. Returns the buffer, which may have moved;
 * NULL when out of memory, and then p is untouched and still holds old.
 */
void *pt_pages_realloc(void *p, size_t old, size_t n);

/* Frees p, which holds n bytes as above; NULL is ignored. */
void pt_pages_free(void *p, size_t n);

#endif
