/* store_cas_iter.c - walks the chunk directories in address order, for
 * arca verify and gc: root/chunks/ab/<hex> in the flat layout,
 * root/chunks/ab/cd/<hex> in a store of the nested one (store_cas_path.c).
 * Anything in the tree that is not a chunk in its right place is reported
 * as a bad entry (named, with the reason) rather than skipped or treated as
 * fatal, so a checker can list every fault in one pass; in the flat layout
 * so is a missing fan-out directory, since the store made all 256.
 *
 * Each directory is read whole and sorted.  A flat directory of a store of
 * 100 million chunks holds ~390,000 names: they are kept in one buffer
 * (65 bytes each, ~25 MB, plus a pointer each for the sort) rather than
 * allocated one by one. */
#include "store_cas_priv.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"

/* The sorted names of one directory: v[i] points into buf. */
typedef struct name_list {
	char *buf;
	size_t len, buf_cap;
	size_t *off;
	size_t n, cap;
	char **v;
	size_t next;
} name_list;

struct store_cas_iter {
	store_cas *cas;
	name_list fan;  /* root/chunks */
	name_list mid;  /* root/chunks/ab (nested layout) */
	name_list leaf; /* the directory holding chunk files */
	char fan_name[3], mid_name[3];
	bool mid_open, leaf_open;
	char leaf_dir[PATH_MAX];
	/* flat layout: fan-out directories found, and the next one to
	 * report missing */
	bool fan_seen[256];
	unsigned missing_next;
	char path[PATH_MAX];
};

static const char hex_digits[] = "0123456789abcdef";

