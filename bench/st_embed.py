#!/usr/bin/env python3
"""sentence-transformers reference: encode a file with a model directory and report sentences/s (best of N).

Reference side only (Python is not part of the product). Written against and smoke-tested with:

    Python 3.11.7, torch 2.13.0+cpu, transformers 5.24.0, sentence-transformers 6.2.0, numpy 2.4.6

Usage (from the repository root):

    python3 bench/st_embed.py MODEL_DIR corpora/en-de.dev.en [--batch-size 32] [--threads 2] [--repeats 3] \\
        [--limit N] [--save-npy emb.npy] [--json]

MODEL_DIR is a local sentence-transformers directory (e.g. all-MiniLM-L6-v2 copied locally, or
Tests/Fixtures/bert-tiny); nothing is downloaded (HF_HUB_OFFLINE=1). The clock covers one
SentenceTransformer.encode call over all lines (tokenisation included, model loading not); the best of --repeats
runs is reported, after one short warm-up call. --save-npy writes the embeddings ([lines, dim] float32) so that
Glossa's output can be compared.
"""
import time

T_PROCESS = time.perf_counter()  # before the heavy imports: process_s covers import, load and the runs

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("input")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--save-npy", help="write the embeddings of the last run here")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    t_load = time.perf_counter()
    model = SentenceTransformer(args.model_dir, device="cpu")
    load_s = time.perf_counter() - t_load
    with open(args.input, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    if args.limit:
        lines = lines[: args.limit]

    model.encode(lines[: args.batch_size], batch_size=args.batch_size)  # warm-up
    times = []
    emb = None
    for _ in range(args.repeats):
        t = time.perf_counter()
        emb = model.encode(lines, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)
        times.append(time.perf_counter() - t)
    best = min(times)
    if args.save_npy:
        np.save(args.save_npy, emb.astype(np.float32))

    result = {
        "model_dir": args.model_dir,
        "input": args.input,
        "sentences": len(lines),
        "dim": int(emb.shape[1]),
        "batch_size": args.batch_size,
        "threads": args.threads,
        "max_seq_length": model.max_seq_length,
        "runs_s": [round(t, 3) for t in times],
        "best_s": round(best, 3),
        "sentences_per_s": round(len(lines) / best, 1),
        "load_s": round(load_s, 3),
        "process_s": round(time.perf_counter() - T_PROCESS, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(lines)} sentences, dim {result['dim']}: best {best:.3f} s of {args.repeats} "
              f"({result['sentences_per_s']:.1f} sentences/s; batch {args.batch_size}, {args.threads} threads; "
              f"load {load_s:.2f} s, peak RSS {result['peak_rss_mib']:.0f} MiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
