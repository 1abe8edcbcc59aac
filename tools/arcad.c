/* arcad.c - the arca DICOM server (see arcad(8)).
 *
 *   arcad [--root DIR] [--port N] [--config FILE] [--verbose]
 *
 * Reads ROOT/arca.conf (creating the archive with the defaults when ROOT
 * has none, so that the README's run command works on a fresh checkout),
 * opens the instance store ([storage] backend: the content-addressed store
 * with its index, or plain files), and serves DICOM associations on one libev loop
 * (pacs_server.h) until SIGTERM or SIGINT: then it stops accepting, lets
 * the associations in flight finish for up to shutdown_timeout seconds,
 * aborts the rest, waits for the commits in flight and exits 0.  A second
 * signal aborts at once.  Logs go to stderr, one line each.  When the
 * archive has a node key (arca init), every stored study, every retrieve
 * and the queries ([chain] query_events) are events on its provenance
 * chain, and so are the events of `arca` commands run meanwhile, which
 * reach arcad through the chain spool (arcad_chain.h, arca_spool.h). */
#include <ev.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arca_conf.h"
#include "arca_err.h"
#include "arcad_chain.h"
#include "pacs_server.h"
#include "store_ingest.h"
#include "store_query.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_USAGE 2
/* [peer NAME] entries usable as C-MOVE destinations (more are ignored). */
#define ARCAD_MAX_PEERS 256

typedef struct arcad {
	pacs_server *srv;
	int signals;
	ev_signal sigterm, sigint;
} arcad;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arcad [--root DIR] [--port N] [--config FILE] [--verbose]\n"
		"\n"
		"The arca DICOM server: C-ECHO and C-STORE SCP on one event loop.\n"
		"\n"
		"  --root DIR     the archive (default: $ARCA_ROOT, then ./arca-data);\n"
		"                 created with the defaults when it has no arca.conf\n"
		"  --port N       listen on port N instead of [server] port\n"
		"  --config FILE  read FILE instead of DIR/arca.conf\n"
		"  --verbose      log every state transition and DIMSE message\n"
		"  --version      print the version and exit\n"
		"\n"
		"SIGTERM or SIGINT: stop accepting, finish the associations in flight\n"
		"(at most [server] shutdown_timeout seconds), exit 0.  See arcad(8).\n");
}

static const char *level_name(enum pacs_server_log_level level)
{
	switch (level) {
	case PACS_SERVER_LOG_ERROR: return "error";
	case PACS_SERVER_LOG_WARNING: return "warning";
	case PACS_SERVER_LOG_INFO: return "info";
	default: return "debug";
	}
}

/* One line per event: UTC time with milliseconds, level, text. */
static void log_line(void *ctx, enum pacs_server_log_level level, const char *line)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ arcad %s: %s\n", when, ts.tv_nsec / 1000000L, level_name(level), line);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	arcad *d = w->data;

	(void)loop;
	(void)revents;
	if (d->signals++ == 0) {
		log_line(NULL, PACS_SERVER_LOG_INFO,
			 w->signum == SIGTERM ? "SIGTERM: stopping (a second signal aborts at once)"
					      : "SIGINT: stopping (a second signal aborts at once)");
		pacs_server_shutdown(d->srv);
	} else {
		pacs_server_abort_all(d->srv);
	}
}

static enum pacs_server_log_level parse_level(const char *s)
{
	if (strcmp(s, "error") == 0)
		return PACS_SERVER_LOG_ERROR;
	if (strcmp(s, "warning") == 0)
		return PACS_SERVER_LOG_WARNING;
	if (strcmp(s, "debug") == 0)
		return PACS_SERVER_LOG_DEBUG;
	return PACS_SERVER_LOG_INFO;
}

/* What design.md 4 asks the start line to say: who may do what. */
static void describe_access(const arca_conf *c, char *buf, size_t size)
{
	size_t n;

	if (c->calling_any) {
		n = (size_t)snprintf(buf, size, "accepting %s from any calling AE (no [access] calling_ae list)",
				     pacs_server_services());
	} else {
		n = (size_t)snprintf(buf, size, "accepting %s from calling AEs ", pacs_server_services());
		for (size_t i = 0; i < c->n_calling_aes && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? ", " : "", c->calling_aes[i]);
		if (n < size)
			n += (size_t)snprintf(buf + n, size - n, " only ([access] calling_ae)");
	}
	if (n < size && !c->check_called_ae)
		n += (size_t)snprintf(buf + n, size - n, "; any called AE title");
	if (n < size && c->n_users > 0)
		snprintf(buf + n, size - n, "; user identity: %zu users%s", c->n_users,
			 c->require_identity ? ", required" : "");
}

