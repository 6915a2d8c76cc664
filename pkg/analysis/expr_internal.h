/*
 * expr_internal: the syntax tree that the two halves of the condition
 * language share, and nothing else. expr_parse.c turns source text into a
 * tree (lexer, recursive-descent parser, expr_check); expr_eval.c walks it
 * (evaluator, expr_eval_bool). Private to pkg/analysis/expr*.c: other code
 * uses expr.h.
 *
 * Invariants of a tree returned by expr_parse():
 *   - every node owns its children l and r and its string str, and is
 *     released with expr_node_free() on the root only;
 *   - start and end are byte offsets [start, end) into the source that was
 *     parsed, so that source must outlive the tree for messages;
 *   - height is 1 + the height of the taller child and never exceeds
 *     EXPR_MAX_HEIGHT, which bounds the evaluator's recursion;
 *   - N_UNARY has op T_NOT or T_SUB and operand l; N_BINARY has an op from
 *     T_AND to T_MOD and operands l and r; N_INDEX has list l and index r;
 *     N_CALL has fn (a static entry, never NULL) and arguments l and, when
 *     fn->argc is 2, r;
 *   - N_IT only occurs inside the predicate (r) of an all() or any() call.
 *
 * A tree is never changed after parsing. Thread-safe; no global state.
 */
#ifndef KNIT_ANALYSIS_EXPR_INTERNAL_H
#define KNIT_ANALYSIS_EXPR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Limits: bytes of source, parser nesting of sub-expressions, tree height,
 * and bytes of source text or string value quoted in a message. */
#define EXPR_MAX_INPUT	 4096
#define EXPR_MAX_NESTING 64
#define EXPR_MAX_HEIGHT	 256
#define EXPR_MAX_SNIPPET 64

/* ---- tokens ---- */

/* Token kinds, also the operators of tree nodes. The evaluator relies on
 * the order: the arithmetic operators T_ADD..T_MOD come last. */
enum tok_kind {
	T_END,
	T_NUM,
	T_STR,
	T_IDENT,
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_NOT,
	T_AND,
	T_OR,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_ADD,
	T_SUB,
	T_MUL,
	T_DIV,
	T_MOD,
};

/* ---- syntax tree ---- */

enum node_kind {
	N_NUM,
	N_STR,
	N_BOOL,
	N_RESULT,
	N_IT,
	N_UNARY, /* op T_NOT or T_SUB */
	N_BINARY,
	N_INDEX, /* l[r] */
	N_CALL,
};

enum fn {
	F_LEN,
	F_ISNAN,
	F_ISINF,
	F_ABS,
	F_MIN,
	F_MAX,
	F_SUM,
	F_AVG,
	F_DEFAULT,
	F_ALL,
	F_ANY,
};

struct fn_def {
	const char *name;
	enum fn fn;
	int argc;
};

struct node {
	enum node_kind kind;
	enum tok_kind op;
	const struct fn_def *fn;
	double num;
	bool b;
	char *str;
	struct node *l, *r; /* operands or arguments */
	size_t start, end;  /* source bytes [start, end) */
	int height;
};

/* Frees a tree and all its children; expr_node_free(NULL) is a no-op. */
void expr_node_free(struct node *n);

/*
 * Parses src (NUL-terminated; NULL, empty or longer than EXPR_MAX_INPUT bytes
 * fail) into a new tree in *out, which the caller frees with
 * expr_node_free(). Returns 0 with *out non-NULL, or ERR_PARSE with a
 * message ("column N: ...") in err and *out NULL.
 */
int expr_parse(const char *src, struct node **out, char *err, size_t errlen);

#endif
