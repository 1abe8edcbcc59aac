#!/bin/sh
# Replays the JPEG 2000 decoder (pacs_j2k.c) fuzz corpus (tests/corpus/j2k)
# through the fuzz target's entry point under the sanitizers of this build.
exec ./tests/fuzz_j2k_replay "${ARCA_SRCDIR:-.}/tests/corpus/j2k"
