/*
 * fakecuda.h - where the unit tests find the CUDA driver's TEST DOUBLE
 * (tests/cuda/fake_libcuda.c, built as build/cuda/libcuda.so.1), which they
 * load by path: beside build/test_X, or above build/asan/test_X.
 */
#ifndef PT_FAKECUDA_H
#define PT_FAKECUDA_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void fakecuda_path(char *lib, size_t cap)
{
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	snprintf(lib, cap, "build/cuda/libcuda.so.1");
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	if (strlen(exe) >= 5 && strcmp(exe + strlen(exe) - 5, "/asan") == 0)
		exe[strlen(exe) - 5] = '\0';
	snprintf(lib, cap, "%s/cuda/libcuda.so.1", exe);
}

#endif
