#!/usr/bin/env python3
"""PyTorch reference trainer: the translation configuration of shared/ANCHORS.md, for side-by-side timing.

Reference side only (Python is not part of the product). Written against and smoke-tested with:

    Python 3.11.7, torch 2.13.0+cpu, transformers 5.24.0, sentencepiece 0.2.3, numpy 2.4.6
    (ANCHORS.md's figures were measured with torch 2.15 / transformers 5.24)

Model: MarianMTModel, d_model 256, 3 + 3 layers, 4 heads, FFN 1024, swish, dropout 0.1, static sinusoidal positions
(max_position_embeddings 256), scaled embeddings, one shared and tied embedding; vocabulary = the SentencePiece
model given (</s> = 0, <unk> = 1, <pad> = last id, no <s>; decoder_start_token_id = pad). Training: Adam (0.9,
0.98, 1e-9), peak lr 7e-4 after 1000 linear warmup steps then inverse square root, label smoothing 0.1, gradient
clipping 1.0, about 3000 target tokens per batch from length-sorted buckets (batches shuffled each epoch), 2 threads.

Usage (from the repository root):

    # once: an 8k unigram SentencePiece model with the conventions above (about a minute, one thread)
    python3 bench/torch_marian.py --make-spm models/ende-8k.spm
    # train for 2 minutes (or --steps N) and report throughput; --json prints one JSON object on stdout
    python3 bench/torch_marian.py --spm models/ende-8k.spm --minutes 2 [--json] [--save DIR] [--dev]

Throughput per step = target tokens in the batch (real tokens incl. </s>, no padding) / wall time of the step
(forward, backward, clip, optimizer). Reported: the median over steps, and the overall figure (all target tokens /
all step time). Data loading and SentencePiece encoding happen before the clock starts and are reported apart.
"""
import argparse
import json
import math
import os
import random
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import MarianConfig, MarianMTModel  # noqa: E402

MAX_POSITIONS = 256
MAX_LEN = 250  # pairs with more tokens (incl. </s>) on either side are dropped


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def find_corpora(arg):
    for d in [arg, "corpora", os.path.join("..", "shared", "corpora")]:
        if d and os.path.exists(os.path.join(d, "en-de.train.en")):
            return d
    sys.exit("cannot find en-de.train.en; pass --corpora DIR")


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def make_spm(args):
    corpora = find_corpora(args.corpora)
    lines = read_lines(os.path.join(corpora, f"en-de.train.{args.src}")) + \
        read_lines(os.path.join(corpora, f"en-de.train.{args.tgt}"))
    spm.set_random_generator_seed(0)
    import io
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, model_type="unigram", vocab_size=args.vocab_size,
        character_coverage=1.0, eos_id=0, unk_id=1, bos_id=-1, pad_id=args.vocab_size - 1,
        eos_piece="</s>", unk_piece="<unk>", pad_piece="<pad>", num_threads=args.threads,
        input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
    os.makedirs(os.path.dirname(os.path.abspath(args.make_spm)), exist_ok=True)
    with open(args.make_spm, "wb") as f:
        f.write(buf.getvalue())
    log(f"wrote {args.make_spm} ({args.vocab_size} pieces, from {len(lines)} lines)")


def load_spm(path):
    sp = spm.SentencePieceProcessor(model_file=path)
    v = sp.get_piece_size()
    if not (sp.id_to_piece(0) == "</s>" and sp.id_to_piece(1) == "<unk>" and sp.id_to_piece(v - 1) == "<pad>"
            and sp.bos_id() == -1):
        sys.exit(f"{path}: expected </s>=0, <unk>=1, <pad>=last id, no <s> (see ANCHORS.md)")
    return sp, v


def encode_pairs(sp, src_lines, tgt_lines):
    src = sp.encode(src_lines)
    tgt = sp.encode(tgt_lines)
    pairs = []
    for s, t in zip(src, tgt):
        s = s + [0]
        t = t + [0]
        if len(s) <= MAX_LEN and len(t) <= MAX_LEN and len(s) > 1 and len(t) > 1:
            pairs.append((s, t))
    return pairs


