/*
 * rollout_analysis: the `analysis` blocks of a Rollout spec -- a canary
 * step's analysis, the canary's background analysis and blue-green's
 * pre- and post-promotion analysis. Each names AnalysisTemplates (or
 * ClusterAnalysisTemplates) and the arguments to run them with; problems
 * become InvalidSpec sentences naming the field, like the rest of the spec.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"

static const char *str_of(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

static void parse_templates(struct rollout *r, const json_t *list,
			    const char *path, struct rollout_analysis *a)
{
	size_t i;
	json_t *t;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		rollout_add_invalid(r,
				    "%s.templates: must list at least one "
				    "template",
				    path);
		return;
	}
	a->templates = xcalloc(json_array_size(list), sizeof(*a->templates));
	json_array_foreach(list, i, t)
	{
		const char *name = str_of(t, "templateName");
		json_t *cs = json_object_get(t, "clusterScope");

		if (!name) {
			rollout_add_invalid(r,
					    "%s.templates[%zu].templateName: "
					    "is required",
					    path, i);
			continue;
		}
		if (cs && !json_is_boolean(cs))
			rollout_add_invalid(r,
					    "%s.templates[%zu].clusterScope: "
					    "must be true or false",
					    path, i);
		a->templates[a->n_templates].name = xstrdup(name);
		a->templates[a->n_templates].cluster = json_is_true(cs);
		a->n_templates++;
	}
}

/* valueFrom of argument i; returns false (after an InvalidSpec sentence)
 * when it is not exactly one supported source. */
static bool parse_value_from(struct rollout *r, const json_t *vf,
			     const char *at, struct analysis_arg *arg)
{
	const char *h = str_of(vf, "podTemplateHashValue");
	json_t *fr = json_object_get(vf, "fieldRef");
	json_t *sk = json_object_get(vf, "secretKeyRef");

	if (!json_is_object(vf) || json_object_size(vf) != 1) {
		rollout_add_invalid(r,
				    "%s.valueFrom: must set exactly one of "
				    "podTemplateHashValue, fieldRef or "
				    "secretKeyRef",
				    at);
		return false;
	}
	if (h && (strcmp(h, "Stable") == 0 || strcmp(h, "Latest") == 0)) {
		arg->from = h[0] == 'S' ? ARG_STABLE_HASH : ARG_LATEST_HASH;
		return true;
	}
	if (json_object_get(vf, "podTemplateHashValue")) {
		rollout_add_invalid(r,
				    "%s.valueFrom.podTemplateHashValue: must "
				    "be Stable or Latest",
				    at);
		return false;
	}
	if (fr) {
		if (!str_of(fr, "fieldPath")) {
			rollout_add_invalid(r,
					    "%s.valueFrom.fieldRef.fieldPath: "
					    "is required",
					    at);
			return false;
		}
		arg->from = ARG_FIELD;
		arg->value = xstrdup(str_of(fr, "fieldPath"));
		return true;
	}
	if (!str_of(sk, "name") || !str_of(sk, "key")) {
		rollout_add_invalid(r,
				    "%s.valueFrom.secretKeyRef: needs name "
				    "and key",
				    at);
		return false;
	}
	arg->from = ARG_SECRET;
	arg->secret = xstrdup(str_of(sk, "name"));
	arg->key = xstrdup(str_of(sk, "key"));
	return true;
}

static void parse_args(struct rollout *r, const json_t *list, const char *path,
		       struct rollout_analysis *a)
{
	char at[192];
	size_t i;
	json_t *v;

	if (!list)
		return;
	if (!json_is_array(list)) {
		rollout_add_invalid(r, "%s.args: must be a list", path);
		return;
	}
	a->args = xcalloc(json_array_size(list) + 1, sizeof(*a->args));
	json_array_foreach(list, i, v)
	{
		struct analysis_arg *arg = &a->args[a->n_args];
		const char *name = str_of(v, "name");
		json_t *val = json_object_get(v, "value");
		json_t *vf = json_object_get(v, "valueFrom");

		snprintf(at, sizeof(at), "%s.args[%zu]", path, i);
		if (!name) {
			rollout_add_invalid(r, "%s.name: is required", at);
			continue;
		}
		if ((val != NULL) == (vf != NULL)) {
			rollout_add_invalid(r,
					    "%s: must set exactly one of value "
					    "or valueFrom",
					    at);
			continue;
		}
		if (val && !json_is_string(val)) {
			rollout_add_invalid(r, "%s.value: must be a string",
					    at);
			continue;
		}
		if (val) {
			arg->from = ARG_VALUE;
			arg->value = xstrdup(json_string_value(val));
		} else if (!parse_value_from(r, vf, at, arg)) {
			free(arg->value);
			free(arg->secret);
			free(arg->key);
			memset(arg, 0, sizeof(*arg));
			continue;
		}
		arg->name = xstrdup(name);
		a->n_args++;
	}
}

struct rollout_analysis *rollout_analysis_parse(struct rollout *r,
						const json_t *v,
						const char *path,
						bool background)
{
	struct rollout_analysis *a;
	json_t *ss;

	if (!v)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	if (!json_is_object(v)) {
		rollout_add_invalid(r, "%s: must be an object", path);
		return a;
	}
	parse_templates(r, json_object_get(v, "templates"), path, a);
	parse_args(r, json_object_get(v, "args"), path, a);
	ss = json_object_get(v, "startingStep");
	if (background && ss) {
		if (!json_is_integer(ss) || json_integer_value(ss) < 0 ||
		    json_integer_value(ss) > INT_MAX)
			rollout_add_invalid(r,
					    "%s.startingStep: must be a "
					    "non-negative integer",
					    path);
		else
			a->starting_step = (int)json_integer_value(ss);
	}
	return a;
}

void rollout_analysis_free(struct rollout_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_templates; i++)
		free(a->templates[i].name);
	free(a->templates);
	for (size_t i = 0; i < a->n_args; i++) {
		free(a->args[i].name);
		free(a->args[i].value);
		free(a->args[i].secret);
		free(a->args[i].key);
	}
	free(a->args);
	free(a);
}

json_t *rollout_analysis_json(const struct rollout_analysis *a)
{
	json_t *t = json_array(), *args = json_array();

	if (!a)
		return json_null();
	for (size_t i = 0; i < a->n_templates; i++)
		json_array_append_new(
			t, json_pack("{s:s,s:b}", "name", a->templates[i].name,
				     "cluster", a->templates[i].cluster));
	for (size_t i = 0; i < a->n_args; i++) {
		const struct analysis_arg *g = &a->args[i];

		json_array_append_new(
			args,
			json_pack("{s:s,s:i,s:s?,s:s?,s:s?}", "name", g->name,
				  "from", (int)g->from, "value", g->value,
				  "secret", g->secret, "key", g->key));
	}
	return json_pack("{s:o,s:o,s:i}", "templates", t, "args", args,
			 "startingStep", a->starting_step);
}
