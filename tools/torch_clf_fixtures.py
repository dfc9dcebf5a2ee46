#!/usr/bin/python3
"""Writes tests/data/pt_clf_*.safetensors: classifiers made in PyTorch
(rnn2torch.build_classifier, the module rnn_clf is), saved with rnn.h's
metadata the way safetensors.torch.save_file saves a state_dict, plus test
tensors: a padded batch ("test.tokens" [T, B], "test.lengths",
"test.labels" or "test.targets"), PyTorch's probabilities ("test.probs"),
loss ("test.loss") and the loss's gradient of every parameter
("test.grad.NAME"). tests/test_classifier.c loads each file with
rnn_clf_load and matches all of it to 1e-5: the same names, layouts and
arithmetic both ways.

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_clf_fixtures.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnn2torch  # noqa: E402
from torch_st_fixtures import save_file  # noqa: E402

TEXT = "Le chat dort. The cat sleeps. Die Katze schläft. El gato duerme."
VOCAB = sorted(set(TEXT))

BASE = dict(vocab_size=len(VOCAB), multi_label=0, transformer=0, hidden_size=5, bidirectional=0, num_layers=1,
            heads=2, ff_size=12, norm_first=0, gelu=0, learned_positions=0, max_len=9, cell="lstm", pool="attention",
            dropout=0.0, self_attention=0, attention_size=0, dense_size=0)
CASES = {
    "gru_attention": dict(num_classes=4, embed_size=6, cell="gru", bidirectional=1, num_layers=2),
    "lstm_max_multi": dict(num_classes=3, embed_size=5, cell="lstm", pool="max", multi_label=1),
    "tf_last": dict(num_classes=3, embed_size=8, transformer=1, pool="last", num_layers=2),
    "tf_prenorm_mean": dict(num_classes=4, embed_size=8, transformer=1, norm_first=1, gelu=1, learned_positions=1,
                            pool="mean", num_layers=2),
    # the course notes' self-attention classifier: Dense(A) q and k, Attention()([q, k]), average pooling, Dense + ReLU
    "selfattn_mean_dense": dict(num_classes=3, embed_size=7, self_attention=1, attention_size=6, pool="mean",
                                dense_size=5),
}


def main(outdir):
    torch.manual_seed(77)
    for tag, over in CASES.items():
        c = dict(BASE, **over)
        m = rnn2torch.build_classifier(c)
        with torch.no_grad():   # zero biases and unit norms would hide a transposed name
            for name, t in m.named_parameters():
                if "bias" in name or "norm" in name:
                    t.add_(torch.randn_like(t) * 0.3)
        T, B = 7, 3
        lengths = torch.tensor([7, 3, 5])
        tokens = torch.randint(0, len(VOCAB), (T, B))
        m.train()
        logits = m(tokens, lengths)
        C = c["num_classes"]
        if c["multi_label"]:
            targets = (torch.rand(B, C) < 0.5).float()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
            probs = torch.sigmoid(logits)
        else:
            labels = torch.randint(0, C, (B,))
            loss = torch.nn.functional.cross_entropy(logits, labels)
            probs = torch.softmax(logits, dim=1)
        loss.backward()
        tensors = {k: v.detach().float() for k, v in m.state_dict().items()}
        for name, t in m.named_parameters():
            tensors["test.grad." + name] = t.grad.detach().float()
        tensors["test.tokens"] = tokens.float()
        tensors["test.lengths"] = lengths.float()
        if c["multi_label"]:
            tensors["test.targets"] = targets
        else:
            tensors["test.labels"] = labels.float()
        tensors["test.probs"] = probs.detach().float()
        tensors["test.loss"] = loss.detach().float().reshape(1)
        meta = {"format": "rnn.h", "model": "clf", "cell": c["cell"], "pool": c["pool"], "dropout": "0",
                "vocab": json.dumps(VOCAB, ensure_ascii=False),
                "labels": json.dumps(["class %d" % i for i in range(C)])}
        meta.update({k: str(c[k]) for k in rnn2torch.CLF_INTS if k in c})
        meta["num_classes"] = str(C)
        meta["embed_size"] = str(c["embed_size"])
        save_file(tensors, os.path.join(outdir, "pt_clf_%s.safetensors" % tag), meta)
    print("wrote %s/pt_clf_*.safetensors" % outdir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
