/* arca_err.h - the one error convention of arca.
 *
 * Every fallible function returns int: 0 on success or a negative ARCA_E*
 * code.  Where the error is found, the code sets a one-line message with
 * arca_error_set(); callers read it with arca_error_last().  Library code
 * never prints.  The message buffer is per thread (like errno and
 * libgit2's git_error_last()); it is the only state arca keeps outside the
 * objects passed to it. */
#ifndef ARCA_ERR_H
#define ARCA_ERR_H

#include <stddef.h>

enum arca_err {
	ARCA_OK = 0,
	ARCA_EGENERIC = -1,     /* a failure without a better code */
	ARCA_ENOMEM = -2,       /* allocation failed */
	ARCA_EINVAL = -3,       /* bad argument or usage */
	ARCA_ENOTFOUND = -4,    /* the thing asked for does not exist */
	ARCA_EPROTO = -5,       /* malformed input: a DICOM, PDU or file format violation */
	ARCA_ELIMIT = -6,       /* input exceeds a configured limit */
	ARCA_EIO = -7,          /* operating system I/O error */
	ARCA_EUNSUPPORTED = -8, /* valid but not supported (e.g. a transfer syntax) */
	ARCA_EAGAIN = -9,       /* more input is needed */
	ARCA_EEXISTS = -10,     /* already exists */
	ARCA_ECRYPTO = -11,     /* signature, hash or cipher failure */
	ARCA_EDB = -12,         /* index database failure */
	ARCA_ECANCELLED = -13,  /* stopped on request */
	ARCA_ECHARSET = -14,    /* character set conversion failure */
	ARCA_ETRUNCATED = -15   /* input ended before a complete object */
};

/* Sets the calling thread's last error message (printf format) and returns
 * code, so that `return arca_error_set(ARCA_EPROTO, "...")` reads well. */
int arca_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "prefix: " (e.g. a file name), returns code. */
int arca_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Borrowed: the calling thread's last message, "" if none. */
const char *arca_error_last(void);

/* Code of the last arca_error_set() on this thread, 0 if none. */
int arca_error_last_code(void);

void arca_error_clear(void);

/* Borrowed, static: a short name for the code ("malformed input", ...). */
const char *arca_strerror(int code);

#endif
