#!/bin/sh
# Replays the proof bundle fuzz corpus (tests/corpus/proof: bundles signed
# with the fuzz target's fixed key, and broken ones) through the target's
# entry point under the sanitizers of this build (no libFuzzer needed).
# Fails if any input crashes or an accepted bundle breaks the target's
# checks, or the corpus is missing.
exec ./tests/fuzz_proof_replay "${ARCA_SRCDIR:-.}/tests/corpus/proof"
