/*
 * text.h - growing a malloc'd text: the control file's lines are made by
 * several modules (rules, residency, the daemon) appending to one buffer.
 */
#ifndef PT_TEXT_H
#define PT_TEXT_H

#include <stddef.h>

/*
 * Appends the printf-formatted text to the malloc'd *buf of *len bytes
 * (*buf may be NULL when *len is 0), keeping it NUL-terminated; updates
 * both. Returns 0, or -1 on ENOMEM with *buf and *len unchanged.
 */
int pt_text_appendf(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
