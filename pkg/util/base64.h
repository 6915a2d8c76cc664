/*
 * base64: decoding standard padded base64 (RFC 4648 section 4), as Go's
 * encoding/base64 reads it for kubeconfig *-data fields and Secret data.
 * Thread-safe; no global state.
 */
#ifndef KNIT_UTIL_BASE64_H
#define KNIT_UTIL_BASE64_H

#include <stddef.h>

/*
 * Decodes `in` (CR and LF ignored). On success returns 0 and stores a new
 * NUL-terminated buffer in *out and its length (without the NUL) in
 * *outlen. On bad input returns ERR_PARSE with the offset of the first bad
 * input byte in *bad, leaving *out alone.
 */
int base64_decode(const char *in, char **out, size_t *outlen, size_t *bad);

#endif
