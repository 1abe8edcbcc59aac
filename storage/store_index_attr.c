/* store_index_attr.c - the keys the index holds: one table that says, for
 * each C-FIND key of PS3.4 C.6.1 (Patient Root) and C.6.2 (Study Root),
 * which entity it describes, how it is matched, where an instance record
 * keeps it and which column stores it.  The schema (store_index_schema.c),
 * the insert path and the query compiler all follow this table. */
#include "store_index_priv.h"

#include "arca_err.h"
#include "pacs_tags.h"

#define P STORE_INDEX_PATIENT
#define ST STORE_INDEX_STUDY
#define SE STORE_INDEX_SERIES
#define IM STORE_INDEX_IMAGE
#define TEXT STORE_INDEX_MATCH_TEXT
#define PN STORE_INDEX_MATCH_PN
#define UID STORE_INDEX_MATCH_UID
#define DATE STORE_INDEX_MATCH_DATE
#define TIME STORE_INDEX_MATCH_TIME
#define NUM STORE_INDEX_MATCH_NUMBER
#define CODE STORE_INDEX_MATCH_CODE_SEQ
#define U STORE_INDEX__UNIQUE
#define C STORE_INDEX__COMPUTED
#define L STORE_INDEX__MULTI
#define S STORE_INDEX__SIDE

