/* pacs_charset_iso2022.c - the ISO 2022 G0/G1 state machine of PS3.5
 * 6.1.2.5, used for the default repertoire, the single-byte sets (which
 * are ISO 2022 without designations) and the sets with code extensions.
 *
 * DICOM uses 8-bit ISO 2022 with two code elements: G0 invoked in GL
 * (bytes 0x21-0x7E) and G1 invoked in GR (0xA1-0xFE, 0xA0-0xFF for
 * 96-sets); escape sequences (PS3.3 Tables C.12-3, C.12-4) designate a
 * set to G0 or G1, there are no locking or single shifts.  The sets of
 * value 1 of (0008,0005) are designated at the start of every value and,
 * by PS3.5 6.1.2.5.3, again after every delimiter: CR, LF, FF, TAB (any
 * control character but ESC), the '\' between values and, in PN, the '^'
 * and '=' between components and component groups.  A delimiter byte is
 * one only while G0 holds a single-byte set (ISO-IR 6 or 14): inside a
 * JIS X 0208 character 0x5C is just half of that character.
 *
 * Leniency, because real archives hold values that bend the rules:
 *  - a GR byte while G1 is undefined (default repertoire, or value 1 empty
 *    and nothing designated yet) is read as ISO 8859-1;
 *  - when value 1 leaves G1 undefined, a delimiter does not undesignate
 *    the G1 set a writer designated once for the whole value;
 *  - ISO-IR 6, ISO-IR 14 and ISO-IR 13 may be designated even if
 *    (0008,0005) does not list them (ESC ( J and ESC ( B are common in
 *    Japanese values), as may the aliases of pacs_charset_term.c. */
#include "pacs_charset_priv.h"

#include "arca_err.h"

#define ESC 0x1B

typedef struct iso_state {
	uint8_t g0, g1;
} iso_state;

/* Bounded cursor over the value being decoded. */
typedef struct cs_cursor {
	const uint8_t *p;
	size_t len, pos;
} cs_cursor;

static bool cur_peek(const cs_cursor *c, size_t ahead, uint8_t *b)
{
	if (ahead >= c->len - c->pos)
		return false;
	*b = c->p[c->pos + ahead];
	return true;
}

/* Text VRs hold one value, so '\' is a character there (PS3.5 6.2). */
static bool vr_is_text(pacs_vr vr)
{
	return vr == PACS_VR_LT || vr == PACS_VR_ST || vr == PACS_VR_UT || vr == PACS_VR_UR;
}

static bool is_delimiter(pacs_vr vr, uint32_t c)
{
	if (c == '\\')
		return !vr_is_text(vr);
	if (c == '^' || c == '=')
		return vr == PACS_VR_PN;
	return false;
}

static void state_initial(const pacs_charset *cs, iso_state *st)
{
	st->g0 = cs->init_g0;
	st->g1 = cs->init_g1;
}

/* At a delimiter: back to the sets of value 1 (see leniency above). */
static void state_reset(const pacs_charset *cs, iso_state *st)
{
	st->g0 = cs->init_g0;
	if (cs->init_g1 != CS_SET_NONE)
		st->g1 = cs->init_g1;
}

static const char *set_name(unsigned set)
{
	const pacs_cs_set_info *info = pacs_charset__set_info(set);

	return info != NULL ? info->name : "no character set (G1 undefined)";
}

static int bad_byte(uint8_t b, size_t at, unsigned set)
{
	return arca_error_set(ARCA_ECHARSET, "byte 0x%02X at offset %zu is not a character of %s",
			      b, at, set_name(set));
}

/* ---- decoding ---- */

