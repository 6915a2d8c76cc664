/*
 * fuzz_watch: libFuzzer target for the watch stream parser (kube/watch.h)
 * and for the kube_obj every watched object becomes (kube/object.h).
 *
 * Input layout: one flags byte, four chunk-size bytes, then the stream.
 *   flags bit 0: pack the cached objects with a codec (else plain text);
 *   flags bit 1: the callback stops the parser (returns STOP_RC) at event
 *                number (flags >> 4) + 1, which feed must then return.
 * The stream is fed in chunks whose sizes cycle through the four size bytes
 * (0: the rest of the stream; 1..127: that many bytes; 128..255: multiples
 * of 64 up to 8 KB), each chunk copied to its own exact-size allocation so
 * that AddressSanitizer sees any read past a chunk. Events are capped at
 * MAX_EVENT bytes so the size limit is hit often.
 *
 * For every event the callback reads the fields a reflector reads (type,
 * metadata.resourceVersion), builds a kube_obj and checks, aborting on a
 * mismatch: the identity, owner and deletion fields equal the event object's,
 * every label reads back, the stored text parses to exactly the object minus
 * managedFields and the last-applied annotation, and a too-small output buffer
 * is refused. The objects are read once more after the codec's last outside
 * reference is gone, as cached objects outlive their informer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/codec.h"
#include "kube/object.h"
#include "kube/watch.h"
#include "util/buf.h"
#include "util/err.h"

#define MAX_EVENT    4096
#define HEADER_LEN   5
#define STOP_RC	     7
#define KEEP_OBJECTS 64
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct kube_codec *codec; /* NULL: plain text */
	int stop_at;		  /* 1-based event number; 0: never */
	int events;
	size_t last_rv_len; /* of the latest resourceVersion seen */
	struct kube_obj *kept[KEEP_OBJECTS];
	json_t *expected[KEEP_OBJECTS]; /* what kept[i] must parse to */
	size_t nkept;
};

static void check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_watch: check failed: %s\n", what);
	abort();
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* A new reference: `obj` as object.h says its text must read back. */
static json_t *expected_text(const json_t *obj)
{
	json_t *copy = json_deep_copy(obj);
	json_t *meta = json_object_get(copy, "metadata");
	json_t *annots = json_object_get(meta, "annotations");

	if (!json_is_object(meta))
		return copy;
	json_object_del(meta, "managedFields");
	if (json_is_object(annots) && json_object_get(annots, LAST_APPLIED)) {
		json_object_del(annots, LAST_APPLIED);
		if (json_object_size(annots) == 0)
			json_object_del(meta, "annotations");
	}
	return copy;
}

/* The key object.h promises: "ns/name", or "name" without a namespace. */
static int key_matches(const struct kube_obj *o, const char *ns,
		       const char *name)
{
	size_t nl = strlen(ns);

	if (nl == 0)
		return strcmp(o->key, name) == 0;
	return strncmp(o->key, ns, nl) == 0 && o->key[nl] == '/' &&
	       strcmp(o->key + nl + 1, name) == 0;
}

static void check_labels(const struct kube_obj *o, const json_t *labels)
{
	const char *k, *got;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)labels, k, v)
	{
		if (!*k || !json_is_string(v))
			continue;
		got = kube_obj_label(o, k);
		check(got && strcmp(got, json_string_value(v)) == 0,
		      "label reads back");
		n++;
	}
	for (const char *lk = NULL; (lk = kube_obj_next_label(o, lk, NULL));)
		n--;
	check(n == 0, "label count");
}

/* The owner object.h promises: the first controller ref with a uid. */
static void check_owner(const struct kube_obj *o, const json_t *meta)
{
	const json_t *refs = json_object_get(meta, "ownerReferences");
	const char *uid = NULL, *kind = NULL;
	size_t i;
	json_t *ref;

	json_array_foreach(refs, i, ref)
	{
		uid = json_string_value(json_object_get(ref, "uid"));
		kind = json_string_value(json_object_get(ref, "kind"));
		if (json_is_true(json_object_get(ref, "controller")) && uid)
			break;
		uid = NULL;
	}
	if (!uid) {
		check(!o->owner_uid && !o->owner_kind && !o->owner_name,
		      "no controller owner");
		return;
	}
	check(o->owner_uid && strcmp(o->owner_uid, uid) == 0, "owner uid");
	check(o->owner_kind && strcmp(o->owner_kind, str_or_empty(kind)) == 0,
	      "owner kind");
	check(o->owner_name != NULL, "owner name");
}

