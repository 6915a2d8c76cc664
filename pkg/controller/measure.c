/*
 * measure: takes one measurement of one AnalysisRun metric (see measure.h).
 *
 * A Prometheus or web measurement goes: resolve the run's arguments (a
 * Secret-backed one is read only when the metric's provider spec mentions
 * it), render the provider's templated fields, read authentication
 * Secrets, call the provider, judge the result with run_judge(). A Job
 * measurement creates a Job owned by the run and is completed later by
 * measure_check_job() from the Job's conditions.
 *
 * Defaults where the spec leaves a field out (metrics_parse() normally
 * fills or requires them; these keep a hand-written run safe):
 *   timeout             10 s (a duration string or whole seconds)
 *   range.start         5m before now
 *   range.end           0 (now)
 *   range.step          60 s
 *   web method          GET (web_measure's default)
 * A bearer token read from a Secret loses trailing whitespace and newlines
 * (files saved with `echo` end in "\n"; client-go trims token files too).
 *
 * Secrets: values read from Secrets are never written into a measurement.
 * A render error about a Secret-backed argument is replaced by a sentence
 * naming only the argument, and every message is scrubbed of each Secret
 * value (raw and URL-encoded, values of 4 bytes or more) before it is
 * stored. Nothing here is shared between calls.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/provider.h"
#include "controller/measure.h"
#include "rollout/rollout_internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/base64.h"

static const struct kube_resource JOBS = {"batch", "v1", "jobs", "Job", true};

#define MSG_LEN		  1024
#define VALUE_MAX	  256
#define DEFAULT_TIMEOUT_S 10.0
#define RANGE_START_S	  300.0
#define RANGE_STEP_S	  60.0
#define SCRUB_MIN_LEN	  4
#define DNS_LABEL_MAX	  63
#define JOB_RUN_PART	  30
#define JOB_METRIC_PART	  12

/* Everything one measurement allocates, freed together at the end. */
struct mctx {
	struct kube_client *kc;
	const struct run *r;
	const json_t *p; /* provider spec (borrowed) */
	struct tmpl_arg *args;
	size_t n_args;
	char **keep; /* heap strings to free at the end */
	size_t n_keep;
	const char **secrets; /* values to scrub (pointers into keep) */
	size_t n_secrets;
	char err[MSG_LEN];
};

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A duration field: a string ("30s") or whole seconds; `def` otherwise. */
static double duration_or(const json_t *o, const char *key, double def)
{
	json_t *v = json_object_get(o, key);
	double d;

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (double)json_integer_value(v);
	if (json_is_string(v) &&
	    rollout_duration_parse(json_string_value(v), &d) == 0)
		return d;
	return def;
}

static char *ctx_keep(struct mctx *c, char *s)
{
	c->keep = xrealloc(c->keep, (c->n_keep + 1) * sizeof(*c->keep));
	c->keep[c->n_keep++] = s;
	return s;
}

static void ctx_secret(struct mctx *c, const char *s)
{
	c->secrets =
		xrealloc(c->secrets, (c->n_secrets + 1) * sizeof(*c->secrets));
	c->secrets[c->n_secrets++] = s;
}

static void ctx_release(struct mctx *c)
{
	for (size_t k = 0; k < c->n_keep; k++)
		free(c->keep[k]);
	free(c->keep);
	free(c->secrets);
	free(c->args);
}

/* `msg` with every Secret value replaced by "<hidden>": a new string. */
static char *scrub(const struct mctx *c, const char *msg)
{
	struct buf b;
	const char *p = msg;

	buf_init(&b, BUF_UNLIMITED);
	while (*p) {
		size_t hit = 0;

		for (size_t k = 0; k < c->n_secrets && !hit; k++) {
			size_t l = strlen(c->secrets[k]);

			if (l >= SCRUB_MIN_LEN &&
			    strncmp(p, c->secrets[k], l) == 0)
				hit = l;
		}
		if (hit) {
			buf_puts(&b, "<hidden>");
			p += hit;
		} else {
			buf_putc(&b, *p++);
		}
	}
	return buf_detach(&b, NULL);
}

/* ---- Secrets ---- */

