/*
 * fuzz_patch: libFuzzer target for JSON merge patch (json/merge_patch.h)
 * and JSON patch (json/json_patch.h).
 *
 * Input layout: two JSON texts separated by the first NUL byte: the target
 * document, then the patch (without a NUL the whole input is the target and
 * the patch is {}). Each text is parsed by jansson (any value at top level)
 * from an exact-size allocation; an unparsable target is treated as absent
 * (NULL) for the merge patch and as null for the JSON patch, and an
 * unparsable patch ends the run.
 *
 * Checked (abort on a mismatch), merge patch: the inputs are not modified;
 * the result is a copy of the patch when the patch is not an object and an
 * object when it is; applying the patch to its own result changes nothing
 * (RFC 7386 patches are idempotent); an absent target acts as null;
 * merge_patch_diff(target, result) applied to the target gives the result
 * back whenever the result holds no null members (the documented RFC 7386
 * limitation); diff(x, x) of an object is {}.
 * JSON patch (the patch used as the operation array): success gives a
 * result and 0, failure NULL, a message and ERR_BADREQUEST or ERR_INVAL;
 * whether a patch is ERR_BADREQUEST does not depend on the document; the
 * document is not modified; a "test" of "" against the document itself
 * succeeds and gives an equal document; json_value_equal() agrees with
 * json_equal() when that says equal; json_pointer_get() on every "path" and
 * "from" of the patch does not crash and finds "" as the document.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json/json_patch.h"
#include "json/merge_patch.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_patch: check failed: %s\n", what);
	abort();
}

/* jansson's reading of p[0..n), from an exact-size copy; NULL if invalid. */
static json_t *load_exact(const uint8_t *p, size_t n)
{
	char *c = malloc(n ? n : 1);
	json_t *v;

	check(c != NULL, "malloc");
	if (n)
		memcpy(c, p, n);
	v = json_loadb(c, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	free(c);
	return v;
}

/* True when an object reachable through objects only has a null member. */
static int has_null_member(const json_t *v)
{
	const char *key;
	json_t *m;

	if (!json_is_object(v))
		return 0;
	json_object_foreach((json_t *)v, key, m)
	{
		if (json_is_null(m) || has_null_member(m))
			return 1;
	}
	return 0;
}

static void check_diff(const json_t *from, const json_t *to)
{
	json_t *diff, *back;

	diff = merge_patch_diff(from, to);
	check(diff != NULL, "diff never NULL");
	back = merge_patch_apply(from, diff);
	check(json_equal(back, to), "apply(from, diff(from, to)) == to");
	json_decref(back);
	json_decref(diff);
	if (json_is_object(to)) {
		diff = merge_patch_diff(to, to);
		check(json_is_object(diff) && json_object_size(diff) == 0,
		      "diff(x, x) of an object is {}");
		json_decref(diff);
	}
}

static void check_merge(const json_t *target, const json_t *patch)
{
	json_t *t_copy = target ? json_deep_copy(target) : NULL;
	json_t *p_copy = json_deep_copy(patch);
	json_t *res, *twice, *from_null, *null = json_null();

	res = merge_patch_apply(target, patch);
	check(res != NULL, "merge result never NULL");
	check(!target || json_equal(target, t_copy), "target not modified");
	check(json_equal(patch, p_copy), "patch not modified");
	if (json_is_object(patch))
		check(json_is_object(res), "object patch gives an object");
	else
		check(json_equal(res, patch), "non-object patch replaces");
	twice = merge_patch_apply(res, patch);
	check(json_equal(twice, res), "merge patch is idempotent");
	from_null = merge_patch_apply(null, patch);
	if (!target) {
		json_t *from_absent = merge_patch_apply(NULL, patch);

		check(json_equal(from_absent, from_null),
		      "absent target acts as null");
		json_decref(from_absent);
	}
	if (!has_null_member(res))
		check_diff(target, res);
	json_decref(from_null);
	json_decref(twice);
	json_decref(res);
	json_decref(p_copy);
	json_decref(t_copy);
}

/* Runs json_patch_apply() and checks the result's shape; returns rc. */
static int run_json_patch(const json_t *doc, const json_t *ops, json_t **out)
{
	char err[256];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = json_patch_apply(doc, ops, out, err, sizeof(err));
	if (rc == 0) {
		check(*out != NULL, "success gives a document");
		return 0;
	}
	check(*out == NULL, "failure leaves *out NULL");
	check(rc == ERR_BADREQUEST || rc == ERR_INVAL, "documented codes");
	check(memchr(err, '\0', sizeof(err)) != NULL, "message terminated");
	check(err[0] != '\0', "message is never empty");
	return rc;
}

static void check_pointers(json_t *doc, const json_t *ops)
{
	static const char *const names[] = {"path", "from"};
	size_t i, j;

	check(json_pointer_get(doc, "") == doc, "\"\" is the document");
	if (!json_is_array(ops))
		return;
	for (i = 0; i < json_array_size(ops); i++) {
		json_t *op = json_array_get(ops, i);

		for (j = 0; j < 2; j++) {
			const char *p = json_string_value(
				json_object_get(op, names[j]));

			(void)json_pointer_get(doc, p);
		}
	}
}

static void check_self_test(const json_t *doc)
{
	json_t *ops = json_pack("[{s:s, s:s, s:O}]", "op", "test", "path", "",
				"value", doc);
	json_t *out = NULL;

	check(ops != NULL, "json_pack");
	check(run_json_patch(doc, ops, &out) == 0, "test of itself passes");
	check(json_equal(out, doc), "test leaves the document equal");
	check(json_value_equal(doc, out) == 1, "json_value_equal(x, x)");
	json_decref(out);
	json_decref(ops);
}

static void check_json_patch(json_t *doc, const json_t *ops)
{
	json_t *copy = json_deep_copy(doc), *out = NULL, *out2 = NULL;
	json_t *other = json_pack("{s:[i]}", "z", 1);
	int rc, rc2;

	rc = run_json_patch(doc, ops, &out);
	check(json_equal(doc, copy), "document not modified");
	rc2 = run_json_patch(other, ops, &out2);
	check((rc == ERR_BADREQUEST) == (rc2 == ERR_BADREQUEST),
	      "ERR_BADREQUEST does not depend on the document");
	check_self_test(doc);
	check_pointers(doc, ops);
	check(json_value_equal(doc, copy) == 1, "equal copies");
	check(json_value_equal(doc, NULL) == 0, "NULL is never equal");
	json_decref(out2);
	json_decref(out);
	json_decref(other);
	json_decref(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	json_t *target = load_exact(data, tlen);
	json_t *patch =
		nul ? load_exact(nul + 1, size - tlen - 1) : json_object();

	if (patch != NULL) {
		json_t *doc = target ? json_incref(target) : json_null();

		check_merge(target, patch);
		check_json_patch(doc, patch);
		json_decref(doc);
	}
	json_decref(patch);
	json_decref(target);
	return 0;
}
