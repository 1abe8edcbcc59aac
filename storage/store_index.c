/* store_index.c - the backend-neutral front of the index: options,
 * choosing a backend from the location, instance records, C-FIND
 * requests, and the calls that dispatch to the backend's operations. */
#include "store_index_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

void store_index_options_init(store_index_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->on_new_version = STORE_INDEX_KEEP_FIRST;
	opts->pn_case_sensitive = false;
	opts->readers = 4;
	opts->busy_timeout_ms = 10000;
}

int store_index_open(store_index **out, const char *location, const store_index_options *opts)
{
	store_index_options o;

	*out = NULL;
	if (opts != NULL)
		o = *opts;
	else
		store_index_options_init(&o);
	if (o.readers == 0)
		o.readers = 4;
	if (o.busy_timeout_ms == 0)
		o.busy_timeout_ms = 10000;
	if (o.on_new_version != STORE_INDEX_KEEP_FIRST && o.on_new_version != STORE_INDEX_REPLACE)
		return arca_error_set(ARCA_EINVAL, "index: unknown new-version policy %d", (int)o.on_new_version);
	if (location == NULL || location[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "index: no location given");
	if (strncmp(location, "postgresql:", 11) == 0 || strncmp(location, "postgres:", 9) == 0)
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "index %s: the PostgreSQL backend is not built yet; use a file path (SQLite)",
				      location);
	return store_index__sqlite_open(out, location, &o);
}

void store_index_free(store_index *idx)
{
	if (idx != NULL)
		idx->ops->free(idx);
}

int store_index_schema_version(store_index *idx, int *out)
{
	return idx->ops->schema_version(idx, out);
}

/* ---- instance records ---- */

int store_index_instance_new(store_index_instance **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? arca_error_set(ARCA_ENOMEM, "index record: out of memory") : 0;
}

void store_index_instance_clear(store_index_instance *inst)
{
	for (size_t i = 0; i < STORE_INDEX__SLOT_COUNT; i++) {
		free(inst->values[i]);
		inst->values[i] = NULL;
	}
	memset(&inst->storage, 0, sizeof(inst->storage));
}

void store_index_instance_free(store_index_instance *inst)
{
	if (inst == NULL)
		return;
	store_index_instance_clear(inst);
	free(inst);
}

int store_index_instance_set(store_index_instance *inst, uint32_t tag, const char *utf8)
{
	const struct store_index__key *k = store_index__key_find(tag);
	char *copy = NULL;
	size_t len;

	if (k == NULL || k->slot < 0)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) is not a key the index takes from instances",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	len = utf8 != NULL ? strlen(utf8) : 0;
	if (len > STORE_INDEX_VALUE_MAX)
		return arca_error_set(ARCA_ELIMIT, "%s: value of %zu bytes, at most %u", k->keyword, len,
				      STORE_INDEX_VALUE_MAX);
	if (len > 0 && (copy = strdup(utf8)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "%s: out of memory", k->keyword);
	free(inst->values[k->slot]);
	inst->values[k->slot] = copy;
	return 0;
}

const char *store_index_instance_get(const store_index_instance *inst, uint32_t tag)
{
	const struct store_index__key *k = store_index__key_find(tag);

	return k != NULL && k->slot >= 0 ? inst->values[k->slot] : NULL;
}

store_index_storage *store_index_instance_storage(store_index_instance *inst)
{
	return &inst->storage;
}

/* ---- writing ---- */

int store_index_put(store_index *idx, const store_index_instance *const *batch, size_t n,
		    store_index_put_result *results)
{
	if (n == 0)
		return 0;
	if (batch == NULL || results == NULL)
		return arca_error_set(ARCA_EINVAL, "index put: no batch or no results array");
	memset(results, 0, n * sizeof(*results));
	return idx->ops->put(idx, batch, n, results);
}

int store_index_get(store_index *idx, const char *sop_uid, unsigned version, store_index_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (sop_uid == NULL || sop_uid[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "index get: no SOP Instance UID");
	return idx->ops->get(idx, sop_uid, version, out);
}

const char *store_index_outcome_name(store_index_outcome outcome)
{
	switch (outcome) {
	case STORE_INDEX_NEW:
		return "new";
	case STORE_INDEX_DUPLICATE:
		return "duplicate";
	case STORE_INDEX_VERSION_KEPT:
		return "version kept";
	case STORE_INDEX_VERSION_REPLACED:
		return "version replaced";
	}
	return "?";
}

/* ---- C-FIND requests ---- */

static const char *level_name(store_index_level level)
{
	static const char *const names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};

	return (unsigned)level < 4 ? names[level] : "?";
}

