/*
 * expr: the condition language of analysis metrics (expr.h).
 *
 * A hand-written lexer and recursive-descent parser build a small syntax
 * tree; an evaluator walks it with `result` bound. Values are struct aval,
 * either owned by the evaluator or borrowed from `result` (so indexing a big
 * matrix copies nothing). Every failure is a return code and a message;
 * nothing is global. Parser recursion is bounded by MAX_NESTING and the
 * tree's height by MAX_HEIGHT, which also bounds the evaluator's recursion.
 *
 * Parser invariant: a parse_*() function that returns 0 has stored a tree in
 * *out; every failure is a negative code from err_set(). err_set() lives in
 * another translation unit, so the asserts marked "invariant" state this
 * where the static analyzer can see it.
 */
#include "analysis/expr.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

#define MAX_INPUT   4096
#define MAX_NESTING 64
#define MAX_HEIGHT  256
#define MAX_SNIPPET 64

/* ---- tokens ---- */

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

struct token {
	enum tok_kind kind;
	size_t start, len; /* bytes of the source */
	double num;	   /* T_NUM */
	char *str;	   /* T_STR, owned until taken */
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

static const struct fn_def {
	const char *name;
	enum fn fn;
	int argc;
} fn_defs[] = {
	{"len", F_LEN, 1}, {"isNaN", F_ISNAN, 1}, {"isInf", F_ISINF, 1},
	{"abs", F_ABS, 1}, {"min", F_MIN, 1},	  {"max", F_MAX, 1},
	{"sum", F_SUM, 1}, {"avg", F_AVG, 1},	  {"default", F_DEFAULT, 2},
	{"all", F_ALL, 2}, {"any", F_ANY, 2},
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

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->l);
	node_free(n->r);
	free(n->str);
	free(n);
}

/* ---- lexer ---- */

struct parser {
	const char *src;
	size_t len, pos;
	struct token tok;
	int nesting; /* open sub-expressions */
	int preds;   /* enclosing all()/any() predicates */
	char *err;
	size_t errlen;
};

static int is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int lex_error(struct parser *p, size_t at, const char *msg)
{
	return err_set(p->err, p->errlen, ERR_PARSE, "column %zu: %s", at + 1,
		       msg);
}

static size_t digits(const char *s, size_t i)
{
	while (is_digit(s[i]))
		i++;
	return i;
}

static int lex_number(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;
	char *copy, *end;

	i = digits(s, i);
	if (s[i] == '.') {
		if (!is_digit(s[i + 1]))
			return lex_error(p, p->pos, "malformed number");
		i = digits(s, i + 1);
	}
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (!is_digit(s[i]))
			return lex_error(p, p->pos, "malformed number");
		i = digits(s, i);
	}
	if (is_ident_start(s[i]) || s[i] == '.')
		return lex_error(p, p->pos, "malformed number");
	copy = xstrndup(s + p->pos, i - p->pos);
	p->tok.num = strtod(copy, &end);
	free(copy);
	if (!isfinite(p->tok.num))
		return lex_error(p, p->pos, "number out of range");
	p->tok.kind = T_NUM;
	p->pos = i;
	return 0;
}

static int lex_string(struct parser *p)
{
	const char *s = p->src;
	char quote = s[p->pos], c;
	size_t i = p->pos + 1, o = 0;
	char *out = xmalloc(p->len - p->pos);

	for (; s[i] != quote; i++) {
		c = s[i];
		if (c == '\0') {
			free(out);
			return lex_error(p, p->pos, "unterminated string");
		}
		if (c == '\\') {
			switch (s[++i]) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case '\\':
			case '"':
			case '\'':
				c = s[i];
				break;
			default:
				free(out);
				return lex_error(
					p, i - 1,
					s[i] ? "unknown escape in string"
					     : "unterminated string");
			}
		}
		out[o++] = c;
	}
	out[o] = '\0';
	p->tok.kind = T_STR;
	p->tok.str = out;
	p->pos = i + 1;
	return 0;
}

static void lex_ident(struct parser *p)
{
	static const struct {
		const char *word;
		enum tok_kind kind;
	} words[] = {{"and", T_AND}, {"or", T_OR}, {"not", T_NOT}};
	size_t i = p->pos, k;

	while (is_ident_start(p->src[i]) || is_digit(p->src[i]))
		i++;
	p->tok.kind = T_IDENT;
	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strlen(words[k].word) == i - p->pos &&
		    memcmp(words[k].word, p->src + p->pos, i - p->pos) == 0)
			p->tok.kind = words[k].kind;
	p->pos = i;
}

