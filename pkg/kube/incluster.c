/*
 * incluster: kube_config_load_incluster() (see kubeconfig.h), the
 * configuration of a controller running in a pod, as client-go's
 * rest.InClusterConfig builds it: the API server from the
 * KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT variables the
 * kubelet sets, and the CA, token file and namespace from the mounted
 * service-account directory. The token is referenced by path, not read, so
 * kube_auth picks up rotated tokens.
 */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/kubeconfig_internal.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

/* <dir>/namespace trimmed, or "default". */
static char *incluster_namespace(const char *dir)
{
	char *path = xasprintf("%s/namespace", dir), *text = NULL, *s, *ns;
	size_t len = 0;
	int eno;

	if (kubeconfig_read_file(path, &text, &len, &eno) < 0) {
		free(path);
		return xstrdup("default");
	}
	s = text;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]))
		len--;
	ns = xstrndup(len ? s : "default", len ? len : 7);
	free(text);
	free(path);
	return ns;
}

int kube_config_load_incluster(const char *dir, struct kube_config **out,
			       char *errbuf, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *c;
	char *ca;

	*out = NULL;
	if (!dir)
		dir = KUBE_SERVICEACCOUNT_DIR;
	if (!host || !*host || !port || !*port)
		return err_set(errbuf, errlen, ERR_NOTFOUND,
			       "unable to load in-cluster configuration, "
			       "KUBERNETES_SERVICE_HOST and "
			       "KUBERNETES_SERVICE_PORT must be defined");
	c = xcalloc(1, sizeof(*c));
	c->token_file = xasprintf("%s/token", dir);
	if (access(c->token_file, R_OK) != 0) {
		int rc = err_set(errbuf, errlen, ERR_IO,
				 "in-cluster: open %s: %s", c->token_file,
				 strerror(errno));
		kube_config_free(c);
		return rc;
	}
	c->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port)
				      : xasprintf("https://%s:%s", host, port);
	ca = xasprintf("%s/ca.crt", dir);
	if (access(ca, R_OK) == 0) {
		c->ca_file = ca;
	} else {
		LOG_WARNF("in-cluster CA not readable", "path=%s err=\"%s\"",
			  ca, strerror(errno));
		free(ca);
	}
	c->namespace = incluster_namespace(dir);
	c->source = xstrdup("in-cluster");
	*out = c;
	return 0;
}
