/* pacs_charset_iconv.c - the one place that calls glibc iconv and
 * translates its errors.
 *
 * Why these encodings: DICOM's ISO 2022 is not any of iconv's ISO-2022-*
 * variants (ISO-2022-JP has no 8-bit GR half for JIS X 0201 Katakana,
 * ISO-2022-KR wants SO/SI shifts, and none resets at the PN delimiters of
 * PS3.5 6.1.2.5.3), so the escape sequences are interpreted by our own
 * state machine (pacs_charset_iso2022.c) and iconv only maps characters:
 *  - a 94x94 set's two bytes, with the high bit set on each, are that
 *    character in the matching EUC encoding: JIS X 0208 in "EUC-JP",
 *    JIS X 0212 in "EUC-JP" behind its 0x8F (SS3) prefix, KS X 1001 in
 *    "EUC-KR" and GB 2312 in "EUC-CN".  DICOM designates KS X 1001 and
 *    GB 2312 to G1, so their bytes already are EUC; JIS X 0208/0212 sit in
 *    G0 (GL) and get the high bits added.
 *  - the ISO 8859 and TIS 620 96-sets become 96-entry tables built once
 *    per pacs_charset (pacs_charset__iconv_table96).
 *  - GB18030 and GBK are stateless, so whole values go through iconv.
 * Descriptors are opened when a value first needs them and closed when the
 * call ends: iconv_open+iconv_close measured 0.2 us here, less than keeping
 * descriptors in a shared object would cost in locking (an iconv_t holds
 * conversion state, so sharing one between threads is a data race). */
#include "pacs_charset_priv.h"

#include <errno.h>
#include <string.h>

#include "arca_err.h"

static const char *const fam_names[CS_FAM_COUNT] = {
	[CS_FAM_EUC_JP] = "EUC-JP",
	[CS_FAM_EUC_KR] = "EUC-KR",
	[CS_FAM_EUC_CN] = "EUC-CN",
	[CS_FAM_GB18030] = "GB18030",
	[CS_FAM_GBK] = "GBK",
};

#define CD_NONE ((iconv_t)-1)

void pacs_charset__conv_init(pacs_cs_conv *cv)
{
	for (unsigned f = 0; f < CS_FAM_COUNT; f++)
		cv->cd[f][0] = cv->cd[f][1] = CD_NONE;
}

void pacs_charset__conv_close(pacs_cs_conv *cv)
{
	for (unsigned f = 0; f < CS_FAM_COUNT; f++) {
		for (unsigned d = 0; d < 2; d++) {
			if (cv->cd[f][d] != CD_NONE)
				iconv_close(cv->cd[f][d]);
			cv->cd[f][d] = CD_NONE;
		}
	}
}

static int conv_get(pacs_cs_conv *cv, unsigned fam, int dir, iconv_t *out)
{
	iconv_t cd;

	if (fam == CS_FAM_NONE || fam >= CS_FAM_COUNT || (dir != 0 && dir != 1))
		return arca_error_set(ARCA_EINVAL, "character set conversion: bad family %u", fam);
	cd = cv->cd[fam][dir];
	if (cd == CD_NONE) {
		cd = dir == 0 ? iconv_open("UTF-8", fam_names[fam])
			      : iconv_open(fam_names[fam], "UTF-8");
		if (cd == CD_NONE)
			return arca_error_set(ARCA_EUNSUPPORTED,
					      "iconv cannot convert %s %s UTF-8: %s (are glibc's "
					      "gconv modules installed?)",
					      fam_names[fam], dir == 0 ? "to" : "from", strerror(errno));
		cv->cd[fam][dir] = cd;
	}
	*out = cd;
	return 0;
}

/* Converts in[0..len) into out[0..cap); returns the bytes written or -1 if
 * the input is not one complete, valid sequence.  The descriptor is reset
 * after a failure so the next call starts clean. */
static long convert_small(iconv_t cd, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	char ibuf[8];
	char *ip = ibuf, *op = (char *)out;
	size_t il = len, ol = cap;

	if (len > sizeof(ibuf))
		return -1;
	memcpy(ibuf, in, len);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0) {
		iconv(cd, NULL, NULL, NULL, NULL);
		return -1;
	}
	return (long)(cap - ol);
}

int pacs_charset__iconv_table96(const char *name, uint16_t table[96])
{
	iconv_t cd = iconv_open("UTF-8", name);

	if (cd == CD_NONE)
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "iconv cannot convert %s to UTF-8: %s (are glibc's gconv "
				      "modules installed?)", name, strerror(errno));
	for (unsigned i = 0; i < 96; i++) {
		uint8_t b = (uint8_t)(0xA0 + i), u[8];
		long n = convert_small(cd, &b, 1, u, sizeof(u));
		size_t pos = 0;
		uint32_t cp;

		table[i] = 0;
		if (n > 0 && pacs_charset__utf8_next(u, (size_t)n, &pos, &cp) == 0 &&
		    pos == (size_t)n && cp <= 0xFFFF)
			table[i] = (uint16_t)cp;
	}
	iconv_close(cd);
	return 0;
}

int pacs_charset__iconv_decode_char(pacs_cs_conv *cv, unsigned fam, const uint8_t *in,
				    size_t len, pacs_cs_buf *out)
{
	uint8_t u[16];
	iconv_t cd;
	long n;
	int rc = conv_get(cv, fam, 0, &cd);

	if (rc < 0)
		return rc;
	n = convert_small(cd, in, len, u, sizeof(u));
	if (n <= 0)
		return ARCA_ECHARSET;
	return pacs_charset__buf_put(out, u, (size_t)n);
}

int pacs_charset__iconv_encode_char(pacs_cs_conv *cv, unsigned fam, uint32_t cp,
				    uint8_t out[8], size_t *out_len)
{
	uint8_t u[4];
	iconv_t cd;
	long n;
	int rc = conv_get(cv, fam, 1, &cd);

	if (rc < 0)
		return rc;
	n = convert_small(cd, u, pacs_charset__utf8_put(cp, u), out, 8);
	if (n <= 0)
		return ARCA_ECHARSET;
	*out_len = (size_t)n;
	return 0;
}

int pacs_charset__iconv_value(pacs_cs_conv *cv, unsigned fam, int dir, const uint8_t *in,
			      size_t len, pacs_cs_buf *out, size_t *bad)
{
	/* iconv's input pointer is not const-qualified but is only read. */
	char *ip = (char *)in;
	size_t il = len;
	iconv_t cd;
	int rc = conv_get(cv, fam, dir, &cd);

	if (rc < 0)
		return rc;
	while (il > 0) {
		/* GB18030 <-> UTF-8 grows a byte by at most 2x (a 2-byte
		 * character becomes 3 UTF-8 bytes, 1 stays 1, 4 stays 4). */
		size_t room = il * 2 + 16, ol;
		char *op;

		rc = pacs_charset__buf_reserve(out, room);
		if (rc < 0)
			return rc;
		op = (char *)out->data + out->len;
		ol = room;
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != E2BIG) {
			out->len += room - ol;
			iconv(cd, NULL, NULL, NULL, NULL);
			*bad = len - il;
			return ARCA_ECHARSET;
		}
		out->len += room - ol;
	}
	return 0;
}
