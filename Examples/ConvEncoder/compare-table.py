#!/usr/bin/env python3
"""Prints the Markdown table of README.md from the runs compare-taggers.sh wrote (Examples/ConvEncoder/.build/compare)."""
import json, sys

def f1(a):
    tp, fp, fn = a["truePositives"], a["falsePositives"], a["falseNegatives"]
    p = tp / max(1, tp + fp); r = tp / max(1, tp + fn)
    return 0 if p + r == 0 else 2 * p * r / (p + r)

root, runs, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("| run | parameters | receptive field | steps | training chars/s | tagging chars/s | CAP F1 | PERIOD F1 | COMMA F1 | QUESTION F1 | macro F1 | char accuracy |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for run in runs:
    rows = []
    for seed in seeds:
        d = f"{root}/{run}.seed{seed}"
        t = json.load(open(f"{d}/training.json")); s = json.load(open(f"{d}.test.json"))
        speed = float(open(f"{d}.bench.txt").read().split()[0])
        scores = [f1(a) for a in s["attributes"]]
        rows.append([t["steps"], t["trainingCharactersPerSecond"], speed] + scores + [sum(scores) / len(scores), s["correct"] / s["characters"]])
    mean = [sum(r[i] for r in rows) / len(rows) for i in range(len(rows[0]))]
    def cell(i, fmt):
        values = [fmt.format(r[i]) for r in rows]
        return fmt.format(mean[i]) + (" (" + ", ".join(values) + ")" if len(rows) > 1 else "")
    print(f"| {run} | {t['parameters']:,} | {t['receptiveField']} | {cell(0, '{:.0f}')} | {cell(1, '{:,.0f}')} | {cell(2, '{:,.0f}')} | "
          + " | ".join(cell(i, "{:.3f}") for i in range(3, 7)) + f" | {cell(7, '{:.3f}')} | {cell(8, '{:.4f}')} |")
