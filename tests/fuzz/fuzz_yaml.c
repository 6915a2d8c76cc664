/*
 * fuzz_yaml: libFuzzer target for YAML reading (json/yaml.h):
 * yaml_to_json() and yaml_to_json_all() on arbitrary bytes.
 *
 * Input layout: the whole input is the YAML text. It is passed in an
 * exact-size allocation that is not NUL-terminated, so AddressSanitizer
 * catches a read past `len`.
 *
 * Checked (abort on a mismatch): a failure gives NULL and a non-empty,
 * NUL-terminated message; yaml_to_json_all() succeeds with an array; every
 * result can be serialised with json_dumps(). Since JSON is YAML
 * (yaml.h: "JSON input is valid YAML and converts to the same JSON value"),
 * feeding yaml_to_json()'s serialised result back through yaml_to_json()
 * must give a json_equal() value. yaml_to_json() already normalises
 * integral reals that fit int64 to integers, so the serialised form holds
 * no value that the second reading would retype. One exception is skipped:
 * YAML (libyaml, like go-yaml) accepts at most 1024 characters between the
 * start of an implicit key and its ':', so JSON whose encoded object key is
 * that long is not YAML (yaml.h's claim holds only for shorter keys); the
 * check is made only when every encoded key is under KEY_LIMIT bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json/yaml.h"

#define KEY_LIMIT 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_yaml: check failed: %s\n", what);
	abort();
}

/* A failed call left a non-empty, NUL-terminated message. */
static void check_error(const char *errbuf, size_t errlen)
{
	check(memchr(errbuf, '\0', errlen) != NULL, "message NUL-terminated");
	check(errbuf[0] != '\0', "message is never empty");
}

/* Returns json_dumps() of `v`, which must not fail. */
static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	check(s != NULL, "result can be serialised");
	return s;
}

/* True when the JSON encoding of `key` is KEY_LIMIT bytes or more. */
static int key_too_long(const char *key)
{
	json_t *k;
	char *s;
	int too_long;

	/* An escape takes at most 6 bytes per input byte, plus 2 quotes. */
	if (strlen(key) * 6 + 2 < KEY_LIMIT)
		return 0;
	k = json_string(key);
	s = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
	too_long = s == NULL || strlen(s) >= KEY_LIMIT;
	free(s);
	json_decref(k);
	return too_long;
}

/* True when some object key in `v` is too long for a YAML implicit key. */
static int has_long_key(const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			if (has_long_key(json_array_get(v, i)))
				return 1;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach((json_t *)v, key, m)
	{
		if (key_too_long(key) || has_long_key(m))
			return 1;
	}
	return 0;
}

/* yaml_to_json() of the serialised `v` gives `v` back. */
static void check_json_is_yaml(const json_t *v)
{
	char err[512];
	char *s = dump(v);
	json_t *again;

	memset(err, 'x', sizeof(err));
	again = yaml_to_json(s, strlen(s), err, sizeof(err));
	if (again == NULL) {
		fprintf(stderr, "fuzz_yaml: re-reading %s: %s\n", s, err);
		check(0, "serialised JSON reads back as YAML");
	}
	if (!json_equal(v, again)) {
		fprintf(stderr, "fuzz_yaml: %s read back differently\n", s);
		check(0, "serialised JSON reads back to an equal value");
	}
	json_decref(again);
	free(s);
}

static void check_one(const char *text, size_t len)
{
	char err[512];
	json_t *v;

	memset(err, 'x', sizeof(err));
	v = yaml_to_json(text, len, err, sizeof(err));
	if (v == NULL) {
		check_error(err, sizeof(err));
		return;
	}
	if (has_long_key(v))
		free(dump(v));
	else
		check_json_is_yaml(v);
	json_decref(v);
	/* No error buffer at all must be fine too. */
	json_decref(yaml_to_json(text, len, NULL, 0));
}

static void check_all(const char *text, size_t len)
{
	char err[512];
	json_t *v;

	memset(err, 'x', sizeof(err));
	v = yaml_to_json_all(text, len, err, sizeof(err));
	if (v == NULL) {
		check_error(err, sizeof(err));
		return;
	}
	check(json_is_array(v), "yaml_to_json_all gives an array");
	free(dump(v));
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);

	check(text != NULL, "malloc");
	if (size)
		memcpy(text, data, size);
	check_one(text, size);
	check_all(text, size);
	free(text);
	return 0;
}
