/* pacs_norm_tables.c - built-in code tables of the rules file ("in
 * @modality ...") and the defaults that depend on a rule's kind. */
#include "pacs_norm_priv.h"

#include <string.h>
#include <strings.h>

/* PS3.3 C.7.3.1.1.1: the Defined Terms of Modality (0008,0060). */
static const char *const modality[] = {
	"ANN", "AR", "ASMT", "AU", "BDUS", "BI", "BMD", "CFM", "CR", "CT", "CTPROTOCOL", "DMS", "DG",
	"DOC", "DX", "ECG", "EEG", "EMG", "EOG", "EPS", "ES", "FID", "GM", "HC", "HD", "IO", "IOL",
	"IVOCT", "IVUS", "KER", "KO", "LEN", "LS", "MG", "MR", "M3D", "NM", "OAM", "OCT", "OP", "OPM",
	"OPT", "OPTBSV", "OPTENF", "OPV", "OSS", "OT", "PA", "PLAN", "POS", "PR", "PT", "PX", "REG",
	"RESP", "RF", "RG", "RTDOSE", "RTIMAGE", "RTINTENT", "RTPLAN", "RTRAD", "RTRECORD",
	"RTSEGANN", "RTSTRUCT", "RWV", "SEG", "SM", "SMR", "SR", "SRF", "STAIN", "TEXTUREMAP", "TG",
	"US", "VA", "XA", "XAPROTOCOL", "XC",
};

/* PS3.3 C.7.3.1.1.1: the retired Defined Terms, still sent by old
 * equipment and found in old archives. */
static const char *const modality_retired[] = {
	"AS", "CD", "CF", "CP", "CS", "DD", "DF", "DM", "DS", "EC", "FA", "FS", "LP", "MA", "MS",
	"OPR", "ST", "VF",
};

/* Body Part Examined (0018,0015): the Code String values of PS3.16
 * Annex L (CID 4031 and its neighbours) most seen in imaging; a subset,
 * extended in a rule with literal values ("in @body-part MYPART"). */
static const char *const body_part[] = {
	"ABDOMEN", "ABDOMENPELVIS", "ADRENAL", "ANKLE", "AORTA", "ARM", "AXILLA", "BACK", "BLADDER",
	"BRAIN", "BREAST", "BRONCHUS", "BUTTOCK", "CALCANEUS", "CALF", "CAROTID", "CEREBELLUM",
	"CERVIX", "CHEEK", "CHEST", "CHESTABDOMEN", "CHESTABDPELVIS", "CIRCLEOFWILLIS", "CLAVICLE",
	"COCCYX", "COLON", "CORNEA", "CORONARYARTERY", "CSPINE", "CTSPINE", "DUODENUM", "EAR",
	"ELBOW", "ESOPHAGUS", "EXTREMITY", "EYE", "EYELID", "FACE", "FEMUR", "FINGER", "FOOT",
	"GALLBLADDER", "HAND", "HEAD", "HEADNECK", "HEART", "HIP", "HUMERUS", "IAC", "ILEUM",
	"ILIUM", "JAW", "JEJUNUM", "KIDNEY", "KNEE", "LARYNX", "LEG", "LIVER", "LSPINE", "LSSPINE",
	"LUNG", "MAXILLA", "MEDIASTINUM", "MOUTH", "NECK", "NECKCHEST", "NECKCHESTABDOMEN",
	"NECKCHESTABDPELV", "NOSE", "ORBIT", "OVARY", "PANCREAS", "PAROTID", "PATELLA", "PELVIS",
	"PENIS", "PHARYNX", "PROSTATE", "RECTUM", "RIB", "SCALP", "SCAPULA", "SCLERA",
	"SCROTUM", "SHOULDER", "SKULL", "SPINE", "SPLEEN", "SSPINE", "STERNUM", "STOMACH",
	"SUBMANDIBULAR", "TESTIS", "THIGH", "THUMB", "THYMUS", "THYROID", "TIBIA", "TLSPINE", "TOE",
	"TONGUE", "TRACHEA", "TSPINE", "ULNA", "URETER", "URETHRA", "UTERUS", "VAGINA", "VULVA",
	"WHOLEBODY", "WRIST", "ZYGOMA",
};

