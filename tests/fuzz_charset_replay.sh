#!/bin/sh
# Replays the character set fuzz corpus (tests/corpus/charset) through the
# fuzz target's entry point under the sanitizers of this build.
exec ./tests/fuzz_charset_replay "${ARCA_SRCDIR:-.}/tests/corpus/charset"
