#!/usr/bin/env bash
# Translation speed, Glossa against Hugging Face transformers on the same Marian directory, side by side:
# greedy search, batch 32, 2 threads, the whole en-de test set. Prints both figures and their ratio.
# Usage: bench/compare-translation.sh [MODEL_DIR] [PYTHON]   (PYTHON needs torch + transformers)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/en-de}
python=${2:-python3}
glossa=${GLOSSA:-.build/release/glossa}
input=corpora/en-de.test.en

ours=$("$glossa" eval --model "$model" --source "$input" --references corpora/en-de.test.de --beam-size 1 \
    --batch-size 32 --threads 2 --json)
theirs=$("$python" bench/torch_translate.py "$model" "$input" --beam 1 --batch-size 32 --threads 2 --sort \
    --max-new-tokens 128 --json 2>/dev/null)
"$python" - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t_tok = theirs["tokens_per_s"]
t_sent = theirs["sentences_per_s"]
print(f"glossa:       {ours['sentencesPerSecond']:.1f} sentences/s, {ours['generatedTokensPerSecond']:.0f} tokens/s")
print(f"transformers: {t_sent:.1f} sentences/s, {t_tok:.0f} tokens/s")
print(f"ratio (sentences/s): {ours['sentencesPerSecond'] / t_sent:.2f}")
PY
