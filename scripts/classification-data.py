#!/usr/bin/env python3
"""Build the sequence-classification data sets from what the project already has.

Usage: scripts/classification-data.py [--out data/classify] [--cache corpora/.cache] [--per-language N]

Writes, as TSV (`label<TAB>text`, one example a line, no tabs inside the text):

  OUT/language.{train,dev,test}.tsv      language identification: en, de, es, fr
  OUT/help-module.{train,dev,test}.tsv   the LibreOffice help module of an English help paragraph:
                                         writer, calc, impress, draw, base, math, shared
  OUT/README.md                          counts per split and label, and where each file came from

Language id reads the committed corpora/en-{de,es,fr}.{train,dev,test}.* (run `corpora/build fr` first if
corpora/en-fr.* is missing) and keeps their splits: a corpus's dev and test lines are held out here too. English
lines are drawn from the English side of all three pairs. Only lines of at least MIN_WORDS words are kept (a one-word
UI label such as "Format" is the same word in several of these languages, so no model can name its language), and
any text seen in a held-out split is removed from training.

Help module reads libreoffice-help-en-us (Debian 12, MPL-2.0; downloaded with apt-get into the cache as
corpora/build does) with the same paragraph reader as corpora/build, and labels each paragraph by its page path
(text/swriter → writer, text/scalc → calc, text/simpress → impress, text/sdraw → draw, text/sdatabase → base,
text/smath → math, text/shared → shared; text/sbasic and text/schart are left out). Whole pages go to one split:
within each module, pages ordered by the SHA-1 of their path go 1 in SPLIT_MOD to test and 1 in SPLIT_MOD to dev,
so every module has held-out pages. A text that occurs under two modules is dropped (its label is ambiguous), and a
text seen in a held-out split is removed from training.

Nothing under /usr/share/help (the GNOME help, held out as an unseen domain) is read. Standard library only; the
same packages give byte-identical files.
"""

import argparse
import collections
import glob
import hashlib
import importlib.machinery
import importlib.util
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIN_WORDS = 4
SPLIT_MOD = 8
SPLITS = ("train", "dev", "test")
MODULES = {"swriter": "writer", "scalc": "calc", "simpress": "impress", "sdraw": "draw",
           "sdatabase": "base", "smath": "math", "shared": "shared"}


