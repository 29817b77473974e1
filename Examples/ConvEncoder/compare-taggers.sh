#!/bin/sh
# The comparison in README.md: each recipe in Examples/ConvEncoder/compare/ trained for the same minutes
# (MINUTES, default 3) on one thread, one after another, then scored on corpora/en-de.test.en.
# Run from the repository root after `make example-plugin`; prints one Markdown table row per run.
set -eu
glossa="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
library="${LIBRARY:-$(cd Examples/ConvEncoder && swift build -c release -Xswiftc -enable-testing --show-bin-path)/libConvEncoder.so}"
minutes="${MINUTES:-3}"
runs="${RUNS:-unet-nearest unet-bed-of-nails unet-max-unpool unet-transposed flat}"
for run in $runs; do
    dir="Examples/ConvEncoder/.build/compare/$run"
    nice -n 10 "$glossa" --plugin "$library" run conv-tagger train --recipe "Examples/ConvEncoder/compare/$run.json" --minutes "$minutes" 2> "$dir.train.log" || { cat "$dir.train.log"; exit 1; }
    nice -n 10 "$glossa" --plugin "$library" run conv-tagger eval --model "$dir" --text corpora/en-de.test.en > "$dir.test.txt"
    nice -n 10 "$glossa" --plugin "$library" run conv-tagger eval --model "$dir" --text corpora/en-de.test.en --json > "$dir.test.json"
done
python3 - "$runs" <<'PY' 2>/dev/null || echo "(python3 missing: the scores are in Examples/ConvEncoder/.build/compare/*.test.txt)"
import json, sys
print("| run | parameters | receptive field | steps | train chars/s | CAP F1 | PERIOD F1 | COMMA F1 | QUESTION F1 | macro F1 | char accuracy |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for run in sys.argv[1].split():
    d = f"Examples/ConvEncoder/.build/compare/{run}"
    t = json.load(open(f"{d}/training.json")); s = json.load(open(f"{d}.test.json"))
    f1 = {}
    for a in s["attributes"]:
        p = a["truePositives"] / max(1, a["truePositives"] + a["falsePositives"]); r = a["truePositives"] / max(1, a["truePositives"] + a["falseNegatives"])
        f1[a["name"]] = 0 if p + r == 0 else 2 * p * r / (p + r)
    macro = sum(f1.values()) / len(f1)
    print(f"| {run} | {t['parameters']:,} | {t['receptiveField']} | {t['steps']} | {t['trainingCharactersPerSecond']:,.0f} | "
          + " | ".join(f"{f1[k]:.3f}" for k in ["CAP", "PERIOD", "COMMA", "QUESTION"]) + f" | {macro:.3f} | {s['correct'] / s['characters']:.4f} |")
PY
