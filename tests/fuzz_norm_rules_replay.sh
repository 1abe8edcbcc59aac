#!/bin/sh
# Replays the normalisation rules fuzz corpus (tests/corpus/norm_rules:
# rules files, good and broken) through the fuzz target's entry point
# under the sanitizers of this build (no libFuzzer needed).  Fails if any
# input crashes or the corpus is missing.
exec ./tests/fuzz_norm_rules_replay "${ARCA_SRCDIR:-.}/tests/corpus/norm_rules"
