/*
 * rfc3339: Kubernetes timestamps ("2026-11-27T13:00:00Z", metav1.Time and
 * MicroTime) to and from Unix seconds (see rfc3339.h).
 */
#include "util/rfc3339.h"

#include <stdbool.h>
#include <time.h>

#include "util/err.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (long long)doe - 719468;
}

static bool read_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int rfc3339_parse(const char *s, double *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	double frac = 0, scale = 0.1;

	if (!s || !read_digits(&s, 4, &y) || !expect(&s, '-') ||
	    !read_digits(&s, 2, &mo) || !expect(&s, '-') ||
	    !read_digits(&s, 2, &d) || !expect(&s, 'T') ||
	    !read_digits(&s, 2, &h) || !expect(&s, ':') ||
	    !read_digits(&s, 2, &mi) || !expect(&s, ':') ||
	    !read_digits(&s, 2, &sec))
		return ERR_PARSE;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!read_digits(&s, 2, &oh) || !expect(&s, ':') ||
		    !read_digits(&s, 2, &om))
			return ERR_PARSE;
	} else if (!expect(&s, 'Z')) {
		return ERR_PARSE;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return ERR_PARSE;
	*out = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	       h * 3600 + mi * 60 + sec + frac - sign * (oh * 3600 + om * 60);
	return 0;
}

void rfc3339_format(double t, char *out, size_t len)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if ((double)secs > t)
		secs--; /* floor for times before 1970 */
	if (!gmtime_r(&secs, &tm) ||
	    !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		if (len)
			out[0] = '\0';
	}
}

double rfc3339_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
