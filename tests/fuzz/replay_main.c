/* replay_main.c - runs a libFuzzer target's LLVMFuzzerTestOneInput over
 * every regular file of a corpus directory, without libFuzzer, so that
 * `make check` replays the checked-in corpora under the sanitizers of the
 * build.  Usage: replay [DIR]; the default directory is
 * $ARCA_SRCDIR/tests/corpus/read.  Exit status 0 when every input ran
 * (a crash aborts the program), 1 when the directory cannot be read or
 * holds no input. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *grown;
			cap = cap ? cap * 2 : 65536;
			grown = realloc(buf, cap);
			if (grown == NULL) {
				fprintf(stderr, "replay: out of memory\n");
				free(buf);
				fclose(f);
				return -1;
			}
			buf = grown;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	fclose(f);
	/* An exact-size copy, so that reading past the input trips ASan. */
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);
		if (exact == NULL) {
			free(buf);
			return -1;
		}
		if (len > 0)
			memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char def[4096];
	const char *dir;
	DIR *d;
	struct dirent *de;
	unsigned ran = 0, failed = 0;

	if (argc > 1) {
		dir = argv[1];
	} else {
		const char *src = getenv("ARCA_SRCDIR");
		snprintf(def, sizeof(def), "%s/tests/corpus/read", src != NULL ? src : ".");
		dir = def;
	}
	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "replay: cannot open corpus directory %s\n", dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) < 0)
			failed++;
		else
			ran++;
	}
	closedir(d);
	printf("replayed %u inputs from %s\n", ran, dir);
	if (failed > 0 || ran == 0) {
		fprintf(stderr, "replay: %u inputs could not be read, %u ran\n", failed, ran);
		return 1;
	}
	return 0;
}
