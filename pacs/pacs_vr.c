/* pacs_vr.c - Value Representation properties (PS3.5 6.2, 7.1.2). */
#include "pacs_vr.h"

static const char vr_names[PACS_VR_COUNT][3] = {
	"??", "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO",
	"LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS",
	"ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
	"xs", "ox", "px", "lt", "up", "na",
};

pacs_vr pacs_vr_from_chars(char c0, char c1)
{
	/* Linear over 34 entries is fast enough and obviously right; the
	 * reader calls it once per explicit-VR element. */
	for (int i = PACS_VR_AE; i < PACS_VR_COUNT_REAL; i++)
		if (vr_names[i][0] == c0 && vr_names[i][1] == c1)
			return (pacs_vr)i;
	return PACS_VR_NONE;
}

const char *pacs_vr_name(pacs_vr vr)
{
	if ((unsigned)vr >= PACS_VR_COUNT)
		return "??";
	return vr_names[vr];
}

bool pacs_vr_has_long_length(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_OB: case PACS_VR_OD: case PACS_VR_OF: case PACS_VR_OL:
	case PACS_VR_OV: case PACS_VR_OW: case PACS_VR_SQ: case PACS_VR_SV:
	case PACS_VR_UC: case PACS_VR_UN: case PACS_VR_UR: case PACS_VR_UT:
	case PACS_VR_UV:
		return true;
	default:
		return false;
	}
}

bool pacs_vr_is_string(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_AE: case PACS_VR_AS: case PACS_VR_CS: case PACS_VR_DA:
	case PACS_VR_DS: case PACS_VR_DT: case PACS_VR_IS: case PACS_VR_LO:
	case PACS_VR_LT: case PACS_VR_PN: case PACS_VR_SH: case PACS_VR_ST:
	case PACS_VR_TM: case PACS_VR_UC: case PACS_VR_UI: case PACS_VR_UR:
	case PACS_VR_UT:
		return true;
	default:
		return false;
	}
}

bool pacs_vr_uses_charset(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_SH: case PACS_VR_LO: case PACS_VR_ST: case PACS_VR_LT:
	case PACS_VR_PN: case PACS_VR_UC: case PACS_VR_UT:
		return true;
	default:
		return false;
	}
}

unsigned pacs_vr_swap_unit(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_US: case PACS_VR_SS: case PACS_VR_OW: case PACS_VR_AT:
	case PACS_VR_xs: case PACS_VR_lt: case PACS_VR_ox: case PACS_VR_px:
		return 2;
	case PACS_VR_UL: case PACS_VR_SL: case PACS_VR_FL: case PACS_VR_OF:
	case PACS_VR_OL: case PACS_VR_up:
		return 4;
	case PACS_VR_FD: case PACS_VR_OD: case PACS_VR_OV: case PACS_VR_SV:
	case PACS_VR_UV:
		return 8;
	case PACS_VR_OB: case PACS_VR_UN:
		return 1;
	default:
		return 0;
	}
}

bool pacs_vr_is_bulk(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_OB: case PACS_VR_OD: case PACS_VR_OF: case PACS_VR_OL:
	case PACS_VR_OV: case PACS_VR_OW: case PACS_VR_UN: case PACS_VR_ox:
	case PACS_VR_px:
		return true;
	default:
		return false;
	}
}

uint8_t pacs_vr_pad_byte(pacs_vr vr)
{
	if (vr == PACS_VR_UI)
		return 0;
	return pacs_vr_is_string(vr) ? ' ' : 0;
}

unsigned pacs_vr_value_size(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_US: case PACS_VR_SS:
		return 2;
	case PACS_VR_UL: case PACS_VR_SL: case PACS_VR_FL: case PACS_VR_AT:
		return 4;
	case PACS_VR_FD: case PACS_VR_SV: case PACS_VR_UV:
		return 8;
	default:
		return 0;
	}
}

pacs_vr pacs_vr_resolve_default(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_xs: return PACS_VR_US;
	case PACS_VR_ox: case PACS_VR_px: case PACS_VR_lt: return PACS_VR_OW;
	case PACS_VR_up: return PACS_VR_UL;
	case PACS_VR_na: return PACS_VR_UN;
	default: return vr;
	}
}
