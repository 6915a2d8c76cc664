/*
 * yaml: YAML <-> JSON conversion on libyaml, with the semantics of
 * sigs.k8s.io/yaml (go-yaml v2 underneath), which is what kube-apiserver
 * uses for YAML request bodies (application/yaml,
 * application/apply-patch+yaml) and what kubectl uses to read manifests
 * and print -o yaml.
 *
 * Reading (yaml_to_json, yaml_to_json_all) follows go-yaml v2's YAML 1.1
 * resolution of plain (unquoted, untagged) scalars:
 *   - null: "", "~", "null", "Null", "NULL"
 *   - bool: y Y yes Yes YES true True TRUE on On ON -> true,
 *           n N no No NO false False FALSE off Off OFF -> false
 *   - int: after removing '_': optional sign, then decimal, 0x hex,
 *          0o or leading-0 octal, 0b binary (Go's strconv base 0);
 *          values beyond int64 become JSON reals
 *   - float: [-+]?(.d+|d+(.d*)?)([eE][-+]?d+)? ; a float with an integral
 *            value that fits int64 becomes a JSON integer, exactly as Go's
 *            JSON encoder would print it ("3.0" -> 3); .inf/.nan are
 *            errors ("json: unsupported value: +Inf")
 *   - anything else (timestamps included) is a string.
 * Quoted scalars are strings. The tags !!str !!int !!float !!bool !!null
 * force the type (a value that does not fit is an error); other tags are
 * ignored and the scalar is a string. Anchors and aliases are expanded
 * into independent copies; merge keys ("<<": a mapping, an alias to one, or
 * a sequence of them) add the keys the mapping does not set itself, the
 * earliest source winning. Non-string keys become strings ("1", "true",
 * "1.5"); null, mapping and sequence keys are errors. Duplicate keys are an
 * error, as in sigs.k8s.io/yaml's strict mode (YAMLToJSONStrict), which
 * kube-apiserver uses for field validation.
 *
 * Limits (against "billion laughs" and stack exhaustion): at most
 * YAML_MAX_DEPTH levels of nesting, counting expanded aliases; at most
 * YAML_MAX_ALIASES alias uses and YAML_MAX_ALIAS_NODES values copied by
 * alias expansion per document.
 *
 * Error messages copy sigs.k8s.io/yaml's text, e.g.
 *   error converting YAML to JSON: yaml: line 3: mapping values are not
 *   allowed in this context
 *   error converting YAML to JSON: yaml: unmarshal errors:
 *     line 4: key "a" already set in map
 * The line number is go-yaml's (libyaml's problem mark; go-yaml reports
 * parser-stage errors one line early and omits "line N: " on line 1);
 * go-yaml never reports columns, so neither do we.
 *
 * Ownership: results are new references (json_decref them) or new heap
 * strings (free them); inputs are borrowed. Thread-safety: every function is
 * reentrant (no global state).
 */
#ifndef KNIT_JSON_YAML_H
#define KNIT_JSON_YAML_H

#include <stddef.h>

#include <jansson.h>

#define YAML_MAX_DEPTH	     1000
#define YAML_MAX_ALIASES     10000
#define YAML_MAX_ALIAS_NODES 100000

/*
 * Parses the first YAML document of text[0..len) (text need not be
 * NUL-terminated; later documents are not examined) and returns it as a new
 * reference. Empty input, or input holding only comments or a bare "---",
 * gives JSON null, as sigs.k8s.io/yaml does. JSON input is valid YAML and
 * converts to the same JSON value, except that YAML limits an implicit
 * mapping key to 1024 characters, so JSON with a longer object key is
 * rejected (as go-yaml does). On error returns NULL and, when errbuf is
 * non-NULL, writes a NUL-terminated message (see above) into errbuf[0..errlen).
 */
json_t *yaml_to_json(const char *text, size_t len, char *errbuf, size_t errlen);

/*
 * Parses every document of a "---"-separated stream and returns a new JSON
 * array reference holding them in order. Documents whose value is null
 * (empty, comments only, or an explicit null) are skipped, as kubectl
 * does, so an empty stream gives []. On an error in any document returns
 * NULL with a message in errbuf as yaml_to_json() does.
 */
json_t *yaml_to_json_all(const char *text, size_t len, char *errbuf,
			 size_t errlen);

/*
 * Renders `value` (borrowed) as one YAML document the way kubectl -o yaml
 * does: block style, 2-space indent, sequences inside mappings not indented
 * ("- " under the key), keys sorted like go-yaml, empty collections as {}
 * and [], multi-line strings as literal blocks (|), strings that would
 * otherwise read back as another type ("true", "123", "", "null", "1:20",
 * timestamps) double-quoted, reals in Go's shortest form (1.0 -> 1).
 * Returns a new NUL-terminated heap string ending in "\n"; free() it.
 * yaml_to_json() of the result equals `value` except that integral reals
 * read back as integers. Returns NULL when `value` is NULL (or if libyaml's
 * emitter fails, which no jansson value is known to cause).
 */
char *json_to_yaml(const json_t *value);

#endif
