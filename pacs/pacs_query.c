/* pacs_query.c - Query/Retrieve level names (PS3.4 C.6: the values of
 * Query/Retrieve Level (0008,0052)). */
#include "pacs_query.h"

#include <string.h>

#include "arca_err.h"

static const char *const level_names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};

const char *pacs_query_level_name(enum pacs_query_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

int pacs_query_level_parse(const char *value, enum pacs_query_level *out)
{
	size_t n;

	while (*value == ' ')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\0'))
		n--;
	for (unsigned i = 0; i < 4; i++) {
		if (strlen(level_names[i]) == n && memcmp(value, level_names[i], n) == 0) {
			*out = (enum pacs_query_level)i;
			return 0;
		}
	}
	return arca_error_set(ARCA_EINVAL, "Query/Retrieve Level \"%.*s\" is not PATIENT, STUDY, SERIES or IMAGE",
			      (int)(n > 16 ? 16 : n), value);
}
