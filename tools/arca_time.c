/* arca_time.c - the times `arca` commands take and print (arca_time.h). */
#include "arca_time.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"

int64_t arca_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* n digits at s into *v; false if one is not a digit. */
static bool digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

static int bad(const char *text)
{
	return arca_error_set(ARCA_EINVAL,
			      "\"%s\" is not a time: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], @UNIXTIME, "
			      "a duration such as 2h or 7d, or now",
			      text);
}

static int relative(const char *text, int64_t now_ms, int64_t *out)
{
	size_t n = strlen(text);
	int64_t v = 0, unit;

	if (n < 2 || n > 12)
		return bad(text);
	for (size_t i = 0; i + 1 < n; i++) {
		if (!isdigit((unsigned char)text[i]))
			return bad(text);
		v = v * 10 + (text[i] - '0');
	}
	switch (text[n - 1]) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	default: return bad(text);
	}
	*out = now_ms - v * unit;
	return 0;
}

int arca_time_parse(const char *text, int64_t now_ms, int64_t *out_ms)
{
	struct tm tm;
	const char *p = text;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	bool utc = false;
	time_t t;
	size_t n = strlen(text);

	if (strcmp(text, "now") == 0) {
		*out_ms = now_ms;
		return 0;
	}
	if (text[0] == '@') {
		int64_t v = 0;
		if (n < 2 || n > 13)
			return bad(text);
		for (size_t i = 1; i < n; i++) {
			if (!isdigit((unsigned char)text[i]))
				return bad(text);
			v = v * 10 + (text[i] - '0');
		}
		*out_ms = v * 1000;
		return 0;
	}
	if (n > 0 && isalpha((unsigned char)text[n - 1]) && text[n - 1] != 'Z')
		return relative(text, now_ms, out_ms);
	/* the date: YYYY-MM-DD or YYYYMMDD */
	if (n >= 10 && text[4] == '-' && text[7] == '-') {
		if (!digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d))
			return bad(text);
		p += 10;
	} else if (n >= 8 && digits(p, 8, &y)) {
		(void)digits(p, 4, &y);
		(void)digits(p + 4, 2, &mo);
		(void)digits(p + 6, 2, &d);
		p += 8;
	} else {
		return bad(text);
	}
	if (*p == 'T' || *p == ' ') {
		p++;
		if (strlen(p) < 5 || !digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
			return bad(text);
		p += 5;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return bad(text);
			p += 3;
		}
		if (*p == 'Z') {
			utc = true;
			p++;
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return bad(text);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	/* mktime normalises 31 February into March: refuse what moved */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
		return bad(text);
	*out_ms = (int64_t)t * 1000;
	return 0;
}

void arca_time_format_local(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, size, "@%lld", (long long)(ms / 1000));
}
