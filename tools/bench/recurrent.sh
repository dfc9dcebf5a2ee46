#!/bin/sh
# rnn.h's recurrent stack against PyTorch's and oneDNN's, forward + backward,
# one thread, same shapes (2 layers, I = 64, T = 64, B = 32), run side by side.
# PyTorch at its best: its BLAS must be OpenBLAS, and it runs with its own
# kernel choice and with OPENBLAS_CORETYPE=SKYLAKEX (HASWELL without AVX-512);
# the faster counts. oneDNN (libdnnl-dev): its RNN primitive, weights in its
# own layouts (tools/bench/dnnl.c). rnn.h and oneDNN run three times each,
# alternating, and each keeps its fastest (this machine is shared: load moves
# single runs by 30%). Each line ends with rnn.h's speed over the fastest
# peer; the shares are of this core's FMA limit, measured first. oneDNN
# always makes the gradient of layer 0's input, which the job does not need
# and rnn.h and PyTorch skip; "same work" is rnn.h against oneDNN with
# rnn.h making it too (bench-recurrent ... dx).
set -eu
cd "$(dirname "$0")/../.."
# the fastest OpenBLAS kernel this CPU can run, beside OpenBLAS's own choice
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
echo "libblas.so.3 -> $blas"
case $blas in *openblas*) ;; *) echo "warning: PyTorch is not on OpenBLAS; the comparison is unfair to it" ;; esac
peak=$(build/bench-recurrent fma)
echo "FMA limit of this core: ${peak%% *} GFLOP/s (${peak#* }, measured now)"
peak=${peak%% *}
for cell in lstm gru; do
  for H in 128 256 512; do
    ours=; dnnl=; same=
    for round in 1 2 3; do
      o=$(build/bench-recurrent $cell $H); d=$(OMP_NUM_THREADS=1 build/bench-dnnl $cell $H)
      x=$(build/bench-recurrent $cell $H 2 64 64 32 15 dx)
      ours=$(printf '%s\n%s\n' "$ours" "$o" | sed '/^$/d' | sort -t= -k7 -g | head -n 1)
      dnnl=$(printf '%s\n%s\n' "$dnnl" "$d" | sed '/^$/d' | sort -t= -k7 -g | head -n 1)
      same=$(printf '%s\n%s\n' "$same" "$x" | sed '/^$/d' | sort -t= -k7 -g | head -n 1)
    done
    t1=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/recurrent.py $cell $H | sed 's/.*ms\/iter=//')
    t2=$(OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$fast /usr/bin/python3 tools/bench/recurrent.py $cell $H | sed 's/.*ms\/iter=//')
    torch=$(echo "$t1 $t2" | awk '{print ($1 < $2) ? $1 : $2}')
    mine=$(echo "$ours" | sed 's/.*ms\/iter=\([0-9.]*\).*/\1/')
    gmine=$(echo "$ours" | sed 's/.*GFLOP\/s=\([0-9.]*\).*/\1/')
    tdnnl=$(echo "$dnnl" | sed 's/.*ms\/iter=\([0-9.]*\).*/\1/')
    tsame=$(echo "$same" | sed 's/.*ms\/iter=\([0-9.]*\).*/\1/')
    gdnnl=$(echo "$dnnl" | sed 's/.*GFLOP\/s=\([0-9.]*\).*/\1/')
    echo "$cell H=$H: rnn.h $mine ms ($gmine GFLOP/s, $(echo "$gmine $peak" | awk '{printf "%.0f", 100 * $1 / $2}')% of FMA)" \
         "| PyTorch $torch ms (default $t1, $fast $t2)" \
         "| oneDNN $tdnnl ms ($gdnnl GFLOP/s, $(echo "$gdnnl $peak" | awk '{printf "%.0f", 100 * $1 / $2}')% of FMA)" \
         "| rnn.h vs PyTorch $(echo "$torch $mine" | awk '{printf "%.2fx", $1 / $2}')," \
         "vs oneDNN $(echo "$tdnnl $mine" | awk '{printf "%.2fx", $1 / $2}')" \
         "(same work $(echo "$tdnnl $tsame" | awk '{printf "%.2fx", $1 / $2}'))," \
         "vs the fastest peer $(echo "$torch $tdnnl $mine" | awk '{b = ($1 < $2) ? $1 : $2; printf "%.2fx", b / $3}')"
  done
done
