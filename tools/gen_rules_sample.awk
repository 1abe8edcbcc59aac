# gen_rules_sample.awk - samples/normalise.conf as a C string, so that
# `arca init` (and arcad creating a default archive) writes the documented
# default rules (arca-normalise(5)) into ROOT/normalise.conf.
BEGIN {
	print "/* Generated from samples/normalise.conf by tools/gen_rules_sample.awk: do not edit. */"
	print "extern const char arca_rules_sample_text[];"
	print "const char arca_rules_sample_text[] ="
}
{
	gsub(/\\/, "\\\\")
	gsub(/"/, "\\\"")
	print "\t\"" $0 "\\n\""
}
END { print ";" }
