/* chain_pseudonym.c - HMAC-SHA-256 patient pseudonyms through OpenSSL's
 * EVP_MAC interface, and the consortium key file. */
#include "chain_pseudonym.h"
#include "chain_priv.h"

#include "arca_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct chain_pseudonym_key {
	uint8_t bytes[CHAIN_PSEUDONYM_KEY_LEN];
};

int chain_pseudonym_key_from_bytes(chain_pseudonym_key **out,
				   const uint8_t bytes[CHAIN_PSEUDONYM_KEY_LEN])
{
	chain_pseudonym_key *k;

	*out = NULL;
	/* Secure heap where there is one: the key is not swapped out. */
	k = OPENSSL_secure_zalloc(sizeof(*k));
	if (k == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a consortium key");
	memcpy(k->bytes, bytes, CHAIN_PSEUDONYM_KEY_LEN);
	*out = k;
	return 0;
}

int chain_pseudonym_key_generate(chain_pseudonym_key **out)
{
	uint8_t bytes[CHAIN_PSEUDONYM_KEY_LEN];
	int rc;

	*out = NULL;
	if (RAND_priv_bytes(bytes, sizeof(bytes)) != 1)
		return chain__ssl_error("cannot draw a random consortium key");
	rc = chain_pseudonym_key_from_bytes(out, bytes);
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return rc;
}

void chain_pseudonym_key_free(chain_pseudonym_key *key)
{
	if (key != NULL)
		OPENSSL_secure_clear_free(key, sizeof(*key));
}

/* The new directory entry is durable only once its directory is synced. */
int chain_pseudonym_key_save(const chain_pseudonym_key *key, const char *path)
{
	return chain__keyfile_create(path, "consortium key file",
				     " (a consortium key is never overwritten)", key->bytes,
				     CHAIN_PSEUDONYM_KEY_LEN);
}

int chain_pseudonym_key_load(chain_pseudonym_key **out, const char *path)
{
	/* One byte more than a key, to tell a longer file apart. */
	uint8_t bytes[CHAIN_PSEUDONYM_KEY_LEN + 1];
	size_t got = 0;
	int rc;

	*out = NULL;
	rc = chain__keyfile_read(path, "consortium key file", bytes, sizeof(bytes), &got);
	if (rc == 0 && got != CHAIN_PSEUDONYM_KEY_LEN)
		rc = arca_error_set(ARCA_EPROTO, "consortium key file %s is not exactly %d bytes", path,
				    CHAIN_PSEUDONYM_KEY_LEN);
	if (rc == 0)
		rc = chain_pseudonym_key_from_bytes(out, bytes);
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return rc;
}

/* PS3.5 Table 6.2-1 (LO): leading and trailing spaces are not significant. */
static void trim(const char *s, const char **start, size_t *len)
{
	size_t n = strlen(s);

	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	*start = s;
	*len = n;
}

int chain_pseudonym(const chain_pseudonym_key *key, const char *issuer, const char *patient_id,
		    uint8_t out[CHAIN_HASH_LEN])
{
	static const uint8_t zero = 0;
	const char *is, *id;
	size_t is_len, id_len, mac_len = 0;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	int rc = 0;

	trim(issuer != NULL ? issuer : "", &is, &is_len);
	trim(patient_id, &id, &id_len);
	if (id_len == 0)
		return arca_error_set(ARCA_EINVAL, "pseudonym of an empty patient ID");
	if (is_len > CHAIN_PSEUDONYM_VALUE_MAX || id_len > CHAIN_PSEUDONYM_VALUE_MAX)
		return arca_error_set(ARCA_ELIMIT, "issuer or patient ID longer than %d bytes",
				      CHAIN_PSEUDONYM_VALUE_MAX);
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return chain__ssl_error("HMAC is not available from OpenSSL");
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL) {
		rc = chain__ssl_error("cannot create an HMAC context");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key->bytes, CHAIN_PSEUDONYM_KEY_LEN, params) != 1 ||
	    (is_len > 0 && EVP_MAC_update(ctx, (const uint8_t *)is, is_len) != 1) ||
	    EVP_MAC_update(ctx, &zero, 1) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)id, id_len) != 1 ||
	    EVP_MAC_final(ctx, out, &mac_len, CHAIN_HASH_LEN) != 1) {
		rc = chain__ssl_error("HMAC-SHA-256 failed");
		goto out;
	}
	if (mac_len != CHAIN_HASH_LEN)
		rc = arca_error_set(ARCA_ECRYPTO, "HMAC-SHA-256 returned %zu bytes", mac_len);
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int chain_pseudonym_hex(const chain_pseudonym_key *key, const char *issuer,
			const char *patient_id, char out[CHAIN_PSEUDONYM_HEX_LEN])
{
	uint8_t h[CHAIN_HASH_LEN];
	int rc;

	rc = chain_pseudonym(key, issuer, patient_id, h);
	if (rc < 0)
		return rc;
	chain_hash_hex(out, h, CHAIN_HASH_LEN);
	return 0;
}
