/*
 * tmpl: `{{args.NAME}}` substitution for analysis queries, URLs, headers and
 * bodies (provider.h, tmpl_render), written so that an argument value can
 * never change the structure of the text it lands in.
 *
 * The template text is scanned once, left to right. For PromQL and JSON the
 * scanner tracks whether it is inside a string literal (and, for PromQL,
 * inside a `#` comment), so each placeholder's context is known before its
 * value is written; the value is then escaped for exactly that context or
 * refused. URL values are percent-encoded and raw values only checked.
 */
#include "analysis/provider.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

/* Rendered output is bounded: templates are queries and small bodies. */
#define TMPL_MAX_OUT (1024 * 1024)
/* How many bytes of a value an error message shows. */
#define TMPL_SHOW_MAX 64

struct render {
	const struct tmpl_arg *args;
	size_t n_args;
	enum tmpl_escape esc;
	struct buf out;
	char quote;   /* the open string literal's quote, or 0 outside */
	bool escaped; /* the last byte was a backslash inside a literal */
	bool comment; /* inside a PromQL `#` comment */
	char *err;
	size_t errlen;
};

static const char *context_noun(enum tmpl_escape esc)
{
	switch (esc) {
	case TMPL_PROMQL:
		return "query";
	case TMPL_JSON:
		return "body";
	case TMPL_URL:
		return "URL";
	default:
		return "header";
	}
}

/*
 * A value as an error message shows it: quoted, at most TMPL_SHOW_MAX bytes
 * of it, bytes outside printable ASCII as \xHH, "..." when cut.
 */
static void show_value(const char *v, char *dst, size_t dstlen)
{
	size_t i, o = 0;

	dst[o++] = '"';
	for (i = 0; i < TMPL_SHOW_MAX && v[i] && o + 8 < dstlen; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x",
					      c);
	}
	dst[o++] = '"';
	if (v[i] && o + 4 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static int value_error(struct render *r, const char *name, const char *value,
		       const char *why)
{
	char shown[TMPL_SHOW_MAX * 4 + 16];

	show_value(value, shown, sizeof(shown));
	return err_set(r->err, r->errlen, ERR_INVAL,
		       "argument \"%s\": value %s %s", name, shown, why);
}

/* Letters, digits and _ : . - / only, and at least one. */
static bool is_plain_token(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("_:./-", c)))
			return false;
	}
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A JSON number per RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *v)
{
	if (*v == '-')
		v++;
	if (*v == '0')
		v++;
	else if (is_digit(*v))
		while (is_digit(*v))
			v++;
	else
		return false;
	if (*v == '.') {
		if (!is_digit(*++v))
			return false;
		while (is_digit(*v))
			v++;
	}
	if (*v == 'e' || *v == 'E') {
		v++;
		if (*v == '+' || *v == '-')
			v++;
		if (!is_digit(*v))
			return false;
		while (is_digit(*v))
			v++;
	}
	return *v == '\0';
}

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static bool is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned char c = *p;
		size_t n, i;
		unsigned long cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* A backslash and c. */
static int put_escaped(struct buf *b, char c)
{
	char pair[2] = {'\\', c};

	return buf_append(b, pair, 2);
}

/* The value inside a PromQL "..." or '...' literal closed by `quote`. */
static int put_promql_string(struct buf *b, const char *v, char quote)
{
	int rc = 0;

	for (; *v && !rc; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\\' || c == (unsigned char)quote)
			rc = put_escaped(b, (char)c);
		else if (c == '\n')
			rc = buf_puts(b, "\\n");
		else if (c == '\r')
			rc = buf_puts(b, "\\r");
		else if (c == '\t')
			rc = buf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			rc = buf_printf(b, "\\x%02x", c);
		else
			rc = buf_putc(b, (char)c);
	}
	return rc;
}

/* The value inside a JSON "..." string. */
static int put_json_string(struct buf *b, const char *v)
{
	int rc = 0;

	for (; *v && !rc; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\\' || c == '"')
			rc = put_escaped(b, (char)c);
		else if (c == '\n')
			rc = buf_puts(b, "\\n");
		else if (c == '\r')
			rc = buf_puts(b, "\\r");
		else if (c == '\t')
			rc = buf_puts(b, "\\t");
		else if (c < 0x20)
			rc = buf_printf(b, "\\u%04x", c);
		else
			rc = buf_putc(b, (char)c);
	}
	return rc;
}

/* Percent-encoding of everything but RFC 3986 unreserved characters. */
static int put_url(struct buf *b, const char *v)
{
	int rc = 0;

	for (; *v && !rc; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit((char)c) || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			rc = buf_putc(b, (char)c);
		else
			rc = buf_printf(b, "%%%02X", c);
	}
	return rc;
}

static int put_promql(struct render *r, const char *name, const char *v)
{
	if (r->quote == '`') {
		if (strchr(v, '`'))
			return value_error(r, name, v,
					   "contains a backtick and cannot be "
					   "used in a raw string");
		return buf_puts(&r->out, v);
	}
	if (r->quote)
		return put_promql_string(&r->out, v, r->quote);
	if (!is_plain_token(v))
		return value_error(r, name, v,
				   "cannot be used outside a quoted string");
	return buf_puts(&r->out, v);
}

