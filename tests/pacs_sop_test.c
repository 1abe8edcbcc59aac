/* pacs_sop_test.c - the generated SOP class table against UIDs taken from
 * the standard (PS3.4 Table B.5-1, PS3.6 Annex A). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pacs_sop.h"

struct known {
	const char *uid;
	const char *name;
	enum pacs_sop_service service;
	bool retired;
};

/* Written from PS3.6 Annex A, not from dcuid.h, so the generator is
 * checked against an independent list. */
static const struct known known[] = {
	{"1.2.840.10008.1.1", "Verification", PACS_SOP_VERIFICATION, false},
	{"1.2.840.10008.5.1.4.1.1.2", "CTImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.2.1", "EnhancedCTImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.4", "MRImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.7", "SecondaryCaptureImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.88.11", "BasicTextSRStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.66.4", "SegmentationStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.481.2", "RTDoseStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.481.3", "RTStructureSetStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.481.5", "RTPlanStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.9.1.1", "TwelveLeadECGWaveformStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.1.1", "DigitalXRayImageStorageForPresentation", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.1.1.1", "DigitalXRayImageStorageForProcessing", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.1.2", "DigitalMammographyXRayImageStorageForPresentation", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.13.1.4", "BreastProjectionXRayImageStorageForPresentation", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.14.2", "IntravascularOpticalCoherenceTomographyImageStorageForProcessing",
	 PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.501.1", "DICOSCTImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.12.1", "XRayAngiographicImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.20", "NuclearMedicineImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.88.67", "XRayRadiationDoseSRStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.88.59", "KeyObjectSelectionDocumentStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.38.1", "HangingProtocolStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.128", "PositronEmissionTomographyImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.104.1", "EncapsulatedPDFStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.77.1.6", "VLWholeSlideMicroscopyImageStorage", PACS_SOP_STORAGE, false},
	/* newer than DCMTK 3.6.7: from pacs/sop_newer.def */
	{"1.2.840.10008.5.1.4.1.1.6.3", "PhotoacousticImageStorage", PACS_SOP_STORAGE, false},
	{"1.2.840.10008.5.1.4.1.1.481.23", "EnhancedRTImageStorage", PACS_SOP_STORAGE, false},
	/* retired storage classes */
	{"1.2.840.10008.5.1.4.1.1.6", "UltrasoundImageStorageRetired", PACS_SOP_STORAGE, true},
	{"1.2.840.10008.5.1.4.1.1.5", "NuclearMedicineImageStorageRetired", PACS_SOP_STORAGE, true},
	{"1.2.840.10008.5.1.4.1.1.8", "StandaloneOverlayStorage", PACS_SOP_STORAGE, true},
	{"1.2.840.10008.5.1.4.1.1.129", "StandalonePETCurveStorage", PACS_SOP_STORAGE, true},
	/* Query/Retrieve, PS3.4 C.6 */
	{"1.2.840.10008.5.1.4.1.2.1.1", "PatientRootQueryRetrieveInformationModelFind", PACS_SOP_QR_FIND, false},
	{"1.2.840.10008.5.1.4.1.2.1.2", "PatientRootQueryRetrieveInformationModelMove", PACS_SOP_QR_MOVE, false},
	{"1.2.840.10008.5.1.4.1.2.1.3", "PatientRootQueryRetrieveInformationModelGet", PACS_SOP_QR_GET, false},
	{"1.2.840.10008.5.1.4.1.2.2.1", "StudyRootQueryRetrieveInformationModelFind", PACS_SOP_QR_FIND, false},
	{"1.2.840.10008.5.1.4.1.2.2.2", "StudyRootQueryRetrieveInformationModelMove", PACS_SOP_QR_MOVE, false},
	{"1.2.840.10008.5.1.4.1.2.2.3", "StudyRootQueryRetrieveInformationModelGet", PACS_SOP_QR_GET, false},
	{"1.2.840.10008.5.1.4.1.2.3.1", "PatientStudyOnlyQueryRetrieveInformationModelFind", PACS_SOP_QR_FIND, true},
	{"1.2.840.10008.5.1.4.1.2.3.2", "PatientStudyOnlyQueryRetrieveInformationModelMove", PACS_SOP_QR_MOVE, true},
	{"1.2.840.10008.5.1.4.1.2.3.3", "PatientStudyOnlyQueryRetrieveInformationModelGet", PACS_SOP_QR_GET, true},
	{"1.2.840.10008.5.1.4.1.2.4.2", "CompositeInstanceRootRetrieveMove", PACS_SOP_QR_MOVE, false},
	{"1.2.840.10008.5.1.4.1.2.4.3", "CompositeInstanceRootRetrieveGet", PACS_SOP_QR_GET, false},
	{"1.2.840.10008.5.1.4.31", "ModalityWorklistInformationModelFind", PACS_SOP_WORKLIST_FIND, false},
	{"1.2.840.10008.1.20.1", "StorageCommitmentPushModel", PACS_SOP_STORAGE_COMMITMENT, false},
};

static void test_known_uids(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		const pacs_sop_info *info = pacs_sop_lookup(known[i].uid);
		if (info == NULL)
			fail_msg("%s (%s) not in the table", known[i].uid, known[i].name);
		assert_string_equal(info->uid, known[i].uid);
		assert_string_equal(info->name, known[i].name);
		assert_int_equal(info->service, known[i].service);
		assert_int_equal(info->retired, known[i].retired);
		assert_int_equal(pacs_sop_is_storage(known[i].uid), known[i].service == PACS_SOP_STORAGE);
	}
}

