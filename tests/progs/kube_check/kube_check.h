/*
 * kube_check: shared helpers of the integration-test driver's commands
 * (main.c parses the connection flags and dispatches).
 */
#ifndef KNIT_TESTS_KUBE_CHECK_H
#define KNIT_TESTS_KUBE_CHECK_H

#include "kube/client.h"

/* The resource named `name` ("configmaps"); exits 64 when unknown. */
const struct kube_resource *check_resource(const char *name);
/* Prints "error: ERR_X (HTTP n): message" on stdout. */
void check_print_error(int rc, const struct kube_error *e);

/* The commands; argv holds their arguments. Each returns the exit code. */
int check_churn(struct kube_client *c, char **argv);
int check_leader(struct kube_client *c, char **argv);
int check_events(struct kube_client *c, char **argv);
int check_stop(struct kube_client *c, char **argv);

#endif
