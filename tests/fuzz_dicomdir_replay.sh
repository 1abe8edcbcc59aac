#!/bin/sh
# Replays the DICOMDIR fuzz corpus (tests/corpus/dicomdir: DICOMDIRs
# written by arca and DCMTK, and broken ones: bad File IDs, paths that try
# to leave the File-set, truncations) through the fuzz target's entry point
# under the sanitizers of this build (no libFuzzer needed).  Fails if any
# input crashes or the corpus is missing.
exec ./tests/fuzz_dicomdir_replay "${ARCA_SRCDIR:-.}/tests/corpus/dicomdir"
