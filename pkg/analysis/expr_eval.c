/*
 * expr_eval: evaluating the condition language of analysis metrics
 * (expr.h): expr_eval_bool() parses with expr_parse() (expr_parse.c) and
 * walks the syntax tree (expr_internal.h) with `result` bound.
 *
 * Values are struct aval, either owned by the evaluator or borrowed from
 * `result` (so indexing a big matrix copies nothing). Every failure is a
 * return code and a message; nothing is global. Recursion follows the
 * tree, whose height the parser bounds by EXPR_MAX_HEIGHT.
 */
#include "analysis/expr.h"
#include "analysis/expr_internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

/* ---- evaluation ---- */

struct ctx {
	const char *src;
	const struct aval *result;
	const struct aval *it; /* current item of all()/any() */
	size_t it_index;
	char *err;
	size_t errlen;
};

/* A value either owned (own) or borrowed (ref, which then wins). */
struct rv {
	struct aval own;
	const struct aval *ref;
};

static const struct aval *rv_get(const struct rv *v)
{
	return v->ref ? v->ref : &v->own;
}

static void rv_release(struct rv *v)
{
	aval_clear(&v->own);
	v->ref = NULL;
}

static void rv_bool(struct rv *v, bool b)
{
	rv_release(v);
	v->own.kind = AVAL_BOOL;
	v->own.b = b;
}

static void rv_number(struct rv *v, double d)
{
	rv_release(v);
	aval_number(&v->own, d);
}

static const char *str_of(const struct aval *v)
{
	return v->str ? v->str : "";
}

static const char *kind_name(enum aval_kind k)
{
	switch (k) {
	case AVAL_NUMBER:
		return "a number";
	case AVAL_BOOL:
		return "a boolean";
	case AVAL_STRING:
		return "a string";
	case AVAL_LIST:
		return "a list";
	case AVAL_NULL:
		break;
	}
	return "null";
}

/* What n is called in messages: its source text, at most EXPR_MAX_SNIPPET
 * bytes. */
static void describe(const struct ctx *c, const struct node *n, char *out,
		     size_t outlen)
{
	size_t len = n->end - n->start;

	if (n->kind == N_IT) {
		snprintf(out, outlen, "it (item %zu)", c->it_index);
		return;
	}
	if (len > EXPR_MAX_SNIPPET)
		snprintf(out, outlen, "%.*s...", EXPR_MAX_SNIPPET,
			 c->src + n->start);
	else
		snprintf(out, outlen, "%.*s", (int)len, c->src + n->start);
}

static int fail_about(const struct ctx *c, const struct node *n,
		      const char *what)
{
	char name[EXPR_MAX_SNIPPET + 32];

	describe(c, n, name, sizeof(name));
	return err_set(c->err, c->errlen, ERR_INVAL, "%s %s", name, what);
}

/* "NaN", "+Inf" or "-Inf" for a number that is not finite. */
static const char *nonfinite_name(double d)
{
	if (isnan(d))
		return "NaN";
	return d > 0 ? "+Inf" : "-Inf";
}

static int check_finite(const struct ctx *c, const struct node *n, double d)
{
	char what[16];

	if (isfinite(d))
		return 0;
	snprintf(what, sizeof(what), "is %s", nonfinite_name(d));
	return fail_about(c, n, what);
}

/* A finite number, or ERR_INVAL naming n. */
static int need_number(const struct ctx *c, const struct node *n,
		       const struct aval *v, double *d)
{
	char what[64];

	if (v->kind != AVAL_NUMBER) {
		snprintf(what, sizeof(what), "is %s, not a number",
			 kind_name(v->kind));
		return fail_about(c, n, what);
	}
	*d = v->num;
	return check_finite(c, n, v->num);
}

static int need_bool(const struct ctx *c, const struct node *n,
		     const struct aval *v, bool *b)
{
	char what[64];

	if (v->kind != AVAL_BOOL) {
		snprintf(what, sizeof(what), "is %s, not true or false",
			 kind_name(v->kind));
		return fail_about(c, n, what);
	}
	*b = v->b;
	return 0;
}

static int need_list(const struct ctx *c, const struct node *n,
		     const struct aval *v, const char *fn)
{
	char what[96];

	if (v->kind == AVAL_LIST)
		return 0;
	snprintf(what, sizeof(what), "is %s; %s() needs a list",
		 kind_name(v->kind), fn);
	return fail_about(c, n, what);
}

static int eval(struct ctx *c, const struct node *n, struct rv *out);

