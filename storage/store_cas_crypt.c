/* store_cas_crypt.c - SHA-256 addresses and AES-256-GCM sealing at rest,
 * through OpenSSL libcrypto; the one place OpenSSL errors are translated.
 *
 * Key and nonce scheme (docs/storage-format.md, "Encryption"): the store
 * key K (32 random bytes in <root>/cas.key) never encrypts anything
 * itself.  Each chunk is sealed under its own key and nonce,
 *     HKDF-SHA256(IKM = K, salt = "arca-cas-v1", info = chunk hash)
 *         -> 32-byte AES key || 12-byte nonce,
 * so a (key, nonce) pair is only ever used for the one plaintext whose
 * hash it was derived from: nonce reuse across different plaintexts is
 * impossible short of a SHA-256 collision, and identical chunks seal to
 * identical files, as deduplication wants.  The AAD is the header (its
 * first 24 bytes: everything but the checksum) followed by the chunk hash,
 * so a file moved to another address or a header edited in place fails
 * authentication. */
#include "store_cas_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "arca_err.h"
#include "store_cas_fsync.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define HKDF_SALT "arca-cas-v1"

struct store_cas_crypt {
	EVP_MD *sha256;
	EVP_CIPHER *aes;
	EVP_KDF *hkdf;
	bool has_key;
	uint8_t key[KEY_LEN];
};

/* Sets the message "<what>: <OpenSSL's reason>" and clears this thread's
 * OpenSSL error queue.  Every OpenSSL failure goes through here. */
__attribute__((format(printf, 2, 3)))
static int ossl_error(int code, const char *fmt, ...)
{
	char what[384];
	char reason[160] = "no reason given";
	unsigned long e, last = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* The innermost (first queued) error is the most specific one. */
	while ((e = ERR_get_error()) != 0)
		if (last == 0)
			last = e;
	if (last != 0)
		ERR_error_string_n(last, reason, sizeof(reason));
	return arca_error_set(code, "%s: %s", what, reason);
}

int store_cas__crypt_new(store_cas_crypt **out)
{
	store_cas_crypt *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the chunk store's crypto");
	/* Fetched once: fetched algorithms are immutable and may be used by
	 * many threads at once, each with its own context. */
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	c->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (c->sha256 == NULL || c->aes == NULL || c->hkdf == NULL) {
		int rc = ossl_error(ARCA_ECRYPTO, "cannot load SHA-256, AES-256-GCM or HKDF from OpenSSL");
		store_cas__crypt_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void store_cas__crypt_free(store_cas_crypt *c)
{
	if (c == NULL)
		return;
	OPENSSL_cleanse(c->key, sizeof(c->key));
	EVP_MD_free(c->sha256);
	EVP_CIPHER_free(c->aes);
	EVP_KDF_free(c->hkdf);
	free(c);
}

bool store_cas__crypt_has_key(const store_cas_crypt *c)
{
	return c->has_key;
}

int store_cas__sha256(const store_cas_crypt *c, const void *data, size_t len,
		      uint8_t out[STORE_CAS_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, c->sha256, NULL) != 1 || n != STORE_CAS_HASH_LEN)
		return ossl_error(ARCA_ECRYPTO, "SHA-256 of a %zu-byte chunk failed", len);
	return 0;
}

int store_cas_hash(const void *data, size_t len, uint8_t out_hash[STORE_CAS_HASH_LEN])
{
	unsigned int n = 0;

	if (data == NULL && len > 0)
		return arca_error_set(ARCA_EINVAL, "store_cas_hash: no data");
	if (EVP_Digest(len > 0 ? data : "", len, out_hash, &n, EVP_sha256(), NULL) != 1 ||
	    n != STORE_CAS_HASH_LEN)
		return ossl_error(ARCA_ECRYPTO, "SHA-256 of %zu bytes failed", len);
	return 0;
}

static int read_key_file(store_cas_crypt *c, const char *path)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = 0;

	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = arca_error_set(ARCA_EIO, "cannot stat key file %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = arca_error_set(ARCA_ECRYPTO, "key file %s is not a regular file", path);
	} else if ((st.st_mode & 077) != 0) {
		/* As ssh does with private keys: refuse rather than use a key
		 * that others could have read. */
		rc = arca_error_set(ARCA_ECRYPTO,
				    "key file %s has mode %04o, readable by others; chmod 600 it",
				    path, (unsigned)(st.st_mode & 07777));
	} else if (st.st_size != KEY_LEN) {
		rc = arca_error_set(ARCA_ECRYPTO, "key file %s has %lld bytes, expected %d",
				    path, (long long)st.st_size, KEY_LEN);
	} else {
		do
			n = read(fd, c->key, KEY_LEN);
		while (n < 0 && errno == EINTR);
		if (n != KEY_LEN)
			rc = arca_error_set(ARCA_EIO, "cannot read key file %s: %s", path,
					    n < 0 ? strerror(errno) : "short read");
	}
	close(fd);
	if (rc == 0)
		c->has_key = true;
	else
		OPENSSL_cleanse(c->key, sizeof(c->key));
	return rc;
}

int store_cas__crypt_load_key(store_cas_crypt *c, const char *root, const char *tmp_dir,
			      bool create)
{
	char path[PATH_MAX];
	uint8_t fresh[KEY_LEN];
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", root, STORE_CAS_KEY_FILE);
	if (lstat(path, &st) == 0)
		return read_key_file(c, path);
	if (errno != ENOENT)
		return arca_error_set(ARCA_EIO, "cannot stat key file %s: %s", path, strerror(errno));
	if (!create)
		return 0;
	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return ossl_error(ARCA_ECRYPTO, "cannot draw a new key for %s", path);
	/* No replace: when two processes create the key at once, one wins
	 * and both use its key. */
	rc = store_cas_fsync_write_file(tmp_dir, path, fresh, sizeof(fresh), 0600, false);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	if (rc < 0 && rc != ARCA_EEXISTS)
		return rc;
	return read_key_file(c, path);
}

