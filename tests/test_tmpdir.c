/* test_tmpdir.c - see test_tmpdir.h. */
#include "test_tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int test_tmpdir_make(char *out, size_t size, const char *name)
{
	if (snprintf(out, size, "/tmp/%s.XXXXXX", name) >= (int)size)
		return -1;
	return mkdtemp(out) != NULL ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void test_tmpdir_remove(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
