#!/usr/bin/python3
"""PyTorch side of tools/bench/clf.c: the same classifier (rnn2torch's
build_classifier, the module rnn_clf is), the same batch, Adam, one thread.
Usage: clf.py gru|transformer"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rnn2torch  # noqa: E402

torch.set_num_threads(1)
kind = sys.argv[1] if len(sys.argv) > 1 else "gru"
T, B = 128, 32
c = dict(vocab_size=100, num_classes=8, multi_label=0, max_len=T, pool="attention", dropout=0.0, transformer=0,
         embed_size=32, hidden_size=64, bidirectional=1, num_layers=1, heads=4, ff_size=96, norm_first=0, gelu=0,
         learned_positions=0, cell="gru")
if kind == "transformer":
    c.update(transformer=1, embed_size=48, num_layers=2)
m = rnn2torch.build_classifier(c)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
g = torch.Generator().manual_seed(1)
tokens = torch.randint(0, 100, (T, B), generator=g)
lengths = torch.tensor([T - 2 * i for i in range(B)])
labels = torch.tensor([i % 8 for i in range(B)])
times = []
for r in range(10):
    t0 = time.perf_counter()
    for s in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(tokens, lengths), labels)
        loss.backward()
        opt.step()
    if r:
        times.append((time.perf_counter() - t0) / 5)
times.sort()
print("clf %s seq/s %.0f" % (kind, B / times[len(times) // 2]))
