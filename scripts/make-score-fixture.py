#!/usr/bin/env python3
"""Writes the golden fixture for Glossa's BLEU and chrF (Tests/GlossaTests/Fixtures/score).

Hypotheses are made deterministically by perturbing German references from the en-de dev split
(dropped, swapped and duplicated words, punctuation, numbers, empty lines, Unicode), then scored
with sacreBLEU's Python API at its defaults. The sacreBLEU version is written into expected.json.

Usage: python3 scripts/make-score-fixture.py [--corpus /work/shared/corpora/en-de.dev.de]
Requires: pip install sacrebleu (2.x).
"""

import argparse
import json
import pathlib
import random

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

SEED = 20261127
LINES = 320
MAX_REF_CHARS = 160
SENTENCE_CHRF_EVERY = 6

# Text that exercises the 13a tokenizer and code-point (not grapheme) semantics.
SPECIAL_REFERENCES = [
    "",
    "Der Preis beträgt 1.000,50 € (inkl. 19 % MwSt.).",
    "Siehe Abschnitt 3-4, z.B. Seite 12.",
    "Tom &amp; Jerry sagten &quot;Hallo&quot; &lt;laut&gt;.",
    "Öffnen Sie das Menü Extras - Optionen - LibreOffice Writer.",
    "Der Wert liegt zwischen -5 und +10 Grad.",
    "café naïve Straße 東京 😀 ok",
    "",
]
EXTRA_PAIRS = [
    ("", ""),
    ("   ", "Ein Satz."),
    ("Ein Satz.", ""),
    ("a.. b,, c.,d 1.5 2,5 3-4 x-y .5 ,5", "a. b, c. d 1.5 2,5 3 - 4 x-y"),
    ("&amp;lt; &quot;q&quot; <skipped> foo&gt;", "< \"q\" foo>"),
    ("e\u0301te\u0301 cafe\u0301", "\u00e9t\u00e9 caf\u00e9"),
    ("Stra\u00dfe\u00a0und\u3000Weg\u2009hier", "Stra\u00dfe und Weg hier"),
    ("tab\tseparated\twords\t\t", "tab separated words"),
    ("{braces} [brackets] ~tilde~ `tick` ^caret^ _under_ |pipe| \\back\\", "braces brackets tilde tick"),
    ("U.S.A. e.g., i.e., etc.", "U.S.A. e.g. i.e. etc."),
    ("!!! ??? ... ,,,", "!?.,"),
    ("x", "x"),
    ("ab", "abc"),
]

PUNCT = [".", ",", "!", "?", ":", ";", "\"", "'", "(", ")", "-", "/", "&", "%"]
NUMBERS = ["3", "3.14", "1,000", "1.000,5", "2-3", "10-20", "2026", "-7", "0,5%", "4.", ".5"]
UNICODE_WORDS = ["über", "Ärger", "ü", "\u0075\u0308ber", "日本語", "😀", "naïve", "Ω", "ﬁ", "\u00a0", "ß", "ẞ"]


