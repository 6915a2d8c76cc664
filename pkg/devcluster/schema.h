/*
 * schema: structural-schema handling of custom resources, as the real
 * kube-apiserver does it for a CustomResourceDefinition version's
 * `schema.openAPIV3Schema`.
 *
 * Three passes run on every write of a custom resource, in this order:
 * schema_prune() drops fields the schema does not describe (the source of
 * the 'unknown field "spec.foo"' warnings and strict-decoding errors),
 * schema_apply_defaults() fills in `default` values, and schema_validate()
 * checks the result and produces the causes of a 422 Invalid, worded
 * exactly like kube-openapi + apiextensions-apiserver
 * (e.g. `Invalid value: -1: spec.replicas in body should be greater than or
 * equal to 0`). schema_invalid_message() builds the Status message.
 *
 * Invariants: schemas are JSON objects in the shape of apiextensions/v1
 * JSONSchemaProps and are never modified. Field paths use the apiserver's
 * format: dotted keys and "[i]" indexes ("spec.items[0].name").
 *
 * Supported keywords: type, nullable, required, enum, minimum, maximum,
 * exclusiveMinimum/Maximum, multipleOf, minLength, maxLength, pattern,
 * minItems, maxItems, minProperties, maxProperties, format (only in the
 * type check), properties, additionalProperties, items,
 * x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
 * x-kubernetes-int-or-string. Not supported: allOf/anyOf/oneOf/not,
 * string formats (date-time, ...), x-kubernetes-validations (CEL).
 *
 * Ownership: every function works on caller-owned values; nothing is
 * retained. Results appended to `pruned` / `causes` are new values owned by
 * those arrays. All functions are reentrant and thread-safe on distinct
 * objects.
 */
#ifndef KNIT_DEVCLUSTER_SCHEMA_H
#define KNIT_DEVCLUSTER_SCHEMA_H

#include <jansson.h>

/*
 * Removes, in place, every field of `obj` that `schema` does not describe,
 * following the apiserver's pruning algorithm:
 *  - below x-kubernetes-preserve-unknown-fields everything is kept, but
 *    fields inside known `properties` / `additionalProperties` are still
 *    pruned;
 *  - an x-kubernetes-embedded-resource object keeps apiVersion, kind and
 *    metadata; the root is always treated as an embedded resource, so its
 *    apiVersion, kind and metadata are never pruned;
 *  - additionalProperties with a schema prunes each value against it;
 *    `additionalProperties: true` keeps the keys but, like the apiserver,
 *    prunes every field of objects below it (there is no schema for them);
 *  - array elements are pruned against `items`.
 * When `pruned` (a JSON array) is non-NULL, the path of every removed field
 * ("spec.foo", "spec.items[0].bar") is appended to it as a string, sorted
 * bytewise as the apiserver sorts its warnings. `schema` may be NULL (then
 * only apiVersion, kind and metadata survive at the root).
 */
void schema_prune(json_t *obj, const json_t *schema, json_t *pruned);

/*
 * Applies `default` values in place, recursively: an absent property (or a
 * null one when the property is not nullable) gets a deep copy of its
 * default, and defaulting continues inside the copied value; defaults apply
 * inside array items and additionalProperties values too. Before that it
 * removes null values of non-nullable fields that have no default, as the
 * apiserver does. Unknown fields (no schema) are left alone.
 */
void schema_apply_defaults(json_t *obj, const json_t *schema);

/*
 * Validates `obj` against `schema` and appends one cause per violation to
 * `causes` (a JSON array) as a new object
 *     {"reason": "FieldValueInvalid", "message": "...", "field": "spec.x"}
 * where reason is one of FieldValueInvalid, FieldValueRequired,
 * FieldValueNotSupported, FieldValueTypeInvalid, FieldValueTooLong,
 * FieldValueTooMany, and message is the apiserver's cause message (the
 * field.Error body, without the field). The root's metadata is not
 * validated (the apiserver checks ObjectMeta separately). Integral reals
 * (1.0) are accepted as integers, as kube-openapi does. Returns the number
 * of causes appended.
 */
int schema_validate(const json_t *obj, const json_t *schema, json_t *causes);

/*
 * Builds the message of the apiserver's 422 Invalid Status from `causes`
 * (as produced by schema_validate()):
 *     Rollout.knit.dev "demo" is invalid: spec.replicas: Invalid value: ...
 *     Rollout.knit.dev "demo" is invalid: [spec.a: Required value, spec.b: ...]
 * Duplicate "field: message" entries are listed once; with no causes the
 * message ends at "is invalid". `group` may be NULL or "" for the core
 * group (then only the kind is shown). Returns a new heap string; free() it.
 */
char *schema_invalid_message(const char *kind, const char *group,
			     const char *name, const json_t *causes);

#endif
