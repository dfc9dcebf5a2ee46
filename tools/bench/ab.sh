#!/bin/sh
# A/B: this working tree's rnn.h against the one at REV (default HEAD), both
# in one process, timed turn by turn (tools/bench/ab.c): the char LM's
# training step and one-token generation (float, and int8 when REV has it),
# 2 layers, for each cell and H.
# Use it before landing a change that must not cost speed.
# Usage: sh tools/bench/ab.sh [REV] [ROUNDS] [THREADS]
# (THREADS > 1: both sides built with RNN_THREADS, each on its own pool)
# AB_OLD_CFLAGS: more flags for REV's side only; with REV = HEAD and a
# clean tree, AB_OLD_CFLAGS=-DRNN_NO_AVX512 times the AVX2 path against
# the AVX-512 one on the same core (the losses then differ: other sums).
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
# int8 generation too, when REV has it (both sides must)
if grep -q rnn_lm_quantize build/ab-old.h; then F="$F -DAB_INT8"; fi
L=-lm
if [ "$threads" -gt 1 ]; then F="$F -D_POSIX_C_SOURCE=200809L -DRNN_THREADS -pthread"; L="-lm -pthread"; fi
# bench-ab: REV as old_, the tree as new_; bench-ab-swap: the other way round
cc $F ${AB_OLD_CFLAGS:-} -DAB_HEADER='"ab-old.h"' -DAB_PREFIX=old_ -c tools/bench/ab_side.c -o build/ab-old.o
cc $F -DAB_HEADER='"ab-new.h"' -DAB_PREFIX=new_ -c tools/bench/ab_side.c -o build/ab-new.o
cc $F tools/bench/ab.c build/ab-old.o build/ab-new.o -o build/bench-ab $L
cc $F -DAB_HEADER='"ab-new.h"' -DAB_PREFIX=old_ -c tools/bench/ab_side.c -o build/ab-old.o
cc $F ${AB_OLD_CFLAGS:-} -DAB_HEADER='"ab-old.h"' -DAB_PREFIX=new_ -c tools/bench/ab_side.c -o build/ab-new.o
cc $F tools/bench/ab.c build/ab-old.o build/ab-new.o -o build/bench-ab-swap $L
echo "old: rnn.h at $(git rev-parse --short "$rev")${AB_OLD_CFLAGS:+ built with $AB_OLD_CFLAGS}; new: the working tree; $threads thread(s); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
for cell in 3 4; do
  for H in 128 256 512; do
    n=$rounds; [ $H = 512 ] && n=$((rounds / 4 > 4 ? rounds / 4 : 4))
    a=$(build/bench-ab $cell $H $n $threads)
    b=$(build/bench-ab-swap $cell $H $n $threads)
    # "train X (quartiles ..), generate Y (..); losses Z[; int8 generate Q (..), logits W]":
    # the swapped run's ratios are new/old; fields found by the word before them
    echo "$a|$b" | awk -F'|' '
      function field(s, word, k,   n, w, i) { n = split(s, w, " "); for (i = 1; i < n; i++) if (w[i] == word && --k == 0) { sub(/[;,]$/, "", w[i + 1]); return w[i + 1] } return "" }
      {
      ta = field($1, "train", 1); ga = field($1, "generate", 1); tb = field($2, "train", 1); gb = field($2, "generate", 1);
      same = field($1, "losses", 1) == "bit-identical" && field($2, "losses", 1) == "bit-identical" ? "bit-identical" : "differ";
      printf "cell %s H %-4s old/new time: train %.3f (REV first %.3f, second %.3f), generate %.3f (%.3f, %.3f); losses %s",
             field($1, "cell", 1), field($1, "H", 1), sqrt(ta / tb), ta, 1 / tb, sqrt(ga / gb), ga, 1 / gb, same
      qa = field($1, "generate", 2); qb = field($2, "generate", 2)
      if (qa != "") {
        s8 = field($1, "logits", 1) == "bit-identical" && field($2, "logits", 1) == "bit-identical" ? "bit-identical" : "differ"
        printf "; int8 generate %.3f (%.3f, %.3f), logits %s", sqrt(qa / qb), qa, 1 / qb, s8
      }
      printf "\n" }'
  done
done
