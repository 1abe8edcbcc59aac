/* pacs_dict.c - lookups in the data dictionary (PS3.6 Section 6) whose
 * tables gen_dict.awk generates from DCMTK's dicom.dic and private.dic. */
#include "pacs_dict.h"

#include <stddef.h>
#include <string.h>

#include "pacs_dict_priv.h"

static uint16_t tag_group(uint32_t tag) { return (uint16_t)(tag >> 16); }
static uint16_t tag_elem(uint32_t tag) { return (uint16_t)(tag & 0xFFFFu); }

static const pacs_dict_entry *find_exact(uint32_t tag)
{
	unsigned lo = 0, hi = pacs_dict__exact_count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		uint32_t t = pacs_dict__exact[mid].tag;

		if (t == tag)
			return &pacs_dict__exact[mid];
		if (t < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Group g lies in the entry's group range with the right parity (PS3.5
 * 7.6: repeating groups 50xx/60xx are even; private ranges are odd). */
static bool group_in_range(const pacs_dict_entry *e, uint16_t g)
{
	uint16_t first = tag_group(e->tag);

	if (g < first || g > e->group_last)
		return false;
	return e->group_step <= 1 || (unsigned)(g - first) % e->group_step == 0;
}

static bool range_matches(const pacs_dict_entry *e, uint16_t g, uint16_t el)
{
	return group_in_range(e, g) && el >= tag_elem(e->tag) && el <= e->elem_last;
}

const pacs_dict_entry *pacs_dict_lookup(uint32_t tag)
{
	uint16_t g = tag_group(tag), el = tag_elem(tag);

	/* PS3.5 7.8.1: odd groups are private, so no standard single tag
	 * applies; only the ranges below (private creator, group length)
	 * describe elements there. */
	if ((g & 1u) == 0) {
		const pacs_dict_entry *e = find_exact(tag);
		if (e)
			return e;
	}
	for (unsigned i = 0; i < pacs_dict__ranges_count; i++)
		if (range_matches(&pacs_dict__ranges[i], g, el))
			return &pacs_dict__ranges[i];
	return NULL;
}

/* Orders a private entry against the key (creator, group, low byte) the
 * way gen_dict.awk sorted the table: creator bytewise with a prefix
 * first, then first group, then element low byte. */
static int private_cmp(const pacs_dict_private *p, const char *creator, size_t len,
		       uint16_t g, uint8_t low)
{
	size_t plen = strlen(p->creator);
	int r = memcmp(p->creator, creator, plen < len ? plen : len);

	if (r != 0)
		return r;
	if (plen != len)
		return plen < len ? -1 : 1;
	uint16_t pg = tag_group(p->entry.tag);
	if (pg != g)
		return pg < g ? -1 : 1;
	uint8_t plow = (uint8_t)(tag_elem(p->entry.tag) & 0xFFu);
	if (plow != low)
		return plow < low ? -1 : 1;
	return 0;
}

/* First index whose key is not less than (creator, g, low). */
static unsigned private_lower_bound(const char *creator, size_t len, uint16_t g, uint8_t low)
{
	unsigned lo = 0, hi = pacs_dict__private_count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (private_cmp(&pacs_dict__private[mid], creator, len, g, low) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool same_creator(const pacs_dict_private *p, const char *creator, size_t len)
{
	return strlen(p->creator) == len && memcmp(p->creator, creator, len) == 0;
}

/* A private.dic entry's element is either "ee" (any block the creator
 * reserved) or a fixed "eeee" >= 0x1000. */
static bool private_elem_matches(const pacs_dict_entry *e, uint16_t el)
{
	uint16_t pe = tag_elem(e->tag);

	if (pe > 0xFFu)
		return pe == el;
	return pe == (el & 0xFFu);
}

const pacs_dict_entry *pacs_dict_lookup_private(uint32_t tag, const char *creator, unsigned creator_len)
{
	uint16_t g = tag_group(tag), el = tag_elem(tag);
	const pacs_dict_entry *any_block = NULL;

	/* PS3.5 7.8.1: private data elements are (gggg,1000-FFFF) in odd groups,
	 * element xxee belonging to the creator at (gggg,00xx). */
	if (creator == NULL || (g & 1u) == 0 || el < 0x1000u)
		return NULL;
	/* PS3.5 6.2 (LO): leading and trailing spaces are not significant;
	 * writers also pad with NUL. */
	size_t len = creator_len;
	while (len > 0 && (creator[len - 1] == ' ' || creator[len - 1] == '\0'))
		len--;
	while (len > 0 && creator[0] == ' ') {
		creator++;
		len--;
	}
	if (len == 0)
		return NULL;

	uint8_t low = (uint8_t)(el & 0xFFu);
	for (unsigned i = private_lower_bound(creator, len, g, low);
	     i < pacs_dict__private_count && private_cmp(&pacs_dict__private[i], creator, len, g, low) == 0; i++) {
		const pacs_dict_entry *e = &pacs_dict__private[i].entry;
		if (!private_elem_matches(e, el))
			continue;
		if (tag_elem(e->tag) > 0xFFu)
			return e; /* a fixed element is the most specific */
		if (!any_block)
			any_block = e;
	}
	if (any_block)
		return any_block;

	/* Group ranges ("6001-o-60FF") sort under their first group: scan
	 * this creator's entries for one covering g. */
	for (unsigned i = private_lower_bound(creator, len, 0, 0);
	     i < pacs_dict__private_count && same_creator(&pacs_dict__private[i], creator, len); i++) {
		const pacs_dict_entry *e = &pacs_dict__private[i].entry;
		if (e->group_last != tag_group(e->tag) && group_in_range(e, g) && private_elem_matches(e, el))
			return e;
	}
	return NULL;
}

uint32_t pacs_dict_tag_by_keyword(const char *keyword)
{
	unsigned lo = 0, hi = pacs_dict__by_keyword_count;

	if (keyword == NULL)
		return 0;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int r = strcmp(pacs_dict__by_keyword[mid]->keyword, keyword);

		if (r == 0)
			return pacs_dict__by_keyword[mid]->tag;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const char *pacs_dict_keyword(uint32_t tag)
{
	const pacs_dict_entry *e = pacs_dict_lookup(tag);

	return e ? e->keyword : "";
}

pacs_vr pacs_dict_vr(uint32_t tag)
{
	const pacs_dict_entry *e = pacs_dict_lookup(tag);

	/* PS3.5 6.2.2: an element whose VR is not known in Implicit VR is
	 * treated as UN; private data elements land here (their creator's
	 * dictionary is pacs_dict_lookup_private's business).  Private creator
	 * (LO) and group length (UL) come from the range entries. */
	if (e == NULL)
		return PACS_VR_UN;
	return pacs_vr_resolve_default(e->vr);
}

unsigned pacs_dict_size(void)
{
	return pacs_dict__exact_count + pacs_dict__ranges_count;
}
