/* bench_parse.c - arca's side of bench/parse.sh: reads every file named on
 * standard input metadata-only (bulk values of 256 bytes and more are
 * skipped with lseek, never read) and prints files, bytes and seconds. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "arca_err.h"
#include "pacs_read.h"

int main(void)
{
	char path[4096];
	unsigned long files = 0, failed = 0;
	unsigned long long bytes = 0;
	pacs_read_opts opts;
	struct timespec t0, t1;

	pacs_read_opts_init(&opts);
	opts.bulk_threshold = 256;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fgets(path, sizeof(path), stdin) != NULL) {
		pacs_ds *ds = NULL;
		struct stat sb;
		path[strcspn(path, "\n")] = '\0';
		if (pacs_read_file(&ds, path, &opts) < 0) {
			failed++;
			continue;
		}
		pacs_ds_free(ds);
		if (stat(path, &sb) == 0)
			bytes += (unsigned long long)sb.st_size;
		files++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("arca files=%lu failed=%lu bytes=%llu seconds=%.4f\n", files, failed, bytes,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