/* PS3.3 C.7.1.1: Patient's Sex Enumerated Values. */
static const char *const sex[] = {"M", "F", "O"};

#define TABLE(n, a) {n, a, sizeof(a) / sizeof(a[0])}
static const norm_table tables[] = {
	TABLE("@modality", modality),
	TABLE("@modality-retired", modality_retired),
	TABLE("@body-part", body_part),
	TABLE("@sex", sex),
};

const norm_table *pacs_norm__table(const char *name)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (strcmp(tables[i].name, name) == 0)
			return &tables[i];
	return NULL;
}

/* Spellings of Patient's Sex seen from modalities and RIS front ends.
 * Unknown sex is an empty value in DICOM (Type 2), not "O" (other). */
static const struct {
	const char *spelling;
	const char *value;
} sex_synonyms[] = {
	{"M", "M"}, {"MALE", "M"}, {"MAN", "M"}, {"MASCULINE", "M"},
	{"F", "F"}, {"FEMALE", "F"}, {"WOMAN", "F"}, {"W", "F"}, {"FEMININE", "F"},
	{"O", "O"}, {"OTHER", "O"},
	{"U", ""}, {"UNK", ""}, {"UNKNOWN", ""},
};

const char *pacs_norm__sex_synonym(const char *value, size_t len)
{
	for (size_t i = 0; i < sizeof(sex_synonyms) / sizeof(sex_synonyms[0]); i++)
		if (strlen(sex_synonyms[i].spelling) == len && strncasecmp(sex_synonyms[i].spelling, value, len) == 0)
			return sex_synonyms[i].value;
	return NULL;
}

uint16_t pacs_norm__default_status(enum norm_kind kind, pacs_norm_action action)
{
	switch (action) {
	case PACS_NORM_REFUSE:
		/* PS3.4 B.2.3: text that cannot be decoded is "cannot
		 * understand"; everything else is "data set does not match SOP
		 * class". */
		return kind == NORM_K_CHECK_CHARSET ? 0xC000 : 0xA900;
	case PACS_NORM_WARN:
		return 0xB007; /* data set does not match SOP class (warning) */
	default:
		return 0;
	}
}

const char *pacs_norm__kind_section(enum norm_kind kind)
{
	switch (kind) {
	case NORM_K_REQUIRED:
		return "required";
	case NORM_K_IN:
	case NORM_K_RANGE:
		return "values";
	case NORM_K_CHECK_VR:
	case NORM_K_CHECK_LENGTH:
	case NORM_K_CHECK_VM:
	case NORM_K_CHECK_UID:
	case NORM_K_CHECK_CHARSET:
		return "check";
	case NORM_K_MAP:
		return "map";
	case NORM_K_CODE:
		return "code";
	default:
		return "normalise";
	}
}

bool pacs_norm__kind_corrects(enum norm_kind kind)
{
	switch (kind) {
	case NORM_K_PADDING:
	case NORM_K_DATE_TIME:
	case NORM_K_CS_UPPER:
	case NORM_K_PERSON_NAME:
	case NORM_K_PATIENT_SEX:
		return true;
	default:
		return false;
	}
}

const char *pacs_norm_action_name(pacs_norm_action action)
{
	switch (action) {
	case PACS_NORM_IGNORE:
		return "ignore";
	case PACS_NORM_FIX:
		return "fix";
	case PACS_NORM_WARN:
		return "warn";
	case PACS_NORM_REFUSE:
		return "refuse";
	}
	return "?";
}

const char *pacs_norm_outcome_name(pacs_norm_outcome outcome)
{
	switch (outcome) {
	case PACS_NORM_ACCEPTED:
		return "accepted";
	case PACS_NORM_WARNED:
		return "warned";
	case PACS_NORM_REFUSED:
		return "refused";
	}
	return "?";
}
