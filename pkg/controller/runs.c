/*
 * runs: the Rollout controller's side of AnalysisRuns -- the planner's
 * views of the runs a Rollout owns, and carrying out the plan's run
 * actions.
 *
 * Creating a run resolves what the planner left symbolic: the templates
 * (a GET of each AnalysisTemplate or ClusterAnalysisTemplate) and the
 * arguments (literals, the stable or latest pod-template hash, a field of
 * the Rollout; Secret-backed ones stay references, read only when
 * measuring). When that fails -- a template missing or invalid, an
 * argument without a value -- the run is still created, with no metrics
 * and the reason in the ANN_RUN_ERROR annotation: the analysis controller
 * ends it in Error with that reason and the Rollout aborts, so the
 * problem shows in `kubectl describe` instead of a rollout stuck at its
 * step.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/run.h"
#include "controller/controller_internal.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

void run_views_release(struct run_views *rv)
{
	for (size_t i = 0; i < rv->n; i++)
		json_decref(rv->json[i]);
	kube_obj_array_free(rv->obj, rv->n);
	free(rv->json);
	free(rv->v);
	memset(rv, 0, sizeof(*rv));
}

void run_views_build(struct controller *c, const struct rollout *ro,
		     struct run_views *rv)
{
	struct kube_store *st = informer_store(c->runs);
	size_t n = kube_store_by_owner(st, ro->uid, &rv->obj);

	rv->n = n;
	rv->json = xcalloc(n ? n : 1, sizeof(*rv->json));
	rv->v = xcalloc(n ? n : 1, sizeof(*rv->v));
	for (size_t i = 0; i < n; i++) {
		json_t *o = kube_obj_parse(rv->obj[i]);
		json_t *status = json_object_get(o, "status");
		struct run_view *v = &rv->v[i];

		rv->json[i] = o;
		v->name = rv->obj[i]->name;
		v->kind = kube_obj_label(rv->obj[i], LABEL_RUN_KIND);
		v->hash = kube_obj_label(rv->obj[i], LABEL_POD_TEMPLATE_HASH);
		v->phase = json_string_value(json_object_get(status, "phase"));
		v->message =
			json_string_value(json_object_get(status, "message"));
		v->terminate = json_is_true(json_object_get(
			json_object_get(o, "spec"), "terminate"));
		v->deleting = rv->obj[i]->deleting;
	}
}

/* ---- argument resolution ---- */

/* A field of the Rollout by path: "metadata.name", "spec.replicas",
 * "metadata.labels['app']" or metadata.labels.app. New string or NULL. */
static char *field_value(json_t *obj, const char *path)
{
	const char *s = path;
	json_t *v = obj;
	char key[256];
	size_t n;

	while (*s && v) {
		if (*s == '[') {
			char q = s[1];
			const char *e;

			if (q != '\'' && q != '"')
				return NULL;
			e = strchr(s + 2, q);
			if (!e || e[1] != ']')
				return NULL;
			n = (size_t)(e - (s + 2));
			if (n >= sizeof(key))
				return NULL;
			memcpy(key, s + 2, n);
			s = e + 2;
		} else {
			n = strcspn(s, ".[");
			if (n == 0 || n >= sizeof(key))
				return NULL;
			memcpy(key, s, n);
			s += n;
		}
		key[n] = '\0';
		if (*s == '.')
			s++;
		v = json_object_get(v, key);
	}
	if (!v || *s)
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_number(v) || json_is_boolean(v))
		return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return NULL;
}

static int resolve_args(const struct rollout *ro, json_t *obj,
			const struct plan *p, const struct run_action *act,
			struct run_arg *out, char *err, size_t errlen)
{
	const struct rollout_analysis *a = act->analysis;
	const char *stable =
		json_string_value(json_object_get(p->status, "stableRS"));

