/*
 * alloc: allocation wrappers that never return NULL.
 *
 * Running out of memory is not a condition Knit tries to survive: the
 * wrappers print one line and abort, so callers never check for NULL.
 * All are thread-safe. Free the results with free().
 */
#ifndef KNIT_UTIL_ALLOC_H
#define KNIT_UTIL_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and always NUL-terminates. */
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
