#!/bin/sh
# Replays the RLE Lossless decoder (pacs_rle.c) fuzz corpus (tests/corpus/rle)
# through the fuzz target's entry point under the sanitizers of this build.
exec ./tests/fuzz_rle_replay "${ARCA_SRCDIR:-.}/tests/corpus/rle"
