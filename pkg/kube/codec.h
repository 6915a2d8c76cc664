/*
 * codec: compresses the JSON text of cached objects against a dictionary
 * shared by one informer.
 *
 * The objects of one informer are one kind and look alike: the same keys,
 * in the same order, with mostly the same values. Deflate on its own gains
 * little on a 2 KB text, but deflate with a preset dictionary that is
 * another object of the same kind turns a 2 KB ReplicaSet into well under
 * 300 bytes, because almost every run of bytes is found in the dictionary.
 * So each informer owns a kube_codec, and every cached object (kube_obj)
 * keeps its text packed with it and a reference to it.
 *
 * Format: raw deflate (no zlib header or checksum; windowBits -15), with the
 * dictionary set on both sides. The uncompressed length is not part of the
 * packed bytes: the caller keeps it (kube_obj.text_len) and must pass it
 * back to kube_codec_unpack(), which fails on a mismatch.
 *
 * Dictionary: empty when the codec is made; the first non-empty text
 * packed becomes the dictionary (its first KUBE_CODEC_DICT_MAX bytes, the
 * most zlib's 32 KB window can use), and from then on it never changes.
 * Texts packed before that (only empty ones) unpack fine with any
 * dictionary, since a raw deflate stream refers only to bytes it knows.
 *
 * Ownership and threads: a codec is reference counted (atomic); the last
 * kube_codec_unref() frees it, so objects that outlive their informer still
 * unpack. kube_codec_pack() may be called from any thread; calls are
 * serialised by a mutex around one reused deflate stream (about 160 KB of
 * zlib state per codec). kube_codec_unpack() needs no lock and may run in
 * any number of threads at once, also while another thread packs: the
 * dictionary is published once with release/acquire ordering and never
 * changes after.
 */
#ifndef KNIT_KUBE_CODEC_H
#define KNIT_KUBE_CODEC_H

#include <stddef.h>

struct buf;
struct kube_codec;

/* The most dictionary bytes kept (zlib's window). */
#define KUBE_CODEC_DICT_MAX 32768

/* A new codec with an empty dictionary and one reference. Never NULL. */
struct kube_codec *kube_codec_new(void);

/* Takes another reference; returns c. NULL is returned as is. */
struct kube_codec *kube_codec_ref(struct kube_codec *c);

/* Drops a reference; the last one frees the codec. NULL is a no-op. */
void kube_codec_unref(struct kube_codec *c);

/*
 * Appends the packed form of text[0..len) to `out` (binary; out keeps its
 * NUL after the data as always). The first non-empty text primes the
 * dictionary before it is itself packed (against the dictionary, so it
 * packs to a few bytes). Returns 0, ERR_TOOBIG when out's limit leaves no
 * room for deflate's worst case (out unchanged), or ERR_INTERNAL when zlib
 * fails.
 */
int kube_codec_pack(struct kube_codec *c, const char *text, size_t len,
		    struct buf *out);

/*
 * Appends the text unpacked from packed[0..packed_len) to `out`, which
 * must come to exactly `text_len` bytes (NUL-terminated by the buf as
 * always). Returns 0, ERR_PARSE when the input is corrupt, has trailing
 * bytes or does not unpack to exactly text_len bytes, ERR_TOOBIG when out's
 * limit would be passed, ERR_INTERNAL when zlib fails otherwise. On error
 * out's content is unchanged.
 */
int kube_codec_unpack(const struct kube_codec *c, const void *packed,
		      size_t packed_len, size_t text_len, struct buf *out);

/* Length of the dictionary: 0 until the first non-empty text is packed. */
size_t kube_codec_dict_len(const struct kube_codec *c);

/* Bytes the codec holds (dictionary and zlib state), for accounting. */
size_t kube_codec_size(const struct kube_codec *c);

#endif
