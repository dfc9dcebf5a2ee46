#!/bin/sh
# rnn.h's recurrent stack against PyTorch's, forward + backward, one thread,
# same shapes (2 layers, I = 64, T = 64, B = 32), run side by side.
# PyTorch at its best: its BLAS must be OpenBLAS, and it runs with its own
# kernel choice and with OPENBLAS_CORETYPE=SKYLAKEX (HASWELL without AVX-512); the faster counts.
set -eu
cd "$(dirname "$0")/../.."
# the fastest OpenBLAS kernel this CPU can run, beside OpenBLAS's own choice
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
echo "libblas.so.3 -> $blas"
case $blas in *openblas*) ;; *) echo "warning: PyTorch is not on OpenBLAS; the comparison is unfair to it" ;; esac
for cell in lstm gru; do
  for H in 128 256 512; do
    ours=$(build/bench-recurrent $cell $H)
    t1=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/recurrent.py $cell $H | sed 's/.*ms\/iter=//')
    t2=$(OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$fast /usr/bin/python3 tools/bench/recurrent.py $cell $H | sed 's/.*ms\/iter=//')
    best=$(echo "$t1 $t2" | awk '{print ($1 < $2) ? $1 : $2}')
    mine=$(echo "$ours" | sed 's/.*ms\/iter=\([0-9.]*\).*/\1/')
    echo "$ours | torch ms/iter=$best (default $t1, $fast $t2) | speedup $(echo "$best $mine" | awk '{printf "%.2fx", $1 / $2}')"
  done
done
