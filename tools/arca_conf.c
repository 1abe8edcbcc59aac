/* arca_conf.c - reading arca.conf with inih, and `arca init`'s archive
 * creation (see arca_conf.h). */
#include "arca_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "arca_node.h"
#include "arca_rules.h"

/* ------------------------------------------------------------ defaults */

void arca_conf_defaults(arca_conf *c, const char *root)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->root, sizeof(c->root), "%s", root);
	strcpy(c->ae, "ARCA");
	c->port = 11112;
	strcpy(c->node, "arca");
	c->max_pdu = 256u * 1024u;
	c->artim_timeout = 30;
	c->idle_timeout = 300;
	c->shutdown_timeout = 30;
	c->max_associations = 64;
	c->workers = 8;
	c->async_ops = 1;
	c->max_find_results = 10000;
	c->relational_queries = true;
	strcpy(c->log_level, "info");
	snprintf(c->storage_path, sizeof(c->storage_path), "%s", root);
	strcpy(c->index_backend, "sqlite");
	snprintf(c->index_path, sizeof(c->index_path), "%s/index.db", root);
	c->calling_any = true;
	c->check_called_ae = true;
	strcpy(c->storage_backend, "cas");
	c->zstd_level = 1;
	c->codec = ARCA_CONF_CODEC_FAST;
	c->query_events = ARCA_CONF_QUERY_EVENTS_SUMMARY;
}

void arca_conf_release(arca_conf *c)
{
	free(c->peers);
	c->peers = NULL;
	c->n_peers = 0;
}

const char *arca_conf_default_root(void)
{
	const char *env = getenv("ARCA_ROOT");

	return env != NULL && env[0] != '\0' ? env : ARCA_CONF_DEFAULT_ROOT;
}

bool arca_conf_ae_valid(const char *ae)
{
	size_t n = strlen(ae), i;
	bool nonspace = false;

	if (n == 0 || n > ARCA_CONF_AE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)ae[i];
		if (ch < 0x20 || ch > 0x7E || ch == '\\')
			return false;
		nonspace |= ch != ' ';
	}
	return nonspace;
}

bool arca_conf_name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > ARCA_CONF_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

const arca_conf_peer *arca_conf_peer_find(const arca_conf *c, const char *name)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

/* ------------------------------------------------------------ parsing */

/* Scalar keys given once at most: one bit each. */
enum seen_bit {
	SEEN_AE = 1u << 0, SEEN_PORT = 1u << 1, SEEN_NODE = 1u << 2, SEEN_MAX_PDU = 1u << 3,
	SEEN_ARTIM = 1u << 4, SEEN_IDLE = 1u << 5, SEEN_SHUTDOWN = 1u << 6, SEEN_MAX_ASSOC = 1u << 7,
	SEEN_WORKERS = 1u << 8, SEEN_ASYNC = 1u << 9, SEEN_LOG = 1u << 10, SEEN_STORAGE_PATH = 1u << 11,
	SEEN_INDEX_BACKEND = 1u << 12, SEEN_INDEX_PATH = 1u << 13, SEEN_CHECK_CALLED = 1u << 14,
	SEEN_REQUIRE_ID = 1u << 15, SEEN_CALLING = 1u << 16, SEEN_MAX_FIND = 1u << 17,
};

/* [server] relational_queries (a free bit of the low half). */
#define SEEN_RELATIONAL (1u << 22)

enum peer_seen { PSEEN_AE = 1u << 0, PSEEN_HOST = 1u << 1, PSEEN_PORT = 1u << 2, PSEEN_CHAIN = 1u << 3 };

typedef struct parse_ctx {
	arca_conf *c;
	FILE *f;
	const char *path;
	int lineno;
	int err_line;
	char err[512];
	unsigned seen;
	unsigned *peer_seen;      /* per peer */
	size_t peer_cap;
	char prev_section[ARCA_CONF_NAME_MAX + 16]; /* section of the previous key */
	bool new_section;                           /* this key opens a section occurrence */
	bool calling_listed;
} parse_ctx;

