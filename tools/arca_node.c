/* arca_node.c - creating and reading a node's keys and log under its
 * archive root (see arca_node.h). */
#include "arca_node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "chain_base64.h"
#include "chain_entry.h"
#include "chain_log.h"
#include "chain_pseudonym.h"

/* A public key file is one line; anything much longer is not one. */
#define PUB_FILE_MAX 4096

int arca_node_check_name(const char *node)
{
	int rc = chain_node_name_check(node);

	return rc < 0 ? arca_error_prefix(rc, "node name \"%s\"", node) : 0;
}

int arca_node_path(char *buf, size_t size, const char *root, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= size)
		return arca_error_set(ARCA_EINVAL, "path %s/%s is too long", root, rel);
	return 0;
}

int arca_node_public_b64(const chain_key *key, char out[ARCA_NODE_PUB_B64_LEN])
{
	uint8_t pub[CHAIN_KEY_PUBLIC_LEN];
	int rc = chain_key_public(key, pub);

	if (rc < 0)
		return rc;
	chain_base64_encode(out, pub, sizeof(pub));
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open %s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

static int make_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return 0;
	return arca_error_set(ARCA_EIO, "cannot create the directory %s: %s", path, strerror(errno));
}

/* node.pub: the base64 line, 0644, created once, fsynced (the directory is
 * fsynced by the caller). */
