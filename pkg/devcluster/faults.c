/*
 * faults: fault-injection state of knit-devcluster -- validation shared by
 * the JSON form and the command-line forms, the deterministic per-request
 * error selection, the watch-drop schedule and the down window. See
 * faults.h for the contracts.
 *
 * Every setter fills a temporary rule or config, and only copies it into
 * the live state once everything has been validated, so errors never leave
 * a half-applied configuration behind.
 */
#include "devcluster/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

/* An accumulator this close to 1 counts as 1 (0.1 added ten times). */
#define RATE_EPSILON 1e-9

/* Longest message prefix quoting a flag argument. */
#define PATH_MAX_LEN 320

static const char *const verb_names[] = {
	"get",	  "list",  "watch",  "create",
	"update", "patch", "delete", "deletecollection",
};

#define NVERBS (sizeof(verb_names) / sizeof(verb_names[0]))

/* Index of `verb` in verb_names, or -1. */
static int verb_index(const char *verb)
{
	for (size_t i = 0; i < NVERBS; i++) {
		if (strcmp(verb_names[i], verb) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- lifecycle ---- */

static void resource_release(struct fault_resource *r)
{
	free(r->text);
	free(r->resource);
	free(r->group);
	free(r->subresource);
	memset(r, 0, sizeof(*r));
}

static void rule_release(struct fault_rule *r)
{
	for (size_t i = 0; i < r->nresources; i++)
		resource_release(&r->resources[i]);
	memset(r, 0, sizeof(*r));
}

void faults_init(struct faults *f)
{
	memset(f, 0, sizeof(*f));
}

void faults_release(struct faults *f)
{
	for (size_t i = 0; i < f->nrules; i++)
		rule_release(&f->rules[i]);
	faults_init(f);
}

/* ---- rule validation, shared by JSON and flags ---- */

static int rule_set_code(struct fault_rule *r, long long code, const char *path,
			 char *errbuf, size_t errlen)
{
	if (code != 500 && code != 503 && code != 429)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be 500, 503 or 429, got %lld", path,
			       code);
	r->code = (int)code;
	r->retry_after = code == 429 ? 1 : 0;
	return 0;
}

static int rule_set_rate(struct fault_rule *r, double rate, const char *path,
			 char *errbuf, size_t errlen)
{
	if (!(rate > 0.0 && rate <= 1.0))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be a number greater than 0 and at "
			       "most 1, got %g",
			       path, rate);
	r->rate = rate;
	return 0;
}

/* Any code may carry Retry-After: 429 always does (1 s by default), and
 * proxies and overloaded servers send it with 500 and 503 too. */
static int rule_set_retry(struct fault_rule *r, long long secs,
			  const char *path, char *errbuf, size_t errlen)
{
	if (secs < 1 || secs > FAULTS_MAX_RETRY)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be an integer from 1 to %d", path,
			       FAULTS_MAX_RETRY);
	r->retry_after = (int)secs;
	return 0;
}

static int rule_add_verb(struct fault_rule *r, const char *verb,
			 const char *path, char *errbuf, size_t errlen)
{
	int i;

	if (strlen(verb) > FAULTS_MAX_NAME)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: longer than %d characters", path,
			       FAULTS_MAX_NAME);
	i = verb_index(verb);
	if (i < 0)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: unknown verb \"%s\"", path, verb);
	if (r->verbs & (1u << i))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: duplicate verb \"%s\"", path, verb);
	r->verbs |= 1u << i;
	return 0;
}

/*
 * True when s[0..n) is a non-empty run of [a-z0-9-], or with `dots` a
 * dot-separated sequence of such runs (a DNS subdomain, as API groups are).
 */
