/*
 * err: Knit's single error convention.
 *
 * Every fallible function returns int: 0 on success or one of the negative
 * codes below. Codes map one to one onto the failures a Kubernetes client
 * must tell apart (not found, conflict, expired, ...) plus a few local ones.
 * err_name() gives the symbolic name ("ERR_CONFLICT"), err_str() a short
 * human sentence. Both return static strings and are thread-safe.
 *
 * Detail (which field, which object) never lives in the code itself: callers
 * pass an optional error buffer or log it.
 */
#ifndef KNIT_UTIL_ERR_H
#define KNIT_UTIL_ERR_H

#include <stddef.h>

#define ERR_TABLE(X)                                           \
	X(ERR_INVAL, -1, "invalid argument or input")          \
	X(ERR_NOTFOUND, -2, "not found")                       \
	X(ERR_CONFLICT, -3, "conflict with the current state") \
	X(ERR_EXISTS, -4, "already exists")                    \
	X(ERR_GONE, -5, "resource version expired")            \
	X(ERR_TOOMANY, -6, "too many requests")                \
	X(ERR_UNAUTHORIZED, -7, "unauthorized")                \
	X(ERR_FORBIDDEN, -8, "forbidden")                      \
	X(ERR_TIMEOUT, -9, "timed out")                        \
	X(ERR_TRANSPORT, -10, "transport failure")             \
	X(ERR_PARSE, -11, "malformed input")                   \
	X(ERR_TOOBIG, -12, "size limit exceeded")              \
	X(ERR_IO, -13, "input/output error")                   \
	X(ERR_UNSUPPORTED, -14, "unsupported")                 \
	X(ERR_INTERNAL, -15, "internal error")                 \
	X(ERR_BADREQUEST, -16, "bad request")

enum err_code {
#define ERR_ENUM(name, value, text) name = value,
	ERR_TABLE(ERR_ENUM)
#undef ERR_ENUM
};

/* Symbolic name of `code`, e.g. "ERR_NOTFOUND"; "OK" for 0. */
const char *err_name(int code);

/* Short English description of `code`. */
const char *err_str(int code);

/*
 * Formats a message into `errbuf` (when non-NULL and errlen > 0) and returns
 * `code`, so a failure can be reported in one line:
 *     return err_set(errbuf, errlen, ERR_INVAL, "bad selector %s", s);
 */
int err_set(char *errbuf, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
