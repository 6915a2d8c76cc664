/*
 * object: builds the compact, immutable kube_obj a cache keeps (see
 * object.h).
 *
 * kube_obj_new() works in three steps. First it makes a stripped view of
 * the input: shallow copies of the top level, of metadata and (when the
 * last-applied annotation is present) of the annotations, without
 * managedFields and that annotation, so the bulk is never copied. Second,
 * it reads the identity fields from that view and measures every string
 * (so the fields never see the caller transform). Third, when there is a
 * caller transform it deep-copies the view and lets the transform edit the
 * copy, serialises the result compactly, packs it when there is a codec,
 * and lays out the struct and all its strings in one allocation:
 *
 *   struct kube_obj | "" | key | ns | uid | rv | owner uid, kind, name |
 *   labels | text + NUL, or packed text
 *
 * The key is "ns/name" and `name` points just past its '/', so the name is
 * stored once; the empty string at the start of data[] serves every field
 * that is "" (namespace of a cluster-scoped object, absent uid, ...).
 */
#include "kube/object.h"

#include <stdlib.h>
#include <string.h>

#include "kube/codec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* The fields read from an object, borrowed from its JSON, with lengths. */
struct fields {
	const char *ns, *name, *uid, *rv;
	const char *owner_uid, *owner_kind, *owner_name;
	const json_t *labels;
	size_t labels_len; /* packed size including the final NUL */
	long generation;
	bool deleting;
};

/* A string member of `obj`, or NULL when absent or not a string. */
static const char *get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * A new reference to a shallow view of `obj` without managedFields and the
 * last-applied annotation. The input and its children are not modified.
 */
static json_t *strip_view(const json_t *obj)
{
	json_t *view = json_copy((json_t *)obj);
	json_t *meta = json_object_get(obj, "metadata");
	json_t *annots;

	if (!json_is_object(meta))
		return view;
	meta = json_copy(meta);
	json_object_del(meta, "managedFields");
	annots = json_object_get(meta, "annotations");
	if (json_is_object(annots) && json_object_get(annots, LAST_APPLIED)) {
		annots = json_copy(annots);
		json_object_del(annots, LAST_APPLIED);
		if (json_object_size(annots) == 0)
			json_object_del(meta, "annotations");
		else
			json_object_set(meta, "annotations", annots);
		json_decref(annots);
	}
	json_object_set_new(view, "metadata", meta);
	return view;
}

/* The controller owner reference (controller: true), or NULL. */
static const json_t *controller_ref(const json_t *meta)
{
	const json_t *refs = json_object_get(meta, "ownerReferences");
	size_t i;
	json_t *ref;

	json_array_foreach(refs, i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")) &&
		    get_str(ref, "uid"))
			return ref;
	}
	return NULL;
}

/* Packed size of the labels: "k\0v\0...\0". Non-string values and empty
 * keys are skipped. */
static size_t labels_size(const json_t *labels)
{
	size_t n = 1;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)labels, k, v)
	{
		if (*k && json_is_string(v))
			n += strlen(k) + 1 + strlen(json_string_value(v)) + 1;
	}
	return n;
}

static int invalid(char *errbuf, size_t errlen, const char *msg)
{
	err_set(errbuf, errlen, ERR_INVAL, "%s", msg);
	return ERR_INVAL;
}

