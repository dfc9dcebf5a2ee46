#!/bin/sh
# make demo: train a char-level text generator for about a minute and print
# samples at two temperatures. The corpus is always there, without network:
# Debian's fortunes if installed (apt-get install fortunes), else the license
# texts every Debian machine has in /usr/share/common-licenses.
# Override with: make demo CORPUS=file.txt MINUTES=5
set -eu
cd "$(dirname "$0")/.."
mkdir -p build
corpus=${CORPUS:-}
if [ -z "$corpus" ]; then
    corpus=build/demo-corpus.txt
    if [ -d /usr/share/games/fortunes ] && ls /usr/share/games/fortunes/*.dat >/dev/null 2>&1; then
        echo "demo: corpus = Debian's fortunes (/usr/share/games/fortunes)"
        for f in /usr/share/games/fortunes/*.dat; do cat "${f%.dat}"; done | grep -v '^%$' > "$corpus"
    else
        echo "demo: corpus = the license texts in /usr/share/common-licenses (install 'fortunes' for jokes instead)"
        # (runs of blanks squeezed: the centred titles would teach the model
        # to print long stretches of spaces)
        for f in /usr/share/common-licenses/*; do [ -f "$f" ] && [ ! -L "$f" ] && cat "$f"; done | tr -s ' ' > "$corpus"
    fi
fi
build/textgen train "$corpus" -o build/demo.safetensors --minutes "${MINUTES:-1}" --keep-best --plot build/demo-loss.svg
# the samples come from the checkpoint of the lowest validation loss
model=build/demo.best.safetensors; [ -f "$model" ] || model=build/demo.safetensors
echo
echo "=== sample, temperature 0.5 ==="
build/textgen sample "$model" --prime "The " --temperature 0.5 --length 400 --seed 7
echo
echo "=== sample, temperature 1.0 ==="
build/textgen sample "$model" --prime "The " --temperature 1.0 --length 400 --seed 7
echo
echo "demo: the model is $model (lowest validation loss; the last one is build/demo.safetensors);"
echo "demo: the loss curves are in build/demo-loss.svg; try: build/textgen sample $model --beam 4 --length 80"