static bool name_ok(const char *s, size_t n, bool dots)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.' && dots && s[i + 1] != '.')
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Splits "resource[.group][/sub]" into out; out is untouched on error. */
static int resource_parse(struct fault_resource *out, const char *text,
			  const char *path, char *errbuf, size_t errlen)
{
	size_t len = strlen(text), head, rlen;
	const char *slash, *dot, *sub = NULL;

	if (len > FAULTS_MAX_NAME)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: longer than %d characters", path,
			       FAULTS_MAX_NAME);
	slash = strchr(text, '/');
	head = slash ? (size_t)(slash - text) : len;
	if (slash)
		sub = slash + 1;
	dot = memchr(text, '.', head);
	rlen = dot ? (size_t)(dot - text) : head;
	if (!name_ok(text, rlen, false) ||
	    (dot && !name_ok(dot + 1, head - rlen - 1, true)) ||
	    (sub && !name_ok(sub, strlen(sub), false)))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: invalid resource \"%s\": want lowercase "
			       "RESOURCE[.GROUP][/SUBRESOURCE], e.g. \"pods\", "
			       "\"replicasets.apps\" or \"pods/status\"",
			       path, text);
	if (dot && head - rlen - 1 == 4 && strncmp(dot + 1, "core", 4) == 0)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: the core group has no suffix: write "
			       "\"%.*s\" instead of \"%.*s\"",
			       path, (int)rlen, text, (int)head, text);
	out->text = xstrdup(text);
	out->resource = xstrndup(text, rlen);
	out->group = dot ? xstrndup(dot + 1, head - rlen - 1) : xstrdup("");
	out->subresource = sub ? xstrdup(sub) : NULL;
	return 0;
}

static int rule_add_resource(struct fault_rule *r, const char *text,
			     const char *path, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < r->nresources; i++) {
		if (r->resources[i].text &&
		    strcmp(r->resources[i].text, text) == 0)
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s: duplicate resource \"%s\"", path,
				       text);
	}
	if (r->nresources >= FAULTS_MAX_LIST)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: at most %d entries", path, FAULTS_MAX_LIST);
	if (resource_parse(&r->resources[r->nresources], text, path, errbuf,
			   errlen))
		return ERR_INVAL;
	r->nresources++;
	return 0;
}

typedef int (*rule_adder)(struct fault_rule *r, const char *item,
			  const char *path, char *errbuf, size_t errlen);

/* ---- JSON form ---- */

/* Member `key` of obj, borrowed; NULL when missing or null. */
static json_t *member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* Returns 0 when every member of obj is one of `known` (NULL-ended). */
static int check_members(const json_t *obj, const char *const *known,
			 const char *where, char *errbuf, size_t errlen)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)obj, key, value)
	{
		size_t i = 0;

		while (known[i] && strcmp(known[i], key) != 0)
			i++;
		if (!known[i])
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s%sunknown field \"%s\"", where,
				       *where ? ": " : "", key);
	}
	return 0;
}

/* Integer member in [min, max]; *out keeps its value when missing. */
static int int_member(const json_t *obj, const char *key, const char *path,
		      long long min, long long max, long long *out,
		      char *errbuf, size_t errlen)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be an integer from %lld to %lld", path,
			       min, max);
	*out = json_integer_value(v);
	return 0;
}

/* Feeds each string of the array member `key` (if present) to add(). */
static int json_list(struct fault_rule *r, const json_t *obj, const char *key,
		     const char *rpath, rule_adder add, char *errbuf,
		     size_t errlen)
{
	json_t *arr = member(obj, key), *item;
	char path[PATH_MAX_LEN];
	size_t i;

	if (!arr)
		return 0;
	snprintf(path, sizeof(path), "%s.%s", rpath, key);
	if (!json_is_array(arr))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be an array of strings", path);
	if (json_array_size(arr) > FAULTS_MAX_LIST)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: at most %d entries, got %zu", path,
			       FAULTS_MAX_LIST, json_array_size(arr));
	json_array_foreach(arr, i, item)
	{
		snprintf(path, sizeof(path), "%s.%s[%zu]", rpath, key, i);
		if (!json_is_string(item))
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s: must be a string", path);
		int rc = add(r, json_string_value(item), path, errbuf, errlen);

		if (rc)
			return rc;
	}
	return 0;
}

