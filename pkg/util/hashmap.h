/*
 * hashmap: a string-keyed hash table of void pointers.
 *
 * Open addressing with linear probing and tombstones; grows at 70% load.
 * The map copies keys (it owns its key strings) and never owns values: the
 * caller frees values it stored. Iteration order is unspecified. Not
 * thread-safe. Lookups cost one hash of the key plus a short probe.
 */
#ifndef KNIT_UTIL_HASHMAP_H
#define KNIT_UTIL_HASHMAP_H

#include <stddef.h>

struct hashmap_slot {
	char *key; /* NULL: empty; HASHMAP_TOMBSTONE: deleted */
	void *value;
	unsigned long hash;
};

struct hashmap {
	struct hashmap_slot *slots;
	size_t cap;  /* power of two, or 0 before the first insert */
	size_t size; /* live entries */
	size_t used; /* live entries plus tombstones */
};

void hashmap_init(struct hashmap *m);
/* Frees the slots and keys, not the values. */
void hashmap_release(struct hashmap *m);

/* Returns the value stored under key, or NULL. */
void *hashmap_get(const struct hashmap *m, const char *key);
/* Stores value under key, returning the value it replaced (or NULL). */
void *hashmap_put(struct hashmap *m, const char *key, void *value);
/* Removes key and returns its value (or NULL when absent). */
void *hashmap_remove(struct hashmap *m, const char *key);

/*
 * Iteration: `for (size_t i = 0; hashmap_next(m, &i, &k, &v);)`. Do not insert
 * while iterating; removing the current entry is allowed.
 */
int hashmap_next(const struct hashmap *m, size_t *iter, const char **key,
		 void **value);

#endif