	for (size_t i = 0; i < a->n_args; i++) {
		const struct analysis_arg *g = &a->args[i];
		struct run_arg *r = &out[i];

		r->name = g->name;
		switch (g->from) {
		case ARG_VALUE:
			r->value = xstrdup(g->value);
			break;
		case ARG_STABLE_HASH:
			r->value = xstrdup(stable ? stable : act->hash);
			break;
		case ARG_LATEST_HASH:
			r->value = xstrdup(act->hash);
			break;
		case ARG_FIELD:
			r->value = field_value(obj, g->value);
			if (!r->value)
				return err_set(err, errlen, ERR_INVAL,
					       "argument \"%s\": the Rollout "
					       "has no field %s",
					       g->name, g->value);
			break;
		case ARG_SECRET:
			r->secret_name = g->secret;
			r->secret_key = g->key;
			break;
		}
	}
	(void)ro;
	return 0;
}

static int fetch_templates(struct controller *c, const struct rollout *ro,
			   const struct rollout_analysis *a, json_t **t,
			   char *err, size_t errlen)
{
	for (size_t i = 0; i < a->n_templates; i++) {
		const struct analysis_template_ref *ref = &a->templates[i];
		struct kube_error e = KUBE_ERROR_INIT;
		int rc = kube_get(c->client,
				  ref->cluster ? &KNIT_CLUSTERANALYSISTEMPLATES
					       : &KNIT_ANALYSISTEMPLATES,
				  ref->cluster ? NULL : ro->ns, ref->name,
				  &t[i], &e);

		if (rc == ERR_NOTFOUND)
			err_set(err, errlen, rc, "%s \"%s\" not found",
				ref->cluster ? "ClusterAnalysisTemplate"
					     : "AnalysisTemplate",
				ref->name);
		else if (rc)
			err_set(err, errlen, rc, "cannot read %s: %s",
				ref->name, e.message);
		kube_error_release(&e);
		if (rc)
			return rc;
	}
	return 0;
}

/* Label values are at most 63 characters: a longer Rollout name is left
 * out (the ownerReference names the Rollout anyway) rather than have the
 * API server refuse the run and the Rollout wait at its gate forever. */
#define LABEL_VALUE_MAX 63

static json_t *run_labels(const struct rollout *ro,
			  const struct run_action *act)
{
	json_t *l = json_pack("{s:s,s:s}", LABEL_RUN_KIND, act->kind_label,
			      LABEL_POD_TEMPLATE_HASH, act->hash);

	if (l && strlen(ro->name) <= LABEL_VALUE_MAX)
		json_object_set_new(l, LABEL_RUN_ROLLOUT,
				    json_string(ro->name));
	return l;
}

/* API failures that say nothing about the template: retried, not turned
 * into a run that ends in Error (which would abort the Rollout). */
static bool transient(int rc)
{
	return rc == ERR_TRANSPORT || rc == ERR_TIMEOUT || rc == ERR_INTERNAL ||
	       rc == ERR_TOOMANY || rc == ERR_UNAUTHORIZED || rc == ERR_GONE;
}

static json_t *owner_of(const struct rollout *ro)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion",
			 ROLLOUT_GROUP "/" ROLLOUT_VERSION, "kind",
			 ROLLOUT_KIND, "name", ro->name, "uid", ro->uid,
			 "controller", 1, "blockOwnerDeletion", 1);
}

/* A run that can only end in Error with `why`. */
static json_t *error_run(const struct rollout *ro, const char *name,
			 json_t *labels, json_t *owner, const char *why)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:{s:s},s:[O]},s:{s:[]}}",
			 "apiVersion", ROLLOUT_GROUP "/" ROLLOUT_VERSION,
			 "kind", "AnalysisRun", "metadata", "name", name,
			 "namespace", ro->ns, "labels", labels, "annotations",
			 ANN_RUN_ERROR, why, "ownerReferences", owner, "spec",
			 "metrics");
}

/* Builds the run object for a RUN_CREATE (new reference); *why gets the
 * problem when the run had to be built as an error run. NULL (with *why
 * set) when a template could not be read for a passing reason: the
 * caller tries again later. */
