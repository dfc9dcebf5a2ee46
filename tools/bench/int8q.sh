#!/bin/sh
# The quality of int8 weights (issue 18): trains a char LM on the demo's
# corpus for each of LSTM and GRU at H = 128, 256, 512 (MINUTES each on one
# thread, twice that at 512; kept in build/int8q/), then prints what
# rnn_lm_quantize costs on the validation part (build/bench-int8q).
# Usage: sh tools/bench/int8q.sh [MINUTES]   (default 6: about 50 minutes)
set -eu
cd "$(dirname "$0")/../.."
minutes=${1:-6}
make --no-print-directory build/textgen build/bench-int8q >/dev/null
mkdir -p build/int8q
corpus=build/int8q/corpus.txt
if [ ! -f "$corpus" ]; then   # the demo's corpus, as tools/demo.sh makes it (on this machine)
    if ls /usr/share/games/fortunes/*.dat >/dev/null 2>&1; then
        for f in /usr/share/games/fortunes/*.dat; do cat "${f%.dat}"; done | grep -v '^%$' > "$corpus"
    else
        for f in /usr/share/common-licenses/*; do [ -f "$f" ] && [ ! -L "$f" ] && cat "$f"; done | tr -s ' ' > "$corpus"
    fi
fi
models=
for cell in lstm gru; do
    for H in 128 256 512; do
        m=build/int8q/$cell-$H.safetensors
        t=$minutes; [ $H = 512 ] && t=$((2 * minutes))
        [ -f build/int8q/$cell-$H.best.safetensors ] ||
            build/textgen train "$corpus" -o $m --cell $cell --hidden $H --minutes $t --threads 1 --keep-best | tail -n 1
        models="$models build/int8q/$cell-$H.best.safetensors"
    done
done
echo "corpus $corpus ($(wc -c < "$corpus") bytes)"
build/bench-int8q "$corpus" $models
