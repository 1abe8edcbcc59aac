/* chain_key.c - Ed25519 node keys through OpenSSL's EVP interface. */
#include "chain_key.h"
#include "chain_hash.h"
#include "chain_priv.h"

#include "arca_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct chain_key {
	EVP_PKEY *pkey;
	bool has_private;
};

static int wrap(chain_key **out, EVP_PKEY *pkey, bool has_private)
{
	chain_key *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return arca_error_set(ARCA_ENOMEM, "out of memory for a key");
	}
	k->pkey = pkey;
	k->has_private = has_private;
	*out = k;
	return 0;
}

int chain_key_generate(chain_key **out)
{
	EVP_PKEY *pkey;

	*out = NULL;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL)
		return chain__ssl_error("cannot generate an Ed25519 key");
	return wrap(out, pkey, true);
}

int chain_key_from_seed(chain_key **out, const uint8_t seed[CHAIN_KEY_SEED_LEN])
{
	EVP_PKEY *pkey;

	*out = NULL;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, CHAIN_KEY_SEED_LEN);
	if (pkey == NULL)
		return chain__ssl_error("cannot make an Ed25519 key from a seed");
	return wrap(out, pkey, true);
}

int chain_key_from_public(chain_key **out, const uint8_t pub[CHAIN_KEY_PUBLIC_LEN])
{
	EVP_PKEY *pkey;

	*out = NULL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CHAIN_KEY_PUBLIC_LEN);
	if (pkey == NULL)
		return chain__ssl_error("not an Ed25519 public key");
	return wrap(out, pkey, false);
}

void chain_key_free(chain_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

bool chain_key_has_private(const chain_key *key)
{
	return key->has_private;
}

int chain_key_save(const chain_key *key, const char *path)
{
	BIO *bio = NULL;
	char *pem = NULL;
	long pem_len;
	int rc;

	if (!key->has_private)
		return arca_error_set(ARCA_EINVAL, "cannot save %s: the key has no private part", path);
	/* Secure heap memory BIO: the PEM is wiped when the BIO is freed. */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return chain__ssl_error("cannot save key %s", path);
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		rc = chain__ssl_error("cannot encode key %s as PEM", path);
		goto out;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	if (pem_len <= 0) {
		rc = chain__ssl_error("cannot encode key %s as PEM", path);
		goto out;
	}
	rc = chain__keyfile_create(path, "key file", " (a node key is never overwritten; move it away first)",
				   (const uint8_t *)pem, (size_t)pem_len);
out:
	BIO_free(bio);
	return rc;
}

/* Refuses to prompt: arca's key files are not encrypted, and a library
 * must never read a passphrase from the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int chain_key_load(chain_key **out, const char *path)
{
	uint8_t *buf;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc;

	*out = NULL;
	buf = OPENSSL_secure_malloc(CHAIN_KEY_FILE_MAX);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory loading key %s", path);
	rc = chain__keyfile_read(path, "key file", buf, CHAIN_KEY_FILE_MAX, &len);
	if (rc < 0)
		goto out;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL) {
		rc = chain__ssl_error("cannot read key file %s", path);
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL) {
		rc = chain__ssl_error("key file %s is not an unencrypted PEM private key", path);
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		rc = arca_error_set(ARCA_EUNSUPPORTED, "key file %s holds a %s key; arca node keys are Ed25519",
				    path, EVP_PKEY_get0_type_name(pkey));
		goto out;
	}
	rc = wrap(out, pkey, true);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	OPENSSL_secure_clear_free(buf, CHAIN_KEY_FILE_MAX);
	return rc;
}

int chain_key_public(const chain_key *key, uint8_t out[CHAIN_KEY_PUBLIC_LEN])
{
	size_t len = CHAIN_KEY_PUBLIC_LEN;

	if (EVP_PKEY_get_raw_public_key(key->pkey, out, &len) != 1)
		return chain__ssl_error("cannot read the Ed25519 public key");
	if (len != CHAIN_KEY_PUBLIC_LEN)
		return arca_error_set(ARCA_ECRYPTO, "Ed25519 public key of %zu bytes", len);
	return 0;
}

int chain_key_fingerprint(const chain_key *key, uint8_t out[32])
{
	uint8_t pub[CHAIN_KEY_PUBLIC_LEN];
	int rc;

	rc = chain_key_public(key, pub);
	if (rc < 0)
		return rc;
	return chain_hash_sha256_once(out, pub, sizeof(pub));
}

int chain_key_fingerprint_hex(const chain_key *key, char out[CHAIN_KEY_FP_HEX_LEN])
{
	uint8_t fp[32];
	int rc;

	rc = chain_key_fingerprint(key, fp);
	if (rc < 0)
		return rc;
	chain_hash_hex(out, fp, sizeof(fp));
	return 0;
}

int chain_key_fingerprint_short(const chain_key *key, char out[CHAIN_KEY_FP_SHORT_LEN])
{
	uint8_t fp[32];
	int rc;

	rc = chain_key_fingerprint(key, fp);
	if (rc < 0)
		return rc;
	chain_hash_hex(out, fp, (CHAIN_KEY_FP_SHORT_LEN - 1) / 2);
	return 0;
}

int chain_key_sign(const chain_key *key, const void *msg, size_t len,
		   uint8_t sig[CHAIN_KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t siglen = CHAIN_KEY_SIG_LEN;
	int rc = 0;

	if (!key->has_private)
		return arca_error_set(ARCA_EINVAL, "cannot sign with a public key only");
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return chain__ssl_error("cannot create a signing context");
	/* Ed25519 is PureEdDSA: no digest is named, the message is signed. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, len > 0 ? msg : (const void *)"", len) != 1)
		rc = chain__ssl_error("Ed25519 signing failed");
	else if (siglen != CHAIN_KEY_SIG_LEN)
		rc = arca_error_set(ARCA_ECRYPTO, "Ed25519 signature of %zu bytes", siglen);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int chain_key_verify(const chain_key *key, const void *msg, size_t len,
		     const uint8_t sig[CHAIN_KEY_SIG_LEN])
{
	char fp[CHAIN_KEY_FP_SHORT_LEN];
	EVP_MD_CTX *ctx;
	int ok, rc = 0;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return chain__ssl_error("cannot create a verification context");
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) != 1) {
		rc = chain__ssl_error("Ed25519 verification setup failed");
		goto out;
	}
	ok = EVP_DigestVerify(ctx, sig, CHAIN_KEY_SIG_LEN, len > 0 ? msg : (const void *)"", len);
	if (ok != 1) {
		/* 0 is a signature that does not match; OpenSSL may also queue
		 * a reason for it, which says no more than that. */
		ERR_clear_error();
		if (chain_key_fingerprint_short(key, fp) < 0)
			strcpy(fp, "?");
		rc = arca_error_set(ARCA_ECRYPTO, "Ed25519 signature does not verify with key %s", fp);
	}
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