static int conf_fail(parse_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first error; returns 0, which tells inih the line failed. */
static int conf_fail(parse_ctx *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line != 0)
		return 0;
	p->err_line = p->lineno;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return 0;
}

/* Counts lines for the messages (inih's handler is not given them in
 * Debian's build) and refuses lines longer than inih's buffer. */
static char *conf_reader(char *str, int num, void *stream)
{
	parse_ctx *p = stream;
	char *r = fgets(str, num, p->f);
	size_t n;
	int ch;

	if (r == NULL)
		return NULL;
	p->lineno++;
	n = strlen(r);
	if (n > 0 && r[n - 1] != '\n' && !feof(p->f)) {
		while ((ch = fgetc(p->f)) != EOF && ch != '\n')
			;
		conf_fail(p, "line longer than %d characters", num - 4);
		strcpy(str, "\n");
	}
	return r;
}

static bool once(parse_ctx *p, unsigned *seen, unsigned bit, const char *section, const char *key)
{
	if ((*seen & bit) != 0) {
		conf_fail(p, "'%s' given twice in [%s]", key, section);
		return false;
	}
	*seen |= bit;
	return true;
}

static int parse_bool(parse_ctx *p, const char *section, const char *key, const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
	    strcmp(v, "1") == 0) {
		*out = true;
		return 1;
	}
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0 ||
	    strcmp(v, "0") == 0) {
		*out = false;
		return 1;
	}
	return conf_fail(p, "[%s] %s = \"%s\": expected yes or no", section, key, v);
}

static int parse_uint(parse_ctx *p, const char *section, const char *key, const char *v, unsigned long lo,
		      unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < lo || n > hi)
		return conf_fail(p, "[%s] %s = \"%s\": expected a whole number from %lu to %lu", section, key, v,
				 lo, hi);
	*out = n;
	return 1;
}

static int parse_seconds(parse_ctx *p, const char *section, const char *key, const char *v, double min,
			 double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || d < min || d > 7 * 24 * 3600.0)
		return conf_fail(p, "[%s] %s = \"%s\": expected seconds, %g or more", section, key, v, min);
	*out = d;
	return 1;
}

/* Bytes with an optional k or m suffix (KiB, MiB). */
static int parse_size(parse_ctx *p, const char *section, const char *key, const char *v, uint32_t lo,
		      uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (end != v && (*end == 'k' || *end == 'K')) {
		n *= 1024u;
		end++;
	} else if (end != v && (*end == 'm' || *end == 'M')) {
		n *= 1024u * 1024u;
		end++;
	}
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < lo || n > hi)
		return conf_fail(p, "[%s] %s = \"%s\": expected bytes from %u to %u (k and m suffixes allowed)",
				 section, key, v, lo, hi);
	*out = (uint32_t)n;
	return 1;
}

static int parse_ae(parse_ctx *p, const char *section, const char *key, const char *v, char *out)
{
	if (!arca_conf_ae_valid(v))
		return conf_fail(p, "[%s] %s = \"%s\": an AE title is 1-16 characters, no backslash", section,
				 key, v);
	snprintf(out, ARCA_CONF_AE_MAX + 1, "%s", v);
	return 1;
}

static bool uid_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > ARCA_CONF_UID_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && s[i + 1] != '.')))
			return false;
	return true;
}

/* Calls item() for each comma-separated item, trimmed. */
static int each_item(parse_ctx *p, const char *section, const char *key, const char *v,
		     int (*item)(parse_ctx *p, const char *section, const char *key, const char *it))
{
	char buf[256];
	const char *s = v;

	while (*s != '\0') {
		const char *comma = strchr(s, ',');
		size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n >= sizeof(buf))
			return conf_fail(p, "[%s] %s: item \"%.32s...\" is too long", section, key, s);
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (n == 0)
			return conf_fail(p, "[%s] %s: empty item in \"%s\"", section, key, v);
		if (!item(p, section, key, buf))
			return 0;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	return 1;
}

