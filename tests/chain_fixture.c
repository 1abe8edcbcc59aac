/* chain_fixture.c - the temporary repository shared by the chain unit
 * tests (chain_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"
#include "chain_fixture.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int chain_fixture_init(chain_fixture *f, const char *name, const char *repo_sub, uint8_t seed_step)
{
	const char *base = getenv("TMPDIR");
	uint8_t seed[32];
	size_t i;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/%s.XXXXXX", base != NULL ? base : "/tmp", name);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/%s", f->dir, repo_sub);
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i * seed_step);
	if (chain_key_from_seed(&f->key, seed) != 0)
		return -1;
	seed[0] = 0xff;
	if (chain_key_from_seed(&f->other_key, seed) != 0)
		return -1;
	return 0;
}

void chain_fixture_fini(chain_fixture *f)
{
	if (f->dir[0] != '\0')
		nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	chain_key_free(f->key);
	chain_key_free(f->other_key);
	memset(f, 0, sizeof(*f));
}

chain_log *chain_fixture_open_log(const chain_log_config *c)
{
	chain_log *log = NULL;
	int rc = chain_log_open(&log, c);

	if (rc != 0)
		fail_msg("chain_log_open: %d %s", rc, arca_error_last());
	return log;
}
