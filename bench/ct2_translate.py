#!/usr/bin/env python3
"""Translates standard input with a CTranslate2 model, one output line per input line, as a whole process
(the way bench/compare-ctranslate2.sh times it beside `glossa translate`).

Usage: bench/ct2_translate.py CT2_DIR MARIAN_DIR [--beam N] [--batch-size N] [--threads N] [--compute-type T]

MARIAN_DIR gives source.spm/target.spm (the directory CT2_DIR was converted from). Source pieces end in </s>, as
MarianTokenizer makes them; the output pieces are decoded with target.spm. Reference side only (Python is not part
of the product); measured with ctranslate2 4.8.5 and sentencepiece 0.2.3.
"""
import argparse
import os
import sys

import ctranslate2
import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("marian")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compute-type", default="float32")
    ap.add_argument("--max-length", type=int, default=128)
    args = ap.parse_args()

    source = spm.SentencePieceProcessor(model_file=os.path.join(args.marian, "source.spm"))
    target = spm.SentencePieceProcessor(model_file=os.path.join(args.marian, "target.spm"))
    translator = ctranslate2.Translator(args.model, device="cpu", compute_type=args.compute_type,
                                        inter_threads=1, intra_threads=args.threads)
    lines = sys.stdin.read().splitlines()
    batch = [source.encode(line, out_type=str) + ["</s>"] for line in lines]
    results = translator.translate_batch(batch, max_batch_size=args.batch_size, beam_size=args.beam,
                                         max_decoding_length=args.max_length)
    out = sys.stdout
    for line, result in zip(lines, results):
        out.write((target.decode_pieces(result.hypotheses[0]) if line.strip() else "") + "\n")
    out.flush()


if __name__ == "__main__":
    main()
