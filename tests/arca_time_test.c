/* arca_time_test.c - the times arca commands take (tools/arca_time.h):
 * every accepted form to the exact millisecond, local and UTC, durations
 * before now, and what is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "arca_time.h"

#define NOW INT64_C(1764340000123)

static int64_t parse(const char *s)
{
	int64_t v = -1;

	assert_int_equal(arca_time_parse(s, NOW, &v), 0);
	return v;
}

static void test_utc_and_unix(void **state)
{
	(void)state;
	assert_int_equal(parse("2026-11-28T14:30Z"), INT64_C(1795876200) * 1000);
	assert_int_equal(parse("2026-11-28T14:30:05Z"), INT64_C(1795876205) * 1000);
	assert_int_equal(parse("20261128 14:30:05Z"), INT64_C(1795876205) * 1000);
	assert_int_equal(parse("@1764340000"), INT64_C(1764340000) * 1000);
	assert_int_equal(parse("now"), NOW);
}

static void test_local_time(void **state)
{
	(void)state;
	/* a fixed zone without daylight saving: UTC+2 */
	setenv("TZ", "EET-2", 1);
	tzset();
	assert_int_equal(parse("2026-11-28"), (INT64_C(1795824000) - 2 * 3600) * 1000);
	assert_int_equal(parse("20261128"), (INT64_C(1795824000) - 2 * 3600) * 1000);
	assert_int_equal(parse("2026-11-28T14:30"), (INT64_C(1795876200) - 2 * 3600) * 1000);
	unsetenv("TZ");
	tzset();
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(parse("30s"), NOW - 30 * 1000);
	assert_int_equal(parse("15m"), NOW - 15 * 60 * 1000);
	assert_int_equal(parse("2h"), NOW - 2 * 3600 * 1000);
	assert_int_equal(parse("7d"), NOW - INT64_C(7) * 86400 * 1000);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "yesterday", "2026-02-31", "2026-13-01", "2026-11-28T25:00", "2026-11-28T14", "2026-11-28T14:30:5",
		"2026-11-28X", "1969-12-31", "h", "5w", "-5d", "@", "@12x", "2026/11/28", "2026-11-28T14:30ZZ",
	};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (arca_time_parse(bad[i], NOW, &v) != ARCA_EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_non_null(strstr(arca_error_last(), "is not a time"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_and_unix),
		cmocka_unit_test(test_local_time),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
