/* chain_checkpoint_parse.c - the strict, bounded parser of signed
 * checkpoints (grammar in docs/chain-format.md).
 *
 * C2SP signed-note: UTF-8 without control characters other than newline;
 * the note text ends with a newline and is separated from one or more
 * signature lines "— <key name> <base64>" by the last blank line.
 * C2SP tlog-checkpoint: the text is at least three non-empty lines, origin,
 * tree size (decimal, no leading zeroes) and base64 root hash, then
 * optional non-empty extension lines, of which arca reads "time ...". */
#include "chain_checkpoint_priv.h"
#include "chain_base64.h"

#include "arca_err.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char sig_prefix[] = CHAIN_CHECKPOINT__SIG_PREFIX;

/* A bounded cursor over the note: every read checks what is left. */
struct note_cursor {
	const char *p;
	size_t left;
	unsigned line; /* number of the line last returned, 1-based */
};

/* The next line without its newline; false when no complete line is left. */
static bool next_line(struct note_cursor *c, const char **line, size_t *len)
{
	const char *nl = memchr(c->p, '\n', c->left);
	size_t n;

	if (nl == NULL)
		return false;
	n = (size_t)(nl - c->p);
	*line = c->p;
	*len = n;
	c->p += n + 1;
	c->left -= n + 1;
	c->line++;
	return true;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool skip(struct note_cursor *c, size_t n)
{
	if (c->left < n)
		return false;
	c->p += n;
	c->left -= n;
	return true;
}

/* Consumes prefix if the cursor starts with it. */
static bool take_prefix(struct note_cursor *c, const char *prefix)
{
	size_t n = strlen(prefix);

	return starts_with(c->p, c->left, prefix) && skip(c, n);
}

/* The bytes up to the first `stop`, consumed with it; false if there is
 * no `stop`. */
static bool take_until(struct note_cursor *c, char stop, const char **tok, size_t *len)
{
	const char *at = memchr(c->p, stop, c->left);
	size_t n;

	if (at == NULL)
		return false;
	n = (size_t)(at - c->p);
	*tok = c->p;
	*len = n;
	c->p += n + 1;
	c->left -= n + 1;
	return true;
}

/* At most 40 bytes of s for a message, cut at a character boundary. */
static int snippet_len(const char *s, size_t len)
{
	if (len <= 40)
		return (int)len;
	len = 40;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}

static char *dup_line(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* signed-note: valid UTF-8, no control characters but newline. */
static int check_text(const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	unsigned line = 1;
	size_t at = 0;

	while (at < len) {
		uint32_t cp;
		size_t n = chain_checkpoint__utf8_next(s + at, len - at, &cp);

		if (n == 0)
			return arca_error_set(ARCA_EPROTO, "checkpoint line %u: not valid UTF-8", line);
		if (cp == '\n')
			line++;
		else if (cp < 0x20 || cp == 0x7f)
			return arca_error_set(ARCA_EPROTO, "checkpoint line %u: control character 0x%02x",
					      line, (unsigned)cp);
		at += n;
	}
	return 0;
}

static int parse_size(const char *s, size_t len, unsigned line, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	/* tlog-checkpoint: ASCII decimal, no leading zeroes unless "0"; no
	 * sign, no spaces. */
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return arca_error_set(ARCA_EPROTO, "checkpoint line %u: tree size \"%.*s\" is not a decimal number",
					      line, snippet_len(s, len), s);
	}
	if (len > 1 && s[0] == '0')
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: tree size \"%.*s\" has a leading zero",
				      line, snippet_len(s, len), s);
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return arca_error_set(ARCA_EPROTO, "checkpoint line %u: tree size \"%.*s\" does not fit in 64 bits",
					      line, snippet_len(s, len), s);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_root(const char *s, size_t len, unsigned line, uint8_t out[CHAIN_HASH_LEN])
{
	size_t n = 0;
	int rc;

	if (len != 44)
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: root hash is %zu characters, not the 44 of base64 SHA-256",
				      line, len);
	rc = chain_base64_decode(out, CHAIN_HASH_LEN, &n, s, len);
	if (rc < 0)
		return arca_error_prefix(ARCA_EPROTO, "checkpoint line %u: root hash", line);
	if (n != CHAIN_HASH_LEN)
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: root hash is %zu bytes, not 32",
				      line, n);
	return 0;
}

static int parse_extension(chain_checkpoint *cp, const char *s, size_t len, unsigned line)
{
	struct note_cursor c = { s, len, line };
	int rc;

	if (take_prefix(&c, CHAIN_CHECKPOINT__TIME_PREFIX)) {
		/* arca's time line is the first extension line, or absent. */
		if (cp->has_time || cp->n_ext > 0)
			return arca_error_set(ARCA_EPROTO, "checkpoint line %u: the time line must be the first extension line, and only one",
					      line);
		rc = chain_checkpoint__parse_time(c.p, c.left, &cp->time);
		if (rc < 0)
			return arca_error_prefix(rc, "checkpoint line %u", line);
		cp->has_time = true;
		return 0;
	}
	if (cp->n_ext == CHAIN_CHECKPOINT_MAX_EXTENSIONS)
		return arca_error_set(ARCA_ELIMIT, "checkpoint line %u: more than %d extension lines",
				      line, CHAIN_CHECKPOINT_MAX_EXTENSIONS);
	cp->ext[cp->n_ext] = dup_line(s, len);
	if (cp->ext[cp->n_ext] == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory parsing a checkpoint");
	cp->n_ext++;
	return 0;
}

static int parse_body(chain_checkpoint *cp, const char *body, size_t len)
{
	struct note_cursor c = { body, len, 0 };
	const char *s;
	size_t n;
	int rc;

	while (next_line(&c, &s, &n)) {
		/* tlog-checkpoint: every line of the text is non-empty. */
		if (n == 0)
			return arca_error_set(ARCA_EPROTO, "checkpoint line %u: empty line in the checkpoint text",
					      c.line);
		if (c.line == 1) {
			cp->origin = dup_line(s, n);
			if (cp->origin == NULL)
				return arca_error_set(ARCA_ENOMEM, "out of memory parsing a checkpoint");
			rc = 0;
		} else if (c.line == 2) {
			rc = parse_size(s, n, c.line, &cp->size);
		} else if (c.line == 3) {
			rc = parse_root(s, n, c.line, cp->root);
		} else {
			rc = parse_extension(cp, s, n, c.line);
		}
		if (rc < 0)
			return rc;
	}
	if (c.line < 3)
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: the text ends before %s",
				      c.line + 1, c.line == 1 ? "the tree size" : "the root hash");
	return 0;
}

