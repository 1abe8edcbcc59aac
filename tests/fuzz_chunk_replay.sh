#!/bin/sh
# Replays the chunk file reader's fuzz corpus (tests/corpus/chunk: the
# 32-byte address, then a chunk file of every body form) through the fuzz
# target's entry point under the sanitizers of this build.
exec ./tests/fuzz_chunk_replay "${ARCA_SRCDIR:-.}/tests/corpus/chunk"
