/*
 * log: structured, one-line log records on stderr.
 *
 * Each record is "ts=<RFC3339> level=<lvl> msg=\"...\" key=value ...", or the
 * same fields as one JSON object per line (log_set_format_name). Callers
 * pass the key=value tail as a printf format. The level check happens before
 * any formatting, so disabled debug lines cost one comparison. Never log
 * secrets or tokens. Thread-safe: each record is written with one fputs().
 */
#ifndef KNIT_UTIL_LOG_H
#define KNIT_UTIL_LOG_H

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARN = 2,
	LOG_ERROR = 3
};

extern enum log_level log_threshold;

/* Parses "debug", "info", "warn" or "error"; returns 0 or ERR_INVAL. */
int log_set_level_name(const char *name);

/* Record format: "text" (the default, logfmt as above) or "json" (one
 * object per line: {"ts":..,"level":..,"msg":..,"key":"value",...}, every
 * value a string). Returns 0 or ERR_INVAL. Set it before threads log. */
int log_set_format_name(const char *name);

void log_record(enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG(level, msg, ...)                                 \
	do {                                                 \
		if ((level) >= log_threshold)                \
			log_record(level, msg, __VA_ARGS__); \
	} while (0)
#define LOG_DEBUGF(msg, ...) LOG(LOG_DEBUG, msg, __VA_ARGS__)
#define LOG_INFOF(msg, ...)  LOG(LOG_INFO, msg, __VA_ARGS__)
#define LOG_WARNF(msg, ...)  LOG(LOG_WARN, msg, __VA_ARGS__)
#define LOG_ERRORF(msg, ...) LOG(LOG_ERROR, msg, __VA_ARGS__)

#endif