/* The per-chunk AES key and nonce (see the top of this file). */
static int derive(const store_cas_crypt *c, const uint8_t hash[STORE_CAS_HASH_LEN],
		  uint8_t okm[KEY_LEN + NONCE_LEN])
{
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(c->hkdf);
	OSSL_PARAM params[5];
	int rc = 0;

	if (k == NULL)
		return ossl_error(ARCA_ENOMEM, "cannot allocate an HKDF context");
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)c->key, KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)HKDF_SALT,
						      sizeof(HKDF_SALT) - 1);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)hash,
						      STORE_CAS_HASH_LEN);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(k, okm, KEY_LEN + NONCE_LEN, params) != 1)
		rc = ossl_error(ARCA_ECRYPTO, "HKDF key derivation failed");
	EVP_KDF_CTX_free(k);
	return rc;
}

static int set_aad(EVP_CIPHER_CTX *x, const uint8_t header[STORE_CAS_HEADER_LEN],
		   const uint8_t hash[STORE_CAS_HASH_LEN])
{
	int outl;

	return EVP_CipherUpdate(x, NULL, &outl, header, STORE_CAS_HEADER_AAD_LEN) == 1 &&
	       EVP_CipherUpdate(x, NULL, &outl, hash, STORE_CAS_HASH_LEN) == 1;
}

int store_cas__seal(const store_cas_crypt *c, const uint8_t hash[STORE_CAS_HASH_LEN],
		    const uint8_t header[STORE_CAS_HEADER_LEN], const uint8_t *in, size_t len,
		    uint8_t *out, uint8_t tag[STORE_CAS_TAG_LEN])
{
	uint8_t okm[KEY_LEN + NONCE_LEN];
	EVP_CIPHER_CTX *x = NULL;
	int outl = 0, finl = 0;
	int rc;

	if (!c->has_key)
		return arca_error_set(ARCA_ECRYPTO, "no key loaded to seal a chunk");
	if (len > STORE_CAS_CHUNK_MAX)
		return arca_error_set(ARCA_ELIMIT, "chunk of %zu bytes too large to seal", len);
	rc = derive(c, hash, okm);
	if (rc < 0)
		return rc;
	x = EVP_CIPHER_CTX_new();
	if (x == NULL) {
		rc = ossl_error(ARCA_ENOMEM, "cannot allocate a cipher context");
	} else if (EVP_EncryptInit_ex2(x, c->aes, okm, okm + KEY_LEN, NULL) != 1 ||
		   !set_aad(x, header, hash) ||
		   EVP_EncryptUpdate(x, out, &outl, in, (int)len) != 1 ||
		   EVP_EncryptFinal_ex(x, out + outl, &finl) != 1 ||
		   (size_t)outl + (size_t)finl != len ||
		   EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, STORE_CAS_TAG_LEN, tag) != 1) {
		rc = ossl_error(ARCA_ECRYPTO, "AES-256-GCM sealing of a %zu-byte chunk failed", len);
	}
	EVP_CIPHER_CTX_free(x);
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}

int store_cas__unseal(const store_cas_crypt *c, const uint8_t hash[STORE_CAS_HASH_LEN],
		      const uint8_t header[STORE_CAS_HEADER_LEN], uint8_t *buf, size_t len,
		      const uint8_t tag[STORE_CAS_TAG_LEN], const char *path)
{
	uint8_t okm[KEY_LEN + NONCE_LEN];
	uint8_t tag_copy[STORE_CAS_TAG_LEN];
	EVP_CIPHER_CTX *x = NULL;
	int outl = 0, finl = 0;
	int rc;

	if (!c->has_key)
		return arca_error_set(ARCA_ECRYPTO,
				      "chunk file %s is encrypted but the store has no key file %s",
				      path, STORE_CAS_KEY_FILE);
	if (len > STORE_CAS_CHUNK_MAX)
		return arca_error_set(ARCA_EPROTO, "chunk file %s: body of %zu bytes too large",
				      path, len);
	rc = derive(c, hash, okm);
	if (rc < 0)
		return rc;
	memcpy(tag_copy, tag, sizeof(tag_copy));
	x = EVP_CIPHER_CTX_new();
	if (x == NULL) {
		rc = ossl_error(ARCA_ENOMEM, "cannot allocate a cipher context");
	} else if (EVP_DecryptInit_ex2(x, c->aes, okm, okm + KEY_LEN, NULL) != 1 ||
		   !set_aad(x, header, hash) ||
		   EVP_DecryptUpdate(x, buf, &outl, buf, (int)len) != 1 ||
		   EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, STORE_CAS_TAG_LEN, tag_copy) != 1) {
		rc = ossl_error(ARCA_ECRYPTO, "chunk file %s: AES-256-GCM decryption failed", path);
	} else if (EVP_DecryptFinal_ex(x, buf + outl, &finl) != 1) {
		/* A tag mismatch queues no OpenSSL error; say what it means. */
		ERR_clear_error();
		rc = arca_error_set(ARCA_ECRYPTO,
				    "chunk file %s: authentication failed (altered, moved from "
				    "another address, or a different key); restore it from a replica",
				    path);
	}
	EVP_CIPHER_CTX_free(x);
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}
