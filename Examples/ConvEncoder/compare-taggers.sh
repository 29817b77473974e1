#!/bin/sh
# The comparison in README.md: each recipe in Examples/ConvEncoder/compare/ trained for the same minutes
# (MINUTES, default 3) or, with STEPS set, the same number of updates, on one thread, one run at a time, for each
# seed in SEEDS (default "1 2"); then scored on corpora/en-de.test.en and timed tagging it (bench-taggers.sh).
# Run from the repository root after `make example-plugin`; prints the Markdown table (compare-table.py) at the end.
set -eu
glossa="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
library="${LIBRARY:-$(cd Examples/ConvEncoder && swift build -c release -Xswiftc -enable-testing --show-bin-path)/libConvEncoder.so}"
minutes="${MINUTES:-3}"
seeds="${SEEDS:-1 2}"
runs="${RUNS:-unet-nearest unet-bed-of-nails unet-max-unpool unet-transposed flat}"
root="${ROOT:-Examples/ConvEncoder/.build/compare}"
if [ -n "${STEPS:-}" ]; then budget="--steps $STEPS"; else budget="--minutes $minutes"; fi
mkdir -p "$root"
tagger() { nice -n 10 "$glossa" --plugin "$library" run conv-tagger "$@"; }
for seed in $seeds; do
    for run in $runs; do
        dir="$root/$run.seed$seed"
        tagger train --recipe "Examples/ConvEncoder/compare/$run.json" $budget --seed "$seed" --output "$dir" \
            2> "$dir.train.log" || { cat "$dir.train.log"; exit 1; }
        tagger eval --model "$dir" --text corpora/en-de.test.en --json > "$dir.test.json"
    done
done
GLOSSA="$glossa" LIBRARY="$library" ROOT="$root" SEEDS="$seeds" RUNS="$runs" Examples/ConvEncoder/bench-taggers.sh
python3 Examples/ConvEncoder/compare-table.py "$root" "$runs" "$seeds"
