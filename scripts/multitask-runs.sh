#!/bin/sh
# Trains the multi-task SFT model and its five single-task counterparts (docs/multitask.md), one after another, and
# scores each on the held-out test prompts of its tasks. Needs data/multitask (scripts/multitask-data.py).
# Usage: scripts/multitask-runs.sh [OUT]   (default reports/multitask/runs; each run in OUT/<name>, scores in OUT/<name>.test.json)
set -eu
G="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
OUT="${1:-reports/multitask/runs}"
TASKS="translate-en-de translate-de-en language-id help-module help-title"
mkdir -p "$OUT"

score() {  # name, model, prompts, reward options
    "$G" align eval --model "$2" --data "$3" $4 --max-new-tokens 48 --json --output "$OUT/$1.test.txt" > "$OUT/$1.test.json.tmp"
    mv "$OUT/$1.test.json.tmp" "$OUT/$1.test.json"
}

[ -f "$OUT/multitask/training.json" ] || "$G" train --recipe recipes/sft-multitask.json --output "$OUT/multitask"
[ -f "$OUT/multitask.test.json" ] || score multitask "$OUT/multitask" data/multitask/test.prompts.jsonl \
    "--reward chrf --reward language-id=exact --reward help-module=exact"
for t in $TASKS; do
    [ -f "$OUT/$t/training.json" ] || "$G" train --recipe "recipes/multitask/$t.json" --output "$OUT/$t"
    grep "\"task\":\"$t\"" data/multitask/test.prompts.jsonl > "$OUT/$t.test.prompts.jsonl"
    case $t in language-id|help-module) reward=exact ;; *) reward=chrf ;; esac
    [ -f "$OUT/$t.test.json" ] || score "$t" "$OUT/$t" "$OUT/$t.test.prompts.jsonl" "--reward $reward"
done
