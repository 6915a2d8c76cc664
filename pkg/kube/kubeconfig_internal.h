/*
 * kubeconfig_internal: the low-level helpers shared by the kubeconfig
 * loaders, kubeconfig.c (files) and incluster.c (the service-account
 * mount): reading a whole file and resolving paths the way kubectl does
 * (the base64 of *-data fields is util/base64.h). Not part of the public
 * API.
 *
 * Every function returns new heap strings owned by the caller (free()), and
 * none keeps state, so all are thread-safe.
 */
#ifndef KNIT_KUBE_KUBECONFIG_INTERNAL_H
#define KNIT_KUBE_KUBECONFIG_INTERNAL_H

#include <stddef.h>

/* Largest file the loaders read (a kubeconfig, a token, a namespace). */
#define KUBECONFIG_MAX_SIZE (16u << 20)

/*
 * Reads the whole of `path` (at most KUBECONFIG_MAX_SIZE bytes) into a new
 * NUL-terminated string in *out and its length in *len. Errors: ERR_IO
 * (open or read failed; the errno is in *eno) and ERR_TOOBIG (*eno EFBIG).
 */
int kubeconfig_read_file(const char *path, char **out, size_t *len, int *eno);

/*
 * `p` made absolute against the directory of `file` (itself relative to the
 * cwd when not absolute), then cleaned lexically as Go's filepath.Clean
 * does. An absolute `p` is only cleaned. Returns a new string.
 */
char *kubeconfig_path_resolve(const char *file, const char *p);

/* "$HOME/.kube/config" ($HOME unset: the passwd entry's home). New string. */
char *kubeconfig_home_path(void);

#endif
