/* pacs_sop.c - lookups in the generated SOP class table. */
#include "pacs_sop.h"

#include <string.h>

#include "pacs_sop_priv.h"

/* A linear scan: the table has a few hundred entries and is consulted per
 * proposed presentation context, not per byte. */
const pacs_sop_info *pacs_sop_lookup(const char *uid)
{
	if (uid == NULL)
		return NULL;
	for (size_t i = 0; i < pacs_sop__count; i++)
		if (strcmp(pacs_sop__table[i].uid, uid) == 0)
			return &pacs_sop__table[i];
	return NULL;
}

const pacs_sop_info *pacs_sop_storage_all(size_t *n)
{
	*n = pacs_sop__storage_count;
	return pacs_sop__table;
}

const pacs_sop_info *pacs_sop_all(size_t *n)
{
	*n = pacs_sop__count;
	return pacs_sop__table;
}

bool pacs_sop_is_storage(const char *uid)
{
	const pacs_sop_info *info = pacs_sop_lookup(uid);

	return info != NULL && info->service == PACS_SOP_STORAGE;
}

const char *pacs_sop_service_name(enum pacs_sop_service service)
{
	switch (service) {
	case PACS_SOP_VERIFICATION: return "verification";
	case PACS_SOP_STORAGE: return "storage";
	case PACS_SOP_QR_FIND: return "qr-find";
	case PACS_SOP_QR_MOVE: return "qr-move";
	case PACS_SOP_QR_GET: return "qr-get";
	case PACS_SOP_WORKLIST_FIND: return "worklist-find";
	case PACS_SOP_STORAGE_COMMITMENT: return "storage-commitment";
	}
	return "unknown";
}
