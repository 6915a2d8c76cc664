/*
 * err: names and descriptions for Knit's error codes, generated from the one
 * table in err.h so the three can never drift apart.
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *err_name(int code)
{
	switch (code) {
	case 0:
		return "OK";
#define ERR_NAME(name, value, text) \
	case value:                 \
		return #name;
		ERR_TABLE(ERR_NAME)
#undef ERR_NAME
	default:
		return "ERR_UNKNOWN";
	}
}

const char *err_str(int code)
{
	switch (code) {
	case 0:
		return "success";
#define ERR_TEXT(name, value, text) \
	case value:                 \
		return text;
		ERR_TABLE(ERR_TEXT)
#undef ERR_TEXT
	default:
		return "unknown error";
	}
}

int err_set(char *errbuf, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