static int json_code_rate(struct fault_rule *r, const json_t *obj,
			  const char *rpath, char *errbuf, size_t errlen)
{
	json_t *code = member(obj, "code"), *rate = member(obj, "rate");
	char path[PATH_MAX_LEN];
	int rc;

	snprintf(path, sizeof(path), "%s.code", rpath);
	if (!code)
		return err_set(errbuf, errlen, ERR_INVAL, "%s: required", path);
	if (!json_is_integer(code))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be the integer 500, 503 or 429", path);
	rc = rule_set_code(r, json_integer_value(code), path, errbuf, errlen);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s.rate", rpath);
	if (!rate)
		return err_set(errbuf, errlen, ERR_INVAL, "%s: required", path);
	if (!json_is_number(rate))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be a number greater than 0 and at "
			       "most 1",
			       path);
	return rule_set_rate(r, json_number_value(rate), path, errbuf, errlen);
}

/* Parses errors[i] into r (zeroed by the caller); r is released on error. */
static int json_rule(struct fault_rule *r, const json_t *obj, size_t i,
		     char *errbuf, size_t errlen)
{
	static const char *const known[] = {
		"code", "rate", "verbs", "resources", "retryAfterSeconds",
		NULL};
	char rpath[64], path[PATH_MAX_LEN];
	long long retry = 0;
	int rc;

	snprintf(rpath, sizeof(rpath), "errors[%zu]", i);
	if (!json_is_object(obj))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be an object", rpath);
	rc = check_members(obj, known, rpath, errbuf, errlen);
	if (!rc)
		rc = json_code_rate(r, obj, rpath, errbuf, errlen);
	if (!rc)
		rc = json_list(r, obj, "verbs", rpath, rule_add_verb, errbuf,
			       errlen);
	if (!rc)
		rc = json_list(r, obj, "resources", rpath, rule_add_resource,
			       errbuf, errlen);
	snprintf(path, sizeof(path), "%s.retryAfterSeconds", rpath);
	if (!rc && member(obj, "retryAfterSeconds")) {
		rc = int_member(obj, "retryAfterSeconds", path, 1,
				FAULTS_MAX_RETRY, &retry, errbuf, errlen);
		if (!rc)
			rc = rule_set_retry(r, retry, path, errbuf, errlen);
	}
	if (rc)
		rule_release(r);
	return rc;
}

static int json_rules(struct faults *tmp, const json_t *cfg, char *errbuf,
		      size_t errlen)
{
	json_t *arr = member(cfg, "errors"), *item;
	size_t i;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "errors: must be an array");
	if (json_array_size(arr) > FAULTS_MAX_RULES)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "errors: at most %d rules, got %zu",
			       FAULTS_MAX_RULES, json_array_size(arr));
	json_array_foreach(arr, i, item)
	{
		int rc = json_rule(&tmp->rules[i], item, i, errbuf, errlen);

		if (rc)
			return rc;
		tmp->nrules = i + 1;
	}
	return 0;
}

int faults_from_json(struct faults *f, const json_t *cfg, double now,
		     char *errbuf, size_t errlen)
{
	static const char *const known[] = {"latencyMilliseconds", "errors",
					    "dropWatchesEverySeconds",
					    "downForSeconds", NULL};
	struct faults tmp;
	long long latency = 0, drop = 0, down = 0;
	int rc;

	faults_init(&tmp);
	if (!json_is_object(cfg))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "body: not a JSON object");
	rc = check_members(cfg, known, "", errbuf, errlen);
	if (!rc)
		rc = int_member(cfg, "latencyMilliseconds",
				"latencyMilliseconds", 0, FAULTS_MAX_LATENCY_MS,
				&latency, errbuf, errlen);
	if (!rc)
		rc = int_member(cfg, "dropWatchesEverySeconds",
				"dropWatchesEverySeconds", 0,
				FAULTS_MAX_DROP_EVERY, &drop, errbuf, errlen);
	if (!rc)
		rc = int_member(cfg, "downForSeconds", "downForSeconds", 0,
				FAULTS_MAX_DOWN_FOR, &down, errbuf, errlen);
	if (!rc)
		rc = json_rules(&tmp, cfg, errbuf, errlen);
	if (rc)
		goto out;
	tmp.latency_ms = (int)latency;
	tmp.drop_every = (int)drop;
	tmp.next_drop = drop ? now + (double)drop : 0.0;
	tmp.down_until = down ? now + (double)down : 0.0;
	faults_release(f);
	*f = tmp;
	faults_init(&tmp);
