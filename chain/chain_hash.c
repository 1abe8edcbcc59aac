/* chain_hash.c - SHA-256 through OpenSSL EVP, and the translation of
 * OpenSSL errors into arca's error convention (see chain_priv.h). */
#include "chain_hash.h"
#include "chain_priv.h"

#include "arca_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>

struct chain_hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

int chain__ssl_error(const char *fmt, ...)
{
	char what[256];
	char reason[256] = "no reason given by OpenSSL";
	unsigned long e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* The first error queued is the root cause; the later ones are the
	 * callers that passed it up. */
	e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return arca_error_set(ARCA_ECRYPTO, "%s: %s", what, reason);
}

int chain_hasher_new(chain_hasher **out)
{
	chain_hasher *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a SHA-256 context");
	/* Fetched once: an implicit fetch on every EVP_DigestInit costs more
	 * than hashing the 65 bytes of a Merkle node. */
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (h->md == NULL) {
		chain_hasher_free(h);
		return chain__ssl_error("SHA-256 is not available from OpenSSL");
	}
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL) {
		chain_hasher_free(h);
		return chain__ssl_error("cannot create an OpenSSL digest context");
	}
	*out = h;
	return 0;
}

void chain_hasher_free(chain_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

/* Hashes prefix (if has_prefix) || a || b. */
static int hash3(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN], int has_prefix, uint8_t prefix,
		 const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned int outlen = 0;

	if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1)
		return chain__ssl_error("SHA-256 init failed");
	if (has_prefix && EVP_DigestUpdate(h->ctx, &prefix, 1) != 1)
		return chain__ssl_error("SHA-256 update failed");
	if (alen > 0 && EVP_DigestUpdate(h->ctx, a, alen) != 1)
		return chain__ssl_error("SHA-256 update failed");
	if (blen > 0 && EVP_DigestUpdate(h->ctx, b, blen) != 1)
		return chain__ssl_error("SHA-256 update failed");
	if (EVP_DigestFinal_ex(h->ctx, out, &outlen) != 1)
		return chain__ssl_error("SHA-256 final failed");
	if (outlen != CHAIN_HASH_LEN)
		return arca_error_set(ARCA_ECRYPTO, "SHA-256 returned %u bytes, expected %d",
				      outlen, CHAIN_HASH_LEN);
	return 0;
}

int chain_hash_sha256(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN], const void *data, size_t len)
{
	return hash3(h, out, 0, 0, data, len, NULL, 0);
}

int chain_hash_leaf(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN], const void *entry, size_t len)
{
	/* RFC 9162 2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). */
	return hash3(h, out, 1, 0x00, entry, len, NULL, 0);
}

int chain_hash_node(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN],
		    const uint8_t left[CHAIN_HASH_LEN], const uint8_t right[CHAIN_HASH_LEN])
{
	/* RFC 9162 2.1.1: HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).  The
	 * inputs are consumed by EVP_DigestUpdate before out is written, so
	 * out may alias either of them. */
	return hash3(h, out, 1, 0x01, left, CHAIN_HASH_LEN, right, CHAIN_HASH_LEN);
}

int chain_hash_sha256_once(uint8_t out[CHAIN_HASH_LEN], const void *data, size_t len)
{
	chain_hasher *h;
	int rc;

	rc = chain_hasher_new(&h);
	if (rc < 0)
		return rc;
	rc = chain_hash_sha256(h, out, data, len);
	chain_hasher_free(h);
	return rc;
}

void chain_hash_hex(char *out, const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	out[2 * len] = '\0';
}