static int take_escape(const pacs_charset *cs, cs_cursor *c, iso_state *st)
{
	uint8_t seq[4], b = 0;
	size_t at = c->pos, n = 0;
	unsigned set, g = 0;

	/* ISO 2022 escape sequence: ESC, intermediate bytes 02/00-02/15,
	 * one final byte 03/00-07/14. */
	for (;;) {
		if (!cur_peek(c, 1 + n, &b))
			return arca_error_set(ARCA_ECHARSET,
					      "escape sequence at offset %zu is cut off by the end of the value",
					      at);
		if (b >= 0x20 && b <= 0x2F && n + 1 < sizeof(seq)) {
			seq[n++] = b;
			continue;
		}
		if (b < 0x30 || b > 0x7E)
			return arca_error_set(ARCA_ECHARSET, "malformed escape sequence at offset %zu",
					      at);
		seq[n++] = b;
		break;
	}
	set = pacs_charset__set_from_escape(seq, n, &g);
	if (set == CS_SET_NONE) {
		char shown[16];
		size_t k = 0;

		for (size_t i = 0; i < n && k + 2 < sizeof(shown); i++) {
			shown[k++] = ' ';
			shown[k++] = (char)seq[i];
		}
		shown[k] = '\0';
		return arca_error_set(ARCA_ECHARSET,
				      "escape sequence ESC%s at offset %zu designates no character set "
				      "of PS3.3 Tables C.12-3/C.12-4", shown, at);
	}
	if (!cs->avail[set])
		return arca_error_set(ARCA_ECHARSET,
				      "escape sequence at offset %zu designates %s, which Specific "
				      "Character Set (0008,0005) does not list", at, set_name(set));
	if (g == 0)
		st->g0 = (uint8_t)set;
	else
		st->g1 = (uint8_t)set;
	c->pos += 1 + n;
	return 0;
}

/* One 94x94 character: r and col are the 7-bit row and cell bytes. */
static int decode_double(pacs_cs_conv *cv, unsigned set, uint8_t r, uint8_t col, size_t at,
			 pacs_cs_buf *out)
{
	const pacs_cs_set_info *info = pacs_charset__set_info(set);
	uint8_t euc[3];
	size_t n = 0;
	int rc;

	if (r < 0x21 || r > 0x7E || col < 0x21 || col > 0x7E)
		return arca_error_set(ARCA_ECHARSET,
				      "bytes at offset %zu are not a double-byte character of %s", at,
				      info->name);
	if (set == CS_SET_JISX0212)
		euc[n++] = 0x8F; /* EUC-JP code set 3 */
	euc[n++] = (uint8_t)(r | 0x80);
	euc[n++] = (uint8_t)(col | 0x80);
	rc = pacs_charset__iconv_decode_char(cv, info->family, euc, n, out);
	if (rc == ARCA_ECHARSET)
		return arca_error_set(ARCA_ECHARSET,
				      "bytes 0x%02X 0x%02X at offset %zu are not a character of %s",
				      r, col, at, info->name);
	return rc;
}

static int decode_single(const pacs_charset *cs, unsigned set, uint8_t b, pacs_vr vr,
			 size_t at, pacs_cs_buf *out)
{
	uint8_t low = b & 0x7F;

	switch (set) {
	case CS_SET_NONE:
		/* Leniency: an undefined G1 reads as ISO 8859-1. */
		return pacs_charset__buf_cp(out, b);
	case CS_SET_ASCII:
		if (b >= 0x80)
			return bad_byte(b, at, set);
		return pacs_charset__buf_byte(out, b);
	case CS_SET_JIS_ROMAN:
		/* JIS X 0201 Romaji differs from ASCII in two places: 05/12 is
		 * YEN SIGN (but still the value delimiter outside text VRs,
		 * handled by the caller) and 07/14 is OVERLINE. */
		if (b >= 0x80)
			return bad_byte(b, at, set);
		if (b == 0x5C && vr_is_text(vr))
			return pacs_charset__buf_cp(out, 0x00A5);
		if (b == 0x7E)
			return pacs_charset__buf_cp(out, 0x203E);
		return pacs_charset__buf_byte(out, b);
	case CS_SET_JIS_KATAKANA:
		/* JIS X 0201 Katakana 02/01-05/15 are, in order, U+FF61-U+FF9F
		 * (Unicode's halfwidth forms were made from this set), so no
		 * table or iconv is needed. */
		if (low < 0x21 || low > 0x5F)
			return bad_byte(b, at, set);
		return pacs_charset__buf_cp(out, 0xFF61u + (low - 0x21u));
	default: {
		uint16_t cp;

		/* A 96-set in GR; C1 bytes (0x80-0x9F) pass as the C1 controls
		 * that iconv's ISO 8859 decoders make of them. */
		if (b < 0x80)
			return bad_byte(b, at, set);
		if (b < 0xA0)
			return pacs_charset__buf_cp(out, b);
		cp = cs->sb96[set][b - 0xA0];
		if (cp == 0)
			return bad_byte(b, at, set);
		return pacs_charset__buf_cp(out, cp);
	}
	}
}

static bool is_double(unsigned set)
{
	const pacs_cs_set_info *info = pacs_charset__set_info(set);

	return info != NULL && info->shape == CS_SHAPE_94x94;
}

