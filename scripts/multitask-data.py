#!/usr/bin/env python3
"""Build the multi-task SFT data: five tasks as instruction/response JSON Lines with a `task` field.

Usage: scripts/multitask-data.py [--out data/multitask] [--cache corpora/.cache] [--seed 1]

Writes (one JSON object a line, keys sorted, non-ASCII kept):

  OUT/train.jsonl         {"task", "prompt", "response"}   every training example of every task
  OUT/dev.jsonl           {"task", "prompt", "response"}   DEV_LOSS per task: the dev response loss
  OUT/dev.prompts.jsonl   {"task", "prompt", "reference"}  DEV_PROMPTS per task: greedy responses at validation
  OUT/test.prompts.jsonl  {"task", "prompt", "reference"}  TEST_PROMPTS per task: the reported scores
  OUT/README.md           counts per task and split

The tasks (prompt → response):

  translate-en-de   "Translate to German: <en>" → <de>       corpora/en-de.{train,dev,test}.* (their own splits)
  translate-de-en   "Translate to English: <de>" → <en>      the same pairs the other way round
  language-id       "Which language is this? <text>" → en | de | es | fr
                    scripts/classification-data.py's language splits (the same lines and labels)
  help-module       "Which LibreOffice module is this help text from? <text>" → writer | calc | impress | draw |
                    base | math | shared     scripts/classification-data.py's help-module splits (the same lines)
  help-title        "Write a title for this help text: <paragraph>" → the page's heading
                    libreoffice-help-en-us: pages whose first unit is a heading; the paragraphs of their first
                    section (before the next heading), each answered with that heading. Split by the same whole
                    pages as help-module.

Labels are the classification data's labels, so accuracies compare with docs/classification.md. Corpus lines longer
than MAX_CHARS characters and help paragraphs longer than MAX_HELP_CHARS are left out (the shipped decoder,
models/en-de-lm, has 128 positions for prompt and response).
Translation pairs whose English side is a help paragraph of a held-out (dev or test) help page are left out of
training, so no help task's held-out text is a translation example. Held-out sets are seeded samples of each task's
held-out split. Nothing under /usr/share/help (the GNOME help) is read. Standard library only; the same packages give
byte-identical files.
"""

import argparse
import collections
import importlib.machinery
import importlib.util
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Corpus lines (translation, language id: German, Spanish and French take more pieces of the en-de tokenizer) and
# help paragraphs, in characters.
MAX_CHARS, MAX_HELP_CHARS = 160, 240
DEV_LOSS, DEV_PROMPTS, TEST_PROMPTS = 200, 200, 500
TASKS = ("translate-en-de", "translate-de-en", "language-id", "help-module", "help-title")
PROMPTS = {
    "translate-en-de": "Translate to German: %s",
    "translate-de-en": "Translate to English: %s",
    "language-id": "Which language is this? %s",
    "help-module": "Which LibreOffice module is this help text from? %s",
    "help-title": "Write a title for this help text: %s",
}