def make_batches(pairs, max_tokens, rng):
    """Length-sorted buckets: sort by (target, source) length with random tie-breaking, then cut consecutive runs
    holding about max_tokens real target tokens (and at most max_tokens padded target tokens)."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0]), rng.random()))
    batches, cur, cur_tok, cur_max = [], [], 0, 0
    for i in order:
        n = len(pairs[i][1])
        m = max(cur_max, n)
        if cur and (cur_tok + n > max_tokens or m * (len(cur) + 1) > max_tokens * 1.1):
            batches.append(cur)
            cur, cur_tok, m = [], 0, n
        cur.append(i)
        cur_tok += n
        cur_max = m
    if cur:
        batches.append(cur)
    return batches


def collate(pairs, idx, pad):
    src = [pairs[i][0] for i in idx]
    tgt = [pairs[i][1] for i in idx]
    S, T = max(map(len, src)), max(map(len, tgt))
    input_ids = torch.full((len(idx), S), pad, dtype=torch.long)
    attn = torch.zeros((len(idx), S), dtype=torch.long)
    dec_in = torch.full((len(idx), T), pad, dtype=torch.long)
    labels = torch.full((len(idx), T), -100, dtype=torch.long)
    for k, (s, t) in enumerate(zip(src, tgt)):
        input_ids[k, :len(s)] = torch.tensor(s)
        attn[k, :len(s)] = 1
        dec_in[k, 0] = pad  # decoder_start_token_id = pad
        dec_in[k, 1:len(t)] = torch.tensor(t[:-1])
        labels[k, :len(t)] = torch.tensor(t)
    n_src = sum(map(len, src))
    n_tgt = sum(map(len, tgt))
    return input_ids, attn, dec_in, labels, n_src, n_tgt


def build_model(vocab):
    pad = vocab - 1
    config = MarianConfig(
        vocab_size=vocab, decoder_vocab_size=vocab, d_model=256, encoder_layers=3, decoder_layers=3,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=1024, decoder_ffn_dim=1024,
        activation_function="swish", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
        max_position_embeddings=MAX_POSITIONS, scale_embedding=True, share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True, static_position_embeddings=True, pad_token_id=pad, eos_token_id=0,
        decoder_start_token_id=pad, forced_eos_token_id=0, bos_token_id=None)
    model = MarianMTModel(config)
    with torch.no_grad():
        model.model.shared.weight[pad].zero_()
    return model


def save_marian(model, sp_path, sp, out):
    vocab = sp.get_piece_size()
    pad = vocab - 1
    with torch.no_grad():
        model.model.shared.weight[pad].zero_()
    gc = model.generation_config
    gc.max_new_tokens = 128
    gc.bad_words_ids = [[pad]]
    gc.decoder_start_token_id = pad
    gc.pad_token_id = pad
    gc.eos_token_id = 0
    gc.forced_eos_token_id = 0
    model.save_pretrained(out, safe_serialization=True)
    for name in ("source.spm", "target.spm"):
        with open(sp_path, "rb") as fi, open(os.path.join(out, name), "wb") as fo:
            fo.write(fi.read())
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({sp.id_to_piece(i): i for i in range(vocab)}, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "MarianTokenizer", "source_lang": "en", "target_lang": "de",
                   "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "model_max_length": 512,
                   "separate_vocabs": False}, f, indent=1)


def dev_cross_entropy(model, pairs, pad, max_tokens):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in make_batches(pairs, max_tokens, random.Random(0)):
            input_ids, attn, dec_in, labels, _, n_tgt = collate(pairs, idx, pad)
            logits = model(input_ids=input_ids, attention_mask=attn, decoder_input_ids=dec_in).logits
            total += float(torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1),
                                                             ignore_index=-100, reduction="sum"))
            count += n_tgt
    model.train()
    return total / count


def sgemm_gflops(threads):
    """A quick 1024^3 float32 matmul figure (best of 3 x 10), to tell a busy machine from a slow program."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(10):
            a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * 1024 ** 3 * 10 / best / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spm", help="SentencePiece model (shared vocabulary)")
    ap.add_argument("--make-spm", metavar="OUT", help="train the 8k SentencePiece model to OUT and exit")
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--corpora", default=None, help="folder with en-de.train.{en,de} (default corpora/)")
    ap.add_argument("--src", default="en")
    ap.add_argument("--tgt", default="de")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--tokens", type=int, default=3000, help="target tokens per batch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--dev", action="store_true", help="report dev cross-entropy (nats/token) at the end")
    ap.add_argument("--save", metavar="DIR", help="save a Marian directory (model + spm + vocab) at the end")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    if args.make_spm:
        make_spm(args)
        return
    if not args.spm:
        ap.error("--spm is required (or --make-spm OUT)")
    if args.steps is None and args.minutes is None:
        ap.error("give --steps N or --minutes M")

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    corpora = find_corpora(args.corpora)
    sp, vocab = load_spm(args.spm)
    pad = vocab - 1
    pairs = encode_pairs(sp, read_lines(os.path.join(corpora, f"en-de.train.{args.src}")),
                         read_lines(os.path.join(corpora, f"en-de.train.{args.tgt}")))
    dev_pairs = None
    if args.dev:
        dev_pairs = encode_pairs(sp, read_lines(os.path.join(corpora, f"en-de.dev.{args.src}")),
                                 read_lines(os.path.join(corpora, f"en-de.dev.{args.tgt}")))
    prep_s = time.perf_counter() - t0
    log(f"{len(pairs)} training pairs, {sum(len(t) for _, t in pairs)} target tokens, prepared in {prep_s:.1f} s")

    model = build_model(vocab)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"parameters: {n_params / 1e6:.2f} M ({n_trainable / 1e6:.2f} M trainable; the rest are sinusoid tables)")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    warm = args.warmup
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, math.sqrt(warm / (s + 1))))  # step s+1: linear up, then 1/sqrt
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=-100)

    gflops = sgemm_gflops(args.threads)
    log(f"calibration: torch float32 matmul 1024^3 at {gflops:.0f} GFLOP/s with {args.threads} threads")
    deadline = None if args.minutes is None else time.perf_counter() + args.minutes * 60
    step, epoch = 0, 0
    rates, rates_all, losses = [], [], []
    tot_tgt = tot_src = 0
    step_time = 0.0
    t_start = time.perf_counter()
    done = False
    while not done:
        epoch += 1
        batches = make_batches(pairs, args.tokens, rng)
        rng.shuffle(batches)
        for idx in batches:
            input_ids, attn, dec_in, labels, n_src, n_tgt = collate(pairs, idx, pad)
            ts = time.perf_counter()
            logits = model(input_ids=input_ids, attention_mask=attn, decoder_input_ids=dec_in).logits
            loss = loss_fn(logits.view(-1, logits.shape[-1]), labels.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            dt = time.perf_counter() - ts
            step += 1
            step_time += dt
            tot_tgt += n_tgt
            tot_src += n_src
            rates.append(n_tgt / dt)
            rates_all.append((n_src + n_tgt) / dt)
            losses.append(float(loss.detach()))
            if step % args.log_every == 0:
                log(f"step {step} epoch {epoch} loss {statistics.mean(losses[-args.log_every:]):.3f} "
                    f"lr {sched.get_last_lr()[0]:.2e} batch {len(idx)}x{labels.shape[1]} tgt {n_tgt} "
                    f"{n_tgt / dt:.0f} tgt tok/s (median so far {statistics.median(rates):.0f})")
            if (args.steps is not None and step >= args.steps) or \
                    (deadline is not None and time.perf_counter() >= deadline):
                done = True
                break
    wall = time.perf_counter() - t_start

    result = {
        "steps": step,
        "epochs_started": epoch,
        "train_wall_s": round(wall, 2),
        "step_time_s": round(step_time, 2),
        "median_tgt_tokens_per_s": round(statistics.median(rates), 1),
        "median_src_tgt_tokens_per_s": round(statistics.median(rates_all), 1),
        "overall_tgt_tokens_per_s": round(tot_tgt / step_time, 1),
        "total_tgt_tokens": tot_tgt,
        "total_src_tokens": tot_src,
        "mean_tgt_tokens_per_step": round(tot_tgt / step, 1),
        "final_train_loss_smoothed": round(statistics.mean(losses[-50:]), 4),
        "parameters": n_params,
        "training_pairs": len(pairs),
        "prepare_s": round(prep_s, 2),
        "threads": args.threads,
        "calibration_matmul_gflops": round(gflops, 1),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentencepiece": spm.__version__,
        "numpy": np.__version__,
    }
    if dev_pairs is not None:
        ce = dev_cross_entropy(model, dev_pairs, pad, args.tokens)
        result["dev_cross_entropy_nats"] = round(ce, 4)
        result["dev_perplexity"] = round(math.exp(ce), 2)
    if args.save:
        save_marian(model, args.spm, sp, args.save)
        result["saved"] = args.save

    if args.json:
        print(json.dumps(result))
    else:
        print(f"steps {step} in {wall:.1f} s (epochs started {epoch}), {tot_tgt} target tokens")
        print(f"median {result['median_tgt_tokens_per_s']:.0f} target tokens/s "
              f"({result['median_src_tgt_tokens_per_s']:.0f} source+target); "
              f"overall {result['overall_tgt_tokens_per_s']:.0f} target tokens/s")
        print(f"calibration matmul 1024^3: {gflops:.0f} GFLOP/s ({args.threads} threads)")
        print(f"final smoothed training loss {result['final_train_loss_smoothed']:.3f}")
        if "dev_cross_entropy_nats" in result:
            print(f"dev cross-entropy {result['dev_cross_entropy_nats']:.3f} nats/token "
                  f"(perplexity {result['dev_perplexity']:.1f})")


if __name__ == "__main__":
    main()
