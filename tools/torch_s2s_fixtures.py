#!/usr/bin/python3
"""Writes tests/data/pt_s2s_*.safetensors: sequence-to-sequence models made
in PyTorch (rnn2torch.build_seq2seq, the module rnn_s2s is), saved with
rnn.h's metadata, plus a padded batch ("test.src" [Ts, B],
"test.src_lengths", "test.tgt" [Tt, B], "test.tgt_lengths"), PyTorch's
loss of one teacher-forced step ("test.loss") and its gradient of every
parameter ("test.grad.NAME"). tests/test_seq2seq.c loads each file with
rnn_s2s_load and matches all of it to 1e-5.

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_s2s_fixtures.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnn2torch  # noqa: E402
from torch_st_fixtures import save_file  # noqa: E402

BASE = dict(src_vocab=9, tgt_vocab=7, one_hot=0, embed_size=5, hidden_size=6, num_layers=1, bidirectional=0, repeat=0,
            max_src_len=8, max_tgt_len=6, cell="lstm", attention="none", dropout=0.0)
CASES = {
    "bilstm2_general": dict(num_layers=2, bidirectional=1, attention="general"),
    "gru_dot": dict(cell="gru", attention="dot"),
    "tanh_onehot": dict(cell="tanh", one_hot=1),
    "repeat_onehot": dict(one_hot=1, repeat=1),              # the course notes' Keras model
    "repeat_bigru_dot": dict(cell="gru", bidirectional=1, repeat=1, attention="dot"),
}


def main(outdir):
    torch.manual_seed(2015)
    for tag, over in CASES.items():
        c = dict(BASE, **over)
        m = rnn2torch.build_seq2seq(c)
        with torch.no_grad():   # zero biases would hide a transposed name
            for name, t in m.named_parameters():
                if "bias" in name:
                    t.add_(torch.randn_like(t) * 0.3)
        Ts, Tt, B = 7, 5, 3
        slen, tlen = torch.tensor([7, 2, 5]), torch.tensor([5, 1, 3])
        src = torch.randint(0, c["src_vocab"], (Ts, B))
        tgt = torch.randint(0, c["tgt_vocab"], (Tt, B))
        logits = m(src, slen, tgt, tlen)
        valid = torch.arange(Tt)[:, None] < tlen[None, :]
        loss = torch.nn.functional.cross_entropy(logits[valid], tgt[valid])
        loss.backward()
        tensors = {k: v.detach().float() for k, v in m.state_dict().items()}
        for name, t in m.named_parameters():
            tensors["test.grad." + name] = t.grad.detach().float()
        tensors.update({"test.src": src.float(), "test.src_lengths": slen.float(), "test.tgt": tgt.float(),
                        "test.tgt_lengths": tlen.float(), "test.loss": loss.detach().float().reshape(1)})
        meta = {"format": "rnn.h", "model": "s2s", "cell": c["cell"], "attention": c["attention"], "dropout": "0"}
        meta.update({k: str(c[k]) for k in rnn2torch.S2S_INTS})
        save_file(tensors, os.path.join(outdir, "pt_s2s_%s.safetensors" % tag), meta)
    print("wrote %s/pt_s2s_*.safetensors" % outdir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
