/*
 * smp: strategic merge patch for built-in kinds, a C rendering of the apply
 * half of k8s.io/apimachinery/pkg/util/strategicpatch (mergeMap,
 * mergeSlice, normalizeElementOrder and friends) driven by a data table of
 * patchStrategy/patchMergeKey struct tags instead of Go reflection.
 *
 * Working model: smp_apply() deep-copies target and patch, then merges the
 * patch copy into the target copy in place. Every helper that returns a
 * json_t through an out parameter hands back a new reference; arguments
 * are borrowed unless stated otherwise.
 */
#include "devcluster/smp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define DIRECTIVE     "$patch"
#define RETAIN_KEYS   "$retainKeys"
#define DELETE_PREFIX "$deleteFromPrimitiveList"
#define ORDER_PREFIX  "$setElementOrder"
#define ERRFMT_LIMIT  4096

/* ------------------------------------------------------------------ */
/* The struct-tag table                                               */
/* ------------------------------------------------------------------ */

/*
 * One Go struct field: its JSON name, its patchStrategy and patchMergeKey
 * tags (NULL when absent) and the fields of the struct it holds (for a
 * list: of each element), NULL when nothing below it has tags.
 */
struct smp_field {
	const char *name;
	const char *strategy;
	const char *merge_key;
	const struct smp_field *fields;
};

struct smp_kind {
	const char *kind;
	const struct smp_field *fields;
};

/* metav1.ObjectMeta */
static const struct smp_field object_meta[] = {
	{"ownerReferences", "merge", "uid", NULL},
	{"finalizers", "merge", NULL, NULL},
	{NULL, NULL, NULL, NULL},
};

/* core/v1 Container, EphemeralContainerCommon */
static const struct smp_field container[] = {
	{"ports", "merge", "containerPort", NULL},
	{"env", "merge", "name", NULL},
	{"volumeMounts", "merge", "mountPath", NULL},
	{"volumeDevices", "merge", "devicePath", NULL},
	{NULL, NULL, NULL, NULL},
};

/* core/v1 PodSpec; tolerations, readinessGates etc. have no tags. */
static const struct smp_field pod_spec[] = {
	{"volumes", "merge,retainKeys", "name", NULL},
	{"initContainers", "merge", "name", container},
	{"containers", "merge", "name", container},
	{"ephemeralContainers", "merge", "name", container},
	{"imagePullSecrets", "merge", "name", NULL},
	{"hostAliases", "merge", "ip", NULL},
	{"topologySpreadConstraints", "merge", "topologyKey", NULL},
	{"schedulingGates", "merge", "name", NULL},
	{"resourceClaims", "merge,retainKeys", "name", NULL},
	{NULL, NULL, NULL, NULL},
};

/* core/v1 PodStatus; containerStatuses & co. have no tags (replaced). */
static const struct smp_field pod_status[] = {
	{"conditions", "merge", "type", NULL},
	{"podIPs", "merge", "ip", NULL},
	{"hostIPs", "merge", "ip", NULL},
	{"resourceClaimStatuses", "merge", "name", NULL},
	{NULL, NULL, NULL, NULL},
};

/* Status structs whose only tagged field is conditions (by type). */
static const struct smp_field conditions_status[] = {
	{"conditions", "merge", "type", NULL},
	{NULL, NULL, NULL, NULL},
};

/* core/v1 PodTemplateSpec */
static const struct smp_field pod_template[] = {
	{"metadata", NULL, NULL, object_meta},
	{"spec", NULL, NULL, pod_spec},
	{NULL, NULL, NULL, NULL},
};

/* Any workload spec that embeds a pod template under "template". */
static const struct smp_field templated_spec[] = {
	{"template", NULL, NULL, pod_template},
	{NULL, NULL, NULL, NULL},
};

