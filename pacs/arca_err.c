/* arca_err.c - per-thread last error message (see arca_err.h). */
#include "arca_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARCA_ERR_MSG_MAX 512

struct arca_err_state {
	int code;
	char msg[ARCA_ERR_MSG_MAX];
};

static _Thread_local struct arca_err_state err_state;

int arca_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_state.msg, sizeof(err_state.msg), fmt, ap);
	va_end(ap);
	err_state.code = code;
	return code;
}

int arca_error_prefix(int code, const char *fmt, ...)
{
	char prefix[ARCA_ERR_MSG_MAX];
	char old[ARCA_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_state.msg, sizeof(old));
	if (old[0] != '\0')
		snprintf(err_state.msg, sizeof(err_state.msg), "%s: %s", prefix, old);
	else
		snprintf(err_state.msg, sizeof(err_state.msg), "%s: %s", prefix,
			 arca_strerror(code));
	err_state.code = code;
	return code;
}

const char *arca_error_last(void)
{
	return err_state.msg;
}

int arca_error_last_code(void)
{
	return err_state.code;
}

void arca_error_clear(void)
{
	err_state.code = 0;
	err_state.msg[0] = '\0';
}

const char *arca_strerror(int code)
{
	switch (code) {
	case ARCA_OK: return "success";
	case ARCA_ENOMEM: return "out of memory";
	case ARCA_EINVAL: return "invalid argument";
	case ARCA_ENOTFOUND: return "not found";
	case ARCA_EPROTO: return "malformed input";
	case ARCA_ELIMIT: return "limit exceeded";
	case ARCA_EIO: return "I/O error";
	case ARCA_EUNSUPPORTED: return "not supported";
	case ARCA_EAGAIN: return "more input needed";
	case ARCA_EEXISTS: return "already exists";
	case ARCA_ECRYPTO: return "cryptographic check failed";
	case ARCA_EDB: return "database error";
	case ARCA_ECANCELLED: return "cancelled";
	case ARCA_ECHARSET: return "character set conversion failed";
	case ARCA_ETRUNCATED: return "truncated input";
	default: return "error";
	}
}
