/* chain_key_test.c - Ed25519 node keys: RFC 8032 known answers, the key
 * file (created 0600, never overwritten, refused when others can read
 * it), signing and verification. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "arca_err.h"
#include "chain_hash.h"
#include "chain_key.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* A fresh directory per test, removed with its files afterwards. */
struct tmp {
	char dir[256];
	char path[300];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/chain_key_test.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/node.key", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* RFC 8032 7.1, TEST 1 and TEST 2. */
static void test_rfc8032_vectors(void **state)
{
	static const struct {
		const char *secret, *pub, *msg, *sig;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t seed[32], pub[32], want_pub[32], sig[64], want_sig[64], msg[1];
		size_t msg_len = strlen(v[i].msg) / 2;
		chain_key *k, *p;

		unhex(v[i].secret, seed, 32);
		unhex(v[i].pub, want_pub, 32);
		unhex(v[i].sig, want_sig, 64);
		unhex(v[i].msg, msg, msg_len);
		assert_int_equal(chain_key_from_seed(&k, seed), 0);
		assert_true(chain_key_has_private(k));
		assert_int_equal(chain_key_public(k, pub), 0);
		assert_memory_equal(pub, want_pub, 32);
		assert_int_equal(chain_key_sign(k, msg, msg_len, sig), 0);
		assert_memory_equal(sig, want_sig, 64);
		/* verify with a public-only key made from the raw bytes */
		assert_int_equal(chain_key_from_public(&p, want_pub), 0);
		assert_false(chain_key_has_private(p));
		assert_int_equal(chain_key_verify(p, msg, msg_len, want_sig), 0);
		chain_key_free(p);
		chain_key_free(k);
	}
}

static void test_fingerprint(void **state)
{
	uint8_t seed[32], fp[32], want[32];
	char hex[CHAIN_KEY_FP_HEX_LEN], short_fp[CHAIN_KEY_FP_SHORT_LEN];
	chain_key *k;
	(void)state;

	unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
	assert_int_equal(chain_key_from_seed(&k, seed), 0);
	/* SHA-256 of d75a9801...511a, computed with python3 hashlib */
	unhex("21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9", want, 32);
	assert_int_equal(chain_key_fingerprint(k, fp), 0);
	assert_memory_equal(fp, want, 32);
	assert_int_equal(chain_key_fingerprint_hex(k, hex), 0);
	assert_string_equal(hex, "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
	assert_int_equal(chain_key_fingerprint_short(k, short_fp), 0);
	assert_string_equal(short_fp, "21fe31dfa154a261");
	chain_key_free(k);
}

static void test_save_load_round_trip(void **state)
{
	struct tmp *t = *state;
	uint8_t pub1[32], pub2[32], sig[64], sig2[64];
	chain_key *k, *loaded, *again;
	struct stat st;
	static const char msg[] = "arca.example/node1\n42\n";

	assert_int_equal(chain_key_generate(&k), 0);
	assert_int_equal(chain_key_save(k, t->path), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(chain_key_load(&loaded, t->path), 0);
	assert_true(chain_key_has_private(loaded));
	assert_int_equal(chain_key_public(k, pub1), 0);
	assert_int_equal(chain_key_public(loaded, pub2), 0);
	assert_memory_equal(pub1, pub2, 32);
	/* the loaded key signs what the original verifies, byte for byte */
	assert_int_equal(chain_key_sign(loaded, msg, sizeof(msg) - 1, sig), 0);
	assert_int_equal(chain_key_verify(k, msg, sizeof(msg) - 1, sig), 0);
	assert_int_equal(chain_key_sign(k, msg, sizeof(msg) - 1, sig2), 0);
	assert_memory_equal(sig, sig2, 64);

	/* a node key is never overwritten */
	assert_int_equal(chain_key_generate(&again), 0);
	assert_int_equal(chain_key_save(again, t->path), ARCA_EEXISTS);
	chain_key_free(loaded);
	assert_int_equal(chain_key_load(&loaded, t->path), 0);
	assert_int_equal(chain_key_public(loaded, pub2), 0);
	assert_memory_equal(pub1, pub2, 32);

	chain_key_free(again);
	chain_key_free(loaded);
	chain_key_free(k);
}

static void test_load_refuses(void **state)
{
	struct tmp *t = *state;
	char missing[320], big[CHAIN_KEY_FILE_MAX + 10];
	chain_key *k, *out = (chain_key *)&out;
	EVP_PKEY *ec;
	BIO *bio;
	char *pem;
	long pem_len;

	/* missing file */
	snprintf(missing, sizeof(missing), "%s/none.key", t->dir);
	assert_int_equal(chain_key_load(&out, missing), ARCA_ENOTFOUND);
	assert_null(out);

	/* readable by others: refused, with what to do */
	assert_int_equal(chain_key_generate(&k), 0);
	assert_int_equal(chain_key_save(k, t->path), 0);
	assert_int_equal(chmod(t->path, 0644), 0);
	assert_int_equal(chain_key_load(&out, t->path), ARCA_EINVAL);
	assert_non_null(strstr(arca_error_last(), "chmod 600"));
	assert_int_equal(chmod(t->path, 0600), 0);
	assert_int_equal(chain_key_load(&out, t->path), 0);
	chain_key_free(out);
	unlink(t->path);

	/* not PEM */
	write_file(t->path, "hello\n", 6, 0600);
	assert_int_equal(chain_key_load(&out, t->path), ARCA_ECRYPTO);
	unlink(t->path);

	/* too long to be a key */
	memset(big, 'A', sizeof(big));
	write_file(t->path, big, sizeof(big), 0600);
	assert_int_equal(chain_key_load(&out, t->path), ARCA_ELIMIT);
	unlink(t->path);

	/* a key of another algorithm */
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL), 1);
	pem_len = BIO_get_mem_data(bio, &pem);
	write_file(t->path, pem, (size_t)pem_len, 0600);
	assert_int_equal(chain_key_load(&out, t->path), ARCA_EUNSUPPORTED);
	BIO_free(bio);
	unlink(t->path);

	/* an encrypted key: refused, and no passphrase prompt */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, ec, EVP_aes_256_cbc(), "pw", 2, NULL, NULL), 1);
	pem_len = BIO_get_mem_data(bio, &pem);
	write_file(t->path, pem, (size_t)pem_len, 0600);
	assert_int_equal(chain_key_load(&out, t->path), ARCA_ECRYPTO);
	BIO_free(bio);
	EVP_PKEY_free(ec);

	/* a directory */
	assert_int_equal(chain_key_load(&out, t->dir), ARCA_EINVAL);
	chain_key_free(k);
}