/*
 * Secret data (base64) as a new NUL-terminated string; NULL when it is
 * not base64 or decodes to bytes holding a NUL (not usable as text).
 */
static char *base64_text(const char *in)
{
	char *out = NULL;
	size_t len = 0, bad;

	if (base64_decode(in, &out, &len, &bad) != 0)
		return NULL;
	if (memchr(out, '\0', len)) {
		free(out);
		return NULL;
	}
	return out;
}

/* Reads data[key] of Secret `name` in the run's namespace into *out (kept
 * by c, registered for scrubbing). On failure c->err says why. */
static int secret_read(struct mctx *c, const char *name, const char *key,
		       const char **out)
{
	struct kube_error ke = KUBE_ERROR_INIT;
	json_t *obj = NULL;
	const char *enc;
	char *val;
	int rc;

	rc = kube_get(c->kc, &KUBE_SECRETS, c->r->ns, name, &obj, &ke);
	if (rc) {
		err_set(c->err, sizeof(c->err), rc,
			"cannot read Secret %s/%s: %s", c->r->ns, name,
			ke.message);
		goto out;
	}
	enc = jstr(json_object_get(obj, "data"), key);
	if (!enc) {
		rc = err_set(c->err, sizeof(c->err), ERR_NOTFOUND,
			     "Secret %s/%s has no key \"%s\"", c->r->ns, name,
			     key);
		goto out;
	}
	val = base64_text(enc);
	if (!val) {
		rc = err_set(c->err, sizeof(c->err), ERR_PARSE,
			     "Secret %s/%s key \"%s\" is not valid base64 text",
			     c->r->ns, name, key);
		goto out;
	}
	ctx_keep(c, val);
	ctx_secret(c, val);
	*out = val;
out:
	json_decref(obj);
	kube_error_release(&ke);
	return rc;
}

/* ---- Arguments and rendering ---- */

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/* Whether `text` holds "args.<name>" not followed by more of a name. */
static bool mentions_arg(const char *text, const char *name)
{
	char *needle = xasprintf("args.%s", name);
	size_t l = strlen(needle);
	const char *p = text;
	bool found = false;

	while (!found && (p = strstr(p, needle)) != NULL) {
		found = !is_name_char(p[l]);
		p++;
	}
	free(needle);
	return found;
}

/* Also scrubs a Secret value as it appears percent-encoded in a URL. */
static void secret_forms(struct mctx *c, const struct tmpl_arg *a)
{
	char *tmpl = xasprintf("{{args.%s}}", a->name), *enc = NULL;
	char err[64];

	if (tmpl_render(tmpl, a, 1, TMPL_URL, &enc, err, sizeof(err)) == 0)
		ctx_secret(c, ctx_keep(c, enc));
	free(tmpl);
}

/* The run's arguments as tmpl_args: literal ones, and Secret-backed ones
 * the provider spec mentions. */
static int args_resolve(struct mctx *c)
{
	const struct run *r = c->r;
	char *text = json_dumps(c->p, JSON_COMPACT);
	int rc = 0;

	c->args = xcalloc(r->n_args ? r->n_args : 1, sizeof(*c->args));
	for (size_t k = 0; k < r->n_args && rc == 0; k++) {
		const struct run_arg *a = &r->args[k];
		struct tmpl_arg *t = &c->args[c->n_args];

		if (!a->name)
			continue;
		t->name = a->name;
		t->value = a->value;
		if (!a->value) {
			if (!text || !mentions_arg(text, a->name) ||
			    !a->secret_name || !a->secret_key)
				continue;
			rc = secret_read(c, a->secret_name, a->secret_key,
					 &t->value);
			if (rc) {
				char *why = xstrdup(c->err);

				snprintf(c->err, sizeof(c->err),
					 "argument \"%s\": %s", a->name, why);
				free(why);
				break;
			}
			secret_forms(c, t);
		}
		c->n_args++;
	}
	free(text);
	return rc;
}

/* Whether argument `name` of the run comes from a Secret. */
static bool arg_is_secret(const struct run *r, const char *name, size_t len)
{
	for (size_t k = 0; k < r->n_args; k++)
		if (!r->args[k].value && r->args[k].name &&
		    strlen(r->args[k].name) == len &&
		    memcmp(r->args[k].name, name, len) == 0)
			return true;
	return false;
}