static int save_public(const chain_key *key, const char *path)
{
	char line[ARCA_NODE_PUB_B64_LEN + 1];
	size_t len, off = 0;
	int fd, rc;

	if ((rc = arca_node_public_b64(key, line)) < 0)
		return rc;
	len = strlen(line);
	line[len++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return arca_error_set(errno == EEXIST ? ARCA_EEXISTS : ARCA_EIO, "cannot create %s: %s%s", path,
				      strerror(errno), errno == EEXIST ? " (a node key is never replaced)" : "");
	while (off < len && rc == 0) {
		ssize_t w = write(fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = arca_error_set(ARCA_EIO, "cannot write %s: %s", path, w < 0 ? strerror(errno) : "no progress");
		else
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot fsync %s: %s", path, strerror(errno));
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

/* The empty log: opening it for writing creates the bare repository (and
 * checks that the node name and key suit it); nothing is appended, so the
 * ref appears with the first batch. */
static int create_log(const char *root, const char *node, const chain_key *key)
{
	char dir[PATH_MAX], repo[PATH_MAX];
	chain_log_config cfg = { 0 };
	chain_log *log = NULL;
	int rc;

	if ((rc = arca_node_path(dir, sizeof(dir), root, ARCA_NODE_CHAIN_DIR)) < 0 ||
	    (rc = arca_node_path(repo, sizeof(repo), root, ARCA_NODE_LOG_REPO)) < 0 ||
	    (rc = make_dir(dir, 0750)) < 0)
		return rc;
	cfg.repo_path = repo;
	cfg.node = node;
	cfg.key = key;
	if ((rc = chain_log_open(&log, &cfg)) < 0)
		return rc;
	return chain_log_close(log);
}

int arca_node_create(const char *root, const char *node)
{
	char keys[PATH_MAX], key_path[PATH_MAX], pub_path[PATH_MAX], cons_path[PATH_MAX];
	chain_pseudonym_key *cons = NULL;
	chain_key *key = NULL;
	bool made_key = false, made_pub = false, made_cons = false;
	int rc;

	if ((rc = arca_node_check_name(node)) < 0)
		return rc;
	if ((rc = arca_node_path(keys, sizeof(keys), root, ARCA_NODE_KEYS_DIR)) < 0 ||
	    (rc = arca_node_path(key_path, sizeof(key_path), root, ARCA_NODE_KEY_FILE)) < 0 ||
	    (rc = arca_node_path(pub_path, sizeof(pub_path), root, ARCA_NODE_PUB_FILE)) < 0 ||
	    (rc = arca_node_path(cons_path, sizeof(cons_path), root, ARCA_NODE_CONSORTIUM_FILE)) < 0)
		return rc;
	/* The keys' directory is the owner's alone: 0700 even if it was there. */
	if ((rc = make_dir(keys, 0700)) < 0)
		return rc;
	if (chmod(keys, 0700) != 0)
		return arca_error_set(ARCA_EIO, "cannot chmod 700 %s: %s", keys, strerror(errno));
	if ((rc = chain_key_generate(&key)) < 0)
		goto out;
	if ((rc = chain_key_save(key, key_path)) < 0)
		goto out;
	made_key = true;
	if ((rc = save_public(key, pub_path)) < 0)
		goto out;
	made_pub = true;
	if ((rc = chain_pseudonym_key_generate(&cons)) < 0)
		goto out;
	if ((rc = chain_pseudonym_key_save(cons, cons_path)) < 0)
		goto out;
	made_cons = true;
	if ((rc = fsync_dir(keys)) < 0)
		goto out;
	rc = create_log(root, node, key);
out:
	if (rc < 0) {
		/* Keys no log was ever signed with: nothing depends on them yet. */
		if (made_cons)
			unlink(cons_path);
		if (made_pub)
			unlink(pub_path);
		if (made_key)
			unlink(key_path);
	}
	chain_pseudonym_key_free(cons);
	chain_key_free(key);
	return rc;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int arca_node_parse_public(chain_key **out, const char *text, size_t len)
{
	uint8_t pub[CHAIN_KEY_PUBLIC_LEN + 1];
	size_t n = 0;
	int rc;

	*out = NULL;
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	rc = chain_base64_decode(pub, sizeof(pub), &n, text, len);
	if (rc < 0 || n != CHAIN_KEY_PUBLIC_LEN)
		return arca_error_set(ARCA_EPROTO,
				      "not a node public key (expected the base64 of 32 bytes, 44 characters)");
	return chain_key_from_public(out, pub);
}

int arca_node_load_public_file(chain_key **out, const char *path)
{
	char buf[PUB_FILE_MAX + 1];
	size_t n;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return arca_error_set(errno == ENOENT ? ARCA_ENOTFOUND : ARCA_EIO, "cannot open %s: %s", path,
				      strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	rc = ferror(f) ? arca_error_set(ARCA_EIO, "cannot read %s", path) : 0;
	fclose(f);
	if (rc < 0)
		return rc;
	if (n > PUB_FILE_MAX)
		return arca_error_set(ARCA_ELIMIT, "%s: longer than %d bytes: not a public key file", path,
				      PUB_FILE_MAX);
	rc = arca_node_parse_public(out, buf, n);
	return rc < 0 ? arca_error_prefix(rc, "%s", path) : 0;
}

int arca_node_key_arg(chain_key **out, const char *arg)
{
	struct stat st;

	if (stat(arg, &st) == 0)
		return arca_node_load_public_file(out, arg);
	return arca_node_parse_public(out, arg, strlen(arg));
}

int arca_node_load_conf(arca_conf *c, const char *root)
{
	char path[PATH_MAX];
	int rc;

	arca_conf_defaults(c, root);
	if ((rc = arca_node_path(path, sizeof(path), root, ARCA_CONF_FILE)) < 0)
		return rc;
	if (access(path, F_OK) != 0)
		return arca_error_set(ARCA_ENOTFOUND, "%s is not an archive (no %s); create one with arca init --root %s",
				      root, path, root);
	return arca_conf_load(c, path);
}

int arca_node_switch_key(const char *root, const chain_key *old, const chain_key *next)
{
	char keys[PATH_MAX], key_path[PATH_MAX], next_path[PATH_MAX], pub_path[PATH_MAX], tmp[PATH_MAX];
	char kept[PATH_MAX], rel[64 + CHAIN_KEY_FP_HEX_LEN];
	char fp[CHAIN_KEY_FP_HEX_LEN];
	struct stat st;
	int rc;

	if ((rc = chain_key_fingerprint_hex(old, fp)) < 0)
		return rc;
	snprintf(rel, sizeof(rel), ARCA_NODE_KEYS_DIR "/node-%s.pub", fp);
	if ((rc = arca_node_path(keys, sizeof(keys), root, ARCA_NODE_KEYS_DIR)) < 0 ||
	    (rc = arca_node_path(key_path, sizeof(key_path), root, ARCA_NODE_KEY_FILE)) < 0 ||
	    (rc = arca_node_path(next_path, sizeof(next_path), root, ARCA_NODE_NEXT_KEY_FILE)) < 0 ||
	    (rc = arca_node_path(pub_path, sizeof(pub_path), root, ARCA_NODE_PUB_FILE)) < 0 ||
	    (rc = arca_node_path(tmp, sizeof(tmp), root, ARCA_NODE_PUB_FILE ".tmp")) < 0 ||
	    (rc = arca_node_path(kept, sizeof(kept), root, rel)) < 0)
		return rc;
	/* 1. the old public key, for auditors of the old checkpoints */
	if (lstat(kept, &st) != 0 && (rc = save_public(old, kept)) < 0)
		return rc;
	/* 2. the new public key (written aside, then renamed over) */
	unlink(tmp);
	if ((rc = save_public(next, tmp)) < 0)
		return rc;
	if (rename(tmp, pub_path) != 0) {
		rc = arca_error_set(ARCA_EIO, "cannot rename %s to %s: %s", tmp, pub_path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	/* 3. last, the new private key in place (rename replaces atomically):
	 * until then node.key.next says that the switch is unfinished */
	if (lstat(next_path, &st) == 0 && rename(next_path, key_path) != 0)
		return arca_error_set(ARCA_EIO, "cannot rename %s to %s: %s", next_path, key_path, strerror(errno));
	return fsync_dir(keys);
}
