/*
 * log: formats one record into a local buffer and writes it in one call, so
 * records from different threads never interleave mid-line.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

enum log_level log_threshold = LOG_INFO;
static bool log_json;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			log_threshold = (enum log_level)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

int log_set_format_name(const char *name)
{
	if (strcmp(name, "text") == 0 || strcmp(name, "json") == 0) {
		log_json = name[0] == 'j';
		return 0;
	}
	return ERR_INVAL;
}

/* Appends `s` (up to `len` bytes, or to its NUL when len < 0) as a JSON
 * string body; drops what does not fit in out[..cap - 1]. Returns the new
 * length. Inside a quoted logfmt value (len >= 0), a backslash before a
 * quote or a backslash escapes it. */
static size_t json_chars(char *out, size_t n, size_t cap, const char *s,
			 long len)
{
	for (long i = 0; (len < 0 ? s[i] != '\0' : i < len) && n + 7 < cap;
	     i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\' && len >= 0 && i + 1 < len &&
		    (s[i + 1] == '"' || s[i + 1] == '\\'))
			ch = (unsigned char)s[++i];
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	return n;
}

static size_t json_field(char *out, size_t n, size_t cap, const char *key,
			 long klen, const char *val, long vlen)
{
	if (n + 8 >= cap)
		return n;
	out[n++] = ',';
	out[n++] = '"';
	n = json_chars(out, n, cap, key, klen);
	if (n + 4 >= cap)
		return n;
	out[n++] = '"';
	out[n++] = ':';
	out[n++] = '"';
	n = json_chars(out, n, cap, val, vlen);
	if (n + 2 < cap)
		out[n++] = '"';
	return n;
}

/* Turns the logfmt tail `kv` (key=value or key="quoted value" pairs) into
 * JSON members appended to out. */
static size_t json_pairs(char *out, size_t n, size_t cap, const char *kv)
{
	const char *p = kv;

	while (*p) {
		const char *k, *v;
		long kl, vl;

		while (*p == ' ')
			p++;
		k = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		kl = p - k;
		if (*p != '=') {
			if (kl)
				n = json_field(out, n, cap, k, kl, "", 0);
			continue;
		}
		p++;
		if (*p == '"') {
			v = ++p;
			while (*p && *p != '"')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			vl = p - v;
			if (*p)
				p++;
		} else {
			v = p;
			while (*p && *p != ' ')
				p++;
			vl = p - v;
		}
		n = json_field(out, n, cap, k, kl, v, vl);
	}
	return n;
}

static void write_json(const char *ts, long ms, enum log_level level,
		       const char *msg, const char *kv)
{
	char line[4096];
	size_t n;

	n = (size_t)snprintf(
		line, sizeof(line),
		"{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"", ts, ms,
		level_names[level & 3]);
	n = json_chars(line, n, sizeof(line), msg, -1);
	line[n++] = '"';
	n = json_pairs(line, n, sizeof(line), kv);
	line[n++] = '}';
	line[n++] = '\n';
	line[n] = '\0';
	fputs(line, stderr);
}

void log_record(enum log_level level, const char *msg, const char *fmt, ...)
{
	char line[2048];
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log_json) {
		line[0] = '\0';
		if (fmt && *fmt) {
			va_start(ap, fmt);
			vsnprintf(line, sizeof(line), fmt, ap);
			va_end(ap);
		}
		write_json(ts, now.tv_nsec / 1000000, level, msg, line);
		return;
	}
	n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s msg=\"%s\"", ts,
		     now.tv_nsec / 1000000, level_names[level & 3], msg);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 3;
	if (fmt && *fmt) {
		line[n++] = ' ';
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt,
				  ap);
		va_end(ap);
		if (m > 0)
			n += m;
		if ((size_t)n > sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	line[n] = '\0';
	fputs(line, stderr);
}
