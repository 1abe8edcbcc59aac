/* chain_priv.h - helpers shared by the files of chain/, not public. */
#ifndef CHAIN_PRIV_H
#define CHAIN_PRIV_H

/* The one place where OpenSSL errors become arca errors (implemented in
 * chain_hash.c): formats "<what>: <OpenSSL's reason>" from the thread's
 * OpenSSL error queue, empties the queue (so that a later failure does not
 * report a stale reason) and returns ARCA_ECRYPTO. */
int chain__ssl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