static int item_calling(parse_ctx *p, const char *section, const char *key, const char *it)
{
	arca_conf *c = p->c;

	if (strcasecmp(it, "any") == 0) {
		if (p->calling_listed)
			return conf_fail(p, "[%s] %s: `any` and a list of AE titles together", section, key);
		c->calling_any = true;
		p->seen |= SEEN_CALLING;
		return 1;
	}
	if ((p->seen & SEEN_CALLING) != 0 && c->calling_any)
		return conf_fail(p, "[%s] %s: `any` and a list of AE titles together", section, key);
	if (c->n_calling_aes >= ARCA_CONF_MAX_LIST)
		return conf_fail(p, "[%s] %s: more than %d AE titles", section, key, ARCA_CONF_MAX_LIST);
	if (!parse_ae(p, section, key, it, c->calling_aes[c->n_calling_aes]))
		return 0;
	c->n_calling_aes++;
	c->calling_any = false;
	p->calling_listed = true;
	p->seen |= SEEN_CALLING;
	return 1;
}

static int item_user(parse_ctx *p, const char *section, const char *key, const char *it)
{
	arca_conf *c = p->c;
	const char *colon = strchr(it, ':');
	size_t n;

	if (colon == NULL || colon == it)
		return conf_fail(p, "[%s] %s: \"%s\" is not name:password", section, key, it);
	n = (size_t)(colon - it);
	if (n > ARCA_CONF_NAME_MAX || strlen(colon + 1) > ARCA_CONF_PASSWORD_MAX)
		return conf_fail(p, "[%s] %s: name (64) or password (128 characters) too long", section, key);
	if (c->n_users >= ARCA_CONF_MAX_USERS)
		return conf_fail(p, "[%s] %s: more than %d users", section, key, ARCA_CONF_MAX_USERS);
	memcpy(c->users[c->n_users].name, it, n);
	c->users[c->n_users].name[n] = '\0';
	snprintf(c->users[c->n_users].password, sizeof(c->users[0].password), "%s", colon + 1);
	c->n_users++;
	return 1;
}

static int item_bind(parse_ctx *p, const char *section, const char *key, const char *it)
{
	arca_conf *c = p->c;

	if (c->n_bind >= ARCA_CONF_MAX_BIND)
		return conf_fail(p, "[%s] %s: more than %d addresses", section, key, ARCA_CONF_MAX_BIND);
	if (strlen(it) >= sizeof(c->bind[0]))
		return conf_fail(p, "[%s] %s: \"%s\" is not an address", section, key, it);
	snprintf(c->bind[c->n_bind++], sizeof(c->bind[0]), "%s", it);
	return 1;
}

static int item_ts(parse_ctx *p, const char *section, const char *key, const char *it)
{
	arca_conf *c = p->c;

	if (!uid_valid(it))
		return conf_fail(p, "[%s] %s: \"%s\" is not a transfer syntax UID", section, key, it);
	if (c->n_transfer_syntaxes >= ARCA_CONF_MAX_LIST)
		return conf_fail(p, "[%s] %s: more than %d transfer syntaxes", section, key, ARCA_CONF_MAX_LIST);
	snprintf(c->transfer_syntaxes[c->n_transfer_syntaxes++], ARCA_CONF_UID_MAX + 1, "%s", it);
	return 1;
}

/* A path value: relative ones are under the archive root. */
static int set_path(parse_ctx *p, const char *section, const char *key, const char *v, char *out, size_t size)
{
	int n;

	if (v[0] == '\0')
		return conf_fail(p, "[%s] %s is empty", section, key);
	n = v[0] == '/' ? snprintf(out, size, "%s", v) : snprintf(out, size, "%s/%s", p->c->root, v);
	if (n < 0 || (size_t)n >= size)
		return conf_fail(p, "[%s] %s: path too long", section, key);
	return 1;
}