/* The storage behind the C-STORE SCP, chosen by [storage] backend. */
typedef struct arcad_storage {
	store_ingest_cas *cas;
	store_ingest_files *files;
	pacs_ingest ingest;
} arcad_storage;

static int storage_open(arcad_storage *st, const arca_conf *conf)
{
	store_ingest_cas_options co;
	char line[256 + 2 * PATH_MAX];

	memset(st, 0, sizeof(*st));
	if (strcmp(conf->storage_backend, "files") == 0) {
		if (store_ingest_files_open(&st->files, conf->storage_path) < 0)
			return -1;
		store_ingest_files_ingest(st->files, &st->ingest);
		snprintf(line, sizeof(line), "storage: files under %s/instances (no index, no rules)",
			 conf->storage_path);
		log_line(NULL, PACS_SERVER_LOG_INFO, line);
		return 0;
	}
	store_ingest_cas_options_init(&co);
	co.zstd_level = conf->zstd_level;
	co.codec = conf->codec;
	co.encrypt = conf->encrypt;
	co.rules = conf->storage_rules;
	co.index = conf->index_path;
	if (store_ingest_cas_open(&st->cas, conf->storage_path, &co) < 0)
		return -1;
	store_ingest_cas_ingest(st->cas, &st->ingest);
	snprintf(line, sizeof(line), "storage: chunks under %s (codec %s, zstd %d%s), index %s, rules %s",
		 conf->storage_path, conf->codec == ARCA_CONF_CODEC_SMALL ? "small" : "fast", conf->zstd_level,
		 conf->encrypt ? ", AES-256-GCM" : "", conf->index_path,
		 conf->storage_rules[0] != '\0' ? conf->storage_rules : "none");
	log_line(NULL, PACS_SERVER_LOG_INFO, line);
	return 0;
}

/* After the server: what was stored, and how the group commit batched. */
static void storage_close(arcad_storage *st)
{
	char line[2048];

	if (st->cas != NULL) {
		store_ingest_cas_stats_format(st->cas, line, sizeof(line));
		log_line(NULL, PACS_SERVER_LOG_INFO, line);
	}
	store_ingest_cas_free(st->cas);
	store_ingest_files_free(st->files);
	memset(st, 0, sizeof(*st));
}