/* Evaluates n into a fresh rv *v (released on failure). */
static int eval_into(struct ctx *c, const struct node *n, struct rv *v)
{
	int rc;

	memset(v, 0, sizeof(*v));
	rc = eval(c, n, v);
	if (rc < 0)
		rv_release(v);
	return rc;
}

static int eval_bool(struct ctx *c, const struct node *n, bool *b)
{
	struct rv v;
	int rc = eval_into(c, n, &v);

	if (rc == 0)
		rc = need_bool(c, n, rv_get(&v), b);
	rv_release(&v);
	return rc;
}

static int eval_number(struct ctx *c, const struct node *n, double *d)
{
	struct rv v;
	int rc = eval_into(c, n, &v);

	if (rc == 0)
		rc = need_number(c, n, rv_get(&v), d);
	rv_release(&v);
	return rc;
}

static const char *op_text(enum tok_kind op)
{
	switch (op) {
	case T_EQ:
		return "==";
	case T_NE:
		return "!=";
	case T_LT:
		return "<";
	case T_LE:
		return "<=";
	case T_GT:
		return ">";
	case T_GE:
		return ">=";
	default:
		return "?";
	}
}

/* Compares two values for ==, !=, <, <=, >, >= into *res. */
static int compare(const struct ctx *c, const struct node *n,
		   const struct aval *a, const struct aval *b, bool *res)
{
	int cmp = 0, rc;
	bool ordering = n->op != T_EQ && n->op != T_NE;

	if (a->kind != b->kind ||
	    (a->kind != AVAL_NUMBER && a->kind != AVAL_STRING &&
	     (a->kind != AVAL_BOOL || ordering)))
		return err_set(c->err, c->errlen, ERR_INVAL,
			       "cannot compare %s with %s using '%s'",
			       kind_name(a->kind), kind_name(b->kind),
			       op_text(n->op));
	if (a->kind == AVAL_NUMBER) {
		rc = check_finite(c, n->l, a->num);
		if (rc == 0)
			rc = check_finite(c, n->r, b->num);
		if (rc < 0)
			return rc;
		cmp = (a->num > b->num) - (a->num < b->num);
	} else if (a->kind == AVAL_STRING) {
		cmp = strcmp(str_of(a), str_of(b));
	} else {
		cmp = (int)a->b - (int)b->b;
	}
	switch (n->op) {
	case T_EQ:
		*res = cmp == 0;
		break;
	case T_NE:
		*res = cmp != 0;
		break;
	case T_LT:
		*res = cmp < 0;
		break;
	case T_LE:
		*res = cmp <= 0;
		break;
	case T_GT:
		*res = cmp > 0;
		break;
	default:
		*res = cmp >= 0;
	}
	return 0;
}

static int arithmetic(const struct ctx *c, const struct node *n, double a,
		      double b, double *res)
{
	char name[EXPR_MAX_SNIPPET + 32];

	if ((n->op == T_DIV || n->op == T_MOD) && b == 0) {
		if (n->r->kind == N_NUM)
			return err_set(c->err, c->errlen, ERR_INVAL,
				       "division by zero");
		describe(c, n->r, name, sizeof(name));
		return err_set(c->err, c->errlen, ERR_INVAL,
			       "division by zero: %s is 0", name);
	}
	switch (n->op) {
	case T_ADD:
		*res = a + b;
		break;
	case T_SUB:
		*res = a - b;
		break;
	case T_MUL:
		*res = a * b;
		break;
	case T_DIV:
		*res = a / b;
		break;
	default:
		*res = fmod(a, b);
	}
	if (!isfinite(*res))
		return fail_about(c, n, "overflows");
	return 0;
}

static int eval_logic(struct ctx *c, const struct node *n, struct rv *out)
{
	bool a = false, b = false;
	int rc = eval_bool(c, n->l, &a);

	if (rc < 0)
		return rc;
	/* Short circuit: the right side is not evaluated at all. */
	if ((n->op == T_AND && !a) || (n->op == T_OR && a)) {
		rv_bool(out, a);
		return 0;
	}
	rc = eval_bool(c, n->r, &b);
	if (rc == 0)
		rv_bool(out, b);
	return rc;
}

