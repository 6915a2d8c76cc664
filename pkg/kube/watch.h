/*
 * watch: the parser for a Kubernetes watch stream.
 *
 * A watch body is a sequence of JSON events, one per line:
 *   {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}\n
 * delivered in network chunks that may split an event anywhere (even inside
 * a UTF-8 sequence) or carry several. The parser buffers at most one
 * incomplete event, capped at `max_event` bytes, and hands every complete
 * event to a callback. Blank lines and "\r\n" endings are accepted. A
 * server may also send pretty-printed (multi-line) events; the parser
 * therefore splits on complete top-level JSON values, not on newlines alone.
 *
 * Not thread-safe: one parser per stream.
 */
#ifndef KNIT_KUBE_WATCH_H
#define KNIT_KUBE_WATCH_H

#include <stddef.h>

#include <jansson.h>

#include "util/buf.h"

enum watch_type {
	WATCH_ADDED,
	WATCH_MODIFIED,
	WATCH_DELETED,
	WATCH_BOOKMARK,
	WATCH_ERROR
};

/*
 * Receives one event. `object` is borrowed for the call (take a reference to
 * keep it). A nonzero return stops the parser and is returned by
 * watch_parser_feed().
 */
typedef int (*watch_event_fn)(enum watch_type type, json_t *object, void *data);

struct watch_parser {
	struct buf pending; /* bytes of the incomplete event */
	/* scanner state for finding the end of a top-level JSON value */
	int depth;
	int in_string;
	int escaped;
	size_t scanned; /* bytes of `pending` already scanned */
};

/* Prepares a parser accepting events of at most max_event bytes. */
void watch_parser_init(struct watch_parser *p, size_t max_event);
void watch_parser_release(struct watch_parser *p);

/*
 * Feeds the next `len` bytes of the stream. Calls fn for every event
 * completed by them. Returns 0; ERR_TOOBIG when an event passes max_event;
 * ERR_PARSE when an event is not valid JSON, not an object, has an unknown
 * "type" or no "object" (message in errbuf); or fn's nonzero value. After an
 * error the stream must be abandoned.
 */
int watch_parser_feed(struct watch_parser *p, const char *data, size_t len,
		      watch_event_fn fn, void *fn_data, char *errbuf,
		      size_t errlen);

/* True when bytes of an incomplete event are buffered (the stream ended
 * mid-event). */
int watch_parser_pending(const struct watch_parser *p);

/* "ADDED", ...: a static string. */
const char *watch_type_name(enum watch_type t);

#endif