def load_corpus_builder():
    """corpora/build as a module, for its package download and help-page reader (one reader for both)."""
    path = os.path.join(ROOT, "corpora", "build")
    loader = importlib.machinery.SourceFileLoader("corpus_build", path)
    spec = importlib.util.spec_from_loader("corpus_build", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def clean(text, build):
    text = build.norm(text).replace("\t", " ")
    return text if len(text.split()) >= MIN_WORDS else None


def held_out_free(splits):
    """Drops from train (and from dev) any text of a later held-out split, and duplicates within a split."""
    seen = set()
    for split in ("test", "dev", "train"):
        kept, mine = [], set()
        for label, text in splits[split]:
            if text in seen or text in mine:
                continue
            mine.add(text)
            kept.append((label, text))
        seen |= mine
        splits[split] = kept
    return splits


def language_splits(build, per_language, seed):
    corpora = os.path.join(ROOT, "corpora")
    pairs = {"de": "en-de", "es": "en-es", "fr": "en-fr"}
    for lang, pair in pairs.items():
        if not os.path.exists(os.path.join(corpora, "%s.train.%s" % (pair, lang))):
            sys.exit("classification-data: corpora/%s.train.%s is missing; run corpora/build %s first" % (pair, lang, lang))
    rng = random.Random(seed)
    splits = {}
    for split in SPLITS:
        by_language = collections.defaultdict(list)
        for lang, pair in pairs.items():
            base = os.path.join(corpora, "%s.%s." % (pair, split))
            by_language[lang] += read_lines(base + lang)
            by_language["en"] += read_lines(base + "en")
        rows = []
        # Held-out splits are capped at a tenth of the training size per language, so no language dominates them.
        cap = per_language if split == "train" else max(1, per_language // 10)
        for lang in sorted(by_language):
            texts = sorted({t for t in (clean(x, build) for x in by_language[lang]) if t})
            rng.shuffle(texts)
            rows += [(lang, t) for t in texts[:cap]]
        splits[split] = rows
    splits = held_out_free(splits)
    for split in SPLITS:
        rng.shuffle(splits[split])
    return splits, "corpora/en-{de,es,fr}.{train,dev,test}.{en,de,es,fr} (their own splits)"


def help_root(build, cache):
    debdir, xdir = os.path.join(cache, "debs"), os.path.join(cache, "x")
    deb = build.fetch_deb("libreoffice-help-en-us", debdir)
    x = build.extract_deb(deb, xdir)
    roots = glob.glob(os.path.join(x, "usr/share/libreoffice/help/*/text"))
    if len(roots) != 1:
        sys.exit("classification-data: expected one usr/share/libreoffice/help/<lang>/text in %s, found %d" % (deb, len(roots)))
    return os.path.dirname(roots[0]), build.deb_version(deb)


def help_pages(build, cache):
    """The help root, package version, module -> page paths, and page -> split (whole pages, 1 in SPLIT_MOD each
    to test and dev within each module). scripts/multitask-data.py splits its help tasks by the same pages."""
    root, version = help_root(build, cache)
    pages = collections.defaultdict(list)
    for module in MODULES:
        for dirpath, _, files in os.walk(os.path.join(root, "text", module)):
            pages[module] += [os.path.relpath(os.path.join(dirpath, f), root) for f in files if f.endswith(".html")]
    split_of = {}
    for module, paths in pages.items():
        ordered = sorted(paths, key=lambda p: hashlib.sha1(p.encode("utf-8")).hexdigest())
        for i, page in enumerate(ordered):
            split_of[page] = "test" if i % SPLIT_MOD == 0 else "dev" if i % SPLIT_MOD == 1 else "train"
    return root, version, pages, split_of


def help_module_splits(build, cache, seed):
    root, version, pages, split_of = help_pages(build, cache)
    labels_of = collections.defaultdict(set)
    rows = []
    for module, paths in sorted(pages.items()):
        for page in sorted(paths):
            for _, text in build.page_units(os.path.join(root, page)):
                text = clean(text, build)
                if text is None or build._BROKEN_EMBED.search(text):
                    continue
                labels_of[text].add(MODULES[module])
                rows.append((split_of[page], MODULES[module], text))
    splits = {s: [(label, text) for split, label, text in rows if split == s and len(labels_of[text]) == 1] for s in SPLITS}
    splits = held_out_free(splits)
    rng = random.Random(seed)
    for split in SPLITS:
        rng.shuffle(splits[split])
    return splits, "libreoffice-help-en-us %s (MPL-2.0), %d pages" % (version, sum(len(p) for p in pages.values()))


def write(out, name, splits):
    for split in SPLITS:
        path = os.path.join(out, "%s.%s.tsv" % (name, split))
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for label, text in splits[split]:
                assert "\t" not in text and "\n" not in text
                f.write("%s\t%s\n" % (label, text))
        os.replace(tmp, path)


def table(name, source, splits):
    labels = sorted({label for rows in splits.values() for label, _ in rows})
    lines = ["## `%s.*.tsv`" % name, "", "From %s." % source, "",
             "| label | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    counts = {s: collections.Counter(label for label, _ in splits[s]) for s in SPLITS}
    for label in labels:
        lines.append("| %s | %s |" % (label, " | ".join(str(counts[s][label]) for s in SPLITS)))
    lines.append("| **total** | %s |" % " | ".join(str(len(splits[s])) for s in SPLITS))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "classify"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "corpora", ".cache"))
    ap.add_argument("--per-language", type=int, default=10000, help="training lines per language (held-out: a tenth)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    build = load_corpus_builder()
    os.makedirs(args.out, exist_ok=True)
    sections = ["# Classification data", "", "Made by `scripts/classification-data.py` (see its header); not in git.",
                "Format: `label<TAB>text`, one example a line. Texts have at least %d words." % MIN_WORDS, ""]
    for name, (splits, source) in (("language", language_splits(build, args.per_language, args.seed)),
                                   ("help-module", help_module_splits(build, args.cache, args.seed))):
        write(args.out, name, splits)
        sections.append(table(name, source, splits))
        print("%s: %s" % (name, ", ".join("%s %d" % (s, len(splits[s])) for s in SPLITS)))
    with open(os.path.join(args.out, "README.md.tmp"), "w", encoding="utf-8") as f:
        f.write("\n".join(sections))
    os.replace(os.path.join(args.out, "README.md.tmp"), os.path.join(args.out, "README.md"))


if __name__ == "__main__":
    main()
