/*
 * buf: a growable byte buffer with a hard maximum size.
 *
 * Invariants: after buf_init(), `data` is never NULL and is always
 * NUL-terminated at data[len] (the terminator is not counted in len), so it
 * can be used as a C string when the content is text. `len` never exceeds
 * `max`; appends that would pass it fail with ERR_TOOBIG and leave the buffer
 * unchanged. Every buffer fed from the network is created with a limit.
 *
 * A buf is embedded (buf_init / buf_release). Not thread-safe.
 */
#ifndef KNIT_UTIL_BUF_H
#define KNIT_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_UNLIMITED ((size_t)-1)

void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buf may be buf_init()ed again. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Takes ownership of the data (a heap string) and re-initialises b. */
char *buf_detach(struct buf *b, size_t *len);

/*
 * Makes room for `extra` more bytes without changing the content, so a
 * writer that knows its size avoids repeated growth. 0 or ERR_TOOBIG.
 */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