/* batch/v1 JobTemplateSpec */
static const struct smp_field job_template[] = {
	{"metadata", NULL, NULL, object_meta},
	{"spec", NULL, NULL, templated_spec},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field cron_job_spec[] = {
	{"jobTemplate", NULL, NULL, job_template},
	{NULL, NULL, NULL, NULL},
};

/* core/v1 ServiceSpec; the port list is keyed by port. */
static const struct smp_field service_spec[] = {
	{"ports", "merge", "port", NULL},
	{NULL, NULL, NULL, NULL},
};

/* Top-level field sets. */
static const struct smp_field meta_only[] = {
	{"metadata", NULL, NULL, object_meta},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field pod[] = {
	{"metadata", NULL, NULL, object_meta},
	{"spec", NULL, NULL, pod_spec},
	{"status", NULL, NULL, pod_status},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field pod_template_obj[] = {
	{"metadata", NULL, NULL, object_meta},
	{"template", NULL, NULL, pod_template},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field workload[] = {
	{"metadata", NULL, NULL, object_meta},
	{"spec", NULL, NULL, templated_spec},
	{"status", NULL, NULL, conditions_status},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field cron_job[] = {
	{"metadata", NULL, NULL, object_meta},
	{"spec", NULL, NULL, cron_job_spec},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field service[] = {
	{"metadata", NULL, NULL, object_meta},
	{"spec", NULL, NULL, service_spec},
	{"status", NULL, NULL, conditions_status},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field service_account[] = {
	{"metadata", NULL, NULL, object_meta},
	{"secrets", "merge", "name", NULL},
	{NULL, NULL, NULL, NULL},
};

static const struct smp_field with_conditions[] = {
	{"metadata", NULL, NULL, object_meta},
	{"status", NULL, NULL, conditions_status},
	{NULL, NULL, NULL, NULL},
};

/* Endpoints.subsets and Namespace.spec.finalizers carry no tags. */
static const struct smp_kind kinds[] = {
	{"Pod", pod},
	{"PodTemplate", pod_template_obj},
	{"Deployment", workload},
	{"ReplicaSet", workload},
	{"StatefulSet", workload},
	{"DaemonSet", workload},
	{"ReplicationController", workload},
	{"Job", workload},
	{"CronJob", cron_job},
	{"Service", service},
	{"ServiceAccount", service_account},
	{"Namespace", with_conditions},
	{"Endpoints", meta_only},
	{"Event", meta_only},
	{"ConfigMap", meta_only},
	{"Secret", meta_only},
	{"Lease", meta_only},
	{NULL, NULL},
};

static const struct smp_field *kind_fields(const char *kind)
{
	const struct smp_kind *k;

	for (k = kinds; kind && k->kind; k++)
		if (strcmp(k->kind, kind) == 0)
			return k->fields;
	return NULL;
}

static const struct smp_field *field_find(const struct smp_field *fields,
					  const char *name)
{
	for (; fields && fields->name; fields++)
		if (strcmp(fields->name, name) == 0)
			return fields;
	return NULL;
}

/* True when the comma-separated patchStrategy of `f` contains `word`. */
static bool strategy_has(const struct smp_field *f, const char *word)
{
	const char *s = f ? f->strategy : NULL;
	size_t n = strlen(word);

	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (len == n && strncmp(s, word, n) == 0)
			return true;
		s = end ? end + 1 : NULL;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Values, equality, Go-style formatting for error messages           */
/* ------------------------------------------------------------------ */

/* Go's reflect type of a decoded JSON value; ints and reals are both
 * numbers (float64 or int64 in Go, compared by value here). */
enum vclass {
	V_NULL,
	V_OBJECT,
	V_ARRAY,
	V_STRING,
	V_NUMBER,
	V_BOOL
};

static enum vclass vclass_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return V_OBJECT;
	case JSON_ARRAY:
		return V_ARRAY;
	case JSON_STRING:
		return V_STRING;
	case JSON_INTEGER:
	case JSON_REAL:
		return V_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE:
		return V_BOOL;
	default:
		return V_NULL;
	}
}

/* Go's == on decoded values; two absent values (NULL) are equal. */
static bool value_eq(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void gofmt(struct buf *b, const json_t *v);

/* fmt's %v of map[string]interface{}: keys sorted, "map[k:v k:v]". */
static void gofmt_object(struct buf *b, const json_t *v)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *x;

	json_object_foreach((json_t *)v, k, x) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	buf_puts(b, "map[");
	for (i = 0; i < n; i++) {
		buf_printf(b, "%s%s:", i ? " " : "", keys[i]);
		gofmt(b, json_object_get(v, keys[i]));
	}
	buf_puts(b, "]");
	free(keys);
}

static void gofmt_real(struct buf *b, double d)
{
	char tmp[40];
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_puts(b, tmp);
}

static void gofmt(struct buf *b, const json_t *v)
{
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		gofmt_object(b, v);
		break;
	case JSON_ARRAY:
		buf_puts(b, "[");
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_puts(b, " ");
			gofmt(b, json_array_get(v, i));
		}
		buf_puts(b, "]");
		break;
	case JSON_STRING:
		buf_puts(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		gofmt_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	default:
		buf_puts(b, "<nil>");
	}
}

/* New heap string: `v` as Go's fmt %v prints it (NULL -> "<nil>"). */
static char *gostr(const json_t *v)
{
	struct buf b;

	buf_init(&b, ERRFMT_LIMIT);
	if (v)
		gofmt(&b, v);
	else
		buf_puts(&b, "<nil>");
	return buf_detach(&b, NULL);
}

/* Go's reflect.Type string of a decoded JSON value. */
static const char *gotype(const json_t *v)
{
	switch (v ? vclass_of(v) : V_NULL) {
	case V_OBJECT:
		return "map[string]interface {}";
	case V_ARRAY:
		return "[]interface {}";
	case V_STRING:
		return "string";
	case V_NUMBER:
		return json_is_integer(v) ? "int64" : "float64";
	case V_BOOL:
		return "bool";
	default:
		return "<nil>";
	}
}

/* ------------------------------------------------------------------ */
/* Errors (texts of k8s.io/apimachinery/pkg/util/mergepatch)          */
/* ------------------------------------------------------------------ */

struct smp_err {
	char *buf;
	size_t len;
};

static int fail(struct smp_err *e, const char *msg)
{
	return err_set(e->buf, e->len, ERR_BADREQUEST, "%s", msg);
}

static int fail_no_merge_key(struct smp_err *e, const json_t *m,
			     const char *key)
{
	char *s = gostr(m);
	int rc = err_set(e->buf, e->len, ERR_BADREQUEST,
			 "map: %s does not contain declared merge key: %s", s,
			 key);

	free(s);
	return rc;
}

static int fail_bad_patch_type(struct smp_err *e, const json_t *directive,
			       const json_t *m)
{
	char *d = gostr(directive);
	char *s = gostr(m);
	int rc = err_set(e->buf, e->len, ERR_BADREQUEST,
			 "unknown patch type: %s in map: %s", d, s);

	free(d);
	free(s);
	return rc;
}

static int fail_bad_arg_type(struct smp_err *e, const char *expected,
			     const json_t *actual)
{
	return err_set(e->buf, e->len, ERR_BADREQUEST,
		       "expected a %s, but received a %s", expected,
		       gotype(actual));
}

/* ------------------------------------------------------------------ */
/* Copying patch values                                               */
/* ------------------------------------------------------------------ */

static bool is_directive_elem(const json_t *v)
{
	return json_is_object(v) && json_object_get(v, DIRECTIVE);
}

/* Does `d` hold a whole number that fits a json_int_t? */
static bool is_integral(double d)
{
	return d >= -9.2e18 && d <= 9.2e18 && d == (double)(json_int_t)d;
}

/*
 * Returns a new reference: a deep copy of a patch value taken as is, with
 * null members and "$"-keys removed from objects, objects marked
 * "$patch": "delete" turned into {}, and directive elements dropped from
 * lists, and whole reals (80.0) turned into integers: what the real server
 * ends up with after decoding into Go structs, whose numbers are integers.
 */
static json_t *clean(const json_t *v)
{
	const char *k;
	json_t *x, *out;
	size_t i;

	if (json_is_object(v)) {
		x = json_object_get(v, DIRECTIVE);
		out = json_object();
		if (json_is_string(x) &&
		    strcmp(json_string_value(x), "delete") == 0)
			return out;
		json_object_foreach((json_t *)v, k,
				    x) if (!json_is_null(x) && k[0] != '$')
			json_object_set_new(out, k, clean(x));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x) if (!is_directive_elem(x))
			json_array_append_new(out, clean(x));
		return out;
	}
	if (json_is_real(v) && is_integral(json_real_value(v)))
		return json_integer((json_int_t)json_real_value(v));
	return json_deep_copy(v);
}

/* ------------------------------------------------------------------ */
/* Element order (normalizeElementOrder, mergeSortedSlice)            */
/* ------------------------------------------------------------------ */

/* The identity of a list element: its merge key value, or itself. */
static const json_t *elem_id(const json_t *v, const char *mk)
{
	if (!mk)
		return v;
	return json_is_object(v) ? json_object_get(v, mk) : NULL;
}

static long index_of(const json_t *list, const json_t *v, const char *mk)
{
	size_t i;

	for (i = 0; i < json_array_size(list); i++)
		if (value_eq(elem_id(v, mk),
			     elem_id(json_array_get(list, i), mk)))
			return (long)i;
	return -1;
}

/* normalizeSliceOrder's comparator: unknown items sort first. */
static bool order_less(const json_t *a, const json_t *b, const json_t *order,
		       const char *mk)
{
	long ia = index_of(order, a, mk);
	long ib = index_of(order, b, mk);

	if (ia >= 0 && ib >= 0)
		return ia < ib;
	return true;
}

/* validateMergeKeyInLists for one list. */
static int check_merge_keys(const json_t *list, const char *mk,
			    struct smp_err *e)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (!json_is_object(v))
			return fail_bad_arg_type(e, "map[string]interface {}",
						 v);
		if (!json_object_get(v, mk))
			return fail_no_merge_key(e, v, mk);
	}
	return 0;
}

/*
 * Sorts `list` in place by positions in `order` (a stable insertion sort,
 * as Go's sort.SliceStable does for short slices); for keyed lists,
 * "$patch": "delete" elements go last.
 */
static int sort_by_order(json_t *list, const json_t *order, const char *mk,
			 struct smp_err *e)
{
	size_t n, i, j;
	json_t *keep, *dels, *v;

	if (mk) {
		int rc;

		if ((rc = check_merge_keys(list, mk, e)) ||
		    (rc = check_merge_keys(order, mk, e)))
			return rc;
	}
	keep = json_array();
	dels = json_array();
	json_array_foreach(list, i, v)
	{
		json_t *d = mk ? json_object_get(v, DIRECTIVE) : NULL;
		bool del = json_is_string(d) &&
			   strcmp(json_string_value(d), "delete") == 0;

		json_array_append(del ? dels : keep, v);
	}
	n = json_array_size(keep);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 &&
			    order_less(json_array_get(keep, j),
				       json_array_get(keep, j - 1), order, mk);
		     j--) {
			json_t *a = json_incref(json_array_get(keep, j));

			json_array_set(keep, j, json_array_get(keep, j - 1));
			json_array_set_new(keep, j - 1, a);
		}
	}
	json_array_extend(keep, dels);
	json_array_clear(list);
	json_array_extend(list, keep);
	json_decref(keep);
	json_decref(dels);
	return 0;
}

