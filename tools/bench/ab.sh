#!/bin/sh
# A/B: this working tree's rnn.h against the one at REV (default HEAD), both
# in one process, timed turn by turn (tools/bench/ab.c): the char LM's
# training step and one-token generation, 2 layers, for each cell and H.
# Use it before landing a change that must not cost speed.
# Usage: sh tools/bench/ab.sh [REV] [ROUNDS] [THREADS]
# (THREADS > 1: both sides built with RNN_THREADS, each on its own pool)
set -eu
cd "$(dirname "$0")/../.."
rev=${1:-HEAD}; rounds=${2:-40}; threads=${3:-1}
STB=$(pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g'); [ -n "$STB" ] || STB="-isystem /usr/include/stb"
mkdir -p build
git show "$rev:rnn.h" > build/ab-old.h
F="-O2 -std=c99 -Wall -Wno-unused-function $STB"
L=-lm
if [ "$threads" -gt 1 ]; then F="$F -D_POSIX_C_SOURCE=200809L -DRNN_THREADS -pthread"; L="-lm -pthread"; fi
cc $F -DAB_HEADER='"ab-old.h"' -DAB_PREFIX=old_ -Ibuild -c tools/bench/ab_side.c -o build/ab-old.o
cc $F -DAB_HEADER='"../../rnn.h"' -DAB_PREFIX=new_ -c tools/bench/ab_side.c -o build/ab-new.o
cc $F tools/bench/ab.c build/ab-old.o build/ab-new.o -o build/bench-ab $L
echo "old: rnn.h at $(git rev-parse --short "$rev"); new: the working tree; $threads thread(s); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
for cell in 3 4; do
  for H in 128 256 512; do
    n=$rounds; [ $H = 512 ] && n=$((rounds / 4 > 4 ? rounds / 4 : 4))
    build/bench-ab $cell $H $n $threads
  done
done
