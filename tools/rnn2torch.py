#!/usr/bin/python3
"""rnn2torch.py IN.safetensors OUT.pt

Converts an rnn.h checkpoint, a language model, a classifier or a
sequence-to-sequence model, into PyTorch: OUT.pt holds {"state_dict": ...,
"config": {...}, "vocab": [...]} (and "labels" for a classifier, the
output's characters in config["tgt_chars"] for seq2seq), and
build_module(config), build_classifier(config) or build_seq2seq(config)
below rebuilds the nn.Module it loads into. The
optimizer and training state in the file are left out. The CRC-32 is
checked. Needs Debian's python3-torch.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnnst  # noqa: E402


def build_module(config):
    import torch

    class LM(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            self.embedding = torch.nn.Embedding(c["vocab_size"], c["embed_size"])
            if c["cell"] == "lstm":
                self.rnn = torch.nn.LSTM(c["embed_size"], c["hidden_size"], c["num_layers"])
            elif c["cell"] == "gru":
                self.rnn = torch.nn.GRU(c["embed_size"], c["hidden_size"], c["num_layers"])
            elif c["cell"] in ("tanh", "relu"):
                self.rnn = torch.nn.RNN(c["embed_size"], c["hidden_size"], c["num_layers"], nonlinearity=c["cell"])
            else:
                raise SystemExit("PyTorch has no %s cell" % c["cell"])
            self.head = torch.nn.Linear(c["hidden_size"], c["vocab_size"])

        def forward(self, tokens, state=None):      # tokens [T, B]
            y, state = self.rnn(self.embedding(tokens), state)
            return self.head(y), state

    return LM(config)


CLF_INTS = ("vocab_size", "num_classes", "multi_label", "embed_size", "transformer", "hidden_size",
            "bidirectional", "num_layers", "heads", "ff_size", "norm_first", "gelu", "learned_positions", "max_len",
            "self_attention", "attention_size", "dense_size")   # the last three may be absent (older files): 0


def sinusoid(T, E):
    """rnn_positional_encoding: PE(p, 2i) = sin(p / 10000^(2i/E)), PE(p, 2i+1) = cos(...)."""
    import torch
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    i = torch.arange(E)
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), (i - i % 2).double() / E)
    return torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


def build_classifier(c):
    """rnn.h's rnn_clf as an nn.Module: forward(tokens [T, B], lengths [B]) -> logits [B, C]."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Pool(torch.nn.Module):
        def __init__(self, D):
            super().__init__()
            self.query = torch.nn.Parameter(torch.empty(D).uniform_(-D ** -0.5, D ** -0.5))

    class Classifier(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c = c
            E = c["embed_size"]
            self.embedding = torch.nn.Embedding(c["vocab_size"], E)
            if c.get("self_attention"):   # the notes' Dense(A) for q and k, then Attention()([q, k])
                A = c["attention_size"]
                self.attn = torch.nn.Module()
                self.attn.query = torch.nn.Linear(E, A)
                self.attn.key = torch.nn.Linear(E, A)
                D = A
            elif c["transformer"]:
                if c["learned_positions"]:
                    self.positions = torch.nn.Embedding(c["max_len"], E)
                else:
                    self.register_buffer("pe", sinusoid(c["max_len"], E), persistent=False)
                layer = torch.nn.TransformerEncoderLayer(E, c["heads"], c["ff_size"], dropout=c["dropout"],
                                                         activation="gelu" if c["gelu"] else "relu",
                                                         norm_first=bool(c["norm_first"]))
                self.encoder = torch.nn.TransformerEncoder(layer, c["num_layers"],
                                                           norm=torch.nn.LayerNorm(E) if c["norm_first"] else None,
                                                           enable_nested_tensor=False)
                D = E
            else:
                kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(c["cell"], torch.nn.RNN)
                extra = {"nonlinearity": c["cell"]} if kind is torch.nn.RNN else {}
                if c["cell"] not in ("lstm", "gru", "tanh", "relu"):
                    raise SystemExit("PyTorch has no %s cell" % c["cell"])
                self.rnn = kind(E, c["hidden_size"], c["num_layers"], bidirectional=bool(c["bidirectional"]),
                                dropout=c["dropout"] if c["num_layers"] > 1 else 0.0, **extra)
                D = c["hidden_size"] * (2 if c["bidirectional"] else 1)
            if c["pool"] == "attention":
                self.pool = Pool(D)
            if c.get("dense_size"):
                self.dense = torch.nn.Linear(D, c["dense_size"])
                D = c["dense_size"]
            self.head = torch.nn.Linear(D, c["num_classes"])

        def forward(self, tokens, lengths):
            c = self.c
            T, B = tokens.shape
            valid = torch.arange(T)[:, None] < lengths[None, :]                      # [T, B]
            x = self.embedding(torch.where(valid, tokens, torch.zeros_like(tokens)))
            if c["transformer"]:
                pos = self.positions.weight[:T] if c["learned_positions"] else self.pe[:T]
                x = x + pos[:, None, :]
            x = x * valid[..., None]                                                 # padding is 0
            if c.get("self_attention"):   # scores q·kᵀ (no scaling), keys masked, values = keys, queries masked
                q, k = self.attn.query(x), self.attn.key(x)
                s = torch.einsum("tba,sba->bts", q, k).masked_fill(~valid.T[:, None, :], float("-inf"))
                f = torch.einsum("bts,sba->tba", torch.softmax(s, dim=2), k) * valid[..., None]
            elif c["transformer"]:
                f = self.encoder(x, src_key_padding_mask=~valid.T)
            else:
                packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
                f, _ = self.rnn(packed)
                f, _ = pad_packed_sequence(f, total_length=T)
            D = f.shape[-1]
            if c["pool"] == "attention":
                s = (f @ self.pool.query) / D ** 0.5
                a = torch.softmax(s.masked_fill(~valid, float("-inf")), dim=0)
                pooled = (a[..., None] * f).sum(0)
            elif c["pool"] == "mean":
                pooled = (f * valid[..., None]).sum(0) / lengths[:, None]
            elif c["pool"] == "max":
                pooled = f.masked_fill(~valid[..., None], float("-inf")).max(0).values
            else:   # last: the last valid position; a bidirectional stack's backward half at 0
                last = f[lengths - 1, torch.arange(B)]
                if not c["transformer"] and c["bidirectional"]:
                    H = D // 2
                    last = torch.cat([last[:, :H], f[0, :, H:]], dim=1)
                pooled = last
            if c.get("dense_size"):
                pooled = torch.relu(self.dense(pooled))
            return self.head(pooled)

    return Classifier(c)


S2S_INTS = ("src_vocab", "tgt_vocab", "one_hot", "embed_size", "hidden_size", "num_layers", "bidirectional", "repeat",
            "max_src_len", "max_tgt_len")


def build_seq2seq(c):
    """rnn.h's rnn_s2s as an nn.Module: forward(src [Ts, B], src_lengths, tgt [Tt, B], tgt_lengths) -> logits
    [Tt, B, tgt_vocab], teacher-forced (the decoder reads <s>, tgt[0], ...; <s> is the last embedding row)."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    F = torch.nn.functional

    def recurrent(cell, I, H, L, bidir, dropout):
        kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(cell, torch.nn.RNN)
        if cell not in ("lstm", "gru", "tanh", "relu"):
            raise SystemExit("PyTorch has no %s cell" % cell)
        extra = {"nonlinearity": cell} if kind is torch.nn.RNN else {}
        return kind(I, H, L, bidirectional=bidir, dropout=dropout if L > 1 else 0.0, **extra)

    class Attn(torch.nn.Module):
        def __init__(self, H):
            super().__init__()
            if c["attention"] == "general":
                self.score = torch.nn.Linear(H, H, bias=False)
            self.combine = torch.nn.Linear(2 * H, H)

    class Seq2Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            H, E, D = c["hidden_size"], c["embed_size"], 2 if c["bidirectional"] else 1
            self.encoder = torch.nn.Module()
            if not c["one_hot"]:
                self.encoder.embedding = torch.nn.Embedding(c["src_vocab"], E)
            self.encoder.rnn = recurrent(c["cell"], c["src_vocab"] if c["one_hot"] else E, H, c["num_layers"],
                                         bool(c["bidirectional"]), c["dropout"])
            self.decoder = torch.nn.Module()
            if c["repeat"]:
                Id = D * H
            elif c["one_hot"]:
                Id = c["tgt_vocab"] + 1
            else:
                Id = E
                self.decoder.embedding = torch.nn.Embedding(c["tgt_vocab"] + 1, E)
            self.decoder.rnn = recurrent(c["cell"], Id, H, c["num_layers"], False, c["dropout"])
            if c["attention"] != "none":
                self.attn = Attn(H)
            self.head = torch.nn.Linear(H, c["tgt_vocab"])

        def inputs(self, side, tokens, valid, V):
            tokens = torch.where(valid, tokens, torch.zeros_like(tokens))
            x = F.one_hot(tokens, V).float() if c["one_hot"] else side.embedding(tokens)
            return x * valid[..., None]

        def forward(self, src, slen, tgt, tlen):
            Ts, B = src.shape
            Tt = tgt.shape[0]
            H, L, D = c["hidden_size"], c["num_layers"], 2 if c["bidirectional"] else 1
            lstm = c["cell"] == "lstm"
            vs = torch.arange(Ts)[:, None] < slen[None, :]
            vt = torch.arange(Tt)[:, None] < tlen[None, :]
            xs = self.inputs(self.encoder, src, vs, c["src_vocab"])
            ys, st = self.encoder.rnn(pack_padded_sequence(xs, slen, enforce_sorted=False))
            ys, _ = pad_packed_sequence(ys, total_length=Ts)
            hn = (st[0] if lstm else st).view(L, D, B, H)
            e = ys[..., :H] + ys[..., H:] if D == 2 else ys                     # directions summed
            if c["repeat"]:       # the top layer's last output at every step, from a zero state
                v = torch.cat([hn[L - 1, d] for d in range(D)], dim=1)
                xd, h0 = v[None].expand(Tt, B, D * H), None
            else:                 # teacher forcing from the encoder's final states, directions summed
                start = torch.full((1, B), c["tgt_vocab"], dtype=tgt.dtype)
                xd = self.inputs(self.decoder, torch.cat([start, tgt[:-1]]), vt, c["tgt_vocab"] + 1)
                h0 = hn.sum(1)
                if lstm:
                    h0 = (h0, st[1].view(L, D, B, H).sum(1))
            yd, _ = self.decoder.rnn(pack_padded_sequence(xd, tlen, enforce_sorted=False), h0)
            yd, _ = pad_packed_sequence(yd, total_length=Tt)
            if c["attention"] == "none":
                return self.head(yd)
            keys = self.attn.score(e) if c["attention"] == "general" else e       # score = h·(W_a e) or h·e
            s = torch.einsum("tbh,sbh->bts", yd, keys)
            s = s.masked_fill(~vs.T[:, None, :], float("-inf"))
            alpha = torch.softmax(s, dim=2)
            ctx = torch.einsum("bts,sbh->tbh", alpha, e)
            return self.head(torch.tanh(self.attn.combine(torch.cat([ctx, yd], dim=2))))

    return Seq2Seq()


def load(path):
    tensors, meta = rnnst.read(path)
    if meta.get("format") != "rnn.h" or meta.get("model") not in ("lm", "clf", "s2s"):
        raise SystemExit("%s is not an rnn.h model" % path)
    if meta["model"] == "s2s":
        config = {k: int(meta[k]) for k in S2S_INTS}
        config.update(cell=meta["cell"], attention=meta["attention"], dropout=float(meta["dropout"]), model="s2s")
        config["tgt_chars"] = json.loads(meta["tgt_chars"]) if "tgt_chars" in meta else None
        meta["vocab"] = meta.get("src_chars", meta.get("vocab"))
        if meta["vocab"] is None:
            del meta["vocab"]
    elif meta["model"] == "clf":
        config = {k: int(meta.get(k, 0)) for k in CLF_INTS}
        config.update(cell=meta["cell"], pool=meta["pool"], dropout=float(meta["dropout"]), model="clf")
        config["labels"] = json.loads(meta["labels"]) if "labels" in meta else None
        config["words"] = json.loads(meta["words"]) if "words" in meta else None   # a word vocabulary, id order
    else:
        config = {k: int(meta[k]) for k in ("vocab_size", "embed_size", "hidden_size", "num_layers")}
        config["cell"] = meta["cell"]
    vocab = json.loads(meta["vocab"]) if "vocab" in meta else None
    sd = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "state.", "test."))}
    return sd, config, vocab


def main():
    import torch
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sd, config, vocab = load(sys.argv[1])
    state_dict = {k: torch.from_numpy(v) for k, v in sd.items()}
    build = {"clf": build_classifier, "s2s": build_seq2seq}.get(config.get("model"), build_module)
    build(config).load_state_dict(state_dict)             # proves the names and shapes fit
    torch.save({"state_dict": state_dict, "config": config, "vocab": vocab}, sys.argv[2])
    print("wrote %s: %s" % (sys.argv[2], config))


if __name__ == "__main__":
    main()
