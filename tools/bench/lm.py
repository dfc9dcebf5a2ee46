#!/usr/bin/python3
"""PyTorch's side of tools/bench/lm.sh: the same char LM, same data order.
Usage: lm.py CORPUS CELL H TRAIN_STEPS VAL_STEPS THREADS"""
import sys
import time

import torch

corpus, cell, H, steps, valsteps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
text = open(corpus, encoding="utf-8").read()
chars = sorted(set(text))
ix = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([ix[c] for c in text])
n = len(ids)
ntrain = n * 95 // 100
T, B, V = 64, 32, len(chars)


class LM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, 64)
        self.rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(64, H, 2)
        self.head = torch.nn.Linear(H, V)

    def forward(self, x, state):
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def batches(data):
    """rnn.h's batcher: B streams, windows of T; yields (inputs, targets, new_epoch)."""
    L = (len(data) - 1) // B
    streams = torch.stack([data[b * L: b * L + L + 1] for b in range(B)], 1)   # [L+1, B]
    pos = 0
    while True:
        fresh = pos == 0
        if pos + T > L:
            pos, fresh = 0, True
        yield streams[pos:pos + T], streams[pos + 1:pos + T + 1], fresh
        pos += T


def train(model, nsteps, times=None):
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    state = None
    for i, (x, y, fresh) in zip(range(nsteps), batches(ids[:ntrain])):
        if fresh:
            state = None
        t = time.perf_counter()
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss = torch.nn.functional.cross_entropy(logits.view(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if times is not None:
            times.append(time.perf_counter() - t)


torch.manual_seed(1)
times = []
train(LM(), steps + 3, times)
times = sorted(times[3:])
print("train tok/s %.0f" % (T * B / times[len(times) // 2]))
if valsteps:
    torch.manual_seed(1)
    model = LM()
    try:    # the same initial weights as rnn.h's run (bench-lm writes them)
        sys.path.insert(0, "tools")
        import rnnst
        init, _ = rnnst.read("build/bench-lm-init.safetensors")
        model.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
        print("(starting from rnn.h's initial weights)")
    except (OSError, RuntimeError) as e:
        print("(own initial weights: %s)" % e)
    train(model, valsteps)
    total = 0
    with torch.no_grad():
        for w, (x, y, _) in zip(range(4), batches(ids[ntrain:])):
            logits, _ = model(x, None)
            total += torch.nn.functional.cross_entropy(logits.view(-1, V), y.reshape(-1)).item()
    print("val loss %.4f after %d steps" % (total / 4, valsteps))
model = LM()
state = None
best = 1e9
with torch.no_grad():
    for r in range(5):
        t = time.perf_counter()
        for k in range(300):
            logits, state = model(ids[k % 1000].view(1, 1), state)
        best = min(best, (time.perf_counter() - t) / 300)
print("generate us/token %.2f" % (best * 1e6))
