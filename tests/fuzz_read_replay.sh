#!/bin/sh
exec ./tests/fuzz_read_replay
