/* pacs_json.c - STUB: being written. */
#include "arca_err.h"
#include "pacs_json.h"
int pacs_json_encode(const pacs_ds *ds, unsigned flags, char **out, size_t *out_len) { (void)ds; (void)flags; *out = 0; *out_len = 0; return ARCA_EUNSUPPORTED; }
