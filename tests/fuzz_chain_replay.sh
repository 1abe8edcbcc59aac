#!/bin/sh
# Replays chain/'s fuzz corpus (tests/corpus/chain: checkpoint notes and
# Merkle proofs) through the fuzz target's entry point under the sanitizers
# of this build (no libFuzzer needed).  Fails if any input crashes, breaks
# the parse/encode round trip, or the corpus is missing.
exec ./tests/fuzz_chain_replay "${ARCA_SRCDIR:-.}/tests/corpus/chain"
