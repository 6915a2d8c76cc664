/*
 * test_watch: the watch stream parser yields the same events however the
 * network cuts the stream (every split offset, one byte at a time), accepts
 * blank lines, CRLF and pretty-printed events, and fails cleanly on
 * oversized, malformed or unknown events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kube/watch.h"
#include "util/buf.h"
#include "util/err.h"

/* Events received, as "TYPE <object as sorted compact JSON>\n". */
struct record {
	struct buf out;
	int events;
	int stop_at; /* return 7 on this event number (1-based); 0: never */
};

static int record_event(enum watch_type type, json_t *object, void *data)
{
	struct record *r = data;
	char *s = json_dumps(object, JSON_COMPACT | JSON_SORT_KEYS);

	buf_printf(&r->out, "%s %s\n", watch_type_name(type), s);
	free(s);
	r->events++;
	return r->events == r->stop_at ? 7 : 0;
}

static void record_init(struct record *r)
{
	buf_init(&r->out, BUF_UNLIMITED);
	r->events = 0;
	r->stop_at = 0;
}

static const char STREAM[] =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
	"{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
	"\r\n"
	"\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\","
	"\"annotations\":{\"x\":\"}{ \\\"}\\\" [ \\\\\",\"y\":\"]]\"}},"
	"\"data\":{\"t\":\"caf\xc3\xa9 \xe2\x9c\x93\"}}}\r\n"
	"{\n  \"type\": \"DELETED\",\n  \"object\": {\n    \"metadata\": {\n"
	"      \"name\": \"a\"\n    },\n    \"list\": [1, {\"b\": [2]}]\n"
	"  }\n}\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
	"{\"resourceVersion\":\"9\"}}}"
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
	"\"reason\":\"Expired\"}}\n";

/* Parses STREAM cut at the given offsets (ascending, ending at len). */
static void feed_cuts(struct record *r, const size_t *cuts, size_t ncuts)
{
	struct watch_parser p;
	char err[256] = "";
	size_t from = 0;

	watch_parser_init(&p, 4096);
	for (size_t i = 0; i < ncuts; i++) {
		int rc = watch_parser_feed(&p, STREAM + from, cuts[i] - from,
					   record_event, r, err, sizeof(err));

		if (rc != 0)
			fail_msg("feed at %zu: %d %s", from, rc, err);
		from = cuts[i];
	}
	assert_false(watch_parser_pending(&p));
	watch_parser_release(&p);
}

static char *whole_stream(void)
{
	struct record r;
	size_t len = sizeof(STREAM) - 1;

	record_init(&r);
	feed_cuts(&r, &len, 1);
	assert_int_equal(r.events, 5);
	return buf_detach(&r.out, NULL);
}

static void test_whole_stream(void **state)
{
	char *all = whole_stream();

	assert_string_equal(
		all,
		"ADDED {\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
		"\"resourceVersion\":\"1\"}}\n"
		"MODIFIED {\"data\":{\"t\":\"caf\xc3\xa9 \xe2\x9c\x93\"},"
		"\"metadata\":{\"annotations\":{\"x\":\"}{ \\\"}\\\" [ "
		"\\\\\",\"y\":\"]]\"},\"name\":\"a\"}}\n"
		"DELETED {\"list\":[1,{\"b\":[2]}],\"metadata\":{\"name\":"
		"\"a\"}}\n"
		"BOOKMARK {\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":"
		"\"9\"}}\n"
		"ERROR {\"code\":410,\"kind\":\"Status\",\"reason\":"
		"\"Expired\"}\n");
	free(all);
}

static void test_split_at_every_offset(void **state)
{
	char *all = whole_stream();
	size_t len = sizeof(STREAM) - 1;

	for (size_t k = 0; k <= len; k++) {
		struct record r;
		size_t cuts[2] = {k, len};

		record_init(&r);
		feed_cuts(&r, cuts, 2);
		if (strcmp(r.out.data, all) != 0)
			fail_msg("split at %zu differs:\n%s", k, r.out.data);
		buf_release(&r.out);
	}
	free(all);
}

static void test_one_byte_at_a_time(void **state)
{
	char *all = whole_stream();
	size_t len = sizeof(STREAM) - 1;
	size_t *cuts = malloc(len * sizeof(*cuts));
	struct record r;

	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	record_init(&r);
	feed_cuts(&r, cuts, len);
	assert_string_equal(r.out.data, all);
	buf_release(&r.out);
	free(cuts);
	free(all);
}

