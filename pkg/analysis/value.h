/*
 * value: what a measurement returns, as analysis conditions see it.
 *
 * A Prometheus scalar is a number; an instant vector is a list of numbers
 * (one per series, in the order Prometheus returned them); a range matrix is
 * a list of lists of numbers; a web provider's JSON value maps onto the same
 * shapes plus booleans and strings. NaN and +-Inf are ordinary numbers here:
 * deciding what they mean is the condition's job (expr.h), never a crash.
 *
 * A struct aval owns everything it points to; aval_clear() releases it.
 * Nothing here keeps global state; all functions are thread-safe.
 */
#ifndef KNIT_ANALYSIS_VALUE_H
#define KNIT_ANALYSIS_VALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum aval_kind {
	AVAL_NULL = 0, /* a zeroed struct aval; also JSON null */
	AVAL_NUMBER,
	AVAL_BOOL,
	AVAL_STRING,
	AVAL_LIST,
};

struct aval {
	enum aval_kind kind;
	double num;	    /* NUMBER */
	bool b;		    /* BOOL */
	char *str;	    /* STRING (owned) */
	struct aval *items; /* LIST (owned array of n) */
	size_t n;
};

/* Releases what v owns and zeroes it (kind AVAL_NULL). NULL is fine. */
void aval_clear(struct aval *v);

/* Deep copy of src into *dst (which is overwritten, not released). */
void aval_copy(struct aval *dst, const struct aval *src);

/* Constructors into *v (overwritten, not released). aval_list makes a list
 * of n zeroed items for the caller to fill. */
void aval_number(struct aval *v, double num);
void aval_list(struct aval *v, size_t n);

/*
 * The value as a short human string, as kept in a measurement's `value`:
 * numbers with up to 6 significant digits ("0.0091", "NaN", "+Inf"),
 * lists as "[0.01, 0.2]", nested lists likewise, strings quoted with JSON
 * escapes, "true"/"false", "null". The string and its NUL fit in `max`
 * bytes (a max below 16 counts as 16); longer output is cut, never inside
 * a UTF-8 sequence, and ends with "...". Returns a new string.
 */
char *aval_format(const struct aval *v, size_t max);

/*
 * A JSON value as an aval (numbers, booleans, strings, null, arrays of
 * those, nested). Objects are not values: ERR_INVAL with a message naming
 * the problem ("an object, not a number or list"). Depth is limited to 8
 * (ERR_INVAL beyond). Returns 0 or ERR_INVAL; *out is untouched on failure.
 */
int aval_from_json(const json_t *j, struct aval *out, char *err, size_t errlen);

#endif
