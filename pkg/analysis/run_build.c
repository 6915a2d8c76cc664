/*
 * run_build: a new AnalysisRun from AnalysisTemplates and the caller's
 * arguments (run.h, run_build). Templates are checked with the same rules
 * as runs (metrics_parse); every message names the template it is about.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/run.h"
#include "analysis/run_internal.h"
#include "util/alloc.h"
#include "util/err.h"

/* One declared argument; strings are borrowed from the templates or the
 * caller's args. */
struct decl {
	const char *name;
	const char *value;
	const char *secret_name, *secret_key;
	const char *tmpl; /* the first template that declares it */
};

/* A metric name and the template it comes from (both borrowed). */
struct seen {
	const char *metric, *tmpl;
};

struct build {
	struct decl *decls;
	size_t n_decls;
	struct seen *seen;
	size_t n_seen;
	json_t *metrics; /* deep copies, in order */
};

static const char *str_member(const json_t *o, const char *key)
{
	json_t *v = run_field(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static struct decl *find_decl(struct build *b, const char *name)
{
	for (size_t i = 0; i < b->n_decls; i++)
		if (strcmp(b->decls[i].name, name) == 0)
			return &b->decls[i];
	return NULL;
}

/* Adds or completes the declaration of template arg `a` (spec.args[i]). */
static int add_decl(struct build *b, const char *tmpl, const json_t *a,
		    size_t i, char *err, size_t errlen)
{
	json_t *ref = run_field(run_field(a, "valueFrom"), "secretKeyRef");
	const char *name = str_member(a, "name");
	json_t *value = run_field(a, "value");
	struct decl *d;

	if (!name || !*name)
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template \"%s\": spec.args[%zu].name: "
			       "required",
			       tmpl, i);
	if (value && !json_is_string(value))
		return err_set(
			err, errlen, ERR_INVAL,
			"analysis template \"%s\": spec.args[%zu].value: "
			"must be a string",
			tmpl, i);
	if (!(d = find_decl(b, name))) {
		b->decls = xrealloc(b->decls,
				    (b->n_decls + 1) * sizeof(*b->decls));
		d = &b->decls[b->n_decls++];
		memset(d, 0, sizeof(*d));
		d->name = name;
		d->tmpl = tmpl;
	}
	if (d->value || d->secret_name)
		return 0;
	if (value) {
		d->value = json_string_value(value);
	} else if (str_member(ref, "name") && str_member(ref, "key")) {
		d->secret_name = str_member(ref, "name");
		d->secret_key = str_member(ref, "key");
	}
	return 0;
}

static int add_args(struct build *b, const char *tmpl, const json_t *args,
		    char *err, size_t errlen)
{
	int rc;

	if (!args)
		return 0;
	if (!json_is_array(args))
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template \"%s\": spec.args: must be a "
			       "list",
			       tmpl);
	for (size_t i = 0; i < json_array_size(args); i++)
		if ((rc = add_decl(b, tmpl, json_array_get(args, i), i, err,
				   errlen)) != 0)
			return rc;
	return 0;
}

/* Checks the template's metrics and appends copies of them. */
static int add_metrics(struct build *b, const char *tmpl, const json_t *metrics,
		       char *err, size_t errlen)
{
	struct metric_spec *m;
	char msg[512];
	size_t n;

	if (!metrics)
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template \"%s\": spec.metrics: "
			       "required",
			       tmpl);
	if (metrics_parse(metrics, &m, &n, msg, sizeof(msg)) != 0)
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template \"%s\": spec.%s", tmpl, msg);
	metrics_release(m, n);
	if (b->n_seen + n > RUN_METRICS_MAX)
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template \"%s\": the templates have "
			       "more than %d metrics together",
			       tmpl, RUN_METRICS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_t *mj = json_array_get(metrics, i);
		const char *name = str_member(mj, "name");

		/* metrics_parse() above required a non-empty string name. */
		assert(name != NULL);
		for (size_t k = 0; k < b->n_seen; k++)
			if (strcmp(b->seen[k].metric, name) == 0)
				return err_set(err, errlen, ERR_INVAL,
					       "analysis template \"%s\": "
					       "metric \"%s\" is already "
					       "defined by analysis template "
					       "\"%s\"",
					       tmpl, name, b->seen[k].tmpl);
		b->seen = xrealloc(b->seen, (b->n_seen + 1) * sizeof(*b->seen));
		b->seen[b->n_seen++] = (struct seen){name, tmpl};
		json_array_append_new(b->metrics, json_deep_copy(mj));
	}
	return 0;
}

