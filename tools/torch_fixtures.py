#!/usr/bin/python3
"""Writes tests/data/recurrent.bin: PyTorch's nn.RNN / nn.LSTM / nn.GRU on
small shapes, with their weights, inputs, outputs, final states and every
gradient, for tests/test.c to compare rnn.h against (to 1e-5).

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_fixtures.py
The file is committed, so the tests do not need PyTorch.

Format: the bytes "RNNFIX1\\n", then records: u32 name length, the name,
u32 count, count little-endian float32. Case k's records are named
"k.<what>"; "k.config" holds cell (0 tanh, 1 relu, 2 lstm, 3 gru), I, H,
layers, bidirectional, T, B, has_lengths.
"""
import os
import struct
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CASES = [
    # cell, I, H, layers, bidir, T, B, lengths
    ("tanh", 4, 13, 1, False, 5, 3, None),
    ("relu", 3, 7, 2, False, 4, 2, None),
    ("tanh", 5, 6, 2, True, 6, 1, None),
    ("lstm", 4, 13, 1, False, 5, 3, None),
    ("lstm", 3, 8, 2, True, 4, 1, None),
    ("lstm", 6, 5, 3, False, 3, 4, None),
    ("lstm", 3, 6, 2, True, 6, 4, [6, 3, 1, 5]),
    ("gru", 4, 13, 1, False, 5, 3, None),
    ("gru", 3, 7, 2, True, 4, 2, None),
    ("gru", 5, 6, 3, False, 3, 1, None),
    ("gru", 3, 5, 2, True, 5, 3, [2, 5, 4]),
    ("relu", 4, 6, 1, True, 5, 3, [5, 1, 3]),
]
CELL_ID = {"tanh": 0, "relu": 1, "lstm": 2, "gru": 3}


def main(path):
    torch.manual_seed(1234)
    out = bytearray(b"RNNFIX1\n")

    def put(name, t):
        data = t.detach().double().contiguous().view(-1).float().numpy().astype("<f4").tobytes()
        nb = name.encode()
        out.extend(struct.pack("<I", len(nb)) + nb + struct.pack("<I", len(data) // 4) + data)

    for k, (cell, I, H, L, bi, T, B, lengths) in enumerate(CASES):
        D = 2 if bi else 1
        if cell == "lstm":
            m = torch.nn.LSTM(I, H, L, bidirectional=bi)
        elif cell == "gru":
            m = torch.nn.GRU(I, H, L, bidirectional=bi)
        else:
            m = torch.nn.RNN(I, H, L, nonlinearity=cell, bidirectional=bi)
        x = torch.randn(T, B, I, requires_grad=True)
        h0 = torch.randn(L * D, B, H, requires_grad=True)
        c0 = torch.randn(L * D, B, H, requires_grad=True)
        state = (h0, c0) if cell == "lstm" else h0
        if lengths:
            packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
            y, st = m(packed, state)
            y, _ = pad_packed_sequence(y, total_length=T)
        else:
            y, st = m(x, state)
        hn, cn = st if cell == "lstm" else (st, None)
        dy = torch.randn_like(y)
        if lengths:  # gradients at padded positions do not flow: zero them in the fixture too
            for b, n in enumerate(lengths):
                dy[n:, b, :] = 0
        dhn = torch.randn_like(hn)
        loss = (y * dy).sum() + (hn * dhn).sum()
        if cn is not None:
            dcn = torch.randn_like(cn)
            loss = loss + (cn * dcn).sum()
        loss.backward()
        put("%d.config" % k, torch.tensor([CELL_ID[cell], I, H, L, int(bi), T, B, int(bool(lengths))],
                                          dtype=torch.float64))
        if lengths:
            put("%d.lengths" % k, torch.tensor(lengths, dtype=torch.float64))
        put("%d.x" % k, x)
        put("%d.h0" % k, h0)
        put("%d.y" % k, y)
        put("%d.hn" % k, hn)
        put("%d.dy" % k, dy)
        put("%d.dhn" % k, dhn)
        put("%d.dx" % k, x.grad)
        put("%d.dh0" % k, h0.grad)
        if cell == "lstm":
            put("%d.c0" % k, c0)
            put("%d.cn" % k, cn)
            put("%d.dcn" % k, dcn)
            put("%d.dc0" % k, c0.grad)
        for name, p in m.named_parameters():
            put("%d.%s" % (k, name), p)
            put("%d.grad.%s" % (k, name), p.grad)
    # A PyTorch language model, converted by torch2rnn.py, and its logits
    # for a token sequence (stepping from a zero state).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import rnn2torch
    import torch2rnn
    import rnnst
    vocab = sorted(set("the quick brown fox jumps over the lazy dog é✓"))
    for cell, tag in (("lstm", "lm"), ("gru", "lmgru")):
        cfg = {"vocab_size": len(vocab), "embed_size": 6, "hidden_size": 9, "num_layers": 2, "cell": cell}
        lm = rnn2torch.build_module(cfg)
        tokens = torch.tensor([[vocab.index(c)] for c in "the lazy fox ✓"])
        with torch.no_grad():
            logits, _ = lm(tokens)
        tensors, meta = torch2rnn.convert_state_dict(lm.state_dict(), cell, vocab)
        rnnst.write(os.path.join(os.path.dirname(path), "%s_torch.safetensors" % tag), tensors, meta)
        put("%s.tokens" % tag, tokens.view(-1).double())
        put("%s.logits" % tag, logits.view(-1))
    out.extend(struct.pack("<I", 0))
    with open(path, "wb") as f:
        f.write(out)
    print("wrote %s: %d cases, %d bytes" % (path, len(CASES), len(out)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/recurrent.bin")