int store_index_find_new(store_index_find **out, store_index_model model, store_index_level level)
{
	*out = NULL;
	if ((unsigned)level > STORE_INDEX_IMAGE ||
	    (model != STORE_INDEX_PATIENT_ROOT && model != STORE_INDEX_STUDY_ROOT))
		return arca_error_set(ARCA_EINVAL, "find: unknown level %d or model %d", (int)level, (int)model);
	/* PS3.4 C.6.2: the Study Root model has no PATIENT level. */
	if (model == STORE_INDEX_STUDY_ROOT && level == STORE_INDEX_PATIENT)
		return arca_error_set(ARCA_EINVAL, "find: the Study Root model has no PATIENT level (PS3.4 C.6.2)");
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return arca_error_set(ARCA_ENOMEM, "find: out of memory");
	(*out)->model = model;
	(*out)->level = level;
	return 0;
}

void store_index_find_free(store_index_find *find)
{
	if (find == NULL)
		return;
	for (size_t i = 0; i < find->n; i++)
		store_index__cond_clear(&find->conds[i]);
	free(find->conds);
	free(find);
}

int store_index_find_add(store_index_find *find, uint32_t tag, const char *utf8)
{
	const struct store_index__key *k = store_index__key_find(tag);
	struct store_index__cond cond = {0};
	size_t i;
	int rc;

	if (k == NULL)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) is not a key of the index",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	/* PS3.4 C.4.1.2.1: keys of levels below the query level are not part of
	 * a query at this level. */
	if (k->level > find->level)
		return arca_error_set(ARCA_EINVAL, "%s is a %s-level key, below the %s level of this query",
				      k->keyword, level_name((store_index_level)k->level), level_name(find->level));
	rc = store_index__cond_parse(&cond, k, utf8);
	if (rc < 0)
		return rc;
	for (i = 0; i < find->n; i++)
		if (find->conds[i].key == k)
			break;
	if (i == find->n) {
		if (find->n == find->cap) {
			size_t cap = find->cap ? find->cap * 2 : 16;
			struct store_index__cond *c = realloc(find->conds, cap * sizeof(*c));

			if (c == NULL) {
				store_index__cond_clear(&cond);
				return arca_error_set(ARCA_ENOMEM, "find: out of memory");
			}
			find->conds = c;
			find->cap = cap;
		}
		find->n++;
	} else {
		store_index__cond_clear(&find->conds[i]);
	}
	find->conds[i] = cond;
	return 0;
}

void store_index_find_set_limit(store_index_find *find, uint64_t limit)
{
	find->limit = limit;
}

void store_index_find_set_combined_datetime(store_index_find *find, bool on)
{
	find->combined_datetime = on;
}

/* ---- query cursors ---- */

int store_index_query_open(store_index_query **out, store_index *idx, const store_index_find *find)
{
	*out = NULL;
	return idx->ops->query_open(out, idx, find);
}

int store_index_query_next(store_index_query *q, bool *has_row)
{
	*has_row = false;
	return q->ops->query_next(q, has_row);
}

size_t store_index_query_columns(const store_index_query *q)
{
	return q->ncols;
}

int store_index_query_column(const store_index_query *q, size_t i, uint32_t *tag, const char **value)
{
	if (i >= q->ncols)
		return arca_error_set(ARCA_ENOTFOUND, "query column %zu: there are %zu", i, q->ncols);
	*tag = q->tags[i];
	*value = q->values[i] != NULL ? q->values[i] : "";
	return 0;
}

const char *store_index_query_value(const store_index_query *q, uint32_t tag)
{
	for (size_t i = 0; i < q->ncols; i++)
		if (q->tags[i] == tag)
			return q->values[i] != NULL ? q->values[i] : "";
	return NULL;
}

int store_index_query_storage(const store_index_query *q, store_index_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (q->level != STORE_INDEX_IMAGE)
		return arca_error_set(ARCA_EINVAL, "query: storage data is only known at the IMAGE level");
	return q->ops->query_storage(q, out);
}

void store_index_query_free(store_index_query *q)
{
	if (q != NULL)
		q->ops->query_free(q);
}