static int read_fields(const json_t *obj, struct fields *f, char *errbuf,
		       size_t errlen)
{
	const json_t *meta, *ref, *ts;

	if (!json_is_object(obj))
		return invalid(errbuf, errlen, "object is not a JSON object");
	meta = json_object_get(obj, "metadata");
	f->name = get_str(meta, "name");
	if (!f->name || !*f->name)
		return invalid(errbuf, errlen, "object has no metadata.name");
	f->ns = str_or_empty(get_str(meta, "namespace"));
	f->uid = str_or_empty(get_str(meta, "uid"));
	f->rv = str_or_empty(get_str(meta, "resourceVersion"));
	ref = controller_ref(meta);
	f->owner_uid = ref ? get_str(ref, "uid") : NULL;
	f->owner_kind = ref ? str_or_empty(get_str(ref, "kind")) : NULL;
	f->owner_name = ref ? str_or_empty(get_str(ref, "name")) : NULL;
	f->labels = json_object_get(meta, "labels");
	f->labels_len = labels_size(f->labels);
	f->generation =
		(long)json_integer_value(json_object_get(meta, "generation"));
	ts = json_object_get(meta, "deletionTimestamp");
	f->deleting = ts && !json_is_null(ts);
	return 0;
}

/* Copies s with its NUL to *pos and advances *pos; returns the copy. */
static const char *put_str(char **pos, const char *s)
{
	size_t n = strlen(s) + 1;
	char *dst = *pos;

	memcpy(dst, s, n);
	*pos += n;
	return dst;
}

/* Copies s, or returns the shared "" at data[0] when s is empty. */
static const char *put_opt(struct kube_obj *o, char **pos, const char *s)
{
	return s && *s ? put_str(pos, s) : o->data;
}

static size_t opt_len(const char *s)
{
	return s && *s ? strlen(s) + 1 : 0;
}

static void put_labels(char **pos, const json_t *labels)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)labels, k, v)
	{
		if (*k && json_is_string(v)) {
			put_str(pos, k);
			put_str(pos, json_string_value(v));
		}
	}
	*(*pos)++ = '\0';
}

/* The stored form of the text: plain (codec NULL) or packed. */
struct stored {
	struct kube_codec *codec;
	const void *bytes;
	size_t len;	 /* bytes stored, without the plain text's NUL */
	size_t text_len; /* unpacked length */
};

static struct kube_obj *layout(const struct fields *f, const struct stored *t)
{
	size_t ns_len = strlen(f->ns);
	size_t key_len = (ns_len ? ns_len + 1 : 0) + strlen(f->name) + 1;
	size_t size = sizeof(struct kube_obj) + 1 + key_len + opt_len(f->ns) +
		      opt_len(f->uid) + opt_len(f->rv) + opt_len(f->owner_uid) +
		      opt_len(f->owner_kind) + opt_len(f->owner_name) +
		      f->labels_len + t->len + (t->codec ? 0 : 1);
	struct kube_obj *o = xmalloc(size);
	char *pos = o->data;

	atomic_init(&o->refs, 1);
	*pos++ = '\0';
	o->key = pos;
	if (ns_len) {
		memcpy(pos, f->ns, ns_len);
		pos += ns_len;
		*pos++ = '/';
	}
	o->name = put_str(&pos, f->name);
	o->ns = put_opt(o, &pos, f->ns);
	o->uid = put_opt(o, &pos, f->uid);
	o->resource_version = put_opt(o, &pos, f->rv);
	o->owner_uid = f->owner_uid ? put_opt(o, &pos, f->owner_uid) : NULL;
	o->owner_kind = f->owner_kind ? put_opt(o, &pos, f->owner_kind) : NULL;
	o->owner_name = f->owner_name ? put_opt(o, &pos, f->owner_name) : NULL;
	o->labels = pos;
	put_labels(&pos, f->labels);
	o->deleting = f->deleting;
	o->generation = f->generation;
	o->text_len = t->text_len;
	o->codec = kube_codec_ref(t->codec);
	o->packed_len = t->len;
	memcpy(pos, t->bytes, t->len);
	if (!t->codec)
		pos[t->len] = '\0';
	o->packed = (const unsigned char *)pos;
	return o;
}

/* Fills *t with text as stored: packed into `packed` when there is a
 * codec, else the text itself. */