/* Operators of one or two characters; 0 when s does not start one. */
static size_t lex_operator(const char *s, enum tok_kind *kind)
{
	static const struct {
		const char *text;
		enum tok_kind kind;
	} ops[] = {
		{"&&", T_AND},	 {"||", T_OR},	  {"==", T_EQ},
		{"!=", T_NE},	 {"<=", T_LE},	  {">=", T_GE},
		{"<", T_LT},	 {">", T_GT},	  {"!", T_NOT},
		{"+", T_ADD},	 {"-", T_SUB},	  {"*", T_MUL},
		{"/", T_DIV},	 {"%", T_MOD},	  {"(", T_LPAREN},
		{")", T_RPAREN}, {"[", T_LBRACK}, {"]", T_RBRACK},
		{",", T_COMMA},
	};
	size_t k, n;

	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		n = strlen(ops[k].text);
		if (strncmp(s, ops[k].text, n) == 0) {
			*kind = ops[k].kind;
			return n;
		}
	}
	return 0;
}

static int lex_other(struct parser *p)
{
	unsigned char c = (unsigned char)p->src[p->pos];
	char msg[64];
	size_t n = lex_operator(p->src + p->pos, &p->tok.kind);

	if (n) {
		p->pos += n;
		return 0;
	}
	if (c == '=')
		return lex_error(p, p->pos, "'=' is not an operator; use '=='");
	if (c == '&')
		return lex_error(p, p->pos, "'&' is not an operator; use '&&'");
	if (c == '|')
		return lex_error(p, p->pos, "'|' is not an operator; use '||'");
	if (c > 0x20 && c < 0x7f)
		snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
	else
		snprintf(msg, sizeof(msg), "unexpected byte 0x%02x", c);
	return lex_error(p, p->pos, msg);
}

/* Reads the next token into p->tok (releasing an untaken string). */
static int lex_next(struct parser *p)
{
	const char *s = p->src;
	int rc = 0;

	free(p->tok.str);
	memset(&p->tok, 0, sizeof(p->tok));
	while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
	       s[p->pos] == '\r')
		p->pos++;
	p->tok.start = p->pos;
	if (s[p->pos] == '\0')
		p->tok.kind = T_END;
	else if (is_digit(s[p->pos]) ||
		 (s[p->pos] == '.' && is_digit(s[p->pos + 1])))
		rc = lex_number(p);
	else if (s[p->pos] == '"' || s[p->pos] == '\'')
		rc = lex_string(p);
	else if (is_ident_start(s[p->pos]))
		lex_ident(p);
	else
		rc = lex_other(p);
	p->tok.len = p->pos - p->tok.start;
	return rc;
}

static int tok_is(const struct parser *p, const char *word)
{
	return p->tok.kind == T_IDENT && strlen(word) == p->tok.len &&
	       memcmp(p->src + p->tok.start, word, p->tok.len) == 0;
}

/* Fails with "column N: <what>, found <the current token>". */
static int syntax_error(struct parser *p, const char *what)
{
	size_t n = p->tok.len > 20 ? 20 : p->tok.len;

	if (p->tok.kind == T_END)
		return err_set(p->err, p->errlen, ERR_PARSE,
			       "column %zu: %s, found the end of the input",
			       p->tok.start + 1, what);
	return err_set(p->err, p->errlen, ERR_PARSE,
		       "column %zu: %s, found '%.*s%s'", p->tok.start + 1, what,
		       (int)n, p->src + p->tok.start,
		       n < p->tok.len ? "..." : "");
}

static int expect(struct parser *p, enum tok_kind kind, const char *what)
{
	if (p->tok.kind != kind)
		return syntax_error(p, what);
	return lex_next(p);
}

/* ---- parser ---- */

static struct node *node_new(enum node_kind kind, size_t start, size_t end)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->start = start;
	n->end = end;
	n->height = 1;
	return n;
}

/* Sets n's height from its children; ERR_PARSE (n freed) when too tall. */
static int node_finish(struct parser *p, struct node **np)
{
	struct node *n = *np;
	int h = 0;

	if (n->l)
		h = n->l->height;
	if (n->r && n->r->height > h)
		h = n->r->height;
	n->height = h + 1;
	if (n->height <= MAX_HEIGHT)
		return 0;
	*np = NULL;
	node_free(n);
	return err_set(p->err, p->errlen, ERR_PARSE,
		       "column %zu: expression nested too deeply (more than "
		       "%d levels of operators)",
		       p->tok.start + 1, MAX_HEIGHT);
}

static int parse_expr(struct parser *p, struct node **out);