out:
	faults_release(&tmp);
	return rc;
}

static json_t *rule_to_json(const struct fault_rule *r)
{
	json_t *obj = json_object(), *verbs = json_array(),
	       *resources = json_array();

	json_object_set_new(obj, "code", json_integer(r->code));
	json_object_set_new(obj, "rate", json_real(r->rate));
	for (size_t i = 0; i < NVERBS; i++) {
		if (r->verbs & (1u << i))
			json_array_append_new(verbs,
					      json_string(verb_names[i]));
	}
	for (size_t i = 0; i < r->nresources; i++)
		json_array_append_new(resources,
				      json_string(r->resources[i].text));
	if (json_array_size(verbs))
		json_object_set(obj, "verbs", verbs);
	if (json_array_size(resources))
		json_object_set(obj, "resources", resources);
	if (r->code == 429)
		json_object_set_new(obj, "retryAfterSeconds",
				    json_integer(r->retry_after));
	json_decref(verbs);
	json_decref(resources);
	return obj;
}

/* Seconds from now to down_until rounded up; 0 when not down. */
static long long down_remaining(const struct faults *f, double now)
{
	double left = f->down_until - now;
	long long whole;

	if (!(left > 0.0))
		return 0;
	whole = (long long)left;
	return (double)whole < left ? whole + 1 : whole;
}

json_t *faults_to_json(const struct faults *f, double now)
{
	json_t *obj = json_object();
	long long down = down_remaining(f, now);

	if (f->latency_ms)
		json_object_set_new(obj, "latencyMilliseconds",
				    json_integer(f->latency_ms));
	if (f->nrules) {
		json_t *arr = json_array();

		for (size_t i = 0; i < f->nrules; i++)
			json_array_append_new(arr, rule_to_json(&f->rules[i]));
		json_object_set_new(obj, "errors", arr);
	}
	if (f->drop_every)
		json_object_set_new(obj, "dropWatchesEverySeconds",
				    json_integer(f->drop_every));
	if (down)
		json_object_set_new(obj, "downForSeconds", json_integer(down));
	return obj;
}

/* ---- decisions ---- */

static bool resource_matches(const struct fault_resource *e, const char *group,
			     const char *resource, const char *subresource)
{
	if (strcmp(e->resource, resource) != 0 || strcmp(e->group, group) != 0)
		return false;
	if (!e->subresource)
		return subresource == NULL;
	return subresource && strcmp(e->subresource, subresource) == 0;
}

static bool rule_matches(const struct fault_rule *r, int verb,
			 const char *group, const char *resource,
			 const char *subresource)
{
	if (r->verbs && (verb < 0 || !(r->verbs & (1u << verb))))
		return false;
	if (r->nresources == 0)
		return true;
	if (!resource)
		return false;
	for (size_t i = 0; i < r->nresources; i++) {
		if (resource_matches(&r->resources[i], group, resource,
				     subresource))
			return true;
	}
	return false;
}

void faults_decide(struct faults *f, const char *verb, const char *group,
		   const char *resource, const char *subresource,
		   struct fault_decision *out)
{
	int v = verb ? verb_index(verb) : -1;

	out->code = 0;
	out->retry_after = 0;
	out->delay_ms = f->latency_ms;
	if (!group)
		group = "";
	if (subresource && !*subresource)
		subresource = NULL;
	for (size_t i = 0; i < f->nrules; i++) {
		struct fault_rule *r = &f->rules[i];

		if (!rule_matches(r, v, group, resource, subresource))
			continue;
		r->acc += r->rate;
		if (r->acc >= 1.0 - RATE_EPSILON) {
			r->acc -= 1.0;
			out->code = r->code;
			out->retry_after = r->retry_after;
			return;
		}
	}
}

bool faults_is_down(const struct faults *f, double now)
{
	return now < f->down_until;
}

