/* arca_conf.h - arca.conf, the configuration of one arca node (see
 * arca.conf(5) and samples/arca.conf, which is also the text `arca init`
 * writes).
 *
 * INI, read with inih: sections [server], [storage], [index], [access],
 * [chain] and one [peer NAME] per remote AE.  Read once at start and passed on (no
 * globals).  Strict: an unknown section or key, a key given twice, or a
 * value out of range is an error naming FILE:LINE and the key, so that a
 * typo never silently does nothing. */
#ifndef ARCA_CONF_H
#define ARCA_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* [storage] codec: the values of store_cas_codec (storage/store_cas.h),
 * which this header does not include (tests/store_cas_codec_test.c checks
 * that they agree). */
#define ARCA_CONF_CODEC_FAST 1
#define ARCA_CONF_CODEC_SMALL 2

#define ARCA_CONF_FILE "arca.conf"
#define ARCA_CONF_DEFAULT_ROOT "./arca-data"
#define ARCA_CONF_AE_MAX 16
#define ARCA_CONF_NAME_MAX 64
#define ARCA_CONF_UID_MAX 64
#define ARCA_CONF_MAX_LIST 64   /* calling AE titles, transfer syntaxes */
#define ARCA_CONF_MAX_USERS 32
#define ARCA_CONF_MAX_BIND 8
#define ARCA_CONF_PASSWORD_MAX 128
#define ARCA_CONF_HOST_MAX 255

typedef struct arca_conf_peer {
	char name[ARCA_CONF_NAME_MAX + 1];  /* from [peer NAME] */
	char ae[ARCA_CONF_AE_MAX + 1];
	char host[ARCA_CONF_HOST_MAX + 1];
	uint16_t port;
	char chain[512];                    /* URL of the peer's provenance log, or "" */
	int line;                           /* of the section's first key (for messages) */
} arca_conf_peer;

typedef struct arca_conf_user {
	char name[ARCA_CONF_NAME_MAX + 1];
	char password[ARCA_CONF_PASSWORD_MAX + 1];
} arca_conf_user;

typedef struct arca_conf {
	char path[PATH_MAX];                /* the file read ("" for defaults only) */
	char root[PATH_MAX];                /* the archive root */

	/* [server] */
	char ae[ARCA_CONF_AE_MAX + 1];
	uint16_t port;
	char node[ARCA_CONF_NAME_MAX + 1];  /* this node's name on the chain */
	char bind[ARCA_CONF_MAX_BIND][48];
	size_t n_bind;
	uint32_t max_pdu;
	double artim_timeout, idle_timeout, shutdown_timeout; /* seconds */
	unsigned max_associations, workers, async_ops;
	unsigned max_find_results;          /* matches per C-FIND (0: no limit) */
	bool relational_queries;            /* C-FIND relational queries when asked (default yes) */
	char transfer_syntaxes[ARCA_CONF_MAX_LIST][ARCA_CONF_UID_MAX + 1];
	size_t n_transfer_syntaxes;         /* 0: the server's default order */
	char log_level[16];                 /* error, warning, info, debug */

	/* [storage] */
	char storage_path[PATH_MAX];        /* resolved: relative paths are under root */
	char storage_backend[16];           /* "cas" (default: chunks, manifests, index) or "files" */
	char storage_rules[PATH_MAX];       /* normalisation rules (resolved), "" for none */
	int zstd_level;                     /* 1..19 for new chunks (default 1) */
	int codec;                          /* ARCA_CONF_CODEC_*: chunks of 16-bit samples */
	bool encrypt;                       /* AES-256-GCM at rest for new chunks */

	/* [index] (reserved: the index arrives with the storage issue) */
	char index_backend[16];
	char index_path[PATH_MAX];
	bool pn_case_sensitive;             /* C-FIND person names: case-sensitive (default no) */

	/* [access] */
	bool calling_any;                   /* no allow-list */
	char calling_aes[ARCA_CONF_MAX_LIST][ARCA_CONF_AE_MAX + 1];
	size_t n_calling_aes;
	arca_conf_user users[ARCA_CONF_MAX_USERS];
	size_t n_users;
	bool check_called_ae;
	bool require_identity;

	/* [chain] */
	enum arca_conf_query_events {
		ARCA_CONF_QUERY_EVENTS_OFF,     /* no Query events */
		ARCA_CONF_QUERY_EVENTS_SUMMARY, /* one per association that queried (default) */
		ARCA_CONF_QUERY_EVENTS_EVERY    /* one per C-FIND */
	} query_events;

	/* [peer NAME] */
	arca_conf_peer *peers;
	size_t n_peers;
} arca_conf;

/* The defaults of a fresh archive at root (design.md 4): AE ARCA, port
 * 11112, any calling AE, called AE checked, ... */
void arca_conf_defaults(arca_conf *c, const char *root);

/* Reads path over the defaults already in *c.  Errors (ARCA_EPROTO, or
 * ARCA_EIO if the file cannot be read) name "PATH:LINE: what". */
int arca_conf_load(arca_conf *c, const char *path);

/* Frees what arca_conf_load allocated (the peers).  *c may be reused after
 * arca_conf_defaults. */
void arca_conf_release(arca_conf *c);

/* The [peer NAME] section, or NULL. */
const arca_conf_peer *arca_conf_peer_find(const arca_conf *c, const char *name);

/* --root's default (design.md 4): $ARCA_ROOT if set and not empty, then
 * ./arca-data.  Borrowed. */
const char *arca_conf_default_root(void);

/* PS3.5 6.2 AE title: 1-16 characters of the default repertoire, no
 * backslash, not only spaces. */
bool arca_conf_ae_valid(const char *ae);
/* A node or peer name: 1-64 of A-Z a-z 0-9 . _ - */
bool arca_conf_name_valid(const char *name);

/* The annotated text of samples/arca.conf (generated into
 * arca_conf_sample.c at build time). */
extern const char arca_conf_sample_text[];

/* The sample text with [server] ae, port and node set; *out is the caller's
 * (free()). */
int arca_conf_render(char **out, const char *ae, uint16_t port, const char *node);

/* `arca init`: creates root (and its parents), the node's keys and empty
 * log (arca_node_create: ROOT/keys, ROOT/chain/log.git), ROOT/arca.conf
 * from arca_conf_render (mode 0600: it may hold passwords), ROOT/instances
 * and ROOT/tmp.  ARCA_EEXISTS, with nothing changed, if ROOT/arca.conf
 * exists (or a node key does). */
int arca_conf_init_root(const char *root, const char *ae, uint16_t port, const char *node);

/* A default node name: the host name cut to its first label, if valid,
 * else "arca".  Writes into buf. */
void arca_conf_default_node(char *buf, size_t size);

#endif
