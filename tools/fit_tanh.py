#!/usr/bin/python3
"""Fits the odd polynomial rnn.h uses for tanh on |x| < 0.625:

    tanh(x) ~ x + x^3 * (c0 + c1 z + c2 z^2 + c3 z^3 + c4 z^4),  z = x^2

minimising the relative error: weighted least squares on Chebyshev nodes,
re-weighted towards the worst points (a few rounds of IRLS approach the
minimax fit). Prints the coefficients and the error of their float32
evaluation in units of 2^-24. Needs Debian's python3-numpy.
"""
import numpy as np

A, N, DEG = 0.625, 4000, 5
t = np.cos(np.pi * (np.arange(N) + 0.5) / N) * 0.5 * A + 0.5 * A
t = t[t > 1e-4]
y = np.tanh(t)
w = np.ones_like(t)
for _ in range(30):
    M = np.stack([t ** (2 * j + 3) / y for j in range(DEG)], 1) * w[:, None]
    c, *_ = np.linalg.lstsq(M, ((y - t) / y) * w, rcond=None)
    p = t + sum(c[j] * t ** (2 * j + 3) for j in range(DEG))
    err = np.abs(p / y - 1)
    w = w * (1 + err / err.max())
print("coefficients c0..c4:", ", ".join("%.9e" % v for v in c))

c32 = c.astype(np.float32)
x = np.linspace(1e-6, A, 200001).astype(np.float32)
z = x * x
P = np.float32(c32[-1])
for j in range(DEG - 2, -1, -1):
    P = P * z + c32[j]
r = x + x * z * P
print("float32 relative error: %.2f units of 2^-24"
      % (np.max(np.abs(r.astype(np.float64) / np.tanh(x.astype(np.float64)) - 1)) / 2 ** -24))