static void names_clear(name_list *l)
{
	free(l->buf);
	free(l->off);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_add(name_list *l, const char *name, const char *dir)
{
	size_t len = strlen(name) + 1;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		size_t *off = realloc(l->off, cap * sizeof(*off));
		if (off == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory listing %s", dir);
		l->off = off;
		l->cap = cap;
	}
	if (l->buf_cap - l->len < len) {
		size_t cap = l->buf_cap ? l->buf_cap : 4096;
		while (cap - l->len < len)
			cap *= 2;
		char *buf = realloc(l->buf, cap);
		if (buf == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory listing %s", dir);
		l->buf = buf;
		l->buf_cap = cap;
	}
	memcpy(l->buf + l->len, name, len);
	l->off[l->n++] = l->len;
	l->len += len;
	return 0;
}

static int names_read(name_list *l, const char *dir)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	names_clear(l);
	d = opendir(dir);
	if (d == NULL)
		return arca_error_set(ARCA_EIO, "cannot read directory %s: %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (e == NULL) {
			if (errno != 0)
				rc = arca_error_set(ARCA_EIO, "cannot read directory %s: %s", dir,
						    strerror(errno));
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = names_add(l, e->d_name, dir);
		if (rc < 0)
			break;
	}
	closedir(d);
	/* The buffer has stopped moving: point into it, then sort. */
	if (rc == 0 && l->n > 0) {
		l->v = malloc(l->n * sizeof(*l->v));
		if (l->v == NULL)
			rc = arca_error_set(ARCA_ENOMEM, "out of memory listing %s", dir);
	}
	if (rc < 0) {
		names_clear(l);
		return rc;
	}
	for (size_t i = 0; i < l->n; i++)
		l->v[i] = l->buf + l->off[i];
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_names);
	return 0;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

static bool is_kind(const char *path, mode_t kind)
{
	struct stat st;

	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

static unsigned fan_index(const char *name)
{
	return (unsigned)(strchr(hex_digits, name[0]) - hex_digits) << 4 |
	       (unsigned)(strchr(hex_digits, name[1]) - hex_digits);
}

int store_cas_iter_new(store_cas_iter **out, store_cas *cas)
{
	store_cas_iter *it = calloc(1, sizeof(*it));
	int rc;

	*out = NULL;
	if (it == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a chunk iterator");
	it->cas = cas;
	rc = names_read(&it->fan, cas->chunks);
	if (rc < 0) {
		free(it);
		return rc;
	}
	for (size_t i = 0; i < it->fan.n; i++)
		if (lower_hex(it->fan.v[i], 2))
			it->fan_seen[fan_index(it->fan.v[i])] = true;
	if (cas->layout != STORE_CAS_LAYOUT_FLAT256)
		it->missing_next = 256; /* made on first use: none is missing */
	*out = it;
	return 0;
}

void store_cas_iter_free(store_cas_iter *it)
{
	if (it == NULL)
		return;
	names_clear(&it->fan);
	names_clear(&it->mid);
	names_clear(&it->leaf);
	free(it);
}

static int bad(store_cas_iter *it, store_cas_entry *entry, const char *reason)
{
	memset(entry->hash, 0, sizeof(entry->hash));
	entry->path = it->path;
	entry->bad = ARCA_EPROTO;
	entry->reason = reason;
	return 1;
}

/* One file of the current leaf directory. */
static int leaf_entry(store_cas_iter *it, const char *name, store_cas_entry *entry)
{
	bool flat = it->cas->layout == STORE_CAS_LAYOUT_FLAT256;

	snprintf(it->path, sizeof(it->path), "%s/%s", it->leaf_dir, name);
	if (strlen(name) != STORE_CAS_HEX_LEN || !lower_hex(name, STORE_CAS_HEX_LEN))
		return bad(it, entry, "not a chunk file name (64 lower-case hex digits)");
	if (memcmp(name, it->fan_name, 2) != 0 || (!flat && memcmp(name + 2, it->mid_name, 2) != 0))
		return bad(it, entry, flat ? "chunk file under the wrong directory (its first two hex digits)"
					   : "chunk file under the wrong directories");
	if (!is_kind(it->path, S_IFREG))
		return bad(it, entry, "not a regular file");
	if (store_cas_hash_from_hex(name, entry->hash) < 0)
		return bad(it, entry, "not a chunk file name (64 lower-case hex digits)");
	entry->path = it->path;
	entry->bad = 0;
	entry->reason = "";
	return 1;
}

/* A directory name of the first level (or, nested, the second): checked,
 * then listed into l. */
static int open_dir(store_cas_iter *it, const char *name, name_list *l, store_cas_entry *entry,
		    bool *opened)
{
	int rc;

	*opened = false;
	if (strlen(name) != 2 || !lower_hex(name, 2))
		return bad(it, entry, "not a chunk directory name (2 lower-case hex digits)");
	if (!is_kind(it->path, S_IFDIR))
		return bad(it, entry, "not a directory");
	rc = names_read(l, it->path);
	if (rc < 0)
		return rc;
	*opened = true;
	return 0;
}

int store_cas_iter_next(store_cas_iter *it, store_cas_entry *entry)
{
	bool flat = it->cas->layout == STORE_CAS_LAYOUT_FLAT256;
	bool opened;
	int rc;

	/* Flat layout: every fan-out directory was made with the store; one
	 * that is gone took its chunks with it. */
	while (it->missing_next < 256) {
		unsigned i = it->missing_next++;
		if (it->fan_seen[i])
			continue;
		snprintf(it->path, sizeof(it->path), "%s/%c%c", it->cas->chunks, hex_digits[i >> 4],
			 hex_digits[i & 15]);
		return bad(it, entry,
			   "chunk directory missing: the store is damaged (the chunks it held are "
			   "lost); recreate it with mkdir -m 0750");
	}
	for (;;) {
		if (it->leaf_open && it->leaf.next < it->leaf.n)
			return leaf_entry(it, it->leaf.v[it->leaf.next++], entry);
		it->leaf_open = false;

		if (it->mid_open && it->mid.next < it->mid.n) {
			const char *name = it->mid.v[it->mid.next++];
			snprintf(it->path, sizeof(it->path), "%s/%s/%s", it->cas->chunks,
				 it->fan_name, name);
			rc = open_dir(it, name, &it->leaf, entry, &opened);
			if (!opened)
				return rc;
			memcpy(it->mid_name, name, 3);
			snprintf(it->leaf_dir, sizeof(it->leaf_dir), "%s", it->path);
			it->leaf_open = true;
			continue;
		}
		it->mid_open = false;

		if (it->fan.next < it->fan.n) {
			const char *name = it->fan.v[it->fan.next++];
			if (strcmp(name, "tmp") == 0)
				continue; /* temp files: not chunks */
			snprintf(it->path, sizeof(it->path), "%s/%s", it->cas->chunks, name);
			rc = open_dir(it, name, flat ? &it->leaf : &it->mid, entry, &opened);
			if (!opened)
				return rc;
			memcpy(it->fan_name, name, 3);
			if (flat) {
				snprintf(it->leaf_dir, sizeof(it->leaf_dir), "%s", it->path);
				it->leaf_open = true;
			} else {
				it->mid_open = true;
			}
			continue;
		}
		return 0;
	}
}
