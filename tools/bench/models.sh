#!/bin/sh
# A model's training, one thread: rnn.h (build/bench-NAME KIND) against the
# same module in PyTorch (tools/bench/NAME.py KIND) at its best: on OpenBLAS
# with its own kernel choice and with OPENBLAS_CORETYPE=SKYLAKEX (HASWELL
# without AVX-512), the faster counted. Each program prints "... seq/s N".
# Usage: tools/bench/models.sh NAME LABEL KIND...   (LABEL: a printf format for KIND)
#   e.g. tools/bench/models.sh clf 'classifier %-11s training' gru transformer
set -eu
cd "$(dirname "$0")/../.."
name=$1; label=$2; shift 2
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
for kind in "$@"; do
    ours=$(build/bench-$name $kind | awk '{print $4}')
    a=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/$name.py $kind | awk '{print $4}')
    b=$(env OPENBLAS_CORETYPE=$fast OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/$name.py $kind | awk '{print $4}')
    best=$(echo "$a $b" | awk '{print ($1 > $2) ? $1 : $2}')
    # shellcheck disable=SC2059
    printf "$label: rnn.h %6s seq/s, PyTorch %6s (own %s, %s %s) -> %sx\n" \
        $kind "$ours" "$best" "$a" "$fast" "$b" "$(echo "$ours $best" | awk '{printf "%.2f", $1 / $2}')"
done
