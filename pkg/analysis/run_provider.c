/*
 * run_provider: validation of a metric's provider (prometheus, web or job;
 * see run.h) into the metric's own copy of the provider object, with the
 * defaults filled in. Messages start with the field's JSON path.
 */
#include <stdio.h>
#include <string.h>

#include "analysis/run.h"
#include "analysis/run_internal.h"
#include "util/err.h"

#define PROVIDER_TIMEOUT_MAX 60.0

/* [{name, value}] of strings. */
static int check_headers(const json_t *o, const char *path, char *err,
			 size_t errlen)
{
	json_t *h = run_field(o, "headers"), *v;
	char sub[PATH_LEN];
	const char *s;
	size_t i;
	int rc;

	if (!h)
		return 0;
	if (!json_is_array(h))
		return err_set(err, errlen, ERR_INVAL,
			       "%s.headers: must be a list", path);
	json_array_foreach(h, i, v)
	{
		snprintf(sub, sizeof(sub), "%s.headers[%zu]", path, i);
		if ((rc = run_check_object(v, sub, err, errlen)) != 0 ||
		    (rc = run_get_string(v, "name", sub, true, &s, err,
					 errlen)) ||
		    (rc = run_get_string(v, "value", sub, false, &s, err,
					 errlen)))
			return rc;
	}
	return 0;
}

/* timeout: default "10s" (written into the copy), > 0 and <= 60 s. */
static int check_timeout(json_t *o, const char *path, char *err, size_t errlen)
{
	double t = -1;
	int rc;

	if (!run_field(o, "timeout")) {
		json_object_set_new(o, "timeout", json_string("10s"));
		return 0;
	}
	if ((rc = run_get_duration(o, "timeout", path, &t, err, errlen)) != 0)
		return rc;
	if (t <= 0 || t > PROVIDER_TIMEOUT_MAX)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.timeout: must be greater than 0 and at most "
			       "60s",
			       path);
	return 0;
}

static int check_auth(const json_t *p, const char *path, char *err,
		      size_t errlen)
{
	json_t *a = run_field(p, "authentication");
	json_t *bearer = run_field(a, "bearer"), *basic = run_field(a, "basic");
	char sub[PATH_LEN];
	const char *s;
	int rc;

	if (!a)
		return 0;
	run_path(sub, sizeof(sub), path, ".authentication");
	if ((rc = run_check_object(a, sub, err, errlen)) != 0)
		return rc;
	if (bearer && basic)
		return err_set(err, errlen, ERR_INVAL,
			       "%s: only one of bearer or basic may be set",
			       sub);
	if (bearer) {
		run_path(sub, sizeof(sub), path, ".authentication.bearer");
		if ((rc = run_check_object(bearer, sub, err, errlen)) != 0)
			return rc;
		run_path(sub, sizeof(sub), path,
			 ".authentication.bearer.secretKeyRef");
		return run_check_secret_ref(run_field(bearer, "secretKeyRef"),
					    sub, err, errlen);
	}
	if (basic) {
		run_path(sub, sizeof(sub), path, ".authentication.basic");
		if ((rc = run_check_object(basic, sub, err, errlen)) != 0 ||
		    (rc = run_get_string(basic, "username", sub, true, &s, err,
					 errlen)) != 0)
			return rc;
		run_path(sub, sizeof(sub), path,
			 ".authentication.basic.passwordSecretKeyRef");
		return run_check_secret_ref(
			run_field(basic, "passwordSecretKeyRef"), sub, err,
			errlen);
	}
	return 0;
}

static int check_range(const json_t *p, const char *path, char *err,
		       size_t errlen)
{
	json_t *range = run_field(p, "range");
	double start = -1, end = 0, step = -1;
	char sub[PATH_LEN];
	int rc;

	if (!range)
		return 0;
	run_path(sub, sizeof(sub), path, ".range");
	if ((rc = run_check_object(range, sub, err, errlen)) != 0 ||
	    (rc = run_get_duration(range, "start", sub, &start, err, errlen)) ||
	    (rc = run_get_duration(range, "end", sub, &end, err, errlen)) ||
	    (rc = run_get_duration(range, "step", sub, &step, err, errlen)))
		return rc;
	if (start < 0)
		return err_set(err, errlen, ERR_INVAL, "%s.start: required",
			       sub);
	if (step <= 0)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.step: required and greater than 0", sub);
	if (start <= end)
		return err_set(err, errlen, ERR_INVAL,
			       "%s: start must be further back than end", sub);
	return 0;
}

