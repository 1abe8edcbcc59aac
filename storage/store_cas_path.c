/* store_cas_path.c - where chunks live under the store root:
 *
 *   <root>/chunks/ab/cd/abcd<60 more hex digits>
 *
 * Two levels of 256-way fan-out on the first two bytes of the address keep
 * each directory small (a hundred million chunks put ~1500 in each leaf)
 * and spread files evenly, since SHA-256 is uniform.  Temp files live in
 * <root>/chunks/tmp, a single directory, so crash leftovers are found with
 * one readdir instead of a walk of up to 65,536 directories. */
#include "store_cas_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "store_cas_fsync.h"

static const char hex_digits[] = "0123456789abcdef";

void store_cas_hash_to_hex(const uint8_t hash[STORE_CAS_HASH_LEN], char hex[STORE_CAS_HEX_LEN + 1])
{
	for (size_t i = 0; i < STORE_CAS_HASH_LEN; i++) {
		hex[2 * i] = hex_digits[hash[i] >> 4];
		hex[2 * i + 1] = hex_digits[hash[i] & 15];
	}
	hex[STORE_CAS_HEX_LEN] = '\0';
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int store_cas_hash_from_hex(const char *hex, uint8_t hash[STORE_CAS_HASH_LEN])
{
	if (hex == NULL || strnlen(hex, STORE_CAS_HEX_LEN + 1) != STORE_CAS_HEX_LEN)
		return arca_error_set(ARCA_EINVAL, "chunk address must be %d hex digits",
				      STORE_CAS_HEX_LEN);
	for (size_t i = 0; i < STORE_CAS_HASH_LEN; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return arca_error_set(ARCA_EINVAL, "chunk address %.64s: not hex at %zu",
					      hex, 2 * i);
		hash[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The root is checked against STORE_CAS_ROOT_MAX at open, so these fit. */
void store_cas__fan_dir(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/%c%c", cas->chunks, hex_digits[hash[0] >> 4],
		 hex_digits[hash[0] & 15]);
}

void store_cas__leaf_dir(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			 char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/%c%c/%c%c", cas->chunks, hex_digits[hash[0] >> 4],
		 hex_digits[hash[0] & 15], hex_digits[hash[1] >> 4], hex_digits[hash[1] & 15]);
}

void store_cas__chunk_path(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			   char out[PATH_MAX])
{
	char hex[STORE_CAS_HEX_LEN + 1];

	store_cas_hash_to_hex(hash, hex);
	snprintf(out, PATH_MAX, "%s/%.2s/%.2s/%s", cas->chunks, hex, hex + 2, hex);
}

int store_cas__make_dirs(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			 int (*dir_created)(store_cas *cas, const char *parent))
{
	char fan[PATH_MAX], leaf[PATH_MAX];
	bool created;
	int rc;

	store_cas__leaf_dir(cas, hash, leaf);
	/* Fast path: the leaf exists once the store holds a few 100k chunks. */
	if (access(leaf, F_OK) == 0)
		return 0;
	store_cas__fan_dir(cas, hash, fan);
	rc = store_cas_fsync_mkdir(fan, 0750, &created);
	if (rc == 0 && created)
		rc = dir_created(cas, cas->chunks);
	if (rc == 0)
		rc = store_cas_fsync_mkdir(leaf, 0750, &created);
	if (rc == 0 && created)
		rc = dir_created(cas, fan);
	return rc;
}