bool faults_watch_drop_due(struct faults *f, double now)
{
	double period = (double)f->drop_every;
	long long missed;

	if (f->drop_every <= 0 || now < f->next_drop)
		return false;
	missed = (long long)((now - f->next_drop) / period);
	f->next_drop += (double)(missed + 1) * period;
	if (f->next_drop <= now)
		f->next_drop += period;
	return true;
}

bool faults_any(const struct faults *f, double now)
{
	return f->latency_ms > 0 || f->nrules > 0 || f->drop_every > 0 ||
	       faults_is_down(f, now);
}

/* ---- command-line forms ---- */

/* Whole number s[0..n) of 1..9 digits, at most max. */
static bool parse_uint(const char *s, size_t n, long long max, long long *out)
{
	long long v = 0;

	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Plain decimal s[0..n): DIGITS[.DIGITS], no sign or exponent. */
static bool parse_decimal(const char *s, size_t n, double *out)
{
	size_t ints = strspn(s, "0123456789");
	char *copy;

	if (ints == 0 || n > 32 || ints > n)
		return false;
	if (ints < n && (s[ints] != '.' ||
			 strspn(s + ints + 1, "0123456789") != n - ints - 1 ||
			 n - ints - 1 == 0))
		return false;
	copy = xstrndup(s, n);
	*out = strtod(copy, NULL);
	free(copy);
	return true;
}

int faults_set_latency_flag(struct faults *f, const char *arg, char *errbuf,
			    size_t errlen)
{
	size_t n = strlen(arg), num = n;
	double value, mult = 1.0;
	bool ok;

	if (n >= 2 && strcmp(arg + n - 2, "ms") == 0) {
		num = n - 2;
	} else if (n >= 1 && arg[n - 1] == 's') {
		num = n - 1;
		mult = 1000.0;
	}
	ok = parse_decimal(arg, num, &value);
	if (ok && num == n && strchr(arg, '.'))
		ok = false; /* a bare number is whole milliseconds */
	if (!ok)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "--fault-latency: invalid duration \"%s\": "
			       "want e.g. 250ms, 2s, 1.5s or 0 (milliseconds)",
			       arg);
	value *= mult;
	if (value > FAULTS_MAX_LATENCY_MS)
		return err_set(errbuf, errlen, ERR_INVAL,
			       "--fault-latency: must be at most 60s, got "
			       "\"%s\"",
			       arg);
	f->latency_ms = (int)(value + 0.5);
	return 0;
}

/* SECONDS or SECONDSs, 0..max. */
static int parse_seconds_flag(const char *flag, const char *arg, long long max,
			      long long *out, char *errbuf, size_t errlen)
{
	size_t n = strlen(arg);

	if (n > 1 && arg[n - 1] == 's')
		n--;
	if (!parse_uint(arg, n, max, out))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be whole seconds from 0 to %lld, got "
			       "\"%s\"",
			       flag, max, arg);
	return 0;
}

int faults_set_drop_watches_flag(struct faults *f, const char *arg, double now,
				 char *errbuf, size_t errlen)
{
	long long secs;
	int rc = parse_seconds_flag("--fault-drop-watches-every", arg,
				    FAULTS_MAX_DROP_EVERY, &secs, errbuf,
				    errlen);

	if (rc)
		return rc;
	f->drop_every = (int)secs;
	f->next_drop = secs ? now + (double)secs : 0.0;
	return 0;
}

int faults_set_down_flag(struct faults *f, const char *arg, double now,
			 char *errbuf, size_t errlen)
{
	long long secs;
	int rc = parse_seconds_flag("--fault-down-for", arg,
				    FAULTS_MAX_DOWN_FOR, &secs, errbuf, errlen);

	if (rc)
		return rc;
	f->down_until = secs ? now + (double)secs : 0.0;
	return 0;
}

