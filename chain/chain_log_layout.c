/* chain_log_layout.c - names in the log's git trees (docs/chain-format.md 7).
 *
 * A batch of entries first..last lives in
 *
 *     entries/<first / 10^6>/<first / 10^4 % 100>/<first / 100 % 100>/<first>-<last>
 *
 * with fixed-width decimal names (6, 2, 2 digits; 12 and 12 digits), so
 * that git's name order is the log's order.  Each commit rewrites the trees
 * on one path only, and no tree below `entries` has more than 100 names
 * (the top one gains one per million entries): what a commit costs does
 * not grow with the log. */
#include "chain_log_priv.h"

#include "arca_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void chain_log__batch_dirs(uint64_t first, char d1[7], char d2[3], char d3[3])
{
	snprintf(d1, 7, "%06" PRIu64, first / 1000000 % 1000000);
	snprintf(d2, 3, "%02" PRIu64, first / 10000 % 100);
	snprintf(d3, 3, "%02" PRIu64, first / 100 % 100);
}

void chain_log__batch_name(uint64_t first, uint64_t last, char name[CHAIN_LOG_BATCH_NAME_LEN])
{
	snprintf(name, CHAIN_LOG_BATCH_NAME_LEN, "%012" PRIu64 "-%012" PRIu64, first, last);
}

static bool digits12(const char *s, uint64_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
}

int chain_log__parse_batch_name(const char *name, uint64_t *first, uint64_t *last)
{
	if (strlen(name) != CHAIN_LOG_BATCH_NAME_LEN - 1 || name[12] != '-' ||
	    !digits12(name, first) || !digits12(name + 13, last))
		return arca_error_set(ARCA_EPROTO, "\"%.40s\" is not a batch file name <first>-<last>", name);
	if (*last < *first)
		return arca_error_set(ARCA_EPROTO, "batch file %s ends before it starts", name);
	return 0;
}

void chain_log__commit_message(uint64_t first, uint64_t last, char *out, size_t size)
{
	snprintf(out, size, "entries %" PRIu64 "-%" PRIu64 "\n", first, last);
}

int chain_log__next_line(const uint8_t *data, size_t len, size_t *pos, size_t *start,
			 size_t *line_len)
{
	const uint8_t *nl;
	size_t at = *pos;

	if (at >= len)
		return 0;
	nl = memchr(data + at, '\n', len - at);
	if (nl == NULL)
		return arca_error_set(ARCA_EPROTO, "batch file does not end with a newline");
	*start = at;
	*line_len = (size_t)(nl - data) - at;
	if (*line_len == 0)
		return arca_error_set(ARCA_EPROTO, "batch file has an empty line at byte %zu", at);
	*pos = at + *line_len + 1;
	return 1;
}
