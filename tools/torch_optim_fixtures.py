#!/usr/bin/python3
"""Writes tests/data/optim.bin: torch.optim.RMSprop over five steps of
given gradients, in the settings its options combine (momentum, centered,
weight decay, Keras's alpha and eps), the parameters after each step, for
tests/test_training.c to compare rnn.h's RNN_RMSPROP against.

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_optim_fixtures.py
Records (tools/torch_fixtures.py's format): "k.config" = lr, alpha, eps,
weight_decay, momentum, centered; "k.p0" the start; "k.g<s>" the gradient
of step s; "k.p<s>" the parameters after it.
"""
import struct
import sys

import torch

CASES = [
    # lr, alpha, eps, weight_decay, momentum, centered
    (1e-2, 0.99, 1e-8, 0.0, 0.0, False),      # PyTorch's defaults
    (1e-3, 0.9, 1e-7, 0.0, 0.0, False),       # Keras's RMSprop (rho 0.9, epsilon 1e-7)
    (5e-3, 0.95, 1e-6, 0.01, 0.9, False),
    (2e-3, 0.99, 1e-8, 0.0, 0.0, True),
    (1e-2, 0.8, 1e-5, 0.1, 0.5, True),
]

out = bytearray(b"RNNFIX1\n")


def put(name, values):
    data = torch.as_tensor(values, dtype=torch.float32).contiguous().view(-1).numpy().astype("<f4").tobytes()
    nb = name.encode()
    out.extend(struct.pack("<I", len(nb)) + nb + struct.pack("<I", len(data) // 4) + data)


torch.manual_seed(99)
for k, (lr, alpha, eps, wd, mom, centered) in enumerate(CASES):
    p = torch.randn(7).requires_grad_()
    opt = torch.optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=mom, centered=centered)
    put("%d.config" % k, [lr, alpha, eps, wd, mom, 1.0 if centered else 0.0])
    put("%d.p0" % k, p.detach())
    for s in range(1, 6):
        g = torch.randn(7) * (0.1 if s % 2 else 3.0)
        p.grad = g.clone()
        opt.step()
        put("%d.g%d" % (k, s), g)
        put("%d.p%d" % (k, s), p.detach())
path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/optim.bin"
with open(path, "wb") as f:
    f.write(out)
print("wrote %s" % path)
