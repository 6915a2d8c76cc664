/*
 * merge_patch: RFC 7386 JSON merge patch, apply and diff.
 *
 * apply copies the target once and then merges the patch into that copy in
 * place, so a deep patch costs one copy of the document rather than one per
 * level. diff walks two objects side by side.
 */
#include "json/merge_patch.h"

/*
 * Merges `patch` into `target` and returns the result. Consumes the caller's
 * reference to `target` (which may be NULL) and returns a new reference; the
 * result is `target` itself, changed in place, whenever both are objects.
 */
static json_t *merge_into(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *value;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
	}
	/* jansson's iterators take non-const values; the patch is only read. */
	json_object_foreach((json_t *)patch, key, value)
	{
		json_t *cur;

		if (json_is_null(value)) {
			json_object_del(target, key);
			continue;
		}
		cur = json_incref(json_object_get(target, key));
		json_object_set_new(target, key, merge_into(cur, value));
	}
	return target;
}

json_t *merge_patch_apply(const json_t *target, const json_t *patch)
{
	json_t *copy = NULL;

	/* A non-object patch replaces the target whole; skip copying it. */
	if (json_is_object(patch) && json_is_object(target))
		copy = json_deep_copy(target);
	return merge_into(copy, patch);
}

/* Adds to `diff` the members of `from` that `to` lacks, as nulls. */
static void diff_removed(json_t *diff, const json_t *from, const json_t *to)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)from, key, value)
	{
		if (!json_object_get(to, key))
			json_object_set_new(diff, key, json_null());
	}
}

/* Adds to `diff` the members of `to` that are new or changed. */
static void diff_changed(json_t *diff, const json_t *from, const json_t *to)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)to, key, value)
	{
		json_t *old = json_object_get(from, key);
		json_t *sub;

		if (old && json_equal(old, value))
			continue;
		if (json_is_object(old) && json_is_object(value)) {
			sub = merge_patch_diff(old, value);
		} else {
			sub = json_deep_copy(value);
		}
		json_object_set_new(diff, key, sub);
	}
}

json_t *merge_patch_diff(const json_t *from, const json_t *to)
{
	json_t *diff;

	if (!json_is_object(from) || !json_is_object(to))
		return json_deep_copy(to);
	diff = json_object();
	diff_removed(diff, from, to);
	diff_changed(diff, from, to);
	return diff;
}
