/* pacs_charset_term.c - the Specific Character Set defined terms of
 * PS3.3 C.12.1.1.2 and the graphic character sets they name, as data:
 * Table C.12-2 (single-byte without code extensions), C.12-3 (single-byte
 * with code extensions), C.12-4 (multi-byte with code extensions) and
 * C.12-5 (multi-byte without code extensions). */
#include "pacs_charset_priv.h"

#include <string.h>

/* Indexed by enum pacs_cs_set.  The escape sequences are those of Tables
 * C.12-3 and C.12-4 (ESC 02/13 04/01 is written '-', 'A'). */
static const pacs_cs_set_info set_table[CS_SET_COUNT] = {
	[CS_SET_ASCII] = { "ISO-IR 6", CS_SHAPE_94, 0, 2, { '(', 'B' }, NULL, 0 },
	[CS_SET_JIS_ROMAN] = { "ISO-IR 14", CS_SHAPE_94, 0, 2, { '(', 'J' }, NULL, 0 },
	[CS_SET_JIS_KATAKANA] = { "ISO-IR 13", CS_SHAPE_94, 1, 2, { ')', 'I' }, NULL, 0 },
	[CS_SET_LATIN1] = { "ISO-IR 100", CS_SHAPE_96, 1, 2, { '-', 'A' }, "ISO-8859-1", 0 },
	[CS_SET_LATIN2] = { "ISO-IR 101", CS_SHAPE_96, 1, 2, { '-', 'B' }, "ISO-8859-2", 0 },
	[CS_SET_LATIN3] = { "ISO-IR 109", CS_SHAPE_96, 1, 2, { '-', 'C' }, "ISO-8859-3", 0 },
	[CS_SET_LATIN4] = { "ISO-IR 110", CS_SHAPE_96, 1, 2, { '-', 'D' }, "ISO-8859-4", 0 },
	[CS_SET_CYRILLIC] = { "ISO-IR 144", CS_SHAPE_96, 1, 2, { '-', 'L' }, "ISO-8859-5", 0 },
	[CS_SET_ARABIC] = { "ISO-IR 127", CS_SHAPE_96, 1, 2, { '-', 'G' }, "ISO-8859-6", 0 },
	[CS_SET_GREEK] = { "ISO-IR 126", CS_SHAPE_96, 1, 2, { '-', 'F' }, "ISO-8859-7", 0 },
	[CS_SET_HEBREW] = { "ISO-IR 138", CS_SHAPE_96, 1, 2, { '-', 'H' }, "ISO-8859-8", 0 },
	[CS_SET_LATIN5] = { "ISO-IR 148", CS_SHAPE_96, 1, 2, { '-', 'M' }, "ISO-8859-9", 0 },
	[CS_SET_LATIN9] = { "ISO-IR 203", CS_SHAPE_96, 1, 2, { '-', 'b' }, "ISO-8859-15", 0 },
	/* Table C.12-2 gives ISO-IR 166 (TIS 620-2533) 88 characters; it is
	 * designated like a 96-set (ESC 02/13 05/04). */
	[CS_SET_THAI] = { "ISO-IR 166", CS_SHAPE_96, 1, 2, { '-', 'T' }, "TIS-620", 0 },
	[CS_SET_JISX0208] = { "ISO-IR 87", CS_SHAPE_94x94, 0, 2, { '$', 'B' }, NULL, CS_FAM_EUC_JP },
	[CS_SET_JISX0212] = { "ISO-IR 159", CS_SHAPE_94x94, 0, 3, { '$', '(', 'D' }, NULL,
			      CS_FAM_EUC_JP },
	[CS_SET_KSX1001] = { "ISO-IR 149", CS_SHAPE_94x94, 1, 3, { '$', ')', 'C' }, NULL,
			     CS_FAM_EUC_KR },
	[CS_SET_GB2312] = { "ISO-IR 58", CS_SHAPE_94x94, 1, 3, { '$', ')', 'A' }, NULL,
			    CS_FAM_EUC_CN },
};