static void test_sign_verify(void **state)
{
	uint8_t seed[32], sig[64], bad[64], pub[32];
	chain_key *a, *b, *a_pub;
	char msg[] = "arca.example/node1\n7\nq6dhn1eZ/2+5wnR/0vXVgxBwlmp30FvoiRnSUHc3ZnM=\n";
	size_t len = strlen(msg);
	(void)state;

	memset(seed, 0x11, sizeof(seed));
	assert_int_equal(chain_key_from_seed(&a, seed), 0);
	assert_int_equal(chain_key_generate(&b), 0);
	assert_int_equal(chain_key_sign(a, msg, len, sig), 0);
	assert_int_equal(chain_key_verify(a, msg, len, sig), 0);

	/* a changed message */
	msg[3] ^= 0x01;
	assert_int_equal(chain_key_verify(a, msg, len, sig), ARCA_ECRYPTO);
	assert_non_null(strstr(arca_error_last(), "does not verify"));
	msg[3] ^= 0x01;
	assert_int_equal(chain_key_verify(a, msg, len - 1, sig), ARCA_ECRYPTO);
	/* another key */
	assert_int_equal(chain_key_verify(b, msg, len, sig), ARCA_ECRYPTO);
	/* a changed signature, in either half */
	memcpy(bad, sig, 64);
	bad[0] ^= 0x01;
	assert_int_equal(chain_key_verify(a, msg, len, bad), ARCA_ECRYPTO);
	memcpy(bad, sig, 64);
	bad[63] ^= 0x40;
	assert_int_equal(chain_key_verify(a, msg, len, bad), ARCA_ECRYPTO);

	/* public-only key: verifies, cannot sign or be saved */
	assert_int_equal(chain_key_public(a, pub), 0);
	assert_int_equal(chain_key_from_public(&a_pub, pub), 0);
	assert_int_equal(chain_key_verify(a_pub, msg, len, sig), 0);
	assert_int_equal(chain_key_sign(a_pub, msg, len, bad), ARCA_EINVAL);
	assert_int_equal(chain_key_save(a_pub, "/nonexistent/x.key"), ARCA_EINVAL);

	/* the empty message */
	assert_int_equal(chain_key_sign(a, NULL, 0, sig), 0);
	assert_int_equal(chain_key_verify(a_pub, NULL, 0, sig), 0);

	chain_key_free(a_pub);
	chain_key_free(a);
	chain_key_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vectors),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_refuses, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_sign_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
