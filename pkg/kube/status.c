/*
 * status: what a failed request means. Maps an HTTP answer (status, Status
 * body or any other body) to Knit's error code and fills struct
 * kube_error with the reason and message, in client-go's words (contracts
 * in client.h and client_internal.h). Pure: no I/O, no locks.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kube/client.h"
#include "kube/client_internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define UNSTRUCTURED_MAX 2048 /* client-go maxUnstructuredResponseTextBytes */

void kube_error_release(struct kube_error *e)
{
	if (!e)
		return;
	json_decref(e->status);
	memset(e, 0, sizeof(*e));
	e->retry_after = -1;
}

/* Fills `err` (when non-NULL) with a failure that has no Status. */
int kube_error_set(struct kube_error *err, int code, long http_status,
		   const char *message)
{
	if (!err)
		return code;
	kube_error_release(err);
	err->code = code;
	err->http_status = http_status;
	snprintf(err->message, sizeof(err->message), "%s",
		 message && message[0] ? message : err_str(code));
	return code;
}

int kube_error_code(long http_status, const char *reason, const char *method)
{
	bool exists;

	switch (http_status) {
	case 400:
		return ERR_BADREQUEST;
	case 401:
		return ERR_UNAUTHORIZED;
	case 403:
		return ERR_FORBIDDEN;
	case 404:
		return ERR_NOTFOUND;
	case 405:
	case 406:
	case 415:
		return ERR_UNSUPPORTED;
	case 409:
		exists = reason && reason[0]
				 ? strcmp(reason, "AlreadyExists") == 0
				 : method && strcmp(method, "POST") == 0;
		return exists ? ERR_EXISTS : ERR_CONFLICT;
	case 410:
		return ERR_GONE;
	case 413:
		return ERR_TOOBIG;
	case 422:
		return ERR_INVAL;
	case 429:
		return ERR_TOOMANY;
	case 504:
		return ERR_TIMEOUT;
	default:
		break;
	}
	if (http_status >= 400 && http_status < 500)
		return ERR_BADREQUEST;
	return ERR_INTERNAL;
}

/* Appends `s` quoted as Go's %q does (for the 5xx generic message). */
static void quote_go(struct buf *b, const char *s, size_t len)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch == '\n')
			buf_puts(b, "\\n");
		else if (ch == '\t')
			buf_puts(b, "\\t");
		else if (ch == '\r')
			buf_puts(b, "\\r");
		else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\x%02x", ch);
		else
			buf_putc(b, (char)ch);
	}
	buf_putc(b, '"');
}

/* client-go NewGenericServerResponse: reason and message by status. */
static void generic_message(long status, const char *method,
			    const char *server_msg, size_t msg_len,
			    const char **reason, struct buf *msg)
{
	static const struct {
		long status;
		const char *reason, *message;
	} table[] = {
		{400, "BadRequest",
		 "the server rejected our request for an unknown reason"},
		{401, "Unauthorized",
		 "the server has asked for the client to provide credentials"},
		{404, "NotFound",
		 "the server could not find the requested resource"},
		{405, "MethodNotAllowed",
		 "the server does not allow this "
		 "method on the requested resource"},
		{422, "Invalid",
		 "the server rejected our request due to an "
		 "error in our request"},
		{429, "TooManyRequests",
		 "the server has received too many requests and has asked us "
		 "to try again later"},
		{503, "ServiceUnavailable",
		 "the server is currently unable to handle the request"},
		{504, "Timeout",
		 "the server was unable to return a response in the time "
		 "allotted, but may still be processing the request"},
	};

	*reason = "";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].status == status) {
			*reason = table[i].reason;
			buf_puts(msg, table[i].message);
			return;
		}
	}
	if (status == 409) {
		*reason = method && strcmp(method, "POST") == 0
				  ? "AlreadyExists"
				  : "Conflict";
		buf_puts(msg, "the server reported a conflict");
	} else if (status == 403 || status == 406 || status == 415) {
		*reason = status == 403	  ? "Forbidden"
			  : status == 406 ? "NotAcceptable"
					  : "UnsupportedMediaType";
		buf_append(msg, server_msg, msg_len);
	} else if (status >= 500) {
		*reason = "InternalError";
		buf_puts(msg, "an error on the server (");
		quote_go(msg, server_msg, msg_len);
		buf_puts(msg, ") has prevented the request from succeeding");
	} else {
		buf_printf(msg,
			   "the server responded with the status code %ld "
			   "but did not return more information",
			   status);
	}
}

/* Fills err from a Status object (borrowed); false when it is not one. */
static bool error_from_status(json_t *st, long http_status, const char *method,
			      long retry_after, struct kube_error *err)
{
	const char *kind = json_string_value(json_object_get(st, "kind"));
	const char *reason = json_string_value(json_object_get(st, "reason"));
	const char *msg = json_string_value(json_object_get(st, "message"));
	json_t *ra;

	if (!kind || strcmp(kind, "Status") != 0)
		return false;
	ra = json_object_get(json_object_get(st, "details"),
			     "retryAfterSeconds");
	err->code = kube_error_code(http_status, reason, method);
	err->http_status = http_status;
	snprintf(err->reason, sizeof(err->reason), "%s", reason ? reason : "");
	snprintf(err->message, sizeof(err->message), "%s",
		 msg && msg[0] ? msg : err_str(err->code));
	err->retry_after = retry_after >= 0	 ? retry_after
			   : json_is_integer(ra) ? (long)json_integer_value(ra)
						 : -1;
	err->status = json_incref(st);
	return true;
}

int kube_error_from_response(long http_status, const char *method,
			     const char *content_type, const char *body,
			     size_t len, long retry_after,
			     struct kube_error *err)
{
	struct kube_error local = KUBE_ERROR_INIT;
	struct kube_error *e = err ? err : &local;
	json_t *st = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *server_msg = "unknown", *reason;
	size_t msg_len = 7;
	struct buf msg;
	int code;

	kube_error_release(e);
	if (st && error_from_status(st, http_status, method, retry_after, e))
		goto out;
	if (content_type && strncasecmp(content_type, "text/", 5) == 0) {
		server_msg = body ? body : "";
		msg_len = len > UNSTRUCTURED_MAX ? UNSTRUCTURED_MAX : len;
		while (msg_len > 0 && isspace((unsigned char)*server_msg)) {
			server_msg++;
			msg_len--;
		}
		while (msg_len > 0 &&
		       isspace((unsigned char)server_msg[msg_len - 1]))
			msg_len--;
	}
	buf_init(&msg, 4 * UNSTRUCTURED_MAX + 1024);
	generic_message(http_status, method, server_msg, msg_len, &reason,
			&msg);
	e->code = kube_error_code(http_status, reason, method);
	e->http_status = http_status;
	e->retry_after = retry_after;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	/* A text body may hold a NUL (it ends the message): never "". */
	snprintf(e->message, sizeof(e->message), "%s",
		 msg.data[0] ? msg.data : err_str(e->code));
	buf_release(&msg);
out:
	json_decref(st);
	code = e->code;
	kube_error_release(&local);
	return code;
}