static int unknown_key(parse_ctx *p, const char *section, const char *key)
{
	return conf_fail(p, "unknown key '%s' in [%s]; see arca.conf(5)", key, section);
}

/* [storage] keys beyond path (their own bits: p->seen's high half). */
enum storage_seen_bit {
	SEEN_STORAGE_BACKEND = 1u << 24, SEEN_STORAGE_RULES = 1u << 25, SEEN_ZSTD_LEVEL = 1u << 26,
	SEEN_ENCRYPT = 1u << 27, SEEN_CODEC = 1u << 30,
};

static int on_storage(parse_ctx *p, const char *key, const char *v)
{
	static const char *const sec = "storage";
	arca_conf *c = p->c;
	unsigned long n;

	if (strcasecmp(key, "path") == 0)
		return once(p, &p->seen, SEEN_STORAGE_PATH, sec, key) &&
		       set_path(p, sec, key, v, c->storage_path, sizeof(c->storage_path));
	if (strcasecmp(key, "backend") == 0) {
		if (!once(p, &p->seen, SEEN_STORAGE_BACKEND, sec, key))
			return 0;
		if (strcmp(v, "cas") != 0 && strcmp(v, "files") != 0)
			return conf_fail(p, "[storage] backend = \"%s\": expected cas or files", v);
		snprintf(c->storage_backend, sizeof(c->storage_backend), "%s", v);
		return 1;
	}
	if (strcasecmp(key, "rules") == 0) {
		if (!once(p, &p->seen, SEEN_STORAGE_RULES, sec, key))
			return 0;
		if (v[0] == '\0' || strcasecmp(v, "none") == 0) {
			c->storage_rules[0] = '\0';
			return 1;
		}
		return set_path(p, sec, key, v, c->storage_rules, sizeof(c->storage_rules));
	}
	if (strcasecmp(key, "zstd_level") == 0) {
		if (!once(p, &p->seen, SEEN_ZSTD_LEVEL, sec, key) || !parse_uint(p, sec, key, v, 1, 19, &n))
			return 0;
		c->zstd_level = (int)n;
		return 1;
	}
	if (strcasecmp(key, "encrypt") == 0)
		return once(p, &p->seen, SEEN_ENCRYPT, sec, key) && parse_bool(p, sec, key, v, &c->encrypt);
	if (strcasecmp(key, "codec") == 0) {
		if (!once(p, &p->seen, SEEN_CODEC, sec, key))
			return 0;
		if (strcasecmp(v, "fast") == 0)
			c->codec = ARCA_CONF_CODEC_FAST;
		else if (strcasecmp(v, "small") == 0)
			c->codec = ARCA_CONF_CODEC_SMALL;
		else
			return conf_fail(p, "[storage] codec = \"%s\": expected fast or small", v);
		return 1;
	}
	return unknown_key(p, sec, key);
}

