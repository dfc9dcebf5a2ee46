#!/usr/bin/python3
"""torch2rnn.py IN.pt OUT.safetensors [options]

Converts a PyTorch language model into an rnn.h checkpoint: an embedding, a
unidirectional nn.LSTM / nn.GRU / nn.RNN, and a linear layer to the
vocabulary. IN is what torch.save wrote: a state_dict, {"state_dict": ...}
or {"model": ...}, or a whole module, even one whose class is not
importable here (PyTorch's word_language_model and char-rnn.pytorch save
their models that way; such a class is read as a plain nn.Module).

Which tensors are which is found from the shapes: the recurrent layer by
its weight_ih_l0, the linear layer as the weight with a bias whose width is
the hidden size, the embedding as the other weight whose width is the
layer's input size. So rnn.h's own names (embedding, rnn, head), PyTorch's
word_language_model (encoder, rnn, decoder; tied weights too) and
char-rnn.pytorch (encoder, rnn, decoder) convert without help. Where the
shapes leave a choice, name the modules: --map encoder=embedding --map
decoder=head (OLD=NEW, NEW one of embedding, rnn, head).

The vocabulary, optional (without it the model reads plain ids):
  --vocab FILE       one token per line, in the model's id order. Tokens of
                     one character make a char model (escapes: \\n newline,
                     \\t tab, \\r, \\s or a line of one space for a space,
                     \\\\ backslash, \\xHH, \\uHHHH); longer tokens make a word
                     model (--tokens chars|words says which when in doubt).
                     A word model's <unk>, <eos> (or <e>, </s>), <s> (or
                     <sos>, <bos>) and <pad> take rnn.h's reserved ids 1, 3,
                     2, 0 (the rows are moved); a reserved id the model
                     lacks gets a row that is never predicted (bias -1e4).
                     Word models split at white space and keep case, as
                     word_language_model's data.py does.
  --vocab-text FILE  a char model's vocabulary as the sorted distinct
                     characters of FILE (rnn.h's own order for a corpus).

--cell picks between cells with the same gate count (gru or gru_cho; tanh
or relu) where the file does not say (a state_dict; a saved module's
nn.RNN says its nonlinearity). Needs Debian's python3-torch.
"""
import argparse
import json
import os
import pickle
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnnst  # noqa: E402

ROLES = ("embedding", "rnn", "head")
RESERVED = ("<pad>", "<unk>", "<s>", "<e>")      # rnn.h's ids 0..3
ALIASES = {"<pad>": 0, "<unk>": 1, "<s>": 2, "<sos>": 2, "<bos>": 2, "<e>": 3, "<eos>": 3, "</s>": 3}
NEVER = -1e4                                       # the bias of a row the model never predicts


class _Unpickler(pickle.Unpickler):
    """Reads a pickled module whose class cannot be imported as a plain
    nn.Module: its submodules and parameters are all a conversion needs."""

    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            import torch
            return type(name, (torch.nn.Module,), {"__module__": module})


def _pickle_shim():
    """The pickle module with _Unpickler in place of its Unpickler."""
    shim = types.ModuleType("pickle")
    shim.__dict__.update(pickle.__dict__)
    shim.Unpickler = _Unpickler
    shim.load = lambda f, **kw: _Unpickler(f, **kw).load()
    return shim


def load_checkpoint(path):
    """(state_dict of float32 numpy arrays, the rnn's mode or None)."""
    import torch
    import torch.serialization as ser
    shim, kept = _pickle_shim(), ser.pickle
    ser.pickle = shim   # PyTorch 1.13 ignores pickle_module unless weights_only (a bug): give it the shim both ways
    try:
        obj = torch.load(path, map_location="cpu", pickle_module=shim, weights_only=False)
    finally:
        ser.pickle = kept
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(key), (dict, torch.nn.Module)):
                obj = obj[key]
                break
    mode = None
    if isinstance(obj, torch.nn.Module):
        rnns = [m for m in obj.modules() if isinstance(m, torch.nn.RNNBase)]
        mode = rnns[0].mode if len(rnns) == 1 else None
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise SystemExit("%s holds a %s, not a state_dict or a module" % (path, type(obj).__name__))
    return {k: v.detach().float().cpu().numpy() for k, v in obj.items()
            if hasattr(v, "detach") and v.dtype.is_floating_point}, mode


def apply_map(sd, mapping):
    """Renames the prefix OLD. to NEW. for each OLD=NEW."""
    for old, new in mapping:
        if new not in ROLES:
            raise SystemExit("--map %s=%s: NEW must be one of %s" % (old, new, ", ".join(ROLES)))
        hits = [k for k in sd if k.startswith(old + ".")]
        if not hits:
            raise SystemExit("--map %s=%s: no tensor is named %s.*" % (old, new, old))
        for k in hits:
            sd[new + k[len(old):]] = sd.pop(k)
    return sd


