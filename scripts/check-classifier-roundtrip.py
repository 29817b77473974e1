#!/usr/bin/env python3
"""Opens a Glossa classifier directory in transformers and compares its probabilities with `glossa classify`.

Usage: scripts/check-classifier-roundtrip.py MODEL_DIR [--glossa .build/release/glossa] [--texts FILE] [--limit 200]

Loads MODEL_DIR with `transformers.AutoModelForSequenceClassification.from_pretrained` (it must come back as the
class config.json's `architectures` names, e.g. BertForSequenceClassification, with every tensor used), frames each
text as Glossa does (SentencePiece `tokenizer.model`: the pieces, cut to fit the position table, then the model's
BOS/EOS ids where it has them; WordPiece `vocab.txt`: [CLS] … [SEP]), and compares the softmax probabilities with
`glossa classify --format jsonl --top-k <labels>` on the same texts. Prints the largest difference and how many
top-1 labels agree; exits 1 if a probability differs by more than 1e-3. Reference side only: needs torch,
transformers and sentencepiece.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
from transformers import AutoModelForSequenceClassification

DEFAULT_TEXTS = ["Open the file.", "Die Datei öffnen.", "Abra el archivo, por favor.", "Ouvrez le fichier.",
                 "Choose Format - Cells and click the Numbers tab.", "", "Select the slide you want to delete."]


def frame(directory, texts, limit):
    if os.path.exists(os.path.join(directory, "tokenizer.model")):
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=os.path.join(directory, "tokenizer.model"))
        head = [sp.bos_id()] if sp.bos_id() >= 0 else []
        tail = [sp.eos_id()] if sp.eos_id() >= 0 else []
        return [head + sp.encode(t)[: limit - len(head) - len(tail)] + tail for t in texts]
    from transformers import BertTokenizer
    tok = BertTokenizer(vocab_file=os.path.join(directory, "vocab.txt"), do_lower_case=True)
    return [tok(t, truncation=True, max_length=limit)["input_ids"] for t in texts]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--glossa", default=".build/release/glossa")
    ap.add_argument("--texts", help="one text a line, or label<TAB>text (default: a few built-in sentences)")
    ap.add_argument("--limit", type=int, default=200)
    args = ap.parse_args()
    texts = DEFAULT_TEXTS
    if args.texts:
        with open(args.texts, encoding="utf-8") as f:
            texts = [line.rstrip("\n").split("\t")[-1] for line in f][: args.limit]
    model, info = AutoModelForSequenceClassification.from_pretrained(args.model, output_loading_info=True)
    unused = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if unused:
        sys.exit("transformers did not read the directory whole: %s" % unused)
    config = json.load(open(os.path.join(args.model, "config.json")))
    expected_class = (config.get("architectures") or ["?"])[0]
    print("transformers class: %s (config.json says %s)" % (type(model).__name__, expected_class))
    model.eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    ids = frame(args.model, texts, model.config.max_position_embeddings)
    reference = []
    with torch.no_grad():
        for row in ids:
            reference.append(model(input_ids=torch.tensor([row])).logits[0].softmax(-1).tolist())
    run = subprocess.run([args.glossa, "classify", "--model", args.model, "--format", "jsonl", "--top-k", str(len(labels))],
                         input="\n".join(texts) + "\n", capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("glossa classify failed: " + run.stderr)
    worst, agree = 0.0, 0
    for line, ref in zip(run.stdout.splitlines(), reference):
        got = {p["label"]: p["probability"] for p in json.loads(line)["predictions"]}
        worst = max(worst, max(abs(got[label] - ref[i]) for i, label in enumerate(labels)))
        agree += max(got, key=got.get) == labels[max(range(len(ref)), key=ref.__getitem__)]
    print("%d texts: top-1 labels agree on %d, largest probability difference %.2e" % (len(texts), agree, worst))
    if type(model).__name__ != expected_class or worst > 1e-3:
        sys.exit(1)


if __name__ == "__main__":
    main()