static int decode_graphic(const pacs_charset *cs, pacs_cs_conv *cv, cs_cursor *c,
			  iso_state *st, pacs_vr vr, pacs_cs_buf *out)
{
	size_t at = c->pos;
	uint8_t b = 0, b2 = 0;
	unsigned set;
	int rc;

	if (!cur_peek(c, 0, &b))
		return arca_error_set(ARCA_EINVAL, "ISO 2022 decoder read past the value");
	set = b < 0x80 ? st->g0 : st->g1;

	if (b < 0x80 && (set == CS_SET_ASCII || set == CS_SET_JIS_ROMAN) && is_delimiter(vr, b)) {
		state_reset(cs, st);
		c->pos++;
		return pacs_charset__buf_byte(out, b);
	}
	if (!is_double(set)) {
		rc = decode_single(cs, set, b, vr, at, out);
		if (rc == 0)
			c->pos++;
		return rc;
	}
	if (!cur_peek(c, 1, &b2) || (b2 & 0x80) != (b & 0x80))
		return arca_error_set(ARCA_ECHARSET,
				      "byte 0x%02X at offset %zu starts a double-byte character of %s "
				      "that is cut off", b, at, set_name(set));
	rc = decode_double(cv, set, b & 0x7F, b2 & 0x7F, at, out);
	if (rc == 0)
		c->pos += 2;
	return rc;
}

int pacs_charset__iso2022_decode(const pacs_charset *cs, pacs_vr vr, const uint8_t *in,
				 size_t len, pacs_cs_buf *out)
{
	cs_cursor c = { in, len, 0 };
	pacs_cs_conv cv;
	iso_state st;
	int rc = 0;

	pacs_charset__conv_init(&cv);
	state_initial(cs, &st);
	while (rc == 0 && c.pos < c.len) {
		uint8_t b = 0;

		cur_peek(&c, 0, &b);
		if (b == ESC && cs->extensions) {
			rc = take_escape(cs, &c, &st);
		} else if (b < 0x20) {
			/* Control characters (CR LF FF TAB ...) end the run. */
			state_reset(cs, &st);
			rc = pacs_charset__buf_byte(out, b);
			c.pos++;
		} else if (b == 0x20 || b == 0x7F) {
			/* SPACE and DELETE are not part of a 94-set: they stay
			 * themselves whatever G0 holds. */
			rc = pacs_charset__buf_byte(out, b);
			c.pos++;
		} else {
			rc = decode_graphic(cs, &cv, &c, &st, vr, out);
		}
	}
	pacs_charset__conv_close(&cv);
	return rc;
}

/* ---- encoding ---- */

/* Encodes cp in set; on success *n bytes in GL form (7-bit) are in b. */
static int encode_in_set(const pacs_charset *cs, pacs_cs_conv *cv, unsigned set, uint32_t cp,
			 pacs_vr vr, uint8_t b[3], size_t *n)
{
	const pacs_cs_set_info *info = pacs_charset__set_info(set);

	*n = 1;
	switch (set) {
	case CS_SET_ASCII:
		if (cp < 0x20 || cp > 0x7F)
			return ARCA_ECHARSET;
		b[0] = (uint8_t)cp;
		return 0;
	case CS_SET_JIS_ROMAN:
		if (cp == 0x00A5 && vr_is_text(vr))
			b[0] = 0x5C; /* outside text VRs 0x5C would split the value */
		else if (cp == 0x203E)
			b[0] = 0x7E;
		else if (cp >= 0x20 && cp <= 0x7F && cp != 0x5C && cp != 0x7E)
			b[0] = (uint8_t)cp;
		else
			return ARCA_ECHARSET;
		return 0;
	case CS_SET_JIS_KATAKANA:
		if (cp < 0xFF61 || cp > 0xFF9F)
			return ARCA_ECHARSET;
		b[0] = (uint8_t)(0x21 + (cp - 0xFF61));
		return 0;
	default:
		break;
	}
	if (info == NULL)
		return ARCA_ECHARSET;
	if (info->shape == CS_SHAPE_96) {
		if (cp < 0xA0 || cp > 0xFFFF)
			return ARCA_ECHARSET;
		for (unsigned i = 0; i < 96; i++) {
			if (cs->sb96[set][i] == cp) {
				b[0] = (uint8_t)(0x20 + i);
				return 0;
			}
		}
		return ARCA_ECHARSET;
	}
	if (info->shape == CS_SHAPE_94x94 && cp >= 0x80) {
		uint8_t e[8];
		size_t en = 0, off = set == CS_SET_JISX0212 ? 1 : 0;
		int rc = pacs_charset__iconv_encode_char(cv, info->family, cp, e, &en);

		if (rc != 0)
			return rc;
		/* EUC-JP also encodes JIS X 0201 (0x8E prefix) and JIS X 0212
		 * (0x8F prefix): keep only the form of this set. */
		if (en != 2 + off || (off == 1 && e[0] != 0x8F) || e[off] < 0xA1 || e[off] > 0xFE ||
		    e[off + 1] < 0xA1 || e[off + 1] > 0xFE)
			return ARCA_ECHARSET;
		b[0] = e[off] & 0x7F;
		b[1] = e[off + 1] & 0x7F;
		*n = 2;
		return 0;
	}
	return ARCA_ECHARSET;
}