static void test_unknown_and_not_offered(void **state)
{
	(void)state;
	assert_null(pacs_sop_lookup(NULL));
	assert_null(pacs_sop_lookup(""));
	assert_null(pacs_sop_lookup("1.2.3.4"));
	/* exact comparison: a padded or truncated UID is another UID */
	assert_null(pacs_sop_lookup("1.2.840.10008.5.1.4.1.1.2 "));
	assert_null(pacs_sop_lookup("1.2.840.10008.5.1.4.1.1"));
	/* transfer syntaxes, the DICOMDIR class and print are not SOP classes we offer */
	assert_null(pacs_sop_lookup("1.2.840.10008.1.2"));
	assert_null(pacs_sop_lookup("1.2.840.10008.1.3.10"));
	assert_null(pacs_sop_lookup("1.2.840.10008.5.1.1.1"));
	assert_false(pacs_sop_is_storage("1.2.840.10008.1.1"));
	assert_false(pacs_sop_is_storage("1.2.840.10008.5.1.4.1.2.2.1"));
	assert_false(pacs_sop_is_storage(NULL));
}

static void test_storage_all(void **state)
{
	size_t n = 0, total = 0, retired = 0;
	const pacs_sop_info *all = pacs_sop_storage_all(&n);
	const pacs_sop_info *table = pacs_sop_all(&total);
	(void)state;

	/* PS3.4 Table B.5-1 lists well over a hundred storage classes. */
	assert_true(n > 100);
	assert_true(total > n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(all[i].service, PACS_SOP_STORAGE);
		assert_ptr_equal(pacs_sop_lookup(all[i].uid), &all[i]);
		assert_true(strncmp(all[i].uid, "1.2.840.10008.", 14) == 0);
		retired += all[i].retired;
	}
	assert_true(retired >= 10);
	for (size_t i = n; i < total; i++)
		assert_int_not_equal(table[i].service, PACS_SOP_STORAGE);
	/* every UID and every name once */
	for (size_t i = 0; i < total; i++)
		for (size_t j = i + 1; j < total; j++) {
			assert_string_not_equal(table[i].uid, table[j].uid);
			assert_string_not_equal(table[i].name, table[j].name);
		}
}

static void test_service_names(void **state)
{
	(void)state;
	assert_string_equal(pacs_sop_service_name(PACS_SOP_STORAGE), "storage");
	assert_string_equal(pacs_sop_service_name(PACS_SOP_QR_MOVE), "qr-move");
	assert_string_equal(pacs_sop_service_name((enum pacs_sop_service)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_uids),
		cmocka_unit_test(test_unknown_and_not_offered),
		cmocka_unit_test(test_storage_all),
		cmocka_unit_test(test_service_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
