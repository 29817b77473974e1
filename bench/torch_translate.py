#!/usr/bin/env python3
"""PyTorch reference translation: translate a file with a Marian directory and report throughput.

Reference side only (Python is not part of the product). Written against and smoke-tested with:

    Python 3.11.7, torch 2.13.0+cpu, transformers 5.24.0, sentencepiece 0.2.3

Usage (from the repository root):

    python3 bench/torch_translate.py MODEL_DIR corpora/en-de.test.en [--beam 4] [--batch-size 32] \\
        [--threads 2] [--output hyp.de] [--limit N] [--sort] [--json]

MODEL_DIR is a Marian directory (config.json, generation_config.json, model.safetensors, source.spm, target.spm,
vocab.json), e.g. one written by bench/torch_marian.py --save, or Tests/Fixtures/marian-tiny. Decoding uses
model.generate with do_sample=False, num_beams = --beam, bad_words_ids = [[pad]], max_new_tokens from the
directory's generation config (128 under the ANCHORS conventions) unless --max-new-tokens is given.

Generated tokens = tokens after the decoder start token, up to and including </s>, padding excluded. The clock covers
tokenisation, generate and detokenisation of all batches (not model loading, reported apart). Batches are taken in
file order unless --sort (by source length, longest first; output is written back in file order). Sources are
truncated to min(tokenizer model_max_length, max_position_embeddings) tokens and max_new_tokens is capped at
max_position_embeddings - 1 (both only bite on tiny test models such as marian-tiny).
"""
import argparse
import json
import os
import sys
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import MarianMTModel, MarianTokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("input")
    ap.add_argument("--output", help="write translations here (one a line, file order)")
    ap.add_argument("--beam", type=int, default=1, help="1 = greedy")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None, help="first N lines only")
    ap.add_argument("--sort", action="store_true", help="batch by source length")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
    t_load = time.perf_counter()
    tok = MarianTokenizer.from_pretrained(args.model_dir)
    model = MarianMTModel.from_pretrained(args.model_dir)
    model.eval()
    load_s = time.perf_counter() - t_load
    pad = model.config.pad_token_id
    max_new = args.max_new_tokens or model.generation_config.max_new_tokens or 128
    # Positions are a fixed table: sources are cut to fit it (as MarianTokenizer does at model_max_length), and the
    # decoder may not run past it either.
    max_src = min(tok.model_max_length, model.config.max_position_embeddings)
    max_new = min(max_new, model.config.max_position_embeddings - 1)

    with open(args.input, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    if args.limit:
        lines = lines[: args.limit]
    order = list(range(len(lines)))
    lens = [len(tok(l)["input_ids"]) for l in lines]
    truncated = sum(n > max_src for n in lens)
    if args.sort:
        order.sort(key=lambda i: -lens[i])

    outputs = [None] * len(lines)
    gen_tokens = 0
    src_tokens = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(order), args.batch_size):
            idx = order[b: b + args.batch_size]
            enc = tok([lines[i] for i in idx], return_tensors="pt", padding=True,
                      truncation=True, max_length=max_src)
            src_tokens += int(enc["attention_mask"].sum())
            out = model.generate(**enc, num_beams=args.beam, do_sample=False, max_new_tokens=max_new,
                                 bad_words_ids=[[pad]], early_stopping=True if args.beam > 1 else False)
            gen = out[:, 1:]  # drop the decoder start token
            gen_tokens += int((gen != pad).sum())
            for i, text in zip(idx, tok.batch_decode(out, skip_special_tokens=True)):
                outputs[i] = text
    elapsed = time.perf_counter() - t0

    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write("\n".join(outputs) + "\n")

    result = {
        "model_dir": args.model_dir,
        "input": args.input,
        "sentences": len(lines),
        "beam": args.beam,
        "batch_size": args.batch_size,
        "sorted": args.sort,
        "threads": args.threads,
        "max_new_tokens": max_new,
        "max_source_tokens": max_src,
        "truncated_sources": truncated,
        "seconds": round(elapsed, 3),
        "load_s": round(load_s, 3),
        "generated_tokens": gen_tokens,
        "source_tokens": src_tokens,
        "tokens_per_s": round(gen_tokens / elapsed, 1),
        "sentences_per_s": round(len(lines) / elapsed, 2),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        if not args.output:
            for o in outputs:
                print(o)
        print(f"{len(lines)} sentences ({truncated} sources truncated to {max_src} tokens), {gen_tokens} generated tokens in {elapsed:.2f} s: "
              f"{result['tokens_per_s']:.0f} tokens/s, {result['sentences_per_s']:.1f} sentences/s "
              f"(beam {args.beam}, batch {args.batch_size}, {args.threads} threads; load {load_s:.2f} s)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
