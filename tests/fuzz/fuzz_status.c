/*
 * fuzz_status: libFuzzer target for the client's decoding of failed
 * answers: kube_error_from_response() (kube/client_internal.h) and the
 * Retry-After header parser transport_retry_after_parse()
 * (kube/transport.h).
 *
 * Input layout:
 *   2 bytes  status code, big-endian: below 0x8000 taken modulo 1000 (so
 *            most inputs are HTTP-like), else the signed 16-bit value;
 *   1 byte   method: low 3 bits pick GET, POST, PUT, PATCH, DELETE or NULL;
 *            bit 3 set: ignore the Retry-After header (retry_after -1);
 *            bit 4 set: no content type (NULL);
 *   1 byte   content-type length n, then n bytes of content type;
 *   1 byte   Retry-After length m, then m bytes of header value;
 *   the rest the body.
 * The header value and the body are passed in exact-size allocations that
 * are not NUL-terminated, so AddressSanitizer catches a read past `len`.
 *
 * Checked (abort on a mismatch): the returned code is the code in the
 * kube_error and the one kube_error_code() gives for the status, reason and
 * method; the message is never empty; a Retry-After from the header wins;
 * a Status object is kept only for a body of kind Status; passing no
 * kube_error gives the same code. The parsed Retry-After is -1 or a
 * non-negative number of seconds made only of the value's digits.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/client.h"
#include "kube/client_internal.h"
#include "kube/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input cut into the call's arguments. */
struct answer {
	long status;
	const char *method;
	char content_type[256]; /* NUL-terminated */
	bool no_content_type;
	char *retry_after; /* exact size, no NUL */
	size_t retry_after_len;
	bool ignore_retry_after;
	char *body; /* exact size, no NUL; NULL when empty */
	size_t body_len;
};

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_status: check failed: %s\n", what);
	abort();
}

/* An exact-size heap copy of p[0..n) (NULL when n is 0). */
static char *copy_exact(const uint8_t *p, size_t n)
{
	char *c;

	if (n == 0)
		return NULL;
	c = malloc(n);
	check(c != NULL, "malloc");
	memcpy(c, p, n);
	return c;
}

/* Takes up to `want` bytes from the input; returns how many. */
static size_t take(const uint8_t **data, size_t *size, size_t want)
{
	size_t n = want < *size ? want : *size;

	*data += n;
	*size -= n;
	return n;
}

static int answer_cut(struct answer *a, const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET",   "POST",	 "PUT",
					      "PATCH", "DELETE", NULL};
	const uint8_t *p;
	unsigned v;
	size_t n;

	if (size < 4)
		return -1;
	v = (unsigned)data[0] << 8 | data[1];
	a->status = v < 0x8000 ? (long)(v % 1000) : (long)(int16_t)v;
	a->method = methods[(data[2] & 7) % 6];
	a->ignore_retry_after = (data[2] & 8) != 0;
	a->no_content_type = (data[2] & 16) != 0;
	n = data[3];
	take(&data, &size, 4);
	p = data;
	n = take(&data, &size, n);
	memcpy(a->content_type, p, n);
	a->content_type[n] = '\0';
	n = size ? data[0] : 0;
	take(&data, &size, 1);
	p = data;
	n = take(&data, &size, n);
	a->retry_after = copy_exact(p, n);
	a->retry_after_len = n;
	a->body = copy_exact(data, size);
	a->body_len = size;
	return 0;
}

/* -1, or the value of the digits between optional blanks. */
static void check_retry_after(const char *v, size_t len, long secs)
{
	long want = 0;
	size_t i = 0;

	if (secs < 0) {
		check(secs == -1, "Retry-After is -1 when unparsable");
		return;
	}
	while (i < len && isspace((unsigned char)v[i]))
		i++;
	check(i < len && isdigit((unsigned char)v[i]), "Retry-After digits");
	for (; i < len && isdigit((unsigned char)v[i]); i++)
		want = want * 10 + (v[i] - '0');
	while (i < len && isspace((unsigned char)v[i]))
		i++;
	check(i == len && want == secs, "Retry-After value");
}

static bool body_is_status(const struct answer *a)
{
	json_t *st =
		a->body_len ? json_loadb(a->body, a->body_len, 0, NULL) : NULL;
	const char *kind = json_string_value(json_object_get(st, "kind"));
	bool is = kind && strcmp(kind, "Status") == 0;

	json_decref(st);
	return is;
}

static void check_error(const struct answer *a, long retry_after)
{
	struct kube_error err = KUBE_ERROR_INIT;
	const char *ct = a->no_content_type ? NULL : a->content_type;
	int rc, rc2;

	rc = kube_error_from_response(a->status, a->method, ct, a->body,
				      a->body_len, retry_after, &err);
	check(rc < 0, "a failed answer gives an error code");
	check(rc == err.code, "returned code is err.code");
	check(err.http_status == a->status, "http_status kept");
	check(rc == kube_error_code(a->status, err.reason, a->method),
	      "code follows status, reason and method");
	check(err.message[0] != '\0', "message is never empty");
	check(memchr(err.reason, '\0', sizeof(err.reason)) != NULL,
	      "reason is NUL-terminated");
	check(retry_after < 0 || err.retry_after == retry_after,
	      "Retry-After header wins");
	check(err.retry_after >= -1 || err.status != NULL,
	      "negative retryAfterSeconds only from a Status");
	check((err.status != NULL) == body_is_status(a),
	      "Status kept only for a Status body");
	/* A second call replaces what err held (no leak). */
	rc2 = kube_error_from_response(a->status, a->method, ct, a->body,
				       a->body_len, retry_after, &err);
	check(rc2 == rc, "same answer, same code");
	kube_error_release(&err);
	rc2 = kube_error_from_response(a->status, a->method, ct, a->body,
				       a->body_len, retry_after, NULL);
	check(rc2 == rc, "same code without a kube_error");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer a = {0};
	long retry_after;

	if (answer_cut(&a, data, size) < 0)
		return 0;
	retry_after =
		transport_retry_after_parse(a.retry_after, a.retry_after_len);
	check_retry_after(a.retry_after, a.retry_after_len, retry_after);
	check_error(&a, a.ignore_retry_after ? -1 : retry_after);
	free(a.retry_after);
	free(a.body);
	return 0;
}
