/*
 * fuzz.h - helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * The container readers and pt_checkpoint_open take a path, not a buffer,
 * so each input is written to one memfd made on the first run and reopened
 * through /proc/self/fd/N: no temporary files, no disk I/O. FUZZ_CHECK
 * turns a broken library promise into a crash the fuzzer saves.
 */
#ifndef PT_FUZZ_H
#define PT_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create; include this header first */
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

/* Names the broken invariant, then aborts: a crash the fuzzer records. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "FUZZ_CHECK failed: %s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			__builtin_trap();                                                  \
		}                                                                          \
	} while (0)

/* A failed call must say why: a code and a NUL-terminated message. */
#define fuzz_check_error(err)                                                              \
	do {                                                                               \
		FUZZ_CHECK(memchr((err)->msg, '\0', sizeof((err)->msg)) != NULL);          \
		if ((err)->code == PT_OK)                                                  \
			fprintf(stderr, "failed without an error code; message: '%s'\n",   \
				(err)->msg);                                               \
		FUZZ_CHECK((err)->code != PT_OK);                                          \
	} while (0)

/*
 * Replaces the memfd's content with data[0..size) and returns its path
 * ("/proc/self/fd/N"), or NULL when the memfd cannot be made or written.
 */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	size_t done = 0;

	if (fd < 0) {
		fd = memfd_create("ptfs-fuzz", 0);
		if (fd < 0)
			return NULL;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0)
		return NULL;
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);

		if (n <= 0)
			return NULL;
		done += (size_t)n;
	}
	return path;
}

#endif
