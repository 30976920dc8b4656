/*
 * error.h - the one error type of the ptfs library.
 *
 * Every fallible library call returns 0 on success and -1 on failure, and
 * fills a caller-owned struct pt_error with a code from enum pt_err and a
 * one-line message naming the problem ("data.pkl: BINUNICODE length 4294967295
 * exceeds the 3 bytes left"). Only fs/ maps codes to errno. The message is
 * what users see on stderr and in .ptfs/control, so it says what is wrong in
 * the file, not where in our code it was noticed.
 */
#ifndef PT_ERROR_H
#define PT_ERROR_H

#include <stdarg.h>

enum pt_err {
	PT_OK = 0,
	PT_ERR_NOMEM,       /* an allocation failed */
	PT_ERR_IO,          /* reading or writing a file failed (sys_errno set) */
	PT_ERR_FORMAT,      /* container malformed or not a checkpoint */
	PT_ERR_PICKLE,      /* malformed pickle */
	PT_ERR_LIMIT,       /* a hard limit (depth, memo, size) was hit */
	PT_ERR_UNSUPPORTED, /* well-formed, but ptfs does not handle it */
	PT_ERR_NOTFOUND,    /* a record, key or name does not exist */
	PT_ERR_INVAL,       /* a bad argument or command */
	PT_ERR_RANGE,       /* a bound check failed (tensor past its storage) */
	PT_ERR_BUSY,        /* long work already running */
	PT_ERR_STALE,       /* the checkpoint changed on disk since mount */
	PT_ERR_NODEV,       /* no GPU driver, or no such device */
};

#define PT_ERROR_MSG_MAX 512

struct pt_error {
	enum pt_err code;
	int sys_errno; /* errno of the failing system call, 0 if none */
	char msg[PT_ERROR_MSG_MAX];
};

/* Resets err to PT_OK with an empty message. err may be NULL. */
void pt_error_clear(struct pt_error *err);

/*
 * Fills err (may be NULL) with code and a printf-style message; returns -1 so
 * callers can write `return pt_error_set(err, PT_ERR_PICKLE, "...")`.
 * A message already set is replaced.
 */
int pt_error_set(struct pt_error *err, enum pt_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like pt_error_set, and records errno (read before any other call). */
int pt_error_sys(struct pt_error *err, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Puts "prefix: " in front of the message already in err, keeping its code.
 * Used to add context ("model.pt: data.pkl: ...") on the way up.
 */
void pt_error_prefix(struct pt_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A short constant name for a code ("malformed pickle"). Never NULL. */
const char *pt_error_name(enum pt_err code);

#endif
