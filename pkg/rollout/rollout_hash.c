/*
 * rollout_hash: the names of revisions. A pod template is hashed the way a
 * Deployment names its ReplicaSets -- FNV-32a, then the collision count,
 * then the decimal value spelled in Kubernetes' "safe" alphabet (no vowels,
 * no look-alike characters) -- except that the bytes hashed are the
 * template's canonical JSON (keys sorted, compact), so the same template
 * always gets the same name whatever the key order it was written in.
 * Also here: the image list of a template, for history entries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout.h"
#include "util/alloc.h"

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME  16777619u

/* As k8s.io/apimachinery/pkg/util/rand's alphanums. */
static const char SAFE_ALPHABET[] = "bcdfghjklmnpqrstvwxz2456789";

static uint32_t fnv32a(uint32_t h, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV32_PRIME;
	}
	return h;
}

static uint32_t hash_json(const json_t *value)
{
	char *text = NULL;
	uint32_t h;

	if (value)
		text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS |
						 JSON_ENCODE_ANY);
	h = fnv32a(FNV32_OFFSET, (const unsigned char *)(text ? text : "null"),
		   strlen(text ? text : "null"));
	free(text);
	return h;
}

/* rand.SafeEncodeString(fmt.Sprint(h)): each decimal digit's byte value
 * taken modulo the alphabet's length. */
static void safe_encode(uint32_t h, char out[16])
{
	size_t i, n;

	n = (size_t)snprintf(out, 16, "%u", (unsigned)h);
	for (i = 0; i < n; i++)
		out[i] = SAFE_ALPHABET[(unsigned char)out[i] %
				       (sizeof(SAFE_ALPHABET) - 1)];
}

void rollout_template_hash(const json_t *template, int collision_count,
			   char out[16])
{
	uint32_t h = hash_json(template);
	unsigned char le[4];
	uint32_t c = (uint32_t)collision_count;

	if (collision_count > 0) {
		le[0] = (unsigned char)(c & 0xff);
		le[1] = (unsigned char)((c >> 8) & 0xff);
		le[2] = (unsigned char)((c >> 16) & 0xff);
		le[3] = (unsigned char)((c >> 24) & 0xff);
		h = fnv32a(h, le, sizeof(le));
	}
	safe_encode(h, out);
}

void rollout_json_hash(const json_t *value, char out[16])
{
	safe_encode(hash_json(value), out);
}

char *rollout_template_images(const json_t *template)
{
	json_t *containers = json_object_get(json_object_get(template, "spec"),
					     "containers");
	json_t *c;
	const char *image;
	char *out = xstrdup(""), *next;
	size_t i;

	json_array_foreach(containers, i, c)
	{
		image = json_string_value(json_object_get(c, "image"));
		if (!image)
			continue;
		next = xasprintf("%s%s%s", out, *out ? ", " : "", image);
		free(out);
		out = next;
	}
	return out;
}
