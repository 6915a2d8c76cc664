/*
 * tmpdir: helpers for unit tests that need files on disk. Header-only
 * (static functions), since each unit test is one program.
 */
#ifndef KNIT_TESTS_TMPDIR_H
#define KNIT_TESTS_TMPDIR_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"

/* Removes `path` and, when it is a directory, everything below it. */
static inline void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", path, de->d_name);
		rm_tree(p);
		free(p);
	}
	closedir(d);
	rmdir(path);
}

#endif