/* Ordered by level, then as PS3.4 Tables C.6-1 to C.6-4 list them. */
static const struct store_index__key keys[] = {
	/* PS3.4 C.6.1.1.2 Patient level (Table C.6-1) */
	{PACS_TAG_PatientName, "PatientName", P, PN, 0, STORE_INDEX__PATIENT_NAME,
	 "p.patient_name", "p.patient_name_folded", NULL},
	{PACS_TAG_PatientID, "PatientID", P, TEXT, U, STORE_INDEX__PATIENT_ID, "p.patient_id", NULL, NULL},
	{PACS_TAG_IssuerOfPatientID, "IssuerOfPatientID", P, TEXT, 0, STORE_INDEX__ISSUER,
	 "p.issuer", NULL, NULL},
	{PACS_TAG_PatientBirthDate, "PatientBirthDate", P, DATE, 0, STORE_INDEX__BIRTH_DATE,
	 "p.birth_date", NULL, NULL},
	{PACS_TAG_PatientSex, "PatientSex", P, TEXT, L, STORE_INDEX__SEX, "p.sex", NULL, NULL},
	{PACS_TAG_NumberOfPatientRelatedStudies, "NumberOfPatientRelatedStudies", P, NUM, C, -1,
	 "p.n_studies", NULL, NULL},
	{PACS_TAG_NumberOfPatientRelatedSeries, "NumberOfPatientRelatedSeries", P, NUM, C, -1,
	 "p.n_series", NULL, NULL},
	{PACS_TAG_NumberOfPatientRelatedInstances, "NumberOfPatientRelatedInstances", P, NUM, C, -1,
	 "p.n_instances", NULL, NULL},

	/* PS3.4 C.6.1.1.3 Study level (Table C.6-2) */
	{PACS_TAG_StudyDate, "StudyDate", ST, DATE, 0, STORE_INDEX__STUDY_DATE, "st.study_date", NULL, NULL},
	{PACS_TAG_StudyTime, "StudyTime", ST, TIME, 0, STORE_INDEX__STUDY_TIME, "st.study_time", NULL, NULL},
	{PACS_TAG_AccessionNumber, "AccessionNumber", ST, TEXT, 0, STORE_INDEX__ACCESSION,
	 "st.accession", NULL, NULL},
	{PACS_TAG_StudyID, "StudyID", ST, TEXT, 0, STORE_INDEX__STUDY_ID, "st.study_id", NULL, NULL},
	{PACS_TAG_StudyInstanceUID, "StudyInstanceUID", ST, UID, U | L, STORE_INDEX__STUDY_UID,
	 "st.study_uid", NULL, NULL},
	{PACS_TAG_ReferringPhysicianName, "ReferringPhysicianName", ST, PN, 0, STORE_INDEX__REFERRING,
	 "st.referring", "st.referring_folded", NULL},
	{PACS_TAG_StudyDescription, "StudyDescription", ST, TEXT, 0, STORE_INDEX__STUDY_DESC,
	 "st.description", NULL, NULL},
	/* An optional key of the Study IE (PS3.3 C.7.2.1 General Study):
	 * the codes of the procedure performed; sequence matching. */
	{PACS_TAG_ProcedureCodeSequence, "ProcedureCodeSequence", ST, CODE, 0, STORE_INDEX__PROCEDURE_CODES,
	 "st.procedure_codes", NULL, NULL},
	{PACS_TAG_ModalitiesInStudy, "ModalitiesInStudy", ST, TEXT, C | L | S, -1,
	 "st.modalities", NULL, "study_modalities modality"},
	{PACS_TAG_SOPClassesInStudy, "SOPClassesInStudy", ST, UID, C | L | S, -1,
	 "st.sop_classes", NULL, "study_sop_classes sop_class"},
	{PACS_TAG_NumberOfStudyRelatedSeries, "NumberOfStudyRelatedSeries", ST, NUM, C, -1,
	 "st.n_series", NULL, NULL},
	{PACS_TAG_NumberOfStudyRelatedInstances, "NumberOfStudyRelatedInstances", ST, NUM, C, -1,
	 "st.n_instances", NULL, NULL},

	/* PS3.4 C.6.1.1.4 Series level (Table C.6-3) */
	{PACS_TAG_Modality, "Modality", SE, TEXT, L, STORE_INDEX__MODALITY, "se.modality", NULL, NULL},
	{PACS_TAG_SeriesNumber, "SeriesNumber", SE, NUM, 0, STORE_INDEX__SERIES_NUMBER,
	 "se.series_number", NULL, NULL},
	{PACS_TAG_SeriesInstanceUID, "SeriesInstanceUID", SE, UID, U | L, STORE_INDEX__SERIES_UID,
	 "se.series_uid", NULL, NULL},
	{PACS_TAG_SeriesDescription, "SeriesDescription", SE, TEXT, 0, STORE_INDEX__SERIES_DESC,
	 "se.description", NULL, NULL},
	{PACS_TAG_BodyPartExamined, "BodyPartExamined", SE, TEXT, L, STORE_INDEX__BODY_PART,
	 "se.body_part", NULL, NULL},
	{PACS_TAG_SeriesDate, "SeriesDate", SE, DATE, 0, STORE_INDEX__SERIES_DATE, "se.series_date", NULL, NULL},
	{PACS_TAG_SeriesTime, "SeriesTime", SE, TIME, 0, STORE_INDEX__SERIES_TIME, "se.series_time", NULL, NULL},
	{PACS_TAG_PerformedProcedureStepStartDate, "PerformedProcedureStepStartDate", SE, DATE, 0,
	 STORE_INDEX__PPS_DATE, "se.pps_date", NULL, NULL},
	{PACS_TAG_PerformedProcedureStepStartTime, "PerformedProcedureStepStartTime", SE, TIME, 0,
	 STORE_INDEX__PPS_TIME, "se.pps_time", NULL, NULL},
	{PACS_TAG_InstitutionName, "InstitutionName", SE, TEXT, 0, STORE_INDEX__INSTITUTION,
	 "se.institution", NULL, NULL},
	{PACS_TAG_StationName, "StationName", SE, TEXT, 0, STORE_INDEX__STATION, "se.station", NULL, NULL},
	/* Beside Body Part Examined, the coded anatomy (PS3.3 10.5 General
	 * Anatomy macros), kept per series as BodyPartExamined is. */
	{PACS_TAG_AnatomicRegionSequence, "AnatomicRegionSequence", SE, CODE, 0, STORE_INDEX__ANATOMIC_REGIONS,
	 "se.anatomic_regions", NULL, NULL},
	{PACS_TAG_NumberOfSeriesRelatedInstances, "NumberOfSeriesRelatedInstances", SE, NUM, C, -1,
	 "se.n_instances", NULL, NULL},

	/* PS3.4 C.6.1.1.5 Composite Object Instance level (Table C.6-4) */
	{PACS_TAG_InstanceNumber, "InstanceNumber", IM, NUM, 0, STORE_INDEX__INSTANCE_NUMBER,
	 "i.instance_number", NULL, NULL},
	{PACS_TAG_SOPInstanceUID, "SOPInstanceUID", IM, UID, U | L, STORE_INDEX__SOP_UID, "i.sop_uid", NULL, NULL},
	{PACS_TAG_SOPClassUID, "SOPClassUID", IM, UID, L, STORE_INDEX__SOP_CLASS, "i.sop_class", NULL, NULL},
	{PACS_TAG_ContentDate, "ContentDate", IM, DATE, 0, STORE_INDEX__CONTENT_DATE, "i.content_date", NULL, NULL},
	{PACS_TAG_ContentTime, "ContentTime", IM, TIME, 0, STORE_INDEX__CONTENT_TIME, "i.content_time", NULL, NULL},
	{PACS_TAG_NumberOfFrames, "NumberOfFrames", IM, NUM, 0, STORE_INDEX__FRAMES, "i.frames", NULL, NULL},
	{PACS_TAG_Rows, "Rows", IM, NUM, 0, STORE_INDEX__ROWS, "i.rows", NULL, NULL},
	{PACS_TAG_Columns, "Columns", IM, NUM, 0, STORE_INDEX__COLUMNS, "i.columns", NULL, NULL},
	/* PS3.4 C.6.1.1.5.1: the transfer syntaxes the instance is available
	 * in without conversion - the stored one. */
	{PACS_TAG_AvailableTransferSyntaxUID, "AvailableTransferSyntaxUID", IM, UID, C | L, -1,
	 "i.transfer_syntax", NULL, NULL},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const struct store_index__key *store_index__key_find(uint32_t tag)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].tag == tag)
			return &keys[i];
	return NULL;
}

const struct store_index__key *store_index__key_of_slot(enum store_index__slot slot)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].slot == (int8_t)slot)
			return &keys[i];
	return NULL;
}

const struct store_index__key *store_index__key_unique(store_index_level level)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].level == level && (keys[i].flags & STORE_INDEX__UNIQUE))
			return &keys[i];
	return NULL;
}

static void fill_info(const struct store_index__key *k, store_index_key_info *out)
{
	out->tag = k->tag;
	out->keyword = k->keyword;
	out->level = (store_index_level)k->level;
	out->match = (store_index_match_kind)k->match;
	out->unique = (k->flags & STORE_INDEX__UNIQUE) != 0;
	out->computed = (k->flags & STORE_INDEX__COMPUTED) != 0;
}

int store_index_key_lookup(uint32_t tag, store_index_key_info *out)
{
	const struct store_index__key *k = store_index__key_find(tag);

	if (k == NULL)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) is not a key of the index",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	fill_info(k, out);
	return 0;
}

int store_index_key_at(size_t i, store_index_key_info *out)
{
	if (i >= NKEYS)
		return arca_error_set(ARCA_ENOTFOUND, "index key %zu: there are %zu", i, NKEYS);
	fill_info(&keys[i], out);
	return 0;
}
