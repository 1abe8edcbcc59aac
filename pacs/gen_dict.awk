# gen_dict.awk - generates arca's DICOM data dictionary (PS3.6 Section 6)
# from DCMTK's dicom.dic and, optionally, private.dic.
#
#   awk -f gen_dict.awk dicom.dic [private.dic] > pacs_dict_gen.c
#   awk -v mode=tags -f gen_dict.awk dicom.dic  > pacs_tags_gen.h
#
# The first form prints the tables declared in pacs_dict_priv.h; the second
# prints one "#define PACS_TAG_<Keyword> 0xGGGGEEEEu" per single-tag,
# non-retired standard attribute.
#
# Portable awk only (POSIX, runs under mawk, Debian's default awk): no
# gawk functions, no regex intervals.  Run with LC_ALL=C so that string
# comparisons, and therefore the sort orders the C code binary-searches,
# are byte orders (the unit test checks the orders).
#
# dicom.dic notation (see its header): five tab-separated fields
#   (gggg,eeee)  VR  Keyword  VM  Version
# A group or element may be a range "lo-hi" (even values only by default,
# used for groups: 50xx, 60xx, 7Fxx are even), "lo-o-hi" (odd values only)
# or "lo-u-hi" (all values).  Element ranges carry no parity in arca's
# table: PS3.6 writes them as (0020,31xx), every element of the range.
# Retired keywords carry a RETIRED_ prefix and "retired" in the version.
# Later lines override earlier lines with the same tag.
#
# private.dic notation: (gggg,"CREATOR",ee) is element ee of whichever
# block (gggg,xx00-xxFF) the creator reserved; (gggg,"CREATOR",eeee) with
# eeee >= 1000 matches only that element; gggg may be a range "lo-o-hi".

BEGIN {
	FS = "\t+"
	if (mode == "")
		mode = "c"
	if (mode != "c" && mode != "tags")
		fail("unknown mode '" mode "' (use c or tags)")
	H4 = "[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]"
	H2 = "[0-9A-Fa-f][0-9A-Fa-f]"
	nvr = split("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV xs ox px lt up na", vrs, " ")
	for (i = 1; i <= nvr; i++)
		known_vr[vrs[i]] = 1
	SEP = sprintf("%c", 1)   # sorts before any printable character
	nex = 0; nrg = 0; npv = 0; order = 0
	fileno = 0; failed = 0
}

FNR == 1 {
	fileno++
	if (fileno == 1)
		std_file = FILENAME
	else if (fileno == 2)
		priv_file = FILENAME
}

{ sub(/\r$/, "") }

fileno == 1 && /^# Generated automatically from/ {
	std_origin = substr($0, 3)
}

/^#/ || /^[ \t]*$/ { next }

fileno == 1 { std_line(); next }
fileno == 2 && mode == "c" { priv_line(); next }

END {
	if (failed)
		exit 1
	if (fileno < 1)
		fail("no input: pass the path of dicom.dic")
	if (failed)
		exit 1
	sort_entries()
	if (failed)
		exit 1
	if (mode == "tags")
		print_tags()
	else
		print_tables()
}

# ------------------------------------------------------------ helpers

function fail(msg) {
	printf("gen_dict.awk: %s:%d: %s\n", FILENAME, FNR, msg) > "/dev/stderr"
	failed = 1
}

function warn(msg) {
	printf("gen_dict.awk: %s:%d: warning: %s\n", FILENAME, FNR, msg) > "/dev/stderr"
}

function trim(s) {
	sub(/^[ ]+/, "", s)
	sub(/[ ]+$/, "", s)
	return s
}

function hex(s,   i, d, v) {
	v = 0
	s = tolower(s)
	for (i = 1; i <= length(s); i++) {
		d = index("0123456789abcdef", substr(s, i, 1))
		if (d == 0)
			return -1
		v = v * 16 + d - 1
	}
	return v
}

# C string literal.  '?' is escaped so no "??x" trigraph can form under
# -std=c17; the caller has rejected anything but printable ASCII.
function cstr(s,   r, i, c) {
	r = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" || c == "\"" || c == "?")
			r = r "\\" c
		else
			r = r c
	}
	return "\"" r "\""
}