static int put_json(struct render *r, const char *name, const char *v)
{
	if (r->quote) {
		if (!is_utf8(v))
			return value_error(r, name, v, "is not valid UTF-8");
		return put_json_string(&r->out, v);
	}
	if (!is_json_number(v) && strcmp(v, "true") != 0 &&
	    strcmp(v, "false") != 0 && strcmp(v, "null") != 0)
		return value_error(r, name, v,
				   "cannot be used outside a quoted string "
				   "(only a JSON number, true, false or null)");
	return buf_puts(&r->out, v);
}

/* Writes argument `name`'s value as the current context requires. */
static int put_value(struct render *r, const char *name, const char *v)
{
	if (r->escaped)
		return err_set(r->err, r->errlen, ERR_INVAL,
			       "placeholder for argument \"%s\" follows a "
			       "backslash",
			       name);
	switch (r->esc) {
	case TMPL_PROMQL:
		return put_promql(r, name, v);
	case TMPL_JSON:
		return put_json(r, name, v);
	case TMPL_URL:
		return put_url(&r->out, v);
	default:
		if (strpbrk(v, "\r\n"))
			return value_error(r, name, v, "contains a line break");
		return buf_puts(&r->out, v);
	}
}

static const char *arg_lookup(const struct render *r, const char *name,
			      size_t len)
{
	size_t i;

	for (i = 0; i < r->n_args; i++)
		if (r->args[i].name && strlen(r->args[i].name) == len &&
		    memcmp(r->args[i].name, name, len) == 0)
			return r->args[i].value;
	return NULL;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       is_digit(c) || c == '_' || c == '-' || c == '.';
}

/*
 * The placeholder starting at p ("{{"): writes its value and stores in
 * *end where the text continues.
 */
static int put_placeholder(struct render *r, const char *p, const char **end)
{
	const char *close = strstr(p + 2, "}}"), *s = p + 2, *name, *e;
	char namebuf[128];
	const char *v;
	size_t len;

	if (!close)
		return err_set(r->err, r->errlen, ERR_INVAL,
			       "unterminated \"{{\" in %s",
			       context_noun(r->esc));
	e = close;
	while (s < e && *s == ' ')
		s++;
	while (e > s && e[-1] == ' ')
		e--;
	name = s + 5;
	len = (size_t)(e - name);
	if (e - s < 5 || strncmp(s, "args.", 5) != 0 || len == 0)
		goto bad;
	for (s = name; s < e; s++)
		if (!is_name_char(*s))
			goto bad;
	*end = close + 2;
	snprintf(namebuf, sizeof(namebuf), "%.*s", (int)len, name);
	v = arg_lookup(r, name, len);
	if (!v)
		return err_set(r->err, r->errlen, ERR_INVAL,
			       "unknown argument \"%s\" in %s", namebuf,
			       context_noun(r->esc));
	return put_value(r, namebuf, v);
bad:
	return err_set(r->err, r->errlen, ERR_INVAL,
		       "placeholder \"%.*s\" in %s is not {{args.NAME}}",
		       (int)(close + 2 - p > 80 ? 80 : close + 2 - p), p,
		       context_noun(r->esc));
}

/* Advances the literal/comment state over one byte of template text. */
static void track(struct render *r, char c)
{
	if (r->esc != TMPL_PROMQL && r->esc != TMPL_JSON)
		return;
	if (r->comment) {
		r->comment = c != '\n';
	} else if (r->quote) {
		if (r->escaped)
			r->escaped = false;
		else if (c == '\\' && r->quote != '`')
			r->escaped = true;
		else if (c == r->quote)
			r->quote = 0;
	} else if (c == '"' ||
		   (r->esc == TMPL_PROMQL && (c == '\'' || c == '`'))) {
		r->quote = c;
	} else if (c == '#' && r->esc == TMPL_PROMQL) {
		r->comment = true;
	}
}

int tmpl_render(const char *src, const struct tmpl_arg *args, size_t n_args,
		enum tmpl_escape esc, char **out, char *err, size_t errlen)
{
	struct render r = {.args = args,
			   .n_args = n_args,
			   .esc = esc,
			   .err = err,
			   .errlen = errlen};
	const char *p = src;
	int rc = 0;

	*out = NULL;
	buf_init(&r.out, TMPL_MAX_OUT);
	while (*p && !rc) {
		if (p[0] == '{' && p[1] == '{') {
			rc = put_placeholder(&r, p, &p);
		} else {
			track(&r, *p);
			rc = buf_putc(&r.out, *p++);
		}
	}
	if (rc == ERR_TOOBIG)
		err_set(err, errlen, rc, "rendered %s is larger than %d bytes",
			context_noun(esc), TMPL_MAX_OUT);
	if (rc)
		goto out;
	*out = buf_detach(&r.out, NULL);
out:
	buf_release(&r.out);
	return rc;
}
