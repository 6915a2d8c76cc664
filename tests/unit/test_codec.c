/*
 * test_codec: the dictionary compressor of cached object text: round trips
 * of many texts (similar, unlike, binary, empty, larger than the
 * dictionary), priming exactly once also when threads race to pack first,
 * errors for a wrong length or corrupt input (never a crash), size limits,
 * and unpacking from many threads while another packs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "kube/codec.h"
#include "util/buf.h"
#include "util/err.h"

/* A small deterministic generator (xorshift32). */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A JSON-like text for object i, about `size` bytes: objects share their
 * shape and differ in names and values, like one informer's objects. */
static char *object_text(int i, size_t size)
{
	struct buf b;
	uint32_t seed = (uint32_t)i * 2654435761u + 1;

	buf_init(&b, BUF_UNLIMITED);
	buf_printf(&b,
		   "{\"apiVersion\":\"v1\",\"kind\":\"Thing\",\"metadata\":{"
		   "\"name\":\"thing-%d\",\"namespace\":\"ns-%d\",\"uid\":"
		   "\"%08x-0000\"},\"spec\":{",
		   i, i % 7, next_rand(&seed));
	for (int f = 0; b.len < size; f++)
		buf_printf(&b, "\"field%d\":\"value-%u\",", f,
			   next_rand(&seed) % 1000);
	buf_puts(&b, "\"end\":true}}");
	return buf_detach(&b, NULL);
}

/* Random bytes, NULs included. */
static char *random_bytes(uint32_t seed, size_t len)
{
	char *p = malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (char)(next_rand(&seed) & 0xff);
	p[len] = '\0';
	return p;
}

/* Packs text into a new buf (release it). */
static void pack(struct kube_codec *c, const char *text, size_t len,
		 struct buf *out)
{
	buf_init(out, BUF_UNLIMITED);
	assert_int_equal(kube_codec_pack(c, text, len, out), 0);
}

/* Unpacks and compares with the original. */
static void assert_unpacks(const struct kube_codec *c, const struct buf *p,
			   const char *text, size_t len)
{
	struct buf out;

	buf_init(&out, BUF_UNLIMITED);
	assert_int_equal(kube_codec_unpack(c, p->data, p->len, len, &out), 0);
	assert_int_equal(out.len, len);
	if (len)
		assert_memory_equal(out.data, text, len);
	assert_int_equal(out.data[len], '\0');
	buf_release(&out);
}

static void round_trip(struct kube_codec *c, const char *text, size_t len)
{
	struct buf p;

	pack(c, text, len, &p);
	assert_unpacks(c, &p, text, len);
	buf_release(&p);
}

static void test_round_trips(void **state)
{
	struct kube_codec *c = kube_codec_new();
	char *first = object_text(0, 2000);
	size_t similar = 0, n = 0;
	struct buf p;

	assert_int_equal(kube_codec_dict_len(c), 0);
	pack(c, first, strlen(first), &p);
	assert_int_equal(kube_codec_dict_len(c), strlen(first));
	/* The dictionary text itself packs to almost nothing. */
	assert_true(p.len < 40);
	assert_unpacks(c, &p, first, strlen(first));
	buf_release(&p);
	for (int i = 1; i < 200; i++) {
		char *t = object_text(i, 100 + (size_t)i * 20);

		pack(c, t, strlen(t), &p);
		assert_unpacks(c, &p, t, strlen(t));
		similar += p.len;
		n += strlen(t);
		buf_release(&p);
		free(t);
	}
	/* Like texts compress well against the dictionary. */
	print_message("similar texts: %zu -> %zu bytes\n", n, similar);
	assert_true(similar < n / 3);
	/* Unlike ones (binary, NULs included) still round-trip. */
	for (uint32_t i = 1; i < 60; i++) {
		char *t = random_bytes(i, i * 37);

		round_trip(c, t, i * 37);
		free(t);
	}
	/* Priming happened once. */
	assert_int_equal(kube_codec_dict_len(c), strlen(first));
	free(first);
	kube_codec_unref(c);
}

static void test_empty_text(void **state)
{
	struct kube_codec *c = kube_codec_new();
	struct buf early;
	char *t = object_text(1, 500);

	/* An empty text does not prime; it unpacks after priming too. */
	pack(c, "", 0, &early);
	assert_true(early.len > 0);
	assert_int_equal(kube_codec_dict_len(c), 0);
	assert_unpacks(c, &early, "", 0);
	round_trip(c, t, strlen(t));
	assert_int_equal(kube_codec_dict_len(c), strlen(t));
	assert_unpacks(c, &early, "", 0);
	round_trip(c, "", 0);
	free(t);
	buf_release(&early);
	kube_codec_unref(c);
}

