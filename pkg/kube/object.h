/*
 * object: the compact, immutable form in which caches keep Kubernetes
 * objects.
 *
 * A parsed jansson tree costs about ten times the object's JSON text, and
 * most of a typical object (metadata.managedFields above all) is never read
 * by a controller. So a cache keeps a struct kube_obj: the identity and
 * relationship fields a controller looks up constantly (key, uid,
 * resourceVersion, controller owner, labels, deletion mark) as plain
 * strings, plus the rest of the object as compact JSON text, read on demand
 * with kube_obj_text() or kube_obj_parse(). Before the text is made, the
 * object passes through a transform that always removes
 * metadata.managedFields and the
 * kubectl.kubernetes.io/last-applied-configuration annotation, then through
 * an optional caller transform (drop more bulk the caller never reads).
 *
 * The text is stored plain, or, when kube_obj_new() is given a codec (one
 * per informer, see codec.h), deflated against the codec's dictionary: a
 * realistic ReplicaSet's 2 KB of text then takes well under 300 bytes
 * (about 70 among look-alike ReplicaSets). The object keeps a reference to
 * its codec, so it stays readable after the informer is gone.
 *
 * Invariants: a kube_obj never changes after kube_obj_new() returns, so any
 * thread may read it without locks (unpacking is thread-safe too); it lives
 * as long as someone holds a reference (kube_obj_ref / kube_obj_unref are
 * atomic). Every string field is NUL-terminated and never NULL except where
 * noted. The object is one allocation (plus its share of the codec).
 */
#ifndef KNIT_KUBE_OBJECT_H
#define KNIT_KUBE_OBJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct buf;
struct kube_codec;

struct kube_obj {
	atomic_int refs;
	bool deleting;	 /* metadata.deletionTimestamp is set */
	const char *key; /* "ns/name", or "name" when cluster-scoped */
	const char *ns;	 /* "" when cluster-scoped */
	const char *name;
	const char *uid;	      /* "" when absent */
	const char *resource_version; /* "" when absent */
	const char *owner_uid;	      /* controller owner's uid, or NULL */
	const char *owner_kind;	      /* its kind, or NULL */
	const char *owner_name;	      /* its name, or NULL */
	/* Labels packed as "key\0value\0key\0value\0\0"; "\0" when none.
	 * Read with kube_obj_label() or kube_obj_next_label(). */
	const char *labels;
	long generation; /* metadata.generation, 0 when absent */
	size_t text_len; /* length of the JSON text (unpacked) */
	/*
	 * Private: the text as stored; read it with kube_obj_text() or
	 * kube_obj_parse(). With codec NULL, `packed` is the plain text,
	 * NUL-terminated, and packed_len == text_len; otherwise it is
	 * packed_len bytes of kube_codec_pack() output and the object holds
	 * a reference to codec.
	 */
	struct kube_codec *codec;
	size_t packed_len;
	const unsigned char *packed;
	char data[]; /* storage for every string above */
};

/*
 * An optional caller transform: edits `obj` (borrowed, mutable) in place
 * before it is stored. It must not change metadata.name or namespace.
 */
typedef void (*kube_transform_fn)(json_t *obj, void *data);

/*
 * Builds a kube_obj (one reference, owned by the caller) from `obj`, which is
 * only read (the transforms work on a copy). `transform` may be NULL.
 *
 * The fields (key, ns, name, uid, resource_version, owner, labels,
 * generation, deleting) are read from `obj` itself, before the caller
 * transform runs: a transform that drops labels or ownerReferences to save
 * space does not hide the object from the store's indexes. Only the text
 * reflects the transform.
 *
 * `codec` NULL stores the text plain; otherwise the text is packed with it
 * (the first object packed primes its dictionary) and the object takes its
 * own reference to the codec (the caller keeps theirs). Returns NULL with a
 * message in errbuf when obj is not an object with metadata.name, or when
 * it cannot be serialised or packed.
 */
struct kube_obj *kube_obj_new(const json_t *obj, kube_transform_fn transform,
			      void *transform_data, struct kube_codec *codec,
			      char *errbuf, size_t errlen);

/* Takes another reference; returns o. NULL is returned as is. */
struct kube_obj *kube_obj_ref(struct kube_obj *o);
/* Drops a reference; the last one frees the object. NULL is a no-op. */
void kube_obj_unref(struct kube_obj *o);

/*
 * Appends the object's compact JSON text (text_len bytes, unpacked when
 * needed) to `out`. Returns 0, ERR_TOOBIG when out's limit would be passed,
 * or a codec error (ERR_PARSE, ERR_INTERNAL; only on memory corruption).
 * Unpacking a 2 KB ReplicaSet takes under a microsecond.
 */
int kube_obj_text(const struct kube_obj *o, struct buf *out);

/* Parses the stored text: a new reference, never NULL for a valid object. */
json_t *kube_obj_parse(const struct kube_obj *o);

/* The value of label `key`, pointing into o, or NULL when absent. */
const char *kube_obj_label(const struct kube_obj *o, const char *key);

/*
 * Iterates labels: `for (const char *k = NULL, *v; (k =
 * kube_obj_next_label(o, k, &v));)`. Pass the previous key (NULL first).
 */
const char *kube_obj_next_label(const struct kube_obj *o, const char *prev,
				const char **value);

/* The labels as a new JSON object reference (for label_selector_matches). */
json_t *kube_obj_labels_json(const struct kube_obj *o);

/* Bytes of this object's allocation, for accounting; the shared codec is
 * not included (see kube_codec_size()). */
size_t kube_obj_size(const struct kube_obj *o);

/* Unrefs each of arr[0..n) and frees arr. NULL is a no-op. */
void kube_obj_array_free(struct kube_obj **arr, size_t n);

#endif