static int serve(const arca_conf *conf, bool verbose)
{
	const char *calling[ARCA_CONF_MAX_LIST], *ts[ARCA_CONF_MAX_LIST], *bind[ARCA_CONF_MAX_BIND];
	pacs_server_user users[ARCA_CONF_MAX_USERS];
	pacs_server_peer peers[ARCAD_MAX_PEERS];
	arcad_storage store;
	arcad_chain *chain = NULL;
	store_index *qidx = NULL;
	store_index_options qopts;
	store_query *sq = NULL;
	pacs_query query;
	struct ev_loop *loop;
	pacs_server_opts o;
	char where[256], access_text[512], line[1024 + PATH_MAX];
	arcad d;
	size_t i;

	memset(&d, 0, sizeof(d));
	/* the provenance chain (issue 5 item 6), before the store that
	 * appends to it and closed after it */
	if (arcad_chain_open(&chain, conf, log_line) < 0) {
		fprintf(stderr, "arcad: cannot open the provenance chain: %s\n", arca_error_last());
		return EXIT_USAGE;
	}
	if (storage_open(&store, conf) < 0) {
		fprintf(stderr, "arcad: cannot open the instance store: %s\n", arca_error_last());
		arcad_chain_close(chain);
		return EXIT_USAGE;
	}
	if (chain != NULL && store.cas != NULL) {
		store_index *ix = store_ingest_cas_index(store.cas);

		/* the chain outbox (store_index.h): every study a batch changes
		 * is marked in the batch's own transaction until its store event
		 * is durable, and what a stopped run still owed the chain is
		 * appended now, before any association is accepted */
		store_index_pending_track(ix, true);
		store_ingest_cas_set_batch_hook(store.cas, arcad_chain_store_batch, chain);
		if (arcad_chain_resolve_pending(chain, ix) < 0) {
			fprintf(stderr, "arcad: cannot append the store events owed to the chain: %s\n",
				arca_error_last());
			storage_close(&store);
			arcad_chain_close(chain);
			return EXIT_USAGE;
		}
	}
	/* Query/Retrieve answers from the index ([index] path), read through
	 * its own connections (store_index.h: several may share the file) */
	store_index_options_init(&qopts);
	qopts.pn_case_sensitive = conf->pn_case_sensitive; /* [index] pn_case_sensitive */
	if (store_index_open(&qidx, conf->index_path, &qopts) < 0 ||
	    store_query_new(&sq, qidx, store.cas != NULL ? store_ingest_cas_store(store.cas) : NULL, conf->ae) < 0) {
		fprintf(stderr, "arcad: cannot open the index %s: %s\n", conf->index_path, arca_error_last());
		store_index_free(qidx);
		storage_close(&store);
		arcad_chain_close(chain);
		return EXIT_USAGE;
	}
	/* C-GET/C-MOVE read the files backend's Part 10 files back */
	snprintf(line, sizeof(line), "%s/instances", conf->storage_path);
	if (store.files != NULL && store_query_set_files_root(sq, line) < 0) {
		fprintf(stderr, "arcad: %s\n", arca_error_last());
		store_query_free(sq);
		store_index_free(qidx);
		storage_close(&store);
		arcad_chain_close(chain);
		return EXIT_USAGE;
	}
	store_query_interface(sq, &query);
	pacs_server_opts_init(&o);
	o.query = &query;
	/* C-MOVE destinations: the [peer NAME] entries (design.md 4) */
	for (i = 0; i < conf->n_peers && i < ARCAD_MAX_PEERS; i++) {
		peers[i].ae = conf->peers[i].ae;
		peers[i].host = conf->peers[i].host;
		peers[i].port = conf->peers[i].port;
	}
	o.peers = peers;
	o.n_peers = i;
	o.max_find_results = conf->max_find_results;
	o.relational_queries = conf->relational_queries;
	o.ae_title = conf->ae;
	o.port = conf->port;
	o.check_called_ae = conf->check_called_ae;
	if (!conf->calling_any) {
		for (i = 0; i < conf->n_calling_aes; i++)
			calling[i] = conf->calling_aes[i];
		o.calling_aes = calling;
		o.n_calling_aes = conf->n_calling_aes;
	}
	for (i = 0; i < conf->n_users; i++) {
		users[i].name = conf->users[i].name;
		users[i].password = conf->users[i].password;
	}
	o.users = conf->n_users > 0 ? users : NULL;
	o.n_users = conf->n_users;
	o.require_identity = conf->require_identity;
	if (conf->n_transfer_syntaxes > 0) {
		for (i = 0; i < conf->n_transfer_syntaxes; i++)
			ts[i] = conf->transfer_syntaxes[i];
		o.transfer_syntaxes = ts;
		o.n_transfer_syntaxes = conf->n_transfer_syntaxes;
	}
	if (conf->n_bind > 0) {
		for (i = 0; i < conf->n_bind; i++)
			bind[i] = conf->bind[i];
		o.bind = bind;
		o.n_bind = conf->n_bind;
	}
	o.max_pdu = conf->max_pdu;
	o.async_ops = (uint16_t)conf->async_ops;
	o.artim_timeout = conf->artim_timeout;
	o.idle_timeout = conf->idle_timeout;
	o.shutdown_timeout = conf->shutdown_timeout;
	o.max_associations = conf->max_associations;
	o.workers = conf->workers;
	o.log = log_line;
	if (chain != NULL) {
		o.retrieve_audit = arcad_chain_retrieve;
		o.retrieve_audit_ctx = chain;
		if (conf->query_events != ARCA_CONF_QUERY_EVENTS_OFF) {
			o.query_audit = arcad_chain_query;
			o.assoc_end = arcad_chain_assoc_end;
			o.audit_ctx = chain;
		}
	}
	o.log_level = verbose ? PACS_SERVER_LOG_DEBUG : parse_level(conf->log_level);

	loop = ev_default_loop(EVFLAG_AUTO);
	if (loop == NULL) {
		fprintf(stderr, "arcad: cannot start the event loop (libev)\n");
		store_query_free(sq);
		store_index_free(qidx);
		storage_close(&store);
		arcad_chain_close(chain);
		return EXIT_USAGE;
	}
	if (pacs_server_new(&d.srv, loop, &o, &store.ingest) < 0) {
		if (arca_error_last_code() == ARCA_EIO)
			fprintf(stderr,
				"arcad: cannot start: %s; stop that server or choose another port with --port N or [server] port in %s\n",
				arca_error_last(), conf->path);
		else
			fprintf(stderr, "arcad: cannot start: %s\n", arca_error_last());
		store_query_free(sq);
		store_index_free(qidx);
		storage_close(&store);
		arcad_chain_close(chain);
		return EXIT_USAGE;
	}
	/* events of `arca` commands run while arcad holds the log */
	if (chain != NULL && arcad_chain_spool_start(chain, loop) < 0) {
		fprintf(stderr, "arcad: cannot take the chain spool: %s\n", arca_error_last());
		pacs_server_free(d.srv);
		store_query_free(sq);
		store_index_free(qidx);
		storage_close(&store);
		arcad_chain_close(chain);
		ev_loop_destroy(loop);
		return EXIT_USAGE;
	}
	/* a peer that vanishes must not kill the server: the sockets use
	 * MSG_NOSIGNAL, this covers everything else */
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&d.sigterm, on_signal, SIGTERM);
	ev_signal_init(&d.sigint, on_signal, SIGINT);
	d.sigterm.data = d.sigint.data = &d;
	ev_signal_start(loop, &d.sigterm);
	ev_signal_start(loop, &d.sigint);

	pacs_server_describe(d.srv, where, sizeof(where));
	describe_access(conf, access_text, sizeof(access_text));
	snprintf(line, sizeof(line), "arcad %s: AE %s listening on %s, root %s, config %s, %u workers; %s",
		 PACKAGE_VERSION, conf->ae, where, conf->root, conf->path, conf->workers, access_text);
	log_line(NULL, PACS_SERVER_LOG_INFO, line);
	pacs_server_run(d.srv);

	ev_signal_stop(loop, &d.sigterm);
	ev_signal_stop(loop, &d.sigint);
	pacs_server_free(d.srv);
	store_query_free(sq);
	store_index_free(qidx);
	storage_close(&store);
	if (arcad_chain_close(chain) < 0)
		fprintf(stderr, "arcad: closing the provenance chain: %s\n", arca_error_last());
	ev_loop_destroy(loop);
	return 0;
}

