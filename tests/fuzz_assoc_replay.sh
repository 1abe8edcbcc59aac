#!/bin/sh
# Replays the association fuzz corpus (tests/corpus/assoc: byte streams a
# requestor sends, seeded by tests/rawpeer.py --write-corpus) through the
# fuzz target's entry point under the sanitizers of this build.
exec ./tests/fuzz_assoc_replay "${ARCA_SRCDIR:-.}/tests/corpus/assoc"