def load_module(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def translation_splits(build, held_out_help):
    """(en, de) pairs per split from corpora/en-de.*; training pairs whose English is held-out help text left out."""
    out = {}
    for split in ("train", "dev", "test"):
        base = os.path.join(ROOT, "corpora", "en-de.%s." % split)
        with open(base + "en", encoding="utf-8") as f:
            en = [line.rstrip("\n") for line in f]
        with open(base + "de", encoding="utf-8") as f:
            de = [line.rstrip("\n") for line in f]
        assert len(en) == len(de), split
        pairs = [(e, d) for e, d in zip(en, de) if e and d and len(e) <= MAX_CHARS and len(d) <= MAX_CHARS]
        if split == "train":
            pairs = [(e, d) for e, d in pairs if build.norm(e) not in held_out_help]
        out[split] = pairs
    return out


def title_splits(cd, build, cache):
    """(heading, paragraph) per split: the first section's paragraphs of every page that opens with a heading."""
    root, _, pages, split_of = cd.help_pages(build, cache)
    out = {s: [] for s in cd.SPLITS}
    for module in sorted(pages):
        for page in sorted(pages[module]):
            units = build.page_units(os.path.join(root, page))
            if not units or not units[0][0].startswith("hd_"):
                continue
            heading = units[0][1].replace("\t", " ")
            if build._BROKEN_EMBED.search(heading):
                continue
            for uid, text in units[1:]:
                if uid.startswith("hd_"):
                    break
                text = cd.clean(text, build)
                if text is None or build._BROKEN_EMBED.search(text) or len(text) > MAX_HELP_CHARS:
                    continue
                out[split_of[page]].append((heading, text))
    return out


def sample(rows, n, rng):
    rows = list(rows)
    return rows if len(rows) <= n else [rows[i] for i in sorted(rng.sample(range(len(rows)), n))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "multitask"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "corpora", ".cache"))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    cd = load_module("classification_data", os.path.join(HERE, "classification-data.py"))
    build = cd.load_corpus_builder()

    language, _ = cd.language_splits(build, 10000, args.seed)
    module, _ = cd.help_module_splits(build, args.cache, args.seed)
    titles = title_splits(cd, build, args.cache)
    held_out_help = {t for s in ("dev", "test") for _, t in module[s]} | {t for s in ("dev", "test") for _, t in titles[s]}
    translation = translation_splits(build, held_out_help)

    # task -> split -> [(input text, response)]
    data = {t: {} for t in TASKS}
    for split in cd.SPLITS:
        data["translate-en-de"][split] = [(e, d) for e, d in translation[split]]
        data["translate-de-en"][split] = [(d, e) for e, d in translation[split]]
        data["language-id"][split] = [(t, l) for l, t in language[split] if len(t) <= MAX_CHARS]
        data["help-module"][split] = [(t, l) for l, t in module[split] if len(t) <= MAX_HELP_CHARS]
        data["help-title"][split] = [(t, h) for h, t in titles[split]]

    rng = random.Random(args.seed)
    files = {"train": [], "dev": [], "dev.prompts": [], "test.prompts": []}
    counts = collections.defaultdict(dict)
    for task in TASKS:
        def records(rows, answer):
            return [{"task": task, "prompt": PROMPTS[task] % x, answer: y} for x, y in rows]
        train = data[task]["train"]
        dev_loss = sample(data[task]["dev"], DEV_LOSS, rng)
        dev_prompts = sample(data[task]["dev"], DEV_PROMPTS, rng)
        test = sample(data[task]["test"], TEST_PROMPTS, rng)
        files["train"] += records(train, "response")
        files["dev"] += records(dev_loss, "response")
        files["dev.prompts"] += records(dev_prompts, "reference")
        files["test.prompts"] += records(test, "reference")
        counts[task] = {"train": len(train), "dev": len(dev_loss), "dev.prompts": len(dev_prompts),
                        "test.prompts": len(test), "test (all)": len(data[task]["test"])}
    rng.shuffle(files["train"])

    os.makedirs(args.out, exist_ok=True)
    for name, rows in files.items():
        path = os.path.join(args.out, name + ".jsonl")
        with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
        os.replace(path + ".tmp", path)
    columns = ["train", "dev", "dev.prompts", "test.prompts", "test (all)"]
    lines = ["# Multi-task SFT data", "", "Made by `scripts/multitask-data.py` (see its header); not in git.", "",
             "| task | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for task in TASKS:
        lines.append("| %s | %s |" % (task, " | ".join(str(counts[task][c]) for c in columns)))
    with open(os.path.join(args.out, "README.md.tmp"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(os.path.join(args.out, "README.md.tmp"), os.path.join(args.out, "README.md"))
    for task in TASKS:
        print("%s: %s" % (task, ", ".join("%s %d" % (c, counts[task][c]) for c in columns)))


if __name__ == "__main__":
    main()
