/* pacs_read_probe.c - which encoding a bare data set is in.
 *
 * A data set without File Meta Information (PS3.10 7.1 says a file has
 * one, but streams and old files often do not) carries no transfer syntax
 * UID, so the encoding is guessed from its first element headers (PS3.5
 * 7.1.1-7.1.3): in Explicit VR the two bytes after the tag are VR letters;
 * in Implicit VR they are the low half of a 32-bit length.  The byte order
 * is the one that gives the smaller, plausible group number.
 *
 * A File Meta group's transfer syntax is checked the same way
 * (pacs_read__probe_declared), as some writers mislabel the data set.
 *
 * Resynchronising: if no encoding is plausible at offset 0, offset 1 is
 * tried.  Some writers that strip the File Meta group leave one stray byte
 * in front of the data set (pydicom's no_meta.dcm starts with 0x20); the
 * skipped byte is not part of the data set. */
#include "pacs_read_priv.h"

#include "arca_err.h"
#include "pacs_cursor.h"

#define VR_IDX(a, b) (((a) - 'A') * 26 + ((b) - 'A'))

/* PS3.5 Table 6.2-1: every VR is two upper-case letters. */
const uint8_t pacs_read__vr_by_letters[26 * 26] = {
	[VR_IDX('A', 'E')] = PACS_VR_AE, [VR_IDX('A', 'S')] = PACS_VR_AS,
	[VR_IDX('A', 'T')] = PACS_VR_AT, [VR_IDX('C', 'S')] = PACS_VR_CS,
	[VR_IDX('D', 'A')] = PACS_VR_DA, [VR_IDX('D', 'S')] = PACS_VR_DS,
	[VR_IDX('D', 'T')] = PACS_VR_DT, [VR_IDX('F', 'D')] = PACS_VR_FD,
	[VR_IDX('F', 'L')] = PACS_VR_FL, [VR_IDX('I', 'S')] = PACS_VR_IS,
	[VR_IDX('L', 'O')] = PACS_VR_LO, [VR_IDX('L', 'T')] = PACS_VR_LT,
	[VR_IDX('O', 'B')] = PACS_VR_OB, [VR_IDX('O', 'D')] = PACS_VR_OD,
	[VR_IDX('O', 'F')] = PACS_VR_OF, [VR_IDX('O', 'L')] = PACS_VR_OL,
	[VR_IDX('O', 'V')] = PACS_VR_OV, [VR_IDX('O', 'W')] = PACS_VR_OW,
	[VR_IDX('P', 'N')] = PACS_VR_PN, [VR_IDX('S', 'H')] = PACS_VR_SH,
	[VR_IDX('S', 'L')] = PACS_VR_SL, [VR_IDX('S', 'Q')] = PACS_VR_SQ,
	[VR_IDX('S', 'S')] = PACS_VR_SS, [VR_IDX('S', 'T')] = PACS_VR_ST,
	[VR_IDX('S', 'V')] = PACS_VR_SV, [VR_IDX('T', 'M')] = PACS_VR_TM,
	[VR_IDX('U', 'C')] = PACS_VR_UC, [VR_IDX('U', 'I')] = PACS_VR_UI,
	[VR_IDX('U', 'L')] = PACS_VR_UL, [VR_IDX('U', 'N')] = PACS_VR_UN,
	[VR_IDX('U', 'R')] = PACS_VR_UR, [VR_IDX('U', 'S')] = PACS_VR_US,
	[VR_IDX('U', 'T')] = PACS_VR_UT, [VR_IDX('U', 'V')] = PACS_VR_UV,
};

/* A tag that can open a data set or follow another element: standard
 * groups up to pixel data, private groups, and the padding/signature
 * groups FFFA/FFFC.  Group 0000 (command sets) is allowed. */
static bool tag_plausible(uint16_t group)
{
	return group <= 0x7FFF || group == 0xFFFA || group == 0xFFFC;
}