/*
 * Renders `src` (NULL gives NULL) into *out (kept by c). On failure
 * c->err is "cannot render <what>: <why>", where a complaint about a
 * Secret-backed argument's value names the argument only.
 */
static int render(struct mctx *c, const char *what, const char *src,
		  enum tmpl_escape esc, const char **out)
{
	char terr[MSG_LEN / 2], *res = NULL;
	const char *name, *q;
	int rc;

	*out = NULL;
	if (!src)
		return 0;
	terr[0] = '\0';
	rc = tmpl_render(src, c->args, c->n_args, esc, &res, terr,
			 sizeof(terr));
	if (rc == 0) {
		*out = ctx_keep(c, res);
		return 0;
	}
	name = strncmp(terr, "argument \"", 10) == 0 ? terr + 10 : NULL;
	q = name ? strchr(name, '"') : NULL;
	if (q && q[1] == ':' && arg_is_secret(c->r, name, (size_t)(q - name)))
		snprintf(c->err, sizeof(c->err),
			 "cannot render %s: argument \"%.*s\" comes from a "
			 "Secret and its value cannot be written there (the "
			 "value is not shown)",
			 what, (int)(q - name), name);
	else
		snprintf(c->err, sizeof(c->err), "cannot render %s: %s", what,
			 terr[0] ? terr : err_str(rc));
	return rc;
}

/* headers [{name, value}] with values rendered as RAW (kept by c). */
static int headers_render(struct mctx *c, struct http_header **out, size_t *n)
{
	json_t *h = json_object_get(c->p, "headers"), *v;
	struct http_header *hs;
	size_t k;
	int rc;

	*out = NULL;
	*n = 0;
	if (!json_is_array(h) || json_array_size(h) == 0)
		return 0;
	hs = xcalloc(json_array_size(h), sizeof(*hs));
	ctx_keep(c, (char *)hs);
	json_array_foreach(h, k, v)
	{
		char what[96];
		const char *name = jstr(v, "name");

		if (!name)
			continue;
		snprintf(what, sizeof(what), "header \"%.64s\"", name);
		rc = render(c, what, jstr(v, "value") ? jstr(v, "value") : "",
			    TMPL_RAW, &hs[*n].value);
		if (rc)
			return rc;
		hs[(*n)++].name = name;
	}
	*out = hs;
	return 0;
}

/* ---- Providers ---- */

static int prom_auth(struct mctx *c, struct prom_request *req)
{
	json_t *auth = json_object_get(c->p, "authentication");
	json_t *bearer = json_object_get(auth, "bearer");
	json_t *basic = json_object_get(auth, "basic");
	json_t *ref;
	int rc = 0;

	if (bearer) {
		ref = json_object_get(bearer, "secretKeyRef");
		rc = secret_read(c, jstr(ref, "name") ? jstr(ref, "name") : "",
				 jstr(ref, "key") ? jstr(ref, "key") : "",
				 &req->bearer_token);
		if (rc == 0) {
			char *t = (char *)req->bearer_token;
			size_t l;

			/* secret_read() sets *out whenever it returns 0 (its
			 * failures return err_set()'s negative code). */
			assert(t != NULL);
			l = strlen(t);

			while (l > 0 && strchr(" \t\r\n", t[l - 1]))
				t[--l] = '\0';
		}
	} else if (basic) {
		ref = json_object_get(basic, "passwordSecretKeyRef");
		req->basic_user = jstr(basic, "username");
		rc = secret_read(c, jstr(ref, "name") ? jstr(ref, "name") : "",
				 jstr(ref, "key") ? jstr(ref, "key") : "",
				 &req->basic_password);
	}
	if (rc) {
		char *why = xstrdup(c->err);

		snprintf(c->err, sizeof(c->err), "authentication: %s", why);
		free(why);
	}
	return rc;
}