static void test_larger_than_dictionary(void **state)
{
	struct kube_codec *c = kube_codec_new();
	char *big = object_text(3, 40000), *huge = object_text(4, 200000);
	char *noise = random_bytes(9, 100000);

	round_trip(c, big, strlen(big));
	assert_true(strlen(big) > KUBE_CODEC_DICT_MAX);
	assert_int_equal(kube_codec_dict_len(c), KUBE_CODEC_DICT_MAX);
	round_trip(c, huge, strlen(huge));
	round_trip(c, noise, 100000);
	round_trip(c, "x", 1);
	free(big);
	free(huge);
	free(noise);
	/* A small dictionary and a text much larger than it. */
	c = (kube_codec_unref(c), kube_codec_new());
	round_trip(c, "{\"a\":1}", 7);
	assert_int_equal(kube_codec_dict_len(c), 7);
	huge = object_text(5, 100000);
	round_trip(c, huge, strlen(huge));
	free(huge);
	kube_codec_unref(c);
}

static void test_wrong_length(void **state)
{
	struct kube_codec *c = kube_codec_new();
	char *t = object_text(2, 1000);
	size_t len = strlen(t);
	struct buf p, out;

	round_trip(c, t, len);
	pack(c, t, len, &p);
	buf_init(&out, BUF_UNLIMITED);
	buf_puts(&out, "keep");
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, len + 1, &out),
			 ERR_PARSE);
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, len - 1, &out),
			 ERR_PARSE);
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, 0, &out),
			 ERR_PARSE);
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, 1, &out),
			 ERR_PARSE);
	/* Trailing bytes after the stream. */
	buf_putc(&p, 'x');
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, len, &out),
			 ERR_PARSE);
	assert_int_equal(out.len, 4);
	assert_string_equal(out.data, "keep");
	buf_release(&out);
	buf_release(&p);
	free(t);
	kube_codec_unref(c);
}

/* Unpacking `bytes` must fail or succeed cleanly, never crash. */
static int try_unpack(const struct kube_codec *c, const void *bytes, size_t n,
		      size_t text_len)
{
	struct buf out;
	int rc;

	buf_init(&out, BUF_UNLIMITED);
	rc = kube_codec_unpack(c, bytes, n, text_len, &out);
	assert_true(rc == 0 || rc == ERR_PARSE);
	assert_int_equal(out.len, rc == 0 ? text_len : 0);
	buf_release(&out);
	return rc;
}

static void test_corrupt_input(void **state)
{
	struct kube_codec *c = kube_codec_new();
	char *t = object_text(5, 3000);
	size_t len = strlen(t), failed = 0, tries = 0;
	struct buf p;

	round_trip(c, t, len);
	free(t);
	t = object_text(6, 3000);
	len = strlen(t);
	pack(c, t, len, &p);
	/* Every truncation loses the end of the stream. */
	for (size_t n = 0; n < p.len; n++)
		assert_int_equal(try_unpack(c, p.data, n, len), ERR_PARSE);
	/* Every single-bit flip: raw deflate has no checksum, so some flips
	 * decode to another text of the same length, but most fail and none
	 * may crash or overrun. */
	for (size_t i = 0; i < p.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			p.data[i] ^= (char)(1 << bit);
			failed += try_unpack(c, p.data, p.len, len) != 0;
			tries++;
			p.data[i] ^= (char)(1 << bit);
		}
	}
	print_message("bit flips detected: %zu of %zu\n", failed, tries);
	assert_true(failed > tries / 4);
	/* Garbage. */
	for (uint32_t s = 1; s < 300; s++) {
		char *g = random_bytes(s, s % 64 + 1);

		try_unpack(c, g, s % 64 + 1, len);
		try_unpack(c, g, s % 64 + 1, s % 64);
		free(g);
	}
	try_unpack(c, "", 0, 0);
	assert_int_equal(try_unpack(c, "", 0, 10), ERR_PARSE);
	buf_release(&p);
	free(t);
	kube_codec_unref(c);
}

static void test_limits_and_append(void **state)
{
	struct kube_codec *c = kube_codec_new();
	char *t = object_text(7, 800);
	size_t len = strlen(t);
	struct buf p, small, out;

	pack(c, t, len, &p);
	/* Packing appends after existing content. */
	buf_init(&out, BUF_UNLIMITED);
	buf_puts(&out, "ab");
	assert_int_equal(kube_codec_pack(c, t, len, &out), 0);
	assert_int_equal(out.len, 2 + p.len);
	assert_memory_equal(out.data, "ab", 2);
	assert_memory_equal(out.data + 2, p.data, p.len);
	buf_reset(&out);
	buf_puts(&out, "ab");
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, len, &out), 0);
	assert_int_equal(out.len, 2 + len);
	assert_string_equal(out.data + 2, t);
	buf_release(&out);
	/* Limits: nothing is written. */
	buf_init(&small, 16);
	assert_int_equal(kube_codec_pack(c, t, len, &small), ERR_TOOBIG);
	assert_int_equal(small.len, 0);
	assert_int_equal(kube_codec_unpack(c, p.data, p.len, len, &small),
			 ERR_TOOBIG);
	assert_int_equal(small.len, 0);
	buf_release(&small);
	buf_release(&p);
	free(t);
	kube_codec_unref(c);
}

