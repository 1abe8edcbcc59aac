#!/bin/sh
# Replays the chain entry fuzz corpus (tests/corpus/chain_entry: log
# entries as a peer could send them, canonical and not) through the fuzz
# target's entry point under the sanitizers of this build (no libFuzzer
# needed).  Fails if any input crashes or breaks the parse/encode round
# trip, or the corpus is missing.
exec ./tests/fuzz_chain_entry_replay "${ARCA_SRCDIR:-.}/tests/corpus/chain_entry"