static int parse_signature(chain_checkpoint *cp, const char *s, size_t len, unsigned line)
{
	uint8_t blob[4 + CHAIN_CHECKPOINT_MAX_SIG_BYTES];
	struct note_cursor c = { s, len, line };
	struct chain_note_sig *sig;
	const char *name;
	size_t name_len, n = 0;
	int rc;

	if (!take_prefix(&c, sig_prefix))
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: signature line does not start with \"— \"",
				      line);
	if (cp->n_sigs == CHAIN_CHECKPOINT_MAX_SIGS)
		return arca_error_set(ARCA_ELIMIT, "checkpoint line %u: more than %d signatures",
				      line, CHAIN_CHECKPOINT_MAX_SIGS);
	/* "— " key name, one space, base64: a key name has no spaces, so the
	 * first space ends it; any other space lands in the base64 and is
	 * refused there. */
	if (!take_until(&c, ' ', &name, &name_len))
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: signature line has no space after the key name",
				      line);
	rc = chain_note_check_key_name(name, name_len);
	if (rc < 0)
		return arca_error_prefix(ARCA_EPROTO, "checkpoint line %u", line);
	rc = chain_base64_decode(blob, sizeof(blob), &n, c.p, c.left);
	if (rc < 0)
		return arca_error_prefix(rc, "checkpoint line %u: signature", line);
	if (n < 5)
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: signature of %zu bytes is shorter than a key id and a signature",
				      line, n);
	sig = &cp->sigs[cp->n_sigs];
	sig->name = dup_line(name, name_len);
	sig->sig = malloc(n - 4);
	if (sig->name == NULL || sig->sig == NULL) {
		free(sig->name);
		free(sig->sig);
		sig->name = NULL;
		sig->sig = NULL;
		return arca_error_set(ARCA_ENOMEM, "out of memory parsing a checkpoint");
	}
	/* signed-note: a big-endian uint32 key id, then the signature. */
	sig->key_id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
	memcpy(sig->sig, &blob[4], n - 4);
	sig->sig_len = n - 4;
	cp->n_sigs++;
	return 0;
}

int chain_checkpoint_parse(chain_checkpoint **out, const char *text, size_t len)
{
	struct note_cursor sigs;
	chain_checkpoint *cp;
	const char *s;
	size_t body_len = 0, i, n;
	unsigned lines = 0;
	bool found = false;
	int rc;

	*out = NULL;
	if (len > CHAIN_CHECKPOINT_MAX_LEN)
		return arca_error_set(ARCA_ELIMIT, "checkpoint of %zu bytes is longer than the %d allowed",
				      len, CHAIN_CHECKPOINT_MAX_LEN);
	rc = check_text(text, len);
	if (rc < 0)
		return rc;
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (len == 0 || text[len - 1] != '\n')
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: the note does not end with a newline",
				      lines + 1);
	/* The last blank line separates the text from the signatures: the
	 * last "\n\n", whose first newline ends the text. */
	for (i = len - 1; i >= 1; i--) {
		if (text[i] == '\n' && text[i - 1] == '\n') {
			body_len = i;
			found = true;
			break;
		}
	}
	if (!found)
		return arca_error_set(ARCA_EPROTO, "checkpoint line %u: no blank line between the note text and the signatures",
				      lines);

	cp = calloc(1, sizeof(*cp));
	if (cp == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory parsing a checkpoint");
	cp->body = dup_line(text, body_len);
	if (cp->body == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory parsing a checkpoint");
		goto fail;
	}
	cp->body_len = body_len;
	rc = parse_body(cp, text, body_len);
	if (rc < 0)
		goto fail;

	/* Signature lines follow the blank line, numbered on from it. */
	sigs.p = text;
	sigs.left = len;
	sigs.line = 0;
	for (i = 0; i < body_len + 1; i++)
		sigs.line += text[i] == '\n';
	if (!skip(&sigs, body_len + 1)) {
		rc = arca_error_set(ARCA_EPROTO, "checkpoint line %u: no signature line after the blank line",
				    lines + 1);
		goto fail;
	}
	while (next_line(&sigs, &s, &n)) {
		rc = parse_signature(cp, s, n, sigs.line);
		if (rc < 0)
			goto fail;
	}
	if (cp->n_sigs == 0) {
		rc = arca_error_set(ARCA_EPROTO, "checkpoint line %u: no signature line after the blank line",
				    lines + 1);
		goto fail;
	}
	*out = cp;
	return 0;
fail:
	chain_checkpoint_free(cp);
	return rc;
}
