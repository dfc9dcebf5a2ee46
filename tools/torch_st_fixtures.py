#!/usr/bin/python3
"""Writes tests/data/pt_*.safetensors: PyTorch language models saved the way
the safetensors package's save_file saves a state_dict (no checksum), and
tests/data/pt_lm.bin: the logits PyTorch gives for a token sequence with
each file's weights, for the checkpoint tests to compare rnn.h against.

Debian has no safetensors package, so the bytes are written here the way
safetensors.torch.save_file writes them: a little-endian u64 header length,
a compact JSON header with "__metadata__" first and the tensors sorted by
name, padded with spaces to a multiple of 8, then the tensors' bytes in the
same order. F16 and BF16 files hold the same model rounded; their logits
are PyTorch's with the rounded weights, so all compare to 1e-5.

  pt_lm_f32 / _f16 / _bf16   LSTM, rnn.h's documented metadata, no crc32
  pt_gru_bare                GRU, no metadata at all (sizes from shapes)

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch_st_fixtures.py
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnn2torch  # noqa: E402

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def save_file(tensors, path, metadata=None):
    """safetensors.torch.save_file's byte layout, for a dict of tensors."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(sorted(metadata.items()))
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16 if t.element_size() == 2 else torch.int32).numpy().astype(
            "<i2" if t.element_size() == 2 else "<i4").tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main(outdir):
    torch.manual_seed(4321)
    vocab = sorted(set("the quick brown fox jumps over the lazy dog é✓"))
    text = "the quick ✓ fox é"
    out = bytearray(b"RNNFIX1\n")

    def put(name, t):
        data = t.detach().float().contiguous().view(-1).numpy().astype("<f4").tobytes()
        nb = name.encode()
        out.extend(struct.pack("<I", len(nb)) + nb + struct.pack("<I", len(data) // 4) + data)

    tokens = torch.tensor([[vocab.index(c)] for c in text])
    put("tokens", tokens.view(-1).double())
    cases = [("pt_lm", "lstm", True), ("pt_gru_bare", "gru", False)]
    for tag, cell, with_meta in cases:
        cfg = {"vocab_size": len(vocab), "embed_size": 7, "hidden_size": 11, "num_layers": 2, "cell": cell}
        lm = rnn2torch.build_module(cfg)
        meta = None
        if with_meta:
            meta = {"format": "rnn.h", "model": "lm", "cell": cell, "vocab": json.dumps(vocab, ensure_ascii=False)}
            meta.update({k: str(v) for k, v in cfg.items() if k != "cell"})
        for dtype in ((torch.float32, torch.float16, torch.bfloat16) if with_meta else (torch.float32,)):
            sd = {k: v.detach().to(dtype) for k, v in lm.state_dict().items()}
            name = tag if not with_meta else "%s_%s" % (tag, DTYPES[dtype].lower())
            save_file(sd, os.path.join(outdir, name + ".safetensors"), meta)
            ref = rnn2torch.build_module(cfg)
            ref.load_state_dict({k: v.float() for k, v in sd.items()})
            with torch.no_grad():
                logits, _ = ref(tokens)
            put(name + ".logits", logits.view(-1))
    out.extend(struct.pack("<I", 0))
    with open(os.path.join(outdir, "pt_lm.bin"), "wb") as f:
        f.write(out)
    print("wrote %s/pt_*.safetensors and pt_lm.bin" % outdir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