/*
 * mergeSortedSlice: returns a new array interleaving `left` (live-only
 * items) and `right` (patch items), both already sorted, by their
 * positions in `server`; when either is not live, `right` goes first.
 */
static json_t *merge_sorted(const json_t *left, const json_t *right,
			    const json_t *server, const char *mk)
{
	size_t nl = json_array_size(left), nr = json_array_size(right);
	size_t i = 0, j = 0;
	json_t *out = json_array();

	while (i < nl || j < nr) {
		bool take_left;

		if (i >= nl) {
			take_left = false;
		} else if (j >= nr) {
			take_left = true;
		} else {
			long li = index_of(server, json_array_get(left, i), mk);
			long ri =
				index_of(server, json_array_get(right, j), mk);

			take_left = li >= 0 && ri >= 0 && li < ri;
		}
		if (take_left)
			json_array_append(out, json_array_get(left, i++));
		else
			json_array_append(out, json_array_get(right, j++));
	}
	return out;
}

/*
 * Splits `merged` into the items present in `by` (new reference in
 * *present) and the others (*absent), keeping order.
 */
static int partition(const json_t *merged, const json_t *by, const char *mk,
		     struct smp_err *e, json_t **present, json_t **absent)
{
	size_t i;
	json_t *v;

	*present = json_array();
	*absent = json_array();
	json_array_foreach(merged, i, v)
	{
		if (mk && !json_is_object(v))
			goto bad_type;
		if (mk && !json_object_get(v, mk))
			goto no_key;
		json_array_append(index_of(by, v, mk) >= 0 ? *present : *absent,
				  v);
	}
	return 0;
bad_type:
	json_decref(*present);
	json_decref(*absent);
	return fail_bad_arg_type(e, "map[string]interface {}", v);
no_key:
	json_decref(*present);
	json_decref(*absent);
	return fail_no_merge_key(e, v, mk);
}

