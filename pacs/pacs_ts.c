/* pacs_ts.c - the transfer syntax table (PS3.6 Table A-1, PS3.5 Annex A). */
#include "pacs_ts.h"

#include <string.h>

/* uid, name, explicit, big endian, deflated, encapsulated, lossy, retired */
static const pacs_ts_info ts_table[] = {
	{ PACS_TS_IMPLICIT_LE, "Implicit VR Little Endian", false, false, false, false, false, false },
	{ PACS_TS_EXPLICIT_LE, "Explicit VR Little Endian", true, false, false, false, false, false },
	{ "1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", true, false, false, true, false, false },
	{ PACS_TS_DEFLATED_LE, "Deflated Explicit VR Little Endian", true, false, true, false, false, false },
	{ PACS_TS_EXPLICIT_BE, "Explicit VR Big Endian (retired)", true, true, false, false, false, true },
	{ PACS_TS_JPEG_BASELINE, "JPEG Baseline (Process 1)", true, false, false, true, true, false },
	{ PACS_TS_JPEG_EXTENDED, "JPEG Extended (Process 2 & 4)", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5) (retired)", true, false, false, true, true, true },
	{ "1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)", true, false, false, true, true, true },
	{ "1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)", true, false, false, true, true, true },
	{ "1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)", true, false, false, true, true, true },
	{ "1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)", true, false, false, true, true, true },
	{ PACS_TS_JPEG_LOSSLESS, "JPEG Lossless, Non-Hierarchical (Process 14)", true, false, false, true, false, false },
	{ "1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15) (retired)", true, false, false, true, false, true },
	{ PACS_TS_JPEG_LOSSLESS_SV1, "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", true, false, false, true, false, false },
	{ PACS_TS_JPEGLS_LOSSLESS, "JPEG-LS Lossless Image Compression", true, false, false, true, false, false },
	{ PACS_TS_JPEGLS_NEAR, "JPEG-LS Lossy (Near-Lossless) Image Compression", true, false, false, true, true, false },
	{ PACS_TS_J2K_LOSSLESS, "JPEG 2000 Image Compression (Lossless Only)", true, false, false, true, false, false },
	{ PACS_TS_J2K, "JPEG 2000 Image Compression", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)", true, false, false, true, false, false },
	{ "1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", true, false, false, true, false, false },
	{ "1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)", true, false, false, true, false, false },
	{ "1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", true, false, false, true, true, false },
	{ "1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", true, false, false, true, true, false },
	{ PACS_TS_RLE, "RLE Lossless", true, false, false, true, false, false },
};

static unsigned trimmed_len(const char *uid, unsigned len)
{
	while (len > 0 && (uid[len - 1] == '\0' || uid[len - 1] == ' '))
		len--;
	return len;
}

const pacs_ts_info *pacs_ts_lookup_n(const char *uid, unsigned len)
{
	len = trimmed_len(uid, len);
	for (unsigned i = 0; i < sizeof(ts_table) / sizeof(ts_table[0]); i++) {
		if (strlen(ts_table[i].uid) == len && memcmp(ts_table[i].uid, uid, len) == 0)
			return &ts_table[i];
	}
	return NULL;
}

const pacs_ts_info *pacs_ts_lookup(const char *uid)
{
	if (uid == NULL)
		return NULL;
	return pacs_ts_lookup_n(uid, (unsigned)strlen(uid));
}

const pacs_ts_info *pacs_ts_all(unsigned *n)
{
	*n = sizeof(ts_table) / sizeof(ts_table[0]);
	return ts_table;
}

bool pacs_ts_is_encapsulated(const char *uid)
{
	const pacs_ts_info *ts = pacs_ts_lookup(uid);

	return ts == NULL || ts->encapsulated;
}