/* Checks the fields kube_obj_new() read from `obj`. */
static void check_fields(const struct kube_obj *o, const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *ns = str_or_empty(
		json_string_value(json_object_get(meta, "namespace")));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	const char *rv =
		json_string_value(json_object_get(meta, "resourceVersion"));

	check(name && strcmp(o->name, name) == 0, "name");
	check(strcmp(o->ns, ns) == 0, "namespace");
	check(key_matches(o, ns, name), "key");
	check(strcmp(o->uid, str_or_empty(uid)) == 0, "uid");
	check(strcmp(o->resource_version, str_or_empty(rv)) == 0,
	      "resourceVersion");
	check(o->generation == (long)json_integer_value(
				       json_object_get(meta, "generation")),
	      "generation");
	check(o->deleting == (json_object_get(meta, "deletionTimestamp") &&
			      !json_is_null(json_object_get(
				      meta, "deletionTimestamp"))),
	      "deleting");
	check_owner(o, meta);
	check_labels(o, json_object_get(meta, "labels"));
}

/* Checks that o's text parses to `want` and that a short buffer fails. */
static void check_text(const struct kube_obj *o, const json_t *want)
{
	json_t *got = kube_obj_parse(o);
	struct buf b;
	int rc;

	check(got != NULL, "kube_obj_parse succeeds");
	check(json_equal(got, (json_t *)want), "parse equals stripped object");
	json_decref(got);

	buf_init(&b, o->text_len - 1); /* text_len >= 2: at least "{}" */
	rc = kube_obj_text(o, &b);
	check(rc == ERR_TOOBIG && b.len == 0, "short buffer is refused");
	buf_release(&b);
}

static void object_round_trip(struct run *r, const json_t *obj)
{
	const char *name = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "name"));
	char errbuf[256] = "";
	struct kube_obj *o;
	json_t *want;

	o = kube_obj_new(obj, NULL, NULL, r->codec, errbuf, sizeof(errbuf));
	if (!o) {
		check(!name || !*name,
		      "kube_obj_new fails only without a name");
		check(errbuf[0] != '\0', "kube_obj_new failure has a message");
		return;
	}
	check(name && *name, "kube_obj_new needs a name");
	check_fields(o, obj);
	want = expected_text(obj);
	check_text(o, want);
	if (r->nkept < KEEP_OBJECTS) {
		r->kept[r->nkept] = o;
		r->expected[r->nkept++] = want;
		return;
	}
	json_decref(want);
	kube_obj_unref(o);
}

static int on_event(enum watch_type type, json_t *object, void *data)
{
	struct run *r = data;
	json_t *meta = json_object_get(object, "metadata");
	const char *rv =
		json_string_value(json_object_get(meta, "resourceVersion"));

	check(json_is_object(object), "event object is an object");
	check(strcmp(watch_type_name(type), "UNKNOWN") != 0,
	      "event type is known");
	/* What a reflector does with every event: remember its version. */
	if (rv)
		r->last_rv_len = strlen(rv);
	object_round_trip(r, object);
	r->events++;
	return r->events == r->stop_at ? STOP_RC : 0;
}

/* The size of the next chunk from size byte b, at most `left`. */
static size_t chunk_len(uint8_t b, size_t left)
{
	size_t n = b == 0 ? left : b < 128 ? b : (size_t)(b - 127) * 64;

	return n < left ? n : left;
}

static int feed_stream(struct run *r, const uint8_t *sizes, const uint8_t *s,
		       size_t len)
{
	struct watch_parser p;
	char errbuf[256] = "";
	size_t pos = 0;
	int rc = 0;

	watch_parser_init(&p, MAX_EVENT);
	for (unsigned i = 0; pos < len && rc == 0; i++) {
		size_t n = chunk_len(sizes[i % 4], len - pos);
		char *chunk = malloc(n);

		check(chunk != NULL, "malloc");
		memcpy(chunk, s + pos, n);
		rc = watch_parser_feed(&p, chunk, n, on_event, r, errbuf,
				       sizeof(errbuf));
		free(chunk);
		pos += n;
	}
	check(rc == 0 || rc == ERR_TOOBIG || rc == ERR_PARSE || rc == STOP_RC,
	      "feed returns a documented code");
	check(rc == 0 || rc == STOP_RC || errbuf[0] != '\0',
	      "a parse error has a message");
	check(rc != STOP_RC || r->events == r->stop_at,
	      "STOP_RC only from the callback");
	if (rc == 0)
		(void)watch_parser_pending(&p);
	watch_parser_release(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = {0};

	if (size < HEADER_LEN)
		return 0;
	if (data[0] & 1)
		r.codec = kube_codec_new();
	if (data[0] & 2)
		r.stop_at = (data[0] >> 4) + 1;
	feed_stream(&r, data + 1, data + HEADER_LEN, size - HEADER_LEN);
	/* The cache outlives the informer: drop the codec, then read. */
	kube_codec_unref(r.codec);
	for (size_t i = 0; i < r.nkept; i++) {
		check_text(r.kept[i], r.expected[i]);
		kube_obj_unref(r.kept[i]);
		json_decref(r.expected[i]);
	}
	return 0;
}
