/* pacs_dimse_rules.c - what each DIMSE message must carry (PS3.7 9.3 and
 * 10.3), the command names, and building a response from its request. */
#include "pacs_dimse.h"

#include <string.h>

#include "arca_err.h"

enum ds_rule { DS_NONE, DS_REQUIRED, DS_ANY };

#define RQ_C (PACS_DIMSE_F_AFFECTED_SOP_CLASS | PACS_DIMSE_F_MESSAGE_ID)
#define RQ_N_REQ (PACS_DIMSE_F_REQUESTED_SOP_CLASS | PACS_DIMSE_F_MESSAGE_ID | PACS_DIMSE_F_REQUESTED_SOP_INSTANCE)
#define RSP (PACS_DIMSE_F_MESSAGE_ID_RESPONDED | PACS_DIMSE_F_STATUS)

/* Mandatory fields and data set presence per message, from the message
 * field tables of PS3.7 9.3.1-9.3.5 (C- services, with the M fields of the
 * service parameter tables 9.1-x) and 10.3.1-10.3.6 (N- services).
 * Response fields marked U(=) or C are not required. */
static const struct rule {
	uint16_t command;
	const char *name;
	uint32_t required;
	enum ds_rule data_set;
} rules[] = {
	{PACS_DIMSE_C_STORE_RQ, "C-STORE-RQ", RQ_C | PACS_DIMSE_F_PRIORITY | PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, DS_REQUIRED},
	{PACS_DIMSE_C_STORE_RSP, "C-STORE-RSP", RSP, DS_NONE},
	{PACS_DIMSE_C_GET_RQ, "C-GET-RQ", RQ_C | PACS_DIMSE_F_PRIORITY, DS_REQUIRED},
	{PACS_DIMSE_C_GET_RSP, "C-GET-RSP", RSP, DS_ANY},
	{PACS_DIMSE_C_FIND_RQ, "C-FIND-RQ", RQ_C | PACS_DIMSE_F_PRIORITY, DS_REQUIRED},
	{PACS_DIMSE_C_FIND_RSP, "C-FIND-RSP", RSP, DS_ANY},
	{PACS_DIMSE_C_MOVE_RQ, "C-MOVE-RQ", RQ_C | PACS_DIMSE_F_PRIORITY | PACS_DIMSE_F_MOVE_DESTINATION, DS_REQUIRED},
	{PACS_DIMSE_C_MOVE_RSP, "C-MOVE-RSP", RSP, DS_ANY},
	{PACS_DIMSE_C_ECHO_RQ, "C-ECHO-RQ", RQ_C, DS_NONE},
	{PACS_DIMSE_C_ECHO_RSP, "C-ECHO-RSP", RSP, DS_NONE},
	{PACS_DIMSE_C_CANCEL_RQ, "C-CANCEL-RQ", PACS_DIMSE_F_MESSAGE_ID_RESPONDED, DS_NONE},
	{PACS_DIMSE_N_EVENT_REPORT_RQ, "N-EVENT-REPORT-RQ",
	 RQ_C | PACS_DIMSE_F_AFFECTED_SOP_INSTANCE | PACS_DIMSE_F_EVENT_TYPE_ID, DS_ANY},
	{PACS_DIMSE_N_EVENT_REPORT_RSP, "N-EVENT-REPORT-RSP", RSP, DS_ANY},
	{PACS_DIMSE_N_GET_RQ, "N-GET-RQ", RQ_N_REQ, DS_NONE},
	{PACS_DIMSE_N_GET_RSP, "N-GET-RSP", RSP, DS_ANY},
	{PACS_DIMSE_N_SET_RQ, "N-SET-RQ", RQ_N_REQ, DS_REQUIRED},
	{PACS_DIMSE_N_SET_RSP, "N-SET-RSP", RSP, DS_ANY},
	{PACS_DIMSE_N_ACTION_RQ, "N-ACTION-RQ", RQ_N_REQ | PACS_DIMSE_F_ACTION_TYPE_ID, DS_ANY},
	{PACS_DIMSE_N_ACTION_RSP, "N-ACTION-RSP", RSP, DS_ANY},
	{PACS_DIMSE_N_CREATE_RQ, "N-CREATE-RQ", RQ_C, DS_ANY},
	{PACS_DIMSE_N_CREATE_RSP, "N-CREATE-RSP", RSP, DS_ANY},
	{PACS_DIMSE_N_DELETE_RQ, "N-DELETE-RQ", RQ_N_REQ, DS_NONE},
	{PACS_DIMSE_N_DELETE_RSP, "N-DELETE-RSP", RSP, DS_NONE},
};

