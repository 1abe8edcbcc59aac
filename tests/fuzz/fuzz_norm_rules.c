/* fuzz_norm_rules.c - libFuzzer target for the rules file parser of
 * pacs_norm.h (arca-normalise(5)).
 *
 * The input is a rules text.  When it does not parse, the parser must say
 * so without leaving a rules object; when it parses, the rules are run on
 * a small data set that gives every kind of rule something to do (Latin-1
 * text, an ACR-NEMA date, a lower-case sex, a local modality term, a
 * nested item, a malformed UID), and the result must be consistent: a
 * short comment, a status that matches the outcome, at most 256 hits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_ds.h"
#include "pacs_norm.h"
#include "pacs_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pacs_ds *sample(void)
{
	pacs_ds *ds = NULL, *item = NULL;

	if (pacs_ds_new(&ds) != 0)
		return NULL;
	pacs_ds_set_string(ds, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 100");
	pacs_ds_set_string(ds, PACS_TAG_SOPClassUID, PACS_VR_UI, "1.2.840.10008.5.1.4.1.1.2");
	pacs_ds_set_string(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, "1.2.3.04");
	pacs_ds_set_string(ds, PACS_TAG_StudyDate, PACS_VR_DA, "2026.11.28");
	pacs_ds_set_string(ds, PACS_TAG_StudyTime, PACS_VR_TM, "10:15:00");
	pacs_ds_set_string(ds, PACS_TAG_Modality, PACS_VR_CS, "MRI");
	pacs_ds_set_string(ds, PACS_TAG_StudyDescription, PACS_VR_LO, "CT THORAX   ");
	pacs_ds_set_string(ds, PACS_TAG_PatientName, PACS_VR_PN, "M\xfcller, Hans^^");
	pacs_ds_set_string(ds, PACS_TAG_PatientSex, PACS_VR_CS, "male");
	pacs_ds_set_string(ds, PACS_TAG_PatientAge, PACS_VR_AS, "045Y");
	pacs_ds_set_string(ds, PACS_TAG_BodyPartExamined, PACS_VR_CS, "thorax");
	pacs_ds_set_string(ds, PACS_TAG_PatientWeight, PACS_VR_DS, "80.5");
	if (pacs_ds_add_item(ds, PACS_TAG_ReferencedStudySequence, &item) == 0) {
		pacs_ds_set_string(item, PACS_TAG_ReferencedSOPClassUID, PACS_VR_UI, "1.2.840.10008.3.1.2.3.1");
		pacs_ds_set_string(item, PACS_TAG_ReferencedSOPInstanceUID, PACS_VR_UI, "1.2.3 ");
	}
	pacs_ds_set_u16(ds, PACS_TAG_Rows, 4);
	return ds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pacs_norm_rules *rules = NULL;
	pacs_norm_result *res = NULL;
	pacs_norm_opts opts = {"20260101000000.000000+0000", "FUZZ"};
	pacs_ds *ds;

	if (pacs_norm_rules_parse(&rules, (const char *)data, size, "fuzz") != 0) {
		if (rules != NULL)
			abort(); /* a failed parse leaves nothing */
		return 0;
	}
	(void)pacs_norm_rules_count(rules);
	ds = sample();
	if (ds != NULL && pacs_norm_run(rules, ds, &opts, &res) == 0) {
		uint16_t cls = res->status & 0xF000;
		if (strlen(res->comment) > PACS_NORM_COMMENT_MAX || res->n_hits > 256 || res->explanation == NULL)
			abort();
		if (res->outcome == PACS_NORM_REFUSED && cls != 0xA000 && cls != 0xC000)
			abort();
		if (res->outcome == PACS_NORM_WARNED && cls != 0xB000)
			abort();
		if (res->outcome == PACS_NORM_ACCEPTED && res->status != 0)
			abort();
		if (res->oas_added != (pacs_ds_find(ds, PACS_TAG_OriginalAttributesSequence) != NULL))
			abort();
		pacs_norm_result_free(res);
	}
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
	return 0;
}
