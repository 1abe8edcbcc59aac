/* pacs_norm_run.c - pacs_norm_run(): the order of the steps, the walk over
 * a data set tree, the hits and the result.
 *
 * Order: the character set first (every later step then sees UTF-8 text),
 * then the value normalisations at every level, then maps, Patient's Sex
 * and code tables at the top level, then the checks on the result, and
 * last the Original Attributes Sequence item that records what changed. */
#include "pacs_norm_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_dimse.h"
#include "pacs_tags.h"

/* The comment is the C-STORE response's Error Comment. */
_Static_assert(PACS_NORM_COMMENT_MAX == PACS_DIMSE_COMMENT_MAX, "Error Comment is LO, 64 characters");

bool pacs_norm__skip(const norm_ctx *c, uint32_t tag, unsigned flags)
{
	uint16_t g = PACS_TAG_GROUP(tag);

	if (c->path.depth == 0 && (g == 0x0002 || tag == PACS_TAG_OriginalAttributesSequence))
		return true;
	if (PACS_TAG_ELEMENT(tag) == 0x0000 || g == 0xFFFE || g == 0xFFFC)
		return true;
	if (tag == PACS_TAG_SPECIFIC_CHARSET && !(flags & NORM_WALK_CHARSET))
		return true;
	if (PACS_TAG_IS_PRIVATE(tag) && !(flags & NORM_WALK_PRIVATE))
		return true;
	return false;
}

int pacs_norm__walk(norm_ctx *c, pacs_ds *ds, unsigned flags, norm_visit_fn fn, void *arg)
{
	for (size_t i = 0; i < pacs_ds_count(ds); i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		uint32_t tag = pacs_elem_tag(e);
		int rc;

		if (pacs_norm__skip(c, tag, flags))
			continue;
		if (pacs_elem_is_sequence(e)) {
			pacs_elem *seq = pacs_ds_find_mut(ds, tag);
			unsigned d = c->path.depth;
			/* (a second element with the same tag, possible only in a
			 * malformed data set read out of order, is left alone) */
			if (seq != e || d >= NORM_MAX_DEPTH)
				continue;
			for (size_t k = 0; k < pacs_elem_item_count(seq); k++) {
				c->path.tag[d] = tag;
				c->path.item[d] = (uint32_t)k;
				c->path.depth = d + 1;
				rc = pacs_norm__walk(c, pacs_elem_item_mut(seq, k), flags, fn, arg);
				c->path.depth = d;
				if (rc < 0)
					return rc;
			}
			continue;
		}
		if ((rc = fn(c, ds, e, arg)) < 0)
			return rc;
	}
	return 0;
}

int pacs_norm__replace(norm_ctx *c, pacs_ds *ds, uint32_t tag, pacs_vr vr, const uint8_t *bytes, size_t len)
{
	uint32_t top = c->path.depth > 0 ? c->path.tag[0] : tag;
	int rc;

	if (len >= PACS_UNDEFINED_LENGTH)
		return arca_error_set(ARCA_ELIMIT, "value too long");
	if ((rc = pacs_norm__record(c->rec, c->root, top)) < 0)
		return rc;
	if ((rc = pacs_ds_set(ds, tag, vr, len > 0 ? bytes : (const uint8_t *)"", (uint32_t)len)) < 0)
		return rc;
	c->changed = true;
	return 0;
}

/* "(0008,1032)[0](0008,0100)" for the element tag at the current path. */
static void path_text(const norm_ctx *c, uint32_t tag, char *buf, size_t size)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < c->path.depth && k + 24 < size; i++)
		k += (size_t)snprintf(&buf[k], size - k, "(%04X,%04X)[%u]", PACS_TAG_GROUP(c->path.tag[i]),
				      PACS_TAG_ELEMENT(c->path.tag[i]), c->path.item[i]);
	if (k + 12 <= size)
		snprintf(&buf[k], size - k, "(%04X,%04X)", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
}

static char *show_dup(const char *s, size_t len)
{
	char buf[129];

	if (s == NULL)
		return NULL;
	pacs_norm__show(buf, sizeof(buf), s, len);
	return strdup(buf);
}

/* The Error Comment: "rule: Keyword (gggg,eeee) what", default repertoire,
 * at most 64 characters. */
static void make_comment(char *out, const norm_rule *r, uint32_t tag, const char *what)
{
	const char *kw = pacs_dict_keyword(tag);
	char buf[256];

	snprintf(buf, sizeof(buf), "%s: %s%s(%04X,%04X) %s", r->id, kw, kw[0] != '\0' ? " " : "",
		 PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), what);
	for (size_t i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7E || buf[i] == '\\')
			buf[i] = '?';
	snprintf(out, PACS_NORM_COMMENT_MAX + 1, "%s", buf);
}