/*
 * normalizeElementOrder: items of `merged` named in `patch_order` in that
 * order, the rest in `server` order, interleaved by live position.
 * `server` may be NULL (no live list).
 */
static int order_merged(const json_t *merged, const json_t *patch_order,
			const json_t *server, const char *mk, struct smp_err *e,
			json_t **out)
{
	json_t *present = NULL, *absent = NULL, *empty = json_array();
	int rc;

	if (!server)
		server = empty;
	*out = NULL;
	rc = partition(merged, patch_order, mk, e, &present, &absent);
	if (rc)
		goto done;
	if ((rc = sort_by_order(present, patch_order, mk, e)) ||
	    (rc = sort_by_order(absent, server, mk, e)))
		goto done;
	*out = merge_sorted(absent, present, server, mk);
done:
	json_decref(present);
	json_decref(absent);
	json_decref(empty);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Lists                                                              */
/* ------------------------------------------------------------------ */

static int fail_mixed(struct smp_err *e, const json_t *a, const json_t *b)
{
	json_t *both = json_array();
	char *s;
	int rc;

	json_array_append(both, a ? (json_t *)a : json_null());
	json_array_append(both, b ? (json_t *)b : json_null());
	s = gostr(both);
	rc = err_set(e->buf, e->len, ERR_BADREQUEST,
		     "list element types are not identical: %s", s);
	free(s);
	json_decref(both);
	return rc;
}

/*
 * sliceElementType over both lists (either may be NULL): every element
 * must have the same kind and none may be a list. *cls gets that kind.
 */
static int elem_class(const json_t *a, const json_t *b, struct smp_err *e,
		      enum vclass *cls)
{
	const json_t *lists[2] = {a, b};
	bool seen = false;
	size_t l, i;

	for (l = 0; l < 2; l++) {
		for (i = 0; i < json_array_size(lists[l]); i++) {
			enum vclass c = vclass_of(json_array_get(lists[l], i));

			if (!seen && c == V_ARRAY)
				return fail(e, "lists of lists are not "
					       "supported");
			if (seen && c != *cls)
				return fail_mixed(e, a, b);
			*cls = c;
			seen = true;
		}
	}
	if (!seen)
		return fail(e, "no elements in any of the given slices");
	return 0;
}

/* New array: a shallow copy of `list` (elements shared). */
static json_t *array_copy(const json_t *list)
{
	json_t *out = json_array();

	json_array_extend(out, (json_t *)list);
	return out;
}

/* Removes every element of `list` whose merge key value equals `val`. */
static void delete_matching(json_t *list, const char *mk, const json_t *val)
{
	size_t i = 0;

	while (i < json_array_size(list)) {
		json_t *m = json_object_get(json_array_get(list, i), mk);

		if (m && value_eq(m, val))
			json_array_remove(list, i);
		else
			i++;
	}
}

/*
 * mergeSliceWithSpecialElements: applies "$patch" elements. On success
 * *server is the live list after deletions (or the replacement list) and
 * *rest the patch elements still to merge; both new references.
 */
static int apply_special(const json_t *live, const json_t *patch,
			 const char *mk, struct smp_err *e, json_t **server,
			 json_t **rest)
{
	bool replace = false;
	size_t i;
	json_t *v;
	int rc = 0;

	*server = array_copy(live);
	*rest = json_array();
	json_array_foreach(patch, i, v)
	{
		json_t *d = json_object_get(v, DIRECTIVE);
		const char *ds = json_is_string(d) ? json_string_value(d) : "";

		if (!d) {
			json_array_append(*rest, v);
		} else if (strcmp(ds, "delete") == 0) {
			json_t *val = json_object_get(v, mk);

			if (!val) {
				rc = fail_no_merge_key(e, v, mk);
				goto fail;
			}
			delete_matching(*server, mk, val);
		} else if (strcmp(ds, "replace") == 0) {
			replace = true;
		} else if (strcmp(ds, "merge") == 0) {
			rc = fail(e, "merging lists cannot yet be specified in "
				     "the patch");
			goto fail;
		} else {
			rc = fail_bad_patch_type(e, d, v);
			goto fail;
		}
	}
	if (replace) {
		json_decref(*server);
		*server = clean(*rest);
		json_array_clear(*rest);
	}
	return 0;
fail:
	json_decref(*server);
	json_decref(*rest);
	*server = *rest = NULL;
	return rc;
}

static int merge_map(json_t *orig, const json_t *patch,
		     const struct smp_field *fields, struct smp_err *e,
		     json_t **out);

/*
 * mergeSliceWithoutSpecialElements: returns in *out a new array, `server`
 * with each element of `rest` merged into the element with the same merge
 * key (searched among the elements added so far too) or appended.
 */
static int merge_keyed(const json_t *server, const json_t *rest, const char *mk,
		       const struct smp_field *elem_fields, struct smp_err *e,
		       json_t **out)
{
	json_t *merged = array_copy(server), *v;
	size_t i;
	int rc = 0;

	json_array_foreach(rest, i, v)
	{
		json_t *val = json_object_get(v, mk), *res = NULL;
		long at;

		if (!val) {
			rc = fail_no_merge_key(e, v, mk);
			goto fail;
		}
		at = index_of(merged, v, mk);
		if (at < 0) {
			json_array_append_new(merged, clean(v));
			continue;
		}
		rc = merge_map(json_array_get(merged, (size_t)at), v,
			       elem_fields, e, &res);
		if (rc)
			goto fail;
		json_array_set_new(merged, (size_t)at, res);
	}
	*out = merged;
	return 0;
fail:
	json_decref(merged);
	*out = NULL;
	return rc;
}

/* New array: `live` without the elements listed in `del`. */
static json_t *delete_from(const json_t *live, const json_t *del)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(live, i, v) if (index_of(del, v, NULL) < 0)
		json_array_append(out, v);
	return out;
}

