/*
 * base64: decoding the standard padded base64 of the Kubernetes API
 * (kubeconfig *-data fields, Secret data) with OpenSSL's block decoder,
 * after checking the input the way Go's encoding/base64 does.
 */
#include "util/base64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, char **out, size_t *outlen, size_t *bad)
{
	size_t n = strlen(in), m = 0, pad = 0, qstart = 0;
	char *clean = xmalloc(n + 1);
	unsigned char *dec;
	int len, rc = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=' ? m % 4 < 2 : (pad > 0 || b64_value(c) < 0)) {
			*bad = i;
			rc = ERR_PARSE;
			goto out;
		}
		if (m % 4 == 0)
			qstart = i;
		pad += c == '=';
		clean[m++] = (char)c;
	}
	if (m % 4 != 0) {
		*bad = qstart;
		rc = ERR_PARSE;
		goto out;
	}
	dec = xmalloc(m / 4 * 3 + 1);
	len = m ? EVP_DecodeBlock(dec, (unsigned char *)clean, (int)m) : 0;
	if (len < 0) {
		free(dec);
		*bad = 0;
		rc = ERR_PARSE;
		goto out;
	}
	len -= (int)pad;
	dec[len] = '\0';
	*out = (char *)dec;
	*outlen = (size_t)len;
out:
	free(clean);
	return rc;
}
