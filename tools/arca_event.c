/* arca_event.c - placeholder until the chain events work package lands. */
#include "arca_event.h"

int arca_event_record(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
		      bool *durable)
{
	(void)conf;
	(void)e;
	(void)patient_id;
	(void)issuer;
	if (durable != NULL)
		*durable = false;
	return 0;
}
