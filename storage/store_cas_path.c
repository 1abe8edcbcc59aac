/* store_cas_path.c - where chunks live under the store root, and the file
 * that says so (docs/storage-format.md section 1):
 *
 *   <root>/cas.layout              "arca-chunks 2 flat256"
 *   <root>/chunks/ab/abcd<60 more hex digits>
 *
 * One level of 256-way fan-out on the first byte of the address.  All 256
 * directories are made with the store (one fsync of chunks/ for them), so
 * a put never creates a directory: no mkdir, no directory inode to make
 * durable, nothing to check for.  With two levels (65,536 leaves, made on
 * first use) nearly every new chunk of any store below a few hundred
 * thousand chunks created a leaf: ~2 mkdirs per put and ~13% of arcad's
 * CPU in ext4's inode and directory creation while ingesting, while
 * making all 65,536 leaves up front costs ~256 MB of directory blocks.
 *
 * Why one level is enough: ext4 (dir_index, htree) and XFS (B+tree
 * directories) look names up in large directories in O(log n), and btrfs
 * indexes names in its tree; a store of 100 million chunks puts ~390,000
 * entries in each of the 256 directories, well within what they handle
 * (ext4 without the large_dir feature: a two-level htree, several
 * million names of this length per directory; XFS and btrfs: no
 * practical bound).  SHA-256 is uniform, so the 256 stay
 * even.  The walk of verify and gc reads one such directory at a time
 * (store_cas_iter.c: ~30 MB of names at that size).
 *
 * Stores made before cas.layout existed have no such file and keep their
 * layout, root/chunks/ab/cd/<hex> with directories made on first use
 * (STORE_CAS_LAYOUT_NESTED): each function here switches on cas->layout,
 * and nothing else in the store knows the shape of a path.
 *
 * Temp files live in <root>/chunks/tmp, one directory in either layout,
 * so crash leftovers are found with one readdir. */
#include "store_cas_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- paths ---- */

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
	if (cas->layout == STORE_CAS_LAYOUT_FLAT256) {
		store_cas__fan_dir(cas, hash, out);
		return;
	}
	snprintf(out, PATH_MAX, "%s/%c%c/%c%c", cas->chunks, hex_digits[hash[0] >> 4],
		 hex_digits[hash[0] & 15], hex_digits[hash[1] >> 4], hex_digits[hash[1] & 15]);
}

void store_cas__chunk_path(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			   char out[PATH_MAX])
{
	char hex[STORE_CAS_HEX_LEN + 1];

	store_cas_hash_to_hex(hash, hex);
	if (cas->layout == STORE_CAS_LAYOUT_FLAT256)
		snprintf(out, PATH_MAX, "%s/%.2s/%s", cas->chunks, hex, hex);
	else
		snprintf(out, PATH_MAX, "%s/%.2s/%.2s/%s", cas->chunks, hex, hex + 2, hex);
}

int store_cas__make_dirs(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			 int (*dir_created)(store_cas *cas, const char *parent))
{
	char fan[PATH_MAX], leaf[PATH_MAX];
	bool created;
	int rc;

	/* Flat: the directory was made with the store.  One that is gone is
	 * not made again here: its chunks went with it, so the store is
	 * damaged, and a put that quietly succeeded would hide that until
	 * the next verify.  The rename into it fails instead, naming it
	 * (store_cas__rename_failed); a check here would cost every put a
	 * system call for a fault that a store meets once, if ever. */
	if (cas->layout == STORE_CAS_LAYOUT_FLAT256)
		return 0;
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

int store_cas__rename_failed(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int rc)
{
	char fan[PATH_MAX];
	struct stat st;

	if (cas->layout != STORE_CAS_LAYOUT_FLAT256)
		return rc;
	store_cas__fan_dir(cas, hash, fan);
	if (stat(fan, &st) != 0 && errno == ENOENT)
		return arca_error_set(ARCA_EIO,
				      "chunk directory %s is missing: the store is damaged (the chunks "
				      "it held are lost; arca verify names them); recreate it with "
				      "mkdir -m 0750 %s",
				      fan, fan);
	return rc;
}

/* ---- the layout file ---- */

#define LAYOUT_FLAT256_LINE "arca-chunks 2 flat256"
#define LAYOUT_NESTED_LINE "arca-chunks 1 nested"
/* Longest cas.layout read: one short line, with room to quote a bad one. */
#define LAYOUT_FILE_MAX 128

/* What a layout line may look like ("arca-chunks <version> <name>"), to
 * tell a layout from a newer arca (EUNSUPPORTED) from a damaged file. */
static bool layout_line_shaped(const char *line)
{
	static const char prefix[] = "arca-chunks ";
	const char *p = line + sizeof(prefix) - 1;
	size_t digits = 0, name = 0;

	if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (digits == 0 || *p++ != ' ')
		return false;
	for (; (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'; p++)
		name++;
	return name > 0 && *p == '\0';
}

/* ARCA_ENOTFOUND (no message) when there is no layout file. */
static int layout_read(const char *path, store_cas_layout *out)
{
	char buf[LAYOUT_FILE_MAX + 1], shown[LAYOUT_FILE_MAX + 1];
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return ARCA_ENOTFOUND;
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open chunk store layout file %s: %s", path,
				      strerror(errno));
	do {
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += (size_t)n;
	} while ((n > 0 && got < sizeof(buf) - 1) || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0)
		return arca_error_set(ARCA_EIO, "cannot read chunk store layout file %s: %s", path,
				      strerror(errno));
	buf[got] = '\0';
	/* Exactly one line; its newline may be missing (an edit by hand). */
	if (got > 0 && buf[got - 1] == '\n')
		buf[--got] = '\0';
	if (strlen(buf) == got && strcmp(buf, LAYOUT_FLAT256_LINE) == 0) {
		*out = STORE_CAS_LAYOUT_FLAT256;
		return 0;
	}
	if (strlen(buf) == got && strcmp(buf, LAYOUT_NESTED_LINE) == 0) {
		*out = STORE_CAS_LAYOUT_NESTED;
		return 0;
	}
	/* Quoted in the message: printable bytes only, one line. */
	for (size_t i = 0; i < got; i++)
		shown[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?';
	shown[got] = '\0';
	if (got == 0)
		return arca_error_set(ARCA_EPROTO,
				      "chunk store layout file %s is empty (damaged); it should say "
				      "\"" LAYOUT_FLAT256_LINE "\" for a store made by this arca",
				      path);
	if (strlen(buf) == got && layout_line_shaped(buf))
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "chunk store layout file %s: layout \"%s\" is unknown to this "
				      "arca (it reads \"" LAYOUT_FLAT256_LINE "\" and \"" LAYOUT_NESTED_LINE
				      "\"); use the arca that made the store",
				      path, shown);
	return arca_error_set(ARCA_EPROTO,
			      "chunk store layout file %s: \"%s\" is not a layout line (damaged); it "
			      "should say \"" LAYOUT_FLAT256_LINE "\" for a store made by this arca",
			      path, shown);
}

/* Is dir empty?  *empty false also when it cannot be read. */
static int dir_empty(const char *dir, bool *empty)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*empty = false;
	if (d == NULL)
		return errno == ENOTDIR ? 0
					: arca_error_set(ARCA_EIO, "cannot read directory %s: %s", dir,
							 strerror(errno));
	*empty = true;
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			*empty = false;
			break;
		}
	}
	closedir(d);
	return 0;
}

