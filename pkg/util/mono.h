/*
 * mono: the monotonic clock, for timeouts, deadlines and backoff.
 *
 * Wall-clock time jumps (NTP, manual changes); every delay in Knit is
 * measured on CLOCK_MONOTONIC instead. mono_cond_init() makes a condition
 * variable whose timed waits take deadlines from mono_deadline_ms(), so a
 * clock step never shortens or stretches a wait. All functions are
 * thread-safe and allocate nothing.
 */
#ifndef KNIT_UTIL_MONO_H
#define KNIT_UTIL_MONO_H

#include <pthread.h>
#include <time.h>

/* Seconds since an arbitrary start, with nanosecond resolution. */
double mono_now(void);

/* Milliseconds since the same start. */
long mono_now_ms(void);

/* The absolute monotonic time `ms` milliseconds from now, for
 * pthread_cond_timedwait() on a condvar made by mono_cond_init(). */
struct timespec mono_deadline_ms(long ms);

/* Initialises `c` to time its waits on CLOCK_MONOTONIC. */
void mono_cond_init(pthread_cond_t *c);

#endif
