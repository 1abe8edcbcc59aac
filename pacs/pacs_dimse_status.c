/* pacs_dimse_status.c - DIMSE status codes: category and description
 * (PS3.7 Annex C; the service-specific codes of PS3.4 B.2.3, C.4.1.1.4,
 * C.4.2.1.5 and C.4.3.1.4). */
#include "pacs_dimse.h"

enum pacs_dimse_status_category pacs_dimse_status_category(uint16_t status)
{
	switch (status) {
	case PACS_DIMSE_SUCCESS:
		return PACS_DIMSE_STATUS_SUCCESS;
	case PACS_DIMSE_PENDING:
	case PACS_DIMSE_PENDING_WARNING:
		return PACS_DIMSE_STATUS_PENDING;
	case PACS_DIMSE_CANCEL:
		return PACS_DIMSE_STATUS_CANCEL;
	/* PS3.7 C.4.2: the warnings outside the Bxxx range. */
	case PACS_DIMSE_WARNING:
	case PACS_DIMSE_ATTRIBUTE_LIST_ERROR:
	case PACS_DIMSE_ATTRIBUTE_VALUE_OUT_OF_RANGE:
		return PACS_DIMSE_STATUS_WARNING;
	}
	if ((status & 0xF000) == 0xB000)
		return PACS_DIMSE_STATUS_WARNING;
	/* Axxx, Cxxx, the 01xx/02xx failures of PS3.7 C.5, and anything the
	 * standard does not define: an unknown code is never taken for
	 * success. */
	return PACS_DIMSE_STATUS_FAILURE;
}

const char *pacs_dimse_status_category_name(enum pacs_dimse_status_category c)
{
	switch (c) {
	case PACS_DIMSE_STATUS_SUCCESS: return "success";
	case PACS_DIMSE_STATUS_PENDING: return "pending";
	case PACS_DIMSE_STATUS_CANCEL: return "cancel";
	case PACS_DIMSE_STATUS_WARNING: return "warning";
	case PACS_DIMSE_STATUS_FAILURE: return "failure";
	}
	return "unknown";
}

static const struct {
	uint16_t code;
	const char *name;
} names[] = {
	{PACS_DIMSE_SUCCESS, "success"},
	{PACS_DIMSE_PENDING, "pending"},
	{PACS_DIMSE_PENDING_WARNING, "pending, optional keys not supported"},
	{PACS_DIMSE_CANCEL, "cancelled"},
	{PACS_DIMSE_WARNING, "warning"},
	{PACS_DIMSE_ATTRIBUTE_LIST_ERROR, "warning: attribute list error"},
	{PACS_DIMSE_ATTRIBUTE_VALUE_OUT_OF_RANGE, "warning: attribute value out of range"},
	{PACS_DIMSE_WARNING_COERCION, "warning: coercion of data elements, or sub-operations with failures"},
	{PACS_DIMSE_WARNING_ELEMENTS_DISCARDED, "warning: elements discarded"},
	{PACS_DIMSE_WARNING_DATA_SET_MISMATCH, "warning: data set does not match SOP class"},
	{PACS_DIMSE_NO_SUCH_ATTRIBUTE, "no such attribute"},
	{PACS_DIMSE_INVALID_ATTRIBUTE_VALUE, "invalid attribute value"},
	{PACS_DIMSE_PROCESSING_FAILURE, "processing failure"},
	{PACS_DIMSE_DUPLICATE_SOP_INSTANCE, "duplicate SOP instance"},
	{PACS_DIMSE_NO_SUCH_OBJECT_INSTANCE, "no such object instance"},
	{PACS_DIMSE_NO_SUCH_EVENT_TYPE, "no such event type"},
	{PACS_DIMSE_NO_SUCH_ARGUMENT, "no such argument"},
	{PACS_DIMSE_INVALID_ARGUMENT_VALUE, "invalid argument value"},
	{PACS_DIMSE_INVALID_OBJECT_INSTANCE, "invalid object instance"},
	{PACS_DIMSE_NO_SUCH_SOP_CLASS, "no such SOP class"},
	{PACS_DIMSE_CLASS_INSTANCE_CONFLICT, "class-instance conflict"},
	{PACS_DIMSE_MISSING_ATTRIBUTE, "missing attribute"},
	{PACS_DIMSE_MISSING_ATTRIBUTE_VALUE, "missing attribute value"},
	{PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED, "SOP class not supported"},
	{PACS_DIMSE_NO_SUCH_ACTION, "no such action"},
	{PACS_DIMSE_NOT_AUTHORIZED, "not authorized"},
	{PACS_DIMSE_DUPLICATE_INVOCATION, "duplicate invocation"},
	{PACS_DIMSE_UNRECOGNIZED_OPERATION, "unrecognized operation"},
	{PACS_DIMSE_MISTYPED_ARGUMENT, "mistyped argument"},
	{PACS_DIMSE_RESOURCE_LIMITATION, "resource limitation"},
	{PACS_DIMSE_OUT_OF_RESOURCES, "refused: out of resources"},
	{PACS_DIMSE_OUT_OF_RESOURCES_MATCHES, "refused: out of resources, unable to calculate number of matches"},
	{PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS, "refused: out of resources, unable to perform sub-operations"},
	{PACS_DIMSE_MOVE_DESTINATION_UNKNOWN, "refused: move destination unknown"},
	{PACS_DIMSE_DATA_SET_MISMATCH, "error: data set does not match SOP class"},
	{PACS_DIMSE_CANNOT_UNDERSTAND, "error: cannot understand"},
};

const char *pacs_dimse_status_name(uint16_t status)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].code == status)
			return names[i].name;
	switch (status & 0xF000) {
	case 0xA000: return "failure (Axxx)";
	case 0xB000: return "warning (Bxxx)";
	case 0xC000: return "failure: cannot understand (Cxxx)";
	}
	return pacs_dimse_status_category(status) == PACS_DIMSE_STATUS_FAILURE ? "failure" : "unknown";
}
