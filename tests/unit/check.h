/*
 * check.h - the unit tests' tiny harness. Each failed check prints the file,
 * line and both values; the program ends with one line
 * "<name>: N passed, M failed" and exits 1 when M > 0. tests/run.sh adds
 * those lines up.
 */
#ifndef PT_CHECK_H
#define PT_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond) {                                                  \
			check_passed++;                                      \
		} else {                                                     \
			check_failed++;                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                            \
		}                                                            \
	} while (0)

#define CHECK_INT(a, b)                                                      \
	do {                                                                 \
		long long check_a = (long long)(a), check_b = (long long)(b); \
		if (check_a == check_b) {                                    \
			check_passed++;                                      \
		} else {                                                     \
			check_failed++;                                      \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, check_a, check_b);   \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *check_a = (a), *check_b = (b);                   \
		if (check_a && check_b && strcmp(check_a, check_b) == 0) {   \
			check_passed++;                                      \
		} else {                                                     \
			check_failed++;                                      \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a,                      \
				check_a ? check_a : "(null)",                \
				check_b ? check_b : "(null)");               \
		}                                                            \
	} while (0)

static inline int check_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