static int prom_take(struct mctx *c, struct aval *result)
{
	struct prom_request req = {0};
	struct http_header *hs = NULL;
	json_t *range = json_object_get(c->p, "range");
	int rc;

	if ((rc = render(c, "address", jstr(c->p, "address"), TMPL_RAW,
			 &req.address)) ||
	    (rc = render(c, "query", jstr(c->p, "query"), TMPL_PROMQL,
			 &req.query)) ||
	    (rc = headers_render(c, &hs, &req.n_headers)) ||
	    (rc = prom_auth(c, &req)))
		return rc;
	if (!req.address || !req.query)
		return err_set(c->err, sizeof(c->err), ERR_INVAL,
			       "prometheus needs address and query");
	req.headers = hs;
	req.timeout_s = duration_or(c->p, "timeout", DEFAULT_TIMEOUT_S);
	if (req.timeout_s <= 0)
		req.timeout_s = DEFAULT_TIMEOUT_S;
	req.insecure_skip_verify =
		json_is_true(json_object_get(c->p, "insecureSkipVerify"));
	if (json_is_object(range)) {
		req.range = true;
		req.range_start_s = duration_or(range, "start", RANGE_START_S);
		req.range_end_s = duration_or(range, "end", 0);
		req.range_step_s = duration_or(range, "step", RANGE_STEP_S);
		if (req.range_step_s <= 0)
			req.range_step_s = RANGE_STEP_S;
	}
	return prom_measure(&req, result, c->err, sizeof(c->err));
}

static int web_take(struct mctx *c, struct aval *result)
{
	struct web_request req = {0};
	struct http_header *hs = NULL;
	int rc;

	if ((rc = render(c, "url", jstr(c->p, "url"), TMPL_URL, &req.url)) ||
	    (rc = render(c, "body", jstr(c->p, "body"), TMPL_JSON,
			 &req.body)) ||
	    (rc = headers_render(c, &hs, &req.n_headers)))
		return rc;
	if (!req.url)
		return err_set(c->err, sizeof(c->err), ERR_INVAL,
			       "web needs url");
	req.headers = hs;
	req.method = jstr(c->p, "method");
	req.json_path = jstr(c->p, "jsonPath");
	req.timeout_s = duration_or(c->p, "timeout", DEFAULT_TIMEOUT_S);
	if (req.timeout_s <= 0)
		req.timeout_s = DEFAULT_TIMEOUT_S;
	req.insecure_skip_verify =
		json_is_true(json_object_get(c->p, "insecureSkipVerify"));
	return web_measure(&req, result, c->err, sizeof(c->err));
}

/* ---- Jobs ---- */

/* Appends `s` made DNS-safe (lowercase, [a-z0-9-], no '-' at either end),
 * at most `max` bytes; `fallback` when nothing is left. */
static void dns_part(struct buf *b, const char *s, size_t max,
		     const char *fallback)
{
	size_t start = b->len, n = 0;

	while (*s && !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		       (*s >= '0' && *s <= '9')))
		s++;
	for (; *s && n < max; s++, n++) {
		char ch = *s;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9')))
			ch = '-';
		buf_putc(b, ch);
	}
	while (b->len > start && b->data[b->len - 1] == '-')
		b->data[--b->len] = '\0';
	if (b->len == start)
		buf_puts(b, fallback);
}

/* FNV-1a of s, continuing from h. */
static unsigned long fnv1a(unsigned long h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h = (h * 16777619UL) & 0xffffffffUL;
	}
	return h;
}

/*
 * "<run, cut to 30>-<metric, cut to 12>-<hash>-<n>", DNS-safe: a new
 * string. The cut parts alone are not unique (runs of one rollout share
 * their first 30 characters, metrics their first 12), so <hash> (8 hex
 * digits) covers the run's uid (its name when it has none) and the
 * metric's full name: an AlreadyExists answer then means this
 * measurement's own Job, never another run's or metric's.
 */