const pacs_cs_set_info *pacs_charset__set_info(unsigned set)
{
	if (set == CS_SET_NONE || set >= CS_SET_COUNT)
		return NULL;
	return &set_table[set];
}

/* Escape sequences accepted besides the ones above, as written by real
 * (mostly Japanese, ISO-2022-JP-minded) systems: JIS X 0201 Katakana
 * designated to G0, JIS C 6226-1978 (ESC $ @, a subset of JIS X 0208 for
 * decoding) and the long form ESC $ ( B of JIS X 0208. */
static const struct {
	uint8_t len;
	char seq[3];
	uint8_t set, g;
} escape_aliases[] = {
	{ 2, { '(', 'I' }, CS_SET_JIS_KATAKANA, 0 },
	{ 2, { '$', '@' }, CS_SET_JISX0208, 0 },
	{ 3, { '$', '(', 'B' }, CS_SET_JISX0208, 0 },
};

unsigned pacs_charset__set_from_escape(const uint8_t *seq, size_t len, unsigned *g)
{
	for (unsigned s = CS_SET_NONE + 1; s < CS_SET_COUNT; s++) {
		if (set_table[s].esc_len == len && memcmp(set_table[s].esc, seq, len) == 0) {
			*g = set_table[s].g;
			return s;
		}
	}
	for (size_t i = 0; i < sizeof(escape_aliases) / sizeof(escape_aliases[0]); i++) {
		if (escape_aliases[i].len == len && memcmp(escape_aliases[i].seq, seq, len) == 0) {
			*g = escape_aliases[i].g;
			return escape_aliases[i].set;
		}
	}
	return CS_SET_NONE;
}

/* ---- defined terms ---- */

#define T_SB(term, g1) { term, CS_KIND_ISO2022, false, false, CS_SET_ASCII, g1 }
#define T_EXT(term, g1) { term, CS_KIND_ISO2022, true, false, CS_SET_ASCII, g1 }

static const pacs_cs_term term_table[] = {
	/* Table C.12-2: without code extensions; G0 is ISO-IR 6 except for
	 * ISO_IR 13, whose G0 is JIS X 0201 Romaji (ISO-IR 14). */
	{ "", CS_KIND_ISO2022, false, false, CS_SET_ASCII, CS_SET_NONE },
	T_SB("ISO_IR 100", CS_SET_LATIN1),
	T_SB("ISO_IR 101", CS_SET_LATIN2),
	T_SB("ISO_IR 109", CS_SET_LATIN3),
	T_SB("ISO_IR 110", CS_SET_LATIN4),
	T_SB("ISO_IR 144", CS_SET_CYRILLIC),
	T_SB("ISO_IR 127", CS_SET_ARABIC),
	T_SB("ISO_IR 126", CS_SET_GREEK),
	T_SB("ISO_IR 138", CS_SET_HEBREW),
	T_SB("ISO_IR 148", CS_SET_LATIN5),
	T_SB("ISO_IR 203", CS_SET_LATIN9),
	{ "ISO_IR 13", CS_KIND_ISO2022, false, false, CS_SET_JIS_ROMAN, CS_SET_JIS_KATAKANA },
	T_SB("ISO_IR 166", CS_SET_THAI),
	/* Table C.12-3: with code extensions. */
	T_EXT("ISO 2022 IR 6", CS_SET_NONE),
	T_EXT("ISO 2022 IR 100", CS_SET_LATIN1),
	T_EXT("ISO 2022 IR 101", CS_SET_LATIN2),
	T_EXT("ISO 2022 IR 109", CS_SET_LATIN3),
	T_EXT("ISO 2022 IR 110", CS_SET_LATIN4),
	T_EXT("ISO 2022 IR 144", CS_SET_CYRILLIC),
	T_EXT("ISO 2022 IR 127", CS_SET_ARABIC),
	T_EXT("ISO 2022 IR 126", CS_SET_GREEK),
	T_EXT("ISO 2022 IR 138", CS_SET_HEBREW),
	T_EXT("ISO 2022 IR 148", CS_SET_LATIN5),
	T_EXT("ISO 2022 IR 203", CS_SET_LATIN9),
	{ "ISO 2022 IR 13", CS_KIND_ISO2022, true, false, CS_SET_JIS_ROMAN, CS_SET_JIS_KATAKANA },
	T_EXT("ISO 2022 IR 166", CS_SET_THAI),
	/* Table C.12-4: multi-byte with code extensions. */
	{ "ISO 2022 IR 87", CS_KIND_ISO2022, true, true, CS_SET_JISX0208, CS_SET_NONE },
	{ "ISO 2022 IR 159", CS_KIND_ISO2022, true, true, CS_SET_JISX0212, CS_SET_NONE },
	{ "ISO 2022 IR 149", CS_KIND_ISO2022, true, true, CS_SET_NONE, CS_SET_KSX1001 },
	{ "ISO 2022 IR 58", CS_KIND_ISO2022, true, true, CS_SET_NONE, CS_SET_GB2312 },
	/* Table C.12-5: multi-byte without code extensions. */
	{ "ISO_IR 192", CS_KIND_UTF8, false, false, CS_SET_NONE, CS_SET_NONE },
	{ "GB18030", CS_KIND_GB18030, false, false, CS_SET_NONE, CS_SET_NONE },
	{ "GBK", CS_KIND_GBK, false, false, CS_SET_NONE, CS_SET_NONE },
};