static const struct rule *rule_for(uint16_t command)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (rules[i].command == command)
			return &rules[i];
	return NULL;
}

const char *pacs_dimse_command_name(uint16_t command)
{
	const struct rule *r = rule_for(command);

	return r != NULL ? r->name : "unknown";
}

int pacs_dimse_cmd_validate(const pacs_dimse_cmd *cmd)
{
	const struct rule *r = rule_for(cmd->command);

	if (r == NULL)
		return arca_error_set(ARCA_EPROTO, "Command Field (0000,0100) 0x%04x is not a DIMSE command (PS3.7 E.1)",
				      cmd->command);
	uint32_t missing = r->required & ~cmd->present;
	if (missing != 0) {
		uint32_t bit = missing & (~missing + 1u); /* lowest missing field */
		return arca_error_set(ARCA_EPROTO, "%s without %s, which PS3.7 requires", r->name,
				      pacs_dimse_field_name(bit));
	}
	if (r->data_set == DS_REQUIRED && !cmd->has_data_set)
		return arca_error_set(ARCA_EPROTO, "%s with Command Data Set Type (0000,0800) 0101H: it must carry a data set",
				      r->name);
	if (r->data_set == DS_NONE && cmd->has_data_set)
		return arca_error_set(ARCA_EPROTO, "%s announces a data set, which it never carries (PS3.7 9.3 / 10.3)",
				      r->name);
	return 0;
}

int pacs_dimse_cmd_response(pacs_dimse_cmd *rsp, const pacs_dimse_cmd *rq, uint16_t status)
{
	if ((rq->command & PACS_DIMSE_RSP_BIT) != 0 || rq->command == PACS_DIMSE_C_CANCEL_RQ ||
	    !(rq->present & PACS_DIMSE_F_MESSAGE_ID))
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_cmd_response: %s (0x%04x) is not a request with a Message ID",
				      pacs_dimse_command_name(rq->command), rq->command);
	pacs_dimse_cmd_init(rsp, (uint16_t)(rq->command | PACS_DIMSE_RSP_BIT));
	rsp->message_id_responded = rq->message_id;
	rsp->status = status;
	rsp->present = PACS_DIMSE_F_MESSAGE_ID_RESPONDED | PACS_DIMSE_F_STATUS;
	/* PS3.7 9.3 / 10.3: the response's Affected SOP Class/Instance UID is
	 * U(=), equal to the request's affected (C- services, N-CREATE,
	 * N-EVENT-REPORT) or requested (N-GET/SET/ACTION/DELETE) one. */
	const char *cls = NULL, *inst = NULL;
	if (rq->present & PACS_DIMSE_F_AFFECTED_SOP_CLASS)
		cls = rq->affected_sop_class;
	else if (rq->present & PACS_DIMSE_F_REQUESTED_SOP_CLASS)
		cls = rq->requested_sop_class;
	if (rq->present & PACS_DIMSE_F_AFFECTED_SOP_INSTANCE)
		inst = rq->affected_sop_instance;
	else if (rq->present & PACS_DIMSE_F_REQUESTED_SOP_INSTANCE)
		inst = rq->requested_sop_instance;
	if (cls != NULL) {
		memcpy(rsp->affected_sop_class, cls, sizeof rsp->affected_sop_class);
		rsp->present |= PACS_DIMSE_F_AFFECTED_SOP_CLASS;
	}
	if (inst != NULL) {
		memcpy(rsp->affected_sop_instance, inst, sizeof rsp->affected_sop_instance);
		rsp->present |= PACS_DIMSE_F_AFFECTED_SOP_INSTANCE;
	}
	return 0;
}

