/*
 * fuzz_selector: libFuzzer target for label and field selector parsing
 * (kube/selector.h): label_selector_parse() and field_selector_parse() on
 * arbitrary text.
 *
 * Input layout: the selector text runs up to the first NUL byte (the whole
 * input without one); the bytes after it describe an object's labels, one
 * "key=value" per line (a line without '=' is a key with value ""); the
 * same pairs serve as the object's fields for field selectors.
 *
 * Checked (abort on a mismatch), label selectors: a failure gives
 * ERR_BADREQUEST, leaves *out NULL and writes a non-empty message; on
 * success the canonical string label_selector_string() parses again to a
 * selector with the identical string (round trip) that matches the same
 * labels; an empty selector has the string "" and matches everything.
 * Field selectors: the same failure contract; an empty selector matches
 * everything; field_selector_check() with no supported fields accepts only
 * an empty selector. Matching must not crash for either.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/selector.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_selector: check failed: %s\n", what);
	abort();
}

static void check_failure(int rc, const void *out, const char *err,
			  size_t errlen)
{
	check(rc == ERR_BADREQUEST, "parse errors are ERR_BADREQUEST");
	check(out == NULL, "failure leaves *out NULL");
	check(memchr(err, '\0', errlen) != NULL, "message NUL-terminated");
	check(err[0] != '\0', "message is never empty");
}

/* A heap copy of p[0..n) with a NUL added. */
static char *copy_string(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	check(s != NULL, "malloc");
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* The labels object the bytes after the selector describe. */
static json_t *labels_build(const uint8_t *p, size_t n)
{
	json_t *labels = json_object();
	char *text = copy_string(p, n), *line = text, *next, *eq;

	for (; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq)
			*eq++ = '\0';
		/* Keys and values must be valid UTF-8 for jansson. */
		json_object_set_new(labels, line, json_string(eq ? eq : ""));
	}
	free(text);
	return labels;
}

static void check_label(const char *text, const json_t *labels)
{
	struct label_selector *sel = NULL, *again = NULL;
	char err[512], *s, *s2;
	bool m;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = label_selector_parse(text, &sel, err, sizeof(err));
	if (rc != 0) {
		check_failure(rc, sel, err, sizeof(err));
		return;
	}
	check(sel != NULL, "success gives a selector");
	m = label_selector_matches(sel, labels);
	(void)label_selector_matches(sel, NULL);
	s = label_selector_string(sel);
	check(s != NULL, "string never NULL");
	if (label_selector_is_empty(sel)) {
		check(s[0] == '\0', "empty selector prints as \"\"");
		check(m, "empty selector matches everything");
	}
	rc = label_selector_parse(s, &again, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "fuzz_selector: %s: %s\n", s, err);
		check(0, "canonical string parses again");
	}
	s2 = label_selector_string(again);
	if (strcmp(s, s2) != 0) {
		fprintf(stderr, "fuzz_selector: '%s' -> '%s'\n", s, s2);
		check(0, "round trip gives the identical string");
	}
	check(label_selector_matches(again, labels) == m,
	      "round trip matches the same labels");
	free(s2);
	free(s);
	label_selector_free(again);
	label_selector_free(sel);
}

static const char *field_get(const char *field, void *data)
{
	return json_string_value(json_object_get(data, field));
}

static void check_field(const char *text, json_t *fields)
{
	static const char *const supported[] = {"metadata.name",
						"metadata.namespace", NULL};
	struct field_selector *sel = NULL;
	char err[512];
	bool m;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = field_selector_parse(text, &sel, err, sizeof(err));
	if (rc != 0) {
		check_failure(rc, sel, err, sizeof(err));
		return;
	}
	check(sel != NULL, "success gives a selector");
	m = field_selector_matches(sel, field_get, fields);
	if (field_selector_is_empty(sel))
		check(m, "empty selector matches everything");
	rc = field_selector_check(sel, NULL, err, sizeof(err));
	check((rc == 0) == field_selector_is_empty(sel),
	      "no supported fields accepts only the empty selector");
	if (rc != 0)
		check(rc == ERR_BADREQUEST && err[0] != '\0',
		      "unsupported field error");
	rc = field_selector_check(sel, supported, err, sizeof(err));
	check(rc == 0 || rc == ERR_BADREQUEST, "check codes");
	field_selector_free(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	char *text = copy_string(data, tlen);
	json_t *labels =
		nul ? labels_build(nul + 1, size - tlen - 1) : json_object();

	check_label(text, labels);
	check_field(text, labels);
	json_decref(labels);
	free(text);
	return 0;
}