static int eval_binary(struct ctx *c, const struct node *n, struct rv *out)
{
	struct rv a, b;
	double x = 0, y = 0, d = 0;
	bool res = false;
	int rc;

	if (n->op == T_AND || n->op == T_OR)
		return eval_logic(c, n, out);
	if (n->op >= T_ADD) {
		rc = eval_number(c, n->l, &x);
		if (rc == 0)
			rc = eval_number(c, n->r, &y);
		if (rc == 0)
			rc = arithmetic(c, n, x, y, &d);
		if (rc == 0)
			rv_number(out, d);
		return rc;
	}
	rc = eval_into(c, n->l, &a);
	if (rc < 0)
		return rc;
	rc = eval_into(c, n->r, &b);
	if (rc == 0) {
		rc = compare(c, n, rv_get(&a), rv_get(&b), &res);
		rv_release(&b);
	}
	rv_release(&a);
	if (rc == 0)
		rv_bool(out, res);
	return rc;
}

static int eval_unary(struct ctx *c, const struct node *n, struct rv *out)
{
	double d = 0;
	bool b = false;
	int rc;

	if (n->op == T_NOT) {
		rc = eval_bool(c, n->l, &b);
		if (rc == 0)
			rv_bool(out, !b);
		return rc;
	}
	rc = eval_number(c, n->l, &d);
	if (rc == 0)
		rv_number(out, -d);
	return rc;
}

/* Replaces the list in *v by its item i. */
static void rv_take_item(struct rv *v, size_t i)
{
	struct aval item;

	if (v->ref) {
		v->ref = &v->ref->items[i];
		return;
	}
	item = v->own.items[i];
	memset(&v->own.items[i], 0, sizeof(item));
	aval_clear(&v->own);
	v->own = item;
}

static int eval_index(struct ctx *c, const struct node *n, struct rv *out)
{
	const struct aval *list;
	char what[96];
	double d = 0;
	size_t n_items;
	int rc = eval(c, n->l, out);

	if (rc < 0)
		return rc;
	list = rv_get(out);
	if (list->kind != AVAL_LIST) {
		snprintf(what, sizeof(what),
			 "is %s, not a list: cannot index it",
			 kind_name(list->kind));
		return fail_about(c, n->l, what);
	}
	rc = eval_number(c, n->r, &d);
	if (rc < 0)
		return rc;
	if (d != floor(d))
		return err_set(c->err, c->errlen, ERR_INVAL,
			       "index %.6g is not a whole number", d);
	n_items = list->n;
	if (n_items == 0)
		return err_set(c->err, c->errlen, ERR_INVAL,
			       "index %.15g out of range: the list is empty",
			       d);
	if (d >= (double)n_items || d < -(double)n_items)
		return err_set(c->err, c->errlen, ERR_INVAL,
			       "index %.15g out of range: the list has %zu "
			       "item%s",
			       d, n_items, n_items == 1 ? "" : "s");
	rv_take_item(out, d < 0 ? n_items - (size_t)(-d) : (size_t)d);
	return 0;
}

/* min, max, sum, avg over a list of finite numbers. */
static int eval_reduce(struct ctx *c, const struct node *n,
		       const struct aval *list, struct rv *out)
{
	char name[EXPR_MAX_SNIPPET + 32];
	enum fn fn = n->fn->fn;
	double acc = 0, d;
	size_t i;

	describe(c, n->l, name, sizeof(name));
	if (list->n == 0)
		return err_set(c->err, c->errlen, ERR_INVAL,
			       "%s is an empty list; %s() needs at least one "
			       "number",
			       name, n->fn->name);
	for (i = 0; i < list->n; i++) {
		if (list->items[i].kind != AVAL_NUMBER)
			return err_set(c->err, c->errlen, ERR_INVAL,
				       "item %zu of %s is %s, not a number", i,
				       name, kind_name(list->items[i].kind));
		if (!isfinite(list->items[i].num))
			return err_set(c->err, c->errlen, ERR_INVAL,
				       "item %zu of %s is %s", i, name,
				       nonfinite_name(list->items[i].num));
		d = list->items[i].num;
		if (i == 0)
			acc = d;
		else if (fn == F_MIN)
			acc = d < acc ? d : acc;
		else if (fn == F_MAX)
			acc = d > acc ? d : acc;
		else
			acc += d;
	}
	if (fn == F_AVG)
		acc /= (double)list->n;
	if (!isfinite(acc))
		return fail_about(c, n, "overflows");
	rv_number(out, acc);
	return 0;
}

/* all() and any(): the predicate with `it` bound to each item in turn. */
static int eval_quantifier(struct ctx *c, const struct node *n,
			   const struct aval *list, struct rv *out)
{
	const struct aval *saved_it = c->it;
	size_t saved_index = c->it_index, i;
	bool want = n->fn->fn == F_ANY, b = false;
	int rc = 0;

	for (i = 0; i < list->n; i++) {
		c->it = &list->items[i];
		c->it_index = i;
		rc = eval_bool(c, n->r, &b);
		if (rc < 0 || b == want)
			break;
	}
	c->it = saved_it;
	c->it_index = saved_index;
	if (rc == 0)
		rv_bool(out, i < list->n ? want : !want);
	return rc;
}

