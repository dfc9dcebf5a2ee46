#!/bin/sh
# Training the addition models of examples/addition.c, one thread: rnn.h against the same module
# in PyTorch at its best (on OpenBLAS: its own kernel choice and
# OPENBLAS_CORETYPE=SKYLAKEX, or HASWELL without AVX-512; the faster counted).
set -eu
cd "$(dirname "$0")/../.."
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
for kind in keras attention; do
    ours=$(build/bench-s2s $kind | awk '{print $4}')
    a=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/s2s.py $kind | awk '{print $4}')
    b=$(env OPENBLAS_CORETYPE=$fast OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/s2s.py $kind | awk '{print $4}')
    best=$(echo "$a $b" | awk '{print ($1 > $2) ? $1 : $2}')
    printf 'seq2seq %-9s training, B=128, 7 -> 4: rnn.h %6s seq/s, PyTorch %6s (own %s, %s %s) -> %sx\n' \
        $kind "$ours" "$best" "$a" "$fast" "$b" "$(echo "$ours $best" | awk '{printf "%.2f", $1 / $2}')"
done