static bool is_waived(const norm_ctx *c, const char *id)
{
	for (size_t i = 0; i < c->n_waive; i++)
		if (c->waive[i] != NULL && strcmp(c->waive[i], id) == 0)
			return true;
	return false;
}

int pacs_norm__hit(norm_ctx *c, const norm_rule *r, pacs_norm_action action, uint32_t tag,
		   const char *old_value, size_t old_len, const char *new_value, size_t new_len,
		   const char *what, const char *fmt, ...)
{
	pacs_norm_result *res = c->res;
	char message[512], path[96];
	norm_first *first = NULL;
	uint16_t status;
	va_list ap;

	bool waived = false;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	path_text(c, tag, path, sizeof(path));
	if (action == PACS_NORM_REFUSE && is_waived(c, r->id)) {
		/* PS3.3 C.12.1.1.9: the element kept against the rule is recorded
		 * as received in this run's Original Attributes Sequence item */
		int rc = pacs_norm__record(c->rec, c->root, c->path.depth > 0 ? c->path.tag[0] : tag);
		if (rc < 0)
			return rc;
		action = PACS_NORM_WARN;
		waived = true;
		res->n_waived++;
	}
	switch (action) {
	case PACS_NORM_FIX:
		res->n_fixed++;
		status = c->rules->fix_status;
		first = &c->fix;
		if (pacs_norm__kind_corrects(r->kind))
			c->correct = true;
		break;
	case PACS_NORM_WARN:
		res->n_warned++;
		status = r->status ? r->status : pacs_norm__default_status(r->kind, action);
		first = &c->warn;
		break;
	case PACS_NORM_REFUSE:
		res->n_refused++;
		status = r->status ? r->status : pacs_norm__default_status(r->kind, action);
		first = &c->refuse;
		break;
	default:
		return 0;
	}
	if (!first->set) {
		first->set = true;
		first->status = status;
		make_comment(first->comment, r, tag, what);
	}
	if (c->expl_lines < NORM_MAX_HITS) {
		char o[129], n[129];
		char own[16];
		const char *text = message;
		/* the path names the element: a message that starts with it
		 * goes on after it */
		snprintf(own, sizeof(own), "(%04X,%04X) ", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
		if (strncmp(message, own, strlen(own)) == 0)
			text = &message[strlen(own)];
		pacs_norm__str_addf(&c->expl, "%s:%u %s %s %s %s", c->rules->name, r->line, r->id,
				    waived ? "waived" : pacs_norm_action_name(action), path, text);
		if (new_value != NULL) {
			pacs_norm__show(o, sizeof(o), old_value != NULL ? old_value : "", old_value != NULL ? old_len : 0);
			pacs_norm__show(n, sizeof(n), new_value, new_len);
			pacs_norm__str_addf(&c->expl, ": '%s' -> '%s'", o, n);
		}
		pacs_norm__str_addc(&c->expl, '\n');
		c->expl_lines++;
	}
	if (res->n_hits >= NORM_MAX_HITS) {
		res->n_hits_dropped++;
		return 0;
	}
	if (res->n_hits == c->hits_cap) {
		size_t cap = c->hits_cap ? c->hits_cap * 2 : 16;
		pacs_norm_hit *grown;
		if (cap > NORM_MAX_HITS)
			cap = NORM_MAX_HITS;
		grown = realloc(res->hits, cap * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		res->hits = grown;
		c->hits_cap = cap;
	}
	{
		pacs_norm_hit *h = &res->hits[res->n_hits];
		memset(h, 0, sizeof(*h));
		snprintf(h->rule, sizeof(h->rule), "%s", r->id);
		h->kind = pacs_norm__kind_section(r->kind);
		h->line = r->line;
		h->action = action;
		h->status = status;
		h->tag = tag;
		snprintf(h->path, sizeof(h->path), "%s", path);
		h->old_value = show_dup(old_value, old_len);
		h->new_value = action == PACS_NORM_FIX ? show_dup(new_value != NULL ? new_value : "", new_len) : NULL;
		h->message = strdup(message);
		h->waived = waived;
		res->n_hits++;
		if ((old_value != NULL && h->old_value == NULL) || h->message == NULL ||
		    (action == PACS_NORM_FIX && h->new_value == NULL))
			return arca_error_set(ARCA_ENOMEM, "out of memory");
	}
	return 0;
}

/* DT of now in UTC: YYYYMMDDHHMMSS.FFFFFF+0000 (PS3.5 Table 6.2-1). */
static void now_dt(char out[27])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 27, "%04d%02d%02d%02d%02d%02d.%06ld+0000", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

void pacs_norm_result_free(pacs_norm_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->n_hits; i++) {
		free(res->hits[i].old_value);
		free(res->hits[i].new_value);
		free(res->hits[i].message);
	}
	free(res->hits);
	free(res->explanation);
	free(res);
}

static void outcome(norm_ctx *c)
{
	pacs_norm_result *res = c->res;

	if (c->refuse.set) {
		res->outcome = PACS_NORM_REFUSED;
		res->status = c->refuse.status;
		snprintf(res->comment, sizeof(res->comment), "%s", c->refuse.comment);
	} else if (c->warn.set) {
		res->outcome = PACS_NORM_WARNED;
		res->status = c->warn.status;
		snprintf(res->comment, sizeof(res->comment), "%s", c->warn.comment);
	} else if (c->fix.set) {
		char buf[128];
		res->status = c->fix.status;
		res->outcome = res->status != 0 ? PACS_NORM_WARNED : PACS_NORM_ACCEPTED;
		if (res->n_fixed > 1) {
			/* "... (+N)": the count stays, the comment is cut */
			char more[16];
			int m = snprintf(more, sizeof(more), " (+%u)", res->n_fixed - 1);
			snprintf(buf, sizeof(buf), "%.*s%s", PACS_NORM_COMMENT_MAX - m, c->fix.comment, more);
		} else {
			snprintf(buf, sizeof(buf), "%s", c->fix.comment);
		}
		snprintf(res->comment, sizeof(res->comment), "%s", buf);
	} else {
		res->outcome = PACS_NORM_ACCEPTED;
		res->status = 0;
	}
}

int pacs_norm_run(const pacs_norm_rules *rules, pacs_ds *ds, const pacs_norm_opts *opts,
		  pacs_norm_result **out)
{
	return pacs_norm_run_waived(rules, ds, opts, NULL, 0, out);
}

int pacs_norm_run_waived(const pacs_norm_rules *rules, pacs_ds *ds, const pacs_norm_opts *opts,
			 const char *const *waive, size_t n_waive, pacs_norm_result **out)
{
	norm_ctx *c;
	int rc;

	*out = NULL;
	if (pacs_ds_parent(ds) != NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_norm_run needs a root data set, not an item");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	c->rules = rules;
	c->root = ds;
	c->source = opts != NULL ? opts->source : NULL;
	c->waive = waive;
	c->n_waive = n_waive;
	if (opts != NULL && opts->now != NULL)
		snprintf(c->now, sizeof(c->now), "%s", opts->now);
	else
		now_dt(c->now);
	pacs_norm__str_init(&c->expl);
	c->res = calloc(1, sizeof(*c->res));
	if (c->res == NULL) {
		free(c);
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	}
	if ((rc = pacs_norm__rec_new(&c->rec)) < 0)
		goto fail;
	if ((rc = pacs_norm__charset(c)) < 0 || (rc = pacs_norm__normalise_values(c)) < 0 ||
	    (rc = pacs_norm__maps(c)) < 0 || (rc = pacs_norm__validate(c)) < 0)
		goto fail;
	if (c->changed && rules->coercion_datetime) {
		/* PS3.3 C.12.1.1.9: the time of the last coercion, correction
		 * or conversion, recorded like any other change. */
		if ((rc = pacs_norm__record(c->rec, ds, PACS_TAG_InstanceCoercionDateTime)) < 0 ||
		    (rc = pacs_ds_set_string(ds, PACS_TAG_InstanceCoercionDateTime, PACS_VR_DT, c->now)) < 0)
			goto fail;
	}
	if (!pacs_norm__rec_empty(c->rec)) {
		const char *reason = rules->reason[0] != '\0' ? rules->reason : c->correct ? "CORRECT" : "COERCE";
		if ((rc = pacs_norm__rec_finish(c->rec, ds, c->now, rules->modifying_system, c->source, reason)) < 0)
			goto fail;
		c->res->oas_added = true;
	}
	if (c->expl.failed) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory");
		goto fail;
	}
	if (c->res->n_hits_dropped > 0)
		pacs_norm__str_addf(&c->expl, "(%zu more hits not listed)\n", c->res->n_hits_dropped);
	c->res->explanation = c->expl.s != NULL ? c->expl.s : strdup("");
	c->expl.s = NULL;
	if (c->res->explanation == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory");
		goto fail;
	}
	outcome(c);
	*out = c->res;
	pacs_norm__rec_free(c->rec);
	pacs_norm__str_free(&c->expl);
	free(c);
	return 0;
fail:
	pacs_norm__rec_free(c->rec);
	pacs_norm_result_free(c->res);
	pacs_norm__str_free(&c->expl);
	free(c);
	return rc;
}