/* Feeds the comma-separated items of `field` (modified) to add(). */
static int flag_list(struct fault_rule *r, char *field, const char *pfx,
		     const char *name, rule_adder add, char *errbuf,
		     size_t errlen)
{
	char path[PATH_MAX_LEN + 32];
	char *p = field;

	if (!*field)
		return 0;
	for (size_t i = 0;; i++) {
		char *comma = strchr(p, ',');
		int rc;

		if (comma)
			*comma = '\0';
		snprintf(path, sizeof(path), "%s: %s[%zu]", pfx, name, i);
		if (i >= FAULTS_MAX_LIST)
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s: %s: at most %d entries", pfx, name,
				       FAULTS_MAX_LIST);
		if (!*p)
			return err_set(errbuf, errlen, ERR_INVAL,
				       "%s: empty entry", path);
		rc = add(r, p, path, errbuf, errlen);
		if (rc || !comma)
			return rc;
		p = comma + 1;
	}
}

static int flag_code_rate(struct fault_rule *r, const char *code,
			  const char *rate, const char *pfx, char *errbuf,
			  size_t errlen)
{
	char path[PATH_MAX_LEN + 32];
	long long c;
	double v;
	int rc;

	snprintf(path, sizeof(path), "%s: code", pfx);
	if (!parse_uint(code, strlen(code), 999, &c))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be 500, 503 or 429, got \"%s\"", path,
			       code);
	rc = rule_set_code(r, c, path, errbuf, errlen);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s: rate", pfx);
	if (!parse_decimal(rate, strlen(rate), &v))
		return err_set(errbuf, errlen, ERR_INVAL,
			       "%s: must be a number greater than 0 and at "
			       "most 1, got \"%s\"",
			       path, rate);
	return rule_set_rate(r, v, path, errbuf, errlen);
}

static int flag_retry(struct fault_rule *r, const char *arg, const char *pfx,
		      char *errbuf, size_t errlen)
{
	char path[PATH_MAX_LEN + 32];
	long long secs;

	snprintf(path, sizeof(path), "%s: retry-after", pfx);
	if (!parse_uint(arg, strlen(arg), FAULTS_MAX_RETRY, &secs))
		secs = -1; /* rule_set_retry reports the range */
	return rule_set_retry(r, secs, path, errbuf, errlen);
}

/* Splits spec (modified) at ':' into at most 5 fields; -1 if more. */
static int split_fields(char *spec, char *fields[5])
{
	int n = 0;
	char *p = spec, *colon;

	for (;;) {
		if (n == 5)
			return -1;
		fields[n++] = p;
		colon = strchr(p, ':');
		if (!colon)
			return n;
		*colon = '\0';
		p = colon + 1;
	}
}

int faults_add_error_flag(struct faults *f, const char *spec, char *errbuf,
			  size_t errlen)
{
	struct fault_rule r;
	char pfx[PATH_MAX_LEN];
	char *copy = xstrdup(spec), *fields[5] = {0};
	int n, rc;

	memset(&r, 0, sizeof(r));
	snprintf(pfx, sizeof(pfx), "--fault-error \"%.200s\"", spec);
	n = split_fields(copy, fields);
	if (f->nrules >= FAULTS_MAX_RULES)
		rc = err_set(errbuf, errlen, ERR_INVAL, "%s: at most %d rules",
			     pfx, FAULTS_MAX_RULES);
	else if (n < 2)
		rc = err_set(errbuf, errlen, ERR_INVAL,
			     "%s: want CODE:RATE[:VERBS[:RESOURCES"
			     "[:RETRY_AFTER]]], e.g. 503:0.5",
			     pfx);
	else
		rc = flag_code_rate(&r, fields[0], fields[1], pfx, errbuf,
				    errlen);
	if (!rc && n > 2)
		rc = flag_list(&r, fields[2], pfx, "verbs", rule_add_verb,
			       errbuf, errlen);
	if (!rc && n > 3)
		rc = flag_list(&r, fields[3], pfx, "resources",
			       rule_add_resource, errbuf, errlen);
	if (!rc && n > 4 && *fields[4])
		rc = flag_retry(&r, fields[4], pfx, errbuf, errlen);
	if (rc)
		rule_release(&r);
	else
		f->rules[f->nrules++] = r;
	free(copy);
	return rc;
}
