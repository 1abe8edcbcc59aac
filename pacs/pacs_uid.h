/* pacs_uid.h - DICOM Unique Identifiers: the syntax check of PS3.5 9.1 and
 * new UIDs under the root 2.25 made from a UUID (PS3.5 B.2).
 *
 * A UID is a string of numeric components separated by '.', each a
 * decimal number without leading zeros (a lone "0" is allowed), at most
 * 64 characters in all (PS3.5 9.1; the UI VR of Table 6.2-1).  It is
 * <org root>.<suffix>, so a valid UID has at least two components. */
#ifndef PACS_UID_H
#define PACS_UID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PS3.5 9.1: at most 64 characters; buffers hold one more for the NUL. */
#define PACS_UID_MAX 64

/* 0 when s[0..len) is a valid UID.  Otherwise ARCA_EPROTO with a message
 * that says what is wrong and at which character ("component 3 has a
 * leading zero at offset 6").  Padding is not part of a UID: trim the
 * value's trailing NUL/space before calling. */
int pacs_uid_check(const char *s, size_t len);

/* The same test without touching the error message (for hot loops). */
bool pacs_uid_is_valid(const char *s, size_t len);

/* Writes "2.25." followed by the 128-bit UUID as an unsigned decimal
 * integer without leading zeros (PS3.5 B.2), NUL-terminated, into out
 * (at least PACS_UID_MAX + 1 bytes).  The UUID is taken as given (16
 * bytes, most significant first, as RFC 9562 writes it). */
void pacs_uid_from_uuid(char out[PACS_UID_MAX + 1], const uint8_t uuid[16]);

/* A new UID under 2.25 from a random (version 4, RFC 9562 5.4) UUID whose
 * 122 random bits come from the kernel (getrandom).  ARCA_EIO if the
 * random source fails. */
int pacs_uid_generate(char out[PACS_UID_MAX + 1]);

#endif