static int designate(pacs_cs_buf *out, unsigned set)
{
	const pacs_cs_set_info *info = pacs_charset__set_info(set);
	int rc = pacs_charset__buf_byte(out, ESC);

	if (rc == 0)
		rc = pacs_charset__buf_put(out, info->esc, info->esc_len);
	return rc;
}

/* PS3.5 6.1.2.5.3: the sets of value 1 must be active again before a
 * delimiter and at the end of the value. */
static int return_to_initial(const pacs_charset *cs, iso_state *st, pacs_cs_buf *out)
{
	int rc = 0;

	if (st->g0 != cs->init_g0) {
		rc = designate(out, cs->init_g0);
		st->g0 = cs->init_g0;
	}
	if (rc == 0 && cs->init_g1 != CS_SET_NONE && st->g1 != cs->init_g1) {
		rc = designate(out, cs->init_g1);
		st->g1 = cs->init_g1;
	}
	return rc;
}

static int encode_char(const pacs_charset *cs, pacs_cs_conv *cv, iso_state *st, uint32_t cp,
		       pacs_vr vr, size_t at, pacs_cs_buf *out)
{
	uint8_t b[3];
	size_t n = 0;
	unsigned set = CS_SET_NONE;
	int rc = ARCA_ECHARSET;

	/* The first set in value order that has the character. */
	for (unsigned i = 0; i < cs->norder && rc == ARCA_ECHARSET; i++) {
		set = cs->order[i];
		rc = encode_in_set(cs, cv, set, cp, vr, b, &n);
	}
	if (rc == ARCA_ECHARSET)
		return arca_error_set(ARCA_ECHARSET,
				      "character U+%04X at offset %zu has no encoding in Specific "
				      "Character Set '%s'", (unsigned)cp, at, cs->label);
	if (rc < 0)
		return rc;
	if (pacs_charset__set_info(set)->g == 0) {
		if (st->g0 != set) {
			rc = designate(out, set);
			st->g0 = (uint8_t)set;
		}
	} else {
		if (st->g1 != set) {
			rc = designate(out, set);
			st->g1 = (uint8_t)set;
		}
		for (size_t i = 0; i < n; i++)
			b[i] |= 0x80;
	}
	if (rc == 0)
		rc = pacs_charset__buf_put(out, b, n);
	return rc;
}

int pacs_charset__iso2022_encode(const pacs_charset *cs, pacs_vr vr, const uint8_t *in,
				 size_t len, pacs_cs_buf *out)
{
	pacs_cs_conv cv;
	iso_state st;
	size_t pos = 0;
	int rc = 0;

	pacs_charset__conv_init(&cv);
	state_initial(cs, &st);
	while (rc == 0 && pos < len) {
		size_t at = pos;
		uint32_t cp;

		if (pacs_charset__utf8_next(in, len, &pos, &cp) < 0) {
			rc = arca_error_set(ARCA_ECHARSET, "invalid UTF-8 at offset %zu", at);
		} else if (cp == ESC) {
			rc = arca_error_set(ARCA_ECHARSET,
					    "ESC at offset %zu cannot be encoded: it would start an "
					    "ISO 2022 escape sequence", at);
		} else if (cp < 0x20 || is_delimiter(vr, cp)) {
			rc = return_to_initial(cs, &st, out);
			/* After the delimiter G1 is value 1's again, even if
			 * that is "undefined": the next G1 character is
			 * designated anew, as in PS3.5 Examples I.2-1, K.2-1. */
			st.g1 = cs->init_g1;
			if (rc == 0)
				rc = pacs_charset__buf_byte(out, (uint8_t)cp);
		} else {
			rc = encode_char(cs, &cv, &st, cp, vr, at, out);
		}
	}
	if (rc == 0)
		rc = return_to_initial(cs, &st, out);
	pacs_charset__conv_close(&cv);
	return rc;
}
