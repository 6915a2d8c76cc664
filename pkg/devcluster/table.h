/*
 * table: server-side Table output for knit-devcluster.
 *
 * When a request's Accept header asks for `as=Table;g=meta.k8s.io;v=v1`,
 * the real kube-apiserver answers with a meta.k8s.io/v1 Table instead of the
 * object or list, and kubectl prints its cells verbatim. This module builds
 * that Table from stored objects:
 *
 *   - custom resources get Name plus the CRD version's
 *     additionalPrinterColumns, evaluated with a JSONPath subset and
 *     formatted like apiextensions-apiserver's tableconvertor (only the first
 *     JSONPath match is used; "date" columns become ages; missing values are
 *     null; a CRD without columns gets Name + Age);
 *   - built-in resources get the columns of kube-apiserver's printers
 *     (pkg/printers/internalversion), generated "wide" like the server does,
 *     so priority-1 columns are always present and kubectl hides them unless
 *     -o wide;
 *   - anything else gets Name + Age.
 *
 * Every row carries the item's metadata (without managedFields) as a
 * PartialObjectMetadata, which kubectl uses for the NAMESPACE column of -A.
 *
 * Invariants: the functions never modify their inputs and keep no state, so
 * all of them are thread-safe. Results are new references owned by the
 * caller. Ages are computed against the `now` the caller passes, never the
 * clock, so output is reproducible in tests.
 */
#ifndef KNIT_DEVCLUSTER_TABLE_H
#define KNIT_DEVCLUSTER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

/*
 * Formats a duration like apimachinery's duration.HumanDuration, which the
 * apiserver uses for every age: "<invalid>" below -1s, "0s" for a small
 * negative skew, "45s" up to 119s, "5m30s" below 10 minutes, "42m" below 3
 * hours, "3h15m" below 8 hours, "20h" below 2 days, "3d4h" below 8 days,
 * "100d" below 2 years, "3y20d" below 8 years, then "9y". Fractions of a
 * second are truncated. Writes a NUL-terminated string into `out`
 * (truncated to outlen - 1 characters; 16 bytes always suffice).
 */
void table_human_duration(double seconds, char *out, size_t outlen);

/*
 * Evaluates a printer-column JSONPath against `obj`. The supported subset is
 * what CRDs use: optional surrounding braces, `.field`, `['key']` /
 * `["key"]` (keys with dots), `[n]` (negative counts from the end), `[*]`
 * and `.*`, and filters `[?(@.a.b == "x")]` with ==, !=, <, <=, >, >= against
 * a quoted string, number, true/false, or a bare `[?(@.a)]` existence test.
 * Like the apiserver's tableconvertor, which reads results[0][0], the value
 * is the first match in document order (so `.spec.containers[*].name` gives
 * the first container's name). Returns a new reference to that value, or
 * NULL when nothing matches or the path is malformed or unsupported
 * (recursive descent `..`, slices).
 */
json_t *table_jsonpath_eval(const json_t *obj, const char *path);

/*
 * Builds a meta.k8s.io/v1 Table for `items` (a JSON array of full objects;
 * NULL counts as empty).
 *
 * `group` ("" for core) and `resource` (plural) pick the built-in printer.
 * `printer_columns` is the CRD version's additionalPrinterColumns array
 * ({name, type, format?, description?, priority?, jsonPath}); when it is a
 * non-empty array it wins over any built-in, when NULL or empty and the
 * resource is not a known built-in the columns are Name + Age (the
 * apiserver's default for CRDs). `list_meta` (may be NULL) supplies
 * resourceVersion, continue and remainingItemCount for the table's metadata.
 * `now` is the reference time for ages. When `include_column_definitions`
 * is false, columnDefinitions is JSON null, as in watch events.
 *
 * Returns a new reference:
 *   {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{...},
 *    "columnDefinitions":[{"name","type","format","description","priority"}]
 *                        or null,
 *    "rows":[{"cells":[...],"object":{"kind":"PartialObjectMetadata",
 *             "apiVersion":"meta.k8s.io/v1","metadata":{...}}}]}
 * Pod rows of Succeeded/Failed pods also carry "conditions" (type
 * Completed), as the apiserver's pod printer sets them.
 */
json_t *table_build(const char *group, const char *resource,
		    const json_t *printer_columns, const json_t *items,
		    const json_t *list_meta, bool include_column_definitions,
		    time_t now);

#endif
