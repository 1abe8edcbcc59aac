/* pacs_sop.h - the SOP classes arca knows: Verification, every Storage SOP
 * class (PS3.4 Annex B, Table B.5-1, retired ones flagged), the composite
 * Query/Retrieve information models (PS3.4 Annex C.6), Modality Worklist
 * (PS3.4 Annex K.6) and Storage Commitment (PS3.4 Annex J.3).
 *
 * The table is generated at build time by pacs/gen_sop.awk from DCMTK's
 * dcuid.h (found by configure) plus pacs/sop_newer.def, the few classes the
 * standard added after the DCMTK release Debian ships.  A UID that is not
 * in the table is a SOP class arca does not offer: association policy
 * rejects its presentation contexts.
 *
 * Everything returned is static and borrowed for the life of the program. */
#ifndef PACS_SOP_H
#define PACS_SOP_H

#include <stdbool.h>
#include <stddef.h>

/* The service class a SOP class belongs to, which decides the DIMSE
 * service an SCP runs for it. */
enum pacs_sop_service {
	PACS_SOP_VERIFICATION = 1,   /* PS3.4 Annex A: C-ECHO */
	PACS_SOP_STORAGE,            /* PS3.4 Annex B: C-STORE */
	PACS_SOP_QR_FIND,            /* PS3.4 Annex C: C-FIND on a Q/R model */
	PACS_SOP_QR_MOVE,            /* PS3.4 Annex C: C-MOVE */
	PACS_SOP_QR_GET,             /* PS3.4 Annex C: C-GET */
	PACS_SOP_WORKLIST_FIND,      /* PS3.4 Annex K: C-FIND on the worklist */
	PACS_SOP_STORAGE_COMMITMENT, /* PS3.4 Annex J: N-ACTION / N-EVENT-REPORT */
};

typedef struct pacs_sop_info {
	const char *uid;
	/* DCMTK's identifier without the UID_ / RETIRED_ / DRAFT_ prefix and
	 * underscores, Q/R models reordered to "...Find"; for most classes this
	 * is the PS3.6 keyword ("CTImageStorage",
	 * "StudyRootQueryRetrieveInformationModelFind"). */
	const char *name;
	enum pacs_sop_service service;
	bool retired;                /* retired from the standard (PS3.6) */
} pacs_sop_info;

/* The entry for uid, or NULL if arca does not know it.  uid is compared
 * exactly (no padding is stripped). */
const pacs_sop_info *pacs_sop_lookup(const char *uid);

/* Every Storage SOP class, retired ones included: an array of *n entries. */
const pacs_sop_info *pacs_sop_storage_all(size_t *n);

/* True if uid is a Storage SOP class in the table. */
bool pacs_sop_is_storage(const char *uid);

/* Every entry of the table (storage classes first): an array of *n. */
const pacs_sop_info *pacs_sop_all(size_t *n);

/* "storage", "qr-find", ... ; "unknown" for a value outside the enum. */
const char *pacs_sop_service_name(enum pacs_sop_service service);

#endif
