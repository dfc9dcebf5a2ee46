#!/bin/sh
# The PyTorch round trip, both ways (needs Debian's python3-torch):
#   rnn_lm_save -> tools/rnn2torch.py -> PyTorch gives rnn.h's logits;
#   PyTorch -> tools/torch2rnn.py -> rnn_lm_load gives PyTorch's logits
#   (that direction also runs in make test, from the committed fixtures).
set -eu
cd "$(dirname "$0")/.."
mkdir -p build
STB=$(pkg-config --cflags-only-I stb 2>/dev/null | sed 's/-I/-isystem /g')
cc -O2 -std=c99 ${STB:--isystem /usr/include/stb} tools/roundtrip.c -o build/roundtrip -lm
build/roundtrip build/roundtrip.safetensors > build/roundtrip-logits.txt
/usr/bin/python3 tools/rnn2torch.py build/roundtrip.safetensors build/roundtrip.pt
/usr/bin/python3 - <<'PY'
import sys, torch
sys.path.insert(0, "tools")
import rnn2torch
ck = torch.load("build/roundtrip.pt")
lm = rnn2torch.build_module(ck["config"])
lm.load_state_dict(ck["state_dict"])
rows = [list(map(float, l.split())) for l in open("build/roundtrip-logits.txt")]
tokens = torch.tensor([[int(r[0])] for r in rows])
with torch.no_grad():
    logits, _ = lm(tokens)
want = torch.tensor([r[1:] for r in rows])
err = (logits.view(len(rows), -1) - want).abs().max().item()
print("rnn.h -> PyTorch: worst logit difference %.3g over %d positions" % (err, len(rows)))
sys.exit(0 if err <= 1e-5 else 1)
PY
# and the command line of torch2rnn.py on a saved module
/usr/bin/python3 -c "
import sys, torch; sys.path.insert(0, 'tools'); import rnn2torch
torch.manual_seed(0)
lm = rnn2torch.build_module({'vocab_size': 5, 'embed_size': 4, 'hidden_size': 6, 'num_layers': 1, 'cell': 'gru'})
torch.save(lm.state_dict(), 'build/roundtrip-gru.pt')"
printf 'abcde' > build/roundtrip-vocab.txt
/usr/bin/python3 tools/torch2rnn.py build/roundtrip-gru.pt build/roundtrip-gru.safetensors --vocab-text build/roundtrip-vocab.txt
cc -O2 -std=c99 ${STB:--isystem /usr/include/stb} tools/rnn-info.c -o build/rnn-info -lm
build/rnn-info build/roundtrip-gru.safetensors | head -3
# names the shapes cannot settle: a message, then --map settles them; a
# bidirectional layer is refused (PyTorch's own projects: make test, from
# the fixtures of tools/torch_lm_fixtures.py)
/usr/bin/python3 -c "
import torch, torch.nn as nn
class Two(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Embedding(10, 8); s.tags = nn.Embedding(10, 8); s.lstm = nn.LSTM(8, 6); s.out = nn.Linear(6, 10)
torch.save(Two().state_dict(), 'build/roundtrip-two.pt')
torch.save({'state_dict': nn.LSTM(8, 6, bidirectional=True).state_dict()}, 'build/roundtrip-bi.pt')"
if /usr/bin/python3 tools/torch2rnn.py build/roundtrip-two.pt build/roundtrip-two.safetensors 2> build/roundtrip-two.err ||
   ! grep -q "2 candidates for the embedding.*--map PREFIX=embedding" build/roundtrip-two.err; then
    echo "torch2rnn.py: two embeddings were not refused with a message"; exit 1; fi
/usr/bin/python3 tools/torch2rnn.py build/roundtrip-two.pt build/roundtrip-two.safetensors --map emb=embedding
if /usr/bin/python3 tools/torch2rnn.py build/roundtrip-bi.pt build/roundtrip-bi.safetensors 2> build/roundtrip-bi.err ||
   ! grep -q "bidirectional" build/roundtrip-bi.err; then
    echo "torch2rnn.py: a bidirectional layer was not refused with a message"; exit 1; fi
# the classifier: rnn_clf_save (langid's models) -> rnn2torch.build_classifier
# -> PyTorch gives langid classify's answer and probability
make --no-print-directory build/langid >/dev/null
mkdir -p build/roundtrip-langid
build/langid --data words --minutes 0.05 --per-language 300 --out build/roundtrip-langid > build/roundtrip-langid.log
for kind in gru transformer; do
    m=build/roundtrip-langid/langid-words-$kind.safetensors
    build/langid classify $m väpnade corruttore troncho harrender > build/roundtrip-langid-$kind.txt
    /usr/bin/python3 - "$m" build/roundtrip-langid-$kind.txt <<'PY'
import sys, torch
sys.path.insert(0, "tools")
import rnn2torch
sd, config, vocab = rnn2torch.load(sys.argv[1])
m = rnn2torch.build_classifier(config)
m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})   # strict: every name fits
m.eval()
worst = 0.0
for line in open(sys.argv[2], encoding="utf-8"):
    text, answer = line.rstrip("\n").split("\t")[:2]
    label, pct = answer.rsplit(" (", 1)
    ids = torch.tensor([[vocab.index(ch) if ch in vocab else vocab.index("\ufffd")] for ch in text])
    with torch.no_grad():
        p = torch.softmax(m(ids, torch.tensor([len(text)])), dim=1)[0]
    best = int(p.argmax())
    if config["labels"][best] != label:
        sys.exit("%s: PyTorch says %s, rnn.h %s" % (text, config["labels"][best], label))
    worst = max(worst, abs(100 * float(p[best]) - float(pct.rstrip("%)"))))
