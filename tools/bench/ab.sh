#!/bin/sh
# A/B: this working tree's rnn.h against the one at REV (default HEAD), both
# in one process, timed turn by turn (tools/bench/ab.c): the char LM's
# training step and one-token generation, 2 layers, for each cell and H.
# Use it before landing a change that must not cost speed.
# Usage: sh tools/bench/ab.sh [REV] [ROUNDS] [THREADS]
# (THREADS > 1: both sides built with RNN_THREADS, each on its own pool)
#
# The two sides of one process are not quite equal: built from the same
# source, the second side ran 1-5% slower than the first on 2 threads
# (Zen 3). So each case runs twice, once with REV in the first place and
# once in the second, and the ratio printed is the geometric mean of the
# two (the slot's bias cancels); each order's own median is shown too.
set -eu
cd "$(dirname "$0")/../.."
rev=${1:-HEAD}; rounds=${2:-40}; threads=${3:-1}
STB=$(pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g'); [ -n "$STB" ] || STB="-isystem /usr/include/stb"
mkdir -p build
git show "$rev:rnn.h" > build/ab-old.h
cp rnn.h build/ab-new.h
F="-O2 -std=c99 -Wall -Wno-unused-function $STB -Ibuild"
L=-lm
if [ "$threads" -gt 1 ]; then F="$F -D_POSIX_C_SOURCE=200809L -DRNN_THREADS -pthread"; L="-lm -pthread"; fi
# bench-ab: REV as old_, the tree as new_; bench-ab-swap: the other way round
cc $F -DAB_HEADER='"ab-old.h"' -DAB_PREFIX=old_ -c tools/bench/ab_side.c -o build/ab-old.o
cc $F -DAB_HEADER='"ab-new.h"' -DAB_PREFIX=new_ -c tools/bench/ab_side.c -o build/ab-new.o
cc $F tools/bench/ab.c build/ab-old.o build/ab-new.o -o build/bench-ab $L
cc $F -DAB_HEADER='"ab-new.h"' -DAB_PREFIX=old_ -c tools/bench/ab_side.c -o build/ab-old.o
cc $F -DAB_HEADER='"ab-old.h"' -DAB_PREFIX=new_ -c tools/bench/ab_side.c -o build/ab-new.o
cc $F tools/bench/ab.c build/ab-old.o build/ab-new.o -o build/bench-ab-swap $L
echo "old: rnn.h at $(git rev-parse --short "$rev"); new: the working tree; $threads thread(s); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
for cell in 3 4; do
  for H in 128 256 512; do
    n=$rounds; [ $H = 512 ] && n=$((rounds / 4 > 4 ? rounds / 4 : 4))
    a=$(build/bench-ab $cell $H $n $threads)
    b=$(build/bench-ab-swap $cell $H $n $threads)
    # "train X (quartiles ..), generate Y (..); losses Z": the swapped run's ratios are new/old
    echo "$a|$b" | awk -F'|' '{
      nx = split($1, x, " "); ny = split($2, y, " ");
      ta = x[8]; ga = x[13]; tb = y[8]; gb = y[13];
      same = x[nx] == "bit-identical" && y[ny] == "bit-identical" ? "bit-identical" : "differ";
      printf "cell %s H %-4s old/new time: train %.3f (REV first %.3f, second %.3f), generate %.3f (%.3f, %.3f); losses %s\n",
             x[2], x[4], sqrt(ta / tb), ta, 1 / tb, sqrt(ga / gb), ga, 1 / gb, same }'
  done
done