/* New array: the union of `a` then `b`, duplicates dropped. */
static json_t *union_of(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(a, i, v) if (index_of(out, v, NULL) < 0)
		json_array_append(out, v);
	json_array_foreach(b, i, v) if (index_of(out, v, NULL) < 0)
		json_array_append(out, v);
	return out;
}

/*
 * mergeSlice for a list with patchStrategy "merge": `live` and `patch` are
 * arrays; `del_list` is set for a $deleteFromPrimitiveList list.
 */
static int merge_slice(json_t *live, const json_t *patch,
		       const struct smp_field *f, bool del_list,
		       struct smp_err *e, json_t **out)
{
	json_t *server = NULL, *rest = NULL, *merged = NULL;
	const char *mk = f->merge_key;
	enum vclass cls = V_NULL;
	int rc;

	*out = NULL;
	if (json_array_size(live) == 0 && json_array_size(patch) == 0) {
		*out = json_incref(live);
		return 0;
	}
	if ((rc = elem_class(live, patch, e, &cls)))
		return rc;
	if (cls != V_OBJECT) {
		if (del_list) {
			*out = delete_from(live, patch);
			return 0;
		}
		merged = union_of(live, patch);
		rc = order_merged(merged, patch, live, NULL, e, out);
		json_decref(merged);
		return rc;
	}
	if (!mk)
		return err_set(e->buf, e->len, ERR_BADREQUEST,
			       "cannot merge lists without merge key for %s",
			       f->name);
	rc = apply_special(live, patch, mk, e, &server, &rest);
	if (rc)
		goto done;
	rc = merge_keyed(server, rest, mk, f->fields, e, &merged);
	if (rc)
		goto done;
	rc = order_merged(merged, rest, server, mk, e, out);
done:
	json_decref(server);
	json_decref(rest);
	json_decref(merged);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Maps                                                               */
/* ------------------------------------------------------------------ */

/* handleDirectiveInMergeMap */
static int map_directive(const json_t *d, const json_t *patch,
			 struct smp_err *e, json_t **out)
{
	const char *ds = json_is_string(d) ? json_string_value(d) : "";