static int on_server(parse_ctx *p, const char *key, const char *v)
{
	arca_conf *c = p->c;
	const char *sec = "server";
	unsigned long n;

	if (strcasecmp(key, "ae") == 0)
		return once(p, &p->seen, SEEN_AE, sec, key) && parse_ae(p, sec, key, v, c->ae);
	if (strcasecmp(key, "port") == 0) {
		if (!once(p, &p->seen, SEEN_PORT, sec, key) || !parse_uint(p, sec, key, v, 1, 65535, &n))
			return 0;
		c->port = (uint16_t)n;
		return 1;
	}
	if (strcasecmp(key, "node") == 0) {
		if (!once(p, &p->seen, SEEN_NODE, sec, key))
			return 0;
		if (!arca_conf_name_valid(v))
			return conf_fail(p, "[server] node = \"%s\": 1-64 letters, digits, '.', '_' or '-'", v);
		snprintf(c->node, sizeof(c->node), "%s", v);
		return 1;
	}
	if (strcasecmp(key, "bind") == 0)
		return each_item(p, sec, key, v, item_bind);
	if (strcasecmp(key, "max_pdu") == 0)
		return once(p, &p->seen, SEEN_MAX_PDU, sec, key) &&
		       parse_size(p, sec, key, v, 4096u, 64u * 1024u * 1024u, &c->max_pdu);
	if (strcasecmp(key, "artim_timeout") == 0)
		return once(p, &p->seen, SEEN_ARTIM, sec, key) && parse_seconds(p, sec, key, v, 0.001, &c->artim_timeout);
	if (strcasecmp(key, "idle_timeout") == 0)
		return once(p, &p->seen, SEEN_IDLE, sec, key) && parse_seconds(p, sec, key, v, 0, &c->idle_timeout);
	if (strcasecmp(key, "shutdown_timeout") == 0)
		return once(p, &p->seen, SEEN_SHUTDOWN, sec, key) &&
		       parse_seconds(p, sec, key, v, 0, &c->shutdown_timeout);
	if (strcasecmp(key, "max_associations") == 0) {
		if (!once(p, &p->seen, SEEN_MAX_ASSOC, sec, key) || !parse_uint(p, sec, key, v, 1, 100000, &n))
			return 0;
		c->max_associations = (unsigned)n;
		return 1;
	}
	if (strcasecmp(key, "workers") == 0) {
		if (!once(p, &p->seen, SEEN_WORKERS, sec, key) || !parse_uint(p, sec, key, v, 1, 64, &n))
			return 0;
		c->workers = (unsigned)n;
		return 1;
	}
	if (strcasecmp(key, "async_ops") == 0) {
		if (!once(p, &p->seen, SEEN_ASYNC, sec, key) || !parse_uint(p, sec, key, v, 0, 65535, &n))
			return 0;
		c->async_ops = (unsigned)n;
		return 1;
	}
	if (strcasecmp(key, "max_find_results") == 0) {
		if (!once(p, &p->seen, SEEN_MAX_FIND, sec, key) || !parse_uint(p, sec, key, v, 0, 100000000, &n))
			return 0;
		c->max_find_results = (unsigned)n;
		return 1;
	}
	if (strcasecmp(key, "relational_queries") == 0)
		return once(p, &p->seen, SEEN_RELATIONAL, sec, key) &&
		       parse_bool(p, sec, key, v, &c->relational_queries);
	if (strcasecmp(key, "transfer_syntaxes") == 0)
		return each_item(p, sec, key, v, item_ts);
	if (strcasecmp(key, "log_level") == 0) {
		if (!once(p, &p->seen, SEEN_LOG, sec, key))
			return 0;
		if (strcmp(v, "error") != 0 && strcmp(v, "warning") != 0 && strcmp(v, "info") != 0 &&
		    strcmp(v, "debug") != 0)
			return conf_fail(p, "[server] log_level = \"%s\": expected error, warning, info or debug", v);
		snprintf(c->log_level, sizeof(c->log_level), "%s", v);
		return 1;
	}
	return unknown_key(p, sec, key);
}

static int on_access(parse_ctx *p, const char *key, const char *v)
{
	arca_conf *c = p->c;
	const char *sec = "access";

	if (strcasecmp(key, "calling_ae") == 0)
		return each_item(p, sec, key, v, item_calling);
	if (strcasecmp(key, "users") == 0)
		return each_item(p, sec, key, v, item_user);
	if (strcasecmp(key, "check_called_ae") == 0)
		return once(p, &p->seen, SEEN_CHECK_CALLED, sec, key) &&
		       parse_bool(p, sec, key, v, &c->check_called_ae);
	if (strcasecmp(key, "require_identity") == 0)
		return once(p, &p->seen, SEEN_REQUIRE_ID, sec, key) &&
		       parse_bool(p, sec, key, v, &c->require_identity);
	return unknown_key(p, sec, key);
}

