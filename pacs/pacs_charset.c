/* pacs_charset.c - STUB: being written. */
#include "arca_err.h"
#include "pacs_charset.h"
int pacs_charset_open(pacs_charset **out, const uint8_t *value, size_t len) { *out = 0; (void)value; (void)len; return ARCA_EUNSUPPORTED; }
void pacs_charset_free(pacs_charset *cs) { (void)cs; }
int pacs_charset_to_utf8(const pacs_charset *cs, pacs_vr vr, const uint8_t *in, size_t len, char **out, size_t *out_len) { (void)cs; (void)vr; (void)in; (void)len; *out = 0; *out_len = 0; return ARCA_EUNSUPPORTED; }
