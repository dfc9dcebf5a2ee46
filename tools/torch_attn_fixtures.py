#!/usr/bin/python3
"""Writes tests/data/attention.bin: PyTorch 1.13's attention pieces on small,
odd shapes, with inputs, weights, outputs and every gradient, for
tests/test_attention.c to compare rnn.h against (to 1e-5).

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_attn_fixtures.py
The file is committed, so the tests do not need PyTorch. The record format
is tools/torch_fixtures.py's; the records of case k of a kind are named
"<kind><k>.<what>" (kinds: sdpa, mha, ln, enc), parameters by their
state_dict names, their gradients as "<kind><k>.grad.<name>".

PyTorch 1.13 has no F.scaled_dot_product_attention, so the reference for
the bare function is its formula, written here in torch with autograd.
"""
import struct
import sys

import torch

torch.manual_seed(2024)
out = bytearray(b"RNNFIX1\n")


def put(name, t):
    if not torch.is_tensor(t):
        t = torch.tensor(t, dtype=torch.float64)
    data = t.detach().double().contiguous().view(-1).float().numpy().astype("<f4").tobytes()
    nb = name.encode()
    out.extend(struct.pack("<I", len(nb)) + nb + struct.pack("<I", len(data) // 4) + data)


def put_module(prefix, m, config, lengths_name, lengths):
    """A case's config, its lengths (if any), every weight and its gradient."""
    put(prefix + "config", config)
    if lengths:
        put(prefix + lengths_name, lengths)
    for name, t in m.state_dict().items():
        put(prefix + name, t)
    for name, t in m.named_parameters():
        put(prefix + "grad." + name, t.grad)


def allowed(Tq, Tk, B, klen, qlen, causal):
    """[B, Tq, Tk] True where query i of row b may see key j."""
    m = torch.ones(B, Tq, Tk, dtype=torch.bool)
    j = torch.arange(Tk)
    i = torch.arange(Tq)
    for b in range(B):
        if klen:
            m[b] &= (j < klen[b])[None, :]
        if causal:
            m[b] &= j[None, :] <= i[:, None]
    return m


# --- the bare function: softmax(scale·q·kᵀ, masked)·v, time-major ---------
SDPA = [
    # Tq, Tk, B, heads, qk, v, scale (0: 1/sqrt(d)), causal, klen, qlen, v_is_k
    (5, 7, 3, 2, 8, 6, 0.0, 0, [7, 3, 5], None, False),
    (6, 6, 2, 1, 4, 4, 0.0, 1, [6, 4], None, False),
    (13, 13, 1, 3, 36, 36, 0.0, 0, None, None, False),
    (4, 6, 2, 1, 5, 5, 1.0, 0, [6, 2], [4, 3], True),   # Keras Attention()([q, k])
    (7, 7, 2, 3, 9, 12, 0.3, 1, [5, 7], [7, 6], False),
]
for k, (Tq, Tk, B, H, QK, VS, scale, causal, klen, qlen, v_is_k) in enumerate(SDPA):
    p = "sdpa%d." % k
    q = torch.randn(Tq, B, QK, dtype=torch.float64, requires_grad=True)
    kk = torch.randn(Tk, B, QK, dtype=torch.float64, requires_grad=True)
    v = kk if v_is_k else torch.randn(Tk, B, VS, dtype=torch.float64, requires_grad=True)
    dk, dv = QK // H, VS // H
    sc = scale if scale else dk ** -0.5
    qh = q.view(Tq, B, H, dk).permute(1, 2, 0, 3)
    kh = kk.view(Tk, B, H, dk).permute(1, 2, 0, 3)
    vh = v.view(Tk, B, H, dv).permute(1, 2, 0, 3)
    s = sc * qh @ kh.transpose(-1, -2)
    s = s.masked_fill(~allowed(Tq, Tk, B, klen, qlen, causal)[:, None], float("-inf"))
    w = torch.softmax(s, dim=-1)
    if qlen:
        keep = torch.zeros(B, 1, Tq, 1, dtype=torch.float64)
        for b in range(B):
            keep[b, :, : qlen[b]] = 1
        w = w * keep
    o = (w @ vh).permute(2, 0, 1, 3).reshape(Tq, B, VS)
    dout = torch.randn_like(o)
    (o * dout).sum().backward()
    put(p + "config", [Tq, Tk, B, H, QK, VS, scale, causal, 1 if klen else 0, 1 if qlen else 0, 1 if v_is_k else 0])
    if klen:
        put(p + "klen", klen)
    if qlen:
        put(p + "qlen", qlen)
    for name, t in (("q", q), ("k", kk), ("v", v), ("dout", dout), ("out", o), ("weights", w),
                    ("dq", q.grad), ("dk", kk.grad), ("dv", v.grad)):
        put(p + name, t)

# --- nn.MultiheadAttention -------------------------------------------------
MHA = [
    # E, heads, Tq, Tk, B, self, causal, klen
    (36, 3, 13, 13, 2, True, False, [13, 9]),
    (36, 3, 13, 13, 1, True, True, None),
    (36, 3, 5, 13, 3, False, False, [13, 4, 9]),
    (8, 2, 6, 6, 3, True, True, [6, 2, 5]),
    (8, 1, 4, 3, 2, False, False, None),
]
for k, (E, H, Tq, Tk, B, self_, causal, klen) in enumerate(MHA):
    p = "mha%d." % k
    m = torch.nn.MultiheadAttention(E, H).double()
    with torch.no_grad():   # biases are 0 at init: make them count
        m.in_proj_bias.normal_(0, 0.5)
        m.out_proj.bias.normal_(0, 0.5)
    if self_:
        x = torch.randn(Tq, B, E, dtype=torch.float64, requires_grad=True)
        qi = ki = vi = x
    else:
        qi = torch.randn(Tq, B, E, dtype=torch.float64, requires_grad=True)
        ki = torch.randn(Tk, B, E, dtype=torch.float64, requires_grad=True)
        vi = torch.randn(Tk, B, E, dtype=torch.float64, requires_grad=True)
    kpm = None
    if klen:
        kpm = torch.arange(Tk)[None, :] >= torch.tensor(klen)[:, None]
    am = torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), 1) if causal else None
    o, w = m(qi, ki, vi, key_padding_mask=kpm, attn_mask=am, need_weights=True, average_attn_weights=False)
    dout = torch.randn_like(o)
    (o * dout).sum().backward()
    put_module(p, m, [E, H, Tq, Tk, B, 1 if self_ else 0, 1 if causal else 0, 1 if klen else 0], "klen", klen)
    put(p + "query", qi); put(p + "key", ki); put(p + "value", vi)
    put(p + "dout", dout); put(p + "out", o); put(p + "weights", w)
    put(p + "dquery", qi.grad)
    if not self_:
        put(p + "dkey", ki.grad); put(p + "dvalue", vi.grad)

