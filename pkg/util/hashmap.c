/*
 * hashmap: open-addressing string map (see hashmap.h). FNV-1a hashing.
 */
#include "util/hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static char tombstone_mark;
#define HASHMAP_TOMBSTONE (&tombstone_mark)

static unsigned long hash_key(const char *s)
{
	unsigned long h = 1469598103934665603UL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211UL;
	}
	return h;
}

void hashmap_init(struct hashmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->size = 0;
	m->used = 0;
}

void hashmap_release(struct hashmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key && m->slots[i].key != HASHMAP_TOMBSTONE)
			free(m->slots[i].key);
	}
	free(m->slots);
	hashmap_init(m);
}

static struct hashmap_slot *find(const struct hashmap *m, const char *key,
				 unsigned long h)
{
	if (!m->cap)
		return NULL;
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct hashmap_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != HASHMAP_TOMBSTONE && s->hash == h &&
		    strcmp(s->key, key) == 0)
			return s;
	}
}

static void resize(struct hashmap *m, size_t cap)
{
	struct hashmap_slot *old = m->slots;
	size_t old_cap = m->cap;

	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	m->used = m->size;
	for (size_t i = 0; i < old_cap; i++) {
		struct hashmap_slot *s = &old[i];

		if (!s->key || s->key == HASHMAP_TOMBSTONE)
			continue;
		size_t j = s->hash & (cap - 1);
		while (m->slots[j].key)
			j = (j + 1) & (cap - 1);
		m->slots[j] = *s;
	}
	free(old);
}

void *hashmap_get(const struct hashmap *m, const char *key)
{
	struct hashmap_slot *s = find(m, key, hash_key(key));

	return s ? s->value : NULL;
}

void *hashmap_put(struct hashmap *m, const char *key, void *value)
{
	unsigned long h = hash_key(key);
	struct hashmap_slot *s = find(m, key, h);

	if (s) {
		void *old = s->value;
		s->value = value;
		return old;
	}
	if ((m->used + 1) * 10 >= m->cap * 7)
		resize(m, m->cap ? (m->size * 2 >= m->cap ? m->cap * 2 : m->cap)
				 : 16);
	size_t i = h & (m->cap - 1);
	while (m->slots[i].key && m->slots[i].key != HASHMAP_TOMBSTONE)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = xstrdup(key);
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->size++;
	return NULL;
}

void *hashmap_remove(struct hashmap *m, const char *key)
{
	struct hashmap_slot *s = find(m, key, hash_key(key));
	void *v;

	if (!s)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = HASHMAP_TOMBSTONE;
	s->value = NULL;
	m->size--;
	return v;
}

int hashmap_next(const struct hashmap *m, size_t *iter, const char **key,
		 void **value)
{
	while (*iter < m->cap) {
		struct hashmap_slot *s = &m->slots[(*iter)++];

		if (s->key && s->key != HASHMAP_TOMBSTONE) {
			if (key)
				*key = s->key;
			if (value)
				*value = s->value;
			return 1;
		}
	}
	return 0;
}
