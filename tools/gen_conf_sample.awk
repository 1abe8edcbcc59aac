# gen_conf_sample.awk - samples/arca.conf as a C string, so that `arca init`
# writes exactly the annotated sample (tools/arca_conf.c fills in the AE
# title, port and node name).
BEGIN {
	print "/* Generated from samples/arca.conf by tools/gen_conf_sample.awk: do not edit. */"
	print "extern const char arca_conf_sample_text[];"
	print "const char arca_conf_sample_text[] ="
}
{
	gsub(/\\/, "\\\\")
	gsub(/"/, "\\\"")
	print "\t\"" $0 "\\n\""
}
END { print ";" }
