#!/bin/sh
# Replays the DIMSE fuzz corpus (tests/corpus/dimse: command sets and PDV
# runs) through the fuzz target's entry point under the sanitizers of this
# build (no libFuzzer needed).  Fails if any input crashes or the corpus is
# missing.
exec ./tests/fuzz_dimse_replay "${ARCA_SRCDIR:-.}/tests/corpus/dimse"