static int add_template(struct build *b, const json_t *t, size_t i, char *err,
			size_t errlen)
{
	const char *name = str_member(run_field(t, "metadata"), "name");
	json_t *spec = run_field(t, "spec");
	int rc;

	if (!json_is_object(t))
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template %zu: not an object", i);
	if (!name)
		name = "(unnamed)";
	if (!json_is_object(spec))
		return err_set(err, errlen, ERR_INVAL,
			       "analysis template \"%s\": spec: required",
			       name);
	if ((rc = add_metrics(b, name, run_field(spec, "metrics"), err,
			      errlen)) != 0)
		return rc;
	return add_args(b, name, run_field(spec, "args"), err, errlen);
}

/* Applies the caller's args, then checks every declaration has a value. */
static int resolve_args(struct build *b, const struct run_arg *args,
			size_t n_args, char *err, size_t errlen)
{
	for (size_t i = 0; i < n_args; i++) {
		struct decl *d =
			args[i].name ? find_decl(b, args[i].name) : NULL;

		if (!d)
			continue;
		if (args[i].value) {
			d->value = args[i].value;
			d->secret_name = d->secret_key = NULL;
		} else if (args[i].secret_name && args[i].secret_key) {
			d->value = NULL;
			d->secret_name = args[i].secret_name;
			d->secret_key = args[i].secret_key;
		}
	}
	for (size_t i = 0; i < b->n_decls; i++)
		if (!b->decls[i].value && !b->decls[i].secret_name)
			return err_set(err, errlen, ERR_INVAL,
				       "analysis template \"%s\": argument "
				       "\"%s\" has no value",
				       b->decls[i].tmpl, b->decls[i].name);
	return 0;
}

static json_t *args_json(const struct build *b)
{
	json_t *a = json_array();

	for (size_t i = 0; i < b->n_decls; i++) {
		const struct decl *d = &b->decls[i];

		if (d->value)
			json_array_append_new(a, json_pack("{s:s, s:s}", "name",
							   d->name, "value",
							   d->value));
		else
			json_array_append_new(
				a,
				json_pack("{s:s, s:{s:{s:s, s:s}}}", "name",
					  d->name, "valueFrom", "secretKeyRef",
					  "name", d->secret_name, "key",
					  d->secret_key));
	}
	return a;
}

static json_t *run_object(const char *ns, const char *name, struct build *b,
			  const json_t *labels, const json_t *owner)
{
	json_t *meta = json_pack("{s:s}", "name", name);
	json_t *spec = json_object();

	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	if (labels)
		json_object_set_new(meta, "labels", json_deep_copy(labels));
	if (owner)
		json_object_set_new(meta, "ownerReferences",
				    json_pack("[o]", json_deep_copy(owner)));
	if (b->n_decls > 0)
		json_object_set_new(spec, "args", args_json(b));
	json_object_set(spec, "metrics", b->metrics);
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion",
			 "knit.dev/v1alpha1", "kind", "AnalysisRun", "metadata",
			 meta, "spec", spec);
}

int run_build(const char *ns, const char *name, const json_t *const *templates,
	      size_t n_templates, const struct run_arg *args, size_t n_args,
	      const json_t *labels, const json_t *owner, json_t **out,
	      char *err, size_t errlen)
{
	struct build b;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	*out = NULL;
	b.metrics = json_array();
	if (n_templates == 0) {
		rc = err_set(err, errlen, ERR_INVAL,
			     "no analysis template given");
		goto out;
	}
	for (size_t i = 0; i < n_templates && rc == 0; i++)
		rc = add_template(&b, templates[i], i, err, errlen);
	if (rc == 0)
		rc = resolve_args(&b, args, n_args, err, errlen);
	if (rc == 0 && !(*out = run_object(ns, name, &b, labels, owner)))
		rc = err_set(err, errlen, ERR_INVAL,
			     "the run's name and arguments must be UTF-8 text");
out:
	json_decref(b.metrics);
	free(b.decls);
	free(b.seen);
	return rc;
}