def find_roles(sd):
    """{role: prefix} for the embedding, the recurrent layer and the head."""
    rnn = [k[:-len("weight_ih_l0")] for k in sd if k.endswith("weight_ih_l0")]
    if "rnn.weight_ih_l0" in sd:
        rnn = ["rnn."]
    if len(rnn) != 1:
        raise SystemExit("found %s recurrent layers%s: name one with --map PREFIX=rnn" %
                         (len(rnn) or "no", rnn and " (" + ", ".join(p.rstrip(".") for p in rnn) + ")" or ""))
    rnn = rnn[0]
    if any(k.startswith(rnn) and k.endswith("_reverse") for k in sd):
        raise SystemExit("%s is bidirectional: a language model reads left to right" % (rnn.rstrip(".") or "the RNN"))
    E = sd[rnn + "weight_ih_l0"].shape[1]
    H = sd[rnn + "weight_hh_l0"].shape[1]

    def mods(pred):
        return sorted(k[:-len("weight")] for k, v in sd.items() if k.endswith("weight") and not k.startswith(rnn) and
                      v.ndim == 2 and pred(k, v))

    def has_bias(k):
        b = sd.get(k[:-len("weight")] + "bias")
        return b is not None and b.ndim == 1 and b.shape[0] == sd[k].shape[0]
    head = ["head."] if "head.weight" in sd else mods(lambda k, v: v.shape[1] == H and has_bias(k))
    emb = ["embedding."] if "embedding.weight" in sd else mods(lambda k, v: v.shape[1] == E and not has_bias(k))
    for role, found, want in (("embedding", emb, "[V, %d] without a bias" % E), ("head", head, "[V, %d] with a bias" % H)):
        if len(found) != 1:
            raise SystemExit("found %s candidates for the %s (a weight %s)%s: name it with --map PREFIX=%s" %
                             (len(found) or "no", role, want,
                              found and ": " + ", ".join(p.rstrip(".") for p in found) or "", role))
    return {"embedding": emb[0], "rnn": rnn, "head": head[0]}


def unescape(line):
    """A char vocabulary line: one character, with \\n \\t \\r \\s \\\\ \\xHH \\uHHHH."""
    if line.startswith("\\") and len(line) > 1:
        simple = {"n": "\n", "t": "\t", "r": "\r", "s": " ", "\\": "\\"}
        if len(line) == 2 and line[1] in simple:
            return simple[line[1]]
        if line[1] in "xu" and len(line) == {"x": 4, "u": 6}[line[1]]:
            try:
                return chr(int(line[2:], 16))
            except ValueError:
                pass
    return line