# Parses one side of a tag, "gggg", "gggg-gggg", "gggg-o-gggg" or
# "gggg-u-gggg" (the width is 4, or 2 for private element bytes), into
# p_lo, p_hi and p_restr ("" single, "e" even, "o" odd, "u" all).
function parse_part(s, h,   a) {
	if (s ~ ("^" h "$")) {
		p_lo = hex(s); p_hi = p_lo; p_restr = ""
		return 1
	}
	if (s ~ ("^" h "-[oOuU]-" h "$")) {
		split(s, a, "-")
		p_lo = hex(a[1]); p_hi = hex(a[3]); p_restr = tolower(a[2])
	} else if (s ~ ("^" h "-" h "$")) {
		split(s, a, "-")
		p_lo = hex(a[1]); p_hi = hex(a[2]); p_restr = "e"
	} else {
		return 0
	}
	return p_hi >= p_lo
}

# Group range step: PS3.5 7.6 repeating groups are the even groups of
# 50xx/60xx; "-o-" ranges (private groups) are odd.
function group_step(lo, hi, restr) {
	if (restr == "" || restr == "u")
		return 1
	if (restr == "e" && lo % 2 != 0)
		return 0
	if (restr == "o" && lo % 2 != 1)
		return 0
	return 2
}

# VM "1", "1-3", "1-n", "2-2n", "3-3n" into vm_min, vm_max (0 = n) and
# vm_step.  The table holds bytes: a bound above 255 (one private entry
# has VM 256) becomes "255-n", which still accepts the real count.
function parse_vm(s,   a, n) {
	if (s ~ /^[0-9]+$/) {
		vm_min = s + 0; vm_max = vm_min; vm_step = 1
	} else if (s ~ /^[0-9]+-[0-9]+$/) {
		split(s, a, "-")
		vm_min = a[1] + 0; vm_max = a[2] + 0; vm_step = 1
		if (vm_max < vm_min)
			return 0
	} else if (s ~ /^[0-9]+-n$/) {
		split(s, a, "-")
		vm_min = a[1] + 0; vm_max = 0; vm_step = 1
	} else if (s ~ /^[0-9]+-[0-9]+n$/) {
		split(s, a, "-")
		vm_min = a[1] + 0; vm_max = 0
		vm_step = substr(a[2], 1, length(a[2]) - 1) + 0
		if (vm_step < 1)
			return 0
	} else {
		return 0
	}
	if (vm_min < 1)
		return 0
	if (vm_min > 255 || vm_max > 255) {
		if (vm_min > 255)
			vm_min = 255
		vm_max = 0
	}
	if (vm_step > 255)
		return 0
	return 1
}

function entry_init(tag_g, tag_e, g_last, e_last, g_step, vr, retired, kw) {
	return sprintf("{ .tag = 0x%04X%04Xu, .group_last = 0x%04Xu, .elem_last = 0x%04Xu, .group_step = %d, .vr = PACS_VR_%s, .vm_min = %d, .vm_max = %d, .vm_step = %d, .retired = %s, .keyword = %s }", \
		tag_g, tag_e, g_last, e_last, g_step, vr, vm_min, vm_max, vm_step, retired ? "true" : "false", cstr(kw))
}

# ------------------------------------------------------------ dicom.dic

function std_line(   tagf, inner, parts, glo, ghi, grs, elo, ehi, ers, gstep, vr, kw, ver, retired, key, i) {
	if (NF < 5) {
		fail("expected 5 tab-separated fields (tag, VR, keyword, VM, version), found " NF)
		return
	}
	tagf = trim($1); vr = trim($2); kw = trim($3); ver = trim($5)
	if (tagf !~ /^\(.*\)$/ || split(substr(tagf, 2, length(tagf) - 2), parts, ",") != 2) {
		fail("bad tag field '" tagf "'")
		return
	}
	if (!parse_part(parts[1], H4)) {
		fail("bad group '" parts[1] "'")
		return
	}
	glo = p_lo; ghi = p_hi; grs = p_restr
	if (!parse_part(parts[2], H4)) {
		fail("bad element '" parts[2] "'")
		return
	}
	elo = p_lo; ehi = p_hi; ers = p_restr
	if (ers == "o") {
		fail("odd-only element ranges are not supported by pacs_dict_entry")
		return
	}
	gstep = group_step(glo, ghi, grs)
	if (gstep == 0) {
		fail("group range '" parts[1] "' starts on the wrong parity")
		return
	}
	if (!(vr in known_vr)) {
		fail("unknown VR '" vr "'")
		return
	}
	if (kw !~ /^[A-Za-z][A-Za-z0-9_]*$/) {
		fail("bad keyword '" kw "'")
		return
	}
	retired = (ver ~ /retired/)
	sub(/^RETIRED_/, "", kw)
	if (!parse_vm(trim($4))) {
		fail("bad VM '" $4 "'")
		return
	}
	order++
	if (glo == ghi && elo == ehi) {
		key = sprintf("%04X%04X", glo, elo)
		if (key in ex_at) {
			i = ex_at[key]
		} else {
			i = ++nex
			ex_at[key] = i
		}
		ex_key[i] = key
		ex_init[i] = entry_init(glo, elo, ghi, ehi, 1, vr, retired, kw)
		ex_kw[i] = kw
		ex_vr[i] = vr
		ex_vm[i] = trim($4)
		ex_std[i] = (ver ~ /^DICOM/)
		ex_retired[i] = retired
	} else {
		key = tolower(tagf)
		if (key in rg_at) {
			i = rg_at[key]
		} else {
			i = ++nrg
			rg_at[key] = i
		}
		# Narrow ranges first, so that a tag in both (0009-o-FFFF,0000)
		# and (0000-u-FFFF,0000) gets the more specific entry; file
		# order breaks ties.
		rg_key[i] = sprintf("%04X%04X%06d", ghi - glo, ehi - elo, order)
		rg_init[i] = entry_init(glo, elo, ghi, ehi, gstep, vr, retired, kw)
		rg_kw[i] = kw
		rg_std[i] = (ver ~ /^DICOM/)
	}
}