static bool lower_hex_digit(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool fan_name(const char *name)
{
	return lower_hex_digit(name[0]) && lower_hex_digit(name[1]) && name[2] == '\0';
}

/* Does chunks/ hold nothing but tmp/ and empty fan-out directories (a new
 * store, or one whose creation stopped before cas.layout was written)? */
static int chunks_new(const store_cas *cas, bool *is_new)
{
	char path[PATH_MAX];
	DIR *d = opendir(cas->chunks);
	struct dirent *e;
	bool empty;
	int rc = 0;

	*is_new = true;
	if (d == NULL)
		return arca_error_set(ARCA_EIO, "cannot read directory %s: %s", cas->chunks,
				      strerror(errno));
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (e == NULL) {
			if (errno != 0)
				rc = arca_error_set(ARCA_EIO, "cannot read directory %s: %s",
						    cas->chunks, strerror(errno));
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "tmp") == 0)
			continue;
		if (!fan_name(e->d_name)) {
			*is_new = false;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", cas->chunks, e->d_name);
		rc = dir_empty(path, &empty);
		if (rc < 0 || !empty) {
			*is_new = false;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* The 256 directories, one fsync of chunks/ for all of them, then the
 * file that says the store has them: until it is durable, a crash leaves
 * a store that the next open finds new again (chunks_new) and finishes. */
static int layout_create(store_cas *cas, const char *path)
{
	static const char line[] = LAYOUT_FLAT256_LINE "\n";
	char dir[PATH_MAX];
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < 256; i++) {
		snprintf(dir, sizeof(dir), "%s/%c%c", cas->chunks, hex_digits[i >> 4],
			 hex_digits[i & 15]);
		rc = store_cas_fsync_mkdir(dir, 0750, NULL);
	}
	if (rc == 0)
		rc = store_cas_fsync_dir(cas->chunks);
	if (rc == 0)
		rc = store_cas_fsync_write_file(cas->tmp_dir, path, line, sizeof(line) - 1, 0640, false);
	if (rc == ARCA_EEXISTS) /* another opener made it meanwhile: it rules */
		return layout_read(path, &cas->layout);
	if (rc == 0)
		cas->layout = STORE_CAS_LAYOUT_FLAT256;
	return rc;
}

int store_cas__layout_open(store_cas *cas)
{
	char path[PATH_MAX];
	bool is_new;
	int rc;

	snprintf(path, sizeof(path), "%s/" STORE_CAS_LAYOUT_FILE, cas->root);
	rc = layout_read(path, &cas->layout);
	if (rc != ARCA_ENOTFOUND)
		return rc;
	rc = chunks_new(cas, &is_new);
	if (rc < 0)
		return rc;
	if (is_new)
		return layout_create(cas, path);
	/* Chunks in chunks/ and no file: a store of the nested layout, or
	 * one that another opener made and filled since the first read
	 * (its file was durable before its first put). */
	rc = layout_read(path, &cas->layout);
	if (rc == ARCA_ENOTFOUND) {
		cas->layout = STORE_CAS_LAYOUT_NESTED;
		rc = 0;
	}
	return rc;
}
