/*
 * text.c - growing a malloc'd text (see text.h).
 */
#define _GNU_SOURCE
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pt_text_appendf(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *s, *nb;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	nb = realloc(*buf, *len + (size_t)n + 1);
	if (!nb) {
		free(s);
		return -1;
	}
	memcpy(nb + *len, s, (size_t)n + 1);
	*buf = nb;
	*len += (size_t)n;
	free(s);
	return 0;
}