	if (strcmp(ds, "replace") == 0) {
		*out = clean(patch);
		return 0;
	}
	if (strcmp(ds, "delete") == 0) {
		*out = json_object();
		return 0;
	}
	*out = NULL;
	return fail_bad_patch_type(e, d, patch);
}

/* Does the list of strings `list` contain `s`? */
static bool list_has_string(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) if (json_is_string(v) &&
					   strcmp(json_string_value(v), s) ==
						   0) return true;
	return false;
}

/* applyRetainKeysDirective with MergeParallelList. */
static int apply_retain_keys(json_t *orig, const json_t *patch,
			     struct smp_err *e)
{
	json_t *rk = json_object_get(patch, RETAIN_KEYS), *v;
	const char *k;
	void *tmp;

	if (!rk)
		return 0;
	if (!json_is_array(rk))
		return fail(e, "invalid patch format of retainKeys");
	json_object_foreach((json_t *)patch, k, v)
	{
		if (json_is_null(v) || strcmp(k, RETAIN_KEYS) == 0 ||
		    has_prefix(k, DELETE_PREFIX) || has_prefix(k, ORDER_PREFIX))
			continue;
		if (!list_has_string(rk, k))
			return fail(e, "invalid patch format of retainKeys");
	}
	json_object_foreach_safe(orig, tmp, k, v) if (!list_has_string(rk, k))
		json_object_del(orig, k);
	return 0;
}

/* extractKey: the field name after "<prefix>/", or NULL. */
static const char *directive_field(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(key, prefix, n) != 0 || key[n] != '/')
		return NULL;
	return key + n + 1;
}

