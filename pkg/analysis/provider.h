/*
 * provider: taking one measurement from Prometheus or from any HTTP JSON
 * API, and the argument templating that builds their queries.
 *
 * The providers do blocking HTTP with libcurl (one easy handle per call,
 * bounded by the request's timeout) and turn the answer into a struct aval
 * (value.h). Every failure -- refused connection, DNS, timeout, an HTTP
 * error, Prometheus' own error answers (bad_data, execution, timeout,
 * canceled, unavailable), a body that is not the expected JSON -- comes back
 * as a negative code with one sentence in err that says what was asked and
 * what went wrong, e.g.
 *   "Prometheus at http://127.0.0.1:9090 unreachable: Connection refused"
 *   "Prometheus rejected the query (bad_data): 1:5: parse error: ..."
 *   "Prometheus query timed out after 5s"
 * An empty vector is not an error here: it is an empty list, and the
 * condition decides (expr.h). Bodies are capped at 4 MiB (ERR_TOOBIG).
 *
 * The parse functions (prom_parse_response, web_extract) are pure and are
 * what the unit tests cover shape by shape. All functions are thread-safe
 * once curl_global_init() has run (the binaries call it in main).
 */
#ifndef KNIT_ANALYSIS_PROVIDER_H
#define KNIT_ANALYSIS_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "analysis/value.h"

/* One HTTP header. */
struct http_header {
	const char *name;
	const char *value;
};

struct prom_request {
	const char *address; /* "http://host:9090" (a trailing / is fine) */
	const char *query;   /* PromQL, already rendered */
	double timeout_s;    /* > 0; also sent as the `timeout` parameter */
	const struct http_header *headers;
	size_t n_headers;
	const char *bearer_token; /* Authorization: Bearer; NULL: none */
	const char *basic_user;	  /* basic auth; NULL: none */
	const char *basic_password;
	bool insecure_skip_verify;
	/* Range query (/api/v1/query_range) when range is true: from
	 * now - range_start_s to now - range_end_s every range_step_s.
	 * Otherwise an instant query (/api/v1/query) at now. */
	bool range;
	double range_start_s, range_end_s, range_step_s;
};

/*
 * Runs the query and stores the result in *out (see value.h for shapes; a
 * string result is an AVAL_STRING). Returns 0, or ERR_TRANSPORT
 * (unreachable, TLS), ERR_TIMEOUT (the request, or Prometheus' errorType
 * timeout), ERR_UNAUTHORIZED/ERR_FORBIDDEN (401/403), ERR_BADREQUEST
 * (Prometheus bad_data), ERR_PARSE (a 2xx answer that is not a Prometheus
 * answer), ERR_INTERNAL (execution and other Prometheus errors, and
 * non-2xx answers that are not Prometheus JSON, e.g. a proxy's 502 page),
 * ERR_TOOBIG, or ERR_INVAL (bad timeout, range, header or URL), with the
 * message in err.
 */
int prom_measure(const struct prom_request *req, struct aval *out, char *err,
		 size_t errlen);

/*
 * Pure: a Prometheus API answer (`body`, `len` bytes, with HTTP status
 * `http_status`) to a value. Handles resultType scalar, vector, matrix and
 * string, values as strings including "NaN", "+Inf", "-Inf"; status
 * "error" with errorType/error (mapped as prom_measure says); 2xx/4xx/5xx
 * bodies that are not JSON. Same return and messages as prom_measure.
 */
int prom_parse_response(const char *body, size_t len, long http_status,
			struct aval *out, char *err, size_t errlen);

struct web_request {
	const char *url;
	const char *method; /* GET (default when NULL), POST, PUT */
	const char *body;   /* NULL: none; not sent with GET */
	const struct http_header *headers;
	size_t n_headers;
	double timeout_s;      /* > 0 */
	const char *json_path; /* NULL: the whole document */
	bool insecure_skip_verify;
};

/*
 * Calls the URL; a 2xx answer's body must be JSON, from which json_path
 * selects the value. Non-2xx answers are ERR_INTERNAL ("web metric
 * http://... answered 503: <first 200 bytes of body>"); same transport
 * errors as prom_measure.
 */
int web_measure(const struct web_request *req, struct aval *out, char *err,
		size_t errlen);

/*
 * Pure: selects `path` in `doc`. Paths: "$" or "" (the document),
 * "$.a.b", "$.a[0].b", "$['a b']", optionally wrapped in braces
 * ("{$.a.b}") as Argo Rollouts writes them. A missing member or index is
 * ERR_NOTFOUND ("$.data.value: no member \"value\""); the value must be
 * convertible by aval_from_json. Returns 0 or a negative code.
 */
int web_extract(const json_t *doc, const char *path, struct aval *out,
		char *err, size_t errlen);

/* How an argument value is written into a template. */
enum tmpl_escape {
	TMPL_RAW,    /* as is (header values: no CR/LF allowed) */
	TMPL_PROMQL, /* a PromQL query */
	TMPL_JSON,   /* a JSON body */
	TMPL_URL,    /* a URL */
};

struct tmpl_arg {
	const char *name;
	const char *value;
};

/*
 * Replaces every `{{args.NAME}}` (spaces inside the braces allowed) in
 * `src` by the value of argument NAME, so that no value can change the
 * structure of what it lands in:
 *   PROMQL: inside a "..." / '...' string literal the value is escaped
 *           for that literal (backslash, the quote, newlines, control
 *           bytes); inside a `...` raw string (no escapes exist) a value
 *           containing a backtick fails; outside a string (and inside a
 *           `#` comment) it must be a plain token (letters, digits, and
 *           _ : . - / only, e.g. a duration, a number, a label name) or
 *           the render fails;
 *   JSON:   inside a string literal JSON-escaped (and it must be valid
 *           UTF-8); outside, the value must be a JSON number, true, false
 *           or null;
 *   URL:    percent-encoded except unreserved characters (RFC 3986);
 *   RAW:    as is, but CR, LF and NUL are refused.
 * An unknown argument name, an unterminated `{{`, any other `{{...}}`,
 * or a placeholder right after a backslash inside a literal fails
 * (ERR_INVAL, "unknown argument \"x\" in query"; "in body", "in URL",
 * "in header" for the other escapes). Error messages quote at most 64
 * bytes of a value. Text outside placeholders is copied unchanged. Output
 * is limited to 1 MiB (ERR_TOOBIG). Returns 0 and a new string in *out,
 * or a negative code with *out NULL.
 */
int tmpl_render(const char *src, const struct tmpl_arg *args, size_t n_args,
		enum tmpl_escape esc, char **out, char *err, size_t errlen);

#endif
