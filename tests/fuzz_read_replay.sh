#!/bin/sh
# Replays the DICOM reader's fuzz corpus (tests/corpus/read) through the
# fuzz target's entry point under the sanitizers of this build (no
# libFuzzer needed).  Fails if any input crashes or the corpus is missing.
exec ./tests/fuzz_read_replay "${ARCA_SRCDIR:-.}/tests/corpus/read"
