#!/usr/bin/env python3
"""Bag-of-words logistic-regression baseline for the classification data (reference side only, not product code).

Usage: scripts/classification-baseline.py NAME [--data data/classify] [--json OUT]

Reads data/classify/NAME.{train,dev,test}.tsv (label<TAB>text, made by scripts/classification-data.py), fits
scikit-learn's TfidfVectorizer (lower-cased word unigrams and bigrams, sublinear tf) and LogisticRegression
(C=10, class_weight="balanced", lbfgs, 2000 iterations) on train, and prints accuracy and macro-F1 on dev and test,
the numbers docs/classification.md compares the Glossa classifiers with. Needs scikit-learn (pip install scikit-learn).
"""
import argparse
import json
import os

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            labels.append(label)
            texts.append(text)
    return texts, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", help="language or help-module")
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "classify"))
    ap.add_argument("--json", help="also write the scores here")
    args = ap.parse_args()
    splits = {s: read(os.path.join(args.data, "%s.%s.tsv" % (args.name, s))) for s in ("train", "dev", "test")}
    vectorizer = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x = vectorizer.fit_transform(splits["train"][0])
    model = LogisticRegression(C=10, class_weight="balanced", max_iter=2000)
    model.fit(x, splits["train"][1])
    scores = {}
    for split in ("dev", "test"):
        texts, truth = splits[split]
        predicted = model.predict(vectorizer.transform(texts))
        scores[split] = {"accuracy": accuracy_score(truth, predicted), "macro_f1": f1_score(truth, predicted, average="macro"),
                         "count": len(truth)}
        print("%s %s: accuracy %.4f, macro-F1 %.4f (%d texts)" % (args.name, split, scores[split]["accuracy"],
                                                                   scores[split]["macro_f1"], len(truth)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(scores, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
