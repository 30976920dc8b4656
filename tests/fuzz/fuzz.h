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

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

/* Aborts (a crash the fuzzer records) when a library invariant breaks. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond))                                                               \
			__builtin_trap();                                                  \
	} while (0)

/* A failed call must say why: a code and a NUL-terminated message. */
static inline void fuzz_check_error(const struct pt_error *err)
{
	FUZZ_CHECK(err->code != PT_OK);
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
}

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