def perturb(ref: str, rng: random.Random, pool: list) -> str:
    words = ref.split()
    kind = rng.randrange(18)
    if kind == 0:
        return ref
    if kind == 1:
        return ""
    if not words:
        return rng.choice(pool)
    if kind == 2:  # drop words
        for _ in range(rng.randint(1, 3)):
            if len(words) > 1:
                del words[rng.randrange(len(words))]
    elif kind == 3:  # swap neighbours
        for _ in range(rng.randint(1, 2)):
            if len(words) > 1:
                i = rng.randrange(len(words) - 1)
                words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == 4:  # duplicate
        i = rng.randrange(len(words))
        words.insert(i, words[i])
    elif kind == 5:  # punctuation added, attached or detached
        i = rng.randrange(len(words))
        p = rng.choice(PUNCT)
        words[i] = words[i] + p if rng.random() < 0.5 else p + " " + words[i]
    elif kind == 6:  # punctuation removed
        words = ["".join(c for c in w if c.isalnum()) or w for w in words]
    elif kind == 7:  # numbers
        words.insert(rng.randrange(len(words) + 1), rng.choice(NUMBERS))
    elif kind == 8:  # unicode
        words.insert(rng.randrange(len(words) + 1), rng.choice(UNICODE_WORDS))
    elif kind == 9:  # truncate to a short hypothesis
        words = words[: rng.randint(1, 3)]
    elif kind == 10:  # unrelated sentence
        return rng.choice(pool)
    elif kind == 11:  # shuffle
        rng.shuffle(words)
    elif kind == 12:  # odd whitespace
        return rng.choice(["  ", "\t", " \u00a0 "]).join(words) + rng.choice(["", " ", "\t", "  "])
    elif kind == 13:  # case change
        i = rng.randrange(len(words))
        words[i] = words[i].upper() if rng.random() < 0.5 else words[i].lower()
    elif kind == 14:  # decomposed umlauts: equal graphemes, different code points
        return ref.replace("ä", "a\u0308").replace("ö", "o\u0308").replace("ü", "u\u0308")
    elif kind == 15:  # entities and markers 13a rewrites
        i = rng.randrange(len(words) + 1)
        words.insert(i, rng.choice(["&amp;", "&quot;x&quot;", "&lt;b&gt;", "<skipped>", "&amp;amp;"]))
    elif kind == 16:  # doubled sentence
        return ref + " " + ref
    else:  # character typo
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 2:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/work/shared/corpora/en-de.dev.de")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent
                                             / "Tests/GlossaTests/Fixtures/score"))
    args = parser.parse_args()

    with open(args.corpus, encoding="utf-8", newline="\n") as f:
        corpus = [line.rstrip("\n") for line in f]
    pool = [line for line in corpus if 0 < len(line) <= MAX_REF_CHARS]
    rng = random.Random(SEED)
    refs = pool[: LINES - len(SPECIAL_REFERENCES) - len(EXTRA_PAIRS)] + SPECIAL_REFERENCES
    hyps = [perturb(r, rng, pool) for r in refs]
    for h, r in EXTRA_PAIRS:
        hyps.append(h)
        refs.append(r)
    order = list(range(len(refs)))
    rng.shuffle(order)
    hyps = [hyps[i] for i in order]
    refs = [refs[i] for i in order]
    for line in hyps + refs:
        assert "\n" not in line and "\r" not in line, line

    bleu = BLEU().corpus_score(hyps, [refs])
    variants = {
        "none": BLEU(smooth_method="none").corpus_score(hyps, [refs]).score,
        "floor": BLEU(smooth_method="floor").corpus_score(hyps, [refs]).score,
        "add-k": BLEU(smooth_method="add-k").corpus_score(hyps, [refs]).score,
    }
    chrf = CHRF().corpus_score(hyps, [refs])
    tok = Tokenizer13a()
    counts = [BLEU().corpus_score([h], [[r]]).counts for h, r in zip(hyps, refs)]
    # Small sub-corpora where some n-gram orders have no matches, so the smoothing methods differ.
    subsets = {
        "short": [i for i, h in enumerate(hyps) if 1 <= len(tok(h.rstrip()).split()) <= 5],
        "low_overlap": [i for i in range(len(hyps))
                        if sacrebleu.sentence_chrf(hyps[i], [refs[i]]).score < 30],
        "no_4gram_match": [i for i, c in enumerate(counts) if c[3] == 0 and c[0] > 0],
        "no_2gram_match": [i for i, c in enumerate(counts) if c[1] == 0 and c[0] > 0],
    }
    bleu_subsets = {}
    for name, idx in subsets.items():
        sh, sr = [hyps[i] for i in idx], [refs[i] for i in idx]
        entry = {"lines": idx}
        for method in ("exp", "none", "floor", "add-k"):
            score = BLEU(smooth_method=method).corpus_score(sh, [sr])
            entry[method] = score.score
            if method == "exp":
                entry["counts"], entry["totals"] = score.counts, score.totals
        entry["chrf"] = CHRF().corpus_score(sh, [sr]).score
        bleu_subsets[name] = entry
    sentence = [
        {"line": i, "score": sacrebleu.sentence_chrf(hyps[i], [refs[i]]).score}
        for i in range(0, len(hyps), SENTENCE_CHRF_EVERY)
    ]
    tricky = [h for h, _ in EXTRA_PAIRS] + SPECIAL_REFERENCES
    expected = {
        "sacrebleu_version": sacrebleu.__version__,
        "generator": "scripts/make-score-fixture.py",
        "lines": len(hyps),
        "bleu": {
            "score": bleu.score,
            "precisions": bleu.precisions,
            "brevity_penalty": bleu.bp,
            "ratio": bleu.ratio,
            "hyp_len": bleu.sys_len,
            "ref_len": bleu.ref_len,
            "counts": bleu.counts,
            "totals": bleu.totals,
            "formatted": bleu.format(),
        },
        "bleu_smoothing": variants,
        "subsets": bleu_subsets,
        "chrf": {"score": chrf.score, "formatted": chrf.format()},
        "chrf_plus_plus": CHRF(word_order=2).corpus_score(hyps, [refs]).score,
        "chrf_eps_smoothing": CHRF(eps_smoothing=True).corpus_score(hyps, [refs]).score,
        "sentence_chrf": sentence,
        "tokenize_13a": [{"text": t, "tokens": tok(t.rstrip())} for t in tricky],
    }

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, lines in (("hyp.txt", hyps), ("ref.txt", refs)):
        with open(out / name, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
        with open(out / name, encoding="utf-8", newline="\n") as f:
            assert f.read().split("\n")[:-1] == lines, name
    with open(out / "expected.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(bleu.format())
    print(chrf.format())
    print(f"sacreBLEU {sacrebleu.__version__}, {len(hyps)} lines -> {out}")


if __name__ == "__main__":
    main()
