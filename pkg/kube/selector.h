/*
 * selector: Kubernetes label selectors and field selectors.
 *
 * Label selectors come in two shapes that both end up here: the string form
 * clients put in ?labelSelector= ("app=web,tier in (a,b),!canary"), parsed
 * exactly like k8s.io/apimachinery labels.Parse, and the structured
 * LabelSelector JSON ({"matchLabels":..., "matchExpressions":[...]}) found in
 * ReplicaSet, Deployment and Service specs. Field selectors are the simpler
 * ?fieldSelector= form ("metadata.name=x,status.phase!=Running"), parsed like
 * fields.ParseSelector, with its backslash escapes.
 *
 * Parse errors carry the same wording as the real apiserver so kubectl shows
 * users the message they would see against a real cluster.
 *
 * Invariants: a parsed selector is immutable; its requirements are sorted by
 * key (label) or by term text (field), as upstream does, so string forms and
 * error messages are deterministic. An empty selector matches everything.
 *
 * Ownership: selectors are heap objects created by the parse functions and
 * released with the matching *_free() (NULL is a no-op). They keep no
 * references to the input text or JSON.
 *
 * Thread-safety: parsing and freeing touch only the caller's objects; a
 * selector may be matched from many threads at once since matching never
 * writes to it.
 */
#ifndef KNIT_KUBE_SELECTOR_H
#define KNIT_KUBE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct label_selector;

/*
 * Parses the string form of a label selector. Supported: "k=v", "k==v",
 * "k!=v", "k in (a,b)", "k notin (a)", "k", "!k", and the numeric "k>5" /
 * "k<5"; requirements separated by ',' are ANDed; spaces, tabs, CR and LF
 * between tokens are ignored. NULL or "" (or only whitespace) yields an empty
 * selector that matches everything.
 *
 * Keys must be qualified names (optional DNS-1123 subdomain prefix and '/',
 * then a name of at most 63 characters); values must be valid label values.
 * On failure returns ERR_BADREQUEST, leaves *out NULL and writes the
 * labels.Parse message (e.g. "unable to parse requirement: found '', expected:
 * ',', ')' or identifier") to errbuf when it is non-NULL. On success *out is
 * a new selector the caller frees with label_selector_free().
 */
int label_selector_parse(const char *text, struct label_selector **out,
			 char *errbuf, size_t errlen);

/*
 * Builds a selector from a metav1.LabelSelector JSON object (borrowed, not
 * modified). matchLabels entries become "k=v"; matchExpressions support the
 * operators In, NotIn, Exists and DoesNotExist. NULL, JSON null and {} give an
 * empty selector that matches everything. Invalid input (bad key or value,
 * unknown operator, In without values, Exists with values, wrong JSON types)
 * returns ERR_INVAL with a message in errbuf and leaves *out NULL.
 */
int label_selector_from_json(const json_t *sel, struct label_selector **out,
			     char *errbuf, size_t errlen);

/*
 * True when `labels` (a borrowed JSON object of string to string, or NULL
 * for an object without labels) satisfies every requirement of `sel`. A NULL
 * selector matches everything.
 */
bool label_selector_matches(const struct label_selector *sel,
			    const json_t *labels);

/* True when `sel` has no requirements (it matches everything); NULL too. */
bool label_selector_is_empty(const struct label_selector *sel);

/*
 * Canonical string form, as labels.Selector.String(): requirements sorted by
 * key, joined by ',', values of in/notin sorted ("a in (x,y),!b,c=d").
 * Returns a new heap string (free()); "" for an empty or NULL selector.
 */
char *label_selector_string(const struct label_selector *sel);

void label_selector_free(struct label_selector *sel);

struct field_selector;

/*
 * Parses a field selector: terms "f=v", "f==v" or "f!=v" separated by ','
 * and ANDed. In values, "\," "\=" and "\\" stand for the literal characters;
 * an unescaped ',' splits terms and an unescaped '=' in a value is an error.
 * Whitespace is significant, as upstream. NULL or "" matches everything.
 * Errors return ERR_BADREQUEST with the fields.ParseSelector message (e.g.
 * "invalid selector: 'a'; can't understand 'a'") in errbuf and leave *out
 * NULL. On success *out is a new selector for field_selector_free().
 */
int field_selector_parse(const char *text, struct field_selector **out,
			 char *errbuf, size_t errlen);

/*
 * Checks that every field named in `sel` appears in `supported`, a
 * NULL-terminated list (NULL means none). Returns 0, or ERR_BADREQUEST with
 * the apiserver's "field label not supported: <name>" naming the first
 * offending field in term order.
 */
int field_selector_check(const struct field_selector *sel,
			 const char *const *supported, char *errbuf,
			 size_t errlen);

/*
 * Returns the object's value for `field` as a string, borrowed at least until
 * the next call; NULL is treated as "" (field absent), as upstream does.
 */
typedef const char *(*field_getter_fn)(const char *field, void *data);

/*
 * True when every term holds for the object that `get` describes; `data` is
 * passed through to `get`. A NULL or empty selector matches everything.
 */
bool field_selector_matches(const struct field_selector *sel,
			    field_getter_fn get, void *data);

/* True when `sel` has no terms (it matches everything); NULL too. */
bool field_selector_is_empty(const struct field_selector *sel);

void field_selector_free(struct field_selector *sel);

#endif
