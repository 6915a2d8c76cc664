/*
 * rfc3339: the timestamps of the Kubernetes API - metav1.Time
 * ("2026-11-27T13:00:00Z") and MicroTime (with a fraction) - read into and
 * written from Unix time in seconds, and the wall clock in those units.
 * Thread-safe.
 */
#ifndef KNIT_UTIL_RFC3339_H
#define KNIT_UTIL_RFC3339_H

#include <stddef.h>

/*
 * Parses an RFC 3339 time: date, 'T', time, an optional fraction, and 'Z'
 * or a "+hh:mm"/"-hh:mm" offset. Returns 0 with *out set to Unix seconds
 * (with the fraction), or ERR_PARSE (also for NULL) leaving *out alone.
 */
int rfc3339_parse(const char *s, double *out);

/*
 * Writes t (Unix seconds, floored) as "YYYY-MM-DDTHH:MM:SSZ" into out;
 * 21 bytes are enough. An empty string when it does not fit.
 */
void rfc3339_format(double t, char *out, size_t len);

/* The wall clock now, in the same Unix seconds (with the fraction). */
double rfc3339_now(void);

#endif
