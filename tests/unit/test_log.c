/*
 * test_log: the log records as a log shipper reads them: logfmt text by
 * default, and in JSON mode one object per line whose values survive
 * quotes, backslashes and control characters in messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/err.h"
#include "util/log.h"

/* Runs one log_record() with stderr sent to a temporary file and returns
 * what it wrote (heap string). */
static char *capture(enum log_level level, const char *msg, const char *kv)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *out = calloc(1, 8192);
	size_t n;

	assert_non_null(tmp);
	assert_non_null(out);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	log_record(level, msg, "%s", kv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, 8191, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static void test_text_is_logfmt(void **state)
{
	char *line;

	(void)state;
	assert_int_equal(log_set_format_name("text"), 0);
	line = capture(LOG_INFO, "hello", "object=ns/a n=3");
	assert_non_null(
		strstr(line, " level=info msg=\"hello\" object=ns/a n=3\n"));
	assert_memory_equal(line, "ts=", 3);
	free(line);
}

static void test_json_fields(void **state)
{
	json_error_t jerr;
	json_t *o;
	char *line;

	(void)state;
	assert_int_equal(log_set_format_name("json"), 0);
	line = capture(LOG_WARN, "write failed",
		       "object=shop/web err=ERR_CONFLICT "
		       "message=\"a \\\"quoted\\\" word, a \\\\ and a\ttab\" "
		       "flag");
	/* one line: the only newline ends it */
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	o = json_loads(line, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "level")),
			    "warn");
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
			    "write failed");
	assert_string_equal(json_string_value(json_object_get(o, "object")),
			    "shop/web");
	assert_string_equal(json_string_value(json_object_get(o, "err")),
			    "ERR_CONFLICT");
	assert_string_equal(json_string_value(json_object_get(o, "message")),
			    "a \"quoted\" word, a \\ and a\ttab");
	assert_string_equal(json_string_value(json_object_get(o, "flag")), "");
	assert_non_null(json_string_value(json_object_get(o, "ts")));
	json_decref(o);
	free(line);
	assert_int_equal(log_set_format_name("text"), 0);
}

static void test_json_message_with_quotes(void **state)
{
	json_t *o;
	char *line;

	(void)state;
	assert_int_equal(log_set_format_name("json"), 0);
	line = capture(LOG_ERROR, "a \"msg\"\nsecond line", "");
	o = json_loads(line, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
			    "a \"msg\"\nsecond line");
	assert_int_equal(json_object_size(o), 3);
	json_decref(o);
	free(line);
	assert_int_equal(log_set_format_name("text"), 0);
}

static void test_unknown_format(void **state)
{
	(void)state;
	assert_int_equal(log_set_format_name("xml"), ERR_INVAL);
	assert_int_equal(log_set_format_name(""), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_is_logfmt),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_message_with_quotes),
		cmocka_unit_test(test_unknown_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
