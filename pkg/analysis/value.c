/*
 * value: measurement results as analysis conditions see them (value.h):
 * lifecycle (clear, copy), the short human string kept in a measurement's
 * `value`, and conversion from a JSON document.
 */
#include "analysis/value.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define AVAL_JSON_DEPTH 8
#define AVAL_FORMAT_MIN 16
#define AVAL_PATH_LEN	(AVAL_JSON_DEPTH * 24 + 1)

void aval_clear(struct aval *v)
{
	size_t i;

	if (!v)
		return;
	if (v->kind == AVAL_LIST) {
		for (i = 0; i < v->n; i++)
			aval_clear(&v->items[i]);
		free(v->items);
	}
	if (v->kind == AVAL_STRING)
		free(v->str);
	memset(v, 0, sizeof(*v));
}

void aval_copy(struct aval *dst, const struct aval *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->kind = src->kind;
	switch (src->kind) {
	case AVAL_NUMBER:
		dst->num = src->num;
		break;
	case AVAL_BOOL:
		dst->b = src->b;
		break;
	case AVAL_STRING:
		dst->str = xstrdup(src->str ? src->str : "");
		break;
	case AVAL_LIST:
		aval_list(dst, src->n);
		for (i = 0; i < src->n; i++)
			aval_copy(&dst->items[i], &src->items[i]);
		break;
	case AVAL_NULL:
		break;
	}
}

void aval_number(struct aval *v, double num)
{
	memset(v, 0, sizeof(*v));
	v->kind = AVAL_NUMBER;
	v->num = num;
}

void aval_list(struct aval *v, size_t n)
{
	memset(v, 0, sizeof(*v));
	v->kind = AVAL_LIST;
	v->n = n;
	v->items = n ? xcalloc(n, sizeof(*v->items)) : NULL;
}

/* ---- formatting ---- */

static void format_number(struct buf *b, double d)
{
	if (isnan(d))
		buf_puts(b, "NaN");
	else if (isinf(d))
		buf_puts(b, d > 0 ? "+Inf" : "-Inf");
	else if (d == 0)
		buf_putc(b, '0'); /* also -0 */
	else
		buf_printf(b, "%.6g", d);
}

/* A JSON string literal; bytes >= 0x80 are copied as they are. */
static void format_string(struct buf *b, const char *s, size_t stop)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	buf_putc(b, '"');
	for (; *p && b->len <= stop; p++) {
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_putc(b, (char)*p);
		}
	}
	buf_putc(b, '"');
}

/* Appends v to b; stops early once b holds more than `stop` bytes. */
static void format_value(struct buf *b, const struct aval *v, size_t stop)
{
	size_t i;

	switch (v->kind) {
	case AVAL_NULL:
		buf_puts(b, "null");
		break;
	case AVAL_NUMBER:
		format_number(b, v->num);
		break;
	case AVAL_BOOL:
		buf_puts(b, v->b ? "true" : "false");
		break;
	case AVAL_STRING:
		format_string(b, v->str, stop);
		break;
	case AVAL_LIST:
		buf_putc(b, '[');
		for (i = 0; i < v->n && b->len <= stop; i++) {
			if (i)
				buf_puts(b, ", ");
			format_value(b, &v->items[i], stop);
		}
		buf_putc(b, ']');
		break;
	}
}

char *aval_format(const struct aval *v, size_t max)
{
	struct buf b;
	size_t cut;

	if (max < AVAL_FORMAT_MIN)
		max = AVAL_FORMAT_MIN;
	buf_init(&b, BUF_UNLIMITED);
	format_value(&b, v, max);
	if (b.len < max)
		return buf_detach(&b, NULL);
	/* Cut so that the text, "..." and the NUL fit in max bytes, never
	 * inside a UTF-8 sequence. */
	cut = max - 4;
	while (cut > 0 && ((unsigned char)b.data[cut] & 0xc0) == 0x80)
		cut--;
	b.len = cut;
	b.data[cut] = '\0';
	buf_puts(&b, "...");
	return buf_detach(&b, NULL);
}

/* ---- from JSON ---- */

static const char *json_kind_name(const json_t *j)
{
	return json_is_object(j) ? "an object" : "an unknown JSON value";
}

/* Converts j at nesting `depth` (arrays enclosing it); path names it. */
static int from_json(const json_t *j, struct aval *out, int depth, char *path,
		     char *err, size_t errlen)
{
	size_t i, plen;
	int rc;

	memset(out, 0, sizeof(*out));
	switch (json_typeof(j)) {
	case JSON_NULL:
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		out->kind = AVAL_BOOL;
		out->b = json_is_true(j);
		return 0;
	case JSON_INTEGER:
	case JSON_REAL:
		aval_number(out, json_number_value(j));
		return 0;
	case JSON_STRING:
		out->kind = AVAL_STRING;
		out->str =
			xstrndup(json_string_value(j), json_string_length(j));
		return 0;
	case JSON_ARRAY:
		break;
	default:
		return err_set(err, errlen, ERR_INVAL,
			       "%s%s%s%s, not a number or list",
			       path[0] ? "item " : "", path,
			       path[0] ? " is " : "", json_kind_name(j));
	}
	if (depth >= AVAL_JSON_DEPTH)
		return err_set(err, errlen, ERR_INVAL,
			       "lists nested more than %d levels deep",
			       AVAL_JSON_DEPTH);
	aval_list(out, json_array_size(j));
	plen = strlen(path);
	for (i = 0; i < out->n; i++) {
		snprintf(path + plen, AVAL_PATH_LEN - plen, "[%zu]", i);
		rc = from_json(json_array_get(j, i), &out->items[i], depth + 1,
			       path, err, errlen);
		if (rc < 0) {
			aval_clear(out);
			return rc;
		}
	}
	path[plen] = '\0';
	return 0;
}

int aval_from_json(const json_t *j, struct aval *out, char *err, size_t errlen)
{
	char path[AVAL_PATH_LEN] = "";
	struct aval tmp;
	int rc;

	if (!j)
		return err_set(err, errlen, ERR_INVAL, "no value");
	rc = from_json(j, &tmp, 0, path, err, errlen);
	if (rc == 0)
		*out = tmp;
	return rc;
}
