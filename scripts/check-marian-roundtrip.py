#!/usr/bin/env python3
"""Opens a Marian directory written by Glossa in Hugging Face transformers and checks that both
translate the same sentences the same way (greedy search).

Usage: scripts/check-marian-roundtrip.py MODEL_DIR [--lines N] [--source FILE] [--glossa PATH]
       scripts/check-marian-roundtrip.py MODEL_DIR --expected [EXPECTED_JSON] [--glossa PATH] [--show N]

Needs torch, transformers and sentencepiece (reference tools only; Glossa itself never needs Python).
Measured with transformers 5.24.0, torch 2.13.0 (CPU).

With --expected, nothing is run in transformers: Glossa's translations of the sources in a fixture's expected.json
(default MODEL_DIR/expected.json, as written by scripts/fixtures/make_opus_fixtures.py) are compared with the
recorded transformers outputs, and no Python package beyond the standard library is needed:
  * greedy:  `glossa translate --model DIR --beam-size 1 --max-length 64`, one source per input line, against
             expected["greedy"][i]["text"];
  * default: `glossa translate --model DIR` with no flags (so the directory's generation_config.json applies),
             against expected["default"]["cases"][i]["text"].
It prints the identical lines out of N for both and exits 0 only if every line is identical (or at least
--min-fraction of them).
"""
import argparse
import json
import os
import subprocess
import sys


def run_glossa(glossa, model, flags, lines):
    proc = subprocess.run([glossa, "translate", "--model", model, *flags], input="\n".join(lines) + "\n",
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  glossa translate {' '.join(flags) or '(no flags)'} failed with exit status {proc.returncode}:")
        for line in proc.stderr.strip().splitlines()[-10:]:
            print(f"    {line}")
        return None
    return proc.stdout.splitlines()


def compare(label, flags, entries, args):
    sources = [e["source"] for e in entries]
    expected = [e["text"] for e in entries]
    got = run_glossa(args.glossa, args.model, flags, sources)
    n = len(entries)
    if got is None:
        print(f"{label}: identical 0/{n} (glossa failed)")
        return 0, n
    if len(got) != n:
        print(f"  warning: glossa printed {len(got)} lines for {n} inputs")
    got = got + [""] * (n - len(got))
    same = [a.strip() == b.strip() for a, b in zip(expected, got)]
    print(f"{label} (glossa translate {' '.join(flags) or '(no flags)'}): identical {sum(same)}/{n} "
          f"({100 * sum(same) / n:.1f}%)")
    shown = 0
    for i, (ok, src, a, b) in enumerate(zip(same, sources, expected, got)):
        if ok or shown >= args.show:
            continue
        shown += 1
        print(f"  [{i}] {src}\n    transformers: {a}\n    glossa:       {b}")
    return sum(same), n


def check_expected(args):
    path = args.expected or os.path.join(args.model, "expected.json")
    with open(path, encoding="utf-8") as f:
        expected = json.load(f)
    print(f"{path}: made with transformers {expected.get('versions', {}).get('transformers', '?')}")
    settings = expected.get("default", {}).get("settings", {})
    if settings:
        print("  default settings: " + ", ".join(f"{k}={settings[k]}" for k in sorted(settings)))
    max_new = expected.get("greedy_settings", {}).get("max_new_tokens", 64)
    g_same, g_n = compare("greedy", ["--beam-size", "1", "--max-length", str(max_new)], expected["greedy"], args)
    d_same, d_n = compare("default", [], expected["default"]["cases"], args)
    ok = g_same >= args.min_fraction * g_n and d_same >= args.min_fraction * d_n
    return 0 if ok else 1


def check_roundtrip(args):
    import torch
    from transformers import MarianMTModel, MarianTokenizer

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--source", default="corpora/en-de.dev.en")
    parser.add_argument("--glossa", default=".build/release/glossa")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--expected", nargs="?", const="", default=None, metavar="EXPECTED_JSON",
                        help="compare glossa with a fixture's expected.json (default MODEL/expected.json) "
                             "instead of running transformers")
    parser.add_argument("--min-fraction", type=float, default=1.0,
                        help="with --expected: fraction of identical lines needed for exit status 0")
    parser.add_argument("--show", type=int, default=3, help="with --expected: mismatches to print per mode")
    args = parser.parse_args()
    if args.expected is not None:
        return check_expected(args)
    return check_roundtrip(args)


if __name__ == "__main__":
    sys.exit(main())