static arca_conf_peer *peer_for(parse_ctx *p, const char *name)
{
	arca_conf *c = p->c;
	arca_conf_peer *np;
	unsigned *ns;

	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0) {
			if (p->new_section) {
				conf_fail(p, "[peer %s] appears twice (first at line %d)", name, c->peers[i].line);
				return NULL;
			}
			return &c->peers[i];
		}
	np = realloc(c->peers, (c->n_peers + 1) * sizeof(*np));
	if (np == NULL) {
		conf_fail(p, "no memory for [peer %s]", name);
		return NULL;
	}
	c->peers = np;
	ns = realloc(p->peer_seen, (c->n_peers + 1) * sizeof(*ns));
	if (ns == NULL) {
		conf_fail(p, "no memory for [peer %s]", name);
		return NULL;
	}
	p->peer_seen = ns;
	p->peer_seen[c->n_peers] = 0;
	memset(&np[c->n_peers], 0, sizeof(np[0]));
	snprintf(np[c->n_peers].name, sizeof(np[0].name), "%s", name);
	np[c->n_peers].line = p->lineno;
	return &np[c->n_peers++];
}

static int on_peer(parse_ctx *p, const char *section, const char *name, const char *key, const char *v)
{
	arca_conf_peer *peer;
	unsigned *seen;
	unsigned long n;

	if (!arca_conf_name_valid(name))
		return conf_fail(p, "[%s]: a peer name is 1-64 letters, digits, '.', '_' or '-'", section);
	peer = peer_for(p, name);
	if (peer == NULL)
		return 0;
	seen = &p->peer_seen[peer - p->c->peers];
	if (strcasecmp(key, "ae") == 0)
		return once(p, seen, PSEEN_AE, section, key) && parse_ae(p, section, key, v, peer->ae);
	if (strcasecmp(key, "host") == 0) {
		if (!once(p, seen, PSEEN_HOST, section, key))
			return 0;
		if (v[0] == '\0' || strlen(v) > ARCA_CONF_HOST_MAX || strpbrk(v, " \t") != NULL)
			return conf_fail(p, "[%s] host = \"%s\": expected a host name or address", section, v);
		snprintf(peer->host, sizeof(peer->host), "%s", v);
		return 1;
	}
	if (strcasecmp(key, "port") == 0) {
		if (!once(p, seen, PSEEN_PORT, section, key) || !parse_uint(p, section, key, v, 1, 65535, &n))
			return 0;
		peer->port = (uint16_t)n;
		return 1;
	}
	if (strcasecmp(key, "chain") == 0) {
		if (!once(p, seen, PSEEN_CHAIN, section, key))
			return 0;
		if (strlen(v) >= sizeof(peer->chain))
			return conf_fail(p, "[%s] chain: URL too long", section);
		snprintf(peer->chain, sizeof(peer->chain), "%s", v);
		return 1;
	}
	return unknown_key(p, section, key);
}

static int conf_handler_section(parse_ctx *p, const char *section, const char *key, const char *v);

static int conf_handler(void *user, const char *section, const char *key, const char *v)
{
	parse_ctx *p = user;
	int rc;

	p->new_section = strcmp(p->prev_section, section) != 0;
	rc = conf_handler_section(p, section, key, v);
	snprintf(p->prev_section, sizeof(p->prev_section), "%s", section);
	return rc;
}

/* [chain] keys (their own bit). */
#define SEEN_QUERY_EVENTS (1u << 28)
#define SEEN_PN_CASE (1u << 29)

static int on_chain(parse_ctx *p, const char *key, const char *v)
{
	arca_conf *c = p->c;

	if (strcasecmp(key, "query_events") == 0) {
		if (!once(p, &p->seen, SEEN_QUERY_EVENTS, "chain", key))
			return 0;
		if (strcmp(v, "off") == 0)
			c->query_events = ARCA_CONF_QUERY_EVENTS_OFF;
		else if (strcmp(v, "summary") == 0)
			c->query_events = ARCA_CONF_QUERY_EVENTS_SUMMARY;
		else if (strcmp(v, "every") == 0)
			c->query_events = ARCA_CONF_QUERY_EVENTS_EVERY;
		else
			return conf_fail(p, "[chain] query_events = \"%s\": expected off, summary or every", v);
		return 1;
	}
	return unknown_key(p, "chain", key);
}

