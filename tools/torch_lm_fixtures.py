#!/usr/bin/python3
"""Writes tests/data/pt_wlm_*.safetensors: language models built the way
two well-known PyTorch projects build and save theirs, converted by
tools/torch2rnn.py's command line, with the logits PyTorch gives for a
token sequence (tensors "test.tokens", "test.logits", in rnn.h's ids) for
the checkpoint tests to step rnn.h against.

  pt_wlm_words_lstm   PyTorch's examples/word_language_model: modules
                      encoder (nn.Embedding), rnn (nn.LSTM, 2 layers),
                      decoder (nn.Linear) with tied weights, saved whole
                      with torch.save(model); a vocabulary file of one word
                      per line with <unk> and <eos> where data.py puts them
  pt_wlm_words_relu   the same with RNN_RELU (nn.RNN, nonlinearity relu),
                      untied, saved whole (the converter reads relu off nn.RNN)
  pt_wlm_chars_gru    char-rnn.pytorch: encoder, rnn (nn.GRU), decoder over
                      string.printable, saved whole; the vocabulary file
                      one character per line, escaped

The model classes live in this script's __main__, so the converter meets
them as classes it cannot import, as it would a user's file.
Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_lm_fixtures.py
"""
import os
import string
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rnnst  # noqa: E402


class RNNModel(nn.Module):
    """word_language_model's shape: embedding -> RNN -> linear, dropout between."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, tie):
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=0.2)
        else:
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity={"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type])
        self.decoder = nn.Linear(nhid, ntoken)
        if tie:
            self.decoder.weight = self.encoder.weight
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers

    def forward(self, tokens):
        out, _ = self.rnn(self.drop(self.encoder(tokens)))
        return self.decoder(self.drop(out))


class CharRNN(nn.Module):
    """char-rnn.pytorch's shape: encoder -> GRU/LSTM -> decoder, hidden = embedding size."""

    def __init__(self, input_size, hidden_size, output_size, model="gru", n_layers=1):
        super().__init__()
        self.encoder = nn.Embedding(input_size, hidden_size)
        self.rnn = (nn.GRU if model == "gru" else nn.LSTM)(hidden_size, hidden_size, n_layers)
        self.decoder = nn.Linear(hidden_size, output_size)

    def forward(self, tokens):
        out, _ = self.rnn(self.encoder(tokens))
        return self.decoder(out)


def escape(ch):
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r", " ": "\\s", "\\": "\\\\"}.get(
        ch, ch if ch.isprintable() else "\\x%02x" % ord(ch))


def convert(tag, model, save_whole, vocab_lines, tokens, rnn_ids, outdir, extra=()):
    """Saves model, converts it with torch2rnn.py, appends the test tensors."""
    tmp = os.path.join(outdir, "tmp-" + tag)
    with open(tmp + ".vocab", "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in vocab_lines))
    torch.save(model if save_whole else model.state_dict(), tmp + ".pt")
    out = os.path.join(outdir, "pt_wlm_%s.safetensors" % tag)
    subprocess.run([sys.executable, os.path.join(HERE, "torch2rnn.py"), tmp + ".pt", out, "--vocab", tmp + ".vocab"]
                   + list(extra), check=True)
    for ext in (".vocab", ".pt"):
        os.remove(tmp + ext)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([[t] for t in tokens]))[:, 0, :].numpy()
    tensors, meta = rnnst.read(out)
    src = rnn_ids["src"]
    want = np.stack([logits[:, s] if s is not None else np.full(len(tokens), -1e4, np.float32) for s in src], axis=1)
    tensors["test.tokens"] = np.array([rnn_ids["map"][t] for t in tokens], np.float32)
    tensors["test.logits"] = want.astype(np.float32)
    rnnst.write(out, list(tensors.items()), meta)
    print("wrote %s" % out)


def main(outdir):
    torch.manual_seed(2024)
    text = ("the cat sat on the mat . <unk> said the dog \n a dog ran in the park . the end \n").split(" ")
    words = []   # data.py's Dictionary: ids in order of first appearance, <eos> after each line
    for line in " ".join(text).split("\n"):
        for w in line.split() + ["<eos>"]:
            if w not in words:
                words.append(w)
    # rnn.h's order: <pad> <unk> <s> <e>, then the rest in the file's order
    rest = [i for i, w in enumerate(words) if w not in ("<unk>", "<eos>")]
    src = [None, words.index("<unk>"), None, words.index("<eos>")] + rest
    ids = {"src": src, "map": {s: i for i, s in enumerate(src) if s is not None}}
    sample = [words.index(w) for w in "the dog sat <eos> a cat ran <unk> park .".split()]
    m = RNNModel("LSTM", len(words), 12, 12, 2, tie=True)
    convert("words_lstm", m, True, words, sample, ids, outdir)
    m = RNNModel("RNN_RELU", len(words), 7, 10, 2, tie=False)
    convert("words_relu", m, True, words, sample, ids, outdir)
    chars = list(string.printable)
    ids = {"src": list(range(len(chars))), "map": {i: i for i in range(len(chars))}}
    m = CharRNN(len(chars), 16, len(chars), "gru", 2)
    convert("chars_gru", m, True, [escape(c) for c in chars], [chars.index(c) for c in "Hi,\tyou\n\x0b!"], ids, outdir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "data"))