/* mergeKeyValueEqual for $setElementOrder validation. */
static int keys_equal(const json_t *a, const json_t *b, const char *mk,
		      struct smp_err *e, bool *eq)
{
	if (!mk) {
		*eq = value_eq(a, b);
		return 0;
	}
	if (!json_is_object(a))
		return fail_bad_arg_type(e, "map[string]interface {}", a);
	if (!json_is_object(b))
		return fail_bad_arg_type(e, "map[string]interface {}", b);
	if (!json_object_get(a, mk))
		return fail_no_merge_key(e, a, mk);
	if (!json_object_get(b, mk))
		return fail_no_merge_key(e, b, mk);
	*eq = value_eq(json_object_get(a, mk), json_object_get(b, mk));
	return 0;
}

/* Fails with apimachinery's text when the order check fails. */
static int fail_order(struct smp_err *e, const json_t *plist,
		      const json_t *order)
{
	char *a = gostr(plist);
	char *b = gostr(order);
	int rc = err_set(e->buf, e->len, ERR_BADREQUEST,
			 "The order in patch list:\n%s\n doesn't match "
			 "$setElementOrder list:\n%s\n",
			 a, b);

	free(a);
	free(b);
	return rc;
}

/* New array: the elements of `plist` that are not "$patch": "delete". */
static int without_deletions(const json_t *plist, struct smp_err *e,
			     json_t **out)
{
	size_t i;
	json_t *v;

	*out = json_array();
	json_array_foreach(plist, i, v)
	{
		json_t *d = json_object_get(v, DIRECTIVE);

		if (!json_is_object(v)) {
			json_decref(*out);
			*out = NULL;
			return fail_bad_arg_type(e, "map[string]interface {}",
						 v);
		}
		if (!json_is_string(d) ||
		    strcmp(json_string_value(d), "delete") != 0)
			json_array_append(*out, v);
	}
	return 0;
}

/*
 * validatePatchWithSetOrderList: the patch list (deletions and directive
 * elements aside) must be a subsequence of the order list.
 */
static int check_order(const json_t *plist, const json_t *order, const char *mk,
		       struct smp_err *e)
{
	size_t np, no = json_array_size(order), pi = 0, si = 0;
	json_t *keep = NULL;
	int rc = 0;

	if (json_array_size(plist) == 0 || no == 0)
		return 0;
	if (mk)
		rc = without_deletions(plist, e, &keep);
	else
		keep = json_incref((json_t *)plist);
	if (rc)
		return rc;
	np = json_array_size(keep);
	while (pi < np && si < no) {
		const json_t *p = json_array_get(keep, pi);
		bool eq = false;

		if (is_directive_elem(p)) {
			pi++;
			continue;
		}
		rc = keys_equal(p, json_array_get(order, si), mk, e, &eq);
		if (rc)
			goto done;
		pi += eq;
		si++;
	}
	if (pi < np)
		rc = fail_order(e, plist, order);
done:
	json_decref(keep);
	return rc;
}

/* The value one list takes before ordering (mergePatchIntoOriginal). */
static int order_source(json_t *live, const json_t *plist,
			const struct smp_field *f, struct smp_err *e,
			json_t **out)
{
	*out = NULL;
	if (live && !plist) {
		*out = json_incref(live);
		return 0;
	}
	if (!live || !strategy_has(f, "merge")) {
		*out = clean(plist);
		return 0;
	}
	return merge_slice(live, plist, f, false, e, out);
}

/* Handles one "$setElementOrder/<field>" key; marks <field> done. */
static int apply_one_order(json_t *orig, const json_t *patch, const char *key,
			   const json_t *order, const struct smp_field *fields,
			   json_t *done, struct smp_err *e)
{
	const char *k = directive_field(key, ORDER_PREFIX);
	json_t *live, *plist, *merged = NULL, *result = NULL;
	const struct smp_field *f;
	enum vclass cls = V_NULL;
	const char *mk;
	int rc;

	if (!json_is_array(order))
		return fail_bad_arg_type(e, "[]interface {}", order);
	if (!k)
		return fail(e, "invalid patch format of setElementOrder list");
	live = json_object_get(orig, k);
	plist = json_object_get(patch, k);
	if (live && !json_is_array(live))
		return fail_bad_arg_type(e, "[]interface {}", live);
	if (plist && !json_is_array(plist))
		return fail_bad_arg_type(e, "[]interface {}", plist);
	f = field_find(fields, k);
	mk = f ? f->merge_key : NULL;
	if ((rc = check_order(plist, order, mk, e)))
		return rc;
	if (!live && !plist)
		return 0;
	if ((rc = elem_class(live, plist, e, &cls)))
		return rc;
	if (cls != V_OBJECT)
		mk = NULL;
	if ((rc = order_source(live, plist, f, e, &merged)))
		return rc;
	rc = order_merged(merged, order, live, mk, e, &result);
	json_decref(merged);
	if (rc)
		return rc;
	json_object_set_new(orig, k, result);
	json_object_set_new(done, k, json_true());
	return 0;
}

