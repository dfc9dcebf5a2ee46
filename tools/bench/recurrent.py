#!/usr/bin/python3
"""PyTorch's side of tools/bench/recurrent.sh: nn.LSTM / nn.GRU / nn.RNN,
forward + backward (all gradients), median ms per iteration.
Usage: recurrent.py CELL H [LAYERS I T B REPS THREADS]"""
import sys
import time

import torch

cell, H = sys.argv[1], int(sys.argv[2])
L, I, T, B, reps, threads = (list(map(int, sys.argv[3:9])) + [2, 64, 64, 32, 15, 1][len(sys.argv[3:9]):])
torch.set_num_threads(threads)
if cell == "lstm":
    m = torch.nn.LSTM(I, H, L)
elif cell == "gru":
    m = torch.nn.GRU(I, H, L)
else:
    m = torch.nn.RNN(I, H, L, nonlinearity=cell)
x = torch.rand(T, B, I) - 0.5
dy = torch.rand(T, B, H) - 0.5
times = []
for i in range(reps + 2):
    t = time.perf_counter()
    y, _ = m(x)
    (y * dy).sum().backward()
    if i >= 2:
        times.append(time.perf_counter() - t)
times.sort()
print("torch %s H=%d L=%d threads=%d ms/iter=%.3f" % (cell, H, L, threads, times[len(times) // 2] * 1e3))