/* Names seen in the wild for the terms above (normalised form, see
 * normalise()); "ISO-IR 100", "ISO_IR100", "iso_ir 100" need no alias. */
static const struct {
	const char *key;
	const char *term;
} term_aliases[] = {
	{ "ISOIR6", "" },
	{ "ISO88591", "ISO_IR 100" },  { "ISO88592", "ISO_IR 101" },
	{ "ISO88593", "ISO_IR 109" },  { "ISO88594", "ISO_IR 110" },
	{ "ISO88595", "ISO_IR 144" },  { "ISO88596", "ISO_IR 127" },
	{ "ISO88597", "ISO_IR 126" },  { "ISO88598", "ISO_IR 138" },
	{ "ISO88599", "ISO_IR 148" },  { "ISO885915", "ISO_IR 203" },
	{ "TIS620", "ISO_IR 166" },    { "UTF8", "ISO_IR 192" },
};

#define TERM_KEY_MAX 24

/* Upper-cases and drops ' ', '_' and '-', so that the spellings of one
 * term compare equal.  Returns the key length, or 0 if it does not fit. */
static size_t normalise(const uint8_t *s, size_t len, char key[TERM_KEY_MAX + 1])
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];

		if (c == ' ' || c == '_' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 'a' + 'A');
		if (n == TERM_KEY_MAX)
			return 0;
		key[n++] = (char)c;
	}
	key[n] = '\0';
	return n;
}

static const pacs_cs_term *term_by_name(const char *term)
{
	for (size_t i = 0; i < sizeof(term_table) / sizeof(term_table[0]); i++)
		if (strcmp(term_table[i].term, term) == 0)
			return &term_table[i];
	return NULL;
}

const pacs_cs_term *pacs_charset__term_lookup(const uint8_t *s, size_t len)
{
	char key[TERM_KEY_MAX + 1], tkey[TERM_KEY_MAX + 1];
	size_t klen = normalise(s, len, key);

	if (klen == 0)
		return len == 0 ? &term_table[0] : NULL;
	for (size_t i = 1; i < sizeof(term_table) / sizeof(term_table[0]); i++) {
		const char *t = term_table[i].term;

		normalise((const uint8_t *)t, strlen(t), tkey);
		if (strcmp(key, tkey) == 0)
			return &term_table[i];
	}
	for (size_t i = 0; i < sizeof(term_aliases) / sizeof(term_aliases[0]); i++)
		if (strcmp(key, term_aliases[i].key) == 0)
			return term_by_name(term_aliases[i].term);
	return NULL;
}