static int check_prometheus(json_t *p, const char *path, char *err,
			    size_t errlen)
{
	bool b = false;
	const char *s;
	int rc;

	if ((rc = run_get_string(p, "address", path, true, &s, err, errlen)) ||
	    (rc = run_get_string(p, "query", path, true, &s, err, errlen)) ||
	    (rc = check_timeout(p, path, err, errlen)) ||
	    (rc = check_headers(p, path, err, errlen)) ||
	    (rc = check_auth(p, path, err, errlen)) ||
	    (rc = run_get_bool(p, "insecureSkipVerify", path, &b, err, errlen)))
		return rc;
	return check_range(p, path, err, errlen);
}

static int check_web(json_t *p, const char *path, char *err, size_t errlen)
{
	bool b = false;
	const char *s, *method;
	int rc;

	if ((rc = run_get_string(p, "url", path, true, &s, err, errlen)) ||
	    (rc = run_get_string(p, "method", path, false, &method, err,
				 errlen)) ||
	    (rc = run_get_string(p, "body", path, false, &s, err, errlen)) ||
	    (rc = run_get_string(p, "jsonPath", path, false, &s, err,
				 errlen)) ||
	    (rc = check_timeout(p, path, err, errlen)) ||
	    (rc = check_headers(p, path, err, errlen)) ||
	    (rc = run_get_bool(p, "insecureSkipVerify", path, &b, err, errlen)))
		return rc;
	if (method && strcmp(method, "GET") != 0 &&
	    strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.method: must be GET, POST or PUT, not "
			       "\"%.32s\"",
			       path, method);
	return 0;
}

static int check_job(const json_t *p, const char *path, char *err,
		     size_t errlen)
{
	json_t *meta = run_field(p, "metadata");
	char sub[PATH_LEN];

	if (!run_field(p, "spec"))
		return err_set(err, errlen, ERR_INVAL, "%s.spec: required",
			       path);
	run_path(sub, sizeof(sub), path, ".spec");
	if (run_check_object(run_field(p, "spec"), sub, err, errlen) != 0)
		return ERR_INVAL;
	run_path(sub, sizeof(sub), path, ".metadata");
	if (meta && run_check_object(meta, sub, err, errlen) != 0)
		return ERR_INVAL;
	return 0;
}

static const char *const PROVIDERS[] = {"prometheus", "web", "job"};

int run_provider_parse(const json_t *j, const char *path, struct metric_spec *m,
		       char *err, size_t errlen)
{
	json_t *wrap = run_field(j, "provider"), *found = NULL;
	char wpath[PATH_LEN], sub[PATH_LEN + 16];
	const char *where = path;
	size_t n = 0, k = 0;
	int rc;

	if (wrap) {
		run_path(wpath, sizeof(wpath), path, ".provider");
		if ((rc = run_check_object(wrap, wpath, err, errlen)) != 0)
			return rc;
	}
	for (size_t i = 0; i < 3; i++) {
		json_t *a = run_field(j, PROVIDERS[i]);
		json_t *b = run_field(wrap, PROVIDERS[i]);

		n += (a != NULL) + (b != NULL);
		if (a || b) {
			found = a ? a : b;
			where = a ? path : wpath;
			k = i;
		}
	}
	if (n != 1)
		return err_set(err, errlen, ERR_INVAL,
			       "%s.provider: %s one of prometheus, web or job",
			       path, n ? "must set only" : "needs");
	snprintf(sub, sizeof(sub), "%s.%s", where, PROVIDERS[k]);
	if ((rc = run_check_object(found, sub, err, errlen)) != 0)
		return rc;
	m->provider = (enum provider_kind)k;
	m->provider_spec = json_deep_copy(found);
	if (m->provider == PROVIDER_PROMETHEUS)
		return check_prometheus(m->provider_spec, sub, err, errlen);
	if (m->provider == PROVIDER_WEB)
		return check_web(m->provider_spec, sub, err, errlen);
	return check_job(m->provider_spec, sub, err, errlen);
}
