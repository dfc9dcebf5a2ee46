#!/usr/bin/python3
"""torch2rnn.py IN.pt OUT.safetensors [--cell C] [--vocab-text FILE]

Converts a PyTorch language model's state_dict (saved with torch.save: the
state_dict itself, a module, or {"state_dict": ...}) into an rnn.h
checkpoint. The module must have attributes embedding (nn.Embedding), rnn
(nn.LSTM / nn.GRU / nn.RNN, unidirectional) and head (nn.Linear). Sizes are
read from the shapes; --cell picks between cells with the same gate count
(gru or gru_cho; tanh or relu). --vocab-text FILE gives the vocabulary as
the sorted distinct characters of FILE (rnn.h's char vocabulary order).
Needs Debian's python3-torch.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnnst  # noqa: E402


def convert_state_dict(sd, cell=None, vocab=None):
    """Returns (tensors, metadata) for rnnst.write from a state_dict of tensors."""
    sd = {k: v.detach().float().cpu().numpy() for k, v in sd.items()}
    V, E = sd["embedding.weight"].shape
    G_H, H = sd["rnn.weight_hh_l0"].shape
    G = G_H // H
    L = 0
    while "rnn.weight_ih_l%d" % L in sd:
        L += 1
    if any(k.endswith("_reverse") for k in sd):
        raise SystemExit("bidirectional language models are not supported")
    if cell is None:
        cell = {4: "lstm", 3: "gru", 1: "tanh"}[G]
    if {"lstm": 4, "gru": 3, "gru_cho": 3, "tanh": 1, "relu": 1}[cell] != G:
        raise SystemExit("--cell %s does not match %d gates" % (cell, G))
    if sd["head.weight"].shape != (V, H):
        raise SystemExit("head.weight is %s, expected %s" % (sd["head.weight"].shape, (V, H)))
    meta = {"format": "rnn.h", "model": "lm", "cell": cell, "vocab_size": str(V), "embed_size": str(E),
            "hidden_size": str(H), "num_layers": str(L)}
    if vocab is not None:
        if len(vocab) != V:
            raise SystemExit("the vocabulary has %d characters, the embedding %d rows" % (len(vocab), V))
        meta["vocab"] = json.dumps(vocab, ensure_ascii=False)
    names = ["embedding.weight"]
    for l in range(L):
        names += ["rnn.%s_l%d" % (k, l) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    names += ["head.weight", "head.bias"]
    return [(n, sd[n]) for n in names], meta


def main():
    import torch
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--cell", choices=["lstm", "gru", "gru_cho", "tanh", "relu"])
    ap.add_argument("--vocab-text")
    a = ap.parse_args()
    obj = torch.load(a.input, map_location="cpu")
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if "state_dict" in obj:
        obj = obj["state_dict"]
    vocab = None
    if a.vocab_text:
        with open(a.vocab_text, encoding="utf-8") as f:
            vocab = sorted(set(f.read()))
    tensors, meta = convert_state_dict(obj, a.cell, vocab)
    rnnst.write(a.output, tensors, meta)
    print("wrote %s: %s, V=%s E=%s H=%s layers=%s" % (a.output, meta["cell"], meta["vocab_size"],
                                                     meta["embed_size"], meta["hidden_size"], meta["num_layers"]))


if __name__ == "__main__":
    main()
