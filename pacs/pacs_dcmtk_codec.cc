/* pacs_dcmtk_codec.cc - the DCMTK adapter: JPEG and JPEG-LS frame decoding
 * through DCMTK's dcmjpeg and dcmjpls (design decision: DCMTK's codec
 * libraries behind one thin file with a C interface).
 *
 * Route: for each frame, a minimal DcmDataset is built in memory with the
 * Image Pixel Module attributes of the frame (Number of Frames 1, Planar
 * Configuration 0) and a pixel sequence holding an empty Basic Offset
 * Table and the frame's bytes as one fragment (PS3.5 A.4); then
 * DcmPixelData::getUncompressedFrame() runs the registered DCMTK codec on
 * frame 0 (DJCodecDecoder::decodeFrame / DJLSDecoderBase::decodeFrame,
 * the same code dcmdjpeg and dcmdjpls run, with their default color
 * conversion) and reports the decompressed color model.  This keeps the
 * adapter at the level of DCMTK's public data set API: no IJG or CharLS
 * call is made here, and nothing has to replicate DCMTK's choice of 8-,
 * 12- or 16-bit IJG library, its color handling or its byte order rules.
 *
 * The codecs are registered once per process (std::call_once); DCMTK's
 * codec list is safe to use from several threads once registered.
 * DCMTK's logger is switched off: library code never prints, and the
 * condition text of a failure becomes the arca error message instead.
 * Every entry point catches all exceptions. */
#include "pacs_dcmtk_codec.h"

#include <cstring>
#include <mutex>
#include <new>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

extern "C" {
#include "arca_err.h"
#include "pacs_ts.h"
}

namespace {

std::once_flag registration_once;

void register_codecs()
{
	OFLog::configure(OFLogger::OFF_LOG_LEVEL);
	/* dcmdjpeg's defaults: color conversion when the DICOM photometric
	 * interpretation is YCbCr; never a new SOP Instance UID (a frame
	 * decoder has no say in identity). */
	DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_never);
	DJLSDecoderRegistration::registerCodecs(EJLSUC_never);
}

E_TransferSyntax dcmtk_xfer(const char *ts_uid)
{
	static const char *const uids[] = {
		PACS_TS_JPEG_BASELINE, PACS_TS_JPEG_EXTENDED, PACS_TS_JPEG_LOSSLESS,
		PACS_TS_JPEG_LOSSLESS_SV1, PACS_TS_JPEGLS_LOSSLESS, PACS_TS_JPEGLS_NEAR,
	};
	const pacs_ts_info *ts = pacs_ts_lookup(ts_uid);

	if (ts == NULL)
		return EXS_Unknown;
	for (const char *uid : uids)
		if (std::strcmp(ts->uid, uid) == 0)
			return DcmXfer(uid).getXfer();
	return EXS_Unknown;
}

/* Builds the one-frame data set; the pixel sequence takes a copy of src. */
OFCondition build_dataset(DcmDataset &ds, const pacs_pixel_desc *d, E_TransferSyntax xfer,
			  const uint8_t *src, size_t len)
{
	OFCondition c = ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(d->rows));
	if (c.good())
		c = ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(d->columns));
	if (c.good())
		c = ds.putAndInsertUint16(DCM_SamplesPerPixel, d->samples_per_pixel);
	if (c.good())
		c = ds.putAndInsertUint16(DCM_BitsAllocated, d->bits_allocated);
	if (c.good())
		c = ds.putAndInsertUint16(DCM_BitsStored, d->bits_stored);
	if (c.good())
		c = ds.putAndInsertUint16(DCM_HighBit, d->high_bit);
	if (c.good())
		c = ds.putAndInsertUint16(DCM_PixelRepresentation, d->pixel_representation);
	if (c.good())
		c = ds.putAndInsertString(DCM_PhotometricInterpretation,
					  d->photometric[0] ? d->photometric : "MONOCHROME2");
	if (c.good() && d->samples_per_pixel > 1)
		c = ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
	if (c.good())
		c = ds.putAndInsertString(DCM_NumberOfFrames, "1");
	if (c.bad())
		return c;

	DcmPixelSequence *seq = new DcmPixelSequence(DCM_PixelSequenceTag);
	DcmPixelItem *table = new DcmPixelItem(DCM_PixelItemTag);
	c = seq->insert(table);
	if (c.bad()) {
		delete table;
		delete seq;
		return c;
	}
	DcmPixelItem *frag = new DcmPixelItem(DCM_PixelItemTag);
	c = frag->putUint8Array(src, static_cast<Uint32>(len));
	if (c.good())
		c = seq->insert(frag);
	else
		delete frag;
	if (c.bad()) {
		delete seq;
		return c;
	}
	DcmPixelData *pixels = new DcmPixelData(DCM_PixelData);
	pixels->putOriginalRepresentation(xfer, NULL, seq);
	c = ds.insert(pixels, true);
	if (c.bad())
		delete pixels;
	return c;
}