static char *job_name(const struct run *r, const char *metric, int n)
{
	unsigned long h = 2166136261UL;
	struct buf b;

	h = fnv1a(h, r->uid && *r->uid ? r->uid : r->name);
	h = fnv1a(fnv1a(h, "/"), metric);
	buf_init(&b, BUF_UNLIMITED);
	dns_part(&b, r->name, JOB_RUN_PART, "run");
	buf_putc(&b, '-');
	dns_part(&b, metric, JOB_METRIC_PART, "metric");
	buf_printf(&b, "-%08lx-%d", h, n);
	if (b.len > DNS_LABEL_MAX)
		b.data[b.len = DNS_LABEL_MAX] = '\0';
	while (b.len > 0 && b.data[b.len - 1] == '-')
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

/* The Job to create (new reference). */
static json_t *job_object(const struct run *r, const json_t *p,
			  const char *name)
{
	const json_t *meta = json_object_get(p, "metadata");
	json_t *labels = json_object_get(meta, "labels");
	json_t *ann = json_object_get(meta, "annotations");
	json_t *md, *owner;

	labels =
		json_is_object(labels) ? json_deep_copy(labels) : json_object();
	if (strlen(r->name) <= DNS_LABEL_MAX)
		json_object_set_new(labels, LABEL_JOB_RUN,
				    json_string(r->name));
	owner = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion",
			  "knit.dev/v1alpha1", "kind", "AnalysisRun", "name",
			  r->name, "uid", r->uid ? r->uid : "", "controller", 1,
			  "blockOwnerDeletion", 1);
	md = json_pack("{s:s, s:s, s:o, s:[o]}", "name", name, "namespace",
		       r->ns ? r->ns : "", "labels", labels, "ownerReferences",
		       owner);
	if (md && json_is_object(ann))
		json_object_set_new(md, "annotations", json_deep_copy(ann));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "batch/v1",
			 "kind", "Job", "metadata", md, "spec",
			 json_deep_copy(json_object_get(p, "spec")));
}

static void job_create(struct kube_client *kc, const struct run *r, size_t i,
		       struct measurement *m)
{
	const struct metric_spec *ms = &r->metrics[i];
	struct kube_error ke = KUBE_ERROR_INIT;
	int n = r->results ? r->results[i].count + 1 : 1;
	char *name = job_name(r, ms->name ? ms->name : "", n);
	json_t *job = NULL;
	int rc;

	if (!json_is_object(json_object_get(ms->provider_spec, "spec"))) {
		m->phase = MPHASE_ERROR;
		m->message = xstrdup("job provider has no spec");
		goto out;
	}
	job = job_object(r, ms->provider_spec, name);
	if (!job) {
		m->phase = MPHASE_ERROR;
		m->message = xasprintf("cannot build job %s", name);
		goto out;
	}
	rc = kube_create(kc, &JOBS, r->ns, job, NULL, NULL, &ke);
	if (rc != 0 && rc != ERR_EXISTS) {
		m->phase = MPHASE_ERROR;
		m->message =
			xasprintf("cannot create job %s: %s", name, ke.message);
		goto out;
	}
	m->phase = MPHASE_RUNNING;
	m->job_name = name;
	name = NULL;
out:
	if (m->phase == MPHASE_ERROR && m->finished_at == 0)
		m->finished_at = rfc3339_now();
	json_decref(job);
	kube_error_release(&ke);
	free(name);
}

/*
 * The Job's verdict from status.conditions: true with *m's phase, value
 * and message set when a Complete or Failed condition is True.
 */
static bool job_verdict(const json_t *job, const char *name,
			struct measurement *m)
{
	json_t *conds = json_object_get(json_object_get(job, "status"),
					"conditions"),
	       *cnd;
	size_t k;

	json_array_foreach(conds, k, cnd)
	{
		const char *type = jstr(cnd, "type"), *st = jstr(cnd, "status");
		const char *why = jstr(cnd, "message");

		if (!type || !st || strcmp(st, "True") != 0)
			continue;
		if (!why || !*why)
			why = jstr(cnd, "reason");
		if (strcmp(type, "Failed") == 0) {
			m->phase = MPHASE_FAILED;
			m->value = xstrdup("Failed");
			m->message = why && *why
					     ? xasprintf("job %s failed: %s",
							 name, why)
					     : xasprintf("job %s failed", name);
			return true;
		}
		if (strcmp(type, "Complete") == 0) {
			m->phase = MPHASE_SUCCESSFUL;
			m->value = xstrdup("Complete");
			m->message = xasprintf("job %s completed", name);
			return true;
		}
	}
	return false;
}

