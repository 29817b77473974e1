#!/usr/bin/env python3
"""Opens a Marian directory written by Glossa in Hugging Face transformers and checks that both
translate the same sentences the same way (greedy search).

Usage: scripts/check-marian-roundtrip.py MODEL_DIR [--lines N] [--source FILE] [--glossa PATH]

Needs torch, transformers and sentencepiece (reference tools only; Glossa itself never needs Python).
Measured with transformers 5.24.0, torch 2.13.0 (CPU).
"""
import argparse
import subprocess
import sys

import torch
from transformers import MarianMTModel, MarianTokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--source", default="corpora/en-de.dev.en")
    parser.add_argument("--glossa", default=".build/release/glossa")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()

    torch.set_num_threads(2)
    with open(args.source, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for _, line in zip(range(args.lines), f)]

    tokenizer = MarianTokenizer.from_pretrained(args.model)
    model = MarianMTModel.from_pretrained(args.model).eval()
    pad = model.config.pad_token_id
    outputs = []
    with torch.no_grad():
        for start in range(0, len(lines), 16):
            batch = tokenizer(lines[start:start + 16], return_tensors="pt", padding=True)
            generated = model.generate(**batch, num_beams=1, do_sample=False, max_new_tokens=args.max_new_tokens,
                                       bad_words_ids=[[pad]])
            outputs += tokenizer.batch_decode(generated, skip_special_tokens=True)

    glossa = subprocess.run([args.glossa, "translate", "--model", args.model, "--beam-size", "1",
                             "--max-length", str(args.max_new_tokens)],
                            input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout.splitlines()
    same = sum(a.strip() == b.strip() for a, b in zip(outputs, glossa))
    print(f"transformers loaded {args.model}: {sum(p.numel() for p in model.parameters())} parameters")
    print(f"identical greedy translations: {same}/{len(lines)} ({100 * same / len(lines):.1f}%)")
    for a, b, s in list(zip(outputs, glossa, lines))[:3]:
        print(f"  {s}\n    transformers: {a}\n    glossa:       {b}")
    return 0 if same >= 0.95 * len(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
