#!/usr/bin/python3
"""nn.MultiheadAttention forward + backward, one thread, batch 32, the same
shapes and work count as tools/bench/attention.c (median of 15 rounds).
Usage: attention.py [T E HEADS ...]"""
import sys
import time

import torch

torch.set_num_threads(1)
args = [int(a) for a in sys.argv[1:]] or [64, 128, 4, 64, 256, 8, 256, 128, 4, 256, 256, 8]
for T, E, H in zip(args[0::3], args[1::3], args[2::3]):
    B = 32
    m = torch.nn.MultiheadAttention(E, H)
    x = torch.randn(T, B, E, requires_grad=True)
    dy = torch.randn(T, B, E)
    times = []
    for r in range(16):
        t0 = time.perf_counter()
        m.zero_grad()
        x.grad = None
        y, _ = m(x, x, x, need_weights=False)
        y.backward(dy)
        if r:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    madds = 6.0 * (4.0 * T * E * E + 2.0 * T * T * E) * B
    print("mha T=%d E=%d heads=%d B=%d ms %.3f GFLOP/s %.1f" % (T, E, H, B, 1e3 * med, 2 * madds / med / 1e9))
