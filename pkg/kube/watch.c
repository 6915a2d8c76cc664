/*
 * watch: splits a Kubernetes watch stream into events (see watch.h).
 *
 * A small scanner walks the bytes once, tracking only whether it is inside
 * a string, after a backslash, and how deep in braces and brackets it is;
 * an event ends where the depth returns to zero. That is enough to find
 * the end of a top-level JSON value without parsing it, whatever the line
 * breaks, and it carries over from one chunk to the next. Only then is the
 * event handed to jansson: straight from the chunk when it lies wholly
 * inside one, otherwise from the pending buffer that collected its pieces.
 */
#include "kube/watch.h"

#include <stdbool.h>
#include <string.h>

#include "util/err.h"

/* A pending buffer grown past this is freed after its event. */
#define PENDING_KEEP (64 * 1024)

static const char *const type_names[] = {
	[WATCH_ADDED] = "ADDED",     [WATCH_MODIFIED] = "MODIFIED",
	[WATCH_DELETED] = "DELETED", [WATCH_BOOKMARK] = "BOOKMARK",
	[WATCH_ERROR] = "ERROR",
};

const char *watch_type_name(enum watch_type t)
{
	if ((unsigned)t < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[t];
	return "UNKNOWN";
}

static int type_parse(const char *s, enum watch_type *t)
{
	for (size_t i = 0; s && i < sizeof(type_names) / sizeof(type_names[0]);
	     i++) {
		if (strcmp(s, type_names[i]) == 0) {
			*t = (enum watch_type)i;
			return 0;
		}
	}
	return ERR_PARSE;
}

void watch_parser_init(struct watch_parser *p, size_t max_event)
{
	buf_init(&p->pending, max_event);
	p->depth = 0;
	p->in_string = 0;
	p->escaped = 0;
	p->scanned = 0;
}

void watch_parser_release(struct watch_parser *p)
{
	buf_release(&p->pending);
	watch_parser_init(p, p->pending.max);
}

int watch_parser_pending(const struct watch_parser *p)
{
	return p->pending.len > 0 || p->depth > 0;
}

/*
 * Scans data[0..len) of the current event. Returns the length up to and
 * including the byte that completes it, or len when it goes on.
 */
static size_t scan(struct watch_parser *p, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (p->in_string) {
			if (p->escaped)
				p->escaped = 0;
			else if (c == '\\')
				p->escaped = 1;
			else if (c == '"')
				p->in_string = 0;
		} else if (c == '"') {
			p->in_string = 1;
		} else if (c == '{' || c == '[') {
			p->depth++;
		} else if (c == '}' || c == ']') {
			if (--p->depth == 0)
				return i + 1;
		}
	}
	return len;
}

/* Parses one complete event and passes it to fn. */
static int deliver(const char *text, size_t len, watch_event_fn fn,
		   void *fn_data, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t *ev = json_loadb(text, len, 0, &jerr);
	const char *type;
	json_t *obj;
	enum watch_type t;
	int rc;

	if (!ev)
		return err_set(errbuf, errlen, ERR_PARSE,
			       "watch event is not valid JSON: %s at byte %d",
			       jerr.text, jerr.position);
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (type_parse(type, &t) < 0) {
		rc = err_set(errbuf, errlen, ERR_PARSE,
			     "watch event has unknown type \"%s\"",
			     type ? type : "(none)");
	} else if (!json_is_object(obj)) {
		rc = err_set(errbuf, errlen, ERR_PARSE,
			     "watch event %s has no object", type);
	} else {
		rc = fn(t, obj, fn_data);
	}
	json_decref(ev);
	return rc;
}

/* Forgets the current event, keeping a modest buffer for the next. */
static void event_done(struct watch_parser *p)
{
	if (p->pending.cap > PENDING_KEEP)
		buf_release(&p->pending);
	else
		buf_reset(&p->pending);
	p->scanned = 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Starts the event at data[0], or reports what stands between events. */
static int event_start(struct watch_parser *p, char c, char *errbuf,
		       size_t errlen)
{
	if (c != '{')
		return err_set(errbuf, errlen, ERR_PARSE,
			       "watch stream: unexpected byte 0x%02x "
			       "between events",
			       (unsigned char)c);
	p->in_string = 0;
	p->escaped = 0;
	return 0;
}

int watch_parser_feed(struct watch_parser *p, const char *data, size_t len,
		      watch_event_fn fn, void *fn_data, char *errbuf,
		      size_t errlen)
{
	size_t pos = 0;
	int rc = 0;

	while (pos < len && rc == 0) {
		const char *start = data + pos;
		size_t n;

		if (p->depth == 0) {
			if (is_space(*start)) {
				pos++;
				continue;
			}
			if ((rc = event_start(p, *start, errbuf, errlen)) < 0)
				break;
		}
		n = scan(p, start, len - pos);
		pos += n;
		if (p->depth > 0 || p->pending.len) {
			if (buf_append(&p->pending, start, n) < 0) {
				rc = err_set(errbuf, errlen, ERR_TOOBIG,
					     "watch event larger than %zu "
					     "bytes",
					     p->pending.max);
				break;
			}
			p->scanned = p->pending.len;
		} else if (n > p->pending.max) {
			rc = err_set(errbuf, errlen, ERR_TOOBIG,
				     "watch event larger than %zu bytes",
				     p->pending.max);
			break;
		}
		if (p->depth > 0)
			continue; /* the event goes on in the next chunk */
		if (p->pending.len) {
			rc = deliver(p->pending.data, p->pending.len, fn,
				     fn_data, errbuf, errlen);
		} else {
			rc = deliver(start, n, fn, fn_data, errbuf, errlen);
		}
		event_done(p);
	}
	return rc;
}