int main(int argc, char **argv)
{
	const char *root = NULL, *config = NULL;
	char conf_path[PATH_MAX], node[ARCA_CONF_NAME_MAX + 1];
	unsigned long port = 0;
	bool verbose = false;
	arca_conf conf;
	char *end;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("arcad %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			verbose = true;
			continue;
		}
		if ((strcmp(a, "--root") == 0 || strcmp(a, "--port") == 0 || strcmp(a, "--config") == 0) &&
		    i + 1 < argc) {
			const char *v = argv[++i];
			if (strcmp(a, "--root") == 0) {
				root = v;
			} else if (strcmp(a, "--config") == 0) {
				config = v;
			} else {
				port = strtoul(v, &end, 10);
				if (v[0] < '0' || v[0] > '9' || *end != '\0' || port == 0 || port > 65535) {
					fprintf(stderr, "arcad: --port %s: expected 1-65535\n", v);
					return EXIT_USAGE;
				}
			}
			continue;
		}
		fprintf(stderr, "arcad: %s '%s'; see arcad --help or arcad(8)\n",
			a[0] == '-' && i + 1 >= argc ? "missing value after" : "unknown option", a);
		return EXIT_USAGE;
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (config == NULL) {
		if (snprintf(conf_path, sizeof(conf_path), "%s/" ARCA_CONF_FILE, root) >= (int)sizeof(conf_path)) {
			fprintf(stderr, "arcad: --root %s: path too long\n", root);
			return EXIT_USAGE;
		}
		config = conf_path;
		if (access(config, F_OK) != 0) {
			arca_conf_default_node(node, sizeof(node));
			if (arca_conf_init_root(root, "ARCA", 11112, node) < 0) {
				fprintf(stderr, "arcad: %s has no arca.conf and cannot be created: %s\n", root,
					arca_error_last());
				return EXIT_USAGE;
			}
			char line[PATH_MAX + 200];
			snprintf(line, sizeof(line),
				 "%s had no arca.conf: created a new archive there with the defaults (edit %s to change them)",
				 root, config);
			log_line(NULL, PACS_SERVER_LOG_INFO, line);
		}
	}
	arca_conf_defaults(&conf, root);
	if (arca_conf_load(&conf, config) < 0) {
		fprintf(stderr, "arcad: %s\n", arca_error_last());
		arca_conf_release(&conf);
		return EXIT_USAGE;
	}
	if (port != 0)
		conf.port = (uint16_t)port;
	rc = serve(&conf, verbose);
	arca_conf_release(&conf);
	return rc;
}
