#!/usr/bin/python3
"""rnn2torch.py IN.safetensors OUT.pt

Converts an rnn.h language-model checkpoint into PyTorch: OUT.pt holds
{"state_dict": ..., "config": {...}, "vocab": [...]} and build_module(config)
below rebuilds the nn.Module (embedding, rnn, head) it loads into. The
optimizer and training state in the file are left out. The CRC-32 is
checked. Needs Debian's python3-torch.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnnst  # noqa: E402


def build_module(config):
    import torch

    class LM(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            self.embedding = torch.nn.Embedding(c["vocab_size"], c["embed_size"])
            if c["cell"] == "lstm":
                self.rnn = torch.nn.LSTM(c["embed_size"], c["hidden_size"], c["num_layers"])
            elif c["cell"] == "gru":
                self.rnn = torch.nn.GRU(c["embed_size"], c["hidden_size"], c["num_layers"])
            elif c["cell"] in ("tanh", "relu"):
                self.rnn = torch.nn.RNN(c["embed_size"], c["hidden_size"], c["num_layers"], nonlinearity=c["cell"])
            else:
                raise SystemExit("PyTorch has no %s cell" % c["cell"])
            self.head = torch.nn.Linear(c["hidden_size"], c["vocab_size"])

        def forward(self, tokens, state=None):      # tokens [T, B]
            y, state = self.rnn(self.embedding(tokens), state)
            return self.head(y), state

    return LM(config)


def load(path):
    tensors, meta = rnnst.read(path)
    if meta.get("format") != "rnn.h" or meta.get("model") != "lm":
        raise SystemExit("%s is not an rnn.h language model" % path)
    config = {k: int(meta[k]) for k in ("vocab_size", "embed_size", "hidden_size", "num_layers")}
    config["cell"] = meta["cell"]
    vocab = json.loads(meta["vocab"]) if "vocab" in meta else None
    sd = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "state."))}
    return sd, config, vocab


def main():
    import torch
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sd, config, vocab = load(sys.argv[1])
    state_dict = {k: torch.from_numpy(v) for k, v in sd.items()}
    build_module(config).load_state_dict(state_dict)     # proves the names and shapes fit
    torch.save({"state_dict": state_dict, "config": config, "vocab": vocab}, sys.argv[2])
    print("wrote %s: %s" % (sys.argv[2], config))


if __name__ == "__main__":
    main()
