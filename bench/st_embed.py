#!/usr/bin/env python3
"""sentence-transformers reference: encode a file with a model directory and report sentences/s (best of N).

Reference side only (Python is not part of the product). Written against and smoke-tested with:

    Python 3.11.7, torch 2.13.0+cpu, transformers 5.24.0, sentence-transformers 6.2.0, numpy 2.4.6

Usage (from the repository root):

    python3 bench/st_embed.py MODEL_DIR corpora/en-de.dev.en [--batch-size 32] [--threads 2] [--repeats 3] \\
        [--limit N] [--save-npy emb.npy] [--json] [--backend torch|onnx|onnx-int8 [--work-dir DIR]]

--backend onnx runs sentence-transformers' ONNX Runtime backend (backend="onnx", the model exported to ONNX by
Optimum when the directory has none); onnx-int8 runs its dynamic int8 export,
export_dynamic_quantized_onnx_model(model, "avx2", ...) (onnx/model_quint8_avx2.onnx). Both work on a copy of
MODEL_DIR in --work-dir (default: a temporary directory), outside the clock, with ONNX Runtime at --threads intra-op
threads. sentence-transformers 6.2 needs transformers 5, which optimum-onnx 0.1.0 does not support yet: the ONNX
backends ran in their own venv (sentence-transformers 5.x, transformers 4.57, optimum-onnx 0.1.0, onnxruntime;
scripts/fixtures/requirements-onnx.txt).

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
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def load_model(args):
    """The model on the chosen backend, and the seconds spent exporting (ONNX export and int8 quantization)."""
    if args.backend == "torch":
        return SentenceTransformer(args.model_dir, device="cpu"), 0.0
    import onnxruntime as ort

    work = args.work_dir or tempfile.mkdtemp(prefix="st-onnx-")
    local = os.path.join(work, "model")
    if not os.path.isdir(local):
        shutil.copytree(args.model_dir, local)

    def session():
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        return options

    t = time.perf_counter()
    import glob

    def exported():
        return sorted(glob.glob(os.path.join(local, "onnx", "model_*int8_avx2.onnx")))

    if args.backend == "onnx-int8" and exported() and not args.prepare:
        model = None
    else:
        model = SentenceTransformer(local, backend="onnx", device="cpu", model_kwargs={"session_options": session()})
        if args.prepare and not os.path.exists(os.path.join(local, "onnx", "model.onnx")):
            model.save_pretrained(local)  # writes onnx/model.onnx: later runs load it instead of exporting again
    if args.backend == "onnx":
        return model, time.perf_counter() - t
    from sentence_transformers import export_dynamic_quantized_onnx_model

    if not exported():
        export_dynamic_quantized_onnx_model(model, "avx2", local)
    export_s = time.perf_counter() - t
    name = os.path.relpath(exported()[0], local)  # onnx/model_quint8_avx2.onnx: u8 activations, s8 weights
    model = SentenceTransformer(local, backend="onnx", device="cpu",
                                model_kwargs={"file_name": name, "session_options": session()})
    return model, export_s


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
    ap.add_argument("--backend", choices=["torch", "onnx", "onnx-int8"], default="torch")
    ap.add_argument("--work-dir", help="where the ONNX backends copy the model and write their exports")
    ap.add_argument("--prepare", action="store_true",
                    help="only export (ONNX, and the int8 model for onnx-int8) into --work-dir, so that the timed "
                         "runs and their peak RSS do not include the export")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    t_load = time.perf_counter()
    model, export_s = load_model(args)
    load_s = time.perf_counter() - t_load
    if args.prepare:
        print(json.dumps({"backend": args.backend, "export_s": round(export_s, 2)}) if args.json else
              f"exported for {args.backend} in {export_s:.1f} s", file=sys.stdout if args.json else sys.stderr)
        return
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
        "backend": args.backend,
        "onnxruntime": sys.modules["onnxruntime"].__version__ if "onnxruntime" in sys.modules else None,
        "export_s": round(export_s, 2),
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
