#!/bin/sh
# Training langid's classifiers, one thread: rnn.h against the same module
# in PyTorch at its best (on OpenBLAS: its own kernel choice and
# OPENBLAS_CORETYPE=SKYLAKEX, or HASWELL without AVX-512; the faster counted).
set -eu
cd "$(dirname "$0")/../.."
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
for kind in gru transformer; do
    ours=$(build/bench-clf $kind | awk '{print $4}')
    a=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/clf.py $kind | awk '{print $4}')
    b=$(env OPENBLAS_CORETYPE=$fast OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/clf.py $kind | awk '{print $4}')
    best=$(echo "$a $b" | awk '{print ($1 > $2) ? $1 : $2}')
    printf 'classifier %-11s training, B=32, T=66..128: rnn.h %6s seq/s, PyTorch %6s (own %s, %s %s) -> %sx\n' \
        $kind "$ours" "$best" "$a" "$fast" "$b" "$(echo "$ours $best" | awk '{printf "%.2f", $1 / $2}')"
done