static void test_refs_and_size(void **state)
{
	struct kube_codec *c = kube_codec_new();
	char *t = object_text(8, 1500);
	size_t before = kube_codec_size(c);

	/* zlib's deflate state is counted. */
	assert_true(before > 100000);
	assert_ptr_equal(kube_codec_ref(c), c);
	kube_codec_unref(c);
	round_trip(c, t, strlen(t)); /* still alive */
	assert_int_equal(kube_codec_size(c), before + strlen(t));
	assert_null(kube_codec_ref(NULL));
	kube_codec_unref(NULL);
	free(t);
	kube_codec_unref(c); /* frees; ASan reports a leak otherwise */
}

/* ---- threads ---- */

#define THREADS	   4
#define PER_THREAD 60

struct race {
	struct kube_codec *c;
	pthread_barrier_t *start;
	int id;
	size_t first_len;
	struct buf packed[PER_THREAD];
	char *texts[PER_THREAD];
};

/* Each thread packs its own texts at the same moment as the others. */
static void *packer(void *arg)
{
	struct race *r = arg;

	/* First texts differ in length by far more than object_text()'s
	 * overshoot, so the dictionary's length tells whose it is. */
	r->texts[0] = object_text(r->id * 1000, 300 + (size_t)r->id * 1000);
	for (int i = 1; i < PER_THREAD; i++)
		r->texts[i] = object_text(r->id * 1000 + i, 300 + (size_t)i);
	r->first_len = strlen(r->texts[0]);
	pthread_barrier_wait(r->start);
	for (int i = 0; i < PER_THREAD; i++)
		pack(r->c, r->texts[i], strlen(r->texts[i]), &r->packed[i]);
	return NULL;
}

static void test_priming_race(void **state)
{
	for (int round = 0; round < 10; round++) {
		struct kube_codec *c = kube_codec_new();
		struct race r[THREADS];
		pthread_t th[THREADS];
		pthread_barrier_t start;
		size_t dict = 0;
		int primers = 0;

		pthread_barrier_init(&start, NULL, THREADS);
		for (int i = 0; i < THREADS; i++) {
			r[i].c = c;
			r[i].id = i;
			r[i].start = &start;
			pthread_create(&th[i], NULL, packer, &r[i]);
		}
		for (int i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
		dict = kube_codec_dict_len(c);
		for (int i = 0; i < THREADS; i++)
			primers += r[i].first_len == dict;
		/* Exactly one thread's first text is the dictionary... */
		assert_int_equal(primers, 1);
		/* ...and it never changed: everything packed unpacks. */
		for (int i = 0; i < THREADS; i++) {
			for (int j = 0; j < PER_THREAD; j++) {
				assert_unpacks(c, &r[i].packed[j],
					       r[i].texts[j],
					       strlen(r[i].texts[j]));
				buf_release(&r[i].packed[j]);
				free(r[i].texts[j]);
			}
		}
		pthread_barrier_destroy(&start);
		kube_codec_unref(c);
	}
}

#define SHARED 100

struct shared {
	struct kube_codec *c;
	char *texts[SHARED];
	struct buf packed[SHARED];
	atomic_int done;
	atomic_long checked;
};

/* Unpacks every shared text again and again until the packer is done. */
static void *unpacker(void *arg)
{
	struct shared *sh = arg;
	struct buf out;

	buf_init(&out, BUF_UNLIMITED);
	do {
		for (int i = 0; i < SHARED; i++) {
			size_t len = strlen(sh->texts[i]);

			buf_reset(&out);
			assert_int_equal(
				kube_codec_unpack(sh->c, sh->packed[i].data,
						  sh->packed[i].len, len, &out),
				0);
			assert_memory_equal(out.data, sh->texts[i], len);
			atomic_fetch_add(&sh->checked, 1);
		}
	} while (!atomic_load(&sh->done));
	buf_release(&out);
	return NULL;
}

/* Packs and checks new texts while the unpackers run. */
static void *busy_packer(void *arg)
{
	struct shared *sh = arg;

	for (int i = 0; i < 300; i++) {
		char *t = object_text(5000 + i, 200 + (size_t)i * 5);

		round_trip(sh->c, t, strlen(t));
		free(t);
	}
	atomic_store(&sh->done, 1);
	return NULL;
}

static void test_concurrent_unpack(void **state)
{
	struct shared sh = {.c = kube_codec_new()};
	pthread_t readers[3], writer;

	atomic_init(&sh.done, 0);
	atomic_init(&sh.checked, 0);
	for (int i = 0; i < SHARED; i++) {
		sh.texts[i] = object_text(i, 500 + (size_t)i * 13);
		pack(sh.c, sh.texts[i], strlen(sh.texts[i]), &sh.packed[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_create(&readers[i], NULL, unpacker, &sh);
	pthread_create(&writer, NULL, busy_packer, &sh);
	pthread_join(writer, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(readers[i], NULL);
	assert_true(atomic_load(&sh.checked) >= 3 * SHARED);
	for (int i = 0; i < SHARED; i++) {
		buf_release(&sh.packed[i]);
		free(sh.texts[i]);
	}
	kube_codec_unref(sh.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_larger_than_dictionary),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_corrupt_input),
		cmocka_unit_test(test_limits_and_append),
		cmocka_unit_test(test_refs_and_size),
		cmocka_unit_test(test_priming_race),
		cmocka_unit_test(test_concurrent_unpack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