print("rnn.h classifier -> PyTorch (%s): same answers, probabilities within %.2f points (printed to 0.1)" %
      (config["transformer"] and "transformer" or "gru", worst))
sys.exit(0 if worst <= 0.051 else 1)
PY
done
# seq2seq: rnn_s2s_save (addition's two models) -> rnn2torch.build_seq2seq
# -> PyTorch's greedy answers are addition's greedy answers
make --no-print-directory build/addition >/dev/null
mkdir -p build/roundtrip-addition
build/addition --minutes 0.05 --out build/roundtrip-addition > build/roundtrip-addition.log
for kind in keras attention; do
    m=build/roundtrip-addition/addition-$kind.safetensors
    build/addition --load $m --beam 1 1+2 129+124 55+45 999+1 7+600 > build/roundtrip-addition-$kind.txt || true
    /usr/bin/python3 - "$m" build/roundtrip-addition-$kind.txt <<'PY'
import sys, torch
sys.path.insert(0, "tools")
import rnn2torch
sd, config, vocab = rnn2torch.load(sys.argv[1])
m = rnn2torch.build_seq2seq(config)
m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})   # strict: every name fits
m.eval()
n = 0
for line in open(sys.argv[2]):
    total, answer = line.rstrip("\n").split(" = ")
    answer = answer.split("   (")[0]
    a, b = total.split("+")
    q = ("%s+%s" % (a, b)).ljust(7)[::-1]                      # addition's input: padded, reversed
    src = torch.tensor([[vocab.index(ch)] for ch in q])
    out = []
    for t in range(4):                                           # greedy: teacher-forced on its own prefix
        tgt = torch.tensor([[c] for c in out + [0] * (4 - len(out))])
        with torch.no_grad():
            logits = m(src, torch.tensor([7]), tgt, torch.tensor([4]))
        out.append(int(logits[t, 0].argmax()))
    got = "".join(config["tgt_chars"][c] for c in out).rstrip(" ")
    if got != answer:
        sys.exit("%s: PyTorch says %r, rnn.h %r" % (total, got, answer))
    n += 1
print("rnn.h seq2seq -> PyTorch (%s): the same %d greedy answers" % (config["repeat"] and "keras" or "attention", n))
sys.exit(0 if n == 5 else 1)
PY
done
