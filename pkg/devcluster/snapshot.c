/*
 * snapshot: saves every stored object to a JSON file and loads it back, so
 * `make demo` can restart knit-devcluster with its state. The file is
 * {"resourceVersion": N, "objects": [{"group","resource","object"}...]};
 * CRDs are loaded first so their resources are served again. Writes go to
 * a temporary file renamed into place, so a crash never leaves half a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcluster/api_internal.h"
#include "util/alloc.h"
#include "util/err.h"

int snapshot_save(struct devcluster *dc, const char *path, char *errbuf,
		  size_t errlen)
{
	json_t *objects = json_array();
	json_t *doc;
	const char *key;
	void *cv, *ov;
	char *tmp = xasprintf("%s.tmp", path);
	int rc = 0;

	for (size_t i = 0;
	     hashmap_next(&dc->store.collections, &i, &key, &cv);) {
		struct collection *c = cv;

		for (size_t j = 0; hashmap_next(&c->items, &j, NULL, &ov);)
			json_array_append_new(
				objects,
				json_pack("{s:s,s:s,s:b,s:o}", "group",
					  c->group, "resource", c->resource,
					  "namespaced", c->namespaced, "object",
					  object_parse(ov)));
	}
	doc = json_pack("{s:I,s:o}", "resourceVersion",
			(json_int_t)dc->store.rv, "objects", objects);
	if (json_dump_file(doc, tmp, JSON_COMPACT) || rename(tmp, path))
		rc = err_set(errbuf, errlen, ERR_IO, "cannot write %s", path);
	json_decref(doc);
	free(tmp);
	return rc;
}

static void load_entry(struct devcluster *dc, json_t *e)
{
	struct collection *c = store_collection(
		&dc->store,
		json_string_value(json_object_get(e, "group")) ?: "",
		json_string_value(json_object_get(e, "resource")) ?: "",
		json_is_true(json_object_get(e, "namespaced")));
	json_t *obj = json_object_get(e, "object");

	store_put(&dc->store, c, obj);
	if (strcmp(c->resource, "customresourcedefinitions") == 0)
		registry_sync_crd(&dc->reg, &dc->store, obj);
}

int snapshot_load(struct devcluster *dc, const char *path, char *errbuf,
		  size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	json_t *objects = json_object_get(doc, "objects");
	size_t i;
	json_t *e;

	if (!doc)
		return err_set(errbuf, errlen, ERR_PARSE, "%s: %s (line %d)",
			       path, jerr.text, jerr.line);
	if (!json_is_array(objects)) {
		json_decref(doc);
		return err_set(errbuf, errlen, ERR_PARSE,
			       "%s: no \"objects\" array", path);
	}
	/* objects keep their stored resourceVersions' order: CRDs first */
	json_array_foreach(
		objects, i,
		e) if (strcmp(json_string_value(json_object_get(e, "resource"))
				      ?: "",
			      "customresourcedefinitions") == 0)
		load_entry(dc, e);
	json_array_foreach(
		objects, i,
		e) if (strcmp(json_string_value(json_object_get(e, "resource"))
				      ?: "",
			      "customresourcedefinitions") != 0)
		load_entry(dc, e);
	if ((uint64_t)json_integer_value(
		    json_object_get(doc, "resourceVersion")) > dc->store.rv)
		dc->store.rv = (uint64_t)json_integer_value(
			json_object_get(doc, "resourceVersion"));
	dc->store.compacted_rv = dc->store.rv;
	json_decref(doc);
	return 0;
}