static int conf_handler_section(parse_ctx *p, const char *section, const char *key, const char *v)
{
	arca_conf *c = p->c;

	if (section[0] == '\0')
		return conf_fail(p, "'%s' before any [section]", key);
	if (strcasecmp(section, "server") == 0)
		return on_server(p, key, v);
	if (strcasecmp(section, "access") == 0)
		return on_access(p, key, v);
	if (strcasecmp(section, "storage") == 0)
		return on_storage(p, key, v);
	if (strcasecmp(section, "chain") == 0)
		return on_chain(p, key, v);
	if (strcasecmp(section, "index") == 0) {
		if (strcasecmp(key, "backend") == 0) {
			if (!once(p, &p->seen, SEEN_INDEX_BACKEND, "index", key))
				return 0;
			if (strcmp(v, "sqlite") != 0)
				return conf_fail(p, "[index] backend = \"%s\": only sqlite is supported", v);
			return 1;
		}
		if (strcasecmp(key, "path") == 0)
			return once(p, &p->seen, SEEN_INDEX_PATH, "index", key) &&
			       set_path(p, "index", key, v, c->index_path, sizeof(c->index_path));
		if (strcasecmp(key, "pn_case_sensitive") == 0)
			return once(p, &p->seen, SEEN_PN_CASE, "index", key) &&
			       parse_bool(p, "index", key, v, &c->pn_case_sensitive);
		return unknown_key(p, "index", key);
	}
	if (strncasecmp(section, "peer ", 5) == 0) {
		const char *name = section + 5;
		while (*name == ' ')
			name++;
		return on_peer(p, section, name, key, v);
	}
	return conf_fail(p, "unknown section [%s]; see arca.conf(5)", section);
}

int arca_conf_load(arca_conf *c, const char *path)
{
	parse_ctx p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.path = path;
	snprintf(c->path, sizeof(c->path), "%s", path);
	p.f = fopen(path, "r");
	if (p.f == NULL)
		return arca_error_set(ARCA_EIO, "%s: %s", path, strerror(errno));
	rc = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	fclose(p.f);
	free(p.peer_seen);
	if (rc == -2)
		return arca_error_set(ARCA_ENOMEM, "%s: out of memory", path);
	if (p.err_line > 0 && (rc <= 0 || p.err_line <= rc))
		return arca_error_set(ARCA_EPROTO, "%s:%d: %s", path, p.err_line, p.err);
	if (rc > 0)
		return arca_error_set(ARCA_EPROTO, "%s:%d: not `key = value`, `[section]` or a comment", path, rc);
	if (rc < 0)
		return arca_error_set(ARCA_EIO, "%s: cannot be read", path);
	for (size_t i = 0; i < c->n_peers; i++) {
		const arca_conf_peer *peer = &c->peers[i];
		if (peer->ae[0] == '\0' || peer->host[0] == '\0' || peer->port == 0)
			return arca_error_set(ARCA_EPROTO, "%s:%d: [peer %s] needs ae, host and port", path,
					      peer->line, peer->name);
	}
	if (c->n_users == 0 && c->require_identity)
		return arca_error_set(ARCA_EPROTO, "%s: [access] require_identity = yes without users", path);
	return 0;
}

/* ------------------------------------------------------------ arca init */

void arca_conf_default_node(char *buf, size_t size)
{
	char host[256];

	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		char *dot = strchr(host, '.');
		if (dot != NULL)
			*dot = '\0';
		if (arca_conf_name_valid(host)) {
			snprintf(buf, size, "%s", host);
			return;
		}
	}
	snprintf(buf, size, "arca");
}