static void test_pending(void **state)
{
	struct watch_parser p;
	struct record r;
	const char *ev = "{\"type\":\"ADDED\",\"object\":{}}\n";

	record_init(&r);
	watch_parser_init(&p, 1024);
	assert_false(watch_parser_pending(&p));
	assert_int_equal(
		watch_parser_feed(&p, ev, 10, record_event, &r, NULL, 0), 0);
	assert_true(watch_parser_pending(&p));
	assert_int_equal(r.events, 0);
	assert_int_equal(watch_parser_feed(&p, ev + 10, strlen(ev) - 10,
					   record_event, &r, NULL, 0),
			 0);
	assert_false(watch_parser_pending(&p));
	assert_int_equal(r.events, 1);
	/* Whitespace alone leaves nothing pending. */
	assert_int_equal(
		watch_parser_feed(&p, "\r\n \n", 4, record_event, &r, NULL, 0),
		0);
	assert_false(watch_parser_pending(&p));
	watch_parser_release(&p);
	buf_release(&r.out);
}

static int feed_all(const char *text, size_t max, size_t chunk,
		    struct record *r, char *err, size_t errlen)
{
	struct watch_parser p;
	size_t len = strlen(text);
	int rc = 0;

	watch_parser_init(&p, max);
	for (size_t off = 0; off < len && rc == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = watch_parser_feed(&p, text + off, n, record_event, r, err,
				       errlen);
	}
	watch_parser_release(&p);
	return rc;
}

static void test_too_big(void **state)
{
	const char *text = "{\"type\":\"ADDED\",\"object\":{\"a\":\"0123456789"
			   "0123456789\"}}\n";
	size_t len = strlen(text) - 1; /* without the newline */
	size_t chunks[] = {1, 7, 1000};
	char err[256];
	struct record r;

	for (size_t i = 0; i < 3; i++) {
		record_init(&r);
		err[0] = '\0';
		assert_int_equal(feed_all(text, len - 1, chunks[i], &r, err,
					  sizeof(err)),
				 ERR_TOOBIG);
		assert_int_equal(r.events, 0);
		assert_non_null(strstr(err, "larger than"));
		buf_release(&r.out);
		/* Exactly max_event bytes is accepted. */
		record_init(&r);
		assert_int_equal(
			feed_all(text, len, chunks[i], &r, err, sizeof(err)),
			0);
		assert_int_equal(r.events, 1);
		buf_release(&r.out);
	}
}

static void expect_parse_error(const char *text, const char *msg_part)
{
	size_t chunks[] = {1, 1000};

	for (size_t i = 0; i < 2; i++) {
		struct record r;
		char err[256] = "";

		record_init(&r);
		assert_int_equal(
			feed_all(text, 1024, chunks[i], &r, err, sizeof(err)),
			ERR_PARSE);
		if (!strstr(err, msg_part))
			fail_msg("error \"%s\" lacks \"%s\"", err, msg_part);
		buf_release(&r.out);
	}
}

static void test_parse_errors(void **state)
{
	expect_parse_error("{\"type\":\"ADDED\",\"object\":{\"a\":tru}}\n",
			   "not valid JSON");
	expect_parse_error("{\"type\":\"ADDED\",\"object\":{\"a\":1]]\n",
			   "not valid JSON");
	expect_parse_error("{\"type\":\"CREATED\",\"object\":{}}\n",
			   "unknown type \"CREATED\"");
	expect_parse_error("{\"object\":{}}\n", "unknown type \"(none)\"");
	expect_parse_error("{\"type\":\"ADDED\"}\n", "has no object");
	expect_parse_error("{\"type\":\"ADDED\",\"object\":[]}\n",
			   "has no object");
	expect_parse_error("{\"type\":\"ADDED\",\"object\":{}}\nxyz\n",
			   "unexpected byte 0x78");
	expect_parse_error("[{\"type\":\"ADDED\",\"object\":{}}]\n",
			   "unexpected byte 0x5b");
}

static void test_callback_stop(void **state)
{
	const char *text = "{\"type\":\"ADDED\",\"object\":{\"n\":1}}\n"
			   "{\"type\":\"ADDED\",\"object\":{\"n\":2}}\n"
			   "{\"type\":\"ADDED\",\"object\":{\"n\":3}}\n";
	struct record r;

	record_init(&r);
	r.stop_at = 2;
	assert_int_equal(feed_all(text, 1024, 1000, &r, NULL, 0), 7);
	assert_int_equal(r.events, 2);
	buf_release(&r.out);
	record_init(&r);
	r.stop_at = 2;
	assert_int_equal(feed_all(text, 1024, 3, &r, NULL, 0), 7);
	assert_int_equal(r.events, 2);
	buf_release(&r.out);
}

static void test_type_names(void **state)
{
	assert_string_equal(watch_type_name(WATCH_ADDED), "ADDED");
	assert_string_equal(watch_type_name(WATCH_MODIFIED), "MODIFIED");
	assert_string_equal(watch_type_name(WATCH_DELETED), "DELETED");
	assert_string_equal(watch_type_name(WATCH_BOOKMARK), "BOOKMARK");
	assert_string_equal(watch_type_name(WATCH_ERROR), "ERROR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_stream),
		cmocka_unit_test(test_split_at_every_offset),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
