/* test_tmpdir.h - a fresh temporary directory for a unit test, and its
 * removal with everything under it.  Test code only. */
#ifndef ARCA_TESTS_TEST_TMPDIR_H
#define ARCA_TESTS_TEST_TMPDIR_H

#include <stddef.h>

/* out (size bytes) gets a new /tmp/<name>.XXXXXX directory; 0, or -1 when
 * it cannot be made (a cmocka setup then fails). */
int test_tmpdir_make(char *out, size_t size, const char *name);

/* Removes dir and everything below it, depth first, following no link. */
void test_tmpdir_remove(const char *dir);

#endif
