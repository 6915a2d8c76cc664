/*
 * codec: raw deflate with a per-informer preset dictionary for the text of
 * cached objects (see codec.h for the format and the thread rules).
 *
 * Packing reuses one deflate stream behind a mutex: deflateReset plus
 * deflateSetDictionary per text costs far less than building the stream's
 * 160 KB of state each time. Unpacking builds a short-lived inflate stream
 * per call, so readers share nothing but the dictionary, which is written
 * once (under the mutex, published with a release store) and then only
 * read.
 */
#include "kube/codec.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

/* Smaller than zlib's default of 8: 160 KB of deflate state instead of
 * 256 KB, and no measurable loss on texts of a few KB. */
#define MEM_LEVEL 6

struct dict {
	size_t len;
	unsigned char bytes[];
};

struct kube_codec {
	atomic_int refs;
	pthread_mutex_t lock; /* serialises packing: guards zs and priming */
	z_stream zs;	      /* the reused deflate stream */
	size_t zbytes;	      /* bytes zlib allocated for zs */
	struct dict *_Atomic dict; /* NULL until primed, then constant */
};

/* zlib allocator: aborts on OOM like the rest of Knit; counts into
 * *opaque when it is not NULL. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	size_t n = (size_t)items * size;

	if (opaque)
		*(size_t *)opaque += n;
	return xmalloc(n);
}

static void z_free(voidpf opaque, voidpf p)
{
	free(p);
}

struct kube_codec *kube_codec_new(void)
{
	struct kube_codec *c = xcalloc(1, sizeof(*c));

	atomic_init(&c->refs, 1);
	atomic_init(&c->dict, NULL);
	pthread_mutex_init(&c->lock, NULL);
	c->zs.zalloc = z_alloc;
	c->zs.zfree = z_free;
	c->zs.opaque = &c->zbytes;
	/* Only bad parameters or OOM (which aborts) can fail here. */
	if (deflateInit2(&c->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS,
			 MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	return c;
}

struct kube_codec *kube_codec_ref(struct kube_codec *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void kube_codec_unref(struct kube_codec *c)
{
	if (!c ||
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	deflateEnd(&c->zs);
	pthread_mutex_destroy(&c->lock);
	free(atomic_load_explicit(&c->dict, memory_order_relaxed));
	free(c);
}

/* Makes text the dictionary. Called with the lock held, before any
 * dictionary exists. */
static void prime(struct kube_codec *c, const char *text, size_t len)
{
	struct dict *d;

	if (len > KUBE_CODEC_DICT_MAX)
		len = KUBE_CODEC_DICT_MAX;
	d = xmalloc(sizeof(*d) + len);
	d->len = len;
	memcpy(d->bytes, text, len);
	atomic_store_explicit(&c->dict, d, memory_order_release);
}

/* Deflates text into dst (room for `room` bytes); the output length is
 * stored in *n. Called with the lock held. */
static int deflate_locked(struct kube_codec *c, const char *text, size_t len,
			  unsigned char *dst, size_t room, size_t *n)
{
	const struct dict *d =
		atomic_load_explicit(&c->dict, memory_order_relaxed);

	if (deflateReset(&c->zs) != Z_OK)
		return ERR_INTERNAL;
	if (d && deflateSetDictionary(&c->zs, d->bytes, (uInt)d->len) != Z_OK)
		return ERR_INTERNAL;
	c->zs.next_in = (Bytef *)text;
	c->zs.avail_in = (uInt)len;
	c->zs.next_out = dst;
	c->zs.avail_out = (uInt)room;
	if (deflate(&c->zs, Z_FINISH) != Z_STREAM_END)
		return ERR_INTERNAL;
	*n = room - c->zs.avail_out;
	return 0;
}

int kube_codec_pack(struct kube_codec *c, const char *text, size_t len,
		    struct buf *out)
{
	size_t bound, n = 0;
	int rc;

	if (len > UINT_MAX / 2)
		return ERR_TOOBIG;
	pthread_mutex_lock(&c->lock);
	if (len && !atomic_load_explicit(&c->dict, memory_order_relaxed))
		prime(c, text, len);
	bound = deflateBound(&c->zs, (uLong)len);
	rc = buf_reserve(out, bound);
	if (rc == 0)
		rc = deflate_locked(c, text, len,
				    (unsigned char *)out->data + out->len,
				    bound, &n);
	pthread_mutex_unlock(&c->lock);
	if (rc == 0)
		out->len += n;
	if (out->cap) /* restores the NUL also after a failed deflate */
		out->data[out->len] = '\0';
	return rc;
}

/* Maps the outcome of a one-shot inflate to an error code. */
static int inflate_result(int zrc, const z_stream *zs)
{
	if (zrc == Z_STREAM_END)
		return zs->avail_out == 0 && zs->avail_in == 0 ? 0 : ERR_PARSE;
	if (zrc == Z_MEM_ERROR || zrc == Z_STREAM_ERROR)
		return ERR_INTERNAL;
	return ERR_PARSE; /* Z_DATA_ERROR, or Z_BUF_ERROR: too short/long */
}

int kube_codec_unpack(const struct kube_codec *c, const void *packed,
		      size_t packed_len, size_t text_len, struct buf *out)
{
	const struct dict *d =
		atomic_load_explicit(&c->dict, memory_order_acquire);
	z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
	int rc;

	if (packed_len > UINT_MAX || text_len > UINT_MAX)
		return ERR_TOOBIG;
	rc = buf_reserve(out, text_len);
	if (rc)
		return rc;
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return ERR_INTERNAL;
	if (d && inflateSetDictionary(&zs, d->bytes, (uInt)d->len) != Z_OK) {
		rc = ERR_INTERNAL;
		goto out;
	}
	zs.next_in = (Bytef *)packed;
	zs.avail_in = (uInt)packed_len;
	zs.next_out = (Bytef *)out->data + out->len;
	zs.avail_out = (uInt)text_len;
	rc = inflate_result(inflate(&zs, Z_FINISH), &zs);
	if (rc == 0)
		out->len += text_len;
out:
	out->data[out->len] = '\0'; /* also over a failed attempt's bytes */
	inflateEnd(&zs);
	return rc;
}

size_t kube_codec_dict_len(const struct kube_codec *c)
{
	const struct dict *d =
		atomic_load_explicit(&c->dict, memory_order_acquire);

	return d ? d->len : 0;
}

size_t kube_codec_size(const struct kube_codec *c)
{
	return sizeof(*c) + c->zbytes + kube_codec_dict_len(c);
}