# ------------------------------------------------------------ private.dic

function priv_line(   tagf, q1, q2, creator, gpart, epart, glo, ghi, grs, gstep, elo, vr, kw, key, i) {
	if (NF < 4) {
		warn("skipped: expected at least 4 fields (tag, VR, name, VM)")
		return
	}
	tagf = trim($1); vr = trim($2); kw = trim($3)
	q1 = index(tagf, "\"")
	q2 = length(tagf)
	while (q2 > q1 && substr(tagf, q2, 1) != "\"")
		q2--
	if (substr(tagf, 1, 1) != "(" || substr(tagf, length(tagf), 1) != ")" || q1 < 3 || q2 <= q1 || \
	    substr(tagf, q1 - 1, 1) != "," || substr(tagf, q2 + 1, 1) != ",") {
		warn("skipped: bad private tag '" tagf "'")
		return
	}
	creator = substr(tagf, q1 + 1, q2 - q1 - 1)
	gpart = substr(tagf, 2, q1 - 3)
	epart = substr(tagf, q2 + 2, length(tagf) - q2 - 2)
	if (creator == "" || creator ~ /[^ -~]/) {
		warn("skipped: creator is empty or not printable ASCII")
		return
	}
	if (!parse_part(gpart, H4) || (gstep = group_step(p_lo, p_hi, p_restr)) == 0) {
		warn("skipped: unsupported group '" gpart "'")
		return
	}
	glo = p_lo; ghi = p_hi; grs = p_restr
	# (gggg,"C",ee): any block; (gggg,"C",eeee), eeee >= 1000: that element.
	if (epart ~ ("^" H2 "$")) {
		elo = hex(epart)
	} else if (epart ~ ("^" H4 "$") && hex(epart) >= 4096) {
		elo = hex(epart)
	} else {
		warn("skipped: unsupported private element '" epart "'")
		return
	}
	if (!(vr in known_vr)) {
		warn("skipped: unknown VR '" vr "'")
		return
	}
	if (kw == "" || kw ~ /[^ -~]/) {
		warn("skipped: name is empty or not printable ASCII")
		return
	}
	if (!parse_vm(trim($4))) {
		warn("skipped: bad VM '" $4 "'")
		return
	}
	key = creator SEP sprintf("%04X%04X%04X", glo, ghi, elo)
	if (key in pv_at) {
		i = pv_at[key]
	} else {
		i = ++npv
		pv_at[key] = i
	}
	# Lookup order of pacs_dict_lookup_private(): creator, first group,
	# element low byte; the full element last puts "any block" entries
	# before fixed-element ones.
	pv_key[i] = creator SEP sprintf("%04X%02X%04X%04X", glo, elo % 256, elo, ghi)
	pv_creator[i] = creator
	pv_init[i] = entry_init(glo, elo, ghi, elo, gstep, vr, 0, kw)
}

# ------------------------------------------------------------ sorting

# Shell sort of idx[1..n] by keys[idx[i]] (keys are strings, compared
# bytewise under LC_ALL=C).
function sort_idx(keys, idx, n,   gap, i, j, t) {
	for (gap = int(n / 2); gap > 0; gap = int(gap / 2)) {
		for (i = gap + 1; i <= n; i++) {
			t = idx[i]
			for (j = i; j > gap && keys[idx[j - gap]] > keys[t]; j -= gap)
				idx[j] = idx[j - gap]
			idx[j] = t
		}
	}
}