static int parse_call(struct parser *p, const struct fn_def *fn,
		      struct node **out)
{
	struct node *n = node_new(N_CALL, p->tok.start, 0);
	char what[64];
	int rc;

	n->fn = fn;
	snprintf(what, sizeof(what), "expected '(' after %s", fn->name);
	rc = lex_next(p);
	if (rc == 0)
		rc = expect(p, T_LPAREN, what);
	if (rc == 0)
		rc = parse_expr(p, &n->l);
	if (rc == 0 && fn->argc == 2) {
		snprintf(what, sizeof(what),
			 "%s() takes 2 arguments: expected ','", fn->name);
		rc = expect(p, T_COMMA, what);
		p->preds += fn->fn == F_ALL || fn->fn == F_ANY;
		if (rc == 0)
			rc = parse_expr(p, &n->r);
		p->preds -= fn->fn == F_ALL || fn->fn == F_ANY;
	}
	if (rc == 0) {
		snprintf(what, sizeof(what),
			 "%s() takes %d argument%s: expected ')'", fn->name,
			 fn->argc, fn->argc == 1 ? "" : "s");
		n->end = p->tok.start + p->tok.len;
		rc = expect(p, T_RPAREN, what);
	}
	if (rc == 0)
		rc = node_finish(p, &n);
	if (rc < 0) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static int parse_ident(struct parser *p, struct node **out)
{
	size_t start = p->tok.start, end = start + p->tok.len, k;
	struct node *n;

	for (k = 0; k < sizeof(fn_defs) / sizeof(fn_defs[0]); k++)
		if (tok_is(p, fn_defs[k].name))
			return parse_call(p, &fn_defs[k], out);
	if (tok_is(p, "true") || tok_is(p, "false")) {
		n = node_new(N_BOOL, start, end);
		n->b = tok_is(p, "true");
	} else if (tok_is(p, "result")) {
		n = node_new(N_RESULT, start, end);
	} else if (tok_is(p, "it")) {
		if (p->preds == 0)
			return lex_error(p, start,
					 "'it' is only defined inside the "
					 "predicate of all() or any()");
		n = node_new(N_IT, start, end);
	} else {
		return err_set(p->err, p->errlen, ERR_PARSE,
			       "column %zu: unknown name '%.*s' (expected "
			       "result, it, true, false or a function)",
			       start + 1,
			       (int)(p->tok.len > 20 ? 20 : p->tok.len),
			       p->src + start);
	}
	*out = n;
	return lex_next(p);
}

static int parse_primary(struct parser *p, struct node **out)
{
	struct node *n;
	size_t start = p->tok.start;
	int rc;

	switch (p->tok.kind) {
	case T_NUM:
		n = node_new(N_NUM, start, start + p->tok.len);
		n->num = p->tok.num;
		*out = n;
		return lex_next(p);
	case T_STR:
		n = node_new(N_STR, start, start + p->tok.len);
		n->str = p->tok.str;
		p->tok.str = NULL;
		*out = n;
		return lex_next(p);
	case T_IDENT:
		return parse_ident(p, out);
	case T_LPAREN:
		rc = lex_next(p);
		if (rc == 0)
			rc = parse_expr(p, out);
		if (rc == 0) {
			assert(*out != NULL); /* invariant */
			(*out)->start = start;
			(*out)->end = p->tok.start + p->tok.len;
			rc = expect(p, T_RPAREN, "expected ')'");
		}
		return rc;
	default:
		return syntax_error(p, "expected a value");
	}
}

static int parse_postfix(struct parser *p, struct node **out)
{
	struct node *n;
	int rc = parse_primary(p, out);

	while (rc == 0 && p->tok.kind == T_LBRACK) {
		assert(*out != NULL); /* invariant */
		n = node_new(N_INDEX, (*out)->start, 0);
		n->l = *out;
		*out = n;
		rc = lex_next(p);
		if (rc == 0)
			rc = parse_expr(p, &n->r);
		n->end = p->tok.start + p->tok.len;
		if (rc == 0)
			rc = expect(p, T_RBRACK, "expected ']'");
		if (rc == 0)
			rc = node_finish(p, out);
	}
	return rc;
}

static int nesting_error(struct parser *p)
{
	return err_set(p->err, p->errlen, ERR_PARSE,
		       "column %zu: nested more than %d levels deep",
		       p->tok.start + 1, MAX_NESTING);
}

static int parse_unary(struct parser *p, struct node **out)
{
	struct node *n;
	int rc;

	if (p->tok.kind != T_NOT && p->tok.kind != T_SUB)
		return parse_postfix(p, out);
	if (++p->nesting > MAX_NESTING)
		return nesting_error(p);
	n = node_new(N_UNARY, p->tok.start, 0);
	n->op = p->tok.kind;
	*out = n;
	rc = lex_next(p);
	if (rc == 0)
		rc = parse_unary(p, &n->l);
	if (rc == 0) {
		assert(n->l != NULL); /* invariant */
		n->end = n->l->end;
		rc = node_finish(p, out);
	}
	p->nesting--;
	return rc;
}

/* Binary operators by precedence level, lowest first. */
static const enum tok_kind levels[][5] = {
	{T_OR, T_END},	       {T_AND, T_END},
	{T_EQ, T_NE, T_END},   {T_LT, T_LE, T_GT, T_GE, T_END},
	{T_ADD, T_SUB, T_END}, {T_MUL, T_DIV, T_MOD, T_END},
};

#define NLEVELS ((int)(sizeof(levels) / sizeof(levels[0])))

static int at_level(const struct parser *p, int level)
{
	const enum tok_kind *k;

	for (k = levels[level]; *k != T_END; k++)
		if (p->tok.kind == *k)
			return 1;
	return 0;
}

static int parse_binary(struct parser *p, int level, struct node **out)
{
	struct node *n;
	int rc;

	if (level == NLEVELS)
		return parse_unary(p, out);
	rc = parse_binary(p, level + 1, out);
	while (rc == 0 && at_level(p, level)) {
		assert(*out != NULL); /* invariant */
		n = node_new(N_BINARY, (*out)->start, 0);
		n->op = p->tok.kind;
		n->l = *out;
		*out = n;
		rc = lex_next(p);
		if (rc == 0)
			rc = parse_binary(p, level + 1, &n->r);
		if (rc == 0) {
			assert(n->r != NULL); /* invariant */
			n->end = n->r->end;
			rc = node_finish(p, out);
		}
	}
	return rc;
}

/* An expression; on failure *out is NULL (partial trees are freed). */
static int parse_expr(struct parser *p, struct node **out)
{
	int rc;

	*out = NULL;
	if (++p->nesting > MAX_NESTING)
		return nesting_error(p);
	rc = parse_binary(p, 0, out);
	p->nesting--;
	if (rc < 0) {
		node_free(*out);
		*out = NULL;
	}
	return rc;
}

static int parse(const char *src, struct node **out, char *err, size_t errlen)
{
	struct parser p = {.src = src, .err = err, .errlen = errlen};
	int rc;

	*out = NULL;
	if (!src)
		return err_set(err, errlen, ERR_PARSE, "no condition");
	p.len = strnlen(src, MAX_INPUT + 1);
	if (p.len > MAX_INPUT)
		return err_set(err, errlen, ERR_PARSE,
			       "condition longer than %d bytes", MAX_INPUT);
	rc = lex_next(&p);
	if (rc == 0 && p.tok.kind == T_END)
		rc = err_set(err, errlen, ERR_PARSE, "empty condition");
	if (rc == 0)
		rc = parse_expr(&p, out);
	if (rc == 0 && p.tok.kind != T_END)
		rc = syntax_error(&p, "expected an operator or the end");
	free(p.tok.str);
	if (rc < 0) {
		node_free(*out);
		*out = NULL;
	}
	return rc;
}

int expr_check(const char *src, char *err, size_t errlen)
{
	struct node *root;
	int rc = parse(src, &root, err, errlen);

	node_free(root);
	return rc;
}

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

/* What n is called in messages: its source text, at most MAX_SNIPPET bytes. */
static void describe(const struct ctx *c, const struct node *n, char *out,
		     size_t outlen)
{
	size_t len = n->end - n->start;

	if (n->kind == N_IT) {
		snprintf(out, outlen, "it (item %zu)", c->it_index);
		return;
	}
	if (len > MAX_SNIPPET)
		snprintf(out, outlen, "%.*s...", MAX_SNIPPET,
			 c->src + n->start);
	else
		snprintf(out, outlen, "%.*s", (int)len, c->src + n->start);
}

static int fail_about(const struct ctx *c, const struct node *n,
		      const char *what)
{
	char name[MAX_SNIPPET + 32];

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
	char name[MAX_SNIPPET + 32];

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
	char name[MAX_SNIPPET + 32];
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
	int rc = parse(src, &root, err, errlen);

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
			text = aval_format(val, MAX_SNIPPET);
			rc = err_set(err, errlen, ERR_INVAL,
				     "the condition gives %s (%s), not true or "
				     "false",
				     kind_name(val->kind), text);
			free(text);
		}
	}
	rv_release(&v);
	node_free(root);
	return rc;
}