/* True when line (up to its end) sets key: "key =" or "key=". */
static bool line_sets(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key);

	if (len < k || strncmp(line, key, k) != 0)
		return false;
	while (k < len && (line[k] == ' ' || line[k] == '\t'))
		k++;
	return k < len && line[k] == '=';
}

int arca_conf_render(char **out, const char *ae, uint16_t port, const char *node)
{
	const char *s = arca_conf_sample_text;
	size_t cap = strlen(s) + 256, len = 0;
	bool in_server = false;
	char *buf = malloc(cap);

	*out = NULL;
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for arca.conf");
	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		char repl[128];
		const char *line = s;
		size_t line_len = n;

		if (n > 0 && s[0] == '[')
			in_server = strncmp(s, "[server]", 8) == 0;
		if (in_server && line_sets(s, n, "ae")) {
			line_len = (size_t)snprintf(repl, sizeof(repl), "ae = %s", ae);
			line = repl;
		} else if (in_server && line_sets(s, n, "port")) {
			line_len = (size_t)snprintf(repl, sizeof(repl), "port = %u", port);
			line = repl;
		} else if (in_server && line_sets(s, n, "node")) {
			line_len = (size_t)snprintf(repl, sizeof(repl), "node = %s", node);
			line = repl;
		}
		if (len + line_len + 2 > cap) {
			free(buf);
			return arca_error_set(ARCA_ELIMIT, "arca.conf text too long");
		}
		memcpy(buf + len, line, line_len);
		len += line_len;
		buf[len++] = '\n';
		s += n;
		if (*s == '\n')
			s++;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return arca_error_set(ARCA_EINVAL, "bad directory name \"%s\"", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return arca_error_set(ARCA_EIO, "cannot create %s: %s", buf, strerror(errno));
		buf[i] = saved;
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return arca_error_set(ARCA_EIO, "%s is not a directory", path);
	return 0;
}

int arca_conf_init_root(const char *root, const char *ae, uint16_t port, const char *node)
{
	char path[PATH_MAX], sub[PATH_MAX];
	char *text = NULL;
	size_t len, off = 0;
	int fd, rc;

	if (!arca_conf_ae_valid(ae))
		return arca_error_set(ARCA_EINVAL, "AE title \"%s\": 1-16 characters, no backslash", ae);
	if (port == 0)
		return arca_error_set(ARCA_EINVAL, "port 0: expected 1-65535");
	if (!arca_conf_name_valid(node))
		return arca_error_set(ARCA_EINVAL, "node name \"%s\": 1-64 letters, digits, '.', '_' or '-'", node);
	if (snprintf(path, sizeof(path), "%s/" ARCA_CONF_FILE, root) >= (int)sizeof(path))
		return arca_error_set(ARCA_EINVAL, "archive root path too long");
	if (access(path, F_OK) == 0)
		return arca_error_set(ARCA_EEXISTS, "%s already holds an archive (%s exists)", root, path);
	/* The node's keys and empty log first: arca.conf, written last, marks a
	 * complete archive (arca_node.h). */
	if ((rc = arca_node_check_name(node)) < 0 || (rc = make_dirs(root)) < 0 ||
	    (rc = arca_node_create(root, node)) < 0)
		return rc;
	/* the default rules, which the sample's [storage] rules names */
	if ((rc = arca_rules_write_default(root)) < 0)
		return rc;
	if ((rc = arca_conf_render(&text, ae, port, node)) < 0)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? arca_error_set(ARCA_EEXISTS, "%s already holds an archive (%s exists)", root, path)
				     : arca_error_set(ARCA_EIO, "cannot create %s: %s", path, strerror(errno));
		free(text);
		return rc;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = arca_error_set(ARCA_EIO, "cannot write %s: %s", path, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot fsync %s: %s", path, strerror(errno));
	close(fd);
	free(text);
	if (rc < 0) {
		unlink(path);
		return rc;
	}
	static const char *const dirs[] = { "instances", "tmp" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", root, dirs[i]);
		if ((rc = make_dirs(sub)) < 0)
			return rc;
	}
	return 0;
}
