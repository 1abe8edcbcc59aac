/* arca_time.h - the times `arca` commands take and print (arca quality
 * --since/--until): a calendar date or date-time in local time (or UTC
 * with a Z), a Unix time, or a duration before now. */
#ifndef ARCA_TIME_H
#define ARCA_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses text into ms since 1970 (UTC):
 *   2026-11-28 or 20261128          midnight, local time
 *   2026-11-28T14:30[:05][Z]        local time, or UTC with Z ("T" or a space)
 *   @1764340000                     Unix seconds
 *   30s 15m 2h 7d                   that long before now_ms
 *   now                             now_ms
 * ARCA_EINVAL naming what is wrong. */
int arca_time_parse(const char *text, int64_t now_ms, int64_t *out_ms);

/* ms since 1970 as local "YYYY-MM-DD HH:MM:SS" (20 bytes with the NUL). */
void arca_time_format_local(int64_t ms, char *out, size_t size);

/* The current time, ms since 1970. */
int64_t arca_time_now_ms(void);

#endif