static int is_missing(const struct aval *v)
{
	return v->kind == AVAL_NULL || (v->kind == AVAL_LIST && v->n == 0) ||
	       (v->kind == AVAL_NUMBER && isnan(v->num));
}

static int eval_call(struct ctx *c, const struct node *n, struct rv *out)
{
	enum fn fn = n->fn->fn;
	struct rv arg;
	const struct aval *v;
	char what[96];
	int rc = eval_into(c, n->l, &arg);

	if (fn == F_DEFAULT) {
		if (rc == 0 && !is_missing(rv_get(&arg))) {
			*out = arg;
			return 0;
		}
		rv_release(&arg);
		return eval(c, n->r, out);
	}
	if (rc < 0)
		return rc;
	v = rv_get(&arg);
	switch (fn) {
	case F_LEN:
		if (v->kind == AVAL_LIST || v->kind == AVAL_STRING) {
			rv_number(out, v->kind == AVAL_LIST
					       ? (double)v->n
					       : (double)strlen(str_of(v)));
			break;
		}
		snprintf(what, sizeof(what),
			 "is %s; len() needs a list or a string",
			 kind_name(v->kind));
		rc = fail_about(c, n->l, what);
		break;
	case F_ISNAN:
	case F_ISINF:
		if (v->kind != AVAL_NUMBER) {
			snprintf(what, sizeof(what),
				 "is %s; %s() needs a number",
				 kind_name(v->kind), n->fn->name);
			rc = fail_about(c, n->l, what);
		} else {
			rv_bool(out,
				fn == F_ISNAN ? isnan(v->num) : isinf(v->num));
		}
		break;
	case F_ABS: {
		double d = 0;

		rc = need_number(c, n->l, v, &d);
		if (rc == 0)
			rv_number(out, fabs(d));
		break;
	}
	case F_ALL:
	case F_ANY:
		rc = need_list(c, n->l, v, n->fn->name);
		if (rc == 0)
			rc = eval_quantifier(c, n, v, out);
		break;
	default:
		rc = need_list(c, n->l, v, n->fn->name);
		if (rc == 0)
			rc = eval_reduce(c, n, v, out);
	}
	rv_release(&arg);
	return rc;
}

/* Evaluates n into *out, which must be empty (zeroed or released). */
static int eval(struct ctx *c, const struct node *n, struct rv *out)
{
	switch (n->kind) {
	case N_NUM:
		rv_number(out, n->num);
		return 0;
	case N_STR:
		rv_release(out);
		out->own.kind = AVAL_STRING;
		out->own.str = xstrdup(n->str);
		return 0;
	case N_BOOL:
		rv_bool(out, n->b);
		return 0;
	case N_RESULT:
		out->ref = c->result;
		return 0;
	case N_IT:
		out->ref = c->it;
		return 0;
	case N_UNARY:
		return eval_unary(c, n, out);
	case N_BINARY:
		return eval_binary(c, n, out);
	case N_INDEX:
		return eval_index(c, n, out);
	case N_CALL:
		return eval_call(c, n, out);
	}
	return err_set(c->err, c->errlen, ERR_INTERNAL, "unknown node");
}

int expr_eval_bool(const char *src, const struct aval *result, bool *out,
		   char *err, size_t errlen)
{
	static const struct aval null_value;
	struct ctx c = {.src = src,
			.result = result ? result : &null_value,
			.err = err,
			.errlen = errlen};
	struct node *root;
	struct rv v;
	const struct aval *val;
	char *text;
	int rc = expr_parse(src, &root, err, errlen);

	if (rc < 0)
		return rc;
	assert(root != NULL); /* invariant */
	memset(&v, 0, sizeof(v));
	rc = eval(&c, root, &v);
	if (rc == 0) {
		val = rv_get(&v);
		if (val->kind == AVAL_BOOL) {
			*out = val->b;
			if (err && errlen)
				err[0] = '\0';
		} else {
			text = aval_format(val, EXPR_MAX_SNIPPET);
			rc = err_set(err, errlen, ERR_INVAL,
				     "the condition gives %s (%s), not true or "
				     "false",
				     kind_name(val->kind), text);
			free(text);
		}
	}
	rv_release(&v);
	expr_node_free(root);
	return rc;
}