# --- nn.LayerNorm ----------------------------------------------------------
for k, (N, D) in enumerate([(7, 36), (3, 5)]):
    p = "ln%d." % k
    ln = torch.nn.LayerNorm(D).double()
    with torch.no_grad():
        ln.weight.normal_(1, 0.3)
        ln.bias.normal_(0, 0.3)
    x = (torch.randn(N, D, dtype=torch.float64) * 3 + 1).requires_grad_()
    y = ln(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    put(p + "config", [N, D])
    for name, t in (("x", x), ("weight", ln.weight), ("bias", ln.bias), ("dy", dy), ("y", y), ("dx", x.grad),
                    ("grad.weight", ln.weight.grad), ("grad.bias", ln.bias.grad)):
        put(p + name, t)

# --- nn.TransformerEncoder over nn.TransformerEncoderLayer -----------------
ENC = [
    # E, heads, F, layers, norm_first, gelu, causal, final_norm, T, B, lengths
    (36, 3, 50, 2, False, False, False, False, 13, 2, [13, 8]),
    (36, 3, 50, 2, True, True, False, True, 13, 2, [9, 13]),
    (16, 4, 24, 1, True, False, True, False, 7, 1, None),
    (12, 2, 20, 1, False, True, True, True, 5, 3, [5, 1, 3]),
]
for k, (E, H, F, L, nf, gelu, causal, fn, T, B, lengths) in enumerate(ENC):
    p = "enc%d." % k
    layer = torch.nn.TransformerEncoderLayer(E, H, F, dropout=0.0, activation="gelu" if gelu else "relu",
                                             norm_first=nf)
    enc = torch.nn.TransformerEncoder(layer, L, norm=torch.nn.LayerNorm(E) if fn else None,
                                      enable_nested_tensor=False).double()
    with torch.no_grad():   # the clones start equal, biases 0, norms 1: make every parameter count
        for name, t in enc.named_parameters():
            t.add_(torch.randn_like(t) * (0.3 if "norm" in name or "bias" in name else 0.05))
    x = torch.randn(T, B, E, dtype=torch.float64, requires_grad=True)
    kpm = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None] if lengths else None
    mask = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), 1) if causal else None
    enc.train()
    y = enc(x, mask=mask, src_key_padding_mask=kpm)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    put_module(p, enc, [E, H, F, L, int(nf), int(gelu), int(causal), int(fn), T, B, 1 if lengths else 0], "lengths",
               lengths)
    put(p + "x", x); put(p + "dy", dy); put(p + "y", y); put(p + "dx", x.grad)

path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/attention.bin"
with open(path, "wb") as f:
    f.write(out)
print("wrote %s (%d bytes)" % (path, len(out)))