/* Reads one header in enc; false when implausible or too short. */
static bool header_plausible(pacs_cursor *c, enum pacs_read__enc enc, uint32_t *tag,
			     uint32_t *len, bool *complete)
{
	bool be = enc == PACS_READ__EXPLICIT_BE;
	uint16_t g, e, l16;
	const uint8_t *vrc = NULL;

	*complete = false;
	if (!pacs_cursor_u16(c, be, &g) || !pacs_cursor_u16(c, be, &e) || !tag_plausible(g))
		return false;
	*tag = PACS_TAG(g, e);
	if (enc == PACS_READ__IMPLICIT_LE) {
		if (!pacs_cursor_u32le(c, len))
			return false;
		/* A first element longer than 16 MiB is more likely a
		 * misreading than a real value. */
		if (*len != PACS_UNDEFINED_LENGTH && *len > 0x01000000u)
			return false;
	} else {
		pacs_vr vr;
		if (!pacs_cursor_take(c, 2, &vrc))
			return false;
		vr = pacs_read__vr_from_chars(vrc[0], vrc[1]);
		if (vr == PACS_VR_NONE)
			return false;
		if (pacs_vr_has_long_length(vr)) {
			if (!pacs_cursor_skip(c, 2) || !pacs_cursor_u32(c, be, len))
				return false;
		} else {
			if (!pacs_cursor_u16(c, be, &l16))
				return false;
			*len = l16;
		}
	}
	if (*len == PACS_UNDEFINED_LENGTH)
		return true;
	*complete = pacs_cursor_left(c) == *len;
	return true;
}

/* 0: implausible, 1: the first header is plausible, 2: the first two
 * headers are plausible and ascending (or the first value ends the data). */
static int score(const uint8_t *p, size_t n, enum pacs_read__enc enc, uint16_t *group)
{
	pacs_cursor c = pacs_cursor_make(p, n);
	uint32_t tag1, tag2, len;
	bool complete;

	if (!header_plausible(&c, enc, &tag1, &len, &complete))
		return 0;
	*group = PACS_TAG_GROUP(tag1);
	if (complete)
		return 2;
	if (len == PACS_UNDEFINED_LENGTH || !pacs_cursor_skip(&c, len))
		return 1;
	if (!header_plausible(&c, enc, &tag2, &len, &complete) || tag2 <= tag1)
		return 1;
	return 2;
}

static int best_at(const uint8_t *p, size_t n, bool prefer_explicit_le, enum pacs_read__enc *enc)
{
	uint16_t g_le = 0xFFFF, g_be = 0xFFFF, g_im = 0xFFFF;
	int s_le = score(p, n, PACS_READ__EXPLICIT_LE, &g_le);
	int s_be = score(p, n, PACS_READ__EXPLICIT_BE, &g_be);
	int s_im = score(p, n, PACS_READ__IMPLICIT_LE, &g_im);
	int best = s_le;

	*enc = PACS_READ__EXPLICIT_LE;
	/* Both byte orders read VR letters: the smaller group wins, since
	 * data sets start with low groups (0008 rather than 0800). */
	if (s_be > best || (s_be == best && s_be > 0 && g_be < g_le)) {
		best = s_be;
		*enc = PACS_READ__EXPLICIT_BE;
	}
	if (s_im > best) {
		best = s_im;
		*enc = PACS_READ__IMPLICIT_LE;
	}
	if (prefer_explicit_le && s_le > 0 && s_le == best)
		*enc = PACS_READ__EXPLICIT_LE;
	return best;
}

int pacs_read__probe(const uint8_t *p, size_t n, bool prefer_explicit_le,
		     enum pacs_read__enc *enc, size_t *skip)
{
	enum pacs_read__enc e0, e1;
	int s0 = best_at(p, n, prefer_explicit_le, &e0);
	int s1 = 0;
	pacs_cursor c = pacs_cursor_make(p, n);
	const uint8_t *rest = NULL;

	if (s0 < 2 && pacs_cursor_skip(&c, 1) && pacs_cursor_take(&c, n - 1, &rest))
		s1 = best_at(rest, n - 1, prefer_explicit_le, &e1);
	if (s1 > s0) {
		*enc = e1;
		*skip = 1;
		return 0;
	}
	if (s0 > 0) {
		*enc = e0;
		*skip = 0;
		return 0;
	}
	return ARCA_ENOTFOUND;
}

enum pacs_read__enc pacs_read__probe_declared(const uint8_t *p, size_t n, enum pacs_read__enc declared)
{
	uint16_t g;
	int s_decl = score(p, n, declared, &g);
	enum pacs_read__enc other;
	int s_other = best_at(p, n, false, &other);

	if (s_decl < 2 && s_other == 2 && other != declared)
		return other;
	return declared;
}
