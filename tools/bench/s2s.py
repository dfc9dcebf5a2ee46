#!/usr/bin/python3
"""PyTorch side of tools/bench/s2s.c: the same model (rnn2torch's
build_seq2seq, the module rnn_s2s is), the same batch, Adam, one thread.
Usage: s2s.py keras|attention"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rnn2torch  # noqa: E402

torch.set_num_threads(1)
kind = sys.argv[1] if len(sys.argv) > 1 else "keras"
B = 128
c = dict(src_vocab=12, tgt_vocab=12, one_hot=1, embed_size=16, hidden_size=128, num_layers=1, bidirectional=0,
         repeat=1, max_src_len=7, max_tgt_len=4, cell="lstm", attention="none", dropout=0.0)
if kind == "attention":
    c.update(one_hot=0, repeat=0, attention="general")
m = rnn2torch.build_seq2seq(c)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
g = torch.Generator().manual_seed(1)
src = torch.randint(0, 12, (7, B), generator=g)
tgt = torch.randint(0, 12, (4, B), generator=g)
slen, tlen = torch.full((B,), 7), torch.full((B,), 4)
times = []
for r in range(10):
    t0 = time.perf_counter()
    for s in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(src, slen, tgt, tlen).reshape(-1, 12), tgt.reshape(-1))
        loss.backward()
        opt.step()
    if r:
        times.append((time.perf_counter() - t0) / 20)
times.sort()
print("s2s %s seq/s %.0f" % (kind, B / times[len(times) // 2]))
