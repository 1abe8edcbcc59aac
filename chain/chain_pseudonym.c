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
static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = 0;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing directory %s of %s: %s", dir, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int chain_pseudonym_key_save(const chain_pseudonym_key *key, const char *path)
{
	size_t done = 0;
	int fd, rc = 0;

	/* O_EXCL: one consortium key, never replaced by accident; 0600 from
	 * the first moment. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return arca_error_set(errno == EEXIST ? ARCA_EEXISTS : ARCA_EIO,
				      "cannot create consortium key file %s: %s%s", path, strerror(errno),
				      errno == EEXIST ? " (a consortium key is never overwritten)" : "");
	while (done < CHAIN_PSEUDONYM_KEY_LEN) {
		ssize_t w = write(fd, key->bytes + done, CHAIN_PSEUDONYM_KEY_LEN - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = arca_error_set(ARCA_EIO, "writing consortium key file %s: %s", path,
					    w < 0 ? strerror(errno) : "no progress");
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing consortium key file %s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = arca_error_set(ARCA_EIO, "closing consortium key file %s: %s", path, strerror(errno));
	if (rc == 0)
		rc = fsync_dir_of(path);
	if (rc < 0)
		unlink(path);
	return rc;
}

int chain_pseudonym_key_load(chain_pseudonym_key **out, const char *path)
{
	uint8_t bytes[CHAIN_PSEUDONYM_KEY_LEN + 1];
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(errno == ENOENT ? ARCA_ENOTFOUND : ARCA_EIO,
				      "cannot open consortium key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = arca_error_set(ARCA_EIO, "cannot stat consortium key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = arca_error_set(ARCA_EINVAL, "consortium key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rc = arca_error_set(ARCA_EINVAL,
				    "consortium key file %s is accessible by others (mode %03o); chmod 600 it",
				    path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	/* Read one byte more than a key, to tell a longer file apart. */
	while (got < sizeof(bytes)) {
		ssize_t r = read(fd, bytes + got, sizeof(bytes) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = arca_error_set(ARCA_EIO, "reading consortium key file %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != CHAIN_PSEUDONYM_KEY_LEN) {
		rc = arca_error_set(ARCA_EPROTO, "consortium key file %s is not exactly %d bytes", path,
				    CHAIN_PSEUDONYM_KEY_LEN);
		goto out;
	}
	rc = chain_pseudonym_key_from_bytes(out, bytes);
out:
	OPENSSL_cleanse(bytes, sizeof(bytes));
	close(fd);
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