/* API failures worth waiting out rather than failing the measurement. */
static bool transient(int rc)
{
	return rc == ERR_TRANSPORT || rc == ERR_TIMEOUT || rc == ERR_INTERNAL ||
	       rc == ERR_TOOMANY || rc == ERR_UNAUTHORIZED;
}

/* ---- Entry points ---- */

static void log_measurement(const struct run *r, size_t i,
			    const struct measurement *m)
{
	char q[VALUE_MAX * 2 + 1];
	size_t o = 0;

	if (LOG_DEBUG < log_threshold)
		return;
	for (const char *s = m->value ? m->value : ""; *s && o + 2 < sizeof(q);
	     s++) {
		if (*s == '"' || *s == '\\')
			q[o++] = '\\';
		q[o++] = *s == '\n' ? ' ' : *s;
	}
	q[o] = '\0';
	LOG_DEBUGF("measurement",
		   "object=%s/%s metric=%s phase=%s value=\"%s\"%s%s",
		   r->ns ? r->ns : "", r->name ? r->name : "",
		   r->metrics[i].name ? r->metrics[i].name : "",
		   mphase_name(m->phase), q, m->job_name ? " job=" : "",
		   m->job_name ? m->job_name : "");
}

/* Takes a Prometheus or web measurement into *m (started_at already set). */
static void provider_take(struct kube_client *kc, const struct run *r, size_t i,
			  struct measurement *m)
{
	const struct metric_spec *ms = &r->metrics[i];
	struct mctx c = {.kc = kc, .r = r, .p = ms->provider_spec};
	struct aval result = {0};
	char msg[MSG_LEN];
	int rc;

	rc = args_resolve(&c);
	if (rc == 0)
		rc = ms->provider == PROVIDER_PROMETHEUS
			     ? prom_take(&c, &result)
			     : web_take(&c, &result);
	m->finished_at = rfc3339_now();
	if (rc) {
		m->phase = MPHASE_ERROR;
		m->message = scrub(&c, c.err[0] ? c.err : err_str(rc));
		goto out;
	}
	m->value = aval_format(&result, VALUE_MAX);
	msg[0] = '\0';
	run_judge(ms, &result, &m->phase, msg, sizeof(msg));
	if (msg[0])
		m->message = scrub(&c, msg);
out:
	aval_clear(&result);
	ctx_release(&c);
}

void measure_take(struct kube_client *kc, const struct run *r, size_t i,
		  double now, struct measurement *m)
{
	memset(m, 0, sizeof(*m));
	m->started_at = now;
	if (r->metrics[i].provider == PROVIDER_JOB)
		job_create(kc, r, i, m);
	else
		provider_take(kc, r, i, m);
	log_measurement(r, i, m);
}

bool measure_check_job(struct kube_client *kc, const struct run *r, size_t i,
		       double now, struct measurement *m)
{
	const struct metric_result *res = r->results ? &r->results[i] : NULL;
	const struct measurement *last =
		res && res->n_m ? &res->m[res->n_m - 1] : NULL;
	struct kube_error ke = KUBE_ERROR_INIT;
	json_t *job = NULL;
	bool done = true;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!last || !last->job_name) {
		m->phase = MPHASE_ERROR;
		m->message = xstrdup("the running measurement names no job");
		goto out;
	}
	rc = kube_get(kc, &JOBS, r->ns, last->job_name, &job, &ke);
	if (rc == ERR_NOTFOUND) {
		m->phase = MPHASE_ERROR;
		m->message =
			xasprintf("job %s no longer exists", last->job_name);
	} else if (rc && transient(rc)) {
		LOG_DEBUGF("cannot read analysis job, will retry",
			   "object=%s/%s job=%s err=%s", r->ns, r->name,
			   last->job_name, err_name(rc));
		done = false;
	} else if (rc) {
		m->phase = MPHASE_ERROR;
		m->message = xasprintf("cannot read job %s: %s", last->job_name,
				       ke.message);
	} else {
		done = job_verdict(job, last->job_name, m);
	}
out:
	if (done) {
		if (last) {
			m->started_at = last->started_at;
			if (last->job_name)
				m->job_name = xstrdup(last->job_name);
		}
		m->finished_at = now;
		log_measurement(r, i, m);
	}
	json_decref(job);
	kube_error_release(&ke);
	return done;
}
