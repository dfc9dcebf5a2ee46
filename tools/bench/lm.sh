#!/bin/sh
# rnn.h against PyTorch on the char LM of issue 8, one thread each, same
# corpus, same data order. PyTorch at its best: on OpenBLAS (checked), with
# its kernel choice and with OPENBLAS_CORETYPE=SKYLAKEX (HASWELL without AVX-512), the faster counted.
# Usage: sh tools/bench/lm.sh [CORPUS]   (default: the demo corpus)
set -eu
cd "$(dirname "$0")/../.."
# the fastest OpenBLAS kernel this CPU can run, beside OpenBLAS's own choice
if grep -q avx512f /proc/cpuinfo; then fast=SKYLAKEX; else fast=HASWELL; fi
corpus=${1:-build/demo-corpus.txt}
# (the demo's corpus, built as tools/demo.sh builds it)
[ -f "$corpus" ] || { for f in /usr/share/common-licenses/*; do [ -f "$f" ] && [ ! -L "$f" ] && cat "$f"; done | tr -s ' ' > "$corpus"; }
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
echo "corpus $corpus; PyTorch's libblas.so.3 -> $blas"
case $blas in *openblas*) ;; *) echo "warning: PyTorch is not on OpenBLAS: the comparison flatters rnn.h" ;; esac
grep -m1 'model name' /proc/cpuinfo || true
val=0
for cell in lstm gru; do
  for H in 128 256 512; do
    steps=20; [ $H = 512 ] && steps=8
    vs=0; [ $H = 128 ] && [ $cell = lstm ] && vs=300
    ours=$(build/bench-lm "$corpus" $cell $H $steps $vs 2)
    peak=$(echo "$ours" | sed -n 's/fma_limit \([0-9.]*\).*/\1/p')
    [ $cell = lstm ] && [ $H = 128 ] && echo "FMA limit of this core: $peak GFLOP/s (measured by bench-lm)" &&
      echo "$ours" | sed -n 's/^read_bw_levels /read bandwidth of this core over written memory: /p'
    best_t=0; best_g=0; best_v=""
    for core in default $fast; do
      if [ $core = default ]; then env="env -u OPENBLAS_CORETYPE"; else env="env OPENBLAS_CORETYPE=$core"; fi
      theirs=$($env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/lm.py "$corpus" $cell $H $steps $vs 1)
      t=$(echo "$theirs" | sed -n 's/train tok\/s //p'); g=$(echo "$theirs" | sed -n 's/generate us\/token //p')
      if [ "$(echo "$t $best_t" | awk '{print ($1 > $2)}')" = 1 ]; then best_t=$t; fi
      if [ "$best_g" = 0 ] || [ "$(echo "$g $best_g" | awk '{print ($1 < $2)}')" = 1 ]; then best_g=$g; fi
      best_v=$(echo "$theirs" | sed -n 's/val loss \([0-9.]*\).*/\1/p')
    done
    mt=$(echo "$ours" | sed -n 's/^train tok\/s \([0-9]*\).*/\1/p'); gf=$(echo "$ours" | sed -n 's/^train.*GFLOP\/s \([0-9.]*\)/\1/p')
    mg=$(echo "$ours" | sed -n 's/^generate us\/token \([0-9.]*\).*/\1/p')
    wb=$(echo "$ours" | sed -n 's/.*weights_bytes \([0-9]*\).*/\1/p'); bw=$(echo "$ours" | sed -n 's/.*read_bw \([0-9.]*\).*/\1/p')
    share=$(echo "$ours" | sed -n 's/.*bw_share //p')
    # two threads: in OpenBLAS or in PyTorch's own pool (both at once oversubscribe 2 cores)
    t2a=$(env OPENBLAS_CORETYPE=$fast OPENBLAS_NUM_THREADS=2 /usr/bin/python3 tools/bench/lm.py "$corpus" $cell $H $steps 0 1 | sed -n 's/train tok\/s //p')
    t2b=$(env OPENBLAS_CORETYPE=$fast OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/lm.py "$corpus" $cell $H $steps 0 2 | sed -n 's/train tok\/s //p')
    t2=$(echo "$t2a $t2b" | awk '{print ($1 > $2) ? $1 : $2}')
    printf '%-4s H=%-3s train: rnn.h %6s tok/s (%5s GFLOP/s, %s%% of FMA), PyTorch %6s tok/s (2 threads %s) -> %5sx\n' \
      $cell $H "$mt" "$gf" "$(echo "$gf $peak" | awk '{printf "%.0f", 100 * $1 / $2}')" "$best_t" "$t2" \
      "$(echo "$mt $best_t" | awk '{printf "%.2f", $1 / $2}')"
    # the limit of these cores for this work, in the same rounds: as many
    # separate one-thread trainings at once as threads (each its own model)
    echo "$ours" | sed -n 's/^threads \([0-9]*\) train tok\/s \([0-9]*\) one \([0-9]*\) separate \([0-9]*\)/\1 \2 \3 \4/p' |
    while read n tn t1 ts; do
      printf '           train on %s threads: rnn.h %6s tok/s = %sx its one thread (%s tok/s, same run) -> %5sx PyTorch on %s threads\n' \
        "$n" "$tn" "$(echo "$tn $t1" | awk '{printf "%.2f", $1 / $2}')" "$t1" "$(echo "$tn $t2" | awk '{printf "%.2f", $1 / $2}')" "$n"
      printf '           limit: %s separate one-thread trainings at once, %6s tok/s = %sx one; the pool reaches %s%% of it\n' \
        "$n" "$ts" "$(echo "$ts $t1" | awk '{printf "%.2f", $1 / $2}')" "$(echo "$tn $ts" | awk '{printf "%.0f", 100 * $1 / $2}')"
    done
    # how far apart the two cores were in those rounds (50-80 ns: one chip)
    echo "$ours" | sed -n 's/^round trip ns \([0-9]*\) (\([0-9]*-[0-9]*\))/\1 \2/p' |
    while read rt span; do
      printf '           cores: a cache line there and back in %s ns (median of the rounds; %s)\n' "$rt" "$span"
    done
    # share of the read bandwidth: median over rounds that alternate generation
    # and a plain read of the same bytes (bench-lm), so both see the same load
    printf '           generate: rnn.h %7s us/token, PyTorch %7s us -> %5sx; weights %.1f MB at %s GB/s = %s%% of read bw (best %s GB/s)\n' \
      "$mg" "$best_g" "$(echo "$best_g $mg" | awk '{printf "%.1f", $1 / $2}')" "$(echo "$wb" | awk '{print $1 / 1e6}')" \
      "$(echo "$wb $mg" | awk '{printf "%.0f", $1 / $2 / 1000}')" "$(echo "$share" | awk '{printf "%.0f", 100 * $1}')" "$bw"
    # and the limit: the same bytes read by as many threads, each a share
    echo "$ours" | sed -n 's/^threads \([0-9]*\) generate us\/token \([0-9.]*\) one \([0-9.]*\) read_gain \([0-9.]*\)/\1 \2 \3 \4/p' |
    while read n gn g1 rg; do
      printf '           generate on %s threads: rnn.h %7s us/token = %sx its one thread (%s us, same run); %s threads read its bytes %sx as fast as one\n' \
        "$n" "$gn" "$(echo "$g1 $gn" | awk '{printf "%.2f", $1 / $2}')" "$g1" "$n" "$rg"
    done
    if [ $vs -gt 0 ]; then
      echo "     validation loss after $vs steps: rnn.h $(echo "$ours" | sed -n 's/val loss \([0-9.]*\).*/\1/p'), PyTorch $best_v"
    fi
  done
done