def read_vocab(path, kind):
    """(kind, tokens) from a file of one token per line."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()                                  # the file's last newline
    lines = [l[:-1] if l.endswith("\r") and len(l) > 1 else l for l in lines]
    for i, l in enumerate(lines):
        if l == "":
            raise SystemExit("%s: line %d is empty (a space is \\s or a line of one space)" % (path, i + 1))
    if kind == "auto":
        kind = "chars" if all(len(unescape(l)) == 1 for l in lines) else "words"
    tokens = [unescape(l) for l in lines] if kind == "chars" else lines
    if kind == "chars":
        bad = [i + 1 for i, t in enumerate(tokens) if len(t) != 1]
        if bad:
            raise SystemExit("%s: line %d is not one character (--tokens chars)" % (path, bad[0]))
    seen = {}
    for i, t in enumerate(tokens):
        if t in seen:
            raise SystemExit("%s: line %d repeats the token of line %d: %r" % (path, i + 1, seen[t] + 1, t))
        seen[t] = i
    if kind == "words":
        bad = [i + 1 for i, t in enumerate(tokens) if any(c.isspace() for c in t)]
        if bad:
            raise SystemExit("%s: line %d holds white space, which a word never does" % (path, bad[0]))
    return kind, tokens


def word_order(tokens):
    """(rnn.h's words, src): src[i] is the model's id for rnn.h id i, or
    None for a reserved id the model lacks. A reserved name (or its alias)
    takes its reserved id; the other words follow in the file's order."""
    src = [None] * len(RESERVED)
    rest = []
    for i, t in enumerate(tokens):
        r = ALIASES.get(t)
        if r is None:
            rest.append(i)
        elif src[r] is not None:
            raise SystemExit("the vocabulary has both %r and %r for rnn.h's %s" % (tokens[src[r]], t, RESERVED[r]))
        else:
            src[r] = i
    return list(RESERVED) + [tokens[i] for i in rest], src + rest


def convert_state_dict(sd, cell=None, vocab=None, words=None, mode=None):
    """(tensors, metadata) for rnnst.write. sd: a state_dict of arrays (or
    tensors) with rnn.h's names (after find_roles/apply_map, or as is);
    vocab: a char vocabulary in id order; words: a word vocabulary in the
    model's id order (rows are moved to rnn.h's reserved ids)."""
    import numpy as np
    sd = {k: (v.detach().float().cpu().numpy() if hasattr(v, "detach") else np.asarray(v, dtype=np.float32))
          for k, v in sd.items()}
    roles = find_roles(sd)
    emb, rnn, head = (roles[r] for r in ROLES)
    V, E = sd[emb + "weight"].shape
    G_H, H = sd[rnn + "weight_hh_l0"].shape
    G = G_H // H
    L = 0
    while "%sweight_ih_l%d" % (rnn, L) in sd:
        L += 1
    if any(k.startswith(rnn + "weight_hr") for k in sd):
        raise SystemExit("an LSTM with proj_size is not supported")
    for l in range(L):
        if "%sbias_ih_l%d" % (rnn, l) not in sd:
            raise SystemExit("the recurrent layer has no biases (bias=False is not supported)")
    moded = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "tanh", "RNN_RELU": "relu"}.get(mode)
    if cell is None:
        cell = moded or {4: "lstm", 3: "gru", 1: "tanh"}.get(G)
    if cell is None or {"lstm": 4, "gru": 3, "gru_cho": 3, "tanh": 1, "relu": 1}[cell] != G:
        raise SystemExit("--cell %s does not match %d gates" % (cell, G))
    hw, hb = sd[head + "weight"], sd[head + "bias"]
    if hw.shape != (V, H):
        raise SystemExit("%sweight is %s, expected %s (the embedding has %d rows)" % (head, hw.shape, (V, H), V))
    ew = sd[emb + "weight"]
    meta = {"format": "rnn.h", "model": "lm", "cell": cell, "embed_size": str(E), "hidden_size": str(H),
            "num_layers": str(L)}
    if vocab is not None:
        if len(vocab) != V:
            raise SystemExit("the vocabulary has %d characters, the embedding %d rows" % (len(vocab), V))
        meta["vocab"] = json.dumps(vocab, ensure_ascii=False)
    if words is not None:
        if len(words) != V:
            raise SystemExit("the vocabulary has %d words, the embedding %d rows" % (len(words), V))
        names, src = word_order(words)
        rows = lambda a, fill: np.stack([a[s] if s is not None else np.full(a.shape[1:], fill, np.float32) for s in src])
        ew, hw, hb = rows(ew, 0), rows(hw, 0), rows(hb, NEVER)
        V = len(names)
        meta.update({"words": json.dumps(names, ensure_ascii=False), "words_punct": "keep", "words_keep_case": "1",
                     "words_max": "0", "words_min_count": "1"})
    meta["vocab_size"] = str(V)
    tensors = [("embedding.weight", ew)]
    for l in range(L):
        tensors += [("rnn.%s_l%d" % (k, l), sd["%s%s_l%d" % (rnn, k, l)])
                    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    tensors += [("head.weight", hw), ("head.bias", hb)]
    return tensors, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--cell", choices=["lstm", "gru", "gru_cho", "tanh", "relu"])
    ap.add_argument("--vocab", help="one token per line, in id order")
    ap.add_argument("--tokens", choices=["auto", "chars", "words"], default="auto")
    ap.add_argument("--vocab-text", help="a char vocabulary: the sorted distinct characters of this file")
    ap.add_argument("--map", action="append", default=[], metavar="OLD=NEW")
    a = ap.parse_args()
    if a.vocab and a.vocab_text:
        raise SystemExit("--vocab or --vocab-text, not both")
    mapping = []
    for m in a.map:
        if m.count("=") != 1 or not all(m.split("=")):
            raise SystemExit("--map %s: write OLD=NEW, as in --map decoder=head" % m)
        mapping.append(tuple(m.split("=")))
    sd, mode = load_checkpoint(a.input)
    sd = apply_map(sd, mapping)
    vocab = words = None
    if a.vocab_text:
        with open(a.vocab_text, encoding="utf-8") as f:
            vocab = sorted(set(f.read()))
    elif a.vocab:
        kind, tokens = read_vocab(a.vocab, a.tokens)
        vocab, words = (tokens, None) if kind == "chars" else (None, tokens)
    roles = find_roles(sd)
    tensors, meta = convert_state_dict(sd, a.cell, vocab, words, mode)
    rnnst.write(a.output, tensors, meta)
    tied = (sd[roles["embedding"] + "weight"] == sd[roles["head"] + "weight"]).all() \
        if sd[roles["embedding"] + "weight"].shape == sd[roles["head"] + "weight"].shape else False
    print("wrote %s: %s, V=%s E=%s H=%s layers=%s; from %s, %s, %s%s%s" % (
        a.output, meta["cell"], meta["vocab_size"], meta["embed_size"], meta["hidden_size"], meta["num_layers"],
        roles["embedding"].rstrip("."), roles["rnn"].rstrip("."), roles["head"].rstrip("."),
        " (tied weights, copied to both)" if tied else "",
        "; %d words (%s)" % (len(words), ", ".join("%s at %d" % (w, i) for i, w in enumerate(RESERVED))) if words else "; %d characters" % len(vocab) if vocab else "; no vocabulary"))


if __name__ == "__main__":
    main()
