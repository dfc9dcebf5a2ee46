"""Reading and writing rnn.h checkpoints (safetensors) from Python, without
the safetensors package (it is not in Debian): the format is a little-endian
u64 header length, a JSON header, then the raw tensor bytes.

rnn.h's metadata: format "rnn.h", model "lm", cell, vocab_size, embed_size,
hidden_size, num_layers (decimal strings), vocab (a JSON array of one-
character strings, as a string), writer "rnn.h" and crc32: the CRC-32 of
the header with these 8 hex digits written "00000000", followed by the
data. read() takes F32, F16 and BF16 tensors (as float32), and I8 tensors
with their NAME.scale (rnn.h's int8 models) as the floats they stand for.
"""
import json
import struct
import zlib

import numpy as np


def write(path, tensors, metadata):
    """tensors: list of (name, float32 numpy array); metadata: dict of str."""
    meta = dict(metadata)
    meta["writer"] = "rnn.h"     # rnn.h then insists on the checksum below
    meta["crc32"] = "00000000"
    header = {"__metadata__": meta}
    offset = 0
    blobs = []
    for name, arr in tensors:
        a = np.ascontiguousarray(arr, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    data = b"".join(blobs)
    crc = "%08x" % (zlib.crc32(text + data) & 0xFFFFFFFF)
    at = text.index(b'"crc32":"00000000"') + len(b'"crc32":"')
    text = text[:at] + crc.encode() + text[at + 8:]
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    import os
    os.replace(path + ".tmp", path)


def read(path):
    """Returns (dict name -> float32 numpy array, metadata dict); checks the CRC."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n]
    data = raw[8 + n:]
    header = json.loads(text)
    meta = header.pop("__metadata__", {})
    if "crc32" in meta:
        at = text.index(b'"crc32":"') + len(b'"crc32":"')
        want = int(text[at:at + 8], 16)
        got = zlib.crc32(text[:at] + b"00000000" + text[at + 8:] + data) & 0xFFFFFFFF
        if got != want:
            raise ValueError("%s: CRC-32 mismatch, the file is corrupt" % path)
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        if t["dtype"] == "F32":
            a = np.frombuffer(data[b:e], dtype="<f4")
        elif t["dtype"] == "F16":
            a = np.frombuffer(data[b:e], dtype="<f2").astype(np.float32)
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(data[b:e], dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif t["dtype"] == "I8":
            a = np.frombuffer(data[b:e], dtype="i1").astype(np.float32)
        else:
            raise ValueError("%s: %s is %s" % (path, name, t["dtype"]))
        out[name] = a.reshape(t["shape"]).copy()
    for name, t in header.items():   # int8 rows times their scales (rnn_lm_quantize)
        if t["dtype"] == "I8":
            out[name] = out[name] * out.pop(name + ".scale")[:, None]
    return out, meta
