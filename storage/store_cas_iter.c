/* store_cas_iter.c - walks root/chunks/ab/cd/<hex> in address order, for
 * arca verify and gc.  Anything in the tree that is not a chunk in its
 * right place is reported as a bad entry (named, with the reason) rather
 * than skipped or treated as fatal, so a checker can list every fault in
 * one pass.  Each directory is read whole and sorted: at most 256 names in
 * the two fan-out levels, and a few thousand in a leaf even for a very
 * large store. */
#include "store_cas_priv.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"

typedef struct name_list {
	char **v;
	size_t n, cap, next;
} name_list;

struct store_cas_iter {
	store_cas *cas;
	name_list fan;  /* root/chunks */
	name_list mid;  /* root/chunks/ab */
	name_list leaf; /* root/chunks/ab/cd */
	char fan_name[3], mid_name[3];
	bool mid_open, leaf_open;
	char path[PATH_MAX];
};

static void names_clear(name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			char **v = realloc(l->v, cap * sizeof(*v));
			if (v == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "out of memory listing %s", dir);
				break;
			}
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n] = strdup(e->d_name);
		if (l->v[l->n] == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "out of memory listing %s", dir);
			break;
		}
		l->n++;
	}
	closedir(d);
	if (rc < 0) {
		names_clear(l);
		return rc;
	}
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
	snprintf(it->path, sizeof(it->path), "%s/%s/%s/%s", it->cas->chunks, it->fan_name,
		 it->mid_name, name);
	if (strlen(name) != STORE_CAS_HEX_LEN || !lower_hex(name, STORE_CAS_HEX_LEN))
		return bad(it, entry, "not a chunk file name (64 lower-case hex digits)");
	if (memcmp(name, it->fan_name, 2) != 0 || memcmp(name + 2, it->mid_name, 2) != 0)
		return bad(it, entry, "chunk file under the wrong directories");
	if (!is_kind(it->path, S_IFREG))
		return bad(it, entry, "not a regular file");
	if (store_cas_hash_from_hex(name, entry->hash) < 0)
		return bad(it, entry, "not a chunk file name (64 lower-case hex digits)");
	entry->path = it->path;
	entry->bad = 0;
	entry->reason = "";
	return 1;
}

int store_cas_iter_next(store_cas_iter *it, store_cas_entry *entry)
{
	int rc;

	for (;;) {
		if (it->leaf_open && it->leaf.next < it->leaf.n)
			return leaf_entry(it, it->leaf.v[it->leaf.next++], entry);
		it->leaf_open = false;

		if (it->mid_open && it->mid.next < it->mid.n) {
			const char *name = it->mid.v[it->mid.next++];
			snprintf(it->path, sizeof(it->path), "%s/%s/%s", it->cas->chunks,
				 it->fan_name, name);
			if (strlen(name) != 2 || !lower_hex(name, 2))
				return bad(it, entry, "not a chunk directory name (2 lower-case hex digits)");
			if (!is_kind(it->path, S_IFDIR))
				return bad(it, entry, "not a directory");
			memcpy(it->mid_name, name, 3);
			rc = names_read(&it->leaf, it->path);
			if (rc < 0)
				return rc;
			it->leaf_open = true;
			continue;
		}
		it->mid_open = false;

		if (it->fan.next < it->fan.n) {
			const char *name = it->fan.v[it->fan.next++];
			if (strcmp(name, "tmp") == 0)
				continue; /* temp files: not chunks */
			snprintf(it->path, sizeof(it->path), "%s/%s", it->cas->chunks, name);
			if (strlen(name) != 2 || !lower_hex(name, 2))
				return bad(it, entry, "not a chunk directory name (2 lower-case hex digits)");
			if (!is_kind(it->path, S_IFDIR))
				return bad(it, entry, "not a directory");
			memcpy(it->fan_name, name, 3);
			rc = names_read(&it->mid, it->path);
			if (rc < 0)
				return rc;
			it->mid_open = true;
			continue;
		}
		return 0;
	}
}
