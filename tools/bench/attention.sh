#!/bin/sh
# Multi-head self-attention, forward + backward, one thread: rnn.h against
# PyTorch's nn.MultiheadAttention at its best (on OpenBLAS, its own kernel
# choice and OPENBLAS_CORETYPE=SKYLAKEX, or HASWELL without AVX-512; the
# faster counted), with this core's FMA limit measured in the same run.
set -eu
cd "$(dirname "$0")/../.."
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
ours=$(build/bench-attention)
echo "$ours" | head -1
peak=$(echo "$ours" | sed -n 's/.*fma_limit \([0-9.]*\).*/\1/p')
a=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/attention.py)
b=$(env OPENBLAS_CORETYPE=$fast OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/attention.py)
echo "$ours" | grep '^mha' | while read -r _ T E Hd B _ ms _ gf; do
    key="$T $E $Hd"
    pa=$(echo "$a" | grep "^mha $key " | awk '{print $7}'); pb=$(echo "$b" | grep "^mha $key " | awk '{print $7}')
    best=$(echo "$pa $pb" | awk '{print ($1 < $2) ? $1 : $2}')
    printf '%-26s rnn.h %8s ms (%5s GFLOP/s, %3s%% of FMA)  PyTorch %8s ms (own %s, %s %s) -> %sx\n' \
        "$key $B" "$ms" "$gf" "$(echo "$gf $peak" | awk '{printf "%.0f", 100 * $1 / $2}')" "$best" "$pa" "$fast" "$pb" \
        "$(echo "$best $ms" | awk '{printf "%.2f", $1 / $2}')"
done
