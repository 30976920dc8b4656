/*
 * error.c - filling struct pt_error. Messages are truncated to
 * PT_ERROR_MSG_MAX; that is fine for one-line diagnostics.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

void pt_error_clear(struct pt_error *err)
{
	if (!err)
		return;
	err->code = PT_OK;
	err->sys_errno = 0;
	err->msg[0] = '\0';
}

static void error_vset(struct pt_error *err, enum pt_err code, int sys_errno,
		       const char *fmt, va_list ap)
{
	err->code = code;
	err->sys_errno = sys_errno;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int pt_error_set(struct pt_error *err, enum pt_err code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	error_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int pt_error_sys(struct pt_error *err, int sys_errno, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err)
		return -1;
	va_start(ap, fmt);
	error_vset(err, PT_ERR_IO, sys_errno, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (sys_errno && len + 3 < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
			 strerror(sys_errno));
	return -1;
}

void pt_error_prefix(struct pt_error *err, const char *fmt, ...)
{
	char head[PT_ERROR_MSG_MAX], old[PT_ERROR_MSG_MAX];
	size_t len, olen;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* both parts are bounded; truncating a long message is fine */
	len = strlen(head);
	memcpy(err->msg, head, len);
	if (len + 2 < sizeof(err->msg)) {
		memcpy(err->msg + len, ": ", 2);
		len += 2;
	}
	olen = strlen(old);
	if (olen > sizeof(err->msg) - 1 - len)
		olen = sizeof(err->msg) - 1 - len;
	memcpy(err->msg + len, old, olen);
	err->msg[len + olen] = '\0';
}

const char *pt_error_name(enum pt_err code)
{
	switch (code) {
	case PT_OK: return "success";
	case PT_ERR_NOMEM: return "out of memory";
	case PT_ERR_IO: return "I/O error";
	case PT_ERR_FORMAT: return "malformed container";
	case PT_ERR_PICKLE: return "malformed pickle";
	case PT_ERR_LIMIT: return "limit exceeded";
	case PT_ERR_UNSUPPORTED: return "unsupported";
	case PT_ERR_NOTFOUND: return "not found";
	case PT_ERR_INVAL: return "invalid argument";
	case PT_ERR_RANGE: return "out of range";
	case PT_ERR_BUSY: return "busy";
	case PT_ERR_STALE: return "checkpoint changed on disk";
	case PT_ERR_NODEV: return "no such device";
	}
	return "unknown error";
}