static int store_text(struct kube_codec *codec, const char *text,
		      struct buf *packed, struct stored *t, char *errbuf,
		      size_t errlen)
{
	int rc;

	t->codec = codec;
	t->text_len = strlen(text);
	t->bytes = text;
	t->len = t->text_len;
	if (!codec)
		return 0;
	rc = kube_codec_pack(codec, text, t->text_len, packed);
	if (rc < 0)
		return err_set(errbuf, errlen, rc,
			       "object cannot be packed: %s", err_str(rc));
	t->bytes = packed->data;
	t->len = packed->len;
	return 0;
}

struct kube_obj *kube_obj_new(const json_t *obj, kube_transform_fn transform,
			      void *transform_data, struct kube_codec *codec,
			      char *errbuf, size_t errlen)
{
	struct kube_obj *o = NULL;
	json_t *view = NULL, *edited = NULL;
	struct fields f = {.ns = ""};
	struct stored t;
	struct buf packed;
	char *text = NULL;

	buf_init(&packed, BUF_UNLIMITED);

	if (read_fields(obj, &f, errbuf, errlen) < 0)
		goto out;
	view = strip_view(obj);
	if (transform) {
		edited = json_deep_copy(view);
		transform(edited, transform_data);
	}
	text = json_dumps(edited ? edited : view,
			  JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		err_set(errbuf, errlen, ERR_INVAL,
			"object cannot be serialised");
		goto out;
	}
	if (store_text(codec, text, &packed, &t, errbuf, errlen) < 0)
		goto out;
	/* The fields are borrowed from obj, which outlives this call. */
	o = layout(&f, &t);
out:
	buf_release(&packed);
	free(text);
	json_decref(edited);
	json_decref(view);
	return o;
}

struct kube_obj *kube_obj_ref(struct kube_obj *o)
{
	if (o)
		atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

void kube_obj_unref(struct kube_obj *o)
{
	if (o &&
	    atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
		kube_codec_unref(o->codec);
		free(o);
	}
}

int kube_obj_text(const struct kube_obj *o, struct buf *out)
{
	if (!o->codec)
		return buf_append(out, o->packed, o->text_len);
	return kube_codec_unpack(o->codec, o->packed, o->packed_len,
				 o->text_len, out);
}

json_t *kube_obj_parse(const struct kube_obj *o)
{
	struct buf text;
	json_t *j = NULL;

	if (!o->codec)
		return json_loadb((const char *)o->packed, o->text_len, 0,
				  NULL);
	buf_init(&text, BUF_UNLIMITED);
	if (kube_obj_text(o, &text) == 0)
		j = json_loadb(text.data, text.len, 0, NULL);
	buf_release(&text);
	return j;
}

const char *kube_obj_next_label(const struct kube_obj *o, const char *prev,
				const char **value)
{
	const char *p = o->labels;

	if (prev) {
		p = prev + strlen(prev) + 1; /* its value */
		p += strlen(p) + 1;
	}
	if (!*p)
		return NULL;
	if (value)
		*value = p + strlen(p) + 1;
	return p;
}

const char *kube_obj_label(const struct kube_obj *o, const char *key)
{
	const char *v;

	for (const char *k = NULL; (k = kube_obj_next_label(o, k, &v));) {
		if (strcmp(k, key) == 0)
			return v;
	}
	return NULL;
}

json_t *kube_obj_labels_json(const struct kube_obj *o)
{
	json_t *labels = json_object();
	const char *v;

	for (const char *k = NULL; (k = kube_obj_next_label(o, k, &v));)
		json_object_set_new(labels, k, json_string(v));
	return labels;
}

size_t kube_obj_size(const struct kube_obj *o)
{
	return (size_t)(o->packed + o->packed_len + (o->codec ? 0 : 1) -
			(const unsigned char *)o);
}

void kube_obj_array_free(struct kube_obj **arr, size_t n)
{
	if (!arr)
		return;
	for (size_t i = 0; i < n; i++)
		kube_obj_unref(arr[i]);
	free(arr);
}
