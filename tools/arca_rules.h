/* arca_rules.h - the default validation and normalisation rules of a new
 * archive: samples/normalise.conf (documented in arca-normalise(5)),
 * compiled in at build time by tools/gen_rules_sample.awk, written by
 * `arca init` (and by arcad creating a default archive) into
 * ROOT/normalise.conf, which the sample arca.conf names as [storage] rules.
 * Validation is thus on by default. */
#ifndef ARCA_RULES_H
#define ARCA_RULES_H

#define ARCA_RULES_FILE "normalise.conf"

/* The text of samples/normalise.conf (generated: arca_rules_sample.c). */
extern const char arca_rules_sample_text[];

/* Writes the default rules into ROOT/normalise.conf (mode 0640, fsync'ed,
 * then the directory).  An existing file is kept as it is: an operator's
 * rules are never overwritten.  0 or ARCA_EIO with the path. */
int arca_rules_write_default(const char *root);

#endif