/* mergePatchIntoOriginal: every $setElementOrder key of `patch`. */
static int apply_orders(json_t *orig, const json_t *patch,
			const struct smp_field *fields, json_t *done,
			struct smp_err *e)
{
	const char *key;
	json_t *v;
	int rc;

	json_object_foreach((json_t *)patch, key, v)
	{
		if (!has_prefix(key, ORDER_PREFIX))
			continue;
		rc = apply_one_order(orig, patch, key, v, fields, done, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* One member of mergeMap's loop: merges patch value `pv` into orig[k]. */
static int merge_member(json_t *orig, const char *k, const json_t *pv,
			const struct smp_field *f, bool del_list,
			struct smp_err *e)
{
	json_t *ov = json_object_get(orig, k), *res = NULL;
	int rc = 0;

	if (json_is_null(pv)) {
		json_object_del(orig, k);
		return 0;
	}
	if (!ov || vclass_of(ov) != vclass_of(pv)) {
		if (!del_list)
			json_object_set_new(orig, k, clean(pv));
		return 0;
	}
	if (json_is_object(ov) && !strategy_has(f, "replace"))
		rc = merge_map(ov, pv, f ? f->fields : NULL, e, &res);
	else if (json_is_array(ov) && strategy_has(f, "merge"))
		rc = merge_slice(ov, pv, f, del_list, e, &res);
	else
		res = clean(pv);
	if (rc)
		return rc;
	json_object_set_new(orig, k, res);
	return 0;
}

/* The loop of mergeMap over the ordinary and deletion-list members. */
static int merge_members(json_t *orig, const json_t *patch,
			 const struct smp_field *fields, const json_t *done,
			 struct smp_err *e)
{
	const char *key;
	json_t *pv;
	int rc;

	json_object_foreach((json_t *)patch, key, pv)
	{
		const char *k = key;
		bool del_list = false;

		if (json_object_get(done, key) || has_prefix(key, ORDER_PREFIX))
			continue;
		if (has_prefix(key, DELETE_PREFIX)) {
			k = directive_field(key, DELETE_PREFIX);
			if (!k)
				return fail(e, "invalid patch format of "
					       "primitive list");
			del_list = true;
		} else if (key[0] == '$') {
			continue; /* $retainKeys, unknown directives */
		}
		rc = merge_member(orig, k, pv, field_find(fields, k), del_list,
				  e);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * mergeMap: merges object `patch` into object `orig` (changed in place;
 * NULL is an empty object) and returns the result, a new reference.
 */
static int merge_map(json_t *orig, const json_t *patch,
		     const struct smp_field *fields, struct smp_err *e,
		     json_t **out)
{
	json_t *d = json_object_get(patch, DIRECTIVE), *done = NULL;
	int rc;

	*out = NULL;
	if (d)
		return map_directive(d, patch, e, out);
	orig = orig ? json_incref(orig) : json_object();
	done = json_object();
	if ((rc = apply_retain_keys(orig, patch, e)) ||
	    (rc = apply_orders(orig, patch, fields, done, e)) ||
	    (rc = merge_members(orig, patch, fields, done, e)))
		goto fail;
	json_decref(done);
	*out = orig;
	return 0;
fail:
	json_decref(done);
	json_decref(orig);
	return rc;
}

int smp_apply(const json_t *target, const json_t *patch, const char *kind,
	      json_t **out, char *errbuf, size_t errlen)
{
	struct smp_err e = {errbuf, errlen};
	json_t *orig = NULL, *p = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !patch || !json_is_object(target))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "smp_apply: target must be an object");
	if (json_is_null(patch)) {
		*out = json_deep_copy(target);
		return 0;
	}
	if (!json_is_object(patch))
		return err_set(errbuf, errlen, ERR_BADREQUEST,
			       "json: cannot unmarshal %s into Go value of "
			       "type map[string]interface {}",
			       json_is_array(patch)    ? "array"
			       : json_is_string(patch) ? "string"
			       : json_is_number(patch) ? "number"
						       : "bool");
	orig = json_deep_copy(target);
	p = json_deep_copy(patch);
	rc = merge_map(orig, p, kind_fields(kind), &e, out);
	json_decref(orig);
	json_decref(p);
	return rc;
}
