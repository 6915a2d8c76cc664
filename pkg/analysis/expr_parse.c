/*
 * expr_parse: reading the condition language of analysis metrics (expr.h)
 * into a syntax tree (expr_internal.h), and expr_check().
 *
 * A hand-written lexer and recursive-descent parser build the tree; the
 * evaluator is in expr_eval.c. Every failure is a return code and a
 * message; nothing is global. Parser recursion is bounded by EXPR_MAX_NESTING
 * and the tree's height by EXPR_MAX_HEIGHT, which also bounds the evaluator's
 * recursion.
 *
 * Parser invariant: a parse_*() function that returns 0 has stored a tree in
 * *out; every failure is a negative code from err_set(). err_set() lives in
 * another translation unit, so the asserts marked "invariant" state this
 * where the static analyzer can see it.
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

/* ---- tokens ---- */

struct token {
	enum tok_kind kind;
	size_t start, len; /* bytes of the source */
	double num;	   /* T_NUM */
	char *str;	   /* T_STR, owned until taken */
};

/* ---- syntax tree ---- */

/* The functions of the language, by name. */
static const struct fn_def fn_defs[] = {
	{"len", F_LEN, 1}, {"isNaN", F_ISNAN, 1}, {"isInf", F_ISINF, 1},
	{"abs", F_ABS, 1}, {"min", F_MIN, 1},	  {"max", F_MAX, 1},
	{"sum", F_SUM, 1}, {"avg", F_AVG, 1},	  {"default", F_DEFAULT, 2},
	{"all", F_ALL, 2}, {"any", F_ANY, 2},
};

void expr_node_free(struct node *n)
{
	if (!n)
		return;
	expr_node_free(n->l);
	expr_node_free(n->r);
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
	if (n->height <= EXPR_MAX_HEIGHT)
		return 0;
	*np = NULL;
	expr_node_free(n);
	return err_set(p->err, p->errlen, ERR_PARSE,
		       "column %zu: expression nested too deeply (more than "
		       "%d levels of operators)",
		       p->tok.start + 1, EXPR_MAX_HEIGHT);
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
		expr_node_free(n);
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
		       p->tok.start + 1, EXPR_MAX_NESTING);
}

static int parse_unary(struct parser *p, struct node **out)
{
	struct node *n;
	int rc;

	if (p->tok.kind != T_NOT && p->tok.kind != T_SUB)
		return parse_postfix(p, out);
	if (++p->nesting > EXPR_MAX_NESTING)
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
	if (++p->nesting > EXPR_MAX_NESTING)
		return nesting_error(p);
	rc = parse_binary(p, 0, out);
	p->nesting--;
	if (rc < 0) {
		expr_node_free(*out);
		*out = NULL;
	}
	return rc;
}

int expr_parse(const char *src, struct node **out, char *err, size_t errlen)
{
	struct parser p = {.src = src, .err = err, .errlen = errlen};
	int rc;

	*out = NULL;
	if (!src)
		return err_set(err, errlen, ERR_PARSE, "no condition");
	p.len = strnlen(src, EXPR_MAX_INPUT + 1);
	if (p.len > EXPR_MAX_INPUT)
		return err_set(err, errlen, ERR_PARSE,
			       "condition longer than %d bytes",
			       EXPR_MAX_INPUT);
	rc = lex_next(&p);
	if (rc == 0 && p.tok.kind == T_END)
		rc = err_set(err, errlen, ERR_PARSE, "empty condition");
	if (rc == 0)
		rc = parse_expr(&p, out);
	if (rc == 0 && p.tok.kind != T_END)
		rc = syntax_error(&p, "expected an operator or the end");
	free(p.tok.str);
	if (rc < 0) {
		expr_node_free(*out);
		*out = NULL;
	}
	return rc;
}

int expr_check(const char *src, char *err, size_t errlen)
{
	struct node *root;
	int rc = expr_parse(src, &root, err, errlen);

	expr_node_free(root);
	return rc;
}