function sort_entries(   i, n, kw, kwkey) {
	for (i = 1; i <= nex; i++)
		ex_ord[i] = i
	sort_idx(ex_key, ex_ord, nex)
	for (i = 1; i <= nrg; i++)
		rg_ord[i] = i
	sort_idx(rg_key, rg_ord, nrg)
	for (i = 1; i <= npv; i++)
		pv_ord[i] = i
	sort_idx(pv_key, pv_ord, npv)

	# Keyword index over the standard ("DICOM...") entries, exact and
	# ranges; the PRIVATE/ILLEGAL/GENERIC pseudo entries have no tag a
	# keyword could name.  Values are C expressions of the sorted positions.
	n = 0
	for (i = 1; i <= nex; i++) {
		if (!ex_std[ex_ord[i]])
			continue
		kw = ex_kw[ex_ord[i]]
		if (kw in kw_seen) {
			fail("keyword " kw " names two attributes")
			return
		}
		kw_seen[kw] = 1
		n++
		kwkey[n] = "" kw
		kw_ref[n] = sprintf("&pacs_dict__exact[%d]", i - 1)
	}
	for (i = 1; i <= nrg; i++) {
		if (!rg_std[rg_ord[i]])
			continue
		kw = rg_kw[rg_ord[i]]
		if (kw in kw_seen) {
			fail("keyword " kw " names two attributes")
			return
		}
		kw_seen[kw] = 1
		n++
		kwkey[n] = "" kw
		kw_ref[n] = sprintf("&pacs_dict__ranges[%d]", i - 1)
	}
	nkw = n
	for (i = 1; i <= nkw; i++)
		kw_ord[i] = i
	sort_idx(kwkey, kw_ord, nkw)
}

# ------------------------------------------------------------ output

function print_tables(   i) {
	print "/* pacs_dict_gen.c - GENERATED by pacs/gen_dict.awk; do not edit."
	print " * Standard dictionary: " std_file
	if (std_origin != "")
		print " *   (" std_origin ")"
	if (priv_file != "")
		print " * Private dictionary: " priv_file
	print " * Tables declared in pacs_dict_priv.h. */"
	print "#include <stdbool.h>"
	print ""
	print "#include \"pacs_dict_priv.h\""
	print ""
	print "/* Single tags, sorted by tag. */"
	print "const pacs_dict_entry pacs_dict__exact[] = {"
	for (i = 1; i <= nex; i++)
		print "\t" ex_init[ex_ord[i]] ","
	if (nex == 0)
		print "\t{ .keyword = \"\" },"
	print "};"
	print "const unsigned pacs_dict__exact_count = " nex ";"
	print ""
	print "/* Repeating groups and elements, narrowest first. */"
	print "const pacs_dict_entry pacs_dict__ranges[] = {"
	for (i = 1; i <= nrg; i++)
		print "\t" rg_init[rg_ord[i]] ","
	if (nrg == 0)
		print "\t{ .keyword = \"\" },"
	print "};"
	print "const unsigned pacs_dict__ranges_count = " nrg ";"
	print ""
	print "/* Standard entries sorted by keyword (strcmp order). */"
	print "const pacs_dict_entry *const pacs_dict__by_keyword[] = {"
	for (i = 1; i <= nkw; i++)
		print "\t" kw_ref[kw_ord[i]] ","
	if (nkw == 0)
		print "\t0,"
	print "};"
	print "const unsigned pacs_dict__by_keyword_count = " nkw ";"
	print ""
	print "/* Private tags, sorted by creator (strcmp order), first group, element low byte. */"
	print "const pacs_dict_private pacs_dict__private[] = {"
	for (i = 1; i <= npv; i++)
		print "\t{ .creator = " cstr(pv_creator[pv_ord[i]]) ", .entry = " pv_init[pv_ord[i]] " },"
	if (npv == 0)
		print "\t{ .creator = \"\" },"
	print "};"
	print "const unsigned pacs_dict__private_count = " npv ";"
}

function print_tags(   i, k) {
	print "/* pacs_tags_gen.h - GENERATED by pacs/gen_dict.awk from"
	print " * " std_file "; do not edit.  Include pacs_tags.h. */"
	print "#ifndef PACS_TAGS_GEN_H"
	print "#define PACS_TAGS_GEN_H"
	print ""
	for (i = 1; i <= nex; i++) {
		k = ex_ord[i]
		if (!ex_std[k] || ex_retired[k])
			continue
		printf("#define PACS_TAG_%s 0x%su /* (%s,%s) %s %s */\n", ex_kw[k], ex_key[k], \
			substr(ex_key[k], 1, 4), substr(ex_key[k], 5, 4), ex_vr[k], ex_vm[k])
	}
	print ""
	print "#endif"
}