int decode(E_TransferSyntax xfer, const pacs_pixel_desc *d, const uint8_t *src, size_t len,
	   uint8_t *dst, size_t dst_len, char photometric[17])
{
	DcmDataset ds;
	OFCondition c = build_dataset(ds, d, xfer, src, len);
	if (c.bad())
		return arca_error_set(c == EC_MemoryExhausted ? ARCA_ENOMEM : ARCA_EPROTO,
				      "DCMTK: cannot build the frame's data set: %s", c.text());

	DcmElement *elem = NULL;
	c = ds.findAndGetElement(DCM_PixelData, elem);
	if (c.bad() || elem == NULL)
		return arca_error_set(ARCA_EGENERIC, "DCMTK: pixel data vanished from the frame's data set");
	DcmPixelData *pixels = static_cast<DcmPixelData *>(elem);

	/* The decoders want an even buffer (they may swap 16-bit words);
	 * they write exactly one frame into it. */
	size_t buf_len = dst_len + (dst_len & 1u);
	Uint8 *buf = new Uint8[buf_len];
	Uint32 start_fragment = 1; /* item 0 is the Basic Offset Table */
	OFString model;
	c = pixels->getUncompressedFrame(&ds, 0, start_fragment, buf, static_cast<Uint32>(buf_len), model);
	if (c.good())
		std::memcpy(dst, buf, dst_len);
	delete[] buf;
	if (c == EC_MemoryExhausted)
		return arca_error_set(ARCA_ENOMEM, "DCMTK: out of memory decoding a frame");
	if (c.bad())
		return arca_error_set(ARCA_EPROTO, "%s frame: %s", DcmXfer(xfer).getXferName(), c.text());
	if (model.length() > 16)
		return arca_error_set(ARCA_EPROTO, "DCMTK reported the color model \"%.20s...\"", model.c_str());
	std::memcpy(photometric, model.c_str(), model.length() + 1);
	return 0;
}

} /* namespace */

extern "C" bool pacs_dcmtk_can_decode(const char *ts_uid)
{
	return dcmtk_xfer(ts_uid) != EXS_Unknown;
}

extern "C" int pacs_dcmtk_decode_frame(const char *ts_uid, const pacs_pixel_desc *d, const uint8_t *src,
				       size_t len, uint8_t *dst, size_t dst_len, char photometric[17])
{
	try {
		E_TransferSyntax xfer = dcmtk_xfer(ts_uid);
		if (xfer == EXS_Unknown)
			return arca_error_set(ARCA_EUNSUPPORTED, "transfer syntax %s is not one the DCMTK "
					      "adapter decodes (JPEG .50 .51 .57 .70, JPEG-LS .80 .81)", ts_uid);
		/* DCMTK's image attributes are US and its item lengths 32-bit. */
		if (d->rows > 0xFFFFu || d->columns > 0xFFFFu || len > 0xFFFFFFF0u || dst_len > 0xFFFFFFF0u)
			return arca_error_set(ARCA_ELIMIT, "frame too large for the DCMTK decoder");
		std::call_once(registration_once, register_codecs);
		return decode(xfer, d, src, len, dst, dst_len, photometric);
	} catch (const std::bad_alloc &) {
		return arca_error_set(ARCA_ENOMEM, "DCMTK: out of memory decoding a frame");
	} catch (const std::exception &e) {
		return arca_error_set(ARCA_EGENERIC, "DCMTK: %s", e.what());
	} catch (...) {
		return arca_error_set(ARCA_EGENERIC, "DCMTK: unknown exception decoding a frame");
	}
}
