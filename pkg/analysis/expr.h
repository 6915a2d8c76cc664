/*
 * expr: the condition language of analysis metrics.
 *
 * A successCondition or failureCondition is an expression over `result`
 * (struct aval, see value.h) that must come out true or false:
 *
 *   result < 0.05                     scalar threshold
 *   result[0] >= 0.99                 first series of a vector
 *   len(result) > 0 && all(result, it < 0.05)
 *   default(result[0], 0) < 0.05      empty vector counts as 0
 *   isNaN(result) || result < 0.05    no traffic is not a failure
 *   (result[0] - result[1]) / result[1] < 0.1
 *   !(result == "degraded")
 *
 * Grammar (precedence low to high): `||`, `&&`, `==` `!=`, `<` `<=` `>`
 * `>=`, `+` `-`, `*` `/` `%`, unary `!` `-`, postfix indexing `x[i]`
 * (negative i counts from the end), primaries: numbers (1, 0.5, 1e-3),
 * strings ("a" or 'a'), true, false, `result`, `it` (inside all/any),
 * parentheses and the functions len(x), isNaN(x), isInf(x), abs(x),
 * min(list), max(list), sum(list), avg(list), default(x, fallback),
 * all(list, predicate), any(list, predicate). `and`, `or`, `not` are
 * accepted as spellings of &&, ||, !.
 *
 * Errors, never crashes: a syntax error fails with ERR_PARSE and a message
 * with the column ("column 9: expected ')'"); an evaluation that cannot
 * give a meaningful answer fails with ERR_INVAL and a message saying why:
 * comparing or doing arithmetic on NaN ("result is NaN"), on +-Inf
 * ("result is +Inf"), an index out of range ("index 0 out of range: the
 * list is empty"), a type mismatch ("cannot compare a list with a
 * number"), division by zero, a non-boolean final value. isNaN/isInf are
 * the way to test for those values; default(x, y) gives y when evaluating
 * x fails or x is NaN, an empty list or null. `==` and `!=` compare two
 * numbers, two strings or two booleans; any other pair is a type mismatch
 * (a one-element list is still a list: write result[0]). `<` and friends
 * order numbers, and strings byte-wise. all() of an empty list is true,
 * any() of one false; min/max/sum/avg need a non-empty list of finite
 * numbers. && and || short-circuit, so
 * `isNaN(result) || result < 0.05` never compares NaN. Input length is
 * limited to 4 KiB and nesting depth to 64 (ERR_PARSE beyond).
 *
 * Thread-safe; no global state.
 */
#ifndef KNIT_ANALYSIS_EXPR_H
#define KNIT_ANALYSIS_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/value.h"

/* Syntax check only (for validating templates). 0 or ERR_PARSE. */
int expr_check(const char *src, char *err, size_t errlen);

/*
 * Evaluates `src` with `result` bound and stores its boolean value in *out.
 * Returns 0, ERR_PARSE (syntax) or ERR_INVAL (evaluation), with a message
 * in err (which never contains more than the first 64 bytes of a string
 * value).
 */
int expr_eval_bool(const char *src, const struct aval *result, bool *out,
		   char *err, size_t errlen);

#endif
