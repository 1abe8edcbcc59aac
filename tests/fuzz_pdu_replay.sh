#!/bin/sh
# Replays the PDU fuzz corpus through the fuzz target's entry point under
# the sanitizers of this build (no libFuzzer needed).
exec ./tests/fuzz_pdu_replay "$ARCA_SRCDIR/tests/corpus/pdu"
