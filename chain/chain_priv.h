/* chain_priv.h - helpers shared by the files of chain/, not public. */
#ifndef CHAIN_PRIV_H
#define CHAIN_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* The one place where OpenSSL errors become arca errors (implemented in
 * chain_hash.c): formats "<what>: <OpenSSL's reason>" from the thread's
 * OpenSSL error queue, empties the queue (so that a later failure does not
 * report a stale reason) and returns ARCA_ECRYPTO. */
int chain__ssl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Secret key files (chain_keyfile.c).  _create writes data to a new file
 * (O_EXCL, mode 0600, fsync'ed with its directory; removed on failure;
 * ARCA_EEXISTS with exists_hint appended if it exists).  _read refuses a
 * file that is not regular, that others may access (ARCA_EINVAL naming the
 * chmod) or that is larger than cap (ARCA_ELIMIT), and reads it whole into
 * buf.  `what` names the file in messages ("key file"). */
int chain__keyfile_create(const char *path, const char *what, const char *exists_hint,
			  const uint8_t *data, size_t len);
int chain__keyfile_read(const char *path, const char *what, uint8_t *buf, size_t cap, size_t *len);
#endif