static json_t *build_run(struct controller *c, const struct apply_input *in,
			 const struct plan *p, const struct run_action *act,
			 char *why, size_t whylen)
{
	const struct rollout *ro = in->ro;
	const struct rollout_analysis *a = act->analysis;
	json_t **t = xcalloc(a->n_templates + 1, sizeof(*t));
	struct run_arg *args = xcalloc(a->n_args + 1, sizeof(*args));
	json_t *labels = run_labels(ro, act), *owner = owner_of(ro);
	json_t *run = NULL;
	int rc;

	why[0] = '\0';
	rc = fetch_templates(c, ro, a, t, why, whylen);
	if (!rc)
		rc = resolve_args(ro, in->obj, p, act, args, why, whylen);
	if (!rc)
		rc = run_build(ro->ns, act->name, (const json_t *const *)t,
			       a->n_templates, args, a->n_args, labels, owner,
			       &run, why, whylen);
	if (rc && !transient(rc))
		run = error_run(ro, act->name, labels, owner, why);
	for (size_t i = 0; i < a->n_templates; i++)
		json_decref(t[i]);
	for (size_t i = 0; i < a->n_args; i++)
		free(args[i].value);
	free(t);
	free(args);
	json_decref(labels);
	json_decref(owner);
	return run;
}

static bool run_create(struct controller *c, const struct apply_input *in,
		       const struct plan *p, const struct run_action *act,
		       const struct event_ref *ref)
{
	struct kube_error e = KUBE_ERROR_INIT;
	char why[512];
	json_t *run = build_run(c, in, p, act, why, sizeof(why));
	int rc;

	if (!run) {
		LOG_WARNF("cannot create analysis run, will retry",
			  "object=%s/%s run=%s error=\"%s\"", in->ro->ns,
			  in->ro->name, act->name, why);
		return false;
	}
	rc = kube_create(c->client, &KNIT_ANALYSISRUNS, in->ro->ns, run, NULL,
			 NULL, &e);
	json_decref(run);
	if (rc == ERR_EXISTS)
		rc = 0;
	else if (rc)
		LOG_WARNF("cannot create analysis run",
			  "object=%s/%s run=%s err=%s", in->ro->ns,
			  in->ro->name, act->name, err_name(rc));
	else if (c->recorder && why[0])
		event_record(c->recorder, ref, "Warning", "AnalysisRunInvalid",
			     "Analysis run %s cannot measure: %s", act->name,
			     why);
	else if (c->recorder)
		event_record(c->recorder, ref, "Normal", "AnalysisRunStarted",
			     "Started analysis run %s (%s)", act->name,
			     act->kind_label);
	kube_error_release(&e);
	return rc == 0;
}

static bool run_terminate(struct controller *c, const char *ns,
			  const struct run_action *act)
{
	struct kube_error e = KUBE_ERROR_INIT;
	json_t *patch = json_pack("{s:{s:b}}", "spec", "terminate", 1);
	int rc = kube_patch(c->client, &KNIT_ANALYSISRUNS, ns, act->name, NULL,
			    KUBE_PATCH_MERGE, patch, NULL, NULL, &e);

	json_decref(patch);
	kube_error_release(&e);
	return rc == 0 || rc == ERR_NOTFOUND;
}

static bool run_delete(struct controller *c, const char *ns,
		       const struct run_action *act)
{
	struct kube_error e = KUBE_ERROR_INIT;
	struct kube_delete_options o = KUBE_DELETE_OPTIONS_INIT;
	int rc;

	o.propagation = "Background";
	rc = kube_delete(c->client, &KNIT_ANALYSISRUNS, ns, act->name, &o, &e);
	kube_error_release(&e);
	return rc == 0 || rc == ERR_NOTFOUND;
}

bool runs_apply(struct controller *c, const struct apply_input *in,
		const struct plan *p, const struct event_ref *ref)
{
	bool ok = true;

	for (size_t i = 0; i < p->n_runs; i++) {
		const struct run_action *act = &p->runs[i];

		switch (act->kind) {
		case RUN_CREATE:
			ok = run_create(c, in, p, act, ref) && ok;
			break;
		case RUN_TERMINATE:
			ok = run_terminate(c, in->ro->ns, act) && ok;
			break;
		case RUN_DELETE:
			ok = run_delete(c, in->ro->ns, act) && ok;
			break;
		}
	}
	return ok;
}
